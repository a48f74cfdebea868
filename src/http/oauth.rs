//! The OAuth endpoints that speak JSON: metadata (RFC 8414), registration (RFC 7591), token
//! (RFC 6749 §3.2), revocation (RFC 7009) and introspection (RFC 7662). Errors are `OAuthError`s.

use rouille::Response;
use serde_json::{Map, Value};

use super::{Ctx, json};
use crate::core::Core;
use crate::core::urlenc::Params;
use crate::domain::audit::{self, Acting};
use crate::domain::auth::session;
use crate::domain::error::ApiError;
use crate::domain::oauth::{OAuthError, clients, inspect, metadata, oidc, token};
use crate::http::openapi::{Bearer, Op, obj, r, s};
use serde_json::json;

/// The form body of a token-endpoint style request (RFC 6749 §3.2: form-urlencoded, no repeats
/// but `resource`, RFC 8707 §2).
fn form(ctx: &Ctx<'_>) -> Result<Params, OAuthError> {
    let media = super::media_type(ctx.req);
    if media != "application/x-www-form-urlencoded" {
        return Err(OAuthError::InvalidRequest(
            "send the parameters as application/x-www-form-urlencoded".into(),
        ));
    }
    let text = std::str::from_utf8(&ctx.body)
        .map_err(|_| OAuthError::InvalidRequest("the body is not UTF-8".into()))?;
    Params::parse_with_repeats(text, &["resource"]).map_err(OAuthError::InvalidRequest)
}

fn no_store(resp: Response) -> Response {
    resp.with_unique_header("Cache-Control", "no-store")
        .with_unique_header("Pragma", "no-cache")
}

/// `GET /.well-known/oauth-authorization-server` → 200 metadata.
pub fn get_metadata(core: &Core, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    json(200, &metadata::document(core))
}

/// `GET /.well-known/openid-configuration` → 200 OpenID Connect Discovery metadata.
pub fn get_openid_configuration(core: &Core, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    json(200, &oidc::configuration(core))
}

/// `GET` or `POST /oauth/userinfo` with a Bearer access token holding `openid` → 200 claims.
pub fn userinfo(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let who = session::authenticate(core, ctx.bearer(), ctx.now)?;
    if who.credential.has_user() {
        ctx.set_user(&who.user_id);
    }
    Ok(no_store(json(200, &oidc::userinfo(&who)?)?))
}

/// `GET /.well-known/oauth-protected-resource` → 200 RFC 9728 metadata of the `/v2` API.
pub fn get_protected_resource(core: &Core, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    json(200, &metadata::protected_resource(core))
}

/// `GET /oauth/jwks` → 200 `{keys}`: a relying party may cache it a minute, and fetches it again
/// when a token names a `kid` it has not seen.
pub fn get_jwks(core: &Core, _ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    Ok(json(200, &metadata::jwks(core))?.with_public_cache(60))
}

/// `POST /oauth/register` → 201 client metadata with `client_id` (and `client_secret`, once).
pub fn post_register(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let owner = if core.config.open_registration && ctx.bearer().is_none() {
        core.throttle
            .hit("register-user", &ctx.ip.to_string(), ctx.now)
            .map_err(|e| token::oauth_error(e.into()))?;
        None
    } else {
        let who = session::authenticate(core, ctx.bearer(), ctx.now)
            .map_err(|e| OAuthError::InvalidToken(e.message()))?;
        who.require_first_party().map_err(|_| {
            OAuthError::InsufficientScope(
                "only a signed-in session's access token (from login or refresh) can register clients, not a personal access token or an OAuth app's token".into(),
            )
        })?;
        ctx.set_user(&who.user_id);
        core.throttle
            .hit("register-user", &who.user_id, ctx.now)
            .map_err(|e| token::oauth_error(e.into()))?;
        Some(who.user_id)
    };
    let body: Map<String, Value> = match serde_json::from_slice(&ctx.body) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(OAuthError::InvalidClientMetadata(
                "the body must be a JSON object of client metadata".into(),
            )
            .into());
        }
    };
    let caller = ctx.caller();
    let answer = clients::register(
        &core.db,
        &core.config.scopes,
        &body,
        owner.as_deref(),
        &match owner.as_deref() {
            Some(id) => Acting {
                actor: audit::user_id(id),
                caller: Some(&caller),
            },
            None => Acting::anonymous(&caller),
        },
        ctx.now,
    )?;
    Ok(no_store(json(201, &answer)?))
}

/// `POST /oauth/token` → 200 token response.
pub fn post_token(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = form(ctx)?;
    let client = clients::authenticate(core, ctx.req.header("Authorization"), &form)?;
    core.throttle
        .hit("token-client", &client.id, ctx.now)
        .map_err(|e| token::oauth_error(e.into()))?;
    let answer = token::exchange(core, &client, &form, || ctx.origin(), ctx.now)?;
    Ok(no_store(json(200, &answer)?))
}

/// `POST /oauth/revoke` → 200, also for unknown tokens (RFC 7009 §2.2).
pub fn post_revoke(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = form(ctx)?;
    let client = clients::authenticate(core, ctx.req.header("Authorization"), &form)?;
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::InvalidRequest("token is required".into()))?;
    inspect::revoke(core, &client, token, ctx.now)?;
    Ok(no_store(Response::text("").with_status_code(200)))
}

/// `POST /oauth/introspect` → 200 `{active, …}` for a confidential client.
pub fn post_introspect(core: &Core, ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let form = form(ctx)?;
    let client = clients::authenticate(core, ctx.req.header("Authorization"), &form)?;
    if client.secret_hash.is_none() {
        return Err(OAuthError::InvalidClient {
            basic: false,
            description: "introspection needs a confidential client".into(),
        }
        .into());
    }
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::InvalidRequest("token is required".into()))?;
    Ok(no_store(json(
        200,
        &inspect::introspect(core, token, ctx.now)?,
    )?))
}

fn userinfo_op(method: &'static str) -> Op {
    Op {
        method,
        path: "/oauth/userinfo",
        summary: "OpenID Connect userinfo: sub and the claims the access token's scopes allow (it must hold openid)",
        tag: "oauth",
        bearer: Bearer::Required,
        request: None,
        success: (
            200,
            "Claims",
            Some(obj(
                &["sub"],
                json!({"sub": s(), "preferred_username": s(), "name": s(), "email": s(), "email_verified": {"type": "boolean"}}),
            )),
        ),
        errors: &[
            "invalid_token",
            "session_revoked",
            "insufficient_scope",
            "unavailable",
        ],
        idempotent: false,
    }
}

/// This area's operations in the OpenAPI document (`openapi::document`).
pub fn operations() -> Vec<Op> {
    vec![
        Op {
            method: "get",
            path: "/.well-known/oauth-authorization-server",
            summary: "Authorization server metadata (RFC 8414)",
            tag: "oauth",
            bearer: Bearer::None,
            request: None,
            success: (200, "Metadata", Some(json!({"type": "object"}))),
            errors: &[],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/.well-known/openid-configuration",
            summary: "OpenID Connect Discovery 1.0 metadata: the RFC 8414 document plus userinfo, JWKS, subject types, id_token algorithms and claims",
            tag: "oauth",
            bearer: Bearer::None,
            request: None,
            success: (200, "Metadata", Some(json!({"type": "object"}))),
            errors: &[],
            idempotent: false,
        },
        Op {
            method: "get",
            path: "/.well-known/oauth-protected-resource",
            summary: "Protected resource metadata of the /v2 API (RFC 9728); a 401 from /v2 names it in WWW-Authenticate",
            tag: "oauth",
            bearer: Bearer::None,
            request: None,
            success: (
                200,
                "Metadata",
                Some(obj(
                    &["resource", "authorization_servers"],
                    json!({"resource": s(), "authorization_servers": {"type": "array", "items": s()}, "scopes_supported": {"type": "array", "items": s()}, "bearer_methods_supported": {"type": "array", "items": s()}}),
                )),
            ),
            errors: &[],
            idempotent: false,
        },
        userinfo_op("get"),
        userinfo_op("post"),
        Op {
            method: "get",
            path: "/oauth/jwks",
            summary: "The public signing keys (RFC 7517 JWK Set): RS256 and ES256, current and superseded until they retire",
            tag: "oauth",
            bearer: Bearer::None,
            request: None,
            success: (
                200,
                "JWK Set",
                Some(obj(
                    &["keys"],
                    json!({"keys": {"type": "array", "items": obj(&["kty", "kid", "use", "alg"], json!({"kty": {"enum": ["RSA", "EC"]}, "kid": s(), "use": {"const": "sig"}, "alg": {"enum": ["RS256", "ES256"]}}))}}),
                )),
            ),
            errors: &[],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/oauth/register",
            summary: "Dynamic client registration (RFC 7591)",
            tag: "oauth",
            bearer: Bearer::Required,
            request: Some(r("ClientMetadata")),
            success: (201, "Registered", Some(r("ClientMetadata"))),
            errors: &["oauth"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/oauth/token",
            summary: "Token endpoint: authorization_code, refresh_token, client_credentials",
            tag: "oauth",
            bearer: Bearer::None,
            request: Some(obj(
                &["grant_type"],
                json!({"grant_type": {"enum": ["authorization_code", "refresh_token", "client_credentials"]}, "code": s(), "redirect_uri": s(), "code_verifier": s(), "refresh_token": s(), "scope": s(), "client_id": s(), "client_secret": s(), "resource": {"type": "string", "description": "RFC 8707: an absolute URI of a resource server named by --resource (or the issuer); repeatable; a token for another resource is RFC 9068, signed ES256 (invalid_target otherwise)"}}),
            )),
            success: (200, "Tokens", Some(r("TokenResponse"))),
            errors: &["oauth"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/oauth/revoke",
            summary: "Token revocation (RFC 7009)",
            tag: "oauth",
            bearer: Bearer::None,
            request: Some(obj(
                &["token"],
                json!({"token": s(), "token_type_hint": s()}),
            )),
            success: (200, "Revoked (also for unknown tokens)", None),
            errors: &["oauth"],
            idempotent: false,
        },
        Op {
            method: "post",
            path: "/oauth/introspect",
            summary: "Token introspection (RFC 7662) for confidential clients",
            tag: "oauth",
            bearer: Bearer::None,
            request: Some(obj(
                &["token"],
                json!({"token": s(), "token_type_hint": s()}),
            )),
            success: (200, "The token's state", Some(r("Introspection"))),
            errors: &["oauth"],
            idempotent: false,
        },
    ]
}
