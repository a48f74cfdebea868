//! Personal access token routes: `/v2/auth/tokens`.

use rouille::Response;
use serde_json::json;

use super::{Ctx, json, principal};
use crate::app::App;
use crate::auth::pats;
use crate::error::ApiError;

/// `POST /v2/auth/tokens` → 201 `{id, token, name, scopes, expiresAt}` (the token shown once).
pub fn post_token(app: &App, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(app, ctx)?;
    let body = ctx.json()?;
    let created = pats::create(
        app,
        &who,
        body.string("name")?,
        &body.strings("scopes")?,
        body.integer("expiresInDays")?,
        ctx.now,
    )?;
    json(201, &created)
}

/// `GET /v2/auth/tokens` → 200 `{tokens: [...]}`, never a secret.
pub fn get_tokens(app: &App, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(app, ctx)?;
    json(200, &json!({ "tokens": pats::list(app, &who, ctx.now)? }))
}

/// `DELETE /v2/auth/tokens/{id}` → 204.
pub fn delete_token(app: &App, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(app, ctx)?;
    pats::revoke(app, &who, ctx.param(0), ctx.now)?;
    Ok(Response::empty_204())
}
