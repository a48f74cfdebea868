//! Operations routes: `/healthz`, `/metrics` and `/openapi.json`.

use rouille::Response;
use serde_json::json;

use super::{Ctx, json};
use crate::core::Core;
use crate::domain::error::ApiError;
use crate::domain::ops;
use crate::http::openapi::{Bearer, Op, obj};

/// `GET /healthz` → 200 `{"status":"ok","mail":{"pending":N,"oldestPendingSeconds":S}}` when
/// the database answers and its writer is open, else 503 `unavailable` with the `reason`.
pub fn get_healthz(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let health = ops::health(core, ctx.now)?;
    json(
        200,
        &json!({
            "status": "ok",
            "mail": {
                "pending": health.mail_pending,
                "oldestPendingSeconds": health.oldest_pending_seconds,
            },
        }),
    )
}

/// `GET /metrics` → 200 Prometheus text format.
pub fn get_metrics(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let gauges = ops::gauges(core, ctx.now)?;
    Ok(Response::from_data(
        "text/plain; version=0.0.4; charset=utf-8",
        core.metrics.render(&gauges),
    ))
}

/// `GET /openapi.json` → 200 the OpenAPI 3.1 document.
pub fn get_openapi(core: &Core, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    json(200, &crate::http::openapi::document(&core.issuer))
}

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    vec![
        Op {
            method: "get",
            path: "/healthz",
            summary: "Health: 200 when the database answers and can be written (a relay that is down does not make it 503), with the mail queue's pending count and the age of its oldest message; else 503 unavailable with its reason",
            tag: "operations",
            bearer: Bearer::None,
            request: None,
            success: (
                200,
                "Healthy",
                Some(obj(
                    &["status", "mail"],
                    json!({
                        "status": {"const": "ok"},
                        "mail": {
                            "type": "object",
                            "required": ["pending", "oldestPendingSeconds"],
                            "properties": {
                                "pending": {"type": "integer", "minimum": 0, "description": "Messages waiting for delivery (held by --send-after included)"},
                                "oldestPendingSeconds": {"type": "integer", "minimum": 0, "description": "How long the oldest pending message has been ready to go"}
                            }
                        }
                    }),
                )),
            ),
            errors: &["unavailable"],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/metrics",
            summary: "Prometheus metrics (text format 0.0.4)",
            tag: "operations",
            bearer: Bearer::None,
            request: None,
            success: (200, "Metrics", None),
            errors: &["unavailable"],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/openapi.json",
            summary: "This document",
            tag: "operations",
            bearer: Bearer::None,
            request: None,
            success: (200, "OpenAPI 3.1", Some(json!({"type": "object"}))),
            errors: &[],
            idempotent: false,
        },
    ]
}
