//! `GET` and `POST /oauth/logout`, OpenID Connect's `end_session_endpoint` (RP-Initiated Logout
//! 1.0): a confirmation page (a GET never signs out), then the CSRF-checked POST signs the
//! browser out and sends it to the client's registered `post_logout_redirect_uri` with `state`.

use rouille::Response;
use serde_json::json;

use super::Ctx;
use super::pages::{Csrf, browser, checked_form, query, see_other};
use crate::core::Core;
use crate::domain::auth::account;
use crate::domain::error::ApiError;
use crate::domain::oauth::logout;
use crate::http::html::{self, SESSION_COOKIE, forms};
use crate::http::openapi::{Bearer, Op, obj, page, s};

/// `GET /oauth/logout` → the confirmation page, or a page saying why the request is refused.
pub fn get_logout(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let checked = logout::check(core, &query(ctx)?)?;
    let csrf = Csrf::of(ctx)?;
    Ok(csrf.page(core, 200, forms::end_session(&csrf.token(core), &checked)))
}

/// `POST /oauth/logout` → signs the browser out; 303 to the client, or a signed-out page.
pub fn post_logout(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = checked_form(core, ctx)?;
    let checked = logout::check(core, &form)?;
    if let (Some(b), Some(cookie)) = (
        browser(core, ctx)?,
        html::cookie(ctx.req.header("Cookie"), SESSION_COOKIE),
    ) {
        ctx.set_user(&b.user_id);
        account::sign_out(core, cookie, &b, &ctx.caller(), ctx.now)?;
    }
    let resp = match checked.redirect {
        Some(url) => see_other(url),
        None => html::html(
            200,
            forms::notice("Signed out", "This browser is signed out.", ("/", "Home")),
        ),
    };
    Ok(resp.with_additional_header("Set-Cookie", html::set_cookie(core, SESSION_COOKIE, "", 0)))
}

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    vec![
        page(
            "get",
            "/oauth/logout",
            "RP-initiated logout (OpenID Connect): id_token_hint, client_id, post_logout_redirect_uri (exact match), state; a confirmation page, or a page saying why (never a redirect to an unregistered URI)",
            200,
        ),
        Op {
            method: "post",
            path: "/oauth/logout",
            summary: "The logout confirmation (CSRF-protected): signs the browser out, then 303 to the registered post_logout_redirect_uri with state, or a signed-out page",
            tag: "pages",
            bearer: Bearer::None,
            request: Some(obj(
                &["csrf_token"],
                json!({"csrf_token": s(), "client_id": s(), "post_logout_redirect_uri": s(), "state": s()}),
            )),
            success: (303, "Signed out", None),
            errors: &["page"],
            idempotent: false,
        },
    ]
}
