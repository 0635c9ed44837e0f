//! Every transformation (URL, entity, JS, CSS decoding, path normalisation, …) on arbitrary
//! input: no panics, decoders never grow their input, and the fused `utf8toUnicode` +
//! `urlDecodeUni` makes what the two make in turn.
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
    use sitegroup_waf::transformations::{TABLE, UTF8_URL_DECODE_UNI, lookup};
    let (Some(utf8), Some(decode), Some((_, fused, _))) = (
        lookup("utf8toUnicode"),
        lookup("urlDecodeUni"),
        TABLE.iter().find(|(n, _, _)| *n == UTF8_URL_DECODE_UNI),
    ) else {
        panic!("the pair and the fused pair are in the table");
    };
    let pair = match utf8(data) {
        Some(u) => decode(&u).or(Some(u)),
        None => decode(data),
    };
    let same = |o: Option<Vec<u8>>| o.unwrap_or_else(|| data.to_vec());
    assert_eq!(same(fused(data)), same(pair), "the fused pair differs from the pair");
});
