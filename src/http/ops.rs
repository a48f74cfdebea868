//! Operations routes: `/healthz`, `/metrics` and `/openapi.json`.

use rouille::Response;
use serde_json::json;

use super::{Ctx, json};
use crate::app::App;
use crate::error::ApiError;
use crate::metrics::Gauges;
use crate::store::sessions;

/// `GET /healthz` → 200 `{"status":"ok"}` when the database answers and its writer is
/// open, else 503 `unavailable` with the `reason`.
pub fn get_healthz(app: &App, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    app.db.ping()?;
    json(200, &json!({ "status": "ok" }))
}

/// `GET /metrics` → 200 Prometheus text format.
pub fn get_metrics(app: &App, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let active_sessions = app.db.read(|c| sessions::count_active(c, ctx.now))?;
    let gauges = Gauges {
        active_sessions,
        db_size_bytes: app.db.size_bytes(),
        wal_checkpoints: app.db.checkpoints_done(),
    };
    Ok(Response::from_data(
        "text/plain; version=0.0.4; charset=utf-8",
        app.metrics.render(&gauges),
    ))
}

/// `GET /openapi.json` → 200 the OpenAPI 3.1 document.
pub fn get_openapi(app: &App, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    json(200, &crate::openapi::document(&app.issuer))
}
