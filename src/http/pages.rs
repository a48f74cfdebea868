//! The browser pages of the OAuth flow (`GET /oauth/authorize`, `POST /oauth/authorize/decision`),
//! sign-in and sign-out (`/login`, `/logout`), the assets, and the helpers every page handler
//! shares: the CSRF cookie, the browser session, form bodies.

use rouille::Response;

use super::Ctx;
use crate::core::Core;
use crate::core::token::opaque::{b64url, sha256};
use crate::core::urlenc::Params;
use crate::domain::auth::account::{self, Browser};
use crate::domain::auth::login::{BROWSER_SESSION_SECS, SignIn};
use crate::domain::auth::{login, passkeys};
use crate::domain::error::{ApiError, PageError};
use crate::domain::oauth::authorize::{self, Decision, Next, SignedIn};
use crate::http::html::{self, CSRF_COOKIE, SESSION_COOKIE, forms, views};
use crate::http::openapi::{Bearer, Op, obj, page, s};
use serde_json::json;

/// The request's CSRF cookie value, and whether it is new (to be set with the page).
pub struct Csrf {
    pub cookie: String,
    pub fresh: bool,
}

impl Csrf {
    pub fn of(ctx: &Ctx<'_>) -> Result<Csrf, ApiError> {
        match html::cookie(ctx.req.header("Cookie"), CSRF_COOKIE) {
            Some(c) => Ok(Csrf {
                cookie: c.to_owned(),
                fresh: false,
            }),
            None => Ok(Csrf {
                cookie: account::new_csrf_cookie()?,
                fresh: true,
            }),
        }
    }

    /// The form token to embed.
    pub fn token(&self, core: &Core) -> String {
        html::csrf_token(core, &self.cookie)
    }

    /// A page response, setting the cookie when it is new.
    pub fn page(&self, core: &Core, status: u16, page: String) -> Response {
        let resp = html::html(status, page);
        if self.fresh {
            resp.with_additional_header(
                "Set-Cookie",
                html::set_cookie(core, CSRF_COOKIE, &self.cookie, BROWSER_SESSION_SECS),
            )
        } else {
            resp
        }
    }
}

/// A posted form, after its CSRF token checked out (403 page otherwise, nothing changed).
pub fn checked_form(core: &Core, ctx: &Ctx<'_>) -> Result<Params, ApiError> {
    checked_form_with(core, ctx, &["scopes"])
}

/// As [`checked_form`], the fields in `repeatable` being checkboxes that may repeat.
pub fn checked_form_with(
    core: &Core,
    ctx: &Ctx<'_>,
    repeatable: &[&str],
) -> Result<Params, ApiError> {
    let text = std::str::from_utf8(&ctx.body)
        .map_err(|_| PageError::BadRequest("the form is not UTF-8".into()))?;
    let form = Params::parse_with_repeats(text, repeatable).map_err(PageError::BadRequest)?;
    if !html::csrf_ok(
        core,
        html::cookie(ctx.req.header("Cookie"), CSRF_COOKIE),
        form.get("csrf_token"),
    ) {
        return Err(PageError::Csrf.into());
    }
    Ok(form)
}

/// The signed-in browser, if any.
pub fn browser(core: &Core, ctx: &Ctx<'_>) -> Result<Option<Browser>, ApiError> {
    let Some(cookie) = html::cookie(ctx.req.header("Cookie"), SESSION_COOKIE) else {
        return Ok(None);
    };
    let b = account::browser(core, cookie, ctx.now)?;
    if let Some(b) = &b {
        ctx.set_user(&b.user_id);
    }
    Ok(b)
}

pub fn see_other(url: impl Into<String>) -> Response {
    Response::redirect_303(url.into())
}

/// The query of a page request.
pub fn query(ctx: &Ctx<'_>) -> Result<Params, ApiError> {
    // `resource` may repeat (RFC 8707 §2); any other parameter given twice is refused.
    Params::parse_with_repeats(ctx.req.raw_query_string(), &["resource"])
        .map_err(|e| PageError::BadRequest(e).into())
}

/// What identifies this browser to the loop breaker: its session cookie, else address and agent.
fn browser_key(ctx: &Ctx<'_>) -> String {
    match html::cookie(ctx.req.header("Cookie"), SESSION_COOKIE) {
        Some(cookie) => format!("s:{}", b64url(&sha256(cookie.as_bytes()))),
        None => format!(
            "a:{}:{}",
            ctx.ip,
            b64url(&sha256(
                ctx.req.header("User-Agent").unwrap_or("").as_bytes()
            ))
        ),
    }
}

/// `GET /oauth/authorize` → the sign-in page, the consent page, a 303 to the client, or an error page.
pub fn get_authorize(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let params = query(ctx)?;
    let b = browser(core, ctx)?;
    let user = b.as_ref().map(|b| SignedIn {
        user_id: &b.user_id,
        amr: &b.amr,
        at: b.signed_in_at,
    });
    match authorize::start(
        core,
        &params,
        user,
        &browser_key(ctx),
        &ctx.request_id,
        ctx.now,
    )? {
        Next::Redirect(url) => Ok(see_other(url)),
        Next::Page(refusal) => Err(PageError::Authorize(refusal).into()),
        Next::SignIn {
            client_name,
            login_hint,
        } => {
            let csrf = Csrf::of(ctx)?;
            // Come back without prompt=login (it is satisfied now), so the sign-in does not loop.
            let skip = if params.get("prompt") == Some("login") {
                "prompt"
            } else {
                ""
            };
            let return_to = format!("/oauth/authorize?{}", params.encode_without(skip));
            let page = views::sign_in(
                &csrf.token(core),
                Some(&return_to),
                Some(&client_name),
                None,
                login_hint.as_deref().unwrap_or(""),
            );
            Ok(csrf.page(core, 200, page))
        }
        Next::Consent(view) => {
            let csrf = Csrf::of(ctx)?;
            let who = match user {
                Some(u) => account::handle_of(core, u.user_id)?.unwrap_or_default(),
                None => String::new(),
            };
            Ok(csrf.page(core, 200, views::consent(&view, &csrf.token(core), &who)))
        }
    }
}

/// `POST /oauth/authorize/decision` → 303 to the client, or a page (403 bad CSRF, 400 stale).
pub fn post_decision(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = checked_form(core, ctx)?;
    let Some(b) = browser(core, ctx)? else {
        return Err(PageError::Stale.into());
    };
    let approve = match form.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return Err(PageError::BadRequest("decision must be approve or deny".into()).into()),
    };
    match authorize::decide(
        core,
        form.get("request_id").unwrap_or(""),
        &b.user_id,
        approve,
        ctx.now,
    )? {
        Decision::Redirect(url) => Ok(see_other(url)),
        Decision::Stale => Err(PageError::Stale.into()),
    }
}

/// Only local paths may be returned to after sign-in (no open redirect).
pub fn safe_return(target: Option<&str>) -> Option<&str> {
    target.filter(|t| {
        t.starts_with('/') && !t.starts_with("//") && !t.contains('\\') && !t.contains(['\r', '\n'])
    })
}

/// `GET /login` → the sign-in page.
pub fn get_login(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let params = query(ctx)?;
    let csrf = Csrf::of(ctx)?;
    let page = views::sign_in(
        &csrf.token(core),
        safe_return(params.get("return_to")),
        None,
        None,
        "",
    );
    Ok(csrf.page(core, 200, page))
}

/// `POST /login` → 303 back to where the sign-in started, or the form again with 401.
pub fn post_login(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = checked_form(core, ctx)?;
    let return_to = safe_return(form.get("return_to"));
    let login_name = form.get("login").unwrap_or("");
    let caller = ctx.caller();
    match login::sign_in_browser(
        core,
        login_name,
        form.get("password").unwrap_or(""),
        &caller,
        ctx.now,
    ) {
        Ok(SignIn::Done((user, cookie))) => Ok(signed_in(
            core,
            ctx,
            (&user.id, &user.handle),
            &cookie,
            return_to,
        )),
        Ok(SignIn::SecondStep(challenge)) => {
            ctx.set_user(&challenge.user_id);
            let csrf = Csrf::of(ctx)?;
            let page = views::second_step(&csrf.token(core), &challenge.mfa_token, return_to, None);
            Ok(csrf.page(core, 200, page))
        }
        Err(
            e @ (ApiError::InvalidCredentials
            | ApiError::ConfirmationRequired
            | ApiError::AccountDisabled
            | ApiError::LoginBackoff { .. }
            | ApiError::Unavailable { .. }),
        ) => {
            let csrf = Csrf::of(ctx)?;
            let page = views::sign_in(
                &csrf.token(core),
                return_to,
                None,
                Some(&e.message()),
                login_name,
            );
            Ok(html::html(e.status(), page))
        }
        Err(other) => Err(other),
    }
}

/// `POST /login/mfa` → the second step: 303 back to where the sign-in started, the code form
/// again with 401 for a wrong code, or the sign-in form for a dead or expired `mfa_token`.
pub fn post_login_mfa(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = checked_form(core, ctx)?;
    let return_to = safe_return(form.get("return_to"));
    let mfa_token = form.get("mfa_token").unwrap_or("");
    let caller = ctx.caller();
    match login::sign_in_browser_mfa(
        core,
        mfa_token,
        form.get("code").unwrap_or(""),
        &caller,
        ctx.now,
    ) {
        Ok((user, cookie)) => Ok(signed_in(
            core,
            ctx,
            (&user.id, &user.handle),
            &cookie,
            return_to,
        )),
        // The sign-in goes on: the code form again, with the same mfa_token.
        Err(
            e @ (ApiError::MfaCodeInvalid
            | ApiError::LoginBackoff { .. }
            | ApiError::Unavailable { .. }),
        ) => {
            let csrf = Csrf::of(ctx)?;
            let page =
                views::second_step(&csrf.token(core), mfa_token, return_to, Some(&e.message()));
            Ok(html::html(e.status(), page))
        }
        // The sign-in is over: the password form again.
        Err(e @ (ApiError::MfaTokenInvalid | ApiError::MfaTokenExpired)) => {
            let csrf = Csrf::of(ctx)?;
            let reason = "This sign-in has ended (too many wrong codes, already used, or more than 5 minutes old). Sign in again.";
            let page = views::sign_in(&csrf.token(core), return_to, None, Some(reason), "");
            Ok(html::html(e.status(), page))
        }
        Err(e @ ApiError::AccountDisabled) => {
            let csrf = Csrf::of(ctx)?;
            let page = views::sign_in(&csrf.token(core), return_to, None, Some(&e.message()), "");
            Ok(html::html(e.status(), page))
        }
        Err(other) => Err(other),
    }
}

/// `POST /login/passkey` → signed in with a passkey: the page's script put the browser's answer
/// to `/v2/auth/passkeys/login/start` into the form.
pub fn post_login_passkey(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = checked_form(core, ctx)?;
    let return_to = safe_return(form.get("return_to"));
    let caller = ctx.caller();
    let outcome = passkey_answer(&form).and_then(|credential| {
        passkeys::sign_in_browser(
            core,
            form.get("challenge_id").unwrap_or(""),
            &credential,
            &caller,
            ctx.now,
        )
    });
    match outcome {
        Ok((user, cookie)) => Ok(signed_in(
            core,
            ctx,
            (&user.id, &user.handle),
            &cookie,
            return_to,
        )),
        Err(e @ (ApiError::PasskeyInvalid(_) | ApiError::AccountDisabled)) => {
            let csrf = Csrf::of(ctx)?;
            let page = views::sign_in(&csrf.token(core), return_to, None, Some(&e.message()), "");
            Ok(csrf.page(core, e.status(), page))
        }
        Err(other) => Err(other),
    }
}

/// The browser's WebAuthn answer that passkey.js put into a form's `credential` field.
pub(super) fn passkey_answer(form: &Params) -> Result<serde_json::Value, ApiError> {
    match form
        .get("credential")
        .map(serde_json::from_str::<serde_json::Value>)
    {
        Some(Ok(v @ serde_json::Value::Object(_))) => Ok(v),
        Some(_) => Err(ApiError::PasskeyInvalid(
            "the browser's answer is not a WebAuthn credential".into(),
        )),
        None => Err(ApiError::PasskeyInvalid(
            "the browser sent no answer: passkeys need JavaScript and a browser with WebAuthn"
                .into(),
        )),
    }
}

/// The answer to a completed sign-in: the session cookie, and a 303 back or the signed-in page.
fn signed_in(
    core: &Core,
    ctx: &Ctx<'_>,
    (user_id, handle): (&str, &str),
    cookie: &str,
    return_to: Option<&str>,
) -> Response {
    ctx.set_user(user_id);
    let set = html::set_cookie(core, SESSION_COOKIE, cookie, BROWSER_SESSION_SECS);
    let resp = match return_to {
        Some(target) => see_other(target),
        None => html::html(200, views::signed_in(handle)),
    };
    resp.with_additional_header("Set-Cookie", set)
}

/// `GET /logout` → a page with a sign-out button (a GET never signs out).
pub fn get_logout(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let csrf = Csrf::of(ctx)?;
    Ok(csrf.page(core, 200, forms::logout(&csrf.token(core))))
}

/// `POST /logout` → signs this browser out and forgets its cookie.
pub fn post_logout(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    checked_form(core, ctx)?;
    if let (Some(b), Some(cookie)) = (
        browser(core, ctx)?,
        html::cookie(ctx.req.header("Cookie"), SESSION_COOKIE),
    ) {
        account::sign_out(core, cookie, &b, &ctx.caller(), ctx.now)?;
    }
    let page = forms::notice("Signed out", "This browser is signed out.", ("/", "Home"));
    Ok(html::html(200, page)
        .with_additional_header("Set-Cookie", html::set_cookie(core, SESSION_COOKIE, "", 0)))
}

/// `GET /assets/style.css`.
pub fn get_stylesheet(_app: &Core, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    Ok(Response::from_data("text/css; charset=utf-8", html::STYLESHEET).with_public_cache(3600))
}

/// `GET /assets/copy.js`.
pub fn get_script(_app: &Core, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    Ok(
        Response::from_data("text/javascript; charset=utf-8", html::COPY_SCRIPT)
            .with_public_cache(3600),
    )
}

/// `GET /assets/passkey.js`.
pub fn get_passkey_script(_app: &Core, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    Ok(
        Response::from_data("text/javascript; charset=utf-8", html::PASSKEY_SCRIPT)
            .with_public_cache(3600),
    )
}

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    vec![
        Op {
            method: "get",
            path: "/oauth/authorize",
            summary: "Authorization endpoint: sign-in and consent pages, then a 303 to the client (PKCE S256 required)",
            tag: "oauth",
            bearer: Bearer::None,
            request: None,
            success: (
                303,
                "Redirect to the client with code, state and iss (or error)",
                None,
            ),
            errors: &["page"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/oauth/authorize/decision",
            summary: "The consent form's target (CSRF-protected)",
            tag: "oauth",
            bearer: Bearer::None,
            request: Some(obj(
                &["csrf_token", "request_id", "decision"],
                json!({"csrf_token": s(), "request_id": s(), "decision": {"enum": ["approve", "deny"]}}),
            )),
            success: (303, "Redirect to the client", None),
            errors: &["page"],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/login",
            summary: "The sign-in page",
            tag: "pages",
            bearer: Bearer::None,
            request: None,
            success: (200, "HTML", None),
            errors: &["page"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/login",
            summary: "Sign in from the page (CSRF-protected); 303 back, or the form again with the API's status (401, 403, 429, 503)",
            tag: "pages",
            bearer: Bearer::None,
            request: Some(obj(
                &["csrf_token", "login", "password"],
                json!({"csrf_token": s(), "login": s(), "password": s(), "return_to": s()}),
            )),
            success: (303, "Signed in", None),
            errors: &["page"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/login/mfa",
            summary: "The second step of sign-in from the page (CSRF-protected): a TOTP or recovery code; 303 back, the code form again with 401, or the sign-in form when the step has ended",
            tag: "pages",
            bearer: Bearer::None,
            request: Some(obj(
                &["csrf_token", "mfa_token", "code"],
                json!({"csrf_token": s(), "mfa_token": s(), "code": s(), "return_to": s()}),
            )),
            success: (303, "Signed in", None),
            errors: &["page"],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/assets/style.css",
            summary: "The pages' stylesheet",
            tag: "pages",
            bearer: Bearer::None,
            request: None,
            success: (200, "CSS", None),
            errors: &[],
            idempotent: false,
        },
        page(
            "get",
            "/logout",
            "A page with a sign-out button (a GET never signs out)",
            200,
        ),
        page("post", "/logout", "Sign this browser out", 200),
        page(
            "get",
            "/assets/copy.js",
            "The copy buttons' script (the pages work without it)",
            200,
        ),
        page(
            "get",
            "/assets/passkey.js",
            "The WebAuthn calls of the pages: sign in with a passkey, add a passkey",
            200,
        ),
        Op {
            method: "post",
            path: "/login/passkey",
            summary: "Sign in with a passkey from the page (CSRF-protected): passkey.js puts the answer to /v2/auth/passkeys/login/start into the form; 303 back, or the sign-in form with 401 and the check that failed",
            tag: "pages",
            bearer: Bearer::None,
            request: Some(obj(
                &["csrf_token", "challenge_id", "credential"],
                json!({"csrf_token": s(), "challenge_id": s(), "credential": {"type": "string", "description": "AuthenticationResponseJSON, as text"}, "return_to": s()}),
            )),
            success: (303, "Signed in", None),
            errors: &["page"],
            idempotent: false,
        },
    ]
}
