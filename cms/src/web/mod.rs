//! HTTP surface of the control plane: `app(state)` builds the whole router, apart from serving,
//! so tests can drive it without a socket.
//!
//! * [`admin`]: the admin UI (server-rendered pages), reached through the gateway at the admin
//!   hostname.
//! * [`api`]: the JSON API for automation (`/api/v1`, bearer API tokens, OpenAPI document).
//! * [`internal`]: the token-authenticated API the gateways use (configuration, objects, log
//!   intake). The gateway refuses `/internal/` on the admin hostname.

pub mod admin;
pub mod api;
pub mod internal;
pub mod search;
pub mod session;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::SharedState;

pub fn app(state: SharedState) -> Router {
    Router::new()
        .merge(admin::router(state.clone()))
        .merge(api::router())
        .merge(internal::router())
        .merge(search::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/static/{*path}", get(static_file))
        .with_state(state)
}

/// The admin's static files, compiled into the binary: (path under /static/, content type,
/// bytes). The vendored packages are listed in `cms/static/vendor/README.md`.
const STATIC_FILES: &[(&str, &str, &[u8])] = &[
    (
        "admin.css",
        "text/css; charset=utf-8",
        include_bytes!("../../templates/admin/admin.css"),
    ),
    (
        "admin.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/admin.js"),
    ),
    (
        "admin-editor.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/admin-editor.js"),
    ),
    (
        "vendor/wangeditor/index.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/wangeditor/index.js"),
    ),
    (
        "vendor/wangeditor/style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/vendor/wangeditor/style.css"),
    ),
    (
        "vendor/htmx/htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/htmx/htmx.min.js"),
    ),
    (
        "vendor/alpinejs/alpine.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/alpinejs/alpine.min.js"),
    ),
];

async fn static_file(
    axum::extract::Path(path): axum::extract::Path<String>,
) -> axum::response::Response {
    match STATIC_FILES.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("max-age=3600"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            *bytes,
        )
            .into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// The admin UI's templates, compiled into the binary.
pub fn admin_templates() -> Result<minijinja::Environment<'static>, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_formatter(crate::theme::html_formatter);
    for (name, source) in [
        (
            "layout.html",
            include_str!("../../templates/admin/layout.html"),
        ),
        (
            "login.html",
            include_str!("../../templates/admin/login.html"),
        ),
        (
            "password.html",
            include_str!("../../templates/admin/password.html"),
        ),
        (
            "sites.html",
            include_str!("../../templates/admin/sites.html"),
        ),
        ("site.html", include_str!("../../templates/admin/site.html")),
        (
            "article.html",
            include_str!("../../templates/admin/article.html"),
        ),
        (
            "articles.html",
            include_str!("../../templates/admin/articles.html"),
        ),
        ("todo.html", include_str!("../../templates/admin/todo.html")),
        (
            "search.html",
            include_str!("../../templates/admin/search.html"),
        ),
        (
            "revisions.html",
            include_str!("../../templates/admin/revisions.html"),
        ),
        ("diff.html", include_str!("../../templates/admin/diff.html")),
        (
            "settings.html",
            include_str!("../../templates/admin/settings.html"),
        ),
        (
            "columns.html",
            include_str!("../../templates/admin/columns.html"),
        ),
        (
            "users.html",
            include_str!("../../templates/admin/users.html"),
        ),
        ("orgs.html", include_str!("../../templates/admin/orgs.html")),
        (
            "media.html",
            include_str!("../../templates/admin/media.html"),
        ),
        (
            "tokens.html",
            include_str!("../../templates/admin/tokens.html"),
        ),
        (
            "login_2fa.html",
            include_str!("../../templates/admin/login_2fa.html"),
        ),
        (
            "account.html",
            include_str!("../../templates/admin/account.html"),
        ),
        (
            "account_2fa.html",
            include_str!("../../templates/admin/account_2fa.html"),
        ),
        (
            "accounts.html",
            include_str!("../../templates/admin/accounts.html"),
        ),
        (
            "security.html",
            include_str!("../../templates/admin/security.html"),
        ),
        (
            "security_sessions.html",
            include_str!("../../templates/admin/security_sessions.html"),
        ),
        (
            "security_users.html",
            include_str!("../../templates/admin/security_users.html"),
        ),
        (
            "security_certificates.html",
            include_str!("../../templates/admin/security_certificates.html"),
        ),
        (
            "monitor.html",
            include_str!("../../templates/admin/monitor.html"),
        ),
        (
            "monitor_alerts.html",
            include_str!("../../templates/admin/monitor_alerts.html"),
        ),
        (
            "monitor_settings.html",
            include_str!("../../templates/admin/monitor_settings.html"),
        ),
        (
            "monitor_bans.html",
            include_str!("../../templates/admin/monitor_bans.html"),
        ),
        (
            "monitor_words.html",
            include_str!("../../templates/admin/monitor_words.html"),
        ),
        (
            "monitor_links.html",
            include_str!("../../templates/admin/monitor_links.html"),
        ),
        (
            "monitor_logs.html",
            include_str!("../../templates/admin/monitor_logs.html"),
        ),
        (
            "monitor_dashboard.html",
            include_str!("../../templates/admin/monitor_dashboard.html"),
        ),
        (
            "incidents.html",
            include_str!("../../templates/admin/incidents.html"),
        ),
        (
            "incident.html",
            include_str!("../../templates/admin/incident.html"),
        ),
        (
            "plans.html",
            include_str!("../../templates/admin/plans.html"),
        ),
        (
            "incident_report.html",
            include_str!("../../templates/admin/incident_report.html"),
        ),
        (
            "report_summary.html",
            include_str!("../../templates/admin/report_summary.html"),
        ),
        (
            "registry.html",
            include_str!("../../templates/admin/registry.html"),
        ),
        (
            "registry_consolidation.html",
            include_str!("../../templates/admin/registry_consolidation.html"),
        ),
        (
            "registry_deadlines.html",
            include_str!("../../templates/admin/registry_deadlines.html"),
        ),
        (
            "registry_form.html",
            include_str!("../../templates/admin/registry_form.html"),
        ),
        (
            "monitor_word_findings.html",
            include_str!("../../templates/admin/monitor_word_findings.html"),
        ),
        (
            "monitor_baselines.html",
            include_str!("../../templates/admin/monitor_baselines.html"),
        ),
        (
            "monitor_health.html",
            include_str!("../../templates/admin/monitor_health.html"),
        ),
        (
            "monitor_health_site.html",
            include_str!("../../templates/admin/monitor_health_site.html"),
        ),
        (
            "audit.html",
            include_str!("../../templates/admin/audit.html"),
        ),
    ] {
        env.add_template(name, source)?;
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    /// Every template file is compiled into the admin (a page whose template was forgotten
    /// would only fail when first opened).
    #[test]
    fn every_admin_template_is_registered() {
        let env = super::admin_templates().expect("templates compile");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/admin");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("template dir") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".html") {
                assert!(env.get_template(&name).is_ok(), "{name} is not registered");
                seen += 1;
            }
        }
        assert!(seen >= 15, "{seen} templates");
    }
}
