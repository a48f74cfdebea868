//! The "Two-step sign-in" actions of the account page: set up TOTP, confirm it (the recovery
//! codes shown once), a fresh set of recovery codes, and turning it off; passkeys added and
//! removed. Each calls the same domain function as its `/v2/auth/mfa` or `/v2/auth/passkeys`
//! route.

use rouille::Response;

use super::account::{Shown, account_action, signed_in};
use super::pages::{checked_form, passkey_answer};
use super::{Ctx, json};
use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::domain::audit::Caller;
use crate::domain::auth::mfa::{self, RecoveryCodes};
use crate::domain::auth::passkeys;
use crate::domain::auth::session::Principal;
use crate::domain::error::ApiError;
use crate::http::html::mfa::Shown as MfaShown;
use crate::http::openapi::{Op, page};

/// `POST /account/mfa/totp` → the page with the QR code and the secret, and the confirm form.
pub fn post_setup(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    account_action(core, ctx, |b, _| {
        let enrolment = mfa::start_totp(core, &b.principal(core, ctx.now), ctx.now)?;
        Ok((
            Shown::Mfa(MfaShown::Totp(enrolment)),
            "Scan the code, then enter what your app shows.".into(),
        ))
    })
}

/// `POST /account/mfa/totp/confirm` → two-step sign-in on, the recovery codes shown once.
pub fn post_confirm(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    with_new_codes(core, ctx, mfa::confirm_totp, "Two-step sign-in is on.")
}

/// `POST /account/mfa/recovery-codes` → a fresh set, shown once.
pub fn post_recovery_codes(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    with_new_codes(
        core,
        ctx,
        mfa::regenerate_recovery_codes,
        "New recovery codes: the old ones no longer work.",
    )
}

/// An action that takes the form's `code` and answers with recovery codes, shown once.
fn with_new_codes(
    core: &Core,
    ctx: &Ctx<'_>,
    action: fn(&Core, &Principal, &str, &Caller, Timestamp) -> Result<RecoveryCodes, ApiError>,
    notice: &str,
) -> Result<Response, ApiError> {
    account_action(core, ctx, |b, form| {
        let codes = action(
            core,
            &b.principal(core, ctx.now),
            form.get("code").unwrap_or(""),
            &ctx.caller(),
            ctx.now,
        )?;
        Ok((
            Shown::Mfa(MfaShown::RecoveryCodes(codes.recovery_codes)),
            notice.to_owned(),
        ))
    })
}

/// `POST /account/mfa/totp/remove` → two-step sign-in off.
pub fn post_remove(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    account_action(core, ctx, |b, form| {
        mfa::remove_totp(
            core,
            &b.principal(core, ctx.now),
            form.get("code").unwrap_or(""),
            &ctx.caller(),
            ctx.now,
        )?;
        Ok((Shown::Nothing, "Two-step sign-in is off.".into()))
    })
}

/// `POST /account/passkeys/options` → JSON `{challengeId, publicKey}`: what passkey.js hands to
/// `navigator.credentials.create` (the page's own start of `/v2/auth/passkeys/register/start`).
pub fn post_passkey_options(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    checked_form(core, ctx)?;
    let b = match signed_in(core, ctx)? {
        Ok(b) => b,
        Err(redirect) => return Ok(redirect),
    };
    let started = passkeys::start_registration(core, &b.principal(core, ctx.now), ctx.now)?;
    json(200, &started)
}

/// `POST /account/passkeys` → the passkey added (the form carries the browser's answer).
pub fn post_passkey_add(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    account_action(core, ctx, |b, form| {
        let answer = passkey_answer(form)?;
        let added = passkeys::finish_registration(
            core,
            &b.principal(core, ctx.now),
            form.get("challenge_id").unwrap_or(""),
            form.get("name").unwrap_or(""),
            &answer,
            &ctx.caller(),
            ctx.now,
        )?;
        Ok((Shown::Nothing, format!("Passkey {} added.", added.name)))
    })
}

/// `POST /account/passkeys/remove` → the passkey removed.
pub fn post_passkey_remove(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    account_action(core, ctx, |b, form| {
        passkeys::remove(
            core,
            &b.principal(core, ctx.now),
            form.get("id").unwrap_or(""),
            &ctx.caller(),
            ctx.now,
        )?;
        Ok((Shown::Nothing, "Passkey removed.".into()))
    })
}

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    vec![
        page(
            "post",
            "/account/mfa/totp",
            "Set up TOTP from the page: a QR code (inline SVG) and the secret, then a confirm form",
            200,
        ),
        page(
            "post",
            "/account/mfa/totp/confirm",
            "Confirm TOTP with a code from the page; shows the recovery codes once",
            200,
        ),
        page(
            "post",
            "/account/mfa/recovery-codes",
            "A fresh set of recovery codes from the page, given a code",
            200,
        ),
        page(
            "post",
            "/account/mfa/totp/remove",
            "Turn TOTP off from the page, given a code",
            200,
        ),
        page(
            "post",
            "/account/passkeys/options",
            "The creation options of a new passkey, as JSON {challengeId, publicKey}, for passkey.js (CSRF-protected)",
            200,
        ),
        page(
            "post",
            "/account/passkeys",
            "Add a passkey from the page: its name and the browser's answer (put there by passkey.js)",
            200,
        ),
        page(
            "post",
            "/account/passkeys/remove",
            "Remove a passkey from the page",
            200,
        ),
    ]
}
