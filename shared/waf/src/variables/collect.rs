//! Reading variables out of a transaction.

use std::borrow::Cow;

use super::{Selector, Target, Variable, atoi};
use crate::transaction::{Kv, Request, Transaction};

/// One value a target yields: which collection, its key (empty for scalars), the value.
pub struct Value<'a> {
    pub variable: Variable,
    pub key: Cow<'a, [u8]>,
    pub value: Cow<'a, [u8]>,
}

impl<'a> Value<'a> {
    /// A value of a collection, borrowed from where it is stored.
    pub(crate) fn stored(variable: Variable, key: &'a [u8], value: &'a [u8]) -> Value<'a> {
        Value {
            variable,
            key: Cow::Borrowed(key),
            value: Cow::Borrowed(value),
        }
    }

    /// Appends the value's name as logs and `MATCHED_VAR_NAME` show it: `ARGS:id`,
    /// `REQUEST_URI`.
    pub fn write_full_name(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.variable.name().as_bytes());
        if !self.key.is_empty() || self.variable.is_collection() {
            out.push(b':');
            out.extend_from_slice(&self.key);
        }
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

/// Passes on the values no exclusion removes: collections check their keys as they go, this
/// catches the rest (a scalar such as `REQUEST_FILENAME` removed by
/// `ctl:ruleRemoveTargetByTag=…;REQUEST_FILENAME`, as CRS's 941010 does).
struct Unexcluded<'s, 'a> {
    out: &'s mut dyn Sink<'a>,
    excluded: &'s dyn Fn(Variable, &[u8]) -> bool,
}

impl<'a> Sink<'a> for Unexcluded<'_, 'a> {
    fn push(&mut self, v: Value<'a>) {
        if !(self.excluded)(v.variable, &v.key) {
            self.out.push(v);
        }
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
    scalar(variable, decimal(n))
}

/// A number as a value; the usual small ones without an allocation.
pub fn decimal(n: usize) -> Cow<'static, [u8]> {
    const DIGITS: [&[u8]; 10] = [b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9"];
    match DIGITS.get(n) {
        Some(d) => Cow::Borrowed(d),
        None => Cow::Owned(n.to_string().into_bytes()),
    }
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
        out.push(Value::stored(variable, k, if names { k } else { v }));
    }
}

/// The value of a variable of the request line (one value each, borrowed from where it is
/// stored), or `None` for other variables.
pub(crate) fn request_line_value(r: &Request, v: Variable) -> Option<&[u8]> {
    use Variable as V;
    Some(match v {
        V::QueryString => &r.query_string,
        V::RequestBasename => r.basename(),
        V::RequestFilename => &r.filename,
        V::RequestLine => &r.line,
        V::RequestMethod => &r.method,
        V::RequestProtocol => &r.protocol,
        V::RequestUri => &r.uri,
        V::RequestUriRaw => &r.uri_raw,
        _ => return None,
    })
}

/// Every (key, value) of a key-value variable, whatever the selector, in the order
/// [`collect`] yields them (`ARGS`: the query's, then the body's; for `ARGS_NAMES` the value
/// is the key); `None` for other variables. Lets the engine walk the many values of a large
/// body without a call through a sink per value (see [`Value::stored`]).
pub(crate) fn kv_values(
    tx: &Transaction,
    variable: Variable,
) -> Option<impl Iterator<Item = (&[u8], &[u8])>> {
    let (lists, names) = kv_lists(tx, variable)?;
    Some(
        lists
            .into_iter()
            .flatten()
            .map(move |(k, v)| (k.as_slice(), if names { k } else { v }.as_slice())),
    )
}

/// The lists of stored pairs a key-value variable reads (see [`kv_values`]), and whether it
/// yields their keys rather than their values.
pub(crate) fn kv_lists(tx: &Transaction, variable: Variable) -> Option<([&[Kv]; 2], bool)> {
    use Variable as V;
    let r = &tx.request;
    let none: &[Kv] = &[];
    Some(match variable {
        V::Args => ([&r.args_get, &r.args_post], false),
        V::ArgsNames => ([&r.args_get, &r.args_post], true),
        V::ArgsGet => ([&r.args_get, none], false),
        V::ArgsGetNames => ([&r.args_get, none], true),
        V::ArgsPost => ([&r.args_post, none], false),
        V::ArgsPostNames => ([&r.args_post, none], true),
        V::RequestHeaders => ([&r.headers, none], false),
        V::RequestHeadersNames => ([&r.headers, none], true),
        V::RequestCookies => ([&r.cookies, none], false),
        V::RequestCookiesNames => ([&r.cookies, none], true),
        _ => return None,
    })
}

/// The `j`th (key, value) of lists from [`kv_lists`] (`names`: the key stands for the value).
pub(crate) fn kv_at<'a>(
    lists: &[&'a [Kv]; 2],
    names: bool,
    j: usize,
) -> Option<(&'a [u8], &'a [u8])> {
    let (k, v) = match lists[0].get(j) {
        Some(kv) => kv,
        None => lists[1].get(j - lists[0].len())?,
    };
    Some((k, if names { k } else { v }))
}

/// The number of values a target's variable and selector yield (what `&VAR` reads).
pub fn count(
    tx: &Transaction,
    target: &Target,
    excluded: &dyn Fn(Variable, &[u8]) -> bool,
) -> usize {
    let mut n = Count(0);
    let mut sink = Unexcluded {
        out: &mut n,
        excluded,
    };
    collect_values(tx, target.variable, &target.selector, excluded, &mut sink);
    n.0
}

/// Reads a target's values from the transaction into `out` (counting if `&`).
pub fn collect<'a>(
    tx: &'a Transaction,
    target: &Target,
    excluded: &dyn Fn(Variable, &[u8]) -> bool,
    out: &mut dyn Sink<'a>,
) {
    if target.count {
        let n = count(tx, target, excluded);
        out.push(Value {
            variable: target.variable,
            key: match &target.selector {
                Selector::Key(k) => Cow::Owned(k.clone()),
                _ => Cow::Borrowed(b""),
            },
            value: decimal(n),
        });
    } else {
        let mut sink = Unexcluded { out, excluded };
        collect_values(tx, target.variable, &target.selector, excluded, &mut sink);
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
        V::PathInfo => out.push(scalar(variable, r.filename.as_slice())),
        V::RequestBody => {
            if r.body_variable {
                out.push(scalar(variable, r.body.as_slice()));
            }
        }
        V::RequestBodyLength => out.push(num(variable, r.body.len())),
        V::QueryString
        | V::RequestBasename
        | V::RequestFilename
        | V::RequestLine
        | V::RequestMethod
        | V::RequestProtocol
        | V::RequestUri
        | V::RequestUriRaw => out.push(scalar(
            variable,
            request_line_value(r, variable).unwrap_or_default(),
        )),
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
                // `TX:/^name_prefix_/` (CRS keeps per-header and per-argument entries so):
                // only the keys from the prefix on are candidates (all of them for "").
                let prefix = match sel {
                    Selector::Regex(_, hints) => hints.prefix.as_deref().unwrap_or(""),
                    _ => "",
                };
                let mut visit = |(k, v): (&'a String, &'a Vec<u8>)| {
                    if sel.matches(k.as_bytes()) && !excluded(variable, k.as_bytes()) {
                        out.push(Value {
                            variable,
                            key: Cow::Borrowed(k.as_bytes()),
                            value: Cow::Borrowed(v),
                        });
                    }
                };
                if prefix.is_empty() {
                    map.iter().for_each(visit);
                } else {
                    map.with_prefix(prefix).for_each(&mut visit);
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
            for (n, v) in tx.matched_vars() {
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
