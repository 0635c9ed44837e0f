//! Uploaded HTTPS certificates: only the 安全管理员 manages them; what is wrong with an upload
//! is said plainly and nothing is stored; the private key is sealed at rest, opened only into
//! the gateways' snapshot, and survives a key rotation; every change is audited and reaches
//! the gateways (generation). Also: the control plane's store of ACME items, sealed the same
//! way, and the site settings that switch HTTPS redirect and ACME on (系统管理员 only).

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use sea_orm::EntityTrait;
use sitegroup_cms::db::entities::tls_certificate;
use sitegroup_cms::error::AppError;
use sitegroup_cms::service::{certificates, sites};
use sitegroup_cms::snapshot;

fn issue(names: &[&str], days: i64) -> (String, String) {
    use rcgen::{CertificateParams, KeyPair};
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let now = rcgen::date_time_ymd(2026, 1, 1);
    params.not_before = now;
    params.not_after = if days < 0 {
        rcgen::date_time_ymd(2026, 1, 2)
    } else {
        rcgen::date_time_ymd(2099, 1, 1)
    };
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

async fn snapshot_certs(env: &Env) -> Vec<sitegroup_contract::config::TlsCertificate> {
    snapshot::build(
        &env.state.db,
        &env.state.admin,
        &env.state.secrets.reloaded(),
    )
    .await
    .unwrap()
    .certificates
}

#[tokio::test]
async fn certificates_are_checked_sealed_audited_and_handed_to_gateways() {
    let env = setup().await;
    let sec = actor(&env, "secadmin").await;
    let admin = actor(&env, "admin").await;
    let (chain, key) = issue(&["www.example.gov.cn", "*.example.gov.cn"], 365);

    // Only the 安全管理员.
    assert!(matches!(
        certificates::upload(&env.state, &admin, "门户", &chain, &key).await,
        Err(AppError::NotFound)
    ));
    // Refusals say why, and store nothing.
    let (_, other_key) = issue(&["www.example.gov.cn"], 365);
    let (old_chain, old_key) = issue(&["old.example.gov.cn"], -1);
    for (c, k, why) in [
        ("not a certificate", key.as_str(), "no certificate"),
        (chain.as_str(), "not a key", "no usable private key"),
        (chain.as_str(), other_key.as_str(), "does not belong"),
        (old_chain.as_str(), old_key.as_str(), "过期"),
    ] {
        match certificates::upload(&env.state, &sec, "门户", c, k).await {
            Err(AppError::Invalid(msg)) => assert!(msg.contains(why), "{msg}"),
            other => panic!("{why}: {other:?}"),
        }
    }
    assert!(
        tls_certificate::Entity::find()
            .all(&env.state.db)
            .await
            .unwrap()
            .is_empty()
    );

    let before = snapshot::current_generation(&env.state.db).await.unwrap();
    let id = certificates::upload(&env.state, &sec, "门户 2027", &chain, &key)
        .await
        .unwrap();
    assert!(snapshot::current_generation(&env.state.db).await.unwrap() > before);
    let row = tls_certificate::Entity::find_by_id(id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.hostnames, "www.example.gov.cn,*.example.gov.cn");
    let key_body = key.lines().nth(1).unwrap();
    assert!(row.key_sealed.starts_with("sg1:") && !row.key_sealed.contains(key_body));
    let certs = snapshot_certs(&env).await;
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].key_pem.trim(), key.trim());
    // The gateway side indexes it by both names.
    let bundle =
        sitegroup_gateway::tls::parse_bundle(&certs[0].chain_pem, &certs[0].key_pem).unwrap();
    assert_eq!(bundle.names, ["www.example.gov.cn", "*.example.gov.cn"]);

    // A key rotation re-seals the key (and the ACME store), and the snapshot still opens it.
    let acme_name = format!("cert-{}", "ab".repeat(32));
    sitegroup_cms::acme_store::put(
        &env.state.db,
        &env.state.secrets.get(),
        &acme_name,
        b"-----BEGIN PRIVATE KEY-----",
    )
    .await
    .unwrap();
    let (_, n) = sitegroup_cms::secrets::rotate(&env.state.db, &env.state.data_dir)
        .await
        .unwrap();
    assert!(n >= 2, "certificate key and ACME item re-sealed ({n})");
    let row = tls_certificate::Entity::find_by_id(id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.key_sealed.starts_with("sg1:2:"), "{}", row.key_sealed);
    assert_eq!(snapshot_certs(&env).await[0].key_pem.trim(), key.trim());
    assert_eq!(
        sitegroup_cms::acme_store::get(&env.state.db, &env.state.secrets.reloaded(), &acme_name)
            .await
            .unwrap()
            .unwrap(),
        b"-----BEGIN PRIVATE KEY-----"
    );

    // Audited, then deleted.
    certificates::delete(&env.state, &sec, id).await.unwrap();
    assert!(snapshot_certs(&env).await.is_empty());
    let codes: Vec<String> = sitegroup_cms::db::entities::audit_log::Entity::find()
        .all(&env.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.event)
        .collect();
    assert!(codes.iter().any(|c| c == "certificate.upload"), "{codes:?}");
    assert!(codes.iter().any(|c| c == "certificate.delete"), "{codes:?}");
}

/// The HTTPS settings the gateways get for a site.
async fn site_tls(env: &Env, site_id: i32) -> sitegroup_contract::config::SiteTls {
    snapshot::build(&env.state.db, &env.state.admin, &env.state.secrets.get())
        .await
        .unwrap()
        .sites
        .into_iter()
        .find(|s| s.id == i64::from(site_id))
        .unwrap()
        .tls
}

#[tokio::test]
async fn only_the_system_administrator_switches_https_for_a_site() {
    let env = setup().await;
    let admin = actor(&env, "admin").await;
    let (site, _) = site_by_code(&env, "portal").await;
    let mut form = sites::SiteSettings::of(&site);
    form.https_redirect = true;
    form.acme = true;
    sites::update_settings(&env.state, &admin, site.id, &form)
        .await
        .unwrap();
    let tls = site_tls(&env, site.id).await;
    assert!(tls.redirect_https && tls.acme);

    // A unit administrator's save keeps what the 系统管理员 set, whatever the form says.
    let unit_admin = user(&env, &admin, "unitadmin", "", Some(site.org_id)).await;
    grant(&env, &admin, unit_admin, site.id, None, "unit_admin", None).await;
    let unit = actor(&env, "unitadmin").await;
    let mut form = sites::SiteSettings::of(&site);
    form.https_redirect = false;
    form.acme = false;
    sites::update_settings(&env.state, &unit, site.id, &form)
        .await
        .unwrap();
    let tls = site_tls(&env, site.id).await;
    assert!(tls.redirect_https && tls.acme);
}
