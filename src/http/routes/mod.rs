//! The route table: every route served, its handler, and the policy the dispatcher applies around
//! it (per-IP throttle, daily write budget, idempotency, body cap, HTML errors), in three parts:
//! the API (`api`), the pages (`pages`) and the team console (`admin`). It doubles as the
//! checklist of the OpenAPI document (`openapi`, and the drift test).

mod admin;
mod api;
mod pages;

use rouille::Response;

use crate::core::Core;
use crate::core::config::BODY_LIMIT;
use crate::domain::error::ApiError;
use crate::http::Ctx;

pub type Handler = fn(&Core, &Ctx<'_>) -> Result<Response, ApiError>;

/// What the dispatcher does around a route's handler.
#[derive(Clone, Copy)]
pub struct Policy {
    /// The per-IP throttle checked before the body is read.
    pub ip_limit: Option<&'static str>,
    /// Charged to the IP's daily write budget (authenticated writes also charge the account's).
    pub daily: bool,
    /// Honours `Idempotency-Key` (only routes whose responses hold no secret).
    pub idempotent: bool,
    pub body_limit: usize,
    /// A browser page: errors are answered with an HTML page.
    pub html: bool,
    /// Successes go to the request log too (failures always do): writes and sign-ins, not the
    /// high-volume reads and token exchanges (me, refresh, /oauth/token).
    pub record_success: bool,
}

const READ: Policy = Policy {
    ip_limit: None,
    daily: false,
    idempotent: false,
    body_limit: BODY_LIMIT,
    html: false,
    record_success: false,
};
const PAGE: Policy = Policy { html: true, ..READ };
/// A page form that writes: its throttle and the daily budget, as its API route has.
const fn page_write(ip_limit: Option<&'static str>) -> Policy {
    Policy {
        ip_limit,
        daily: true,
        idempotent: false,
        body_limit: BODY_LIMIT,
        html: true,
        record_success: true,
    }
}
const fn write(ip_limit: Option<&'static str>, idempotent: bool) -> Policy {
    Policy {
        ip_limit,
        daily: true,
        idempotent,
        body_limit: BODY_LIMIT,
        html: false,
        record_success: true,
    }
}
/// Support reports carry a repro artifact of up to 64 KiB beside their text.
const REPORT_BODY_LIMIT: usize = 160 * 1024;
/// An invitation file on `/admin/import`: 100,000 rows of a few fields each.
pub const IMPORT_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// The largest body any route but the import takes; the server never reads past it.
pub const MAX_BODY: usize = REPORT_BODY_LIMIT;
/// Paths whose bodies may be larger than [`MAX_BODY`], and their limit (the connection layer
/// reads a body before the route is known, so it asks here by path).
pub const LARGE_BODIES: &[(&str, usize)] = &[("/admin/import", IMPORT_BODY_LIMIT)];

pub struct Route {
    pub method: &'static str,
    /// The template; `{name}` matches one path segment.
    pub path: &'static str,
    pub handler: Handler,
    pub policy: Policy,
}

/// Every route served. The OpenAPI document is checked against it.
pub fn all() -> impl Iterator<Item = &'static Route> {
    api::ROUTES.iter().chain(pages::ROUTES).chain(admin::ROUTES)
}
