//! Personal access token routes: `/v2/auth/tokens`.

use rouille::Response;
use serde_json::json;

use super::{Ctx, json, principal};
use crate::core::Core;
use crate::domain::auth::pats;
use crate::domain::error::ApiError;

/// `POST /v2/auth/tokens` → 201 `{id, token, name, scopes, expiresAt}` (the token shown once).
pub fn post_token(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    let body = ctx.json()?;
    let created = pats::create(
        core,
        &who,
        body.string("name")?,
        &body.strings("scopes")?,
        body.integer("expiresInDays")?,
        ctx.now,
    )?;
    json(201, &created)
}

/// `GET /v2/auth/tokens` → 200 `{tokens: [...]}`, never a secret.
pub fn get_tokens(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    json(200, &json!({ "tokens": pats::list(core, &who, ctx.now)? }))
}

/// `DELETE /v2/auth/tokens/{id}` → 204.
pub fn delete_token(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = principal(core, ctx)?;
    pats::revoke(core, &who, ctx.param(0), ctx.now)?;
    Ok(Response::empty_204())
}
