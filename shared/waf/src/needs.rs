//! The bytes a value must hold for a rule link to match it, through the link's
//! transformations (`Rule::needs`): a value without any of them is passed over without a
//! transformation or a test.
//!
//! An operator needs some byte whenever every input it matches holds one of a known set: one
//! byte of each of its required literals, its required bytes (see `prefilter::filters`), or
//! what the operator knows of itself (`Operator::needed_bytes`: libinjection's SQL detector
//! never flags digits alone, its XSS detector needs `<` or `=`, a UTF-8 check a byte above
//! 0x7F). Each transformation, read backwards, widens the set to the input bytes that can
//! make one of those bytes ([`preimage`]: `urlDecode` adds `%`, `lowercase` the capitals,
//! `utf8toUnicode` — which writes `%u` and hex digits — the bytes above 0x7F); a
//! transformation that can make any byte of any input (`base64Decode`, `length`) leaves the
//! link without a set. Every preimage contains the set it widens, so the whole chain's
//! preimage also covers each stage a `multiMatch` link tests. The numbers and plain words
//! most JSON and form values are hold none of what most links need.
//!
//! A link's set is a `prefilter::ByteSet`, the type of the operators' own byte filters. Its
//! folded bytes ([`FOLD`]) let a walk pass over a value, or a whole target, whose folded bytes
//! the transformation cache keeps, without a scan.

use crate::prefilter::ByteSet;
use crate::rule::RuleOperator;
use crate::transformations::Transformation;

/// A set of bytes, a bit each.
pub type ByteMask = [u64; 4];

pub fn contains(mask: &ByteMask, b: u8) -> bool {
    mask[usize::from(b >> 6)] >> (b & 63) & 1 != 0
}

pub fn insert(mask: &mut ByteMask, b: u8) {
    mask[usize::from(b >> 6)] |= 1 << (b & 63);
}

fn of(bytes: impl IntoIterator<Item = u8>) -> ByteMask {
    let mut m = [0; 4];
    for b in bytes {
        insert(&mut m, b);
    }
    m
}

fn union(a: &ByteMask, b: &ByteMask) -> ByteMask {
    std::array::from_fn(|i| a[i] | b[i])
}

/// A byte's bit in a value's *folded* bytes (the bits of its bytes together, see
/// `transformations::classify_folded`; a value whose folded bytes miss a set's holds no byte
/// of it): 64 bits for 256 bytes, where each byte of ASCII punctuation, which most needed sets
/// are made of, has a bit of its own; the rest share: control bytes by fours, digits, letters
/// (either case) by pairs, and the bytes above 0x7F by their UTF-8 role (continuation, or a
/// lead of two, three or four bytes).
pub const FOLD: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let bit = match c {
            0x00..=0x1f => c >> 2,
            0x20..=0x2f => 8 + (c - 0x20),
            b'0'..=b'9' => 24,
            0x3a..=0x40 => 25 + (c - 0x3a),
            b'A'..=b'Z' => 32 + (c - b'A') / 2,
            b'a'..=b'z' => 32 + (c - b'a') / 2,
            0x5b..=0x60 => 45 + (c - 0x5b),
            0x7b..=0x7f => 51 + (c - 0x7b),
            0x80..=0xbf => 56,
            0xc0..=0xdf => 57,
            0xe0..=0xef => 58,
            0xf0..=0xff => 59,
        };
        t[b] = 1 << bit;
        b += 1;
    }
    t
};

/// How common a byte is in clean values (lower: rarer), to pick the byte of a literal that
/// fewest values hold.
fn commonness(b: u8) -> u8 {
    match b {
        0x80..=0xff => 4,
        b'0'..=b'9' => 3,
        b' ' => 2,
        b'a'..=b'z' | b'A'..=b'Z' => 1,
        _ => 0,
    }
}

/// The bytes an input must hold for the operator to match it, if known.
fn operator_needs(op: &RuleOperator) -> Option<ByteMask> {
    if op.negated {
        return None;
    }
    if op.prefilter.is_some() && !op.literals.is_empty() {
        // Every match holds one of the literals (ASCII case-insensitively), hence the
        // rarest byte of it, in either case.
        let mut m = [0; 4];
        for l in &op.literals {
            let &b = l.iter().min_by_key(|&&b| commonness(b))?;
            insert(&mut m, b.to_ascii_lowercase());
            insert(&mut m, b.to_ascii_uppercase());
        }
        return Some(m);
    }
    if let Some(bytes) = &op.bytes {
        return Some(of(bytes.bytes()));
    }
    op.op
        .needed_bytes()
        .map(|set| of((0..=255).filter(|&b| set[usize::from(b)])))
}

/// The bytes an input of `t` must hold for its output to hold a byte of `out`, or `None`
/// when `t` may make any byte of any input (or is not known here). Each adds to `out` the
/// bytes that make new bytes; the ones that only remove or keep bytes add nothing.
pub fn preimage(t: &Transformation, out: &ByteMask) -> Option<ByteMask> {
    let has = |b: u8| contains(out, b);
    let space = has(b' ');
    let mut add: Vec<u8> = Vec::new();
    match t.name {
        // The pair it stands for, backwards.
        crate::transformations::UTF8_URL_DECODE_UNI => {
            let decode = Transformation::find("urlDecodeUni")?;
            let utf8 = Transformation::find("utf8toUnicode")?;
            return preimage(&utf8, &preimage(&decode, out)?);
        }
        // Keep or remove bytes, never make one.
        "removeComments" | "removeCommentsChar" | "removeNulls" | "removeWhitespace" | "trim"
        | "trimLeft" | "trimRight" => {}
        // Also makes `/` of `..` (and `\\` a `/` on Windows).
        "normalisePath" | "normalizePath" if has(b'/') => add.push(b'.'),
        "normalisePathWin" | "normalizePathWin" if has(b'/') => add.extend([b'.', b'\\']),
        "normalisePath" | "normalizePath" | "normalisePathWin" | "normalizePathWin" => {}
        "lowercase" => add.extend((b'a'..=b'z').filter(|&b| has(b)).map(|b| b - 32)),
        "uppercase" => add.extend((b'A'..=b'Z').filter(|&b| has(b)).map(|b| b + 32)),
        // `%HH`, `%uHHHH`, and `+` for a space.
        "urlDecode" | "urlDecodeUni" => {
            add.push(b'%');
            if space {
                add.push(b'+');
            }
        }
        "htmlEntityDecode" => add.push(b'&'),
        "jsDecode" | "cssDecode" | "escapeSeqDecode" => add.push(b'\\'),
        // Writes `%uHHHH` for a character above 0x7F (other bytes are kept).
        "utf8toUnicode" => {
            if (b'%'..=b'%')
                .chain([b'u'])
                .chain(b'0'..=b'9')
                .chain(b'a'..=b'f')
                .chain(b'A'..=b'F')
                .any(has)
            {
                add.extend(0x80..=0xff);
            }
        }
        // Whitespace runs become one space.
        "compressWhitespace" if space => add.extend([b'\t', b'\n', 0x0b, 0x0c, b'\r', 0xa0]),
        "compressWhitespace" => {}
        // Comments become a space.
        "replaceComments" if space => add.push(b'/'),
        "replaceComments" => {}
        "replaceNulls" if space => add.push(0),
        "replaceNulls" => {}
        // Lowercases; `,` `;` and whitespace become spaces; removes quotes, `\` and `^`.
        "cmdLine" => {
            add.extend((b'a'..=b'z').filter(|&b| has(b)).map(|b| b - 32));
            if space {
                add.extend([b',', b';', b'\t', b'\n', 0x0b, 0x0c, b'\r']);
            }
        }
        _ => return None,
    }
    Some(union(out, &of(add)))
}

/// Sets `Rule::needs` of each link of a chain.
pub(crate) fn assign_needs(rule: &mut crate::rule::Rule) {
    let mut link = Some(rule);
    while let Some(r) = link {
        r.needs = link_needs(r.operator.as_ref(), &r.transformations);
        if r.actions.multi_match {
            r.stage_needs = link_needs(r.operator.as_ref(), &[]);
        }
        if let Some(stage) = &mut r.unicode_stage {
            // What the operator needs in the output of `utf8toUnicode` alone.
            stage.needs = link_needs(r.operator.as_ref(), &r.transformations[stage.at..=stage.at]);
        }
        link = r.chain.as_deref_mut();
    }
}

/// The bytes a value must hold for the link (operator `op`, `transformations`) to match it,
/// as a table, or `None` when not known or when every byte is one.
fn link_needs(
    op: Option<&RuleOperator>,
    transformations: &[Transformation],
) -> Option<Box<ByteSet>> {
    let mut needs = operator_needs(op?)?;
    for t in transformations.iter().rev() {
        needs = preimage(t, &needs)?;
    }
    if needs.iter().all(|&w| w == u64::MAX) {
        return None;
    }
    Some(Box::new(ByteSet::exact(
        (0..=255u8).filter(|&b| contains(&needs, b)),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transformations::TABLE;

    /// Inputs over bytes every transformation reacts to, made at random (a fixed seed).
    fn inputs() -> Vec<Vec<u8>> {
        const ALPHABET: &[u8] = b"aZ09%+uUfF&#;x\\/*- \t\n\r,'\"^.<=>(){}\x00\xa0\xe4\xb8\xad";
        let mut seed: u32 = 7;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            seed >> 16
        };
        let mut out = Vec::new();
        for _ in 0..20_000 {
            let len = next() % 12;
            out.push(
                (0..len)
                    .map(|_| ALPHABET[next() as usize % ALPHABET.len()])
                    .collect(),
            );
        }
        // Whole escapes and comments, which random bytes rarely spell.
        for s in [
            "%41", "%u0041", "%uff0c", "&#60;", "&lt;", "&nbsp;", "\\x3c", "\\u003c", "\\3c ",
            "/* c */", "a+b", "a,b;c", "A\\B", "\u{4e2d}", "a\u{a0}b",
        ] {
            out.push(s.as_bytes().to_vec());
        }
        out
    }

    /// For every transformation with a preimage: whenever the output holds a byte, the input
    /// holds a byte of that byte's preimage (each preimage is the union of its bytes').
    #[test]
    fn preimages_cover_every_byte_a_transformation_makes() {
        let inputs = inputs();
        let mut checked = 0;
        for (name, _, _) in TABLE {
            let t = Transformation::find(name).unwrap();
            let Some(pre) = (0..=255u8)
                .map(|b| preimage(&t, &of([b])))
                .collect::<Option<Vec<ByteMask>>>()
            else {
                continue;
            };
            for (b, p) in pre.iter().enumerate() {
                assert!(contains(p, b as u8), "{name}: the preimage keeps the set");
            }
            for input in &inputs {
                let output = (t.apply)(input).unwrap_or_else(|| input.clone());
                for &b in &output {
                    checked += 1;
                    assert!(
                        input.iter().any(|&i| contains(&pre[usize::from(b)], i)),
                        "{name}: {:?} makes {b:#x} from no byte of its preimage",
                        String::from_utf8_lossy(input)
                    );
                }
            }
        }
        assert!(checked > 100_000, "{checked}");
        for name in ["base64Decode", "length", "sha1", "hexDecode", "urlEncode"] {
            let t = Transformation::by_name(name).unwrap();
            assert!(preimage(&t, &of([b'<'])).is_none(), "{name}");
        }
    }

    fn link(rule: &str) -> Option<Box<ByteSet>> {
        let engine = crate::Engine::from_text(rule, "t.conf").unwrap();
        let crate::rule::Entry::Rule(r) = &engine.rules().phases[1][0] else {
            panic!("one rule in phase 2")
        };
        r.needs.clone()
    }

    #[test]
    fn links_need_what_their_operator_needs_through_their_transformations() {
        let holds = |needs: &Option<Box<ByteSet>>, v: &str| {
            needs.as_ref().is_none_or(|n| {
                let held = n.found_in(v.as_bytes());
                // Folded bytes never pass over a value that holds one.
                let folded = crate::transformations::classify_folded(v.as_bytes()).1;
                assert_eq!(held, n.found_in_folded(v.as_bytes(), folded));
                held
            })
        };
        let title = "第12号通知：关于做好冬季安全生产工作的通知";
        // libinjection never flags digits alone; through utf8toUnicode and urlDecodeUni
        // Chinese text may become anything.
        let sqli = link(
            "SecRule ARGS \"@detectSQLi\" \"id:1,phase:2,t:none,t:utf8toUnicode,t:urlDecodeUni,\
             t:removeNulls,multiMatch\"",
        );
        assert!(!holds(&sqli, "12345") && holds(&sqli, title) && holds(&sqli, "1 or 1"));
        // Without utf8toUnicode, Chinese text cannot make a `<`.
        let xss = link("SecRule ARGS \"@detectXSS\" \"id:1,phase:2,t:none,t:urlDecodeUni\"");
        assert!(!holds(&xss, title) && !holds(&xss, "json.items.id"));
        assert!(holds(&xss, "%3c") && holds(&xss, "a=b"));
        // A byte range: only NUL, or an escape that makes one.
        let range = link(
            "SecRule ARGS \"@validateByteRange 1-255\" \"id:1,phase:2,t:none,t:urlDecodeUni\"",
        );
        assert!(!holds(&range, title) && holds(&range, "%00"));
        // Literals: a rare byte of each, in either case.
        let rx = link("SecRule ARGS \"@rx (?i)union\\s+select\" \"id:1,phase:2,t:lowercase\"");
        assert!(!holds(&rx, "12345") && holds(&rx, "UNION SELECT"));
        // Negated operators, and transformations that make anything, have no set.
        assert!(link("SecRule ARGS \"!@rx ^a\" \"id:1,phase:2\"").is_none());
        assert!(link("SecRule ARGS \"@rx <\" \"id:1,phase:2,t:base64Decode\"").is_none());
    }

    /// What operators say they need: no input without it matches (libinjection itself
    /// answers for its detectors, on inputs made to look like attacks).
    #[test]
    fn operators_match_no_input_without_the_bytes_they_need() {
        let engine = crate::Engine::builtin();
        let tx = engine.transaction();
        let ctx = crate::operators::Context {
            dir: std::path::Path::new("."),
        };
        let mut inputs = crate::operators::tests::corpus();
        inputs.extend((0..2000u32).map(|n| n.to_string().into_bytes()));
        inputs.extend([&b"\xff\xfe"[..], b"%zz", b"\x00a", b"0123456789"].map(<[u8]>::to_vec));
        for (name, arg) in [
            ("detectSQLi", ""),
            ("detectXSS", ""),
            ("validateUtf8Encoding", ""),
            ("validateByteRange", "32-126"),
            ("validateUrlEncoding", ""),
        ] {
            let op = crate::operators::build(name, arg, &ctx).unwrap();
            let needs = op.needed_bytes().expect(name);
            let mut without = 0;
            for input in &inputs {
                if !input.iter().any(|&b| needs[usize::from(b)]) {
                    without += 1;
                    assert!(
                        !op.evaluate(&tx, input, None),
                        "@{name} matches {:?}",
                        String::from_utf8_lossy(input)
                    );
                }
            }
            assert!(without >= 2000, "@{name}: {without} inputs without");
        }
    }
}
