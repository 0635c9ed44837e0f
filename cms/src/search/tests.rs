//! The index on its own (in memory): segmentation, phrases, filters, audiences, updates and
//! deletes, hostile queries, snippets.

use chrono::{TimeZone, Utc};

use super::*;

fn doc(id: i32, site: i32, column: i32, title: &str, body: &str) -> Document {
    Document {
        id,
        site_id: site,
        column_id: column,
        kind: "article".into(),
        status: "published".into(),
        public: true,
        staff: true,
        date: Utc
            .with_ymd_and_hms(2026, 1, 1 + (id as u32 % 27), 8, 0, 0)
            .unwrap(),
        title: title.into(),
        body: body.into(),
        doc_no: String::new(),
        issuer: String::new(),
        link_url: String::new(),
    }
}

/// Visitors who may see `visible` of the test sites 1 and 2.
fn public(visible: &[i32]) -> Audience {
    Audience::Public {
        hidden_sites: [1, 2]
            .into_iter()
            .filter(|s| !visible.contains(s))
            .collect(),
    }
}

fn ids(r: &SearchResults) -> Vec<i32> {
    let mut v: Vec<i32> = r.hits.iter().map(|h| h.id).collect();
    v.sort_unstable();
    v
}

fn corpus() -> TantivyIndex {
    let index = TantivyIndex::in_memory().expect("index");
    index
        .update(
            false,
            &[],
            vec![
                doc(
                    1,
                    1,
                    10,
                    "关于做好2026年政府信息公开工作的通知",
                    "各单位：请按要求做好政府信息公开工作。",
                ),
                doc(
                    2,
                    1,
                    10,
                    "市政府召开常务会议",
                    "会议研究了信息化建设，并要求公开征求意见。",
                ),
                doc(
                    3,
                    2,
                    20,
                    "安全生产月活动启动",
                    "全区开展安全生产大检查，守住安全底线。",
                ),
                doc(
                    4,
                    2,
                    21,
                    "网络安全宣传周",
                    "防范钓鱼邮件，WAF 规则统一下发。",
                ),
            ],
            true,
        )
        .expect("indexed");
    index
}

#[test]
fn a_chinese_phrase_is_found_as_a_phrase_and_words_anywhere() {
    let index = corpus();
    // Quoted: only the item where the words stand together.
    let r = index
        .search(&SearchQuery::new("\"政府信息公开\"", public(&[1, 2])))
        .unwrap();
    assert_eq!(ids(&r), vec![1], "{r:?}");
    // Unquoted: every word required, anywhere; the item with the phrase ranks first.
    let r = index
        .search(&SearchQuery::new("政府信息公开", public(&[1, 2])))
        .unwrap();
    assert_eq!(r.hits.first().map(|h| h.id), Some(1), "{r:?}");
    assert!(
        ids(&r).contains(&2),
        "政府…信息…公开 apart is still a match: {r:?}"
    );
    // Part of a longer word is found too (search-mode indexing).
    let r = index
        .search(&SearchQuery::new("“信息公开”", public(&[1, 2])))
        .unwrap();
    assert_eq!(ids(&r), vec![1]);
    // Highlighted title and snippet, escaped.
    let hit = &index
        .search(&SearchQuery::new("\"政府信息公开\"", public(&[1])))
        .unwrap()
        .hits[0];
    assert!(
        hit.title_html.contains("<em>政府信息公开</em>"),
        "{}",
        hit.title_html
    );
    assert!(hit.snippet_html.contains("<em>"), "{}", hit.snippet_html);
    // Latin words, case-insensitive; exclusions.
    let r = index
        .search(&SearchQuery::new("waf", public(&[2])))
        .unwrap();
    assert_eq!(ids(&r), vec![4]);
    let r = index
        .search(&SearchQuery::new("安全 -钓鱼", public(&[2])))
        .unwrap();
    assert_eq!(ids(&r), vec![3]);
}

#[test]
fn audiences_and_filters_decide_what_exists() {
    let index = corpus();
    // A staff-only draft of a new item, and a published item whose newer draft differs.
    let mut draft = doc(5, 1, 11, "内部草稿：人事调整方案", "尚未公开的人事调整。");
    draft.public = false;
    draft.status = "draft".into();
    let mut old = doc(6, 2, 20, "旧标题 防汛通知", "防汛");
    old.staff = false;
    let mut new = doc(6, 2, 20, "新标题 防汛抗旱通知", "防汛 抗旱");
    new.public = false;
    index
        .update(false, &[], vec![draft, old, new], true)
        .unwrap();

    let visitor = index
        .search(&SearchQuery::new("人事调整", public(&[1, 2])))
        .unwrap();
    assert_eq!(visitor.total, 0, "drafts are not public");
    let staff_all = Audience::Staff(Visibility {
        all_sites: true,
        ..Default::default()
    });
    assert_eq!(
        ids(&index
            .search(&SearchQuery::new("人事调整", staff_all.clone()))
            .unwrap()),
        vec![5]
    );
    // Unit B (site 2) sees neither results nor counts of unit A's draft.
    let unit_b = Audience::Staff(Visibility {
        sites: vec![2],
        ..Default::default()
    });
    let r = index
        .search(&SearchQuery::new("人事调整", unit_b.clone()))
        .unwrap();
    assert_eq!((r.total, r.hits.len()), (0, 0));
    assert!(
        r.suggestions.is_empty(),
        "no hint that something exists: {r:?}"
    );
    // Column grants: site 1, column 10 only.
    let column_only = Audience::Staff(Visibility {
        columns: vec![(1, 10)],
        ..Default::default()
    });
    let r = index
        .search(&SearchQuery::new("人事调整", column_only))
        .unwrap();
    assert_eq!(r.total, 0);
    // Visitors see the published revision, staff the current one.
    assert_eq!(
        ids(&index
            .search(&SearchQuery::new("旧标题", public(&[2])))
            .unwrap()),
        vec![6]
    );
    assert_eq!(
        index
            .search(&SearchQuery::new("抗旱", public(&[2])))
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        ids(&index.search(&SearchQuery::new("抗旱", unit_b)).unwrap()),
        vec![6]
    );
    // A site not in the public list is invisible.
    assert_eq!(
        index
            .search(&SearchQuery::new("安全", public(&[1])))
            .unwrap()
            .total,
        0
    );

    // Filters: site, column, dates, 文号, 发文机关.
    let mut q = SearchQuery::new("安全", public(&[1, 2]));
    q.column = Some(21);
    assert_eq!(ids(&index.search(&q).unwrap()), vec![4]);
    let mut gk = doc(7, 1, 12, "关于印发实施方案的通知", "方案全文");
    gk.doc_no = "示政办发〔2026〕12号".into();
    gk.issuer = "示范市人民政府办公室".into();
    gk.date = Utc.with_ymd_and_hms(2026, 3, 15, 2, 0, 0).unwrap();
    index.update(false, &[], vec![gk], true).unwrap();
    let mut q = SearchQuery::new("", public(&[1, 2]));
    q.doc_no = "〔2026〕12号".into();
    assert_eq!(
        ids(&index.search(&q).unwrap()),
        vec![7],
        "filters alone list items"
    );
    let mut q = SearchQuery::new("通知", public(&[1, 2]));
    q.issuer = "人民政府办公室".into();
    assert_eq!(ids(&index.search(&q).unwrap()), vec![7]);
    q.issuer = "公安局".into();
    let r = index.search(&q).unwrap();
    assert_eq!(r.total, 0);
    assert!(
        matches!(r.suggestions.first(), Some(Suggestion::WithoutFilters { hits }) if *hits >= 2),
        "{r:?}"
    );
    let mut q = SearchQuery::new("方案", public(&[1, 2]));
    q.from = Some(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap());
    q.to = Some(Utc.with_ymd_and_hms(2026, 3, 31, 0, 0, 0).unwrap());
    assert_eq!(ids(&index.search(&q).unwrap()), vec![7]);
    q.from = Some(Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap());
    q.to = None;
    assert_eq!(index.search(&q).unwrap().total, 0);
}

#[test]
fn updates_replace_and_deletes_remove() {
    let index = corpus();
    index
        .update(
            false,
            &[3],
            vec![doc(3, 2, 20, "消防演练通知", "消防")],
            true,
        )
        .unwrap();
    assert_eq!(
        index
            .search(&SearchQuery::new("安全生产", public(&[2])))
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        ids(&index
            .search(&SearchQuery::new("消防", public(&[2])))
            .unwrap()),
        vec![3]
    );
    index.update(false, &[3, 4], Vec::new(), true).unwrap();
    assert_eq!(
        index
            .search(&SearchQuery::new("消防", public(&[2])))
            .unwrap()
            .total,
        0
    );
    assert_eq!(index.staff_count().unwrap(), 2);
    index.update(true, &[], Vec::new(), true).unwrap();
    assert_eq!(index.staff_count().unwrap(), 0);
}

#[test]
fn sorting_paging_and_suggestions() {
    let index = TantivyIndex::in_memory().unwrap();
    let docs = (1..=25)
        .map(|i| doc(i, 1, 10, &format!("第{i}期 工作简报"), "简报内容"))
        .collect();
    index.update(false, &[], docs, true).unwrap();
    let mut q = SearchQuery::new("简报", public(&[1]));
    q.sort = Sort::Newest;
    q.per_page = 10;
    q.page = 3;
    let r = index.search(&q).unwrap();
    assert_eq!((r.total, r.pages, r.hits.len()), (25, 3, 5));
    let dates: Vec<_> = r.hits.iter().map(|h| h.date).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first");
    q.page = 100_000;
    let r = index.search(&q).unwrap();
    assert!(r.hits.is_empty() && r.notice.is_some());
    // No hits for all words: the words that do have hits are suggested.
    let r = index
        .search(&SearchQuery::new("简报 火星基地", public(&[1])))
        .unwrap();
    assert_eq!(r.total, 0);
    assert!(
        r.suggestions
            .iter()
            .any(|s| matches!(s, Suggestion::Query { text, .. } if text == "简报")),
        "{r:?}"
    );
    // A misspelt Latin word.
    index
        .update(
            false,
            &[],
            vec![doc(30, 1, 10, "Nginx 迁移指南", "nginx 配置")],
            true,
        )
        .unwrap();
    let r = index
        .search(&SearchQuery::new("ngnix", public(&[1])))
        .unwrap();
    assert!(
        r.suggestions
            .iter()
            .any(|s| matches!(s, Suggestion::Query { text, .. } if text == "nginx")),
        "{r:?}"
    );
}

#[test]
fn hostile_queries_answer_sanely() {
    let index = corpus();
    for text in [
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "\"",
        "\"\"",
        "-",
        "-安全",
        "😀🎉",
        "\u{0}\u{7f}",
        "a AND (b OR c) NOT d",
        "*:*",
        "title:安全",
        &"安全".repeat(5_000),
        &"字 ".repeat(5_000),
    ] {
        let r = index
            .search(&SearchQuery::new(text, public(&[1, 2])))
            .unwrap();
        assert!(r.total <= 4, "{text}");
        for h in &r.hits {
            assert!(!h.title_html.contains("<script"), "{}", h.title_html);
        }
    }
    let r = index
        .search(&SearchQuery::new(&"安全".repeat(5_000), public(&[2])))
        .unwrap();
    assert!(r.notice.is_some(), "a cut query says so");
    // Nothing visible: empty, not an error.
    assert_eq!(
        index
            .search(&SearchQuery::new("安全", public(&[])))
            .unwrap()
            .total,
        0
    );
}

/// The known trap: tantivy's `SnippetGenerator` follows token offsets, which go backwards with
/// search-mode tokens on Chinese text, and panics. Our highlighter works on the stored text.
#[test]
fn snippets_of_documents_with_overlapping_tokens() {
    let index = TantivyIndex::in_memory().unwrap();
    let body = "中华人民共和国政府信息公开条例规定，行政机关应当主动公开本行政机关的机构职能、\
        中华人民共和国国务院令第711号。中华人民共和国政府信息公开条例自2019年5月15日起施行。"
        .repeat(20);
    index
        .update(
            false,
            &[],
            vec![doc(1, 1, 10, "中华人民共和国政府信息公开条例", &body)],
            true,
        )
        .unwrap();
    for text in [
        "中华人民共和国",
        "\"政府信息公开条例\"",
        "人民 共和国 施行",
        "华人",
    ] {
        let r = index.search(&SearchQuery::new(text, public(&[1]))).unwrap();
        assert_eq!(r.total, 1, "{text}");
        let h = &r.hits[0];
        assert!(
            h.snippet_html.contains("<em>"),
            "{text}: {}",
            h.snippet_html
        );
        assert!(h.snippet_html.chars().count() < 400, "{}", h.snippet_html);
    }
}
