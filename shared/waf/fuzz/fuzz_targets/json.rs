//! The JSON body processor on arbitrary bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sitegroup_waf::body::json::parse(data);
    let _ = sitegroup_waf::body::xml::parse(data);
    let _ = sitegroup_waf::body::urlencoded::parse(data);
});
