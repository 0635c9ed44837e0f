//! Content service behaviour beyond permissions: schedules, revisions restored as new
//! revisions, link items, validation that keeps nothing half-written.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, Utc};
use common::{actor, setup, site_by_code};
use sea_orm::{EntityTrait, PaginatorTrait};
use sitegroup_cms::db::entities::{article, article_revision};
use sitegroup_cms::error::AppError;
use sitegroup_cms::service::content::{self, ArticleInput, format_beijing};
use sitegroup_cms::service::workflow::{Action, Status};

#[tokio::test]
async fn schedules_revisions_links_and_validation() {
    let env = setup().await;
    let st = &env.state;
    let sys = actor(&env, "admin").await;
    let (portal, cols) = site_by_code(&env, "portal").await;
    let col = cols[0].id;

    // Scheduled publication: submit (no review levels) waits for the time, then the scheduler
    // publishes; the withdrawal time takes it down again.
    let at = Utc::now() + Duration::hours(2);
    let id = content::create(
        st,
        &sys,
        portal.id,
        &ArticleInput {
            column_id: col,
            title: "定时发布的通知".into(),
            body: "正文".into(),
            publish_at: format_beijing(at),
            unpublish_at: format_beijing(at + Duration::days(1)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        content::act(st, &sys, id, Action::Submit, "")
            .await
            .unwrap(),
        Status::Scheduled
    );
    assert_eq!(content::run_schedules(st, Utc::now()).await.unwrap(), 0);
    assert_eq!(
        content::run_schedules(st, at + Duration::minutes(1))
            .await
            .unwrap(),
        1
    );
    let a = article::Entity::find_by_id(id)
        .one(&st.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.status, "published");
    assert_eq!(a.published_revision_id, a.current_revision_id);
    assert_eq!(
        content::run_schedules(st, at + Duration::days(2))
            .await
            .unwrap(),
        1
    );
    let a = article::Entity::find_by_id(id)
        .one(&st.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.status, "unpublished");
    let steps: Vec<String> = content::view(st, &sys, id)
        .await
        .unwrap()
        .history
        .into_iter()
        .map(|h| h.action)
        .collect();
    assert_eq!(steps, ["create", "submit", "publish", "unpublish"]);

    // Restoring an old revision adds a new one with the old content; history stays.
    let mut input = content::input_of(&a, &content::revisions(st, &sys, id).await.unwrap()[0]);
    input.title = "改过的标题".into();
    content::update(st, &sys, id, &input).await.unwrap();
    let revs = content::revisions(st, &sys, id).await.unwrap();
    assert_eq!(revs.len(), 2);
    content::restore_revision(st, &sys, id, revs[1].id)
        .await
        .unwrap();
    let revs = content::revisions(st, &sys, id).await.unwrap();
    assert_eq!(revs.len(), 3);
    assert_eq!(revs[0].title, "定时发布的通知");
    assert!(revs[0].note.contains(&revs[2].id.to_string()));

    // Links need an http(s) address; invalid input saves nothing at all.
    let revisions_before = article_revision::Entity::find()
        .count(&st.db)
        .await
        .unwrap();
    let items_before = article::Entity::find().count(&st.db).await.unwrap();
    let bad = ArticleInput {
        column_id: col,
        kind: "link".into(),
        title: "外部链接".into(),
        link_url: "javascript:alert(1)".into(),
        written_date: "2026/01/31".into(),
        ..Default::default()
    };
    match content::create(st, &sys, portal.id, &bad).await {
        Err(AppError::Invalid(msg)) => {
            assert!(
                msg.contains("外部链接") && msg.contains("成文日期"),
                "{msg}"
            );
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    let good = ArticleInput {
        link_url: "https://www.gov.cn/".into(),
        written_date: "2026-01-31".into(),
        ..bad
    };
    content::create(st, &sys, portal.id, &good).await.unwrap();
    assert_eq!(
        article::Entity::find().count(&st.db).await.unwrap(),
        items_before + 1
    );
    assert_eq!(
        article_revision::Entity::find()
            .count(&st.db)
            .await
            .unwrap(),
        revisions_before + 1
    );
    // A column of another site is refused.
    let (_, edu_cols) = site_by_code(&env, "edu").await;
    let wrong = ArticleInput {
        column_id: edu_cols[0].id,
        title: "错站点".into(),
        ..Default::default()
    };
    assert!(content::create(st, &sys, portal.id, &wrong).await.is_err());
}

#[tokio::test]
async fn attachments_come_from_the_sites_own_media_library() {
    use sitegroup_cms::service::media;
    let env = setup().await;
    let st = &env.state;
    let sys = actor(&env, "admin").await;
    let (portal, cols) = site_by_code(&env, "portal").await;
    let (edu, _) = site_by_code(&env, "edu").await;
    let pdf = b"%PDF-1.7\n% sitegroup test\n".to_vec();
    let up = media::upload(st, &sys, portal.id, "2026年工作要点.pdf", pdf.clone())
        .await
        .unwrap();
    let other = media::upload(st, &sys, edu.id, "他站.pdf", b"%PDF-1.4 other".to_vec())
        .await
        .unwrap();
    let mut input = ArticleInput {
        column_id: cols[0].id,
        title: "关于印发2026年工作要点的通知".into(),
        body: "正文".into(),
        attachments: up.path.clone(),
        ..Default::default()
    };
    // Another site's file, or anything that is not a media address, is refused.
    for bad in [
        other.path.as_str(),
        "/etc/passwd",
        "https://evil.example/x.pdf",
        "/media/../x",
    ] {
        input.attachments = bad.into();
        assert!(
            matches!(
                content::create(st, &sys, portal.id, &input).await,
                Err(AppError::Invalid(_))
            ),
            "{bad}"
        );
    }
    input.attachments = up.path.clone();
    // The cover must be an image of the same library.
    let png = {
        let img = image::RgbImage::from_pixel(4, 4, image::Rgb([1, 2, 3]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let picture = media::upload(st, &sys, portal.id, "封面.png", png.clone())
        .await
        .unwrap();
    let foreign_picture = media::upload(st, &sys, edu.id, "他站封面.png", {
        let mut p = png.clone();
        p.extend_from_slice(b"other");
        p
    })
    .await
    .unwrap();
    for bad in [
        up.path.as_str(),
        foreign_picture.path.as_str(),
        "javascript:x",
    ] {
        input.cover = bad.into();
        assert!(
            matches!(
                content::create(st, &sys, portal.id, &input).await,
                Err(AppError::Invalid(m)) if m.contains("封面")
            ),
            "cover {bad}"
        );
    }
    input.cover = picture.path.clone();
    let id = content::create(st, &sys, portal.id, &input).await.unwrap();
    content::act(st, &sys, id, Action::Submit, "")
        .await
        .unwrap();
    let column = &cols[0];
    let page_path = sitegroup_cms::publish::article_path(column, id);
    let file = sitegroup_cms::db::entities::published_file::Entity::find()
        .all(&st.db)
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.site_id == portal.id && f.path == page_path)
        .unwrap();
    let html = String::from_utf8(st.store.read_verified(&file.sha256).unwrap()).unwrap();
    assert!(
        html.contains(&format!(r#"<a href="{}">2026年工作要点.pdf</a>"#, up.path)),
        "the library's name is shown: {html}"
    );
}

#[tokio::test]
async fn a_column_can_use_its_own_list_template() {
    use sitegroup_cms::service::sites::{self, ColumnInput};
    let env = setup().await;
    let st = &env.state;
    let sys = actor(&env, "admin").await;
    let (portal, _) = site_by_code(&env, "portal").await;
    let mut column = ColumnInput {
        name: "政策文件库".into(),
        slug: "zcwjk".into(),
        column_type: "政策文件".into(),
        page_size: 20,
        list_template: "column-nope.html".into(),
        ..Default::default()
    };
    assert!(matches!(
        sites::create_column(st, &sys, portal.id, &column).await,
        Err(AppError::Invalid(_))
    ));
    column.list_template = "column-gkml.html".into();
    let col = sites::create_column(st, &sys, portal.id, &column)
        .await
        .unwrap();
    let id = content::create(
        st,
        &sys,
        portal.id,
        &ArticleInput {
            column_id: col,
            title: "示范市人民政府关于印发实施方案的通知".into(),
            doc_no: "示政发〔2026〕3号".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    content::act(st, &sys, id, Action::Submit, "")
        .await
        .unwrap();
    let file = sitegroup_cms::db::entities::published_file::Entity::find()
        .all(&st.db)
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.site_id == portal.id && f.path == "/zcwjk/index.html")
        .unwrap();
    let html = String::from_utf8(st.store.read_verified(&file.sha256).unwrap()).unwrap();
    assert!(html.contains(r#"<table class="gkml">"#) && html.contains("示政发〔2026〕3号"));
}
