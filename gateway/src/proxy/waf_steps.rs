//! WAF phases 1 and 2 at the gateway, as a step of `request_filter` (see the chart in the
//! parent module).

use pingora::prelude::*;
use pingora::proxy::Session;
use sitegroup_contract::config::OversizedBody;
use sitegroup_contract::log::SecurityEventKind;

use super::{Gateway, RequestCtx};
use crate::pages::ErrorPage;
use crate::routing::Site;
use crate::waf::INSPECT_LIMIT;

impl Gateway {
    /// WAF phases 1 and 2. `Ok(true)`: a response (block page, 413) was written.
    pub(super) async fn waf_request(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        site: &Site,
        path: &str,
    ) -> Result<bool> {
        let policy = &site.waf;
        if !policy.inspects(&ctx.client_ip) {
            return Ok(false);
        }
        let mut tx = self.waf.transaction();
        tx.set_id(ctx.request_id.clone());
        policy.prepare(&mut tx, path);
        let client_port = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map_or(0, |a| a.port());
        let (server_ip, server_port) = session
            .server_addr()
            .and_then(|a| a.as_inet())
            .map_or((String::new(), 0), |a| (a.ip().to_string(), a.port()));
        tx.process_connection(&ctx.client_ip, client_port, &server_ip, server_port);
        let req = session.req_header();
        let version = match req.version {
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_2 => "HTTP/2.0",
            _ => "HTTP/1.1",
        };
        tx.process_uri(
            req.method.as_str().as_bytes(),
            req.raw_path(),
            version.as_bytes(),
        );
        for (name, value) in &req.headers {
            tx.add_request_header(name.as_str().as_bytes(), value.as_bytes());
        }
        let declared = ctx.content_length;
        let mut interruption = tx.process_request_headers();
        if interruption.is_none() && !session.is_body_empty() {
            let oversized = if declared.is_some_and(|n| n > INSPECT_LIMIT as u64) {
                true
            } else {
                // Keep what is read so pingora replays it to the upstream.
                session.enable_retry_buffering();
                let mut total = 0usize;
                let mut over = false;
                while let Some(chunk) = session.read_request_body().await? {
                    total += chunk.len();
                    if total > INSPECT_LIMIT {
                        over = true;
                        break;
                    }
                    if let Some(i) = tx.append_request_body(&chunk) {
                        interruption = Some(i);
                        break;
                    }
                }
                // A chunked body above the limit has overflowed the replay buffer and
                // cannot be forwarded intact: it is always refused.
                if over {
                    self.security_event(
                        session,
                        ctx,
                        SecurityEventKind::WafBodyUninspected,
                        format!("chunked request body above {INSPECT_LIMIT} bytes refused"),
                    );
                    self.respond_page(session, ctx, ErrorPage::TooLarge).await?;
                    return Ok(true);
                }
                false
            };
            if oversized {
                let path = session.req_header().uri.path();
                let large_ok = policy
                    .large_body_paths
                    .iter()
                    .any(|prefix| path.starts_with(prefix.as_str()));
                if policy.oversized_body == OversizedBody::Reject && !large_ok {
                    let detail = format!(
                        "request body of {} bytes is above the inspection limit of {INSPECT_LIMIT}; refused",
                        declared.unwrap_or(0)
                    );
                    self.security_event(
                        session,
                        ctx,
                        SecurityEventKind::WafBodyUninspected,
                        detail,
                    );
                    self.respond_page(session, ctx, ErrorPage::TooLarge).await?;
                    return Ok(true);
                }
                // Inspect what arrives first: one read is at most pingora's body buffer, which
                // fits the replay buffer, so these bytes still reach the upstream, followed by
                // the rest of the body as it streams.
                session.enable_retry_buffering();
                let first = session.read_request_body().await?.unwrap_or_default();
                tx.mark_request_body_partial();
                if let Some(i) = tx.append_request_body(&first) {
                    interruption = Some(i);
                }
                let detail = format!(
                    "request body of {} bytes is above the inspection limit of {INSPECT_LIMIT}; \
                     the first {} bytes were inspected",
                    declared.unwrap_or(0),
                    first.len()
                );
                self.security_event(session, ctx, SecurityEventKind::WafBodyUninspected, detail);
            }
        }
        if interruption.is_none() {
            interruption = tx.process_request_body();
        }
        let keep = interruption.is_none() && policy.inspect_responses;
        if !keep {
            tx.process_logging();
        }
        if let Some(i) = &interruption {
            ctx.waf_outcome = format!("blocked {}", i.rule_id);
            let detail = crate::waf::describe(&tx, Some(i));
            self.security_event(session, ctx, SecurityEventKind::WafBlocked, detail);
            self.respond_page(session, ctx, ErrorPage::Blocked).await?;
            return Ok(true);
        }
        if !tx.matched_rules().is_empty() {
            ctx.waf_outcome = "detected".into();
            let detail = crate::waf::describe(&tx, None);
            self.security_event(session, ctx, SecurityEventKind::WafDetected, detail);
        }
        if keep {
            ctx.waf = Some(std::sync::Mutex::new(tx));
        }
        Ok(false)
    }
}
