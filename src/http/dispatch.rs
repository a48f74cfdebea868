//! The one dispatcher: request id, routing through the table of `routes.rs` and each route's
//! policy (throttle, daily budget, idempotency, body cap), error rendering, security headers, the
//! request record, one log line per request, and a `catch_unwind` so that even a bug answers with
//! the JSON envelope.

use std::collections::HashMap;
use std::net::IpAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::Instant;

use rouille::{Request, Response};

use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::core::requests::RequestRecord;
use crate::core::token::opaque::{b64url, new_name, sha256};
use crate::domain::daily::{self, Budget};
use crate::domain::error::{ApiError, Outage};
use crate::domain::idempotency::{self, Start};
use crate::http::conn::{Refused, Service};
use crate::http::idempotency as replay;
use crate::http::routes::{self, Route};
use crate::http::{Ctx, read_body, render};

/// Answers one request. Never panics, never answers without `X-Request-Id`.
pub fn handle(core: &Core, req: &Request) -> Response {
    let started = Instant::now();
    let mut ctx = Ctx::new(req, request_id(req), core.clock.now(), client_ip(core, req));
    let (route, result) = match catch_unwind(AssertUnwindSafe(|| dispatch(core, &mut ctx))) {
        Ok(routed) => routed,
        Err(_) => (
            "(panic)",
            Err(ApiError::Internal(format!(
                "handler panicked on {} {}",
                req.method(),
                req.url()
            ))),
        ),
    };
    let resp = with_common_headers(
        with_resource_metadata(core, route, result.unwrap_or_else(|e| ctx.render_error(e))),
        ctx.request_id.clone(),
    );
    let seconds = started.elapsed().as_secs_f64();
    let latency_ms = seconds * 1000.0;
    core.metrics
        .request(route, req.method(), resp.status_code, seconds);
    if resp.status_code >= 400 || ctx.record_success {
        core.requests.record(RequestRecord {
            request_id: ctx.request_id.clone(),
            at: ctx.now,
            method: req.method().to_owned(),
            route: route.to_owned(),
            status: resp.status_code,
            error_code: ctx.error_code().map(str::to_owned),
            latency_ms,
            user_id: ctx.user(),
            ip: ctx.ip.to_string(),
        });
    }
    log::info!(target: "access", "{} {} {route} {} {latency_ms:.1}ms", ctx.request_id, req.method(), resp.status_code);
    resp
}

/// The headers every answer carries: its request id, `no-store`, `nosniff`.
fn with_common_headers(resp: Response, request_id: String) -> Response {
    resp.with_unique_header("X-Request-Id", request_id)
        .with_unique_header("Cache-Control", "no-store")
        .with_unique_header("X-Content-Type-Options", "nosniff")
}

/// The app as the connection layer sees it.
impl Service for Core {
    fn handle(&self, request: &Request) -> Response {
        handle(self, request)
    }

    /// A refused request (framing, version, deadline) gets the error envelope of its refusal, a
    /// refused connection 503 `unavailable` with `reason` `overloaded`; both under a new request
    /// id, counted and logged like any answer.
    fn refused(&self, ip: IpAddr, why: Refused) -> Response {
        let error = match why {
            Refused::Request(r) => render::refused(r),
            Refused::Connection(reason) => {
                self.metrics.connection_refused(reason);
                ApiError::Unavailable {
                    retry_after_secs: 1,
                    outage: Outage::TooManyConnections,
                }
            }
        };
        let request_id = new_name("req_");
        let (status, code) = (error.status(), error.code());
        self.metrics.request("(connection)", "OTHER", status, 0.0);
        log::info!(target: "access", "{request_id} - (connection) {status} {code} from {ip}");
        with_common_headers(render::render(error, &request_id), request_id)
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

fn dispatch(core: &Core, ctx: &mut Ctx<'_>) -> (&'static str, Result<Response, ApiError>) {
    let path = ctx.req.url();
    let mut allowed: Vec<&str> = Vec::new();
    for route in candidates(&path) {
        let Some(params) = match_template(route.path, &path) else {
            continue;
        };
        let method = ctx.req.method();
        if route.method != method && !(method == "HEAD" && route.method == "GET") {
            allowed.push(route.method);
            if route.method == "GET" {
                allowed.push("HEAD");
            }
            continue;
        }
        ctx.params = params;
        ctx.html = route.policy.html;
        ctx.record_success = route.policy.record_success;
        return (route.path, run(core, ctx, route));
    }
    if allowed.is_empty() {
        ("(unknown)", Err(ApiError::NotFound))
    } else {
        (
            "(wrong method)",
            Err(ApiError::MethodNotAllowed {
                allow: allowed.join(", "),
            }),
        )
    }
}

/// The routes that may match `path`, in table order: those whose path is exactly `path` (found
/// in a map built once), else the templated ones (`{id}` segments). No literal path of the table
/// also matches a template (a test checks), so this answers as a scan of the whole table would,
/// at the cost of one lookup instead of one template match per route before the right one.
fn candidates(path: &str) -> &'static [&'static Route] {
    static INDEX: OnceLock<RouteIndex> = OnceLock::new();
    let index = INDEX.get_or_init(RouteIndex::build);
    match index.literal.get(path) {
        Some(routes) => routes,
        None => &index.templated,
    }
}

struct RouteIndex {
    literal: HashMap<&'static str, Vec<&'static Route>>,
    templated: Vec<&'static Route>,
}

impl RouteIndex {
    fn build() -> RouteIndex {
        let mut literal: HashMap<&'static str, Vec<&'static Route>> = HashMap::new();
        let mut templated = Vec::new();
        for route in routes::all() {
            if route.path.contains('{') {
                templated.push(route);
            } else {
                literal.entry(route.path).or_default().push(route);
            }
        }
        RouteIndex { literal, templated }
    }
}

/// The route's policy around its handler: throttle, daily budget, body, idempotency.
fn run(core: &Core, ctx: &mut Ctx<'_>, route: &Route) -> Result<Response, ApiError> {
    let ip = ctx.ip.to_string();
    if let Some(limit) = route.policy.ip_limit {
        core.throttle.hit(limit, &ip, ctx.now)?;
    }
    if route.policy.daily {
        daily::charge(core, Budget::Ip, &ip, ctx.now)?;
    }
    ctx.body = read_body(ctx.req, route.policy.body_limit)?;
    let key = match ctx.req.header("Idempotency-Key") {
        Some(value) if route.policy.idempotent => idempotency::parse_key(value)?,
        _ => return (route.handler)(core, ctx),
    };
    let caller = caller_of(ctx);
    let body_hash = sha256(
        &[
            route.method.as_bytes(),
            b" ",
            route.path.as_bytes(),
            b"\n",
            &ctx.body,
        ]
        .concat(),
    );
    match idempotency::start(core, &caller, key, &body_hash, ctx.now)? {
        Start::Replay(answer) => Ok(replay::replay(answer)),
        Start::Run => {
            let resp = (route.handler)(core, ctx).unwrap_or_else(|e| ctx.render_error(e));
            replay::finish(core, &caller, key, resp)
        }
    }
}

/// A Bearer challenge of the appliance's own API names its protected resource metadata
/// (RFC 9728 §5.1), so a client that got a 401 finds the authorization server.
fn with_resource_metadata(core: &Core, route: &str, mut resp: Response) -> Response {
    if resp.status_code != 401 || !route.starts_with("/v2/") {
        return resp;
    }
    for (name, value) in resp.headers.iter_mut() {
        if name.eq_ignore_ascii_case("WWW-Authenticate") && value.starts_with("Bearer") {
            *value = format!(
                "{value}, resource_metadata=\"{}/.well-known/oauth-protected-resource\"",
                core.issuer
            )
            .into();
        }
    }
    resp
}

/// Whose idempotency keys these are: the bearer credential's, else the client address's.
fn caller_of(ctx: &Ctx<'_>) -> String {
    match ctx.req.header("Authorization") {
        Some(auth) => format!("bearer:{}", b64url(&sha256(auth.trim().as_bytes()))),
        None => format!("ip:{}", ctx.ip),
    }
}

/// Matches `/v2/auth/tokens/{id}` style templates; returns the `{…}` values.
fn match_template(template: &str, path: &str) -> Option<Vec<String>> {
    let mut params = Vec::new();
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) if ts.starts_with('{') && ts.ends_with('}') && !ps.is_empty() => {
                params.push(ps.to_owned())
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

/// The client's address: the socket's peer, or with `--trust-proxy` the last `X-Forwarded-For`
/// entry (the one the trusted proxy appended; earlier entries are the client's own claims).
fn client_ip(core: &Core, req: &Request) -> IpAddr {
    let peer = req.remote_addr().ip();
    if !core.config.trust_proxy {
        return peer;
    }
    req.header("X-Forwarded-For")
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer)
}

/// The client's `X-Request-Id` when it matches `[A-Za-z0-9._-]{8,64}`, else a new `req_…` id.
fn request_id(req: &Request) -> String {
    match req.header("X-Request-Id") {
        Some(id)
            if (8..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') =>
        {
            id.to_owned()
        }
        _ => new_name("req_"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_literal_route_also_matches_a_template() {
        for literal in routes::all().filter(|r| !r.path.contains('{')) {
            for templated in routes::all().filter(|r| r.path.contains('{')) {
                assert!(
                    match_template(templated.path, literal.path).is_none(),
                    "{} matches {}: the route index would hide one of them",
                    literal.path,
                    templated.path
                );
            }
        }
        assert!(
            candidates("/v2/auth/tokens/pat_1")
                .iter()
                .all(|r| r.path.contains('{'))
        );
        assert_eq!(candidates("/v2/auth/tokens").len(), 2, "POST and GET");
    }

    #[test]
    fn templates() {
        assert_eq!(
            match_template("/v2/auth/tokens/{id}", "/v2/auth/tokens/pat_1"),
            Some(vec!["pat_1".to_string()])
        );
        assert_eq!(
            match_template("/v2/auth/tokens/{id}", "/v2/auth/tokens/"),
            None
        );
        assert_eq!(
            match_template("/v2/auth/tokens/{id}", "/v2/auth/tokens/a/b"),
            None
        );
        assert_eq!(match_template("/v2/auth/me", "/v2/auth/me"), Some(vec![]));
        assert_eq!(match_template("/v2/auth/me", "/v2/auth/me/"), None);
    }
}
