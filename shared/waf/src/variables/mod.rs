//! Variables: the names a rule's target list uses, and how each one reads the transaction.
//!
//! Collections (`ARGS`, `REQUEST_HEADERS`, `TX`, …) can be narrowed with a selector
//! (`ARGS:id`, `ARGS:/^id_/`), counted (`&ARGS`) and excluded from (`!ARGS:password`). Keys are
//! compared case-insensitively, as in ModSecurity. Every variable is listed once in [`TABLE`].

use std::borrow::Cow;

use crate::transaction::{Kv, Transaction};

/// A SecLang variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variable {
    Args,
    ArgsCombinedSize,
    ArgsGet,
    ArgsGetNames,
    ArgsNames,
    ArgsPost,
    ArgsPostNames,
    AuthType,
    Duration,
    Env,
    Files,
    FilesCombinedSize,
    FilesNames,
    FilesSizes,
    FilesTmpContent,
    FilesTmpNames,
    FullRequest,
    FullRequestLength,
    Geo,
    Global,
    HighestSeverity,
    InboundDataError,
    Ip,
    MatchedVar,
    MatchedVarName,
    MatchedVars,
    MatchedVarsNames,
    MultipartBoundaryQuoted,
    MultipartBoundaryWhitespace,
    MultipartCrlfLfLines,
    MultipartDataAfter,
    MultipartDataBefore,
    MultipartFileLimitExceeded,
    MultipartFilename,
    MultipartHeaderFolding,
    MultipartInvalidHeaderFolding,
    MultipartInvalidPart,
    MultipartInvalidQuoting,
    MultipartLfLine,
    MultipartMissingSemicolon,
    MultipartName,
    MultipartPartHeaders,
    MultipartStrictError,
    MultipartUnmatchedBoundary,
    OutboundDataError,
    PathInfo,
    QueryString,
    RemoteAddr,
    RemoteHost,
    RemotePort,
    RemoteUser,
    ReqbodyError,
    ReqbodyErrorMsg,
    ReqbodyProcessor,
    ReqbodyProcessorError,
    ReqbodyProcessorErrorMsg,
    RequestBasename,
    RequestBody,
    RequestBodyLength,
    RequestCookies,
    RequestCookiesNames,
    RequestFilename,
    RequestHeaders,
    RequestHeadersNames,
    RequestLine,
    RequestMethod,
    RequestProtocol,
    RequestUri,
    RequestUriRaw,
    Resource,
    ResponseBody,
    ResponseContentLength,
    ResponseContentType,
    ResponseHeaders,
    ResponseHeadersNames,
    ResponseProtocol,
    ResponseStatus,
    Rule,
    ServerAddr,
    ServerName,
    ServerPort,
    Session,
    SessionId,
    StatusLine,
    Time,
    TimeDay,
    TimeEpoch,
    TimeHour,
    TimeMin,
    TimeMon,
    TimeSec,
    TimeWday,
    TimeYear,
    Tx,
    UniqueId,
    UrlencodedError,
    User,
    UserId,
    WebserverErrorLog,
    Xml,
}

/// Every variable by its SecLang name.
pub static TABLE: &[(&str, Variable)] = &[
    ("ARGS", Variable::Args),
    ("ARGS_COMBINED_SIZE", Variable::ArgsCombinedSize),
    ("ARGS_GET", Variable::ArgsGet),
    ("ARGS_GET_NAMES", Variable::ArgsGetNames),
    ("ARGS_NAMES", Variable::ArgsNames),
    ("ARGS_POST", Variable::ArgsPost),
    ("ARGS_POST_NAMES", Variable::ArgsPostNames),
    ("AUTH_TYPE", Variable::AuthType),
    ("DURATION", Variable::Duration),
    ("ENV", Variable::Env),
    ("FILES", Variable::Files),
    ("FILES_COMBINED_SIZE", Variable::FilesCombinedSize),
    ("FILES_NAMES", Variable::FilesNames),
    ("FILES_SIZES", Variable::FilesSizes),
    ("FILES_TMP_CONTENT", Variable::FilesTmpContent),
    ("FILES_TMPNAMES", Variable::FilesTmpNames),
    ("FULL_REQUEST", Variable::FullRequest),
    ("FULL_REQUEST_LENGTH", Variable::FullRequestLength),
    ("GEO", Variable::Geo),
    ("GLOBAL", Variable::Global),
    ("HIGHEST_SEVERITY", Variable::HighestSeverity),
    ("INBOUND_DATA_ERROR", Variable::InboundDataError),
    ("IP", Variable::Ip),
    ("MATCHED_VAR", Variable::MatchedVar),
    ("MATCHED_VAR_NAME", Variable::MatchedVarName),
    ("MATCHED_VARS", Variable::MatchedVars),
    ("MATCHED_VARS_NAMES", Variable::MatchedVarsNames),
    (
        "MULTIPART_BOUNDARY_QUOTED",
        Variable::MultipartBoundaryQuoted,
    ),
    (
        "MULTIPART_BOUNDARY_WHITESPACE",
        Variable::MultipartBoundaryWhitespace,
    ),
    ("MULTIPART_CRLF_LF_LINES", Variable::MultipartCrlfLfLines),
    ("MULTIPART_DATA_AFTER", Variable::MultipartDataAfter),
    ("MULTIPART_DATA_BEFORE", Variable::MultipartDataBefore),
    (
        "MULTIPART_FILE_LIMIT_EXCEEDED",
        Variable::MultipartFileLimitExceeded,
    ),
    ("MULTIPART_FILENAME", Variable::MultipartFilename),
    ("MULTIPART_HEADER_FOLDING", Variable::MultipartHeaderFolding),
    (
        "MULTIPART_INVALID_HEADER_FOLDING",
        Variable::MultipartInvalidHeaderFolding,
    ),
    ("MULTIPART_INVALID_PART", Variable::MultipartInvalidPart),
    (
        "MULTIPART_INVALID_QUOTING",
        Variable::MultipartInvalidQuoting,
    ),
    ("MULTIPART_LF_LINE", Variable::MultipartLfLine),
    (
        "MULTIPART_MISSING_SEMICOLON",
        Variable::MultipartMissingSemicolon,
    ),
    ("MULTIPART_NAME", Variable::MultipartName),
    ("MULTIPART_PART_HEADERS", Variable::MultipartPartHeaders),
    ("MULTIPART_STRICT_ERROR", Variable::MultipartStrictError),
    (
        "MULTIPART_UNMATCHED_BOUNDARY",
        Variable::MultipartUnmatchedBoundary,
    ),
    ("OUTBOUND_DATA_ERROR", Variable::OutboundDataError),
    ("PATH_INFO", Variable::PathInfo),
    ("QUERY_STRING", Variable::QueryString),
    ("REMOTE_ADDR", Variable::RemoteAddr),
    ("REMOTE_HOST", Variable::RemoteHost),
    ("REMOTE_PORT", Variable::RemotePort),
    ("REMOTE_USER", Variable::RemoteUser),
    ("REQBODY_ERROR", Variable::ReqbodyError),
    ("REQBODY_ERROR_MSG", Variable::ReqbodyErrorMsg),
    ("REQBODY_PROCESSOR", Variable::ReqbodyProcessor),
    ("REQBODY_PROCESSOR_ERROR", Variable::ReqbodyProcessorError),
    (
        "REQBODY_PROCESSOR_ERROR_MSG",
        Variable::ReqbodyProcessorErrorMsg,
    ),
    ("REQUEST_BASENAME", Variable::RequestBasename),
    ("REQUEST_BODY", Variable::RequestBody),
    ("REQUEST_BODY_LENGTH", Variable::RequestBodyLength),
    ("REQUEST_COOKIES", Variable::RequestCookies),
    ("REQUEST_COOKIES_NAMES", Variable::RequestCookiesNames),
    ("REQUEST_FILENAME", Variable::RequestFilename),
    ("REQUEST_HEADERS", Variable::RequestHeaders),
    ("REQUEST_HEADERS_NAMES", Variable::RequestHeadersNames),
    ("REQUEST_LINE", Variable::RequestLine),
    ("REQUEST_METHOD", Variable::RequestMethod),
    ("REQUEST_PROTOCOL", Variable::RequestProtocol),
    ("REQUEST_URI", Variable::RequestUri),
    ("REQUEST_URI_RAW", Variable::RequestUriRaw),
    ("RESOURCE", Variable::Resource),
    ("RESPONSE_BODY", Variable::ResponseBody),
    ("RESPONSE_CONTENT_LENGTH", Variable::ResponseContentLength),
    ("RESPONSE_CONTENT_TYPE", Variable::ResponseContentType),
    ("RESPONSE_HEADERS", Variable::ResponseHeaders),
    ("RESPONSE_HEADERS_NAMES", Variable::ResponseHeadersNames),
    ("RESPONSE_PROTOCOL", Variable::ResponseProtocol),
    ("RESPONSE_STATUS", Variable::ResponseStatus),
    ("RULE", Variable::Rule),
    ("SERVER_ADDR", Variable::ServerAddr),
    ("SERVER_NAME", Variable::ServerName),
    ("SERVER_PORT", Variable::ServerPort),
    ("SESSION", Variable::Session),
    ("SESSIONID", Variable::SessionId),
    ("STATUS_LINE", Variable::StatusLine),
    ("TIME", Variable::Time),
    ("TIME_DAY", Variable::TimeDay),
    ("TIME_EPOCH", Variable::TimeEpoch),
    ("TIME_HOUR", Variable::TimeHour),
    ("TIME_MIN", Variable::TimeMin),
    ("TIME_MON", Variable::TimeMon),
    ("TIME_SEC", Variable::TimeSec),
    ("TIME_WDAY", Variable::TimeWday),
    ("TIME_YEAR", Variable::TimeYear),
    ("TX", Variable::Tx),
    ("UNIQUE_ID", Variable::UniqueId),
    ("URLENCODED_ERROR", Variable::UrlencodedError),
    ("USER", Variable::User),
    ("USERID", Variable::UserId),
    ("WEBSERVER_ERROR_LOG", Variable::WebserverErrorLog),
    ("XML", Variable::Xml),
];

impl Variable {
    pub fn by_name(name: &str) -> Option<Variable> {
        TABLE
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("UNKNOWN", |(n, _)| n)
    }

    /// Whether this variable is a collection with keys (so `VAR:key` and `!VAR:key` make sense).
    pub fn is_collection(self) -> bool {
        use Variable::*;
        matches!(
            self,
            Args | ArgsGet
                | ArgsPost
                | ArgsNames
                | ArgsGetNames
                | ArgsPostNames
                | Env
                | Files
                | FilesNames
                | FilesSizes
                | FilesTmpContent
                | FilesTmpNames
                | Geo
                | Global
                | Ip
                | MatchedVars
                | MatchedVarsNames
                | MultipartFilename
                | MultipartName
                | MultipartPartHeaders
                | RequestCookies
                | RequestCookiesNames
                | RequestHeaders
                | RequestHeadersNames
                | Resource
                | ResponseHeaders
                | ResponseHeadersNames
                | Rule
                | Session
                | Tx
                | User
                | Xml
        )
    }

    /// Whether values of this variable stay put (same bytes, same address) from the end of
    /// request-body parsing on, so transformed copies can be cached by address.
    pub fn is_stable(self) -> bool {
        use Variable::*;
        matches!(
            self,
            Args | ArgsGet
                | ArgsPost
                | ArgsNames
                | ArgsGetNames
                | ArgsPostNames
                | Files
                | FilesNames
                | FilesTmpContent
                | MultipartPartHeaders
                | QueryString
                | RequestBasename
                | RequestBody
                | RequestCookies
                | RequestCookiesNames
                | RequestFilename
                | RequestHeaders
                | RequestHeadersNames
                | RequestLine
                | RequestMethod
                | RequestProtocol
                | RequestUri
                | RequestUriRaw
                | ResponseBody
                | ResponseHeaders
                | ResponseHeadersNames
                | Xml
        )
    }

    /// The collections `setvar` can write and `%{…}` can read by name.
    pub fn persistent_name(self) -> Option<&'static str> {
        match self {
            Variable::Tx => Some("tx"),
            Variable::Ip => Some("ip"),
            Variable::Global => Some("global"),
            Variable::Session => Some("session"),
            Variable::User => Some("user"),
            Variable::Resource => Some("resource"),
            _ => None,
        }
    }
}

/// Narrows a collection.
#[derive(Debug, Clone)]
pub enum Selector {
    All,
    /// An exact key, lowercased.
    Key(Vec<u8>),
    Regex(regex::bytes::Regex),
    /// An XPath expression for `XML:`.
    XPath(String),
}

impl Selector {
    pub fn parse(spec: &str) -> Result<Selector, String> {
        if spec.len() >= 2 && spec.starts_with('/') && spec.ends_with('/') {
            let pattern = &spec[1..spec.len() - 1];
            let re = regex::bytes::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .unicode(false)
                .build()
                .map_err(|e| format!("invalid selector regex {spec}: {e}"))?;
            return Ok(Selector::Regex(re));
        }
        let key = spec.trim_matches('\'');
        Ok(Selector::Key(key.as_bytes().to_ascii_lowercase()))
    }

    pub fn matches(&self, key: &[u8]) -> bool {
        match self {
            Selector::All => true,
            Selector::Key(k) => k.eq_ignore_ascii_case(key),
            Selector::Regex(re) => re.is_match(key),
            Selector::XPath(_) => true,
        }
    }

    fn same_as(&self, other: &Selector) -> bool {
        match (self, other) {
            (Selector::All, Selector::All) => true,
            (Selector::Key(a), Selector::Key(b)) => a == b,
            (Selector::Regex(a), Selector::Regex(b)) => a.as_str() == b.as_str(),
            (Selector::XPath(a), Selector::XPath(b)) => a == b,
            _ => false,
        }
    }
}

/// One entry of a rule's target list.
#[derive(Debug, Clone)]
pub struct Target {
    pub variable: Variable,
    pub selector: Selector,
    /// `&VAR`: the number of matching entries instead of their values.
    pub count: bool,
}

/// A `!VAR:key` exclusion, applying to every target of that variable.
#[derive(Debug, Clone)]
pub struct Exclusion {
    pub variable: Variable,
    pub selector: Selector,
}

impl Exclusion {
    pub fn excludes(&self, variable: Variable, key: &[u8]) -> bool {
        self.variable == variable && self.selector.matches(key)
    }

    pub fn same_as(&self, other: &Exclusion) -> bool {
        self.variable == other.variable && self.selector.same_as(&other.selector)
    }
}

/// Parses a target list such as `ARGS|!ARGS:foo|&TX:bar|REQUEST_HEADERS:/^x-/`.
pub fn parse_targets(spec: &str) -> Result<(Vec<Target>, Vec<Exclusion>), String> {
    let mut targets = Vec::new();
    let mut exclusions = Vec::new();
    for part in split_targets(spec) {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!("empty variable in {spec:?}"));
        }
        let (negated, count, rest) = match part.as_bytes()[0] {
            b'!' => (true, false, &part[1..]),
            b'&' => (false, true, &part[1..]),
            _ => (false, false, part),
        };
        let (name, key) = match rest.split_once(':') {
            Some((n, k)) => (n, Some(k)),
            None => (rest, None),
        };
        let variable =
            Variable::by_name(name).ok_or_else(|| format!("unknown variable {name:?}"))?;
        let selector = match key {
            None => Selector::All,
            Some(k) if variable == Variable::Xml => Selector::XPath(k.to_string()),
            Some(k) => {
                if !variable.is_collection() {
                    return Err(format!("variable {name} has no keys (in {part:?})"));
                }
                Selector::parse(k)?
            }
        };
        if negated {
            if matches!(selector, Selector::All) {
                return Err(format!("exclusion {part:?} needs a key"));
            }
            exclusions.push(Exclusion { variable, selector });
        } else {
            targets.push(Target {
                variable,
                selector,
                count,
            });
        }
    }
    Ok((targets, exclusions))
}

/// Splits on `|`, except inside a `/regex/` selector.
fn split_targets(spec: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let bytes = spec.as_bytes();
    let mut start = 0;
    let mut in_regex = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_regex => i += 1,
            // `VAR:/regex/`, but not `XML:/xpath`.
            b'/' if i > 0
                && bytes[i - 1] == b':'
                && !spec[start..i]
                    .trim_start_matches(['!', '&'])
                    .eq_ignore_ascii_case("XML:") =>
            {
                in_regex = true
            }
            b'/' if in_regex => in_regex = false,
            b'|' if !in_regex => {
                parts.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&spec[start..]);
    parts
}

/// One value a target yields: which collection, its key (empty for scalars), the value.
pub struct Value<'a> {
    pub variable: Variable,
    pub key: Cow<'a, [u8]>,
    pub value: Cow<'a, [u8]>,
}

impl Value<'_> {
    /// `ARGS:id`, `REQUEST_URI`, as logs and `MATCHED_VAR_NAME` show it.
    pub fn full_name(&self) -> Vec<u8> {
        let mut name = self.variable.name().as_bytes().to_vec();
        if !self.key.is_empty() || self.variable.is_collection() {
            name.push(b':');
            name.extend_from_slice(&self.key);
        }
        name
    }
}

/// Where collected values go: a vector, or a callback that handles each value at once (no
/// per-rule allocation on the hot path).
pub trait Sink<'a> {
    fn push(&mut self, v: Value<'a>);
}

impl<'a> Sink<'a> for Vec<Value<'a>> {
    fn push(&mut self, v: Value<'a>) {
        Vec::push(self, v);
    }
}

/// A [`Sink`] calling a closure.
pub struct Each<F>(pub F);

impl<'a, F: FnMut(Value<'a>)> Sink<'a> for Each<F> {
    fn push(&mut self, v: Value<'a>) {
        (self.0)(v);
    }
}

struct Count(usize);

impl<'a> Sink<'a> for Count {
    fn push(&mut self, _: Value<'a>) {
        self.0 += 1;
    }
}

fn scalar<'a>(variable: Variable, v: impl Into<Cow<'a, [u8]>>) -> Value<'a> {
    Value {
        variable,
        key: Cow::Borrowed(b""),
        value: v.into(),
    }
}

fn num<'a>(variable: Variable, n: usize) -> Value<'a> {
    scalar(variable, n.to_string().into_bytes())
}

/// Appends the values of one collection that the selector allows and no exclusion removes.
fn push_kv<'a>(
    out: &mut dyn Sink<'a>,
    variable: Variable,
    list: &'a [Kv],
    sel: &Selector,
    excluded: &dyn Fn(Variable, &[u8]) -> bool,
    names: bool,
) {
    for (k, v) in list {
        if !sel.matches(k) || excluded(variable, k) {
            continue;
        }
        out.push(Value {
            variable,
            key: Cow::Borrowed(k),
            value: Cow::Borrowed(if names { k } else { v }),
        });
    }
}

/// Reads a target's values from the transaction into `out` (counting if `&`).
pub fn collect<'a>(
    tx: &'a Transaction,
    target: &Target,
    excluded: &dyn Fn(Variable, &[u8]) -> bool,
    out: &mut dyn Sink<'a>,
) {
    if target.count {
        let mut n = Count(0);
        collect_values(tx, target.variable, &target.selector, excluded, &mut n);
        out.push(Value {
            variable: target.variable,
            key: match &target.selector {
                Selector::Key(k) => Cow::Owned(k.clone()),
                _ => Cow::Borrowed(b""),
            },
            value: Cow::Owned(n.0.to_string().into_bytes()),
        });
    } else {
        collect_values(tx, target.variable, &target.selector, excluded, out);
    }
}

fn collect_values<'a>(
    tx: &'a Transaction,
    variable: Variable,
    sel: &Selector,
    excluded: &dyn Fn(Variable, &[u8]) -> bool,
    out: &mut dyn Sink<'a>,
) {
    use Variable as V;
    let r = &tx.request;
    match variable {
        V::Args => {
            push_kv(out, V::Args, &r.args_get, sel, excluded, false);
            push_kv(out, V::Args, &r.args_post, sel, excluded, false);
        }
        V::ArgsGet => push_kv(out, variable, &r.args_get, sel, excluded, false),
        V::ArgsPost => push_kv(out, variable, &r.args_post, sel, excluded, false),
        V::ArgsNames => {
            push_kv(out, V::ArgsNames, &r.args_get, sel, excluded, true);
            push_kv(out, V::ArgsNames, &r.args_post, sel, excluded, true);
        }
        V::ArgsGetNames => push_kv(out, variable, &r.args_get, sel, excluded, true),
        V::ArgsPostNames => push_kv(out, variable, &r.args_post, sel, excluded, true),
        V::ArgsCombinedSize => {
            let n: usize = r
                .args_get
                .iter()
                .chain(&r.args_post)
                .map(|(k, v)| k.len() + v.len())
                .sum();
            out.push(num(variable, n));
        }
        V::RequestHeaders => push_kv(out, variable, &r.headers, sel, excluded, false),
        V::RequestHeadersNames => push_kv(out, variable, &r.headers, sel, excluded, true),
        V::RequestCookies => push_kv(out, variable, &r.cookies, sel, excluded, false),
        V::RequestCookiesNames => push_kv(out, variable, &r.cookies, sel, excluded, true),
        V::Files => push_kv(out, variable, &r.files, sel, excluded, false),
        V::FilesNames => push_kv(out, variable, &r.files, sel, excluded, true),
        V::FilesSizes => push_kv(out, variable, &r.files_sizes, sel, excluded, false),
        V::FilesTmpContent => push_kv(out, variable, &r.files_content, sel, excluded, false),
        V::FilesTmpNames => {}
        V::FilesCombinedSize => {
            let n: usize = r
                .files_sizes
                .iter()
                .map(|(_, v)| atoi(v).max(0) as usize)
                .sum();
            out.push(num(variable, n));
        }
        V::MultipartPartHeaders => {
            push_kv(out, variable, &r.multipart_headers, sel, excluded, false)
        }
        V::MultipartFilename => push_kv(out, variable, &r.files, sel, excluded, false),
        V::MultipartName => push_kv(out, variable, &r.files, sel, excluded, true),
        V::MultipartStrictError => out.push(flag(variable, r.multipart.strict_error())),
        V::MultipartBoundaryQuoted => out.push(flag(variable, r.multipart.boundary_quoted)),
        V::MultipartBoundaryWhitespace => out.push(flag(variable, r.multipart.boundary_whitespace)),
        V::MultipartCrlfLfLines => out.push(flag(variable, r.multipart.crlf_lf_lines)),
        V::MultipartDataAfter => out.push(flag(variable, r.multipart.data_after)),
        V::MultipartDataBefore => out.push(flag(variable, r.multipart.data_before)),
        V::MultipartFileLimitExceeded => out.push(flag(variable, false)),
        V::MultipartHeaderFolding => out.push(flag(variable, r.multipart.header_folding)),
        V::MultipartInvalidHeaderFolding => {
            out.push(flag(variable, r.multipart.invalid_header_folding))
        }
        V::MultipartInvalidPart => out.push(flag(variable, r.multipart.invalid_part)),
        V::MultipartInvalidQuoting => out.push(flag(variable, r.multipart.invalid_quoting)),
        V::MultipartLfLine => out.push(flag(variable, r.multipart.lf_line)),
        V::MultipartMissingSemicolon => out.push(flag(variable, r.multipart.missing_semicolon)),
        V::MultipartUnmatchedBoundary => out.push(flag(variable, r.multipart.unmatched_boundary)),
        V::QueryString => out.push(scalar(variable, r.query_string.as_slice())),
        V::RemoteAddr => out.push(scalar(variable, r.remote_addr.as_bytes())),
        V::RemoteHost => out.push(scalar(variable, r.remote_addr.as_bytes())),
        V::RemotePort => out.push(num(variable, usize::from(r.remote_port))),
        V::RemoteUser | V::AuthType | V::UserId | V::SessionId | V::WebserverErrorLog => {}
        V::ServerAddr => out.push(scalar(variable, r.server_addr.as_bytes())),
        V::ServerPort => out.push(num(variable, usize::from(r.server_port))),
        V::ServerName => {
            if let Some(host) = r.header(b"host") {
                let name = host
                    .iter()
                    .rposition(|&b| b == b':')
                    .map_or(host, |p| &host[..p]);
                out.push(scalar(variable, name));
            }
        }
        V::ReqbodyError => out.push(flag(variable, r.body_error.is_some())),
        V::ReqbodyErrorMsg | V::ReqbodyProcessorErrorMsg => {
            out.push(scalar(
                variable,
                r.body_error.as_deref().unwrap_or("").as_bytes(),
            ));
        }
        V::ReqbodyProcessorError => out.push(flag(variable, r.body_error.is_some())),
        // Present (empty) even without a processor: CRS's 901340 relies on that.
        V::ReqbodyProcessor => out.push(scalar(
            variable,
            r.body_processor.map_or("", |p| p.name()).as_bytes(),
        )),
        V::InboundDataError => out.push(flag(variable, r.body_truncated)),
        V::OutboundDataError => out.push(flag(variable, tx.response.body_truncated)),
        V::UrlencodedError => out.push(flag(variable, r.urlencoded_error)),
        V::RequestBasename => out.push(scalar(variable, r.basename())),
        V::RequestFilename => out.push(scalar(variable, r.filename.as_slice())),
        V::PathInfo => out.push(scalar(variable, r.filename.as_slice())),
        V::RequestBody => {
            if r.body_variable {
                out.push(scalar(variable, r.body.as_slice()));
            }
        }
        V::RequestBodyLength => out.push(num(variable, r.body.len())),
        V::RequestLine => out.push(scalar(variable, r.line.as_slice())),
        V::RequestMethod => out.push(scalar(variable, r.method.as_slice())),
        V::RequestProtocol => out.push(scalar(variable, r.protocol.as_slice())),
        V::RequestUri => out.push(scalar(variable, r.uri.as_slice())),
        V::RequestUriRaw => out.push(scalar(variable, r.uri_raw.as_slice())),
        V::FullRequest => out.push(scalar(variable, r.full_request())),
        V::FullRequestLength => out.push(num(variable, r.full_request().len())),
        V::ResponseBody => {
            if tx.response.body_inspected {
                out.push(scalar(variable, tx.response.body.as_slice()));
            }
        }
        V::ResponseContentLength => {
            if let Some(v) = tx.response.header(b"content-length") {
                out.push(scalar(variable, v));
            }
        }
        V::ResponseContentType => {
            if let Some(v) = tx.response.header(b"content-type") {
                out.push(scalar(variable, v));
            }
        }
        V::ResponseHeaders => push_kv(out, variable, &tx.response.headers, sel, excluded, false),
        V::ResponseHeadersNames => {
            push_kv(out, variable, &tx.response.headers, sel, excluded, true)
        }
        V::ResponseProtocol => out.push(scalar(variable, tx.response.protocol.as_slice())),
        V::ResponseStatus => {
            if tx.response.status != 0 {
                out.push(num(variable, usize::from(tx.response.status)));
            }
        }
        V::StatusLine => {}
        V::Tx | V::Ip | V::Global | V::Session | V::User | V::Resource => {
            let coll = variable.persistent_name().unwrap_or("tx");
            if let Some(map) = tx.collections.get(coll) {
                // `TX:name` (keys are stored lowercased): a lookup, not a scan.
                if let Selector::Key(key) = sel {
                    if let Ok(key) = std::str::from_utf8(key)
                        && let Some((k, v)) = map.get_key_value(key)
                        && !excluded(variable, k.as_bytes())
                    {
                        out.push(Value {
                            variable,
                            key: Cow::Borrowed(k.as_bytes()),
                            value: Cow::Borrowed(v),
                        });
                    }
                    return;
                }
                for (k, v) in map {
                    if !sel.matches(k.as_bytes()) || excluded(variable, k.as_bytes()) {
                        continue;
                    }
                    out.push(Value {
                        variable,
                        key: Cow::Borrowed(k.as_bytes()),
                        value: Cow::Borrowed(v),
                    });
                }
            }
        }
        V::Env => {
            for (k, v) in &tx.env {
                if sel.matches(k.as_bytes()) && !excluded(variable, k.as_bytes()) {
                    out.push(Value {
                        variable,
                        key: Cow::Borrowed(k.as_bytes()),
                        value: Cow::Borrowed(v),
                    });
                }
            }
        }
        V::Geo => {}
        V::Rule => {
            if let Some(rule) = tx.current_rule_info() {
                for (k, v) in rule {
                    if sel.matches(k.as_bytes()) {
                        out.push(Value {
                            variable,
                            key: Cow::Borrowed(k.as_bytes()),
                            value: Cow::Owned(v),
                        });
                    }
                }
            }
        }
        V::MatchedVar => {
            if let Some((_, v)) = &tx.matched_var {
                out.push(scalar(variable, v.as_slice()));
            }
        }
        V::MatchedVarName => {
            if let Some((n, _)) = &tx.matched_var {
                out.push(scalar(variable, n.as_slice()));
            }
        }
        V::MatchedVars | V::MatchedVarsNames => {
            for (n, v) in &tx.matched_vars {
                if !sel.matches(n) || excluded(variable, n) {
                    continue;
                }
                out.push(Value {
                    variable,
                    key: Cow::Borrowed(n),
                    value: Cow::Borrowed(if variable == V::MatchedVars { v } else { n }),
                });
            }
        }
        V::HighestSeverity => out.push(num(variable, usize::from(tx.highest_severity))),
        V::UniqueId => out.push(scalar(variable, tx.unique_id.as_bytes())),
        V::Duration => out.push(num(
            variable,
            tx.started
                .elapsed()
                .as_micros()
                .try_into()
                .unwrap_or(usize::MAX),
        )),
        V::Time
        | V::TimeDay
        | V::TimeEpoch
        | V::TimeHour
        | V::TimeMin
        | V::TimeMon
        | V::TimeSec
        | V::TimeWday
        | V::TimeYear => out.push(scalar(variable, time_value(variable).into_bytes())),
        V::Xml => {
            if let Some(xml) = &r.xml {
                let attrs = matches!(sel, Selector::XPath(p) if p.contains('@'));
                if attrs {
                    for a in &xml.attributes {
                        out.push(scalar(variable, a.as_slice()));
                    }
                } else {
                    out.push(scalar(variable, xml.text.as_slice()));
                }
            }
        }
    }
}

fn flag<'a>(variable: Variable, on: bool) -> Value<'a> {
    scalar(variable, if on { &b"1"[..] } else { &b"0"[..] })
}

fn time_value(variable: Variable) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since the epoch (Howard Hinnant's algorithm), UTC.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    match variable {
        Variable::TimeEpoch => secs.to_string(),
        Variable::TimeDay => day.to_string(),
        Variable::TimeHour => h.to_string(),
        Variable::TimeMin => m.to_string(),
        Variable::TimeMon => month.to_string(),
        Variable::TimeSec => s.to_string(),
        Variable::TimeWday => ((days + 4) % 7).to_string(),
        Variable::TimeYear => year.to_string(),
        _ => format!("{h:02}:{m:02}:{s:02}"),
    }
}

/// C's `atoi`: optional blanks, optional sign, digits; anything else ends it (0 if none).
pub fn atoi(v: &[u8]) -> i64 {
    let mut i = 0;
    while i < v.len() && crate::transformations::is_space(v[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < v.len() && (v[i] == b'-' || v[i] == b'+') {
        neg = v[i] == b'-';
        i += 1;
    }
    let mut n: i64 = 0;
    while i < v.len() && v[i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add(i64::from(v[i] - b'0'));
        i += 1;
    }
    if neg { -n } else { n }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (i, (name, var)) in TABLE.iter().enumerate() {
            assert_eq!(Variable::by_name(name), Some(*var));
            assert_eq!(var.name(), *name);
            assert!(TABLE[i + 1..].iter().all(|(_, v)| v != var));
        }
    }

    #[test]
    fn target_lists() {
        let (t, e) =
            parse_targets("ARGS|!ARGS:foo|&TX:bar|REQUEST_HEADERS:/^x-(a|b)/|XML:/*|XML://@*")
                .unwrap();
        assert_eq!(t.len(), 5);
        assert!(matches!(&t[4].selector, Selector::XPath(p) if p == "//@*"));
        assert_eq!(e.len(), 1);
        assert!(t[1].count);
        assert!(matches!(&t[2].selector, Selector::Regex(r) if r.is_match(b"X-A")));
        assert!(matches!(&t[3].selector, Selector::XPath(p) if p == "/*"));
        assert!(e[0].excludes(Variable::Args, b"FOO"));
        assert!(parse_targets("NOPE").is_err());
        assert!(parse_targets("REQUEST_URI:x").is_err());
        assert!(parse_targets("!ARGS").is_err());
    }

    #[test]
    fn atoi_is_c_like() {
        assert_eq!(atoi(b" 42abc"), 42);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(atoi(b"x"), 0);
    }
}
