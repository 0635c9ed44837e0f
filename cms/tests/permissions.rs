//! The permission matrix: a user of unit A can neither see nor change anything of unit B (and
//! platform security and audit administrators have no content powers), while inside a unit
//! each role can do exactly its part of the review workflow.
//!
//! Runs on SQLite in a temporary directory, or on a fresh PostgreSQL database when
//! `SITEGROUP_TEST_DATABASE_URL` names a server.

#![allow(clippy::unwrap_used)]

mod common;

use common::{actor, grant, setup, site_by_code, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use sitegroup_cms::db::entities::{article, published_file, site};
use sitegroup_cms::error::AppError;
use sitegroup_cms::service::content::{self, ArticleInput, ListFilter};
use sitegroup_cms::service::users::{self, NewGrant, NewUser};
use sitegroup_cms::service::workflow::{Action, Status};

fn input(column_id: i32, title: &str) -> ArticleInput {
    ArticleInput {
        column_id,
        title: title.into(),
        body: "<p>关于做好<strong>冬季</strong>安全生产工作的通知</p>".into(),
        ..Default::default()
    }
}

fn hidden<T: std::fmt::Debug>(r: Result<T, AppError>, what: &str) {
    assert!(
        matches!(r, Err(AppError::NotFound)),
        "{what}: expected not found, got {r:?}"
    );
}

fn forbidden<T: std::fmt::Debug>(r: Result<T, AppError>, what: &str) {
    assert!(
        matches!(r, Err(AppError::Forbidden)),
        "{what}: expected forbidden, got {r:?}"
    );
}

#[tokio::test]
async fn unit_a_and_unit_b_cannot_reach_each_other_and_roles_do_their_part() {
    let env = setup().await;
    let st = &env.state;
    let sys = actor(&env, "admin").await;
    let (edu, edu_cols) = site_by_code(&env, "edu").await;
    let (health, health_cols) = site_by_code(&env, "health").await;
    // Unit A's site reviews at two levels.
    let mut s: site::ActiveModel = edu.clone().into();
    s.review_levels = Set(2);
    s.update(&st.db).await.unwrap();

    // Accounts: unit administrators by the sysadmin, the rest by each unit administrator.
    let a_admin = user(&env, &sys, "a_admin", "", Some(edu.org_id)).await;
    let b_admin = user(&env, &sys, "b_admin", "", Some(health.org_id)).await;
    user(&env, &sys, "sec", "secadmin", None).await;
    user(&env, &sys, "aud", "auditor", None).await;
    grant(&env, &sys, a_admin, edu.id, None, "unit_admin", None).await;
    grant(&env, &sys, b_admin, health.id, None, "unit_admin", None).await;
    let a_admin_actor = actor(&env, "a_admin").await;
    let b_admin_actor = actor(&env, "b_admin").await;
    let c1 = edu_cols[0].id;
    let c2 = edu_cols[1].id;
    let a_editor = user(&env, &a_admin_actor, "a_editor", "", Some(edu.org_id)).await;
    let a_rev1 = user(&env, &a_admin_actor, "a_rev1", "", Some(edu.org_id)).await;
    let a_rev2 = user(&env, &a_admin_actor, "a_rev2", "", Some(edu.org_id)).await;
    grant(
        &env,
        &a_admin_actor,
        a_editor,
        edu.id,
        Some(c1),
        "editor",
        None,
    )
    .await;
    grant(
        &env,
        &a_admin_actor,
        a_rev1,
        edu.id,
        None,
        "reviewer",
        Some(1),
    )
    .await;
    grant(
        &env,
        &a_admin_actor,
        a_rev2,
        edu.id,
        None,
        "reviewer",
        Some(2),
    )
    .await;
    let b_editor = user(&env, &b_admin_actor, "b_editor", "", Some(health.org_id)).await;
    let b_rev = user(&env, &b_admin_actor, "b_rev", "", Some(health.org_id)).await;
    grant(
        &env,
        &b_admin_actor,
        b_editor,
        health.id,
        None,
        "editor",
        None,
    )
    .await;
    grant(
        &env,
        &b_admin_actor,
        b_rev,
        health.id,
        None,
        "reviewer",
        Some(1),
    )
    .await;

    // Unit administrators cannot reach across units, nor raise anyone to their own rank.
    forbidden(
        users::create_user(
            st,
            &a_admin_actor,
            &NewUser {
                username: "intruder".into(),
                display_name: "x".into(),
                platform_role: String::new(),
                org_id: Some(health.org_id),
            },
        )
        .await,
        "unit A admin creating a unit B account",
    );
    forbidden(
        users::create_user(
            st,
            &a_admin_actor,
            &NewUser {
                username: "root2".into(),
                display_name: "x".into(),
                platform_role: "sysadmin".into(),
                org_id: None,
            },
        )
        .await,
        "unit admin creating a platform administrator",
    );
    hidden(
        users::grant(
            st,
            &a_admin_actor,
            &NewGrant {
                user_id: a_editor,
                site_id: health.id,
                role: "editor".into(),
                ..Default::default()
            },
        )
        .await,
        "unit A admin granting on unit B's site",
    );
    forbidden(
        users::grant(
            st,
            &a_admin_actor,
            &NewGrant {
                user_id: a_editor,
                site_id: edu.id,
                role: "unit_admin".into(),
                ..Default::default()
            },
        )
        .await,
        "unit admin granting unit admin",
    );
    hidden(
        users::grant(
            st,
            &a_admin_actor,
            &NewGrant {
                user_id: b_editor,
                site_id: edu.id,
                role: "editor".into(),
                ..Default::default()
            },
        )
        .await,
        "unit A admin granting a unit B account",
    );

    // Unit A's editor writes and submits an item.
    let editor = actor(&env, "a_editor").await;
    let id = content::create(st, &editor, edu.id, &input(c1, "教育局冬季安全通知"))
        .await
        .unwrap();
    assert_eq!(
        content::act(st, &editor, id, Action::Submit, "")
            .await
            .unwrap(),
        Status::Pending(1)
    );
    let before = article::Entity::find_by_id(id)
        .one(&st.db)
        .await
        .unwrap()
        .unwrap();
    let revs = content::revisions(st, &editor, id).await.unwrap();
    let rev = revs[0].id;

    // Everyone outside unit A: nothing of it exists for them, and nothing they try changes it.
    for name in ["b_admin", "b_editor", "b_rev", "sec", "aud"] {
        let who = actor(&env, name).await;
        hidden(
            content::site(st, &who, edu.id).await,
            &format!("{name}: site"),
        );
        hidden(content::view(st, &who, id).await, &format!("{name}: view"));
        hidden(
            content::revisions(st, &who, id).await,
            &format!("{name}: revisions"),
        );
        hidden(
            content::diff(st, &who, id, rev, rev).await,
            &format!("{name}: diff"),
        );
        hidden(
            content::update(st, &who, id, &input(c1, "篡改")).await,
            &format!("{name}: update"),
        );
        for action in [
            Action::Submit,
            Action::Approve,
            Action::Return,
            Action::Withdraw,
            Action::Unpublish,
        ] {
            hidden(
                content::act(st, &who, id, action, "意见").await,
                &format!("{name}: {action:?}"),
            );
        }
        hidden(
            content::delete(st, &who, id).await,
            &format!("{name}: delete"),
        );
        hidden(
            content::restore(st, &who, id).await,
            &format!("{name}: restore"),
        );
        hidden(
            content::purge(st, &who, id).await,
            &format!("{name}: purge"),
        );
        hidden(
            content::restore_revision(st, &who, id, rev).await,
            &format!("{name}: restore revision"),
        );
        hidden(
            content::create(st, &who, edu.id, &input(c1, "越权发布")).await,
            &format!("{name}: create in unit A"),
        );
        hidden(
            users::grants_of_site(st, &who, edu.id).await,
            &format!("{name}: grants of unit A's site"),
        );
        // Listings and counts leave unit A out entirely.
        for deleted in [false, true] {
            let all = content::list(
                st,
                &who,
                &ListFilter {
                    deleted,
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            assert!(
                all.items.iter().all(|r| r.site_id != edu.id),
                "{name}: listing shows unit A"
            );
            let only_a = content::list(
                st,
                &who,
                &ListFilter {
                    site_id: Some(edu.id),
                    deleted,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            assert_eq!(only_a.total, 0, "{name}: unit A count leaks");
        }
        assert!(
            content::todo(st, &who)
                .await
                .unwrap()
                .iter()
                .all(|r| r.site_id != edu.id),
            "{name}: to-do shows unit A"
        );
    }
    let after = article::Entity::find_by_id(id)
        .one(&st.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, after, "outsiders changed the item");
    assert_eq!(content::revisions(st, &editor, id).await.unwrap().len(), 1);

    // Unit B's own staff still work on unit B's site.
    let b_ed = actor(&env, "b_editor").await;
    let b_item = content::create(
        st,
        &b_ed,
        health.id,
        &input(health_cols[0].id, "卫健委通知"),
    )
    .await
    .unwrap();
    // …and unit A cannot see that one.
    hidden(
        content::view(st, &editor, b_item).await,
        "unit A editor viewing unit B item",
    );
    hidden(
        content::view(st, &a_admin_actor, b_item).await,
        "unit A admin viewing unit B item",
    );

    // Inside unit A: the editor's grant is limited to column 1.
    forbidden(
        content::create(st, &editor, edu.id, &input(c2, "其他栏目")).await,
        "editor outside their column",
    );
    let other = content::create(st, &a_admin_actor, edu.id, &input(c2, "其他栏目稿件"))
        .await
        .unwrap();
    hidden(
        content::view(st, &editor, other).await,
        "editor viewing another column",
    );

    // The review levels: only the right reviewer decides at each level, in order.
    let rev1 = actor(&env, "a_rev1").await;
    let rev2 = actor(&env, "a_rev2").await;
    forbidden(
        content::act(st, &editor, id, Action::Approve, "").await,
        "editor approving",
    );
    forbidden(
        content::act(st, &rev2, id, Action::Approve, "").await,
        "level 2 at level 1",
    );
    assert_eq!(
        content::todo(st, &rev1)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        vec![id]
    );
    assert!(content::todo(st, &rev2).await.unwrap().is_empty());
    assert!(matches!(
        content::update(st, &editor, id, &input(c1, "审核中修改")).await,
        Err(AppError::Invalid(_))
    ));
    assert_eq!(
        content::act(st, &rev1, id, Action::Approve, "同意")
            .await
            .unwrap(),
        Status::Pending(2)
    );
    forbidden(
        content::act(st, &rev1, id, Action::Approve, "").await,
        "level 1 at level 2",
    );
    // Nothing is public before the last approval.
    let published = |site_id: i32| {
        let db = st.db.clone();
        async move {
            published_file::Entity::find()
                .filter(published_file::Column::SiteId.eq(site_id))
                .all(&db)
                .await
                .unwrap()
                .into_iter()
                .filter(|f| f.path.ends_with(&format!("/{id}.html")))
                .count()
        }
    };
    assert_eq!(published(edu.id).await, 0);
    assert_eq!(
        content::act(st, &rev2, id, Action::Approve, "同意发布")
            .await
            .unwrap(),
        Status::Published
    );
    assert_eq!(
        published(edu.id).await,
        1,
        "the approved item is on the site"
    );
    let view = content::view(st, &editor, id).await.unwrap();
    let steps: Vec<&str> = view.history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(steps, ["create", "submit", "approve", "approve", "publish"]);

    // A change goes through review again; a return needs a comment.
    content::update(st, &editor, id, &input(c1, "教育局冬季安全通知（修订）"))
        .await
        .unwrap();
    content::act(st, &editor, id, Action::Submit, "")
        .await
        .unwrap();
    assert!(matches!(
        content::act(st, &rev1, id, Action::Return, "  ").await,
        Err(AppError::Invalid(_))
    ));
    assert_eq!(
        content::act(st, &rev1, id, Action::Return, "请核对日期")
            .await
            .unwrap(),
        Status::Returned
    );
    let revs = content::revisions(st, &editor, id).await.unwrap();
    assert_eq!(revs.len(), 2);
    let d = content::diff(st, &editor, id, revs[1].id, revs[0].id)
        .await
        .unwrap();
    assert!(d.iter().any(|l| l.tag == '+' && l.text.contains("修订")));
    assert!(d.iter().any(|l| l.tag == '-' && l.text.contains("标题")));

    // Recycle bin: deleting withdraws the page; only the unit admin purges.
    content::delete(st, &editor, id).await.unwrap();
    assert_eq!(published(edu.id).await, 0, "a deleted item leaves the site");
    let bin = content::list(
        st,
        &editor,
        &ListFilter {
            deleted: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(bin.items.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id]);
    forbidden(content::purge(st, &editor, id).await, "editor purging");
    content::restore(st, &editor, id).await.unwrap();
    assert!(matches!(
        content::purge(st, &a_admin_actor, id).await,
        Err(AppError::Invalid(_))
    ));
    content::delete(st, &editor, id).await.unwrap();
    content::purge(st, &a_admin_actor, id).await.unwrap();
    hidden(content::view(st, &a_admin_actor, id).await, "purged item");
}
