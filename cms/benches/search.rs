//! Search benchmark: a synthetic Chinese corpus drawn from jieba's dictionary word frequencies,
//! indexed with the platform's search index and, as the comparison, SQLite FTS5 over the same
//! text segmented by jieba.
//!
//! Run: `cargo bench -p sitegroup-cms --bench search`. Prints indexing throughput, index size
//! and query latency (p50 / p99 / mean over the queries) for the whole group and one site, with
//! and without snippets, for both engines. Targets (issue 6): p99 ≤ 5 ms without snippets,
//! ≤ 15 ms with, and at least 10× faster than FTS5.
//!
//! Settings: `SITEGROUP_BENCH_DOCS` (default 100000), `SITEGROUP_BENCH_QUERIES` (1000),
//! `SITEGROUP_JIEBA_DICT` (the dictionary file; found through `cargo metadata` by default),
//! `SITEGROUP_BENCH_SKIP_FTS=1` (our side only, while working on it).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sitegroup_cms::search::{Audience, Document, SearchIndex, SearchQuery, TantivyIndex, segment};

const SITES: i32 = 50;
const COLUMNS_PER_SITE: i32 = 8;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// jieba-rs's own dictionary file (`word freq tag` lines).
fn dict_path() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("SITEGROUP_JIEBA_DICT") {
        return Ok(p.into());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let manifest = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "jieba-rs")
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or_else(|| {
            anyhow::anyhow!("jieba-rs not found by cargo metadata; set SITEGROUP_JIEBA_DICT")
        })?;
    Ok(PathBuf::from(manifest)
        .parent()
        .unwrap()
        .join("src/data/dict.txt"))
}

/// Words and a cumulative frequency table to draw from.
struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<u64>,
}

impl Vocabulary {
    fn load(path: &PathBuf, min_chars: usize) -> anyhow::Result<Vocabulary> {
        let text = std::fs::read_to_string(path)?;
        let mut words = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0u64;
        for line in text.lines() {
            let mut parts = line.split(' ');
            let (Some(w), Some(f)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Ok(f) = f.parse::<u64>() else { continue };
            // Chinese words only (the dictionary also holds Latin and digits).
            if w.chars().count() < min_chars
                || !w.chars().all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
            {
                continue;
            }
            total += f;
            words.push(w.to_string());
            cumulative.push(total);
        }
        Ok(Vocabulary { words, cumulative })
    }

    fn draw(&self, rng: &mut StdRng) -> &str {
        let x = rng.gen_range(0..*self.cumulative.last().unwrap());
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.words[i.min(self.words.len() - 1)]
    }

    fn sentence(&self, rng: &mut StdRng, words: usize) -> String {
        let mut s = String::new();
        for i in 0..words {
            s.push_str(self.draw(rng));
            if i + 1 < words && rng.gen_ratio(1, 8) {
                s.push('，');
            }
        }
        s
    }
}

fn corpus(v: &Vocabulary, n: usize) -> Vec<Document> {
    let mut rng = StdRng::seed_from_u64(6);
    let start = Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap();
    (1..=n)
        .map(|i| {
            let site = rng.gen_range(1..=SITES);
            let mut body = String::new();
            for _ in 0..rng.gen_range(20..60) {
                let words = rng.gen_range(6..16);
                body.push_str(&v.sentence(&mut rng, words));
                body.push('。');
            }
            let gk = rng.gen_ratio(1, 10);
            Document {
                id: i as i32,
                site_id: site,
                column_id: site * 100 + rng.gen_range(0..COLUMNS_PER_SITE),
                kind: "article".into(),
                status: "published".into(),
                public: true,
                staff: true,
                date: start + chrono::Duration::minutes(rng.gen_range(0..1_500_000)),
                title: {
                    let words = rng.gen_range(4..10);
                    v.sentence(&mut rng, words)
                },
                body,
                doc_no: if gk {
                    format!(
                        "示政发〔{}〕{}号",
                        rng.gen_range(2023..2027),
                        rng.gen_range(1..200)
                    )
                } else {
                    String::new()
                },
                issuer: if gk {
                    "示范市人民政府办公室".into()
                } else {
                    String::new()
                },
                link_url: String::new(),
            }
        })
        .collect()
}

/// Query texts: one word (60 %), two words (30 %), a quoted two-word phrase taken from a
/// document's title (10 %). Words are drawn by dictionary frequency among words of two or more
/// characters.
fn queries(v: &Vocabulary, docs: &[Document], n: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..n)
        .map(|_| match rng.gen_range(0..10) {
            0..6 => v.draw(&mut rng).to_string(),
            6..9 => format!("{} {}", v.draw(&mut rng), v.draw(&mut rng)),
            _ => {
                // Two neighbouring words of a title, each of two or more characters, as people
                // quote phrases ("政府信息公开"), not pairs of particles ("在和").
                for _ in 0..20 {
                    let d = &docs[rng.gen_range(0..docs.len())];
                    let words: Vec<String> = segment::for_query(&d.title)
                        .into_iter()
                        .map(|p| p.text)
                        .collect();
                    let pairs: Vec<usize> = (0..words.len().saturating_sub(1))
                        .filter(|&i| {
                            words[i].chars().count() >= 2 && words[i + 1].chars().count() >= 2
                        })
                        .collect();
                    if let Some(&i) = pairs.get(rng.gen_range(0..pairs.len().max(1))) {
                        return format!("\"{}{}\"", words[i], words[i + 1]);
                    }
                }
                v.draw(&mut rng).to_string()
            }
        })
        .collect()
}

struct Stats {
    p50: Duration,
    p99: Duration,
    mean: Duration,
    hits: u64,
}

fn stats(mut times: Vec<Duration>, hits: u64) -> Stats {
    times.sort();
    let n = times.len();
    Stats {
        p50: times[n / 2],
        p99: times[(n * 99 / 100).min(n - 1)],
        mean: times.iter().sum::<Duration>() / n as u32,
        hits,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

fn run_ours(index: &TantivyIndex, qs: &[String], site_filter: bool, snippets: bool) -> Stats {
    let mut rng = StdRng::seed_from_u64(8);
    let mut times = Vec::with_capacity(qs.len());
    let mut hits = 0;
    for q in qs {
        // As the platform asks: every site but the (here: no) sites not running.
        let mut query = SearchQuery::new(
            q,
            Audience::Public {
                hidden_sites: Vec::new(),
            },
        );
        query.snippets = snippets;
        query.per_page = 10;
        if site_filter {
            query.site = Some(rng.gen_range(1..=SITES));
        }
        let t = Instant::now();
        let r = index.search(&query).unwrap();
        times.push(t.elapsed());
        hits += r.total;
    }
    if std::env::var_os("SITEGROUP_BENCH_SLOWEST").is_some() {
        let mut slow: Vec<(Duration, &String)> = times.iter().copied().zip(qs).collect();
        slow.sort();
        for (t, q) in slow.iter().rev().take(12) {
            eprintln!("    slow: {} ms  {q}", ms(*t));
        }
    }
    stats(times, hits)
}

/// The FTS5 MATCH expression for a query: each word's jieba tokens as a phrase (implicit AND
/// between words), quoted phrases as phrases.
fn fts_match(q: &str) -> Option<String> {
    let parsed = sitegroup_cms::search::ParsedQuery::parse(q);
    let groups: Vec<String> = parsed
        .required
        .iter()
        .map(|g| {
            let toks: Vec<String> = g.pieces.iter().map(|p| p.text.replace('"', "")).collect();
            if g.phrase {
                format!("\"{}\"", toks.join(" "))
            } else {
                toks.iter()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        })
        .collect();
    (!groups.is_empty()).then(|| groups.join(" "))
}

fn run_fts(db: &rusqlite::Connection, qs: &[String], site_filter: bool, snippets: bool) -> Stats {
    let mut rng = StdRng::seed_from_u64(8);
    let mut times = Vec::with_capacity(qs.len());
    let mut hits = 0u64;
    let site_clause = if site_filter {
        " AND site = ?2"
    } else {
        " AND ?2 = ?2"
    };
    let top = if snippets {
        format!(
            "SELECT rowid, title, snippet(docs, 1, '<em>', '</em>', '…', 24) FROM docs WHERE docs MATCH ?1{site_clause} ORDER BY rank LIMIT 10"
        )
    } else {
        format!(
            "SELECT rowid, title, '' FROM docs WHERE docs MATCH ?1{site_clause} ORDER BY rank LIMIT 10"
        )
    };
    let count = format!("SELECT count(*) FROM docs WHERE docs MATCH ?1{site_clause}");
    let mut top = db.prepare(&top).unwrap();
    let mut count = db.prepare(&count).unwrap();
    for q in qs {
        let site = rng.gen_range(1..=SITES);
        let Some(m) = fts_match(q) else { continue };
        let t = Instant::now();
        let rows: Vec<(i64, String, String)> = top
            .query_map(rusqlite::params![m, site], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let n: i64 = count
            .query_row(rusqlite::params![m, site], |r| r.get(0))
            .unwrap();
        times.push(t.elapsed());
        std::hint::black_box(rows);
        hits += n as u64;
    }
    stats(times, hits)
}

fn main() -> anyhow::Result<()> {
    let n = env_usize("SITEGROUP_BENCH_DOCS", 100_000);
    let nq = env_usize("SITEGROUP_BENCH_QUERIES", 1000);
    // Only for working on our side: leaves the comparison out.
    let skip_fts = std::env::var_os("SITEGROUP_BENCH_SKIP_FTS").is_some();
    let dict = dict_path()?;
    let vocab = Vocabulary::load(&dict, 1)?;
    let query_vocab = Vocabulary::load(&dict, 2)?;
    segment::warm_up();
    let t = Instant::now();
    let docs = corpus(&vocab, n);
    let text_bytes: usize = docs.iter().map(|d| d.title.len() + d.body.len()).sum();
    println!(
        "corpus: {n} articles, {:.1} MB of text (avg {} chars), generated in {:.1} s from {} words of {}",
        text_bytes as f64 / 1e6,
        docs.iter().map(|d| d.body.chars().count()).sum::<usize>() / n,
        t.elapsed().as_secs_f64(),
        vocab.words.len(),
        dict.display()
    );
    let qs = queries(&query_vocab, &docs, nq);

    // Ours.
    let dir = tempfile::tempdir()?;
    let index = TantivyIndex::create(dir.path())?;
    let t = Instant::now();
    for chunk in docs.chunks(5_000) {
        index.update(false, &[], chunk.to_vec(), false)?;
    }
    index.update(false, &[], Vec::new(), true)?;
    let ours_index = t.elapsed();
    let ours_size = dir_size(dir.path());
    eprintln!("  (index: {} segments)", index.segments());

    // FTS5 over the same text, segmented by jieba (search mode, as ours indexes it).
    let fts_dir = tempfile::tempdir()?;
    let db = rusqlite::Connection::open(fts_dir.path().join("fts.db"))?;
    db.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
         CREATE VIRTUAL TABLE docs USING fts5(title, body, site UNINDEXED, date UNINDEXED, tokenize='unicode61');",
    )?;
    let t = Instant::now();
    if !skip_fts {
        let tx = db.unchecked_transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO docs(rowid, title, body, site, date) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let seg = |s: &str| {
                segment::for_index(s)
                    .into_iter()
                    .map(|p| p.text)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            for d in &docs {
                insert.execute(rusqlite::params![
                    d.id,
                    seg(&d.title),
                    seg(&d.body),
                    d.site_id,
                    d.date.timestamp()
                ])?;
            }
        }
        tx.commit()?;
    }
    let fts_index = t.elapsed();
    let fts_size = dir_size(fts_dir.path());

    println!();
    println!("| | sitegroup (tantivy + jieba) | SQLite FTS5 (jieba-segmented) |");
    println!("|---|---|---|");
    println!(
        "| indexing | {:.1} s — {:.0} docs/s, {:.2} MB/s | {:.1} s — {:.0} docs/s (incl. segmentation) |",
        ours_index.as_secs_f64(),
        n as f64 / ours_index.as_secs_f64(),
        text_bytes as f64 / 1e6 / ours_index.as_secs_f64(),
        fts_index.as_secs_f64(),
        n as f64 / fts_index.as_secs_f64()
    );
    println!(
        "| index size | {:.0} MB ({:.2}× the text) | {:.0} MB |",
        ours_size as f64 / 1e6,
        ours_size as f64 / text_bytes as f64,
        fts_size as f64 / 1e6
    );
    // How soon a change is searchable: replace one item's document and commit, as the
    // indexing task does for a single edit.
    let mut visible = Vec::new();
    for d in docs.iter().step_by(docs.len() / 20 + 1).take(20) {
        let mut changed = d.clone();
        changed.title.push_str("更新");
        let t = Instant::now();
        index.update(false, &[changed.id], vec![changed], true)?;
        visible.push(t.elapsed());
    }
    let visible = stats(visible, 0);
    println!(
        "| one edit searchable after (index update + commit + reload) | p50 {} ms, max {} ms | — |",
        ms(visible.p50),
        ms(visible.p99)
    );
    println!();
    println!(
        "{nq} queries (60 % one word, 30 % two words, 10 % quoted two-word phrases from titles), top 10 + total count; latency in ms:"
    );
    println!();
    println!(
        "| case | ours p50 | ours p99 | ours mean | FTS5 p50 | FTS5 p99 | FTS5 mean | speed-up (mean) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (label, site, snippets) in [
        ("whole group, no snippets", false, false),
        ("whole group, snippets", false, true),
        ("one site, no snippets", true, false),
        ("one site, snippets", true, true),
    ] {
        // Warm both once.
        let _ = run_ours(&index, &qs[..qs.len().min(50)], site, snippets);
        let ours = run_ours(&index, &qs, site, snippets);
        let fts = if skip_fts {
            stats(vec![Duration::from_secs(1)], 0)
        } else {
            let _ = run_fts(&db, &qs[..qs.len().min(50)], site, snippets);
            run_fts(&db, &qs, site, snippets)
        };
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} | {:.0}× |",
            ms(ours.p50),
            ms(ours.p99),
            ms(ours.mean),
            ms(fts.p50),
            ms(fts.p99),
            ms(fts.mean),
            fts.mean.as_secs_f64() / ours.mean.as_secs_f64()
        );
        eprintln!(
            "  ({label}: total hits ours {} / FTS5 {})",
            ours.hits, fts.hits
        );
    }
    Ok(())
}
