//! `POST /v2/support/report`.

use rouille::Response;

use super::{Ctx, json};
use crate::core::Core;
use crate::domain::auth::session;
use crate::domain::error::ApiError;
use crate::domain::support::{self, NewReport};
use crate::http::openapi::{Bearer, Op, obj, s};
use serde_json::json;

/// `POST /v2/support/report` → 201 `{reportId, receivedAt, requestRecordAttached}`. A bearer
/// credential is optional, and an invalid one does not stop the report.
pub fn post_report(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json()?;
    let report = NewReport {
        summary: body.string("summary")?,
        details: body.string("details")?,
        handle: body.opt_string("handle")?,
        session_id: body.opt_string("sessionId")?,
        request_id: body.opt_string("requestId")?,
        repro_artifact: body.opt_string("reproArtifact")?,
    };
    let reporter = ctx
        .bearer()
        .and_then(|_| session::authenticate(core, ctx.bearer(), ctx.now).ok())
        .filter(|who| who.credential.has_user());
    if let Some(who) = &reporter {
        ctx.set_user(&who.user_id);
    }
    let ip = ctx.ip.to_string();
    json(
        201,
        &support::submit(
            core,
            &report,
            reporter.as_ref().map(|w| w.user_id.as_str()),
            &ip,
            ctx.now,
        )?,
    )
}

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    vec![Op {
        method: "post",
        path: "/v2/support/report",
        summary: "Send support a report naming a request ID",
        tag: "support",
        bearer: Bearer::Optional,
        request: Some(obj(
            &["summary", "details"],
            json!({"summary": {"type": "string", "minLength": 1, "maxLength": 200}, "details": {"type": "string", "maxLength": 10000}, "handle": s(), "sessionId": s(), "requestId": s(), "reproArtifact": s()}),
        )),
        success: (
            201,
            "Received",
            Some(obj(
                &["reportId", "receivedAt"],
                json!({"reportId": s(), "receivedAt": {"type": "string", "format": "date-time"}, "requestRecordAttached": {"type": "boolean"}}),
            )),
        ),
        errors: &["invalid_field", "throttled", "daily_limit_reached"],
        idempotent: true,
    }]
}
