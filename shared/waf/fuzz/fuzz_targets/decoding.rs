//! Every transformation (URL, entity, JS, CSS decoding, path normalisation, …) on arbitrary
//! input: no panics, and decoders never grow their input.
#![no_main]

use libfuzzer_sys::fuzz_target;

const SHRINKING: &[&str] = &[
    "urlDecode",
    "urlDecodeUni",
    "htmlEntityDecode",
    "jsDecode",
    "cssDecode",
    "escapeSeqDecode",
    "removeNulls",
    "removeWhitespace",
    "compressWhitespace",
    "replaceComments",
    "removeComments",
    "removeCommentsChar",
    "normalizePath",
    "normalizePathWin",
    "base64Decode",
    "hexDecode",
    "cmdLine",
];

fuzz_target!(|data: &[u8]| {
    for (name, f, _) in sitegroup_waf::transformations::TABLE {
        if let Some(out) = f(data)
            && SHRINKING.contains(name)
        {
            assert!(out.len() <= data.len() + 1, "{name} grew its input");
        }
    }
});
