//! Search through the control plane: the index follows every content change (publish, edit,
//! withdrawal, recycle bin, purge), staff see only what their grants cover — in results and in
//! counts — and the public page and JSON answer any input with a page. The index is rebuilt
//! when it is missing or damaged.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{actor, grant, setup, site_by_code, user};
use sea_orm::{ActiveModelTrait, Set};
use sitegroup_cms::db::entities::site;
use sitegroup_cms::search::SearchService;
use sitegroup_cms::service::authz::Actor;
use sitegroup_cms::service::content::{self, ArticleInput};
use sitegroup_cms::service::search::{self as find, Outcome, SearchParams};
use sitegroup_cms::service::workflow::Action;

fn params(q: &str) -> SearchParams {
    SearchParams::from_query(Some(&format!("q={}", common::urlencode(q)))).0
}

async fn staff(env: &common::Env, who: &Actor, q: &str) -> Outcome {
    env.state.search.settled().await;
    find::staff(&env.state, who, params(q), Vec::new())
        .await
        .unwrap()
}

async fn visitor(env: &common::Env, host: &str, q: &str) -> Outcome {
    env.state.search.settled().await;
    find::public(&env.state, host, params(q), Vec::new(), 10)
        .await
        .unwrap()
        .outcome
}

async fn http(env: &common::Env, host: &str, path_and_query: &str) -> (StatusCode, String) {
    env.state.search.settled().await;
    let req = Request::get(path_and_query)
        .header(header::HOST, host)
        .body(Body::empty())
        .unwrap();
    common::send(env, req).await
}

#[tokio::test]
async fn the_index_follows_content_and_grants() {
    let env = setup().await;
    let st = &env.state;
    let sys = actor(&env, "admin").await;
    let (edu, edu_cols) = site_by_code(&env, "edu").await;
    let (health, health_cols) = site_by_code(&env, "health").await;
    // Health publishes without review, to keep the steps short.
    let mut s: site::ActiveModel = health.clone().into();
    s.review_levels = Set(0);
    s.update(&st.db).await.unwrap();

    let a_admin = user(&env, &sys, "a_admin", "", Some(edu.org_id)).await;
    let b_admin = user(&env, &sys, "b_admin", "", Some(health.org_id)).await;
    grant(&env, &sys, a_admin, edu.id, None, "unit_admin", None).await;
    grant(&env, &sys, b_admin, health.id, None, "unit_admin", None).await;
    let a_admin = actor(&env, "a_admin").await;
    let b_admin = actor(&env, "b_admin").await;
    let a_ed = user(&env, &a_admin, "a_editor", "", Some(edu.org_id)).await;
    grant(
        &env,
        &a_admin,
        a_ed,
        edu.id,
        Some(edu_cols[0].id),
        "editor",
        None,
    )
    .await;
    let b_ed = user(&env, &b_admin, "b_editor", "", Some(health.org_id)).await;
    grant(
        &env,
        &b_admin,
        b_ed,
        health.id,
        Some(health_cols[0].id),
        "editor",
        None,
    )
    .await;
    let a_editor = actor(&env, "a_editor").await;
    let b_editor = actor(&env, "b_editor").await;

    // The seeded items are indexed at start.
    let seeded = staff(&env, &sys, "工作").await;
    assert!(seeded.total > 10, "{}", seeded.total);

    // Unit B writes a draft.
    let input = ArticleInput {
        column_id: health_cols[0].id,
        title: "疫苗冷链专项检查方案".into(),
        body: "<p>对全市接种单位开展冷链专项检查，确保疫苗储存温度达标。</p>".into(),
        doc_no: "示卫健发〔2026〕8号".into(),
        issuer: "示范市卫生健康委员会".into(),
        ..Default::default()
    };
    let id = content::create(st, &b_editor, health.id, &input)
        .await
        .unwrap();
    // Unit A's editor and unit admin: no results and no count, whatever the filters.
    for who in [&a_editor, &a_admin] {
        let o = staff(&env, who, "冷链专项").await;
        assert_eq!((o.total, o.items.len()), (0, 0), "{}", who.user.username);
        assert!(o.suggestions.is_empty(), "no hint of other units' items");
        let (p, _) = SearchParams::from_query(Some(&format!("site={}", health.id)));
        let o = find::staff(st, who, p, Vec::new()).await.unwrap();
        assert_eq!(o.total, 0, "browsing unit B's site by filter");
    }
    // Unit A's editor sees only their own column of their own site.
    let mine = staff(&env, &a_editor, "工作").await;
    assert!(mine.total > 0);
    assert!(
        mine.items.iter().all(|i| i.site_id == edu.id),
        "{:?}",
        mine.items
    );
    // Unit B and the system administrator see the draft; visitors do not.
    for who in [&b_editor, &b_admin, &sys] {
        let o = staff(&env, who, "冷链专项").await;
        assert_eq!(o.total, 1, "{}", who.user.username);
        assert_eq!(o.items[0].status_label, "草稿");
        assert_eq!(o.items[0].url, format!("/articles/{id}"));
    }
    let host = "health.demo.localhost";
    assert_eq!(visitor(&env, host, "冷链专项").await.total, 0);

    // Published: visitors find it, with its address, 文号 and a highlighted snippet.
    content::act(st, &b_editor, id, Action::Submit, "")
        .await
        .unwrap();
    let o = visitor(&env, host, "冷链专项").await;
    assert_eq!(o.total, 1);
    let hit = &o.items[0];
    assert_eq!(hit.url, format!("/{}/{id}.html", health_cols[0].slug));
    assert_eq!(hit.doc_no, "示卫健发〔2026〕8号");
    assert!(hit.snippet_html.contains("<em>"), "{}", hit.snippet_html);
    let (p, _) = SearchParams::from_query(Some(
        "issuer=%E5%8D%AB%E7%94%9F%E5%81%A5%E5%BA%B7%E5%A7%94%E5%91%98%E4%BC%9A",
    ));
    let o = find::public(st, host, p, Vec::new(), 10)
        .await
        .unwrap()
        .outcome;
    assert_eq!(o.total, 1, "发文机关 filter alone");
    // From another site's hostname, the group scope finds it with an absolute address.
    let (p, _) = SearchParams::from_query(Some("q=%E5%86%B7%E9%93%BE&scope=all"));
    let o = find::public(st, "www.demo.localhost", p, Vec::new(), 10)
        .await
        .unwrap()
        .outcome;
    assert_eq!(o.total, 1);
    assert!(
        o.items[0].url.starts_with("//health.demo.localhost/"),
        "{}",
        o.items[0].url
    );
    // The site scope of another site does not, and suggests the whole group.
    let o = visitor(&env, "www.demo.localhost", "冷链专项").await;
    assert_eq!(o.total, 0);
    assert!(
        o.suggestions
            .iter()
            .any(|s| s.hits == 1 && s.url.contains("scope=all")),
        "{:?}",
        o.suggestions
    );

    // A new draft revision of the published item: visitors keep the published text, staff
    // search the new one.
    let edited = ArticleInput {
        title: "疫苗冷链升级改造方案".into(),
        body: "<p>升级冷库。</p>".into(),
        ..input.clone()
    };
    content::update(st, &b_editor, id, &edited).await.unwrap();
    assert_eq!(visitor(&env, host, "冷链专项").await.total, 1);
    assert_eq!(visitor(&env, host, "升级改造").await.total, 0);
    assert_eq!(staff(&env, &b_editor, "冷链专项").await.total, 0);
    assert_eq!(staff(&env, &b_editor, "升级改造").await.total, 1);

    // Withdrawn: gone for visitors at once; the recycle bin and purge remove it for staff.
    content::act(st, &b_admin, id, Action::Unpublish, "")
        .await
        .unwrap();
    assert_eq!(visitor(&env, host, "冷链").await.total, 0);
    assert_eq!(staff(&env, &b_admin, "升级改造").await.total, 1);
    content::delete(st, &b_editor, id).await.unwrap();
    assert_eq!(staff(&env, &b_admin, "升级改造").await.total, 0);
    content::restore(st, &b_editor, id).await.unwrap();
    assert_eq!(staff(&env, &b_admin, "升级改造").await.total, 1);
    let before = st.search.staff_count().unwrap();
    content::delete(st, &b_editor, id).await.unwrap();
    content::purge(st, &b_admin, id).await.unwrap();
    st.search.settled().await;
    assert_eq!(staff(&env, &sys, "升级改造").await.total, 0);
    assert_eq!(
        st.search.staff_count().unwrap(),
        before - 1,
        "a real delete"
    );
}

#[tokio::test]
async fn public_pages_answer_any_input() {
    let env = setup().await;
    let host = "www.demo.localhost";
    let (status, page) = http(&env, host, "/search/?q=%E5%B7%A5%E4%BD%9C").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("找到相关结果"), "{page}");
    assert!(page.contains("<em>工作</em>"));
    assert!(
        page.contains("示范市人民政府门户网站"),
        "the site's own theme and name"
    );
    assert!(page.contains("name=\"robots\" content=\"noindex"));
    // A first visit: the form only.
    let (status, page) = http(&env, host, "/search/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("name=\"q\"") && !page.contains("找到相关结果"));
    // JSON.
    let (status, body) = http(&env, host, "/search/api?q=%E5%B7%A5%E4%BD%9C&sort=date").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["total"].as_u64().unwrap() >= 5, "{v}");
    assert_eq!(v["page"], 1);
    let dates: Vec<&str> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["date"].as_str().unwrap())
        .collect();
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {dates:?}"
    );
    assert!(v["hits"][0]["url"].as_str().unwrap().starts_with('/'));
    // The group portal on a hostname of no site.
    let (status, page) = http(&env, "search.example", "/search/?q=%E5%B7%A5%E4%BD%9C").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("网站群统一搜索") && page.contains("//edu.demo.localhost/"));
    // No results: alternatives.
    let (_, page) = http(
        &env,
        host,
        "/search/?q=%E5%B7%A5%E4%BD%9C+%E7%81%AB%E6%98%9F%E5%9F%BA%E5%9C%B0",
    )
    .await;
    assert!(page.contains("您可以试试"), "{page}");

    // 10,000 characters (as long as a request line may be: 50 KB encoded).
    let long = format!("{}{}", "%E7%A8%8E".repeat(5_000), "a".repeat(5_000));
    let hostile = [
        "q=%27+OR+1%3D1+--".to_string(),
        "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E".into(),
        format!("q={long}"),
        "q=%F0%9F%98%80%F0%9F%8E%89".into(),
        "q=%FF%FE%00".into(),
        "q=%".into(),
        "q=%22".into(),
        "q[]=1&q[x]=2".into(),
        "q=a&page=-1".into(),
        "q=a&page=99999999999999999999".into(),
        "q=a&page=9999".into(),
        "q=a&from=yesterday&to=2026-13-45".into(),
        "q=a&site=abc&column=-5&sort=%27".into(),
        "doc_no=%3Cb%3E&issuer=%27%22".into(),
        "scope=all&site=999999".into(),
        "&&&===".into(),
    ];
    for query in &hostile {
        for path in ["/search/", "/search/api"] {
            let (status, body) = http(&env, host, &format!("{path}?{query}")).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{path}?{}",
                &query[..query.len().min(60)]
            );
            if path == "/search/" {
                assert!(!body.contains("<script>alert"), "{query}");
            }
            if path == "/search/api" {
                serde_json::from_str::<serde_json::Value>(&body).unwrap();
            }
        }
    }
    let (_, page) = http(&env, host, &format!("/search/?q={long}")).await;
    assert!(page.contains("关键词过长"), "a cut query says so");
    let (_, page) = http(&env, host, "/search/?q=a&from=yesterday").await;
    assert!(page.contains("日期格式"), "a bad date says so");
}

#[tokio::test]
async fn a_missing_or_damaged_index_is_rebuilt_at_start() {
    let env = setup().await;
    let st = &env.state;
    st.search.settled().await;
    let items = st.search.staff_count().unwrap();
    assert!(items > 20);
    st.search.close().await;
    let dir = sitegroup_cms::search::service::index_dir(&st.data_dir);

    // Damage every segment file.
    let mut damaged = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".idx") || name.ends_with(".store") || name.ends_with(".term") {
            let mut bytes = std::fs::read(&path).unwrap();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0xff;
            std::fs::write(&path, bytes).unwrap();
            damaged += 1;
        }
    }
    assert!(damaged > 0);
    let search = SearchService::open(&st.data_dir, st.db.clone(), false);
    search.settled().await;
    assert_eq!(
        search.staff_count().unwrap(),
        items,
        "rebuilt from the database"
    );
    assert_eq!(search.failures(), 0);
    search.close().await;
    let aside = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("index.broken-")
        })
        .count();
    assert_eq!(aside, 1, "the damaged index is kept aside for inspection");

    // Missing altogether.
    std::fs::remove_dir_all(&dir).unwrap();
    let search = SearchService::open(&st.data_dir, st.db.clone(), false);
    search.settled().await;
    assert_eq!(search.staff_count().unwrap(), items);
    // A second opener while this one holds the index: unavailable, and the index untouched.
    let second = SearchService::open(&st.data_dir, st.db.clone(), false);
    assert!(second.unavailable().is_some());
    assert!(
        second
            .search(sitegroup_cms::search::SearchQuery::new(
                "工作",
                sitegroup_cms::search::Audience::Public {
                    hidden_sites: vec![]
                },
            ))
            .await
            .is_err()
    );
    search.close().await;
    let reopened = SearchService::open(&st.data_dir, st.db.clone(), false);
    reopened.settled().await;
    assert_eq!(
        reopened.staff_count().unwrap(),
        items,
        "a healthy index is kept"
    );
    reopened.close().await;
}
