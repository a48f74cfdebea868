//! Operations routes: `/healthz`.

use rouille::Response;
use serde_json::json;

use super::{Ctx, json};
use crate::app::App;
use crate::error::ApiError;

/// `GET /healthz` → 200 `{"status":"ok"}` when the database answers, else 503 `unavailable`.
pub fn get_healthz(app: &App, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    app.db
        .read(|c| {
            c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map_err(crate::store::StoreError::from)
        })
        .map_err(|_| ApiError::Unavailable {
            retry_after_secs: 5,
        })?;
    json(200, &json!({ "status": "ok" }))
}
