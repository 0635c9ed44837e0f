//! Log search benchmark: the central access log filled with synthetic lines (SQLite, the
//! embedded default), then the admin's searches timed through the same code the “日志检索”
//! page runs (`monitor::logs::access`).
//!
//! Run: `cargo bench -p sitegroup-cms --bench logsearch`. Settings: `SITEGROUP_BENCH_LINES`
//! (default 10,000,000 lines over 30 days, 50 sites, 200,000 client addresses),
//! `SITEGROUP_BENCH_RUNS` (20 runs per query). Writes `target/bench/logsearch.md`.
//! Target (issue 8): every query well under a second.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sitegroup_cms::monitor::logs::{self, LogQuery};

const SITES: i32 = 50;
const ADDRESSES: u32 = 200_000;
const DAYS: i64 = 30;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn address(n: u32) -> String {
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

/// A skewed address: a few busy clients, a long tail.
fn pick_address(rng: &mut StdRng) -> u32 {
    let x: f64 = rng.r#gen();
    ((x * x * x) * f64::from(ADDRESSES)) as u32
}

const PATHS: &[&str] = &[
    "/",
    "/index.html",
    "/zwyw/",
    "/tzgg/",
    "/zcwj/",
    "/static/style.css",
    "/search/",
    "/rss.xml",
    "/media/2026/11/a.jpg",
    "/xxgk/",
    "/bsfw/",
    "/hdjl/",
];

fn fill(path: &std::path::Path, lines: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let mut rng = StdRng::seed_from_u64(8);
    let now = Utc::now().timestamp_micros();
    let span = DAYS * 86_400 * 1_000_000;
    let batch = 100_000;
    let mut done = 0;
    while done < lines {
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO access_log (node, spool, spool_offset, time, request_id, site_id, \
                 client_ip, method, host, path, query, status, bytes_in, bytes_out, duration_us, \
                 served_by, upstream, upstream_ms, waf, user_agent, referrer, tls_version) \
                 VALUES ('edge-1', 'access.log', ?1, ?2, ?3, ?4, ?5, 'GET', ?6, ?7, NULL, ?8, 0, \
                 4096, 900, 'published', NULL, NULL, ?9, 'Mozilla/5.0', '', NULL)",
            )?;
            for i in done..(done + batch).min(lines) {
                // time grows with i: the log is appended in order
                let t = now - span + (span / lines as i64) * i as i64;
                let time = chrono::DateTime::from_timestamp_micros(t)
                    .unwrap()
                    .format("%Y-%m-%d %H:%M:%S%.6f+00:00")
                    .to_string();
                let site = rng.gen_range(1..=SITES);
                let roll: u32 = rng.gen_range(0..1000);
                let status = match roll {
                    0..=4 => 500,
                    5..=39 => 404,
                    40..=44 => 403,
                    45..=59 => 304,
                    _ => 200,
                };
                let waf = if roll < 5 {
                    format!(
                        "blocked {}",
                        [942100, 941100, 930120, 932160][rng.gen_range(0..4)]
                    )
                } else {
                    String::new()
                };
                st.execute(rusqlite::params![
                    i as i64 * 200,
                    time,
                    format!("{:032x}", rng.r#gen::<u128>()),
                    site,
                    address(pick_address(&mut rng)),
                    format!("site{site}.example.gov.cn"),
                    PATHS[rng.gen_range(0..PATHS.len())],
                    status,
                    waf,
                ])?;
            }
        }
        tx.commit()?;
        done = (done + batch).min(lines);
        if done % 1_000_000 == 0 {
            eprintln!("  {done} lines ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    conn.execute_batch("ANALYZE")?;
    Ok(started.elapsed())
}

struct Row {
    name: &'static str,
    runs: Vec<Duration>,
    found: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let lines = env_usize("SITEGROUP_BENCH_LINES", 10_000_000);
    let runs = env_usize("SITEGROUP_BENCH_RUNS", 20);
    let dir = tempfile::tempdir()?;
    let url = sitegroup_cms::db::sqlite_url(dir.path());
    let db = sitegroup_cms::db::connect(&url).await?;
    db.close().await?;
    let file = dir.path().join("sitegroup.db");
    eprintln!("filling {} with {lines} access lines…", file.display());
    let fill_time = fill(&file, lines)?;
    let size = std::fs::metadata(&file)?.len();
    let db = sitegroup_cms::db::connect(&url).await?;
    let now = Utc::now();
    let mut rng = StdRng::seed_from_u64(9);
    // A request id that exists, picked from the middle of the log.
    let known_id: String = {
        let conn = rusqlite::Connection::open(&file)?;
        conn.query_row(
            "SELECT request_id FROM access_log WHERE id = ?1",
            [lines as i64 / 2],
            |r| r.get(0),
        )?
    };
    type Make = Box<dyn Fn(&mut StdRng) -> LogQuery>;
    let day = move |d: i64| Some(now - chrono::Duration::days(d));
    let cases: Vec<(&'static str, Make)> = vec![
        (
            "newest 100, last 24 h (the page as opened)",
            Box::new(move |_| LogQuery {
                from: day(1),
                ..Default::default()
            }),
        ),
        (
            "one client address, last 7 days",
            Box::new(move |r| LogQuery {
                from: day(7),
                client_ip: address(pick_address(r)),
                ..Default::default()
            }),
        ),
        (
            "a rare client address, all 30 days",
            Box::new(move |r| LogQuery {
                from: day(30),
                client_ip: address(r.gen_range(ADDRESSES - 1000..ADDRESSES)),
                ..Default::default()
            }),
        ),
        (
            "one request ID, all 30 days",
            Box::new(move |_| LogQuery {
                from: day(30),
                request_id: known_id.clone(),
                ..Default::default()
            }),
        ),
        (
            "one site, status 5xx, last 7 days",
            Box::new(move |r| LogQuery {
                from: day(7),
                site_id: Some(r.gen_range(1..=SITES)),
                status: "5xx".into(),
                ..Default::default()
            }),
        ),
        (
            "path prefix /tzgg/, last 24 h",
            Box::new(move |_| LogQuery {
                from: day(1),
                path: "/tzgg/".into(),
                ..Default::default()
            }),
        ),
        (
            "WAF rule 942100, last 24 h",
            Box::new(move |_| LogQuery {
                from: day(1),
                rule: "942100".into(),
                ..Default::default()
            }),
        ),
        (
            "status 404, one site, last 24 h",
            Box::new(move |r| LogQuery {
                from: day(1),
                site_id: Some(r.gen_range(1..=SITES)),
                status: "404".into(),
                ..Default::default()
            }),
        ),
    ];
    let mut rows = Vec::new();
    for (name, make) in &cases {
        let mut row = Row {
            name,
            runs: Vec::new(),
            found: 0,
        };
        for _ in 0..runs {
            let q = make(&mut rng);
            let t = Instant::now();
            let found = logs::access(&db, &q, None, logs::PAGE).await?;
            row.runs.push(t.elapsed());
            row.found = row.found.max(found.len());
        }
        row.runs.sort();
        eprintln!("  {name}: p50 {:?}", row.runs[row.runs.len() / 2]);
        rows.push(row);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut out = format!(
        "# Log search benchmark\n\n{lines} access lines over {DAYS} days, {SITES} sites, {ADDRESSES} client addresses; \
         SQLite ({:.1} GB, filled in {:.0} s). {runs} runs per query, 100 rows per page.\n\n\
         | query | p50 ms | p99 ms | max ms | rows (max) |\n|---|---:|---:|---:|---:|\n",
        size as f64 / 1e9,
        fill_time.as_secs_f64()
    );
    for r in &rows {
        let p99 = r.runs[((r.runs.len() as f64 * 0.99).ceil() as usize).min(r.runs.len()) - 1];
        out.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.1} | {} |\n",
            r.name,
            ms(r.runs[r.runs.len() / 2]),
            ms(p99),
            ms(*r.runs.last().unwrap()),
            r.found
        ));
    }
    print!("{out}");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&target)?;
    std::fs::write(target.join("logsearch.md"), &out)?;
    Ok(())
}
