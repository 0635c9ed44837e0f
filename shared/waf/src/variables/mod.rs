//! Variables: the names a rule's target list uses, and how each one reads the transaction.
//!
//! Collections (`ARGS`, `REQUEST_HEADERS`, `TX`, …) can be narrowed with a selector
//! (`ARGS:id`, `ARGS:/^id_/`), counted (`&ARGS`) and excluded from (`!ARGS:password`). Keys are
//! compared case-insensitively, as in ModSecurity. Every variable is listed once in [`TABLE`].

mod collect;

pub use collect::{Each, Sink, Value, collect, count, decimal};
pub(crate) use collect::{kv_at, kv_lists, kv_values, request_line_value};

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

    /// The name `TABLE` gives the variable (read on every match, for `MATCHED_VAR_NAME`: by
    /// index, not a search of the table).
    pub fn name(self) -> &'static str {
        static NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
            let len = TABLE
                .iter()
                .map(|&(_, v)| v as usize + 1)
                .max()
                .unwrap_or(0);
            let mut names = vec!["UNKNOWN"; len];
            for &(name, v) in TABLE {
                names[v as usize] = name;
            }
            names
        });
        NAMES.get(self as usize).copied().unwrap_or("UNKNOWN")
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

    /// Whether the values come from the request line and headers alone, so that parsing the
    /// request body leaves them as they were.
    pub fn from_request_head(self) -> bool {
        use Variable::*;
        matches!(
            self,
            ArgsGet
                | ArgsGetNames
                | QueryString
                | RequestBasename
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

/// What every key a selector regex matches holds, found when the rule is compiled: keys
/// without it are passed over without a regex run (CRS's `TX:/…/` selectors are read against
/// a hundred or so TX keys, few of which they select).
#[derive(Debug, Clone, Default)]
pub struct KeyHints {
    /// The literal every matching key starts with (lowercased), when the pattern is
    /// `^literal…`.
    pub prefix: Option<String>,
    /// Whether the pattern is that prefix and nothing more (`^header_name_920450_`): a key
    /// matches when it starts with it.
    prefix_only: bool,
    /// Literals one of which every matching key contains (ASCII case-insensitively).
    needles: Option<Needles>,
}

#[derive(Debug, Clone)]
enum Needles {
    /// One (lowercased), looked for directly: cheaper on short keys than an automaton's
    /// search (CRS's `TX:/MULTIPART_HEADERS_CONTENT_TYPES_*/` reads every TX key).
    One(Vec<u8>),
    /// Several, and the length of the shortest.
    Many(aho_corasick::AhoCorasick, usize),
}

impl KeyHints {
    fn of(pattern: &str) -> KeyHints {
        let needles = match crate::prefilter::filters(pattern).0 {
            Some(lits) if lits.len() == 1 && !lits[0].is_empty() => {
                Some(Needles::One(lits[0].to_ascii_lowercase()))
            }
            Some(lits) if !lits.is_empty() && lits.iter().all(|l| !l.is_empty()) => {
                let shortest = lits.iter().map(Vec::len).min().unwrap_or(0);
                aho_corasick::AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(&lits)
                    .ok()
                    .map(|ac| Needles::Many(ac, shortest))
            }
            _ => None,
        };
        let prefix = literal_prefix(pattern);
        KeyHints {
            prefix_only: prefix
                .as_ref()
                .is_some_and(|p| pattern.len() == p.len() + 1),
            prefix,
            needles,
        }
    }

    /// Whether a key may match (it holds what every match holds).
    fn admits(&self, key: &[u8]) -> bool {
        if let Some(p) = &self.prefix
            && !(key.len() >= p.len() && key[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
        {
            return false;
        }
        match &self.needles {
            None => true,
            Some(Needles::One(n)) => {
                key.len() >= n.len() && key.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
            }
            Some(Needles::Many(ac, shortest)) => key.len() >= *shortest && ac.is_match(key),
        }
    }
}

/// Narrows a collection.
#[derive(Debug, Clone)]
pub enum Selector {
    All,
    /// An exact key, lowercased.
    Key(Vec<u8>),
    /// With what every matching key holds (see [`KeyHints`]).
    Regex(regex::bytes::Regex, KeyHints),
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
            return Ok(Selector::Regex(re, KeyHints::of(pattern)));
        }
        let key = spec.trim_matches('\'');
        Ok(Selector::Key(key.as_bytes().to_ascii_lowercase()))
    }

    /// Inlined where it is asked (once per key of a walk): the common selectors cost a few
    /// instructions there, while a call to a function holding the regex search cost more
    /// in saving registers than in comparing.
    #[inline]
    pub fn matches(&self, key: &[u8]) -> bool {
        match self {
            Selector::All | Selector::XPath(_) => true,
            // `k` is lowercased; most keys differ in length, and are rejected on that alone.
            Selector::Key(k) => {
                k.len() == key.len() && k.iter().zip(key).all(|(&a, b)| a == b.to_ascii_lowercase())
            }
            Selector::Regex(re, hints) => regex_matches(re, hints, key),
        }
    }

    fn same_as(&self, other: &Selector) -> bool {
        match (self, other) {
            (Selector::All, Selector::All) => true,
            (Selector::Key(a), Selector::Key(b)) => a == b,
            (Selector::Regex(a, _), Selector::Regex(b, _)) => a.as_str() == b.as_str(),
            (Selector::XPath(a), Selector::XPath(b)) => a == b,
            _ => false,
        }
    }
}

/// `Selector::matches` for a regex selector.
#[inline(never)]
fn regex_matches(re: &regex::bytes::Regex, hints: &KeyHints, key: &[u8]) -> bool {
    match hints {
        KeyHints {
            prefix: Some(p),
            prefix_only: true,
            ..
        } => key.len() >= p.len() && key[..p.len()].eq_ignore_ascii_case(p.as_bytes()),
        _ => hints.admits(key) && re.is_match(key),
    }
}

/// The literal every key a `^literal…` selector matches starts with, lowercased (selectors
/// match case-insensitively; collection keys are stored lowercased).
fn literal_prefix(pattern: &str) -> Option<String> {
    // `^abc|xyz` also matches keys that do not start with `abc`.
    if pattern.contains('|') {
        return None;
    }
    let rest = pattern.strip_prefix('^')?;
    let mut prefix: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    // A quantifier after the last character makes that character optional.
    if matches!(rest[prefix.len()..].chars().next(), Some('?' | '*' | '{')) {
        prefix.pop();
    }
    (!prefix.is_empty()).then(|| prefix.to_ascii_lowercase())
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

/// Parses targets written as positive names (`ARGS:password`, as `ctl:ruleRemoveTargetById`
/// and site policies name them) into the exclusions they mean.
pub fn parse_exclusions(spec: &str) -> Result<Vec<Exclusion>, String> {
    let (targets, mut exclusions) = parse_targets(spec)?;
    exclusions.extend(targets.into_iter().map(|t| Exclusion {
        variable: t.variable,
        selector: t.selector,
    }));
    Ok(exclusions)
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
        assert!(matches!(&t[2].selector, Selector::Regex(r, _) if r.is_match(b"X-A")));
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

    #[test]
    fn prefix_only_selectors_need_no_regex() {
        let sel = Selector::parse("/^header_name_920450_/").unwrap();
        assert!(matches!(&sel, Selector::Regex(_, h) if h.prefix_only));
        assert!(sel.matches(b"header_name_920450_host"));
        assert!(sel.matches(b"HEADER_NAME_920450_"));
        assert!(!sel.matches(b"header_name_920450"));
        assert!(!sel.matches(b"x_header_name_920450_host"));
        // More than a prefix: the expression decides.
        let sel = Selector::parse("/^abc?d/").unwrap();
        assert!(matches!(&sel, Selector::Regex(_, h) if !h.prefix_only));
        assert!(sel.matches(b"abd") && sel.matches(b"abcd") && !sel.matches(b"abx"));
        let sel = Selector::parse("/^ab$/").unwrap();
        assert!(sel.matches(b"ab") && !sel.matches(b"abc"));
    }

    #[test]
    fn key_hints_never_turn_a_match_away() {
        let patterns = [
            "MULTIPART_HEADERS_CONTENT_TYPES_*",
            "paramcounter_.*",
            "^pbjs-\\w+$",
            "^_ga(?:_\\w+)?$",
            "^_pk_ref",
            "(?:sess|tok)en",
            "^header_name_920450_",
        ];
        let keys = [
            "multipart_headers_content_types_x",
            "tx_Multipart_Headers_Content_Types",
            "multipart_header",
            "paramcounter_args_x",
            "PARAMCOUNTER_",
            "pbjs-abc",
            "PBJS-",
            "_ga",
            "_GA_x1",
            "_gax",
            "_pk_ref.1",
            "session",
            "csrf_token",
            "header_name_920450_user-agent",
            "",
            "x",
        ];
        let mut matched = 0;
        for p in patterns {
            let Selector::Regex(re, _) = Selector::parse(&format!("/{p}/")).unwrap() else {
                panic!("{p}: not a regex selector");
            };
            let sel = Selector::parse(&format!("/{p}/")).unwrap();
            for k in keys {
                let want = re.is_match(k.as_bytes());
                assert_eq!(sel.matches(k.as_bytes()), want, "/{p}/ on {k:?}");
                matched += usize::from(want);
            }
        }
        assert!(matched >= 10, "{matched}");
    }

    #[test]
    fn literal_prefixes_of_selectors() {
        assert_eq!(
            literal_prefix("^header_name_920450_").as_deref(),
            Some("header_name_920450_")
        );
        assert_eq!(literal_prefix("^MSC_x").as_deref(), Some("msc_x"));
        assert_eq!(literal_prefix("^abc?d").as_deref(), Some("ab"));
        assert_eq!(literal_prefix("^a*"), None);
        assert_eq!(literal_prefix("header_"), None);
        assert_eq!(literal_prefix("^(?:a|b)"), None);
        assert_eq!(literal_prefix("^abc|xyz"), None);
    }
}
