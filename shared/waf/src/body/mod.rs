//! Request-body processors: turn a buffered body into `ARGS_POST`, `FILES`, `XML`, … Each
//! reports malformed input as a body error (`REQBODY_ERROR`), never as a panic, and leaves
//! whatever it could parse before the error in place.

pub mod json;
pub mod multipart;
pub mod urlencoded;
pub mod xml;

/// Which processor reads the request body (`REQBODY_PROCESSOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyProcessor {
    UrlEncoded,
    Multipart,
    Json,
    Xml,
}

impl BodyProcessor {
    pub fn name(self) -> &'static str {
        match self {
            BodyProcessor::UrlEncoded => "URLENCODED",
            BodyProcessor::Multipart => "MULTIPART",
            BodyProcessor::Json => "JSON",
            BodyProcessor::Xml => "XML",
        }
    }

    pub fn parse(name: &str) -> Option<BodyProcessor> {
        match name.trim().to_ascii_uppercase().as_str() {
            "URLENCODED" => Some(BodyProcessor::UrlEncoded),
            "MULTIPART" => Some(BodyProcessor::Multipart),
            "JSON" => Some(BodyProcessor::Json),
            "XML" => Some(BodyProcessor::Xml),
            _ => None,
        }
    }

    /// The processor a `Content-Type` calls for: form and multipart as ModSecurity does by
    /// itself, JSON and XML as its recommended configuration (rules 200000/200001) does.
    pub fn for_content_type(ct: &[u8]) -> Option<BodyProcessor> {
        let ct = ct.to_ascii_lowercase();
        let mime = ct.split(|&b| b == b';').next().unwrap_or_default();
        let mime = mime.trim_ascii();
        if mime == b"application/x-www-form-urlencoded" {
            Some(BodyProcessor::UrlEncoded)
        } else if mime == b"multipart/form-data" {
            Some(BodyProcessor::Multipart)
        } else if mime == b"application/json" || mime.ends_with(b"+json") {
            Some(BodyProcessor::Json)
        } else if mime == b"text/xml" || mime == b"application/xml" || mime.ends_with(b"+xml") {
            Some(BodyProcessor::Xml)
        } else {
            None
        }
    }
}

/// Name–value pairs, as bytes.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;
