//! Passkey routes: `/v2/auth/passkeys/register/*` (a signed-in session adds one), `DELETE
//! /v2/auth/passkeys/{id}`, and `/v2/auth/passkeys/login/*` (a whole sign-in).

use rouille::Response;
use serde_json::json;

use super::{Ctx, json, principal};
use crate::core::Core;
use crate::domain::auth::passkeys;
use crate::domain::error::ApiError;
use crate::http::openapi::{Bearer, Op, obj, r, s};

/// `POST /v2/auth/passkeys/register/start` → 200 `{challengeId, publicKey}`.
pub fn post_register_start(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    json(200, &passkeys::start_registration(core, &who, ctx.now)?)
}

/// `POST /v2/auth/passkeys/register/finish` `{challengeId, name, credential}` → 201.
pub fn post_register_finish(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    let body = ctx.json()?;
    let added = passkeys::finish_registration(
        core,
        &who,
        body.string("challengeId")?,
        body.string("name")?,
        body.object("credential")?,
        &ctx.caller(),
        ctx.now,
    )?;
    json(201, &added)
}

/// `DELETE /v2/auth/passkeys/{id}` → 204.
pub fn delete_passkey(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    passkeys::remove(core, &who, ctx.param(0), &ctx.caller(), ctx.now)?;
    Ok(Response::empty_204())
}

/// `POST /v2/auth/passkeys/login/start` `{login?}` → 200 `{challengeId, publicKey}`.
pub fn post_login_start(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let body = ctx.optional_json()?;
    json(
        200,
        &passkeys::start_sign_in(core, body.opt_string("login")?, ctx.now)?,
    )
}

/// `POST /v2/auth/passkeys/login/finish` `{challengeId, credential}` → 200 session.
pub fn post_login_finish(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json()?;
    let caller = ctx.caller();
    let view = passkeys::sign_in(
        core,
        body.string("challengeId")?,
        body.object("credential")?,
        &caller,
        ctx.now,
    )?;
    ctx.set_user(&view.user.id);
    json(200, &view)
}

fn started() -> serde_json::Value {
    obj(
        &["challengeId", "publicKey"],
        json!({
            "challengeId": {"type": "string", "description": "names the ceremony at its finish; single use, 5 minutes"},
            "publicKey": {"type": "object", "description": "PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON (WebAuthn Level 3), binary fields base64url: pass it to PublicKeyCredential.parse…OptionsFromJSON"}
        }),
    )
}

fn credential() -> serde_json::Value {
    json!({"type": "object", "description": "the credential's toJSON(): RegistrationResponseJSON or AuthenticationResponseJSON"})
}

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    vec![
        Op {
            method: "post",
            path: "/v2/auth/passkeys/register/start",
            summary: "Start adding a passkey to the signed-in account (discoverable, user verification required)",
            tag: "mfa",
            bearer: Bearer::Required,
            request: None,
            success: (200, "The creation options", Some(started())),
            errors: &[
                "invalid_token",
                "insufficient_scope",
                "session_revoked",
                "passkey_invalid",
                "daily_limit_reached",
                "unavailable",
            ],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/passkeys/register/finish",
            summary: "Finish adding a passkey: the browser's answer to the creation options, and a name for it",
            tag: "mfa",
            bearer: Bearer::Required,
            request: Some(obj(
                &["challengeId", "name", "credential"],
                json!({"challengeId": s(), "name": {"type": "string", "minLength": 1, "maxLength": 64}, "credential": credential()}),
            )),
            success: (
                201,
                "Added",
                Some(obj(
                    &["id", "name", "createdAt"],
                    json!({"id": s(), "name": s(), "createdAt": s()}),
                )),
            ),
            errors: &[
                "invalid_field",
                "invalid_token",
                "insufficient_scope",
                "session_revoked",
                "passkey_invalid",
                "daily_limit_reached",
                "unavailable",
            ],
            idempotent: false,
        },
        Op {
            method: "delete",
            path: "/v2/auth/passkeys/{id}",
            summary: "Remove one of the signed-in account's passkeys",
            tag: "mfa",
            bearer: Bearer::Required,
            request: None,
            success: (204, "Removed", None),
            errors: &[
                "invalid_token",
                "insufficient_scope",
                "session_revoked",
                "not_found",
                "daily_limit_reached",
                "unavailable",
            ],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/passkeys/login/start",
            summary: "Start a passkey sign-in: for one login's passkeys, or (no login) any passkey the browser holds for this site",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(
                json!({"type": "object", "properties": {"login": {"type": "string", "description": "a handle or an email; leave it out for discoverable credentials"}}}),
            ),
            success: (200, "The request options", Some(started())),
            errors: &["invalid_field", "throttled", "unavailable"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/passkeys/login/finish",
            summary: "Finish a passkey sign-in: a session whose amr is [hwk, user] (or [swk, user] for a synced passkey)",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(obj(
                &["challengeId", "credential"],
                json!({"challengeId": s(), "credential": credential()}),
            )),
            success: (200, "A session", Some(r("Session"))),
            errors: &[
                "invalid_field",
                "passkey_invalid",
                "account_disabled",
                "throttled",
                "unavailable",
            ],
            idempotent: false,
        },
    ]
}
