//! The browser pages of the OAuth flow: `GET /oauth/authorize` (sign-in or consent),
//! `POST /oauth/authorize/decision`, `GET|POST /login`, and the stylesheet.

use rouille::Response;

use super::Ctx;
use crate::app::App;
use crate::auth::login;
use crate::error::ApiError;
use crate::oauth::authorize::{self, Decision, Next, Refusal};
use crate::pages::{self, BROWSER_SESSION_SECS, CSRF_COOKIE, PageError, SESSION_COOKIE, views};
use crate::token::opaque::{b64url, sha256};
use crate::urlenc::Params;

/// The request's CSRF cookie, or a new one to set with the page.
fn csrf_cookie(ctx: &Ctx<'_>) -> Result<(String, bool), ApiError> {
    match pages::cookie(ctx.req.header("Cookie"), CSRF_COOKIE) {
        Some(c) => Ok((c.to_owned(), false)),
        None => Ok((crate::auth::fresh_id("csrf_")?, true)),
    }
}

/// A page with a form: sets the CSRF cookie when the browser had none.
fn form_page(app: &App, status: u16, page: String, csrf: &(String, bool)) -> Response {
    let resp = pages::html(status, page);
    if csrf.1 {
        resp.with_additional_header(
            "Set-Cookie",
            pages::set_cookie(app, CSRF_COOKIE, &csrf.0, BROWSER_SESSION_SECS),
        )
    } else {
        resp
    }
}

fn see_other(url: String) -> Response {
    Response::redirect_303(url)
}

/// The signed-in user of this browser, if any.
fn browser_user(app: &App, ctx: &Ctx<'_>) -> Result<Option<String>, ApiError> {
    match pages::cookie(ctx.req.header("Cookie"), SESSION_COOKIE) {
        Some(cookie) => Ok(authorize::browser_user(app, cookie, ctx.now)?),
        None => Ok(None),
    }
}

/// What identifies this browser to the loop breaker: its session cookie, else address and agent.
fn browser_key(ctx: &Ctx<'_>) -> String {
    match pages::cookie(ctx.req.header("Cookie"), SESSION_COOKIE) {
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

fn form_body(ctx: &Ctx<'_>) -> Result<Params, ApiError> {
    let text = std::str::from_utf8(&ctx.body)
        .map_err(|_| PageError::BadRequest("the form is not UTF-8".into()))?;
    Params::parse(text).map_err(|e| PageError::BadRequest(e).into())
}

/// `GET /oauth/authorize` → the sign-in page, the consent page, a 303 to the client, or an error page.
pub fn get_authorize(app: &App, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let params = Params::parse(ctx.req.raw_query_string()).map_err(PageError::BadRequest)?;
    let user = browser_user(app, ctx)?;
    let next = authorize::start(
        app,
        &params,
        user.as_deref(),
        &browser_key(ctx),
        &ctx.request_id,
        ctx.now,
    )?;
    match next {
        Next::Redirect(url) => Ok(see_other(url)),
        Next::Page(refusal) => Err(page_error(refusal).into()),
        Next::SignIn { client_name } => {
            let csrf = csrf_cookie(ctx)?;
            // Come back without prompt=login (it is satisfied now), so the sign-in does not loop.
            let skip = if params.get("prompt") == Some("login") {
                "prompt"
            } else {
                ""
            };
            let return_to = format!("/oauth/authorize?{}", params.encode_without(skip));
            let page = views::sign_in(
                &pages::csrf_token(app, &csrf.0),
                Some(&return_to),
                Some(&client_name),
                None,
                "",
            );
            Ok(form_page(app, 200, page, &csrf))
        }
        Next::Consent(view) => {
            let csrf = csrf_cookie(ctx)?;
            let who = match &user {
                Some(id) => app
                    .db
                    .read(|c| crate::store::users::find_by_id(c, id))?
                    .map(|u| u.handle)
                    .unwrap_or_default(),
                None => String::new(),
            };
            Ok(form_page(
                app,
                200,
                views::consent(&view, &pages::csrf_token(app, &csrf.0), &who),
                &csrf,
            ))
        }
    }
}

fn page_error(r: Refusal) -> PageError {
    match r {
        Refusal::BadRequest(why) => PageError::BadRequest(why),
        Refusal::MissingClient => PageError::MissingClient,
        Refusal::UnknownClient(id) => PageError::UnknownClient(id),
        Refusal::RedirectRequired { registered } => PageError::RedirectRequired { registered },
        Refusal::RedirectMismatch {
            sent,
            registered,
            closest,
            differences,
        } => PageError::RedirectMismatch {
            sent,
            registered,
            closest,
            differences,
        },
        Refusal::Loop {
            client_name,
            redirect_uri,
            request_ids,
        } => PageError::Loop {
            client_name,
            redirect_uri,
            request_ids,
        },
    }
}

/// `POST /oauth/authorize/decision` → 303 to the client, or a page (403 bad CSRF, 400 stale).
pub fn post_decision(app: &App, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = form_body(ctx)?;
    if !pages::csrf_ok(
        app,
        pages::cookie(ctx.req.header("Cookie"), CSRF_COOKIE),
        form.get("csrf_token"),
    ) {
        return Err(PageError::Csrf.into());
    }
    let Some(user) = browser_user(app, ctx)? else {
        return Err(PageError::Stale.into());
    };
    ctx.set_user(&user);
    let approve = match form.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return Err(PageError::BadRequest("decision must be approve or deny".into()).into()),
    };
    let request_id = form.get("request_id").unwrap_or("");
    match authorize::decide(app, request_id, &user, approve, ctx.now)? {
        Decision::Redirect(url) => Ok(see_other(url)),
        Decision::Stale => Err(PageError::Stale.into()),
    }
}

/// Only local paths may be returned to after sign-in (no open redirect).
fn safe_return(target: Option<&str>) -> Option<&str> {
    target.filter(|t| {
        t.starts_with('/') && !t.starts_with("//") && !t.contains('\\') && !t.contains(['\r', '\n'])
    })
}

/// `GET /login` → the sign-in page.
pub fn get_login(app: &App, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let params = Params::parse(ctx.req.raw_query_string()).map_err(PageError::BadRequest)?;
    let csrf = csrf_cookie(ctx)?;
    let page = views::sign_in(
        &pages::csrf_token(app, &csrf.0),
        safe_return(params.get("return_to")),
        None,
        None,
        "",
    );
    Ok(form_page(app, 200, page, &csrf))
}

/// `POST /login` → 303 back to where the sign-in started, or the form again with 401.
pub fn post_login(app: &App, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = form_body(ctx)?;
    let csrf_value = pages::cookie(ctx.req.header("Cookie"), CSRF_COOKIE);
    if !pages::csrf_ok(app, csrf_value, form.get("csrf_token")) {
        return Err(PageError::Csrf.into());
    }
    let return_to = safe_return(form.get("return_to"));
    let login_name = form.get("login").unwrap_or("");
    match login::sign_in_browser(app, login_name, form.get("password").unwrap_or(""), ctx.now) {
        Ok((user, cookie)) => {
            ctx.set_user(&user.id);
            let set = pages::set_cookie(app, SESSION_COOKIE, &cookie, BROWSER_SESSION_SECS);
            let resp = match return_to {
                Some(target) => see_other(target.to_owned()),
                None => pages::html(200, views::signed_in(&user.handle)),
            };
            Ok(resp.with_additional_header("Set-Cookie", set))
        }
        Err(
            e @ (ApiError::InvalidCredentials
            | ApiError::ConfirmationRequired
            | ApiError::AccountDisabled
            | ApiError::LoginBackoff { .. }
            | ApiError::Unavailable { .. }),
        ) => {
            let token = pages::csrf_token(app, csrf_value.unwrap_or(""));
            let page = views::sign_in(&token, return_to, None, Some(&e.message()), login_name);
            let status = if matches!(e, ApiError::LoginBackoff { .. }) {
                429
            } else {
                401
            };
            Ok(pages::html(status, page))
        }
        Err(other) => Err(other),
    }
}

/// `GET /assets/style.css`.
pub fn get_stylesheet(_app: &App, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    Ok(Response::from_data("text/css; charset=utf-8", pages::STYLESHEET).with_public_cache(3600))
}
