//! Operations routes: `/healthz`, `/metrics` and `/openapi.json`.

use rouille::Response;
use serde_json::json;

use super::{Ctx, json};
use crate::core::Core;
use crate::core::metrics::Gauges;
use crate::domain::error::ApiError;
use crate::store::outbox::{self, State};
use crate::store::sessions;

/// `GET /healthz` → 200 `{"status":"ok","mail":{"pending":N,"oldestPendingSeconds":S}}` when
/// the database answers and its writer is open (a relay that is down does not make it 503),
/// else 503 `unavailable` with the `reason`.
pub fn get_healthz(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    core.db.ping()?;
    let (pending, oldest) = core.db.read(outbox::pending_summary)?;
    let oldest = oldest.map_or(0, |t| (ctx.now - t).max(0));
    json(
        200,
        &json!({ "status": "ok", "mail": { "pending": pending, "oldestPendingSeconds": oldest } }),
    )
}

/// `GET /metrics` → 200 Prometheus text format.
pub fn get_metrics(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let active_sessions = core.db.read(|c| sessions::count_active(c, ctx.now))?;
    let queue = core.db.read(outbox::count_by_state)?;
    let in_state = |s: State| queue.iter().find(|(st, _)| *st == s).map_or(0, |(_, n)| *n);
    let gauges = Gauges {
        mail_pending: in_state(State::Pending),
        mail_failed: in_state(State::Failed),
        active_sessions,
        db_size_bytes: core.db.size_bytes(),
        wal_checkpoints: core.db.checkpoints_done(),
    };
    Ok(Response::from_data(
        "text/plain; version=0.0.4; charset=utf-8",
        core.metrics.render(&gauges),
    ))
}

/// `GET /openapi.json` → 200 the OpenAPI 3.1 document.
pub fn get_openapi(core: &Core, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    json(200, &crate::http::openapi::document(&core.issuer))
}
