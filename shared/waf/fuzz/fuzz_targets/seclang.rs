//! The SecLang reader on arbitrary text: it must return a rule set or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sitegroup_waf::Engine::from_text(text, "fuzz.conf");
    }
});
