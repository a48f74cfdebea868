//! The self-service pages (API.md, Pages): home, sign-up and confirmation, password reset, and
//! the account page with its actions. Each action calls the same domain function as its API
//! route; a refused action shows the form again with the reason, and its request ID.

use rouille::Response;

use super::Ctx;
use super::pages::{Csrf, browser, checked_form, query, see_other};
use crate::core::Core;
use crate::core::urlenc::{Params, encode};
use crate::domain::auth::account::{self, Browser};
use crate::domain::auth::pats::{self, CreatedPat};
use crate::domain::auth::{reset, signup};
use crate::domain::error::ApiError;
use crate::http::html::mfa as mfa_view;
use crate::http::html::{self, account as view, forms};
use crate::http::openapi::{Op, page};

/// The error text of a refused action, with its request ID for support.
pub(super) fn why(e: &ApiError, ctx: &Ctx<'_>) -> String {
    format!("{} (request ID {})", e.message(), ctx.request_id)
}

/// Whether a domain error is the user's to fix (shown on the form) rather than ours.
pub(super) fn for_the_form(e: &ApiError) -> bool {
    e.status() < 500
        && !matches!(
            e,
            ApiError::Throttled { .. } | ApiError::DailyLimitReached { .. }
        )
}

/// `GET /` → what this is, and where to go.
pub fn get_home(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let handle = match browser(core, ctx)? {
        Some(b) => account::handle_of(core, &b.user_id)?,
        None => None,
    };
    Ok(html::html(
        200,
        forms::home(handle.as_deref(), core.demo.is_some()),
    ))
}

/// `GET /signup`.
pub fn get_signup(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let csrf = Csrf::of(ctx)?;
    Ok(csrf.page(
        core,
        200,
        forms::signup(&csrf.token(core), None, "", "", ""),
    ))
}

/// `POST /signup` → 303 to `/signup/confirm?email=…`, or the form again.
pub fn post_signup(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = checked_form(core, ctx)?;
    let (handle, email) = (
        form.get("handle").unwrap_or(""),
        form.get("email").unwrap_or(""),
    );
    let request = signup::SignupRequest {
        handle,
        email,
        password: form.get("password").unwrap_or(""),
        display_name: form.get("display_name"),
    };
    match signup::signup(core, &request, &ctx.caller(), ctx.now) {
        Ok(_) => Ok(see_other(format!(
            "/signup/confirm?email={}",
            encode(email)
        ))),
        Err(e) if for_the_form(&e) => {
            let csrf = Csrf::of(ctx)?;
            let page = forms::signup(
                &csrf.token(core),
                Some(&why(&e, ctx)),
                handle,
                email,
                form.get("display_name").unwrap_or(""),
            );
            Ok(html::html(e.status(), page))
        }
        Err(e) => Err(e),
    }
}

/// `GET /signup/confirm?email=`.
pub fn get_confirm(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let params = query(ctx)?;
    let email = params.get("email").unwrap_or("");
    let csrf = Csrf::of(ctx)?;
    let invited = signup::is_invited_without_password(core, email)?;
    Ok(csrf.page(
        core,
        200,
        forms::confirm(&csrf.token(core), email, None, None, invited),
    ))
}

/// `POST /signup/confirm` → a page saying the email is confirmed, or the form again.
pub fn post_confirm(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = checked_form(core, ctx)?;
    let email = form.get("email").unwrap_or("");
    match signup::confirm(
        core,
        email,
        form.get("code").unwrap_or(""),
        form.get("password"),
        &ctx.caller(),
        ctx.now,
    ) {
        Ok(user) => Ok(html::html(
            200,
            forms::notice(
                "Email confirmed",
                &format!("Welcome, {}. You can sign in now.", user.handle),
                ("/login?return_to=/account", "Sign in"),
            ),
        )),
        Err(e) if for_the_form(&e) => {
            let csrf = Csrf::of(ctx)?;
            let invited = signup::is_invited_without_password(core, email)?;
            Ok(html::html(
                e.status(),
                forms::confirm(&csrf.token(core), email, Some(&why(&e, ctx)), None, invited),
            ))
        }
        Err(e) => Err(e),
    }
}

/// `POST /signup/resend` → the confirm page with "a new code was sent" (for any email).
pub fn post_resend(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = checked_form(core, ctx)?;
    let email = form.get("email").unwrap_or("");
    let csrf = Csrf::of(ctx)?;
    let invited = signup::is_invited_without_password(core, email)?;
    match signup::resend(core, email, ctx.now) {
        Ok(()) => Ok(html::html(
            200,
            forms::confirm(
                &csrf.token(core),
                email,
                None,
                Some(
                    "If this email has an account waiting, a new code is on its way. Earlier codes still work until they expire.",
                ),
                invited,
            ),
        )),
        Err(e) if e.status() < 500 => Ok(html::html(
            e.status(),
            forms::confirm(&csrf.token(core), email, Some(&why(&e, ctx)), None, invited),
        )),
        Err(e) => Err(e),
    }
}

/// `GET /password/forgot`.
pub fn get_forgot(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let csrf = Csrf::of(ctx)?;
    Ok(csrf.page(core, 200, forms::forgot(&csrf.token(core), None)))
}

/// `POST /password/forgot` → 303 to `/password/reset?email=…` (for any email).
pub fn post_forgot(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = checked_form(core, ctx)?;
    let email = form.get("email").unwrap_or("");
    match reset::forgot(core, email, ctx.now) {
        Ok(()) => Ok(see_other(format!(
            "/password/reset?email={}",
            encode(email)
        ))),
        Err(e) if e.status() < 500 => {
            let csrf = Csrf::of(ctx)?;
            Ok(html::html(
                e.status(),
                forms::forgot(&csrf.token(core), Some(&why(&e, ctx))),
            ))
        }
        Err(e) => Err(e),
    }
}

/// `GET /password/reset?email=`.
pub fn get_reset(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let params = query(ctx)?;
    let csrf = Csrf::of(ctx)?;
    Ok(csrf.page(
        core,
        200,
        forms::reset(&csrf.token(core), params.get("email").unwrap_or(""), None),
    ))
}

/// `POST /password/reset` → a page saying the password is set, or the form again.
pub fn post_reset(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = checked_form(core, ctx)?;
    let email = form.get("email").unwrap_or("");
    match reset::confirm(
        core,
        email,
        form.get("code").unwrap_or(""),
        form.get("new_password").unwrap_or(""),
        &ctx.caller(),
        ctx.now,
    ) {
        Ok(out) => Ok(html::html(
            200,
            forms::notice(
                "Password set",
                &format!(
                    "Your new password is set; {} sessions were signed out.",
                    out.sessions_revoked
                ),
                ("/login?return_to=/account", "Sign in"),
            ),
        )),
        Err(e) if for_the_form(&e) => {
            let csrf = Csrf::of(ctx)?;
            Ok(html::html(
                e.status(),
                forms::reset(&csrf.token(core), email, Some(&why(&e, ctx))),
            ))
        }
        Err(e) => Err(e),
    }
}

/// The signed-in browser, or a 303 to the sign-in page.
pub(super) fn signed_in(core: &Core, ctx: &Ctx<'_>) -> Result<Result<Browser, Response>, ApiError> {
    Ok(browser(core, ctx)?.ok_or_else(|| see_other("/login?return_to=/account")))
}

/// The account page with an optional new token, notice or error.
fn account_page(
    core: &Core,
    ctx: &Ctx<'_>,
    b: &Browser,
    status: u16,
    extras: view::Extras<'_>,
) -> Result<Response, ApiError> {
    let overview = account::overview(core, b, ctx.now)?;
    let csrf = Csrf::of(ctx)?;
    let page = view::page(
        &overview,
        &core.config.scopes,
        &csrf.token(core),
        &b.session_id,
        ctx.now,
        &extras,
    );
    Ok(csrf.page(core, status, page))
}

/// `GET /account`.
pub fn get_account(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    match signed_in(core, ctx)? {
        Ok(b) => account_page(core, ctx, &b, 200, view::Extras::default()),
        Err(redirect) => Ok(redirect),
    }
}

/// What an account action shows once, beside its notice.
pub(super) enum Shown {
    Nothing,
    Token(CreatedPat),
    Mfa(mfa_view::Shown),
}

/// Runs an account action after the CSRF check and the sign-in check, then shows the page with
/// its outcome (errors the user can act on are shown on the page with their request ID).
pub(super) fn account_action(
    core: &Core,
    ctx: &Ctx<'_>,
    action: impl FnOnce(&Browser, &Params) -> Result<(Shown, String), ApiError>,
) -> Result<Response, ApiError> {
    let form = checked_form(core, ctx)?;
    let b = match signed_in(core, ctx)? {
        Ok(b) => b,
        Err(redirect) => return Ok(redirect),
    };
    match action(&b, &form) {
        Ok((shown, notice)) => {
            let (created, mfa) = match &shown {
                Shown::Token(t) => (Some(t), None),
                Shown::Mfa(m) => (None, Some(m)),
                Shown::Nothing => (None, None),
            };
            let status = if created.is_some() { 201 } else { 200 };
            let extras = view::Extras {
                created,
                mfa,
                notice: Some(&notice),
                error: None,
            };
            account_page(core, ctx, &b, status, extras)
        }
        Err(e) if for_the_form(&e) => {
            let reason = why(&e, ctx);
            account_page(
                core,
                ctx,
                &b,
                e.status(),
                view::Extras {
                    error: Some(&reason),
                    ..Default::default()
                },
            )
        }
        Err(e) => Err(e),
    }
}

/// `POST /account/tokens` → the page with the new token shown once.
pub fn post_token(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    account_action(core, ctx, |b, form| {
        let scopes: Vec<&str> = form.all("scopes");
        let days = form
            .get("expires_in_days")
            .unwrap_or("30")
            .trim()
            .parse::<i64>()
            .map_err(|_| {
                ApiError::invalid_field(
                    "expiresInDays",
                    "expires in must be a whole number of days",
                )
            })?;
        let created = pats::create(
            core,
            &b.principal(core, ctx.now),
            form.get("name").unwrap_or(""),
            &scopes,
            days,
            &ctx.caller(),
            ctx.now,
        )?;
        let notice = format!("Token {} created.", created.name);
        Ok((Shown::Token(created), notice))
    })
}

/// `POST /account/tokens/revoke`.
pub fn post_revoke_token(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    account_action(core, ctx, |b, form| {
        pats::revoke(
            core,
            &b.principal(core, ctx.now),
            form.get("token_id").unwrap_or(""),
            &ctx.caller(),
            ctx.now,
        )?;
        Ok((Shown::Nothing, "The token is revoked.".into()))
    })
}

/// `POST /account/sessions/revoke`.
pub fn post_revoke_session(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    account_action(core, ctx, |b, form| {
        account::revoke_session(
            core,
            b,
            form.get("session_id").unwrap_or(""),
            &ctx.caller(),
            ctx.now,
        )?;
        Ok((
            Shown::Nothing,
            "The session is revoked: its tokens no longer work.".into(),
        ))
    })
}

/// `POST /account/sessions/revoke-others`.
pub fn post_revoke_others(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    account_action(core, ctx, |b, _| {
        let n = account::revoke_other_sessions(core, b, &ctx.caller(), ctx.now)?;
        Ok((
            Shown::Nothing,
            format!("Signed out everywhere else ({n} sessions)."),
        ))
    })
}

/// `POST /account/apps/revoke`.
pub fn post_revoke_app(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    account_action(core, ctx, |b, form| {
        account::revoke_app(
            core,
            b,
            form.get("client_id").unwrap_or(""),
            &ctx.caller(),
            ctx.now,
        )?;
        Ok((Shown::Nothing, "The app's access is revoked.".into()))
    })
}

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    vec![
        page("get", "/", "Home: what this is, and links", 200),
        page("get", "/signup", "The sign-up page", 200),
        page(
            "post",
            "/signup",
            "Sign up from the page; 303 to /signup/confirm, or the form again with the reason",
            303,
        ),
        page(
            "get",
            "/signup/confirm",
            "The confirm page (takes ?email=), with \"send a new code\"",
            200,
        ),
        page(
            "post",
            "/signup/confirm",
            "Confirm from the page (an invited account also chooses its password)",
            200,
        ),
        page(
            "post",
            "/signup/resend",
            "Send a new code from the page",
            200,
        ),
        page("get", "/password/forgot", "The forgot-password page", 200),
        page(
            "post",
            "/password/forgot",
            "Mail a reset code; 303 to /password/reset",
            303,
        ),
        page(
            "get",
            "/password/reset",
            "The reset page (takes ?email=)",
            200,
        ),
        page(
            "post",
            "/password/reset",
            "Set a new password with the code",
            200,
        ),
        page(
            "get",
            "/account",
            "The account page: profile, sessions, tokens, apps, debug panel (303 to sign in without a session)",
            200,
        ),
        page(
            "post",
            "/account/tokens",
            "Create a personal access token from the page (shown once)",
            201,
        ),
        page(
            "post",
            "/account/tokens/revoke",
            "Revoke a personal access token from the page",
            200,
        ),
        page(
            "post",
            "/account/sessions/revoke",
            "Revoke one session from the page",
            200,
        ),
        page(
            "post",
            "/account/sessions/revoke-others",
            "Sign out everywhere else",
            200,
        ),
        page(
            "post",
            "/account/apps/revoke",
            "Withdraw an app's access",
            200,
        ),
    ]
}
