//! The prefilters only ever skip work: a rule whose literals occur in no value of its targets
//! is skipped without visiting a value, and every match that the rule would find without the
//! prefilter is still found — across phases, body processors, selectors and XML attributes.

use sitegroup_waf::{Engine, Interruption};

const RULES: &str = r#"
SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "^application/json" "id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQUEST_HEADERS:Content-Type "^text/xml" "id:2,phase:1,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule ARGS "@rx (?i)<EMBED[\s/+].*?src" "id:10,phase:2,deny,status:403,t:none,t:urlDecodeUni"
SecRule ARGS:/^c/ "@rx \+ADw-.*>" "id:11,phase:2,deny,status:403,t:none"
SecRule XML:/*/@* "@rx (?i)javascript:" "id:12,phase:2,deny,status:403,t:none,t:lowercase"
SecRule ARGS_GET "@rx (?i)union\s+select" "id:13,phase:1,deny,status:403,t:none,t:urlDecodeUni"
SecRule REQUEST_HEADERS|ARGS "@rx [\n\r]" "id:14,phase:2,deny,status:403,t:none,t:urlDecodeUni"
"#;

/// A GET of `uri` with `headers` through phases 1 and 2 (and logging, which ends the
/// transaction as the gateway does); its interruption, if any.
fn get(engine: &Engine, uri: &str, headers: &[(&str, &str)]) -> Option<Interruption> {
    let mut tx = engine.transaction();
    tx.process_uri(b"GET", uri.as_bytes(), b"HTTP/1.1");
    for (k, v) in headers {
        tx.add_request_header(k.as_bytes(), v.as_bytes());
    }
    let interruption = tx
        .process_request_headers()
        .or_else(|| tx.process_request_body());
    tx.process_logging();
    interruption
}

fn run(engine: &Engine, uri: &str, ctype: Option<&str>, body: &[u8]) -> Option<u32> {
    let mut tx = engine.transaction();
    tx.process_connection("198.51.100.9", 50000, "10.0.0.1", 80);
    tx.process_uri(b"POST", uri.as_bytes(), b"HTTP/1.1");
    tx.add_request_header(b"Host", b"www.demo.localhost");
    if let Some(c) = ctype {
        tx.add_request_header(b"Content-Type", c.as_bytes());
    }
    if let Some(i) = tx.process_request_headers() {
        return Some(i.rule_id);
    }
    if let Some(i) = tx.append_request_body(body) {
        return Some(i.rule_id);
    }
    tx.process_request_body().map(|i| i.rule_id)
}

/// An engine with `rules` after what every JSON test needs: the engine on, request bodies
/// read, and `application/json` bodies parsed as JSON (rule 1).
fn json_engine(rules: &str, file: &str) -> Engine {
    let head = r#"
SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "^application/json" "id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
"#;
    Engine::from_text(&format!("{head}{rules}"), file).expect("the test's rules load")
}

#[test]
fn skipped_rules_never_hide_a_match() {
    let engine = Engine::from_text(RULES, "prefilter-test.conf").unwrap();
    let form = Some("application/x-www-form-urlencoded");
    // Nothing to find: every rule is skipped or evaluated without a match.
    assert_eq!(
        run(&engine, "/?q=hello", form, b"a=1&b=%E4%BD%A0%E5%A5%BD"),
        None
    );
    // Case-folded literal, value only in the body (the phase-1 union saw no ARGS_POST).
    assert_eq!(
        run(&engine, "/?q=hello", form, b"x=%3CeMbEd+src%3Dx%3E"),
        Some(10)
    );
    // Inner literal under a regex selector; a non-matching key holding it does not count.
    assert_eq!(run(&engine, "/", form, b"comment=%2BADw-script>"), Some(11));
    assert_eq!(run(&engine, "/", form, b"body=%2BADw-script>"), None);
    // XML attributes are values too, not only element text.
    assert_eq!(
        run(
            &engine,
            "/",
            Some("text/xml"),
            b"<a href=\"JavaScript:alert(1)\">text</a>"
        ),
        Some(12)
    );
    // Phase 1 sees the query string.
    assert_eq!(
        run(&engine, "/?id=1%20UNION%20SELECT%201", form, b""),
        Some(13)
    );
    // One-byte literals (line breaks) after decoding, in a JSON argument.
    assert_eq!(
        run(
            &engine,
            "/",
            Some("application/json"),
            br#"{"name":"a%0d%0aSet-Cookie: x"}"#
        ),
        Some(14)
    );
}

/// Costly detectors remember the inputs they found clean within a transaction; a repeated
/// clean value is not examined again, and an attack among them is still found.
#[test]
fn remembered_clean_values_never_hide_an_attack() {
    let rules = r#"
SecRule ARGS "@detectSQLi" "id:20,phase:2,deny,status:403,t:none"
"#;
    let engine = json_engine(rules, "memo-test.conf");
    let mut items: Vec<String> = (0..200)
        .map(|i| {
            format!(
                r#"{{"title":"关于做好冬季安全生产工作的通知","n":{}}}"#,
                i % 3
            )
        })
        .collect();
    let clean = format!(r#"{{"items":[{}]}}"#, items.join(","));
    assert_eq!(
        run(&engine, "/", Some("application/json"), clean.as_bytes()),
        None
    );
    items.insert(150, r#"{"title":"1' or '1'='1","n":1}"#.to_string());
    let attack = format!(r#"{{"items":[{}]}}"#, items.join(","));
    assert_eq!(
        run(&engine, "/", Some("application/json"), attack.as_bytes()),
        Some(20)
    );
}

/// The cheaper shortcuts: a regex with no literal filtered on the bytes every match holds
/// (a command separator), values read in phase 1 and again in phase 2 (their transformations
/// and prefilter hits are kept across the body's parsing), and chains sharing leading
/// transformations that leave a value unchanged (remembered per value).
#[test]
fn byte_filters_and_kept_caches_never_hide_a_match() {
    let rules = r#"
SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:User-Agent "@rx (?i)mozilla" "id:30,phase:1,pass,nolog,t:none,t:urlDecodeUni,t:lowercase"
SecRule ARGS|REQUEST_HEADERS "@rx (?i)(?:[\n\r;`\{]|\|\|?|&&?)[\s\x0b]*[\"'\x5c]*c[\"'\x5c]*a[\"'\x5c]*t\b" "id:31,phase:2,deny,status:403,t:none,t:urlDecodeUni"
SecRule ARGS|REQUEST_HEADERS "@rx (?i)evil" "id:32,phase:2,deny,status:403,t:none,t:urlDecodeUni,t:lowercase"
SecRule ARGS "@rx \d{3}-\d{4}" "id:33,phase:2,deny,status:403,t:none,t:urlDecodeUni,t:htmlEntityDecode"
"#;
    let engine = Engine::from_text(rules, "shortcut-test.conf").unwrap();
    let form = Some("application/x-www-form-urlencoded");
    let post = |ua: &str, body: &[u8]| {
        let mut tx = engine.transaction();
        tx.process_uri(b"POST", b"/submit", b"HTTP/1.1");
        tx.add_request_header(b"Host", b"www.demo.localhost");
        tx.add_request_header(b"User-Agent", ua.as_bytes());
        if let Some(c) = form {
            tx.add_request_header(b"Content-Type", c.as_bytes());
        }
        assert!(tx.process_request_headers().is_none());
        assert!(tx.append_request_body(body).is_none());
        tx.process_request_body().map(|i| i.rule_id)
    };
    // Clean: no separator anywhere, so rule 31's regex never runs; nothing matches.
    assert_eq!(post("Mozilla/5.0", b"title=%E9%80%9A%E7%9F%A5&n=12"), None);
    // The separator arrives percent-encoded and obfuscated with quotes: decoded, found.
    assert_eq!(
        post("Mozilla/5.0", b"q=1%3Bc%22a%27t+/etc/passwd"),
        Some(31)
    );
    // A header phase 1 already transformed and scanned: phase 2 still finds what is in it,
    // under a longer chain that shares its leading transformations.
    assert_eq!(post("Mozilla/5.0 EVIL", b"title=x"), Some(32));
    assert_eq!(post("x;cat /etc/passwd", b"title=x"), Some(31));
    // A chain whose first transformation changes the value: the rest still apply.
    assert_eq!(post("Mozilla/5.0", b"tel=555%2D1234"), Some(33));
    assert_eq!(post("Mozilla/5.0", b"tel=555%26%2345%3B1234"), Some(33));
}

/// A JSON body's arguments, UTF-8 by the parser's check, are not tested by an operator that
/// matches only what is not UTF-8; the query's arguments still are, a form body's too, and a
/// transformation between (which may make bytes that are not UTF-8) still tests them all.
#[test]
fn utf8_checks_pass_over_a_json_body_only() {
    let rules = r#"
SecRule ARGS|ARGS_NAMES "@validateUtf8Encoding" "id:40,phase:2,deny,status:403,t:none"
SecRule ARGS_POST "@validateUtf8Encoding" "id:41,phase:2,deny,status:403,t:none,t:urlDecode"
"#;
    let engine = json_engine(rules, "utf8-test.conf");
    let json = Some("application/json");
    let form = Some("application/x-www-form-urlencoded");
    // Chinese text, escapes of characters (NUL too) and of a surrogate pair: all UTF-8.
    let body = r#"{"标题":"关于\u0000通知","e":"\ud83d\ude00","n":[1,2]}"#;
    assert_eq!(run(&engine, "/?q=%E4%BD%A0", json, body.as_bytes()), None);
    // The query's bytes that are not UTF-8 are still found beside a JSON body, in a value
    // and in a name.
    assert_eq!(run(&engine, "/?q=%C0%AF", json, body.as_bytes()), Some(40));
    assert_eq!(run(&engine, "/?%FF=1", json, body.as_bytes()), Some(40));
    // A form body's are.
    assert_eq!(run(&engine, "/", form, b"a=%C0%AF"), Some(40));
    // `urlDecode` makes bytes that are not UTF-8 from a JSON string's `%C0%AF`.
    let escaped = br#"{"a":"%C0%AF"}"#;
    assert_eq!(run(&engine, "/", json, escaped), Some(41));
}

/// A target is passed over whole only when none of its values holds a byte the link needs:
/// one value among hundreds that does is still found, first or last, raw or escaped.
#[test]
fn targets_are_passed_over_whole_only_without_a_needed_byte() {
    let rules = r#"
SecRule ARGS "@rx (?i)<script" "id:50,phase:2,deny,status:403,t:none,t:urlDecodeUni,t:lowercase"
"#;
    let engine = json_engine(rules, "needs-test.conf");
    let json = Some("application/json");
    let body = |extra: &str, first: bool| {
        let items: Vec<String> = (0..200)
            .map(|i| format!(r#"{{"id":{i},"title":"第{i}号通知"}}"#))
            .collect();
        let extra = format!(r#"{{"x":"{extra}"}}"#);
        let all = if first {
            format!("[{extra},{}]", items.join(","))
        } else {
            format!("[{},{extra}]", items.join(","))
        };
        all.into_bytes()
    };
    assert_eq!(run(&engine, "/", json, &body("关于", false)), None);
    for first in [true, false] {
        assert_eq!(run(&engine, "/", json, &body("<ScRiPt>", first)), Some(50));
        assert_eq!(run(&engine, "/", json, &body("%3cscript", first)), Some(50));
    }
}

/// A target naming one key has the prefilter union of that key's values only: the literal in
/// another header does not make it run, the literal in its own header (any case of the name)
/// is found. `TX:/^prefix/` selectors read the keys from the prefix on.
#[test]
fn one_key_targets_and_prefix_selectors() {
    let rules = r#"
SecRuleEngine On
SecRule REQUEST_HEADERS:Referer "@rx (?i)evil\.example" "id:40,phase:1,deny,status:403,t:none,t:lowercase"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:41,phase:1,pass,nolog,capture,t:none,t:lowercase,setvar:'tx.seen_%{tx.0}=%{tx.0}'"
SecRule TX:/^seen_x-bad/ "@rx ." "id:42,phase:1,deny,status:403"
"#;
    let engine = Engine::from_text(rules, "key-test.conf").unwrap();
    let rule = |headers: &[(&str, &str)]| get(&engine, "/", headers).map(|i| i.rule_id);
    assert_eq!(rule(&[("User-Agent", "evil.example")]), None);
    assert_eq!(
        rule(&[("Accept", "*/*"), ("referer", "https://EVIL.example/")]),
        Some(40)
    );
    assert_eq!(rule(&[("X-Good", "1")]), None);
    assert_eq!(rule(&[("X-Good", "1"), ("X-Bad-Thing", "1")]), Some(42));
}

/// Selectors without a `^prefix` (`TX:/name_*/`) are read against every key, a literal every
/// match holds checked first; captures set TX:0… and clear the ones a later, shorter capture
/// does not set — also when a rule set one of them with `setvar`.
#[test]
fn unanchored_selectors_and_capture_keys() {
    let rules = r#"
SecRuleEngine On
SecAction "id:1,phase:1,pass,nolog,setvar:tx.counter_a=1,setvar:tx.other=1,setvar:tx.3=stale"
SecRule REQUEST_HEADERS:X-Pair "@rx ^(\w+)-(\w+)$" "id:2,phase:1,pass,nolog,capture"
SecRule REQUEST_HEADERS:X-One "@rx ^(\w+)$" "id:3,phase:1,pass,nolog,capture"
SecRule &TX:2 "@eq 1" "id:4,phase:1,deny,status:403"
SecRule &TX:3 "@eq 1" "id:5,phase:1,deny,status:404"
SecRule TX:/MULTIPART_HEADERS_CONTENT_TYPES_*/ "@rx ." "id:6,phase:2,deny,status:405"
SecRule TX:/counter_.*/ "@streq 2" "id:7,phase:2,deny,status:406"
SecRule REQUEST_HEADERS:X-Type "@rx (.+)" "id:8,phase:1,pass,nolog,capture,setvar:'tx.multipart_headers_content_types_%{tx.0}=%{tx.0}'"
SecRule REQUEST_HEADERS:X-Count "@rx (.+)" "id:9,phase:1,pass,nolog,capture,setvar:'tx.counter_b=%{tx.1}'"
"#;
    let engine = Engine::from_text(rules, "selector-test.conf").unwrap();
    let status = |headers: &[(&str, &str)]| get(&engine, "/", headers).map(|i| i.status);
    // No capture: the `setvar` TX:3 is there.
    assert_eq!(status(&[]), Some(404));
    // Two groups then one: TX:2 and TX:3 are gone.
    assert_eq!(status(&[("X-Pair", "a-b"), ("X-One", "c")]), None);
    // Two groups only: TX:2 is there.
    assert_eq!(status(&[("X-Pair", "a-b")]), Some(403));
    // The unanchored selectors find their keys, in any case.
    assert_eq!(status(&[("X-One", "c"), ("X-Type", "Text")]), Some(405));
    assert_eq!(status(&[("X-One", "c"), ("X-Count", "2")]), Some(406));
    assert_eq!(status(&[("X-One", "c"), ("X-Count", "3")]), None);
}

/// A runtime exclusion removes a scalar target too (CRS's 941010 takes REQUEST_FILENAME away
/// from the `xss-perf-disable` rules when the path holds only plain characters), on the
/// prefiltered path and on the `multiMatch` one.
#[test]
fn runtime_exclusions_remove_scalar_targets() {
    let exclude = r#"
SecRuleEngine On
SecRule REQUEST_FILENAME "!@validateByteRange 20,45-47,48-57,65-90,95,97-122" "id:1,phase:1,pass,nolog,ctl:ruleRemoveTargetByTag=perf;REQUEST_FILENAME"
"#;
    for rule in [
        r#"SecRule REQUEST_FILENAME|ARGS "@pm document.cookie" "id:2,phase:2,deny,status:403,t:none,t:lowercase,tag:perf""#,
        r#"SecRule REQUEST_FILENAME|ARGS "@pm document.cookie" "id:3,phase:2,deny,status:403,t:none,t:lowercase,multiMatch,tag:perf""#,
    ] {
        let engine =
            Engine::from_text(&format!("{exclude}{rule}\n"), "exclusion-test.conf").unwrap();
        let status = |uri: &str| get(&engine, uri, &[]).map(|i| i.status);
        assert_eq!(status("/manual/document.cookie"), None, "{rule}");
        // Not plain: the target stays.
        assert_eq!(status("/manual/document.cookie%3C"), Some(403), "{rule}");
        // Arguments are not excluded.
        assert_eq!(status("/manual?q=document.cookie"), Some(403), "{rule}");
    }
}

/// A transaction's collections and caches are reused by the next one (emptied, buffers kept):
/// nothing the first one set — TX variables, captures, per-header keys, matched variables — is
/// seen by the second.
#[test]
fn reused_transactions_share_no_state() {
    let rules = r#"
SecRuleEngine On
SecRule &TX:seen "@eq 1" "id:1,phase:1,deny,status:401"
SecRule &TX:0 "@eq 1" "id:2,phase:1,deny,status:402"
SecRule &TX:/^hdr_/ "@gt 0" "id:3,phase:1,deny,status:403"
SecRule REQUEST_HEADERS:X-Mark "@rx (.+)" "id:10,phase:1,pass,nolog,capture,setvar:tx.seen=1"
SecRule REQUEST_HEADERS_NAMES "@rx ^x-h" "id:11,phase:1,pass,nolog,setvar:'tx.hdr_%{MATCHED_VAR}=1'"
SecRule REQUEST_HEADERS:X-Mark "@rx ." "id:12,phase:1,pass,nolog,setvar:tx.mark_count=+1"
SecRule TX:mark_count "@gt 1" "id:13,phase:1,deny,status:404"
"#;
    let engine = Engine::from_text(rules, "reuse-test.conf").unwrap();
    let status = |headers: &[(&str, &str)]| get(&engine, "/", headers).map(|i| i.status);
    for _ in 0..3 {
        // Sets TX:seen, TX:0, TX:hdr_x-h1 and counts once: nothing fires in this transaction.
        assert_eq!(status(&[("X-Mark", "a"), ("X-H1", "1")]), None);
        // A fresh one sees none of it (and its count starts again from nothing).
        assert_eq!(status(&[]), None);
        assert_eq!(status(&[("X-Mark", "b")]), None);
    }
    // A body's arguments: the list a finished transaction leaves for the next one is empty.
    let rules = r#"
SecRule ARGS:evil "@rx ." "id:20,phase:2,deny,status:403"
SecRule &ARGS "@gt 2" "id:21,phase:2,deny,status:413"
"#;
    let engine = json_engine(rules, "reuse-args-test.conf");
    let json = Some("application/json");
    let form = Some("application/x-www-form-urlencoded");
    for _ in 0..3 {
        assert_eq!(run(&engine, "/", json, br#"{"evil":"x"}"#), Some(20));
        assert_eq!(run(&engine, "/", json, br#"{"a":1,"b":2}"#), None);
        assert_eq!(run(&engine, "/", json, br#"{"c":[1,2,3]}"#), Some(21));
        assert_eq!(run(&engine, "/", form, b"a=1"), None);
        assert_eq!(run(&engine, "/", json, b"{}"), None);
    }
}
