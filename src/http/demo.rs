//! The demo's routes (only under `gharart-id demo`; 404 otherwise): `/demo/mailbox`,
//! `/demo/start` (the built-in app starts an authorization with PKCE) and `/demo/callback` (it
//! exchanges the code, through the same token endpoint code as any client, and shows the claims).

use rouille::Response;
use serde_json::Value;

use super::Ctx;
use super::pages::{query, see_other};
use crate::core::token::opaque::{b64url, b64url_decode, random_bytes, sha256};
use crate::core::urlenc::{Params, encode};
use crate::core::{Core, Demo};
use crate::domain::error::ApiError;
use crate::domain::error::PageError;
use crate::domain::oauth::{clients, pkce, token};
use crate::http::html::{self, demo as view};
use crate::http::openapi::{Op, page};

const COOKIE: &str = "gharart_demo";
const SCOPE: &str = "profile email offline_access";

fn demo(core: &Core) -> Result<&Demo, ApiError> {
    core.demo.as_ref().ok_or(ApiError::NotFound)
}

fn random() -> Result<String, ApiError> {
    Ok(b64url(
        &random_bytes::<32>().map_err(|e| ApiError::Internal(e.to_string()))?,
    ))
}

/// `GET /demo/mailbox` → every message the demo sent, newest first.
pub fn get_mailbox(core: &Core, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    Ok(html::html(
        200,
        view::mailbox(&demo(core)?.mailbox.newest_first()),
    ))
}

/// `GET /demo/start` → 303 into `/oauth/authorize` as the built-in app, with PKCE and state.
pub fn get_start(core: &Core, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let client_id = demo(core)?.client_id.get().ok_or(ApiError::NotFound)?;
    let (verifier, state) = (random()?, random()?);
    let challenge = b64url(&sha256(verifier.as_bytes()));
    let url = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&code_challenge={challenge}&code_challenge_method=S256",
        encode(client_id),
        encode(&format!("{}/demo/callback", core.issuer)),
        encode(SCOPE),
        encode(&state)
    );
    let cookie = html::set_cookie(core, COOKIE, &format!("{state}.{verifier}"), 600);
    Ok(see_other(url).with_additional_header("Set-Cookie", cookie))
}

/// `GET /demo/callback` → exchanges the code and shows what the app received.
pub fn get_callback(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let client_id = demo(core)?.client_id.get().ok_or(ApiError::NotFound)?;
    let params = query(ctx)?;
    if let Some(error) = params.get("error") {
        return Ok(html::html(
            200,
            view::refused(error, params.get("error_description").unwrap_or("")),
        ));
    }
    let saved = html::cookie(ctx.req.header("Cookie"), COOKIE).and_then(|c| c.split_once('.'));
    let (state, verifier) = saved.ok_or_else(|| {
        PageError::BadRequest("the demo app lost its state: start again at /demo/start".into())
    })?;
    if params.get("state") != Some(state) || !pkce::valid_verifier(verifier) {
        return Err(PageError::BadRequest(
            "the state does not match the one the demo app sent: start again at /demo/start".into(),
        )
        .into());
    }
    let code = params
        .get("code")
        .ok_or_else(|| PageError::BadRequest("no code came back".into()))?;
    let form = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}&client_id={}",
        encode(code),
        encode(&format!("{}/demo/callback", core.issuer)),
        encode(verifier),
        encode(client_id)
    );
    let form = Params::parse(&form).map_err(PageError::BadRequest)?;
    let client = clients::find(core, client_id)?.ok_or(ApiError::NotFound)?;
    let answer = match token::exchange(core, &client, &form, || ctx.origin(), ctx.now) {
        Ok(answer) => answer,
        Err(e) => return Ok(html::html(400, view::refused(e.code(), &e.description()))),
    };
    let part = |n: usize| -> String {
        answer
            .access_token
            .split('.')
            .nth(n)
            .and_then(b64url_decode)
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_default()
    };
    let token_json =
        serde_json::to_string_pretty(&answer).map_err(|e| ApiError::Internal(e.to_string()))?;
    let page = view::callback(&token_json, &part(0), &part(1));
    Ok(html::html(200, page)
        .with_additional_header("Set-Cookie", html::set_cookie(core, COOKIE, "", 0)))
}

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    vec![
        page(
            "get",
            "/demo/mailbox",
            "The demo's mailbox (gharart-id demo only)",
            200,
        ),
        page(
            "get",
            "/demo/start",
            "The demo app starts an authorization with PKCE (gharart-id demo only)",
            303,
        ),
        page(
            "get",
            "/demo/callback",
            "The demo app exchanges its code and shows the claims (gharart-id demo only)",
            200,
        ),
    ]
}
