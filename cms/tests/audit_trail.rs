//! The audit trail: append-only in the database, `sitegroup audit verify` (the real binary)
//! finding records changed or removed behind the platform's back, signed archives before
//! pruning, and the administration commands that manage platform administrators and keys.
//!
//! Runs on SQLite in a temporary directory, or on a fresh PostgreSQL database when
//! `SITEGROUP_TEST_DATABASE_URL` names a server.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::http::*;
use common::{Env, actor, setup, sign_in, site_by_code};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, QueryOrder};
use sitegroup_cms::audit;
use sitegroup_cms::db::entities::audit_log;

/// Runs `sitegroup audit verify` on the test's database: (success, output).
fn cli_verify(env: &Env) -> (bool, String) {
    cli(env, &["audit", "verify"])
}

#[tokio::test]
async fn the_audit_trail_is_append_only_and_verify_finds_any_change() {
    let env = setup().await;
    let db = &env.state.db;
    let backend = db.get_database_backend();
    // Some history: sign-ins, a failure, content.
    unit_user(&env, "zhang", "Known-Passw0rd").await;
    login(&env, "zhang", "wrong", "198.51.100.40").await;
    for _ in 0..4 {
        login(&env, "zhang", "Known-Passw0rd", "198.51.100.40").await;
    }
    let sys = actor(&env, "admin").await;
    let (edu, cols) = site_by_code(&env, "edu").await;
    let id = sitegroup_cms::service::content::create(
        &env.state,
        &sys,
        edu.id,
        &sitegroup_cms::service::content::ArticleInput {
            column_id: cols[0].id,
            title: "审计测试".into(),
            body: "<p>正文</p>".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        audit_count(&env, "content.create", &format!("article:{id}"), "success").await,
        1
    );
    chain_ok(&env).await;
    let (ok, out) = cli_verify(&env);
    assert!(ok, "{out}");
    assert!(out.contains("audit trail OK"), "{out}");

    // No role, and no SQL through the platform's own connection, can change or delete a record.
    for sql in [
        "UPDATE audit_log SET details = 'x' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
    ] {
        assert!(
            db.execute_unprepared(sql).await.is_err(),
            "{sql} was allowed"
        );
    }

    // Somebody with the database in hand drops the guard and edits a record: verify finds it,
    // and the command exits non-zero.
    let disable = match backend {
        sea_orm::DatabaseBackend::Postgres => vec!["ALTER TABLE audit_log DISABLE TRIGGER USER"],
        _ => vec![
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
    };
    for sql in disable {
        db.execute_unprepared(sql).await.unwrap();
    }
    db.execute_unprepared("UPDATE audit_log SET client_addr = '10.0.0.1' WHERE seq = 3")
        .await
        .unwrap();
    let report = audit::verify(db, &env.state.secrets.get()).await.unwrap();
    assert_eq!(
        report.problems,
        vec!["record 3 was altered (its hash does not match)"]
    );
    let (ok, out) = cli_verify(&env);
    assert!(!ok, "verify must fail: {out}");
    assert!(out.contains("record 3 was altered"), "{out}");

    // Recomputing a plain SHA-256 does not help: the hash is keyed with the keyring.
    // Removing a record leaves a gap; removing the last one disagrees with the head.
    db.execute_unprepared("DELETE FROM audit_log WHERE seq = 5")
        .await
        .unwrap();
    let last = audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Seq)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    db.execute_unprepared(&format!("DELETE FROM audit_log WHERE seq = {}", last.seq))
        .await
        .unwrap();
    let report = audit::verify(db, &env.state.secrets.get()).await.unwrap();
    assert!(
        report.problems.contains(&"record 5 is missing".to_string()),
        "{:?}",
        report.problems
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains(&format!("record {} is missing (the head", last.seq))),
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn old_audit_records_are_archived_signed_and_pruned_and_the_chain_still_verifies() {
    let env = setup().await;
    unit_user(&env, "zhang", "Known-Passw0rd").await;
    for _ in 0..3 {
        login(&env, "zhang", "Known-Passw0rd", "198.51.100.50").await;
    }
    let keyring = env.state.secrets.get();
    let who = audit::Who::system();
    let dir = env.state.data_dir.join("audit-archive");
    // Less than 180 days is refused.
    assert!(
        audit::archive(&env.state.db, &keyring, &who, 30, &dir)
            .await
            .is_err()
    );
    assert!(
        audit::archive(&env.state.db, &keyring, &who, 180, &dir)
            .await
            .unwrap()
            .is_none(),
        "nothing is that old"
    );
    let before = audit_log::Entity::find()
        .count(&env.state.db)
        .await
        .unwrap();
    let (path, n) = audit::archive_before(&env.state.db, &keyring, &who, Utc::now(), &dir)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, before);
    // The database keeps only the record of the archiving; the chain still verifies from the
    // anchor.
    assert_eq!(
        audit_log::Entity::find()
            .count(&env.state.db)
            .await
            .unwrap(),
        1
    );
    chain_ok(&env).await;
    login(&env, "zhang", "Known-Passw0rd", "198.51.100.50").await;
    chain_ok(&env).await;
    // The archive is signed and verifies on its own; a changed byte does not.
    let bytes = std::fs::read(&path).unwrap();
    let report = audit::verify_signed(&keyring, &bytes).unwrap();
    assert!(report.ok() && report.checked == n, "{report:?}");
    let text = String::from_utf8(bytes).unwrap();
    let tampered = text.replacen("198.51.100.50", "198.51.100.51", 1);
    assert!(audit::verify_signed(&keyring, tampered.as_bytes()).is_err());
}

#[tokio::test]
async fn the_command_line_manages_platform_administrators_and_keys() {
    let env = setup().await;
    let (ok, out) = cli(
        &env,
        &["admin", "create-admin", "--role", "auditor", "auditor2"],
    );
    assert!(ok, "{out}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("一次性密码 one-time password: "))
        .unwrap()
        .trim()
        .to_string();
    let r = login(&env, "auditor2", &password, "198.51.100.90").await;
    assert_eq!(r.location(), "/password");
    let (ok, out) = cli(
        &env,
        &["admin", "create-admin", "--role", "root", "x_admin"],
    );
    assert!(
        !ok && out.contains("sysadmin, secadmin or auditor"),
        "{out}"
    );
    let (ok, out) = cli(
        &env,
        &["admin", "create-admin", "--role", "auditor", "auditor2"],
    );
    assert!(!ok && out.contains("taken"), "{out}");
    assert_eq!(
        audit_count(&env, "admin.create", "user:auditor2", "success").await,
        1
    );

    // A lost authenticator: removed, sessions ended.
    let aud = actor(&env, "auditor").await;
    let (cookie, _) = sign_in(&env, aud.id()).await;
    let (ok, out) = cli(&env, &["admin", "reset-two-factor", "auditor"]);
    assert!(ok, "{out}");
    assert!(!user_row(&env, aud.id()).await.totp_enabled);
    assert_eq!(get(&env, "/", &cookie).await.location(), "/login");

    // Archiving refuses less than 180 days; rotation adds a key.
    let (ok, out) = cli(&env, &["audit", "archive", "--older-than-days", "30"]);
    assert!(!ok && out.contains("180"), "{out}");
    let (ok, out) = cli(&env, &["audit", "archive"]);
    assert!(ok && out.contains("nothing older than 180 days"), "{out}");
    let (ok, out) = cli(&env, &["admin", "rotate-key"]);
    assert!(ok && out.contains("now key 2"), "{out}");
    let ring = sitegroup_cms::secrets::Keyring::load(&sitegroup_cms::secrets::Keyring::path_in(
        env.state.data_dir.as_path(),
    ))
    .unwrap();
    assert_eq!(ring.ids(), vec![1, 2]);
    let (ok, out) = cli(&env, &["audit", "verify"]);
    assert!(ok, "{out}");
    // The running server checks records made with the key the command line just added.
    let aud = actor(&env, "auditor").await;
    let (aud_cookie, aud_csrf) = sign_in(&env, aud.id()).await;
    let r = post(&env, "/audit/verify", &aud_cookie, &[("csrf", &aud_csrf)]).await;
    assert!(r.body.contains("审计链完整"), "{}", r.body);
}
