//! Tamper watch for legacy sites (旧网站页面基线): the platform cannot re-render a page it did
//! not publish, so it watches chosen pages instead. Each watched page has a baseline — its
//! text when the baseline was taken, with the ignore-regions (regular expressions over the
//! HTML: visit counters, dates, rotating news) left out — and every tamper round reads the
//! page again through the gateway, as visitors get it, and compares. When the changed share
//! of the text reaches the page's threshold, a `tamper` alert opens with the first changes;
//! it closes when the page is back, or when someone who knows the change is genuine takes the
//! baseline again.

use std::time::Duration;

use chrono::Utc;
use regex::{Regex, RegexBuilder};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};

use super::Settings;
use super::alerts::{self, NewAlert, Severity};
use super::probe::{ThroughGateway, through_gateway};
use crate::db::entities::{page_baseline, site};
use crate::state::SharedState;

/// Default share of changed text that raises the alert.
pub const DEFAULT_THRESHOLD_PCT: i32 = 10;
/// Pages larger than this are not compared.
const MAX_PAGE_BYTES: usize = 4 << 20;
/// Characters of changes kept for the alert and the page.
const SAMPLE_CHARS: usize = 300;

/// Compiles the ignore-regions, one expression per line (`.` also matches line ends). The
/// error names each line that does not compile.
pub fn compile(regions: &str) -> Result<Vec<Regex>, String> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (n, line) in regions.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match RegexBuilder::new(line)
            .dot_matches_new_line(true)
            .size_limit(1 << 20)
            .build()
        {
            Ok(r) => out.push(r),
            Err(e) => problems.push(format!(
                "忽略区域第 {} 行“{line}”不是有效的正则表达式：{}",
                n + 1,
                e.to_string().lines().last().unwrap_or_default()
            )),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems.join(" "))
    }
}

/// A page's text for comparison: the ignore-regions removed from the HTML, then one line per
/// block (paragraph, heading, list item, table row, line break).
pub fn page_text(html: &str, ignore: &[Regex]) -> String {
    let mut html = html.to_string();
    for r in ignore {
        html = r.replace_all(&html, " ").into_owned();
    }
    static BLOCK: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let block = BLOCK.get_or_init(|| {
        Regex::new(r"(?i)</(p|div|li|h[1-6]|tr|td|th|section|article|header|footer|ul|ol|table|dd|dt)\s*>|<br\s*/?>")
            .expect("a fixed expression")
    });
    block
        .split(&html)
        .map(|piece| crate::search::text::html_to_text(piece).trim().to_string())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The changed share of `new` against `old` (percent, by character), and the first changes.
pub fn compare(old: &str, new: &str) -> (f64, String) {
    if old == new {
        return (0.0, String::new());
    }
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .timeout(Duration::from_secs(2))
        .diff_chars(old, new);
    let pct = ((1.0 - f64::from(diff.ratio())) * 1000.0).round() / 10.0;
    let mut sample = String::new();
    let mut run: Option<(similar::ChangeTag, String)> = None;
    let flush = |run: &mut Option<(similar::ChangeTag, String)>, sample: &mut String| {
        if let Some((tag, text)) = run.take() {
            let text = text.trim();
            if text.is_empty() {
                return;
            }
            if !sample.is_empty() {
                sample.push('；');
            }
            sample.push_str(if tag == similar::ChangeTag::Delete {
                "删除“"
            } else {
                "新增“"
            });
            sample.push_str(&text.replace('\n', " "));
            sample.push('”');
        }
    };
    for change in diff.iter_all_changes() {
        if sample.chars().count() >= SAMPLE_CHARS {
            break;
        }
        let tag = change.tag();
        if tag == similar::ChangeTag::Equal {
            flush(&mut run, &mut sample);
            continue;
        }
        match &mut run {
            Some((t, text)) if *t == tag => text.push_str(&change.to_string_lossy()),
            _ => {
                flush(&mut run, &mut sample);
                run = Some((tag, change.to_string_lossy().into_owned()));
            }
        }
    }
    flush(&mut run, &mut sample);
    if sample.chars().count() > SAMPLE_CHARS {
        sample = sample.chars().take(SAMPLE_CHARS).collect::<String>() + "…";
    }
    (pct, sample)
}

/// Reads a watched page through the gateway; its text, or why it could not be read.
async fn read(gw: &ThroughGateway, b: &page_baseline::Model) -> Result<String, String> {
    let origin = gw
        .origin_of(b.site_id)
        .ok_or_else(|| "没有可经由的网关或网站没有域名".to_string())?;
    let ignore = compile(&b.ignore_regions)?;
    let url = format!("{origin}{}", b.path);
    let r = gw
        .client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("无法读取 {url}：{e}"))?;
    let status = r.status();
    if !status.is_success() {
        return Err(format!("{url} 返回 HTTP {}", status.as_u16()));
    }
    let body = r
        .bytes()
        .await
        .map_err(|e| format!("无法读取 {url}：{e}"))?;
    if body.len() > MAX_PAGE_BYTES {
        return Err(format!("{url} 超过 4 MiB，不作比对"));
    }
    Ok(page_text(&String::from_utf8_lossy(&body), &ignore))
}

/// The gateway client the baselines are read through.
async fn gateway(state: &SharedState, settings: &Settings) -> anyhow::Result<ThroughGateway> {
    through_gateway(
        state,
        settings,
        Duration::from_secs(settings.probe_timeout_secs.clamp(1, 30)),
        "sitegroup-baseline/1",
    )
    .await
}

/// Takes (or takes again) a page's baseline now.
pub async fn take(
    state: &SharedState,
    settings: &Settings,
    b: page_baseline::Model,
) -> anyhow::Result<Result<(), String>> {
    let gw = gateway(state, settings).await?;
    let key = format!("page_change:{}", b.id);
    let now = Utc::now();
    let result = read(&gw, &b).await;
    let mut a = b.into_active_model();
    a.checked_at = Set(Some(now));
    match &result {
        Ok(text) => {
            a.baseline_text = Set(text.clone());
            a.taken_at = Set(Some(now));
            a.change_pct = Set(Some(0.0));
            a.diff_sample = Set(String::new());
            a.last_error = Set(String::new());
        }
        Err(e) => a.last_error = Set(e.clone()),
    }
    a.update(&state.db).await?;
    if result.is_ok() {
        alerts::resolve(state, &key, "已重新采集页面基线").await?;
    }
    Ok(result.map(|_| ()))
}

/// Compares every watched page with its baseline (taking the baselines not taken yet).
pub async fn round(state: &SharedState, settings: &Settings) -> anyhow::Result<()> {
    let pages = page_baseline::Entity::find().all(&state.db).await?;
    if pages.is_empty() {
        return Ok(());
    }
    let gw = gateway(state, settings).await?;
    let names: std::collections::HashMap<i32, String> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    for b in pages {
        let key = format!("page_change:{}", b.id);
        let now = Utc::now();
        let result = read(&gw, &b).await;
        let (id, site_id, path, threshold) = (b.id, b.site_id, b.path.clone(), b.threshold_pct);
        let untaken = b.taken_at.is_none();
        let baseline = b.baseline_text.clone();
        let mut a = b.into_active_model();
        a.checked_at = Set(Some(now));
        match result {
            Err(e) => {
                // An unreachable site is the availability probe's to report.
                tracing::warn!(baseline = id, "page baseline not compared: {e}");
                a.last_error = Set(e);
                a.update(&state.db).await?;
            }
            Ok(text) if untaken => {
                a.baseline_text = Set(text);
                a.taken_at = Set(Some(now));
                a.change_pct = Set(Some(0.0));
                a.last_error = Set(String::new());
                a.update(&state.db).await?;
            }
            Ok(text) => {
                let (pct, sample) = compare(&baseline, &text);
                a.change_pct = Set(Some(pct));
                a.diff_sample = Set(sample.clone());
                a.last_error = Set(String::new());
                a.update(&state.db).await?;
                if pct >= f64::from(threshold) {
                    let site = names.get(&site_id).cloned().unwrap_or_default();
                    alerts::raise(
                        state,
                        NewAlert {
                            site_id: Some(site_id),
                            kind: "tamper",
                            key,
                            severity: Severity::Critical,
                            title: format!("{site}页面 {path} 与基线相比变化 {pct}%"),
                            detail: format!(
                                "变化 {pct}%（阈值 {threshold}%）。{sample}。如为正常更新，请在“页面基线”中重新采集基线。"
                            ),
                        },
                    )
                    .await?;
                } else {
                    alerts::resolve(state, &key, &format!("页面与基线相比变化 {pct}%，低于阈值"))
                        .await?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "<html><body><h1>示范县人民政府</h1><div id=\"visits\">访问量：12345</div>\
        <ul><li>关于做好防汛工作的通知</li><li>2026年预算公开</li></ul>\
        <p>版权所有 示范县人民政府办公室</p><script>var t = 1;</script></body></html>";

    #[test]
    fn ignore_regions_are_left_out_and_blocks_become_lines() {
        let ignore = compile("<div id=\"visits\">.*?</div>\n\n").unwrap();
        assert_eq!(
            page_text(PAGE, &ignore),
            "示范县人民政府\n关于做好防汛工作的通知\n2026年预算公开\n版权所有 示范县人民政府办公室"
        );
        let err = compile("ok\n(unclosed").unwrap_err();
        assert!(err.contains("第 2 行“(unclosed”"), "{err}");
    }

    #[test]
    fn the_change_share_and_what_changed() {
        let ignore = compile("<div id=\"visits\">.*?</div>").unwrap();
        let base = page_text(PAGE, &ignore);
        // The counter changes: ignored, no change at all.
        let counted = PAGE.replace("12345", "12399");
        assert_eq!(compare(&base, &page_text(&counted, &ignore)).0, 0.0);
        // The page defaced: most of it replaced.
        let defaced = "<html><body><h1>Hacked by someone</h1><p>owned</p></body></html>";
        let (pct, sample) = compare(&base, &page_text(defaced, &ignore));
        assert!(pct > 80.0, "{pct}");
        assert!(sample.contains("新增“"), "{sample}");
        // One notice added: a small change.
        let added = PAGE.replace(
            "<li>2026年预算公开</li>",
            "<li>2026年预算公开</li><li>招聘公告</li>",
        );
        let (pct, sample) = compare(&base, &page_text(&added, &ignore));
        assert!(pct > 0.0 && pct < 10.0, "{pct}");
        assert!(sample.contains("招聘公告"), "{sample}");
    }
}
