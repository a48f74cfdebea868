//! Second-factor routes: `/v2/auth/mfa` (TOTP set-up, confirmation, removal, recovery codes).
//! The second step of sign-in is `POST /v2/auth/login/mfa`, with the identity routes.

use rouille::Response;
use serde_json::json;

use super::{Ctx, json, principal};
use crate::core::Core;
use crate::domain::auth::mfa;
use crate::domain::error::ApiError;
use crate::http::openapi::{Bearer, Op, obj, s};

/// `GET /v2/auth/mfa` → 200 `{totp, passkeys, recoveryCodesLeft}`.
pub fn get_mfa(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    json(200, &mfa::status(core, &who)?)
}

/// `POST /v2/auth/mfa/totp` → 201 `{secret, otpauthUri}` (pending until confirmed).
pub fn post_totp(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    json(201, &mfa::start_totp(core, &who, ctx.now)?)
}

/// `POST /v2/auth/mfa/totp/confirm` → 200 `{recoveryCodes}` (shown once).
pub fn post_totp_confirm(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    let body = ctx.json()?;
    json(
        200,
        &mfa::confirm_totp(core, &who, body.string("code")?, &ctx.caller(), ctx.now)?,
    )
}

/// `DELETE /v2/auth/mfa/totp` `{code}` → 204.
pub fn delete_totp(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    let body = ctx.json()?;
    mfa::remove_totp(core, &who, body.string("code")?, &ctx.caller(), ctx.now)?;
    Ok(Response::empty_204())
}

/// `POST /v2/auth/mfa/recovery-codes` `{code}` → 200 `{recoveryCodes}` (a fresh set).
pub fn post_recovery_codes(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    let body = ctx.json()?;
    json(
        200,
        &mfa::regenerate_recovery_codes(core, &who, body.string("code")?, &ctx.caller(), ctx.now)?,
    )
}

fn code_body() -> serde_json::Value {
    obj(
        &["code"],
        json!({"code": {"type": "string", "description": "a current TOTP code, or a recovery code"}}),
    )
}

fn recovery_codes() -> serde_json::Value {
    obj(
        &["recoveryCodes"],
        json!({"recoveryCodes": {"type": "array", "items": s(), "minItems": 10, "maxItems": 10}}),
    )
}

/// What the routes that act on the factor given one of its codes answer besides success.
const WITH_A_CODE: &[&str] = &[
    "invalid_field",
    "invalid_token",
    "insufficient_scope",
    "session_revoked",
    "code_invalid",
    "mfa_not_enabled",
    "daily_limit_reached",
    "unavailable",
];

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    vec![
        Op {
            method: "get",
            path: "/v2/auth/mfa",
            summary: "The caller's second factors",
            tag: "mfa",
            bearer: Bearer::Required,
            request: None,
            success: (
                200,
                "OK",
                Some(obj(
                    &["totp", "passkeys", "recoveryCodesLeft"],
                    json!({
                        "totp": {"oneOf": [{"type": "null"}, obj(&["enabled", "createdAt"], json!({"enabled": {"type": "boolean"}, "createdAt": s()}))]},
                        "passkeys": {"type": "array", "items": obj(&["id", "name", "createdAt", "lastUsedAt"], json!({"id": s(), "name": s(), "createdAt": s(), "lastUsedAt": {"type": ["string", "null"]}}))},
                        "recoveryCodesLeft": {"type": "integer"}
                    }),
                )),
            ),
            errors: &[
                "invalid_token",
                "insufficient_scope",
                "session_revoked",
                "unavailable",
            ],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/mfa/totp",
            summary: "Start (or restart) a TOTP set-up: the secret and its otpauth URI, pending until confirmed",
            tag: "mfa",
            bearer: Bearer::Required,
            request: None,
            success: (
                201,
                "Created",
                Some(obj(
                    &["secret", "otpauthUri"],
                    json!({"secret": {"type": "string", "description": "base32"}, "otpauthUri": {"type": "string", "pattern": "^otpauth://totp/"}}),
                )),
            ),
            errors: &[
                "invalid_token",
                "insufficient_scope",
                "session_revoked",
                "mfa_already_enabled",
                "daily_limit_reached",
                "unavailable",
            ],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/mfa/totp/confirm",
            summary: "Confirm the TOTP set-up with a code; returns the recovery codes, shown once",
            tag: "mfa",
            bearer: Bearer::Required,
            request: Some(code_body()),
            success: (200, "OK", Some(recovery_codes())),
            errors: &[
                "invalid_field",
                "invalid_token",
                "insufficient_scope",
                "session_revoked",
                "code_invalid",
                "mfa_already_enabled",
                "mfa_not_enabled",
                "daily_limit_reached",
                "unavailable",
            ],
            idempotent: false,
        },
        Op {
            method: "delete",
            path: "/v2/auth/mfa/totp",
            summary: "Turn TOTP off (and the recovery codes), given a current code or a recovery code",
            tag: "mfa",
            bearer: Bearer::Required,
            request: Some(code_body()),
            success: (204, "Removed", None),
            errors: WITH_A_CODE,
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/mfa/recovery-codes",
            summary: "A fresh set of recovery codes (the old set dies), given a current code or a recovery code",
            tag: "mfa",
            bearer: Bearer::Required,
            request: Some(code_body()),
            success: (200, "OK", Some(recovery_codes())),
            errors: WITH_A_CODE,
            idempotent: false,
        },
    ]
}
