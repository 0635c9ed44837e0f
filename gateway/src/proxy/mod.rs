//! The gateway's one [`ProxyHttp`] implementation.
//!
//! Phases of a request, in pingora's order:
//!
//! ```text
//! request_filter          resolve Host → site, path → route; answer unknown hosts (404) and
//!                         denied paths (404); run WAF phases 1–2 (headers, then the body read
//!                         in full up to the inspection limit) and answer blocks (403 page
//!                         with the incident ID); serve published pages (verified against the
//!                         manifest hash, 503 on mismatch); pick the upstream for proxied
//!                         routes
//! upstream_peer           the upstream picked above
//! upstream_request_filter X-Forwarded-For / X-Real-IP / X-Request-Id / X-Forwarded-Proto
//! response_filter         strip banners (Server, X-Powered-By, …), add X-Request-Id; WAF
//!                         phase 3 when the site inspects responses (a block turns the
//!                         response into a 403 with the block page)
//! response_body_filter    WAF phase 4: hold the body back (up to 512 KiB), inspect it, send
//!                         it on or the block page instead
//! (downstream modules)    compression of text responses the client accepts compressed
//! fail_to_proxy           branded 502 page when the upstream fails
//! logging                 one access record per request
//! ```

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use sitegroup_contract::config::PublishedFile;
use sitegroup_contract::log::{AccessRecord, SecurityEvent, SecurityEventKind};
use sitegroup_contract::store::{ObjectError, ObjectStore};

mod waf_steps;

use crate::logs::LogSink;
use crate::pages::ErrorPage;
use crate::routing::{PageLookup, RouteTarget, RoutingTable, Site};
use sitegroup_contract::config::Service;

/// Headers legacy servers use to announce themselves; never passed on to visitors.
const BANNER_HEADERS: &[&str] = &[
    "server",
    "x-powered-by",
    "x-aspnet-version",
    "x-aspnetmvc-version",
    "x-generator",
    "x-drupal-cache",
];

pub struct Gateway {
    pub table: Arc<ArcSwap<RoutingTable>>,
    pub store: ObjectStore,
    /// Published files already verified, kept while unchanged on disk.
    pub objects: Arc<crate::objects::VerifiedObjects>,
    pub logs: LogSink,
    /// Name of this node in logs and events.
    pub node: String,
    pub waf: sitegroup_waf::Engine,
    pub limits: crate::limits::RateLimiters,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub trusted_proxies: crate::limits::TrustedProxies,
    /// Idle time a kept-alive HTTP/1 connection waits for its next request.
    pub keepalive_secs: u64,
    /// Running ACME orders (HTTP-01 challenges are answered from here).
    pub acme: crate::tls::acme::Registry,
    /// Port of this gateway's HTTPS listener, for redirects (443 when unknown).
    pub https_port: Option<u16>,
}

/// Per-request state shared across the phases.
pub struct RequestCtx {
    request_id: String,
    started: Instant,
    site: Option<Arc<Site>>,
    upstream: Option<String>,
    served_by: &'static str,
    /// The visitor's address (see `TrustedProxies`).
    client_ip: String,
    /// The address of the connection's other end (a trusted proxy, or the visitor).
    peer_ip: String,
    /// The visitor came over HTTPS.
    https: bool,
    host: String,
    /// The WAF transaction, kept after the request phases when the site inspects responses.
    waf: Option<std::sync::Mutex<sitegroup_waf::Transaction>>,
    /// Response body held back for phase 4.
    waf_buffer: Option<Vec<u8>>,
    /// Phase 3 blocked the response: its body is replaced by the block page.
    waf_replace_body: bool,
    /// `Retry-After` for a 429 or 503.
    retry_after: Option<u32>,
    /// An operator's text for the page (maintenance notice).
    page_message: Option<String>,
    /// The route prefix of a proxied request (to find its upstream pool again on retry).
    route_prefix: Option<String>,
    /// Connection attempts to upstreams so far.
    connect_failures: u32,
    /// When the upstream was chosen, and how long until its response header arrived.
    upstream_started: Option<Instant>,
    upstream_ms: Option<u64>,
    /// The WAF's outcome for the access log.
    waf_outcome: String,
    /// The request's Content-Length, when it has a valid one.
    content_length: Option<u64>,
    /// The site's body limit, enforced on streamed (chunked) bodies as they pass.
    max_body: u64,
    body_seen: u64,
}

impl Gateway {
    /// Writes a response the gateway makes itself, with the site's hardening headers (the
    /// defaults when no site was resolved).
    async fn respond(
        &self,
        session: &mut Session,
        site: Option<&Site>,
        status: u16,
        content_type: &str,
        extra: &[(&'static str, String)],
        body: Bytes,
    ) -> Result<()> {
        let head_only = session.req_header().method == http::Method::HEAD;
        let mut resp = ResponseHeader::build(status, Some(6))?;
        resp.insert_header("content-type", content_type)?;
        resp.insert_header("content-length", body.len().to_string())?;
        match site {
            Some(site) => {
                for (name, value) in &site.security_headers {
                    resp.insert_header(*name, value.as_str())?;
                }
            }
            None => {
                resp.insert_header("x-content-type-options", "nosniff")?;
                resp.insert_header("x-frame-options", "SAMEORIGIN")?;
                resp.insert_header("referrer-policy", "strict-origin-when-cross-origin")?;
                resp.insert_header("x-xss-protection", "1; mode=block")?;
                resp.insert_header("strict-transport-security", "max-age=31536000")?;
                // The gateway's own pages (unknown host, refusals) need nothing from anywhere.
                resp.insert_header(
                    "content-security-policy",
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
                     base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                )?;
            }
        }
        for (name, value) in extra {
            resp.insert_header(*name, value.as_str())?;
        }
        if head_only || body.is_empty() {
            session.write_response_header(Box::new(resp), true).await
        } else {
            session.write_response_header(Box::new(resp), false).await?;
            session.write_response_body(Some(body), true).await
        }
    }

    async fn respond_page(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        page: ErrorPage,
    ) -> Result<()> {
        ctx.served_by = match page {
            ErrorPage::UnknownHost | ErrorPage::NotFound => "not_found",
            ErrorPage::Blocked | ErrorPage::TooLarge => "waf",
            ErrorPage::TooManyRequests => "rate_limited",
            ErrorPage::Maintenance
            | ErrorPage::ReadOnly
            | ErrorPage::Offline
            | ErrorPage::Closed => "switch",
            ErrorPage::Forbidden => "access_list",
            ErrorPage::HeadersTooLarge => "limits",
            _ => "error",
        };
        // In the site's own look when it published its theme's error page (verified like any
        // published file; the gateway's own page otherwise).
        let themed = match ctx.site.as_ref().and_then(|s| s.error_template().cloned()) {
            Some(file) => self
                .read_object(&file.sha256)
                .await
                .ok()
                .and_then(|b| String::from_utf8(b.to_vec()).ok()),
            None => None,
        };
        let body = Bytes::from(match &themed {
            Some(template) => {
                page.render_in(template, &ctx.request_id, ctx.page_message.as_deref())
            }
            None => page.render_with(&ctx.request_id, ctx.page_message.as_deref()),
        });
        let mut extra = vec![
            ("x-request-id", ctx.request_id.clone()),
            ("cache-control", "no-store".to_string()),
        ];
        if let Some(seconds) = ctx.retry_after {
            extra.push(("retry-after", seconds.to_string()));
        }
        let site = ctx.site.clone();
        self.respond(
            session,
            site.as_deref(),
            page.status(),
            "text/html; charset=utf-8",
            &extra,
            body,
        )
        .await
    }

    fn security_event(
        &self,
        session: &Session,
        ctx: &RequestCtx,
        kind: SecurityEventKind,
        detail: String,
    ) {
        self.metrics
            .security(ctx.site.as_ref().map(|s| s.id), kind.as_str());
        self.logs.security(SecurityEvent {
            time: chrono::Utc::now().to_rfc3339(),
            kind,
            node: self.node.clone(),
            request_id: ctx.request_id.clone(),
            site_id: ctx.site.as_ref().map(|s| s.id),
            host: ctx.host.clone(),
            path: session.req_header().uri.path().to_string(),
            client_ip: ctx.client_ip.clone(),
            detail,
        });
    }

    /// The upstream pool of the request's route.
    fn pool_of<'c>(&self, ctx: &'c RequestCtx) -> Option<&'c crate::routing::Upstreams> {
        let site = ctx.site.as_ref()?;
        let prefix = ctx.route_prefix.as_deref()?;
        site.routes()
            .iter()
            .find(|r| r.prefix == prefix)
            .and_then(|r| match &r.target {
                RouteTarget::Proxy(pool) => Some(pool),
                RouteTarget::Published => None,
            })
    }

    /// The block page's bytes, for replacing a response body after its header went out.
    fn block_body(&self, ctx: &RequestCtx) -> Bytes {
        Bytes::from(ErrorPage::Blocked.render(&ctx.request_id))
    }

    /// A redirect the gateway answers itself (closed sites, HTTPS-only sites).
    async fn redirect(
        &self,
        session: &mut Session,
        ctx: &RequestCtx,
        status: u16,
        location: String,
    ) -> Result<()> {
        let extra = [
            ("location", location),
            ("x-request-id", ctx.request_id.clone()),
        ];
        self.respond(
            session,
            ctx.site.as_deref(),
            status,
            "text/plain; charset=utf-8",
            &extra,
            Bytes::from_static(b"Moved Permanently"),
        )
        .await
    }

    /// A published file's verified bytes: from memory when the file on disk is unchanged (a
    /// `stat`, inline — a thread hand-off per request cost more than the page), else read and
    /// verified on a blocking thread.
    async fn read_object(&self, hash: &str) -> Result<Bytes, ObjectError> {
        if let Some(bytes) = self.objects.cached(hash) {
            return Ok(bytes);
        }
        let objects = self.objects.clone();
        let hash = hash.to_string();
        tokio::task::spawn_blocking(move || objects.read(&hash))
            .await
            .unwrap_or_else(|e| {
                Err(ObjectError::Io {
                    hash: String::new(),
                    source: std::io::Error::other(e),
                })
            })
    }

    /// Serves a published file after checking its bytes against the manifest hash.
    async fn serve_published(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        file: PublishedFile,
        status: u16,
    ) -> Result<()> {
        let etag = format!("\"{}\"", file.sha256);
        if status == 200
            && session
                .req_header()
                .headers
                .get(http::header::IF_NONE_MATCH)
                .is_some_and(|v| v.as_bytes() == etag.as_bytes())
                // A 304 is only honest if the stored file is still intact.
                && self.store.contains(&file.sha256)
        {
            let intact = self.read_object(&file.sha256).await.is_ok();
            if intact {
                ctx.served_by = "published";
                let extra = [("etag", etag), ("x-request-id", ctx.request_id.clone())];
                return self
                    .respond(
                        session,
                        ctx.site.clone().as_deref(),
                        304,
                        &file.content_type,
                        &extra,
                        Bytes::new(),
                    )
                    .await;
            }
        }
        match self.read_object(&file.sha256).await {
            Ok(bytes) => {
                ctx.served_by = "published";
                let extra = [
                    ("etag", etag),
                    ("cache-control", "no-cache".to_string()),
                    ("x-request-id", ctx.request_id.clone()),
                ];
                let site = ctx.site.clone();
                self.respond(
                    session,
                    site.as_deref(),
                    status,
                    &file.content_type,
                    &extra,
                    bytes,
                )
                .await
            }
            Err(ObjectError::Tampered { expected, actual }) => {
                self.security_event(
                    session,
                    ctx,
                    SecurityEventKind::IntegrityViolation,
                    format!("published file hashes to {actual}, manifest says {expected}"),
                );
                self.respond_page(session, ctx, ErrorPage::IntegrityFailure)
                    .await
            }
            Err(ObjectError::Missing(hash)) => {
                self.security_event(
                    session,
                    ctx,
                    SecurityEventKind::MissingObject,
                    format!("published file {hash} is missing from the store"),
                );
                self.respond_page(session, ctx, ErrorPage::IntegrityFailure)
                    .await
            }
            Err(e @ ObjectError::Io { .. }) => {
                tracing::error!("{e}");
                self.respond_page(session, ctx, ErrorPage::IntegrityFailure)
                    .await
            }
        }
    }
}

/// `www.example.gov.cn:8080` → `www.example.gov.cn`; `[::1]:80` → `[::1]`.
fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |e| &host[..=e]);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

pub(crate) fn new_request_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    /// Enforces the site's body limit on bodies streamed to the upstream (a chunked body has
    /// no Content-Length to refuse up front): past the limit the request is aborted.
    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        if let Some(b) = body {
            ctx.body_seen += b.len() as u64;
            if ctx.body_seen > ctx.max_body {
                return Err(Error::explain(
                    ErrorType::InvalidHTTPHeader,
                    "request body larger than the site allows",
                ));
            }
        }
        Ok(())
    }

    /// Compression of text responses (gzip, brotli, zstd as the client accepts) for published
    /// pages, gateway pages and proxied responses alike.
    fn init_downstream_modules(&self, modules: &mut pingora::modules::http::HttpModules) {
        modules
            .add_module(pingora::modules::http::compression::ResponseCompressionBuilder::enable(6));
    }

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx {
            request_id: new_request_id(),
            started: Instant::now(),
            site: None,
            upstream: None,
            served_by: "error",
            client_ip: String::new(),
            peer_ip: String::new(),
            https: false,
            host: String::new(),
            waf: None,
            waf_buffer: None,
            waf_replace_body: false,
            retry_after: None,
            page_message: None,
            route_prefix: None,
            connect_failures: 0,
            upstream_started: None,
            upstream_ms: None,
            waf_outcome: String::new(),
            content_length: None,
            max_body: u64::MAX,
            body_seen: 0,
        }
    }

    /// Resolves site and route, and answers everything that is not proxied. `Ok(true)` means a
    /// response was written here; `Ok(false)` continues to the upstream chosen in `ctx`.
    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        let peer = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.ip());
        ctx.https = session.digest().is_some_and(|d| d.ssl_digest.is_some());
        // pingora keeps HTTP/1.1 connections open forever by default; an idle one waits this
        // long (a client that asked to close still gets its close).
        if session.get_keepalive().is_some() {
            session.set_keepalive(Some(self.keepalive_secs));
        }
        let req = session.req_header();
        if let Some(peer) = peer {
            let forwarded = req
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok());
            ctx.client_ip = self.trusted_proxies.client(peer, forwarded).to_string();
            ctx.peer_ip = peer.to_string();
        }
        ctx.host = req
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri.authority().map(|a| a.as_str()))
            .unwrap_or("")
            .to_string();
        let path = req.uri.path().to_string();
        let method = req.method.clone();
        let bare_host = host_without_port(&ctx.host).to_ascii_lowercase();

        // ACME HTTP-01 challenges of this gateway's own orders, before anything else (the
        // CA's validators come from anywhere and over plain HTTP).
        if let Some(token) = path.strip_prefix("/.well-known/acme-challenge/")
            && let Some(key_auth) = self.acme.http01(&bare_host, token)
        {
            ctx.served_by = "acme";
            self.respond(
                session,
                None,
                200,
                "application/octet-stream",
                &[],
                Bytes::from(key_auth),
            )
            .await?;
            return Ok(true);
        }

        let table = self.table.load();
        let Some(site) = table.site_for_host(&ctx.host).cloned() else {
            self.respond_page(session, ctx, ErrorPage::UnknownHost)
                .await?;
            return Ok(true);
        };
        ctx.site = Some(site.clone());
        // BREACH: the admin's pages carry secrets (CSRF tokens) beside reflected input, so
        // they go out uncompressed; its static files are compressed as usual.
        if site.id == 0
            && !path.starts_with("/static/")
            && let Some(c) = session
                .downstream_modules_ctx
                .get_mut::<pingora::modules::http::compression::ResponseCompression>()
        {
            c.adjust_level(0);
        }
        if !site.access.permits(&ctx.client_ip) {
            self.security_event(
                session,
                ctx,
                SecurityEventKind::AddressRefused,
                format!("{} is not allowed on this site", ctx.client_ip),
            );
            self.respond_page(session, ctx, ErrorPage::Forbidden)
                .await?;
            return Ok(true);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        if let Some(until) = site.banned_until(&ctx.client_ip, now) {
            self.security_event(
                session,
                ctx,
                SecurityEventKind::AddressRefused,
                format!(
                    "{} is banned for {} more seconds",
                    ctx.client_ip,
                    until - now
                ),
            );
            self.respond_page(session, ctx, ErrorPage::Forbidden)
                .await?;
            return Ok(true);
        }
        // Plain HTTP to a site that is served over HTTPS only: 301 (GET, HEAD) or 308 (keeps
        // the method and body) to the same URL over HTTPS.
        if site.tls.redirect_https && !ctx.https {
            let port = match self.https_port {
                Some(443) | None => String::new(),
                Some(p) => format!(":{p}"),
            };
            let target = session
                .req_header()
                .uri
                .path_and_query()
                .map_or("/", |pq| pq.as_str());
            let location = format!("https://{bare_host}{port}{target}");
            let status = if method == http::Method::GET || method == http::Method::HEAD {
                301
            } else {
                308
            };
            ctx.served_by = "redirect";
            self.redirect(session, ctx, status, location).await?;
            return Ok(true);
        }
        // Size limits.
        let req = session.req_header();
        let header_bytes: usize = req
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum();
        ctx.content_length = req
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        if header_bytes > site.request_limits.max_header_bytes as usize {
            self.respond_page(session, ctx, ErrorPage::HeadersTooLarge)
                .await?;
            return Ok(true);
        }
        if ctx
            .content_length
            .is_some_and(|n| n > site.request_limits.max_body_bytes)
        {
            self.respond_page(session, ctx, ErrorPage::TooLarge).await?;
            return Ok(true);
        }
        ctx.max_body = site.request_limits.max_body_bytes;
        // Emergency switches come before everything else the site does.
        match &site.service {
            Service::Normal => {}
            Service::Maintenance {
                message,
                retry_after,
            } => {
                ctx.retry_after = Some(*retry_after);
                ctx.page_message = (!message.is_empty()).then(|| message.clone());
                self.respond_page(session, ctx, ErrorPage::Maintenance)
                    .await?;
                return Ok(true);
            }
            Service::ReadOnly => {
                if method != http::Method::GET && method != http::Method::HEAD {
                    self.respond_page(session, ctx, ErrorPage::ReadOnly).await?;
                    return Ok(true);
                }
            }
            Service::Offline => {
                self.respond_page(session, ctx, ErrorPage::Offline).await?;
                return Ok(true);
            }
            Service::Closed { message, redirect } => {
                if redirect.is_empty() {
                    ctx.page_message = (!message.is_empty()).then(|| message.clone());
                    self.respond_page(session, ctx, ErrorPage::Closed).await?;
                } else {
                    // The permanent redirect carries the closure notice too, for clients
                    // that show a redirect's page instead of following it.
                    ctx.served_by = "switch";
                    let notice =
                        format!("根据网站集约化工作安排，本网站已关停，相关内容请访问 {redirect}");
                    let body = ErrorPage::Closed.render_with(&ctx.request_id, Some(&notice));
                    let extra = [
                        ("location", redirect.clone()),
                        ("x-request-id", ctx.request_id.clone()),
                    ];
                    self.respond(
                        session,
                        ctx.site.as_deref(),
                        301,
                        "text/html; charset=utf-8",
                        &extra,
                        Bytes::from(body),
                    )
                    .await?;
                }
                return Ok(true);
            }
        }
        let Some(route) = site.route_for(&path) else {
            self.respond_page(session, ctx, ErrorPage::NotFound).await?;
            return Ok(true);
        };
        if route.denies(&path) {
            self.security_event(
                session,
                ctx,
                SecurityEventKind::DeniedPath,
                format!("path denied on route {}", route.prefix),
            );
            self.respond_page(session, ctx, ErrorPage::NotFound).await?;
            return Ok(true);
        }
        if let Some(over) = self.limits.check(&site, &path, &ctx.client_ip) {
            if over.first {
                let l = over.limit;
                let detail = format!(
                    "more than {} requests in {} s{}",
                    l.requests,
                    l.per_seconds,
                    l.path_prefix
                        .as_deref()
                        .map(|p| format!(" under {p}"))
                        .unwrap_or_default()
                );
                self.security_event(session, ctx, SecurityEventKind::RateLimited, detail);
            }
            ctx.retry_after = Some(over.limit.per_seconds);
            self.respond_page(session, ctx, ErrorPage::TooManyRequests)
                .await?;
            return Ok(true);
        }
        if self.waf_request(session, ctx, &site, &path).await? {
            return Ok(true);
        }
        match &route.target {
            RouteTarget::Proxy(pool) => {
                ctx.upstream = Some(pool.pick().to_string());
                ctx.route_prefix = Some(route.prefix.clone());
                ctx.served_by = "proxy";
                Ok(false)
            }
            RouteTarget::Published => {
                if method != http::Method::GET && method != http::Method::HEAD {
                    self.respond_page(session, ctx, ErrorPage::MethodNotAllowed)
                        .await?;
                    return Ok(true);
                }
                match site.lookup_page(&path) {
                    PageLookup::Found(_, file) => {
                        let file = file.clone();
                        self.serve_published(session, ctx, file, 200).await?;
                    }
                    PageLookup::RedirectToDir(location) => {
                        ctx.served_by = "published";
                        let extra = [
                            ("location", location),
                            ("x-request-id", ctx.request_id.clone()),
                        ];
                        self.respond(
                            session,
                            Some(&site),
                            301,
                            "text/plain",
                            &extra,
                            Bytes::new(),
                        )
                        .await?;
                    }
                    PageLookup::NotFound => match site.not_found_page().cloned() {
                        Some(file) => self.serve_published(session, ctx, file, 404).await?,
                        None => self.respond_page(session, ctx, ErrorPage::NotFound).await?,
                    },
                }
                Ok(true)
            }
        }
    }

    /// A connection to an upstream failed: take it out of rotation for 10 s and, for up to
    /// two more attempts, retry on another one of the pool.
    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        ctx.connect_failures += 1;
        // The configured address (what the pool knows), not the resolved one.
        let addr = ctx.upstream.clone().unwrap_or_default();
        if let Some(pool) = self.pool_of(ctx) {
            pool.mark_down(&addr, 10_000);
            if ctx.connect_failures < 3 && pool.addrs().len() > 1 {
                ctx.upstream = Some(pool.pick().to_string());
                e.set_retry(true);
            }
        }
        e
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        ctx.upstream_started = Some(Instant::now());
        let Some(addr) = ctx.upstream.as_deref() else {
            return Err(Error::explain(
                ErrorType::InternalError,
                "no upstream chosen for a proxied route",
            ));
        };
        let mut peer = HttpPeer::new(addr, false, String::new());
        peer.options.connection_timeout = Some(std::time::Duration::from_secs(5));
        peer.options.read_timeout = Some(std::time::Duration::from_secs(60));
        Ok(Box::new(peer))
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        // From an untrusted peer, whatever the client claims in X-Forwarded-For is replaced;
        // behind trusted proxies the chain is kept and the proxy's address appended.
        let chain = match upstream_request
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        {
            Some(chain) if ctx.peer_ip != ctx.client_ip => format!("{chain}, {}", ctx.peer_ip),
            _ => ctx.client_ip.clone(),
        };
        upstream_request.insert_header("x-forwarded-for", chain)?;
        upstream_request.insert_header("x-real-ip", ctx.client_ip.as_str())?;
        upstream_request.insert_header("x-request-id", ctx.request_id.as_str())?;
        upstream_request.insert_header(
            "x-forwarded-proto",
            if ctx.https { "https" } else { "http" },
        )?;
        upstream_request.insert_header("x-forwarded-host", ctx.host.as_str())?;
        // Responses the WAF inspects are fetched uncompressed, so it sees what the visitor
        // would read.
        if ctx.waf.is_some() {
            upstream_request.remove_header("accept-encoding");
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        for name in BANNER_HEADERS {
            upstream_response.remove_header(*name);
        }
        upstream_response.insert_header("x-request-id", ctx.request_id.as_str())?;
        ctx.upstream_ms = ctx
            .upstream_started
            .map(|t| u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX));
        // Hardening headers the origin did not set itself.
        if let Some(site) = &ctx.site {
            for (name, value) in &site.security_headers {
                if !upstream_response.headers.contains_key(*name) {
                    upstream_response.insert_header(*name, value.as_str())?;
                }
            }
        }
        // WAF phase 3, and the decision whether to hold the body back for phase 4.
        let mut blocked = None;
        if let Some(m) = &ctx.waf {
            let mut tx = m.lock().unwrap_or_else(|e| e.into_inner());
            for (name, value) in &upstream_response.headers {
                tx.add_response_header(name.as_str().as_bytes(), value.as_bytes());
            }
            let status = upstream_response.status.as_u16();
            if let Some(i) = tx.process_response_headers(status, b"HTTP/1.1") {
                blocked = Some(crate::waf::describe(&tx, Some(&i)));
            } else if tx.wants_response_body()
                && !upstream_response.headers.contains_key("content-encoding")
            {
                ctx.waf_buffer = Some(Vec::new());
                upstream_response.remove_header("content-length");
            }
        }
        if let Some(detail) = blocked {
            self.security_event(session, ctx, SecurityEventKind::WafBlocked, detail);
            ctx.served_by = "waf";
            ctx.waf_replace_body = true;
            upstream_response.set_status(403)?;
            upstream_response.remove_header("content-length");
            upstream_response.remove_header("content-encoding");
            upstream_response.insert_header("content-type", "text/html; charset=utf-8")?;
        }
        Ok(())
    }

    /// WAF phase 4: holds the body back (up to the response inspection limit), inspects it,
    /// and sends it on — or the block page instead, when a rule blocks the response.
    fn response_body_filter(
        &self,
        session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<Option<std::time::Duration>> {
        if ctx.waf_replace_body {
            *body = end_of_stream.then(|| self.block_body(ctx));
            return Ok(None);
        }
        let Some(buffer) = ctx.waf_buffer.as_mut() else {
            return Ok(None);
        };
        if let Some(chunk) = body.take() {
            buffer.extend_from_slice(&chunk);
        }
        let over = buffer.len() > crate::waf::RESPONSE_INSPECT_LIMIT;
        if !end_of_stream && !over {
            return Ok(None);
        }
        let held = ctx.waf_buffer.take().unwrap_or_default();
        let verdict = ctx.waf.as_ref().map(|m| {
            let mut tx = m.lock().unwrap_or_else(|e| e.into_inner());
            tx.append_response_body(&held);
            tx.process_response_body()
                .map(|i| crate::waf::describe(&tx, Some(&i)))
        });
        match verdict.flatten() {
            Some(detail) => {
                self.security_event(session, ctx, SecurityEventKind::WafBlocked, detail);
                ctx.served_by = "waf";
                // The header has gone out already; what the visitor gets instead of the leak
                // is the block page, and the rest of the upstream body is dropped.
                ctx.waf_replace_body = true;
                *body = Some(self.block_body(ctx));
            }
            None => *body = Some(Bytes::from(held)),
        }
        Ok(None)
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        let page = match (e.esource(), e.etype()) {
            (
                ErrorSource::Upstream,
                ErrorType::ReadTimedout | ErrorType::WriteTimedout | ErrorType::ConnectTimedout,
            ) => Some(ErrorPage::GatewayTimeout),
            (ErrorSource::Upstream, _) => Some(ErrorPage::BadGateway),
            // Downstream trouble: the client is gone (nobody to answer) or sent garbage.
            (_, ErrorType::ReadError | ErrorType::WriteError | ErrorType::ConnectionClosed) => None,
            (_, ErrorType::HTTPStatus(413)) => Some(ErrorPage::TooLarge),
            (_, ErrorType::HTTPStatus(code)) if *code != 400 => {
                let _ = session.respond_error(*code).await;
                return FailToProxy {
                    error_code: *code,
                    can_reuse_downstream: false,
                };
            }
            _ => Some(ErrorPage::BadRequest),
        };
        let code = match page {
            Some(page) => {
                if e.esource() == &ErrorSource::Upstream {
                    tracing::warn!(upstream = ?ctx.upstream, "proxy failed: {e}");
                }
                match self.respond_page(session, ctx, page).await {
                    Ok(()) => page.status(),
                    Err(_) => 0,
                }
            }
            None => 0,
        };
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut RequestCtx) {
        if let Some(m) = ctx.waf.take() {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .process_logging();
        }
        let req = session.req_header();
        let status = session
            .response_written()
            .map(|r| r.status.as_u16())
            .unwrap_or(0);
        self.metrics.request(
            ctx.site.as_ref().map(|s| s.id),
            status,
            ctx.started.elapsed(),
        );
        self.metrics
            .generation
            .set(i64::try_from(self.table.load().generation).unwrap_or(i64::MAX));
        let header = |name: http::header::HeaderName| {
            req.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        self.logs.access(AccessRecord {
            time: chrono::Utc::now().to_rfc3339(),
            node: self.node.clone(),
            request_id: ctx.request_id.clone(),
            site_id: ctx.site.as_ref().map(|s| s.id),
            client_ip: ctx.client_ip.clone(),
            method: req.method.to_string(),
            host: host_without_port(&ctx.host).to_string(),
            path: req.uri.path().to_string(),
            query: req.uri.query().map(str::to_string),
            status,
            bytes_received: session.body_bytes_read() as u64,
            bytes_sent: session.body_bytes_sent() as u64,
            duration_ns: u64::try_from(ctx.started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            served_by: ctx.served_by.to_string(),
            upstream: ctx.upstream.clone().filter(|_| ctx.served_by == "proxy"),
            upstream_ms: ctx.upstream_ms,
            waf: ctx.waf_outcome.clone(),
            user_agent: header(http::header::USER_AGENT),
            referrer: header(http::header::REFERER),
            tls_version: session
                .digest()
                .and_then(|d| d.ssl_digest.as_ref())
                .map(|d| tls_version(&d.version)),
        });
    }
}

/// `1.2` / `1.3` (ECS `tls.version`) from the TLS library's name of the version.
pub(crate) fn tls_version(name: &str) -> String {
    let digits: String = name
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .map(|c| if c == '_' { '.' } else { c })
        .collect();
    if digits.is_empty() {
        name.to_string()
    } else {
        digits
    }
}
