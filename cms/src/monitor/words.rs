//! Wrong and sensitive words (错敏词): a classified list kept by the platform administrators,
//! each word with a suggested correction, matched with one Aho-Corasick automaton over
//! normalised text — full-width letters and digits folded to ASCII, ASCII lower-cased, and
//! white space, zero-width characters and filler symbols dropped, so `截 止*目前` still reads
//! `截止目前`. Findings point back into the original text (for highlighting in place).
//!
//! Content is checked when it is saved: words of the categories the security team chose to
//! block stop the save (`AppError::Invalid` naming each word); the others come back as
//! warnings shown with the item.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use crate::db::entities::word_entry;

/// (code, label) of every category, in the requirements' order.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("leader", "领导人姓名职务"),
    ("body", "机构名称"),
    ("place", "地名"),
    ("political", "政治表述"),
    ("disgraced", "落马官员"),
    ("sensitive", "敏感词"),
    ("typo", "常见错别字"),
    ("secret", "涉密标识"),
];

pub fn category_label(code: &str) -> &str {
    CATEGORIES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| l)
}

/// The small illustrative starter list the platform ships (our own; units add theirs):
/// (category, word, suggestion).
pub const STARTER: &[(&str, &str, &str)] = &[
    ("typo", "截止目前", "截至目前"),
    ("typo", "截止到", "截至"),
    ("typo", "再接再励", "再接再厉"),
    ("typo", "按步就班", "按部就班"),
    ("typo", "一如继往", "一如既往"),
    ("typo", "迫不急待", "迫不及待"),
    ("typo", "既使", "即使"),
    ("typo", "不径而走", "不胫而走"),
    ("typo", "穿流不息", "川流不息"),
    ("typo", "默守成规", "墨守成规"),
    ("body", "中华人民共合国", "中华人民共和国"),
    ("body", "国务院总里", "国务院总理"),
    ("body", "全国人大常委员会", "全国人大常委会"),
    ("body", "国家发改革委", "国家发展改革委"),
    ("political", "一带一路战略", "“一带一路”倡议"),
    ("political", "十九大以来", "党的十九大以来"),
    ("secret", "绝密★", ""),
    ("secret", "机密★", ""),
    ("secret", "秘密★", ""),
    ("secret", "内部资料 注意保密", ""),
];

/// One word found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub word: String,
    pub category: String,
    pub category_label: String,
    pub suggestion: String,
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
    /// The original text as written (may differ from `word` by spaces or width).
    pub found: String,
    /// A few characters either side, for lists.
    pub context: String,
}

/// A compiled word list.
pub struct WordList {
    automaton: Option<AhoCorasick>,
    entries: Vec<(String, String, String)>,
}

/// Folds one character; None drops it.
fn fold(c: char) -> Option<char> {
    match c {
        '\u{200B}'..='\u{200D}' | '\u{FEFF}' | '\u{00AD}' => None,
        c if c.is_whitespace() => None,
        '*' | '#' | '·' | '•' | '_' | '|' | '~' | '＊' | '＃' | '｜' | '～' => None,
        '\u{FF01}'..='\u{FF5E}' => {
            char::from_u32(c as u32 - 0xFEE0).map(|a| a.to_ascii_lowercase())
        }
        c => Some(c.to_ascii_lowercase()),
    }
}

/// Normalised text and, per normalised byte, the byte offset of its character in `text`.
fn normalise(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if let Some(f) = fold(c) {
            let before = out.len();
            out.push(f);
            map.extend(std::iter::repeat_n(i, out.len() - before));
        }
    }
    (out, map)
}

impl WordList {
    /// (category, word, suggestion) entries; words that normalise to nothing are left out.
    pub fn new(entries: Vec<(String, String, String)>) -> WordList {
        let entries: Vec<_> = entries
            .into_iter()
            .filter(|(_, w, _)| !normalise(w).0.is_empty())
            .collect();
        let patterns: Vec<String> = entries.iter().map(|(_, w, _)| normalise(w).0).collect();
        let automaton = (!patterns.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .expect("plain literal patterns always build")
        });
        WordList { automaton, entries }
    }

    pub async fn load(db: &impl ConnectionTrait) -> Result<WordList, sea_orm::DbErr> {
        let rows = word_entry::Entity::find()
            .order_by_asc(word_entry::Column::Id)
            .all(db)
            .await?;
        Ok(WordList::new(
            rows.into_iter()
                .map(|r| (r.category, r.word, r.suggestion))
                .collect(),
        ))
    }

    /// Findings in an item's title, subtitle, summary and body (as text).
    pub fn find_in_item(
        &self,
        title: &str,
        subtitle: &str,
        summary: &str,
        body_html: &str,
    ) -> Vec<Finding> {
        let mut found = Vec::new();
        for text in [title, subtitle, summary] {
            found.extend(self.find(text));
        }
        found.extend(self.find(&crate::search::text::html_to_text(body_html)));
        found
    }

    pub fn find(&self, text: &str) -> Vec<Finding> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        let (norm, map) = normalise(text);
        ac.find_iter(&norm)
            .map(|m| {
                let (category, word, suggestion) = &self.entries[m.pattern().as_usize()];
                let start = map[m.start()];
                let last = map[m.end() - 1];
                let end = last + text[last..].chars().next().map_or(0, char::len_utf8);
                Finding {
                    word: word.clone(),
                    category: category.clone(),
                    category_label: category_label(category).to_string(),
                    suggestion: suggestion.clone(),
                    start,
                    end,
                    found: text[start..end].to_string(),
                    context: context(text, start, end),
                }
            })
            .collect()
    }
}

/// Where the word is in a [`PageWord::context`]: between these two characters (they cannot
/// come from a page: they are removed from its text first).
pub const MARK_START: char = '\u{2}';
pub const MARK_END: char = '\u{3}';

/// A listed word on a page, once per word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageWord {
    pub word: String,
    pub category: String,
    pub suggestion: String,
    /// As written on the page.
    pub found: String,
    /// Up to 20 characters either side, the word between [`MARK_START`] and [`MARK_END`].
    pub context: String,
}

impl WordList {
    /// The listed words in a page's text (HTML), each word once (its first place).
    pub fn find_on_page(&self, html: &str) -> Vec<PageWord> {
        let text: String = crate::search::text::html_to_text(html)
            .chars()
            .filter(|c| *c != MARK_START && *c != MARK_END)
            .collect();
        let mut out: Vec<PageWord> = Vec::new();
        for f in self.find(&text) {
            if out.iter().any(|p| p.word == f.word) {
                continue;
            }
            let before: Vec<char> = text[..f.start].chars().rev().take(20).collect();
            let before: String = before.into_iter().rev().collect();
            let after: String = text[f.end..].chars().take(20).collect();
            out.push(PageWord {
                context: format!("{before}{MARK_START}{}{MARK_END}{after}", f.found),
                word: f.word,
                category: f.category,
                suggestion: f.suggestion,
                found: f.found,
            });
        }
        out
    }
}

/// What a scan changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScanCounts {
    /// Words found that were not open before (new, or fixed and back).
    pub opened: usize,
    /// Open words no longer on a page read this time.
    pub gone: usize,
    /// Open now, in all.
    pub open: usize,
}

/// Stores one scan of a site's pages. A word found again keeps its row: an ignored one stays
/// ignored, one marked fixed opens again; a new one opens; an open one on a page read this
/// time but no longer there is closed as fixed (“复查未再发现”). Pages not read this time
/// keep their rows as they are.
pub async fn record_scan(
    db: &sea_orm::DatabaseConnection,
    site_id: i32,
    pages: &[(String, Vec<PageWord>)],
    now: chrono::DateTime<Utc>,
) -> Result<ScanCounts, sea_orm::DbErr> {
    use crate::db::entities::word_finding;
    use sea_orm::{IntoActiveModel, TransactionTrait};
    use std::collections::HashMap;
    // Read before the transaction, which starts by writing (see `publish::publish_site`).
    let mut old: HashMap<(String, String), word_finding::Model> = word_finding::Entity::find()
        .filter(word_finding::Column::SiteId.eq(site_id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| ((r.page.clone(), r.word.clone()), r))
        .collect();
    let mut counts = ScanCounts::default();
    let txn = db.begin().await?;
    for (page, found) in pages {
        for w in found {
            match old.remove(&(page.clone(), w.word.clone())) {
                Some(row) => {
                    let reopen = row.status == "fixed";
                    let ignored = row.status == "ignored";
                    let mut a = row.into_active_model();
                    a.category = Set(w.category.clone());
                    a.suggestion = Set(w.suggestion.clone());
                    a.context = Set(w.context.clone());
                    a.last_seen_at = Set(now);
                    if reopen {
                        a.status = Set("open".into());
                        a.handled_by = Set(String::new());
                        a.handled_at = Set(None);
                        counts.opened += 1;
                    }
                    if !ignored {
                        counts.open += 1;
                    }
                    a.update(&txn).await?;
                }
                None => {
                    word_finding::ActiveModel {
                        site_id: Set(site_id),
                        page: Set(page.clone()),
                        word: Set(w.word.clone()),
                        category: Set(w.category.clone()),
                        suggestion: Set(w.suggestion.clone()),
                        context: Set(w.context.clone()),
                        status: Set("open".into()),
                        handled_by: Set(String::new()),
                        handled_at: Set(None),
                        first_seen_at: Set(now),
                        last_seen_at: Set(now),
                        ..Default::default()
                    }
                    .insert(&txn)
                    .await?;
                    counts.opened += 1;
                    counts.open += 1;
                }
            }
        }
    }
    let read: std::collections::HashSet<&str> = pages.iter().map(|(p, _)| p.as_str()).collect();
    for row in old.into_values() {
        if row.status == "open" {
            if read.contains(row.page.as_str()) {
                let mut a = row.into_active_model();
                a.status = Set("fixed".into());
                a.handled_by = Set("复查未再发现".into());
                a.handled_at = Set(Some(now));
                a.update(&txn).await?;
                counts.gone += 1;
            } else {
                counts.open += 1;
            }
        }
    }
    txn.commit().await?;
    Ok(counts)
}

/// Up to 12 characters either side of `start..end`, with the word in 【】.
fn context(text: &str, start: usize, end: usize) -> String {
    let before: String = text[..start]
        .chars()
        .rev()
        .take(12)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let after: String = text[end..].chars().take(12).collect();
    format!("{before}【{}】{after}", &text[start..end])
}

/// Checks an item about to be saved: words of the categories the security team blocks refuse
/// it (`AppError::Invalid` naming each); the others are returned as warnings.
pub async fn enforce(
    state: &crate::state::AppState,
    input: &crate::service::content::ArticleInput,
) -> crate::error::AppResult<Vec<Finding>> {
    let settings = super::load(&state.db).await?;
    let list = WordList::load(&state.db).await?;
    let found = list.find_in_item(&input.title, &input.subtitle, &input.summary, &input.body);
    refuse_blocked(found, &settings.word_block_categories).map_err(crate::error::AppError::Invalid)
}

/// The findings, or an error naming those of `block` categories.
pub fn refuse_blocked(found: Vec<Finding>, block: &[String]) -> Result<Vec<Finding>, String> {
    let blocked: Vec<String> = found
        .iter()
        .filter(|f| block.contains(&f.category))
        .map(|f| format!("“{}”（{}）", f.found, f.category_label))
        .collect();
    if blocked.is_empty() {
        Ok(found)
    } else {
        Err(format!(
            "内容含有禁止发布的词语：{}。请修改后再保存。",
            blocked.join("、")
        ))
    }
}

/// Adds the starter list's words that are not in the list yet. Returns how many were added.
pub async fn add_starter(db: &impl ConnectionTrait) -> Result<usize, sea_orm::DbErr> {
    let mut n = 0;
    for (category, word, suggestion) in STARTER {
        if word_entry::Entity::find()
            .filter(word_entry::Column::Word.eq(*word))
            .one(db)
            .await?
            .is_none()
        {
            word_entry::ActiveModel {
                category: Set((*category).to_string()),
                word: Set((*word).to_string()),
                suggestion: Set((*suggestion).to_string()),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(db)
            .await?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> WordList {
        WordList::new(
            STARTER
                .iter()
                .map(|(c, w, s)| (c.to_string(), w.to_string(), s.to_string()))
                .collect(),
        )
    }

    #[test]
    fn finds_words_through_spaces_widths_and_fillers() {
        let text = "截 止*目前，工作ＡＢ按步就班推进。";
        let f = list().find(text);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].word, "截止目前");
        assert_eq!(f[0].suggestion, "截至目前");
        assert_eq!(f[0].found, "截 止*目前");
        assert_eq!(&text[f[0].start..f[0].end], "截 止*目前");
        assert_eq!(f[1].found, "按步就班");
        assert!(
            f[1].context.contains("【按步就班】推进"),
            "{}",
            f[1].context
        );
    }

    #[test]
    fn the_longest_word_wins_and_full_width_folds() {
        let l = WordList::new(vec![
            ("typo".into(), "截止".into(), "截至".into()),
            ("typo".into(), "截止到".into(), "截至".into()),
            ("sensitive".into(), "abc".into(), String::new()),
        ]);
        let f = l.find("截止到今天，ＡＢＣ");
        assert_eq!(
            f.iter().map(|f| f.word.as_str()).collect::<Vec<_>>(),
            ["截止到", "abc"]
        );
    }

    #[test]
    fn words_on_a_page_are_found_once_with_their_place_marked() {
        let html = "<html><body><p>截止目前\u{2}，</p><script>截止到</script><p>再次截止目前</p></body></html>";
        let found = list().find_on_page(html);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].word, "截止目前");
        assert_eq!(found[0].context, "\u{2}截止目前\u{3}， 再次截止目前");
    }

    #[test]
    fn blocked_categories_refuse_the_save() {
        let l = list();
        let block = ["secret".to_string()];
        let warn = refuse_blocked(l.find_in_item("通知", "", "", "<p>截止目前</p>"), &block)
            .expect("only a warning");
        assert_eq!(warn.len(), 1);
        let err =
            refuse_blocked(l.find_in_item("绝密★文件", "", "", "<p>正文</p>"), &block).unwrap_err();
        assert!(err.contains("绝密★") && err.contains("涉密标识"), "{err}");
        assert!(WordList::new(Vec::new()).find("任何文字").is_empty());
    }
}
