use std::time::Instant;
fn main() {
    let rules = r#"SecRuleEngine On
SecAction "id:1,phase:1,pass,nolog,setvar:'tx.restricted_headers_basic=/content-encoding/ /proxy/ /lock-token/ /content-range/ /if/ /x-http-method-override/ /x-http-method/ /x-method-override/ /x-middleware-subrequest/ /expect/',setvar:tx.critical_anomaly_score=5"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:920450,phase:1,block,capture,t:none,t:lowercase,msg:'HTTP header is restricted by policy (%{MATCHED_VAR})',logdata:'Restricted header detected: %{MATCHED_VAR}',severity:'CRITICAL',setvar:'tx.header_name_920450_%{tx.0}=/%{tx.0}/',chain"
    SecRule TX:/^header_name_920450_/ "@within %{tx.restricted_headers_basic}" "setvar:'tx.inbound_anomaly_score_pl1=+%{tx.critical_anomaly_score}'"
"#;
    let e = sitegroup_waf::Engine::from_text(
        if std::env::var_os("EMPTY").is_some() {
            "SecRuleEngine On\nSecAction \"id:1,phase:1,pass,nolog\""
        } else {
            rules
        },
        "x",
    )
    .unwrap();
    let hdrs = [
        ("Host", "www.demo.localhost"),
        (
            "User-Agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
        ),
        (
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        ("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8"),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Cookie", "sid=8f14e45fceea167a5a36dedd4bea2543; lang=zh-CN"),
        ("Connection", "keep-alive"),
    ];
    let run = || {
        let mut tx = e.transaction();
        tx.process_connection("203.0.113.7", 52344, "10.0.0.2", 443);
        tx.process_uri(b"GET", b"/news/2026/11/index.html", b"HTTP/1.1");
        for (k, v) in &hdrs {
            tx.add_request_header(k.as_bytes(), v.as_bytes());
        }
        assert!(tx.process_request_headers().is_none());
        tx.process_request_body();
        tx.process_logging();
    };
    for _ in 0..1000 {
        run();
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..100000 {
            run();
        }
        best = best.min(t.elapsed().as_secs_f64() / 100000.0 * 1e6);
    }
    println!("floor {best:.2} µs");
}
