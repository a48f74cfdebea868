//! `App` (config, store, keys, clock, hash gate, mail) and the one dispatcher: request id, route
//! table, error rendering, security headers, one log line per request, and a `catch_unwind` so
//! that even a bug answers with the JSON envelope and its request id.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use rouille::{Request, Response};

use crate::clock::Clock;
use crate::config::Config;
use crate::error::ApiError;
use crate::http::{auth, ops};
use crate::keys::KeyRing;
use crate::mail::Nudger;
use crate::password::HashGate;
use crate::store::Db;
use crate::token::opaque::new_id;

pub struct App {
    pub config: Config,
    pub db: Arc<Db>,
    keys: RwLock<Arc<KeyRing>>,
    pub clock: Clock,
    /// `iss` of every token: `--issuer`, or `http://<bound address>`.
    pub issuer: String,
    /// `aud` of access tokens: `--audience`, or the issuer.
    pub audience: String,
    pub hash_gate: HashGate,
    pub mail: Nudger,
}

impl App {
    pub fn new(
        config: Config,
        db: Arc<Db>,
        keys: KeyRing,
        clock: Clock,
        issuer: String,
        mail: Nudger,
    ) -> App {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        // Hashes (running plus queued) may hold all request threads but a reserve, which stays
        // free for cheap requests such as /v2/auth/me during a login flood.
        let reserve = (config.workers / 4).max(4);
        let queue = config
            .workers
            .saturating_sub(reserve)
            .saturating_sub(cores)
            .max(1);
        App {
            audience: config.audience.clone().unwrap_or_else(|| issuer.clone()),
            hash_gate: HashGate::new(cores, queue),
            keys: RwLock::new(Arc::new(keys)),
            config,
            db,
            clock,
            issuer,
            mail,
        }
    }

    /// The key ring in force.
    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

type Handler = fn(&App, &Request) -> Result<Response, ApiError>;

/// Every route served: method, path, handler. The OpenAPI document is checked against it.
pub const ROUTES: &[(&str, &str, Handler)] = &[
    ("POST", "/v2/auth/signup", auth::post_signup),
    ("POST", "/v2/auth/signup/confirm", auth::post_signup_confirm),
    ("POST", "/v2/auth/signup/resend", auth::post_signup_resend),
    ("POST", "/v2/auth/login", auth::post_login),
    ("POST", "/v2/auth/refresh", auth::post_refresh),
    ("POST", "/v2/auth/logout", auth::post_logout),
    ("GET", "/v2/auth/me", auth::get_me),
    (
        "POST",
        "/v2/auth/password/forgot",
        auth::post_password_forgot,
    ),
    (
        "POST",
        "/v2/auth/password/forgot/confirm",
        auth::post_password_forgot_confirm,
    ),
    ("GET", "/healthz", ops::get_healthz),
];

/// Answers one request. Never panics, never answers without `X-Request-Id`.
pub fn handle(app: &App, req: &Request) -> Response {
    let started = Instant::now();
    let rid = request_id(req);
    let (route, result) = match catch_unwind(AssertUnwindSafe(|| dispatch(app, req))) {
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
    let resp = result
        .unwrap_or_else(|e| e.into_response(&rid))
        .with_unique_header("X-Request-Id", rid.clone())
        .with_unique_header("Cache-Control", "no-store")
        .with_unique_header("X-Content-Type-Options", "nosniff");
    log::info!(
        target: "access",
        "{rid} {} {route} {} {:.1}ms",
        req.method(),
        resp.status_code,
        started.elapsed().as_secs_f64() * 1000.0
    );
    resp
}

fn dispatch(app: &App, req: &Request) -> (&'static str, Result<Response, ApiError>) {
    let path = req.url();
    let mut allowed: Vec<&str> = Vec::new();
    for (method, route, handler) in ROUTES {
        if *route == path {
            if *method == req.method() {
                return (route, handler(app, req));
            }
            allowed.push(method);
        }
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
        _ => new_id("req_").unwrap_or_else(|_| "req_unavailable".into()),
    }
}
