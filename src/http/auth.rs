//! The identity routes of API.md: parse, authenticate, one domain call, render.

use rouille::Response;
use serde_json::json;

use std::sync::Arc;

use super::{Ctx, json, json_bytes, principal, to_json};
use crate::core::Core;
use crate::domain::auth::login::SignIn;
use crate::domain::auth::{login, reset, session, signup};
use crate::domain::error::ApiError;
use crate::http::openapi::{Bearer, Op, accepted, email_body, obj, r, s};

/// `POST /v2/auth/signup` → 201 `{user, confirmation}`.
pub fn post_signup(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json()?;
    let request = signup::SignupRequest {
        handle: body.string("handle")?,
        email: body.string("email")?,
        password: body.string("password")?,
        display_name: body.opt_string("displayName")?,
    };
    json(
        201,
        &signup::signup(core, &request, &ctx.caller(), ctx.now)?,
    )
}

/// `POST /v2/auth/signup/confirm` → 200 `{user}`.
pub fn post_signup_confirm(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json()?;
    let user = signup::confirm(
        core,
        body.string("email")?,
        body.string("code")?,
        body.opt_string("password")?,
        &ctx.caller(),
        ctx.now,
    )?;
    json(200, &json!({ "user": user }))
}

/// `POST /v2/auth/signup/resend` → 202 `{accepted: true}`, whether or not the email exists.
pub fn post_signup_resend(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    signup::resend(core, ctx.json()?.string("email")?, ctx.now)?;
    json(202, &json!({ "accepted": true }))
}

/// `POST /v2/auth/login` → 200 session, or 200 `{mfaRequired, mfaToken, methods, expiresAt}`
/// when the user has a second factor.
pub fn post_login(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json()?;
    let caller = ctx.caller();
    match login::login(
        core,
        body.string("login")?,
        body.string("password")?,
        &caller,
        ctx.now,
    )? {
        SignIn::Done(view) => {
            ctx.set_user(&view.user.id);
            json(200, &view)
        }
        SignIn::SecondStep(challenge) => {
            ctx.set_user(&challenge.user_id);
            json(200, &challenge)
        }
    }
}

/// `POST /v2/auth/login/mfa` → 200 session.
pub fn post_login_mfa(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json()?;
    let view = login::login_mfa(
        core,
        body.string("mfaToken")?,
        body.string("code")?,
        &ctx.caller(),
        ctx.now,
    )?;
    ctx.set_user(&view.user.id);
    json(200, &view)
}

/// `POST /v2/auth/refresh` → 200 session.
pub fn post_refresh(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    // A body without a usable token is a refresh that failed too: it counts as `invalid`.
    let token = match ctx
        .json()
        .and_then(|body| body.string("refreshToken").map(str::to_owned))
    {
        Ok(token) => token,
        Err(e) => {
            core.metrics.refresh("invalid");
            return Err(e);
        }
    };
    json(200, &session::refresh(core, &token, ctx.origin(), ctx.now)?)
}

/// `POST /v2/auth/logout` → 204.
pub fn post_logout(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    let all = ctx
        .optional_json()?
        .opt_bool("allSessions")?
        .unwrap_or(false);
    session::logout(core, &who, all, &ctx.caller(), ctx.now)?;
    Ok(Response::empty_204())
}

/// `GET /v2/auth/me` → 200 `{user, session, credential}`. The body is a function of the
/// credential and of the rows read for it, so it is kept per credential while those rows hold
/// (see [`Principal::cached_as`](session::Principal::cached_as)).
pub fn get_me(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    who.require_user()?;
    who.require_scope("profile")?;
    let serialize = || to_json(&session::me(core, &who)?).map(Arc::new);
    let body = match &who.cached_as {
        Some((key, version)) => core.me_bodies.get_or_load(key, *version, serialize)?,
        None => serialize()?,
    };
    Ok(json_bytes(body.to_vec()))
}

/// `POST /v2/auth/password/forgot` → 202 `{accepted: true}`, whether or not the email exists.
pub fn post_password_forgot(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    reset::forgot(core, ctx.json()?.string("email")?, ctx.now)?;
    json(202, &json!({ "accepted": true }))
}

/// `POST /v2/auth/password/forgot/confirm` → 200 `{passwordReset, sessionsRevoked}`.
pub fn post_password_forgot_confirm(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json()?;
    let outcome = reset::confirm(
        core,
        body.string("email")?,
        body.string("code")?,
        body.string("newPassword")?,
        &ctx.caller(),
        ctx.now,
    )?;
    json(200, &outcome)
}

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    vec![
        Op {
            method: "post",
            path: "/v2/auth/signup",
            summary: "Create an unconfirmed account and mail its code",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(obj(
                &["handle", "email", "password"],
                json!({"handle": {"type": "string", "pattern": "^[A-Za-z0-9_-]{3,32}$"}, "email": s(), "password": {"type": "string", "minLength": 8}, "displayName": s()}),
            )),
            success: (
                201,
                "Created",
                Some(obj(
                    &["user", "confirmation"],
                    json!({"user": r("User"), "confirmation": obj(&["sentTo", "expiresAt"], json!({"sentTo": s(), "expiresAt": {"type": "string", "format": "date-time"}}))}),
                )),
            ),
            errors: &[
                "invalid_field",
                "weak_password",
                "handle_taken",
                "email_taken",
                "throttled",
                "daily_limit_reached",
            ],
            idempotent: true,
        },
        Op {
            method: "post",
            path: "/v2/auth/signup/confirm",
            summary: "Confirm an email with its code (an invited account also sets its password)",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(obj(
                &["email", "code"],
                json!({"email": s(), "code": {"type": "string", "pattern": "^[0-9]{6}$"}, "password": s()}),
            )),
            success: (
                200,
                "Confirmed",
                Some(obj(&["user"], json!({"user": r("User")}))),
            ),
            errors: &[
                "code_invalid",
                "code_expired",
                "code_exhausted",
                "invalid_field",
                "weak_password",
                "throttled",
                "daily_limit_reached",
            ],
            idempotent: true,
        },
        Op {
            method: "post",
            path: "/v2/auth/signup/resend",
            summary: "Send a new confirmation code (same answer for any email)",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(email_body()),
            success: (202, "Accepted", Some(accepted())),
            errors: &["invalid_field", "throttled", "daily_limit_reached"],
            idempotent: true,
        },
        Op {
            method: "post",
            path: "/v2/auth/login",
            summary: "Sign in with handle or email and password",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(obj(
                &["login", "password"],
                json!({"login": s(), "password": s()}),
            )),
            success: (
                200,
                "A session, or the second step's challenge when the user has TOTP",
                Some(json!({"oneOf": [r("Session"), r("MfaChallenge")]})),
            ),
            errors: &[
                "invalid_credentials",
                "confirmation_required",
                "account_disabled",
                "invalid_field",
                "throttled",
                "login_backoff",
                "unavailable",
            ],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/login/mfa",
            summary: "The second step of sign-in: the mfaToken and a TOTP or recovery code (a wrong code is 401 code_invalid; the 5th ends the token)",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(obj(
                &["mfaToken", "code"],
                json!({"mfaToken": s(), "code": s()}),
            )),
            success: (200, "A session", Some(r("Session"))),
            errors: &[
                "mfa_token_invalid",
                "mfa_token_expired",
                "code_invalid",
                "account_disabled",
                "invalid_field",
                "throttled",
                "login_backoff",
                "unavailable",
            ],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/refresh",
            summary: "Rotate a refresh token",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(obj(&["refreshToken"], json!({"refreshToken": s()}))),
            success: (200, "A session", Some(r("Session"))),
            errors: &[
                "refresh_token_invalid",
                "refresh_token_expired",
                "refresh_token_reused",
                "session_revoked",
                "refresh_in_progress",
                "invalid_field",
                "throttled",
            ],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/logout",
            summary: "Revoke this session, or every session of the user",
            tag: "identity",
            bearer: Bearer::Required,
            request: Some(obj(&[], json!({"allSessions": {"type": "boolean"}}))),
            success: (204, "Signed out", None),
            errors: &[
                "invalid_token",
                "session_revoked",
                "insufficient_scope",
                "invalid_field",
                "daily_limit_reached",
            ],
            idempotent: true,
        },
        Op {
            method: "get",
            path: "/v2/auth/me",
            summary: "The caller's profile, session and credential (needs scope profile)",
            tag: "identity",
            bearer: Bearer::Required,
            request: None,
            success: (200, "Who is calling", Some(r("Me"))),
            errors: &["invalid_token", "session_revoked", "insufficient_scope"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/v2/auth/password/forgot",
            summary: "Mail a reset code (same answer for any email)",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(email_body()),
            success: (202, "Accepted", Some(accepted())),
            errors: &["invalid_field", "throttled", "daily_limit_reached"],
            idempotent: true,
        },
        Op {
            method: "post",
            path: "/v2/auth/password/forgot/confirm",
            summary: "Set a new password with a reset code; revokes every session and PAT",
            tag: "identity",
            bearer: Bearer::None,
            request: Some(obj(
                &["email", "code", "newPassword"],
                json!({"email": s(), "code": s(), "newPassword": s()}),
            )),
            success: (
                200,
                "Reset",
                Some(obj(
                    &["passwordReset", "sessionsRevoked"],
                    json!({"passwordReset": {"type": "boolean"}, "sessionsRevoked": {"type": "integer"}}),
                )),
            ),
            errors: &[
                "weak_password",
                "code_invalid",
                "code_expired",
                "code_exhausted",
                "invalid_field",
                "throttled",
                "daily_limit_reached",
            ],
            idempotent: true,
        },
    ]
}
