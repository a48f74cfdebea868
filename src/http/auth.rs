//! The identity routes of API.md: parse, authenticate, one domain call, render.

use rouille::{Request, Response};
use serde_json::json;

use super::{bearer, json, read_json, read_optional_json, user_agent};
use crate::app::App;
use crate::auth::{login, reset, session, signup};
use crate::error::ApiError;

/// `POST /v2/auth/signup` → 201 `{user, confirmation}`.
pub fn post_signup(app: &App, req: &Request) -> Result<Response, ApiError> {
    let body = read_json(req, app.config.body_limit)?;
    let request = signup::SignupRequest {
        handle: body.string("handle")?,
        email: body.string("email")?,
        password: body.string("password")?,
        display_name: body.opt_string("displayName")?,
    };
    json(201, &signup::signup(app, &request, app.clock.now())?)
}

/// `POST /v2/auth/signup/confirm` → 200 `{user}`.
pub fn post_signup_confirm(app: &App, req: &Request) -> Result<Response, ApiError> {
    let body = read_json(req, app.config.body_limit)?;
    let user = signup::confirm(
        app,
        body.string("email")?,
        body.string("code")?,
        app.clock.now(),
    )?;
    json(200, &json!({ "user": user }))
}

/// `POST /v2/auth/signup/resend` → 202 `{accepted: true}`, whether or not the email exists.
pub fn post_signup_resend(app: &App, req: &Request) -> Result<Response, ApiError> {
    let body = read_json(req, app.config.body_limit)?;
    signup::resend(app, body.string("email")?, app.clock.now())?;
    json(202, &json!({ "accepted": true }))
}

/// `POST /v2/auth/login` → 200 session.
pub fn post_login(app: &App, req: &Request) -> Result<Response, ApiError> {
    let body = read_json(req, app.config.body_limit)?;
    let ua = user_agent(req);
    let view = login::login(
        app,
        body.string("login")?,
        body.string("password")?,
        ua.as_deref(),
        app.clock.now(),
    )?;
    json(200, &view)
}

/// `POST /v2/auth/refresh` → 200 session.
pub fn post_refresh(app: &App, req: &Request) -> Result<Response, ApiError> {
    let body = read_json(req, app.config.body_limit)?;
    json(
        200,
        &session::refresh(app, body.string("refreshToken")?, app.clock.now())?,
    )
}

/// `POST /v2/auth/logout` → 204.
pub fn post_logout(app: &App, req: &Request) -> Result<Response, ApiError> {
    let now = app.clock.now();
    let who = session::authenticate(app, bearer(req), now)?;
    let body = read_optional_json(req, app.config.body_limit)?;
    session::logout(
        app,
        &who,
        body.opt_bool("allSessions")?.unwrap_or(false),
        now,
    )?;
    Ok(Response::empty_204())
}

/// `GET /v2/auth/me` → 200 `{user, session, credential}`.
pub fn get_me(app: &App, req: &Request) -> Result<Response, ApiError> {
    let who = session::authenticate(app, bearer(req), app.clock.now())?;
    json(200, &session::me(app, &who)?)
}

/// `POST /v2/auth/password/forgot` → 202 `{accepted: true}`, whether or not the email exists.
pub fn post_password_forgot(app: &App, req: &Request) -> Result<Response, ApiError> {
    let body = read_json(req, app.config.body_limit)?;
    reset::forgot(app, body.string("email")?, app.clock.now())?;
    json(202, &json!({ "accepted": true }))
}

/// `POST /v2/auth/password/forgot/confirm` → 200 `{passwordReset, sessionsRevoked}`.
pub fn post_password_forgot_confirm(app: &App, req: &Request) -> Result<Response, ApiError> {
    let body = read_json(req, app.config.body_limit)?;
    let outcome = reset::confirm(
        app,
        body.string("email")?,
        body.string("code")?,
        body.string("newPassword")?,
        app.clock.now(),
    )?;
    json(200, &outcome)
}
