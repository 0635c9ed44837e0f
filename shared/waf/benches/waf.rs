//! WAF benchmark: per-request evaluation time with CRS v4 at paranoia level 1 (blocking mode),
//! on one core, for typical requests; plus rule-set load time and engine memory.
//!
//! Run: `cargo bench -p sitegroup-waf --bench waf` (CRS from `../shared/corpora/crs-v4` or
//! `SITEGROUP_CRS_DIR`; `SITEGROUP_BENCH_BUILTIN=1` measures the built-in pack instead).
//! Targets with CRS: clean GET ≤ 20 µs, 1 KB form ≤ 60 µs, 10 KB JSON ≤ 200 µs, memory ≤ 64 MB.
//! Runs on the allocator of the `sitegroup` program (mimalloc, transparent huge pages off).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sitegroup_waf::{Engine, ftw};

/// The allocator the `sitegroup` program runs the engine on (`sitegroup_cms::Allocator`),
/// counting the bytes held: the rule set's own size, apart from the pages of code and of the
/// allocator's free lists that its build touched (which the RSS counts too).
#[global_allocator]
static GLOBAL: Counting = Counting;

struct Counting;

static HELD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: every call goes to mimalloc unchanged; the counter is only added to and read.
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        HELD.fetch_add(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        HELD.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        HELD.fetch_add(new_size, std::sync::atomic::Ordering::Relaxed);
        HELD.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

struct Request {
    name: &'static str,
    method: &'static [u8],
    uri: Vec<u8>,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Whether the request is a visitor going from page to page: the `n`th request of a
    /// run has its own path, query and Referer, new to the engine's memo of request-head
    /// values, while the browser's other headers repeat. They are made as each request is
    /// sent (a few hundred nanoseconds of the time measured): made in advance, 100,000 of
    /// them slowed the other rows 2.5 times, through the allocator's state once freed.
    pages: bool,
}

fn browser_headers() -> Vec<(&'static str, String)> {
    vec![
        ("Host", "www.demo.localhost".into()),
        (
            "User-Agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36".into(),
        ),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8".into()),
        ("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8".into()),
        ("Accept-Encoding", "gzip, deflate, br".into()),
        ("Cookie", "sid=8f14e45fceea167a5a36dedd4bea2543; lang=zh-CN".into()),
        ("Connection", "keep-alive".into()),
    ]
}

fn requests() -> Vec<Request> {
    let mut form = String::from("title=");
    while form.len() < 1000 {
        form.push_str("%E5%85%B3%E4%BA%8E%E5%BC%80%E5%B1%95%E5%B7%A5%E4%BD%9C+");
    }
    form.push_str("&author=zhang&column=12&submit=%E6%8F%90%E4%BA%A4");
    let mut json = String::from("{\"items\":[");
    let mut i = 0;
    while json.len() < 10_000 {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&format!(
            "{{\"id\":{i},\"title\":\"第{i}号通知：关于做好冬季安全生产工作的通知\",\"tags\":[\"通知\",\"安全\"],\"views\":{}}}",
            i * 37
        ));
        i += 1;
    }
    json.push_str("]}");
    let boundary = "----sitegroupbench";
    let mut multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n年度报告\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"report.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    let mut x: u32 = 12345;
    while multipart.len() < 1_000_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        multipart.push((x >> 16) as u8);
    }
    multipart.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());

    let with = |extra: Vec<(&'static str, String)>| {
        let mut h = browser_headers();
        h.extend(extra);
        h
    };
    vec![
        Request {
            name: "clean GET",
            method: b"GET",
            uri: b"/news/2026/11/index.html".to_vec(),
            headers: browser_headers(),
            body: Vec::new(),
            pages: false,
        },
        Request {
            name: "new page each time (clean GET)",
            method: b"GET",
            uri: Vec::new(),
            headers: browser_headers(),
            body: Vec::new(),
            pages: true,
        },
        Request {
            name: "GET, 5 query params (Chinese)",
            method: b"GET",
            uri: "/search?q=%E6%95%99%E8%82%B2%E5%B1%80+%E6%8B%9B%E7%94%9F&site=edu&page=2&sort=date&from=2026-01-01"
                .as_bytes()
                .to_vec(),
            headers: browser_headers(),
            body: Vec::new(),
            pages: false,
        },
        Request {
            name: "1 KB urlencoded form",
            method: b"POST",
            uri: b"/guestbook/submit".to_vec(),
            headers: with(vec![
                ("Content-Type", "application/x-www-form-urlencoded".into()),
                ("Content-Length", form.len().to_string()),
            ]),
            body: form.into_bytes(),
            pages: false,
        },
        Request {
            name: "10 KB JSON",
            method: b"POST",
            uri: b"/api/articles".to_vec(),
            headers: with(vec![
                ("Content-Type", "application/json".into()),
                ("Content-Length", json.len().to_string()),
            ]),
            body: json.into_bytes(),
            pages: false,
        },
        Request {
            name: "1 MB multipart upload",
            method: b"POST",
            uri: b"/upload".to_vec(),
            headers: with(vec![
                ("Content-Type", format!("multipart/form-data; boundary={boundary}")),
                ("Content-Length", multipart.len().to_string()),
            ]),
            body: multipart,
            pages: false,
        },
    ]
}

/// Runs request `r` (its `n`th page, if it has pages) through the phases; whether it was
/// blocked.
fn run(engine: &Engine, r: &Request, n: usize) -> bool {
    let mut tx = engine.transaction();
    tx.process_connection("203.0.113.7", 52344, "10.0.0.2", 443);
    let page = r.pages.then(|| {
        (
            format!("/news/2026/11/{n}.html?from=list&p={}", n % 7),
            format!("https://www.demo.localhost/news/2026/11/{}.html", n + 1),
        )
    });
    let uri = page.as_ref().map_or(&r.uri[..], |p| p.0.as_bytes());
    tx.process_uri(r.method, uri, b"HTTP/1.1");
    for (k, v) in &r.headers {
        tx.add_request_header(k.as_bytes(), v.as_bytes());
    }
    if let Some((_, referer)) = &page {
        tx.add_request_header(b"Referer", referer.as_bytes());
    }
    let mut blocked = tx.process_request_headers().is_some();
    if !blocked && !r.body.is_empty() {
        blocked = tx.append_request_body(&r.body).is_some();
    }
    if !blocked {
        blocked = tx.process_request_body().is_some();
    }
    tx.process_logging();
    blocked
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let dir = std::env::var_os("SITEGROUP_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/crs-v4")
        });
    let builtin_only = std::env::var_os("SITEGROUP_BENCH_BUILTIN").is_some();
    if !builtin_only && !dir.join("rules").is_dir() {
        eprintln!(
            "NOTICE: CRS not found at {} (set SITEGROUP_CRS_DIR, or SITEGROUP_BENCH_BUILTIN=1 \
             to measure the built-in rules); nothing to measure",
            dir.display()
        );
        return;
    }
    let before = rss_kib();
    let held_before = HELD.load(std::sync::atomic::Ordering::Relaxed);
    let t0 = Instant::now();
    // Blocking mode at paranoia level 1, as `sitegroup serve --waf-crs` runs it.
    let engine = if builtin_only {
        Engine::builtin()
    } else {
        ftw::load_rules(&dir, "SecRuleEngine On\n").expect("CRS loads")
    };
    let load = t0.elapsed();
    let after = rss_kib();
    let held = HELD
        .load(std::sync::atomic::Ordering::Relaxed)
        .saturating_sub(held_before);
    println!(
        "{}: {} rules (loaded in {:.0} ms)",
        if builtin_only {
            "built-in pack"
        } else {
            "CRS v4"
        },
        engine.rules().rule_count(),
        load.as_secs_f64() * 1e3
    );
    println!(
        "engine memory (RSS growth while loading): {:.1} MB, of which the rule set holds {:.1} MB",
        (after.saturating_sub(before)) as f64 / 1024.0,
        held as f64 / (1024.0 * 1024.0)
    );
    // The first transaction makes the plan for its start (see the engine's `plan` module).
    let t0 = Instant::now();
    black_box(run(&engine, &requests()[0], 0));
    println!(
        "first request (makes the plan): {:.1} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
    println!();
    println!("| request | per request | requests/s (1 core) | blocked |");
    println!("|---|---:|---:|---|");
    let only = std::env::var("SITEGROUP_BENCH_ONLY").ok();
    // Longer runs for profiling (`perf record`): SITEGROUP_BENCH_SECS=10.
    let secs: u64 = std::env::var("SITEGROUP_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    // A fixed number of untimed requests instead, for counting instructions (callgrind):
    // steadier than time on a shared machine. SITEGROUP_BENCH_ITERS=1000.
    let iters: Option<u32> = std::env::var("SITEGROUP_BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok());
    for r in requests() {
        if only.as_deref().is_some_and(|o| !r.name.starts_with(o)) {
            continue;
        }
        // Each request's position in its run (a new page each time for a request with pages).
        let mut count = 0usize;
        let mut next = || {
            count += 1;
            count
        };
        if let Some(n) = iters {
            for _ in 0..n {
                black_box(run(&engine, &r, next()));
            }
            println!("| {} | {n} requests |", r.name);
            continue;
        }
        // Warm up, then run for about a second (or SITEGROUP_BENCH_SECS) in batches.
        let blocked = run(&engine, &r, next());
        for _ in 0..20 {
            black_box(run(&engine, &r, next()));
        }
        // The fastest of several batches: the least disturbed by other work on the machine.
        let mut per = Duration::MAX;
        let batches = (5 * secs).max(1);
        for _ in 0..batches {
            let mut n = 0u32;
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(200) || n < 5 {
                black_box(run(&engine, &r, next()));
                n += 1;
            }
            per = per.min(start.elapsed() / n);
        }
        println!(
            "| {} | {:.1} µs | {:.0} | {} |",
            r.name,
            per.as_secs_f64() * 1e6,
            1.0 / per.as_secs_f64(),
            if blocked {
                "yes (false positive!)"
            } else {
                "no"
            }
        );
    }
}
