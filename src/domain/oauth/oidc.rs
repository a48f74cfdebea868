//! OpenID Connect Core 1.0 on top of the code flow: the `id_token` of an authorization that asked
//! for `openid` (and of its refreshes), the userinfo answer, and the discovery document. An
//! `id_token` is signed with the client's registered `id_token_signed_response_alg` (RS256 by
//! default, which OIDC requires; or ES256), so a relying party verifies it with the JWKS alone.

use serde::Serialize;
use serde_json::{Value, json};

use super::OAuthError;
use super::scope_list;
use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::core::token::jws::{self, Alg};
use crate::core::token::opaque::{b64url, sha256};
use crate::domain::auth::session::Principal;
use crate::domain::error::ApiError;
use crate::store::users::UserRow;

/// The scope that makes an authorization an OpenID Connect one.
pub const OPENID: &str = "openid";

/// The claims this server can put in an id_token or a userinfo answer.
pub const CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "sid",
    "at_hash",
    "azp",
    "preferred_username",
    "name",
    "email",
    "email_verified",
    "role",
    "groups",
];

/// What an id_token says, beside the user.
pub struct IdTokenFor<'a> {
    pub client_id: &'a str,
    pub alg: &'a str,
    pub sid: &'a str,
    pub auth_time: Timestamp,
    /// Space-separated RFC 8176 values.
    pub amr: &'a str,
    /// The authorization request's nonce (none on a refresh).
    pub nonce: Option<&'a str>,
    /// The access token issued with it (for `at_hash`).
    pub access_token: &'a str,
    pub scope: &'a str,
}

#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    azp: &'a str,
    exp: Timestamp,
    iat: Timestamp,
    auth_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    amr: Vec<&'a str>,
    sid: &'a str,
    at_hash: String,
    role: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    groups: &'a [String],
    #[serde(flatten)]
    profile: Value,
}

/// Whether a grant's scope asks for OpenID Connect.
pub fn wants_id_token(scope: &str) -> bool {
    scope_list(scope).iter().any(|s| s == OPENID)
}

/// The id_token for `user` (OIDC Core §2, §3.1.3.6: `at_hash` is the left half of the access
/// token's SHA-256, both algorithms here hashing with SHA-256).
pub fn id_token(
    core: &Core,
    user: &UserRow,
    of: &IdTokenFor<'_>,
    now: Timestamp,
) -> Result<String, OAuthError> {
    let alg = Alg::parse(of.alg).unwrap_or(Alg::Rs256);
    let keys = core.keys();
    let key = keys
        .current_asymmetric(alg)
        .ok_or_else(|| OAuthError::ServerError(format!("no current {} key", alg.as_str())))?;
    let hash = sha256(of.access_token.as_bytes());
    let claims = IdClaims {
        iss: &core.issuer,
        sub: &user.id,
        aud: of.client_id,
        azp: of.client_id,
        exp: now + core.config.lifetimes.access,
        iat: now,
        auth_time: of.auth_time,
        nonce: of.nonce,
        amr: of.amr.split(' ').filter(|a| !a.is_empty()).collect(),
        sid: of.sid,
        at_hash: b64url(&hash[..16]),
        role: &user.role,
        groups: &user.groups,
        profile: user_claims(user, of.scope),
    };
    jws::sign(key, None, &claims)
        .ok_or_else(|| OAuthError::ServerError("signing an id_token failed".into()))
}

/// The user's claims that `scope` allows: `preferred_username` and `name` with `profile`,
/// `email` and `email_verified` with `email`.
fn user_claims(user: &UserRow, scope: &str) -> Value {
    let scopes = scope_list(scope);
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let mut out = serde_json::Map::new();
    if has("profile") {
        out.insert("preferred_username".into(), json!(user.handle));
        out.insert(
            "name".into(),
            json!(user.display_name.as_deref().unwrap_or(&user.handle)),
        );
    }
    if has("email") {
        out.insert("email".into(), json!(user.email));
        out.insert("email_verified".into(), json!(user.email_confirmed));
    }
    Value::Object(out)
}

/// `GET`/`POST /oauth/userinfo` (OIDC Core §5.3): `sub` and the claims the token's scopes allow,
/// for an access token that holds `openid` (403 `insufficient_scope` otherwise).
pub fn userinfo(who: &Principal) -> Result<Value, ApiError> {
    who.require_scope(OPENID)?;
    let user = who
        .user
        .as_deref()
        .ok_or(ApiError::InsufficientScope(Some(OPENID)))?;
    let mut claims = user_claims(user, &who.scopes.join(" "));
    if let Value::Object(map) = &mut claims {
        map.insert("sub".into(), json!(user.id));
        map.insert("role".into(), json!(user.role));
        map.insert("groups".into(), json!(user.groups));
    }
    Ok(claims)
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3): the RFC 8414
/// document plus what a relying party needs for OpenID Connect.
pub fn configuration(core: &Core) -> Value {
    let mut doc = super::metadata::document(core);
    if let Value::Object(map) = &mut doc {
        map.insert("subject_types_supported".into(), json!(["public"]));
        map.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(["RS256", "ES256"]),
        );
        map.insert("claims_supported".into(), json!(CLAIMS));
        map.insert("claims_parameter_supported".into(), json!(false));
        map.insert("request_parameter_supported".into(), json!(false));
        map.insert("request_uri_parameter_supported".into(), json!(false));
        map.insert(
            "prompt_values_supported".into(),
            json!(["none", "login", "consent"]),
        );
    }
    doc
}
