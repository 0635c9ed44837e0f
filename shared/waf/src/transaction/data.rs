//! The request and response data a transaction inspects.

use crate::body::BodyProcessor;
use crate::body::multipart::Flags;
use crate::body::xml::XmlDoc;

pub(crate) type Kv = (Vec<u8>, Vec<u8>);

#[derive(Debug, Default)]
pub(crate) struct Request {
    pub remote_addr: String,
    pub remote_port: u16,
    pub server_addr: String,
    pub server_port: u16,
    pub method: Vec<u8>,
    pub uri_raw: Vec<u8>,
    pub uri: Vec<u8>,
    pub protocol: Vec<u8>,
    pub line: Vec<u8>,
    pub filename: Vec<u8>,
    pub query_string: Vec<u8>,
    pub headers: Vec<Kv>,
    pub cookies: Vec<Kv>,
    pub args_get: Vec<Kv>,
    pub args_post: Vec<Kv>,
    /// Whether every name and value of `args_post` is valid UTF-8, known without a look at
    /// them: a JSON body's (its parser rejects a body that is not UTF-8, and unescapes only
    /// to characters).
    pub args_post_utf8: bool,
    pub files: Vec<Kv>,
    pub files_sizes: Vec<Kv>,
    /// Field name → uploaded file content (`FILES_TMP_CONTENT`).
    pub files_content: Vec<Kv>,
    pub multipart_headers: Vec<Kv>,
    pub multipart: Flags,
    pub body: Vec<u8>,
    pub body_truncated: bool,
    /// Whether `REQUEST_BODY` is populated: as in ModSecurity, for the URLENCODED processor or
    /// when a rule forces it (`ctl:forceRequestBodyVariable`), not for multipart/JSON/XML.
    pub body_variable: bool,
    pub body_processor: Option<BodyProcessor>,
    pub body_error: Option<String>,
    pub urlencoded_error: bool,
    pub xml: Option<XmlDoc>,
}

/// The first header called `name` (case-insensitively).
fn find_header<'h>(headers: &'h [Kv], name: &[u8]) -> Option<&'h [u8]> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

impl Request {
    pub fn header(&self, name: &[u8]) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }

    pub fn basename(&self) -> &[u8] {
        let f = &self.filename;
        match f.iter().rposition(|&b| b == b'/') {
            Some(p) => &f[p + 1..],
            None => f,
        }
    }

    pub fn full_request(&self) -> Vec<u8> {
        let mut out = self.line.clone();
        out.extend_from_slice(b"\n");
        for (k, v) in &self.headers {
            out.extend_from_slice(k);
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out
    }
}

#[derive(Debug, Default)]
pub(crate) struct Response {
    pub status: u16,
    pub protocol: Vec<u8>,
    pub headers: Vec<Kv>,
    pub body: Vec<u8>,
    pub body_inspected: bool,
    pub body_truncated: bool,
}

impl Response {
    pub fn header(&self, name: &[u8]) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }
}
