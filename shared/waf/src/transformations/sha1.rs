//! `sha1`: the SHA-1 digest of the value, as 20 raw bytes (combine with `hexEncode`).
//!
//! `SecRule ARGS:pw "@streq ..." "t:sha1,t:hexEncode"`

use sha1::{Digest, Sha1};

pub fn sha1(input: &[u8]) -> Option<Vec<u8>> {
    Some(Sha1::digest(input).to_vec())
}
