//! Building the configuration snapshot the gateways pull, and the generation counter that tells
//! them something changed.

use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use sitegroup_contract::config::{
    AccessList, AddressBan, CONTRACT_VERSION, ConfigSnapshot, PublishedFile, RateLimit,
    RequestLimits, Route, SecurityHeaders, Service, SiteConfig, SiteTls, Target, WafExclusion,
    WafPolicy,
};

use crate::db::entities::{config_generation, published_file, site, site_hostname};
use crate::state::AdminRoute;

/// Where every site's search page lives (proxied to the control plane).
/// The Content-Security-Policy of published sites: the themes' own scripts only (no inline
/// script), inline style attributes (article bodies carry alignment), images also from HTTPS
/// elsewhere (editors link them), nothing framing the site from outside.
pub const PUBLIC_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: https:; media-src 'self' https:; font-src 'self' data:; object-src 'none'; \
base-uri 'self'; form-action 'self'; frame-ancestors 'self'";

pub const SEARCH_PREFIX: &str = "/search/";

/// The site id the admin UI has in snapshots (real sites start at 1).
pub const ADMIN_SITE_ID: i64 = 0;

pub async fn current_generation(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(config_generation::Entity::find_by_id(1)
        .one(db)
        .await?
        .map(|row| row.generation)
        .unwrap_or(0))
}

/// Marks the configuration as changed. Call inside the transaction that made the change.
pub async fn bump_generation(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    config_generation::Entity::update_many()
        .col_expr(
            config_generation::Column::Generation,
            Expr::col(config_generation::Column::Generation).add(1),
        )
        .filter(config_generation::Column::Id.eq(1))
        .exec(db)
        .await?;
    Ok(())
}

/// Reads everything the gateways need. Runs in one read so the generation matches the content.
pub async fn build(
    db: &impl ConnectionTrait,
    admin: &AdminRoute,
    ring: &crate::secrets::Keyring,
) -> Result<ConfigSnapshot, DbErr> {
    let generation = current_generation(db).await?;
    let sites = site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(db)
        .await?;
    let mut hostnames: HashMap<i32, Vec<String>> = HashMap::new();
    for h in site_hostname::Entity::find()
        .order_by_asc(site_hostname::Column::Id)
        .all(db)
        .await?
    {
        hostnames.entry(h.site_id).or_default().push(h.hostname);
    }
    let mut manifests: HashMap<i32, BTreeMap<String, PublishedFile>> = HashMap::new();
    for f in published_file::Entity::find().all(db).await? {
        manifests.entry(f.site_id).or_default().insert(
            f.path,
            PublishedFile {
                sha256: f.sha256,
                content_type: f.content_type,
            },
        );
    }
    let mut out = vec![SiteConfig {
        id: ADMIN_SITE_ID,
        name: "管理后台".into(),
        hostnames: admin.hosts.clone(),
        routes: vec![Route {
            path_prefix: "/".into(),
            // The internal API lives on the same listener; it is for gateways only.
            deny_prefixes: vec!["/internal/".into()],
            target: Target::Proxy {
                upstreams: vec![admin.upstream.clone()],
            },
        }],
        manifest: BTreeMap::new(),
        waf: admin_waf_policy(),
        security_headers: SecurityHeaders {
            // The admin UI is never framed; pages the gateway answers itself for the admin host
            // (blocks, limits) carry the admin's policy too.
            frame_options: "DENY".into(),
            content_security_policy: crate::web::admin::CSP.into(),
            ..SecurityHeaders::default()
        },
        // Password guessing: 20 sign-in attempts a minute per address.
        rate_limits: vec![RateLimit {
            path_prefix: Some("/login".into()),
            requests: 20,
            per_seconds: 60,
        }],
        service: Service::Normal,
        access: AccessList {
            allow: admin.networks.clone(),
            deny: Vec::new(),
        },
        request_limits: RequestLimits::default(),
        tls: SiteTls {
            redirect_https: admin.https_only,
            acme: false,
        },
    }];
    for s in sites {
        let Some(hosts) = hostnames.remove(&s.id) else {
            continue; // a site without a hostname is not reachable yet
        };
        let origins = crate::monitor::probe::origins(&s);
        let routes = if origins.is_empty() {
            vec![
                Route {
                    path_prefix: "/".into(),
                    deny_prefixes: vec![],
                    target: Target::Published,
                },
                // The site search is answered by the control plane.
                Route {
                    path_prefix: SEARCH_PREFIX.into(),
                    deny_prefixes: vec![],
                    target: Target::Proxy {
                        upstreams: vec![admin.upstream.clone()],
                    },
                },
            ]
        } else {
            // A legacy site: its own servers answer everything (the published error page
            // still dresses the gateway's own answers).
            vec![Route {
                path_prefix: "/".into(),
                deny_prefixes: vec![],
                target: Target::Proxy { upstreams: origins },
            }]
        };
        out.push(SiteConfig {
            id: i64::from(s.id),
            name: s.name,
            hostnames: hosts,
            routes,
            manifest: manifests.remove(&s.id).unwrap_or_default(),
            waf: WafPolicy::default(),
            security_headers: SecurityHeaders {
                content_security_policy: PUBLIC_CSP.into(),
                ..SecurityHeaders::default()
            },
            // Searching costs the control plane more than a page does: 60 a minute per address.
            rate_limits: vec![RateLimit {
                path_prefix: Some(SEARCH_PREFIX.into()),
                requests: 60,
                per_seconds: 60,
            }],
            service: service_of(&s.status, &s.closed_redirect),
            access: AccessList::default(),
            request_limits: RequestLimits::default(),
            tls: SiteTls {
                redirect_https: s.https_redirect,
                acme: s.acme,
            },
        });
    }
    Ok(ConfigSnapshot {
        contract_version: CONTRACT_VERSION,
        generation: u64::try_from(generation).unwrap_or(0),
        generated_at: chrono::Utc::now().to_rfc3339(),
        sites: out,
        group_service: Service::Normal,
        group_access: AccessList::default(),
        certificates: crate::service::certificates::for_snapshot(db, ring).await?,
        bans: crate::monitor::bans::active(db, chrono::Utc::now())
            .await?
            .into_iter()
            .map(|b| AddressBan {
                address: b.address,
                until: b.expires_at.timestamp(),
            })
            .collect(),
    })
}

/// What the gateway does for a site in a given status: a site under construction is not
/// served (offline notice), one under maintenance shows the maintenance notice, a closed one
/// redirects permanently to `closed_redirect` or shows the closure notice. Its content stays
/// in the CMS either way.
fn service_of(status: &str, closed_redirect: &str) -> Service {
    match status {
        "维护" => Service::Maintenance {
            message: String::new(),
            retry_after: 3600,
        },
        "建设中" => Service::Offline,
        "只读" => Service::ReadOnly,
        "已关停" => Service::Closed {
            message: String::new(),
            redirect: closed_redirect.to_string(),
        },
        _ => Service::Normal,
    }
}

/// The admin's own WAF policy: editors post rich HTML (sanitised by the CMS on save), and
/// passwords may contain anything.
fn admin_waf_policy() -> WafPolicy {
    WafPolicy {
        exclusions: vec![
            WafExclusion {
                path_prefix: Some("/sites/".into()),
                tags: vec!["sitegroup/xss".into(), "attack-xss".into()],
                targets: vec!["ARGS:body".into()],
                reason: "文章正文为富文本，保存时由内容管理系统净化 Article bodies are rich HTML, sanitised by the CMS on save".into(),
                ..Default::default()
            },
            WafExclusion {
                path_prefix: Some("/articles/".into()),
                tags: vec!["sitegroup/xss".into(), "attack-xss".into()],
                targets: vec!["ARGS:body".into()],
                reason: "文章正文为富文本，保存时由内容管理系统净化 Article bodies are rich HTML, sanitised by the CMS on save".into(),
                ..Default::default()
            },
            WafExclusion {
                path_prefix: Some("/api/v1/".into()),
                tags: vec!["sitegroup/xss".into(), "attack-xss".into()],
                targets: vec!["ARGS:body".into()],
                reason: "接口提交的正文为富文本，保存时由内容管理系统净化 Bodies posted through the API are rich HTML, sanitised on save".into(),
                ..Default::default()
            },
            WafExclusion {
                path_prefix: None,
                tags: vec![".*".into()],
                targets: vec!["ARGS:/password/".into()],
                reason: "密码可以包含任意字符，只做哈希 Passwords may contain any characters; they are only hashed".into(),
                ..Default::default()
            },
            WafExclusion {
                path_prefix: Some("/monitor/settings".into()),
                tags: vec![".*".into()],
                targets: vec![
                    "ARGS:webhooks".into(),
                    "ARGS:probe_via".into(),
                    "ARGS:smtp_host".into(),
                    "ARGS:email_from".into(),
                    "ARGS:email_to".into(),
                    "ARGS:siem_targets".into(),
                ],
                reason: "告警渠道的网址、地址由安全管理员填写，控制面逐项校验 Alert channel URLs and addresses are typed by the security team and checked one by one".into(),
                ..Default::default()
            },
            WafExclusion {
                path_prefix: Some("/monitor/baselines".into()),
                tags: vec![".*".into()],
                targets: vec!["ARGS:ignore_regions".into(), "ARGS:path".into()],
                reason: "页面基线的忽略区域是正则表达式，由控制面逐条编译校验 Baseline ignore-regions are regular expressions, each compiled and checked by the control plane".into(),
                ..Default::default()
            },
            WafExclusion {
                path_prefix: Some("/sites/".into()),
                tags: vec![".*".into()],
                targets: vec!["ARGS:origin_upstreams".into()],
                reason: "旧网站源站地址（主机:端口）由控制面校验 Legacy origins (host:port) are checked by the control plane".into(),
                ..Default::default()
            },
        ],
        // Media uploads (up to 50 MB) are larger than the inspection buffer: on the upload
        // endpoints only, inspect their first part and record the rest as uninspected (the
        // CMS checks every file's content); anywhere else a large body is refused.
        large_body_paths: vec![
            "/media/upload/".into(),
            "/media/editor/".into(),
            "/registry/import".into(),
        ],
        ..WafPolicy::default()
    }
}
