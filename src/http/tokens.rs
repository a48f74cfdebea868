//! Personal access token routes: `/v2/auth/tokens`.

use rouille::Response;
use serde_json::json;

use super::{Ctx, json, principal};
use crate::core::Core;
use crate::domain::auth::pats;
use crate::domain::error::ApiError;
use crate::http::openapi::{Bearer, Op, obj, r, s};

/// `POST /v2/auth/tokens` → 201 `{id, token, name, scopes, expiresAt}` (the token shown once).
pub fn post_token(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    let body = ctx.json()?;
    let created = pats::create(
        core,
        &who,
        body.string("name")?,
        &body.strings("scopes")?,
        body.integer("expiresInDays")?,
        &ctx.caller(),
        ctx.now,
    )?;
    json(201, &created)
}

/// `GET /v2/auth/tokens` → 200 `{tokens: [...]}`, never a secret.
pub fn get_tokens(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    json(200, &json!({ "tokens": pats::list(core, &who, ctx.now)? }))
}

/// `DELETE /v2/auth/tokens/{id}` → 204.
pub fn delete_token(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    pats::revoke(core, &who, ctx.param(0), &ctx.caller(), ctx.now)?;
    Ok(Response::empty_204())
}

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    vec![
        Op {
            method: "post",
            path: "/v2/auth/tokens",
            summary: "Create a personal access token (shown once)",
            tag: "tokens",
            bearer: Bearer::Required,
            request: Some(obj(
                &["name", "scopes", "expiresInDays"],
                json!({"name": s(), "scopes": {"type": "array", "items": s()}, "expiresInDays": {"type": "integer", "minimum": 1, "maximum": 365}}),
            )),
            success: (201, "Created", Some(r("PatCreated"))),
            errors: &[
                "invalid_token",
                "insufficient_scope",
                "invalid_field",
                "daily_limit_reached",
                "second_factor_required",
            ],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/v2/auth/tokens",
            summary: "List personal access tokens (never the secret)",
            tag: "tokens",
            bearer: Bearer::Required,
            request: None,
            success: (
                200,
                "Tokens",
                Some(obj(
                    &["tokens"],
                    json!({"tokens": {"type": "array", "items": r("Pat")}}),
                )),
            ),
            errors: &["invalid_token", "insufficient_scope"],
            idempotent: false,
        },
        Op {
            method: "delete",
            path: "/v2/auth/tokens/{id}",
            summary: "Revoke a personal access token",
            tag: "tokens",
            bearer: Bearer::Required,
            request: None,
            success: (204, "Revoked", None),
            errors: &[
                "invalid_token",
                "insufficient_scope",
                "not_found",
                "daily_limit_reached",
            ],
            idempotent: false,
        },
    ]
}
