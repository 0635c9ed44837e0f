//! The multipart body processor on arbitrary bodies (first line: the Content-Type).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (ct, body) = match data.iter().position(|&b| b == b'\n') {
        Some(p) => (&data[..p], &data[p + 1..]),
        None => (&b"multipart/form-data; boundary=x"[..], data),
    };
    let _ = sitegroup_waf::body::multipart::parse(body, ct);
    let _ = sitegroup_waf::body::multipart::parse_partial(body, ct);
});
