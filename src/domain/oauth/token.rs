//! The token endpoint's grants (RFC 6749 §4.1.3, §6, §4.4): `authorization_code` with PKCE,
//! `refresh_token` with the same rotation and reuse interval as `/v2/auth/refresh`, and
//! `client_credentials`. A grant that holds `openid` also gets an `id_token` (`oidc`).

use serde::Serialize;

use super::oidc::{self, IdTokenFor};
use super::resource;
use super::{OAuthError, pkce, scope_list, scopes_within};
use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::core::token::jws::{self, Alg};
use crate::core::token::opaque::sha256;
use crate::core::token::refresh;
use crate::core::urlenc::Params;
use crate::domain::audit::Caller;
use crate::domain::auth::{TokenFor, fresh_id, mint_access_token, session};
use crate::domain::error::ApiError;
use crate::store::clients::ClientRow;
use crate::store::sessions::{self, NewSession, RevokeReason};
use crate::store::users::UserRow;
use crate::store::{oauth, users};

/// RFC 6749 §5.1.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// OpenID Connect: for a grant that holds `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// An `ApiError` of the shared session code, in the token endpoint's vocabulary.
pub fn oauth_error(e: ApiError) -> OAuthError {
    match e {
        ApiError::RefreshTokenInvalid
        | ApiError::RefreshTokenExpired
        | ApiError::RefreshTokenReused
        | ApiError::SessionRevoked => OAuthError::InvalidGrant(e.message()),
        ApiError::Throttled {
            retry_after_secs, ..
        } => OAuthError::TemporarilyUnavailable {
            throttled: true,
            retry_after_secs,
            description: e.message(),
        },
        ApiError::RefreshInProgress { retry_after_secs }
        | ApiError::Unavailable {
            retry_after_secs, ..
        } => OAuthError::TemporarilyUnavailable {
            throttled: false,
            retry_after_secs,
            description: e.message(),
        },
        other => OAuthError::ServerError(other.message()),
    }
}

/// Runs the grant the form asks for, for an authenticated client. `caller` names the request
/// for the audit row of a detected refresh token reuse (built only for a refresh).
pub fn exchange(
    core: &Core,
    client: &ClientRow,
    form: &Params,
    caller: impl FnOnce() -> Caller,
    now: Timestamp,
) -> Result<TokenResponse, OAuthError> {
    let grant = form
        .get("grant_type")
        .ok_or_else(|| OAuthError::InvalidRequest("grant_type is required".into()))?;
    if !super::clients::GRANTS.contains(&grant) {
        return Err(OAuthError::UnsupportedGrantType(format!(
            "grant_type {grant:?} is not supported"
        )));
    }
    if !client.allows_grant(grant) {
        return Err(OAuthError::UnauthorizedClient(format!(
            "this client is not registered for the {grant} grant"
        )));
    }
    match grant {
        "authorization_code" => code_grant(core, client, form, now),
        "refresh_token" => refresh_grant(core, client, form, caller(), now),
        _ => client_credentials_grant(core, client, form, now),
    }
}

fn code_grant(
    core: &Core,
    client: &ClientRow,
    form: &Params,
    now: Timestamp,
) -> Result<TokenResponse, OAuthError> {
    let code = form
        .get("code")
        .ok_or_else(|| OAuthError::InvalidRequest("code is required".into()))?;
    let hash = sha256(code.as_bytes());
    let row = core
        .db
        .read(|c| oauth::find_code(c, &hash))
        .map_err(|e| oauth_error(e.into()))?;
    let row = row.ok_or_else(|| OAuthError::InvalidGrant("unknown authorization code".into()))?;
    let g = &row.grant;
    if g.client_id != client.id {
        return Err(OAuthError::InvalidGrant(
            "the code was issued to another client".into(),
        ));
    }
    if row.used_at.is_some() {
        if let Some(sid) = &row.session_id {
            core.db
                .write(|tx| sessions::revoke(tx, sid, RevokeReason::CodeReuse, None, now))
                .map_err(|e| oauth_error(e.into()))?;
            log::warn!(
                "authorization code reused by client {}: session {sid} revoked",
                client.id
            );
        }
        return Err(OAuthError::InvalidGrant(
            "the code was already used; the tokens issued from it are revoked".into(),
        ));
    }
    if g.expires_at <= now {
        return Err(OAuthError::InvalidGrant(
            "the code has expired; start the authorization again".into(),
        ));
    }
    match form.get("redirect_uri") {
        Some(sent) if sent != g.redirect_uri => {
            return Err(OAuthError::InvalidGrant(
                "redirect_uri differs from the one of the authorization request".into(),
            ));
        }
        None if g.redirect_given => {
            return Err(OAuthError::InvalidGrant(
                "redirect_uri is required: the authorization request had one (RFC 6749 §4.1.3)"
                    .into(),
            ));
        }
        _ => {}
    }
    let verifier = form
        .get("code_verifier")
        .ok_or_else(|| OAuthError::InvalidGrant("code_verifier is required (PKCE)".into()))?;
    if !pkce::verify(verifier, &g.code_challenge) {
        return Err(OAuthError::InvalidGrant(
            "code_verifier does not match the code_challenge (PKCE S256)".into(),
        ));
    }
    let user = core
        .db
        .read(|c| users::find_by_id(c, &g.user_id))
        .map_err(|e| oauth_error(e.into()))?;
    let user = match user {
        Some(u) if !u.disabled => u,
        _ => {
            return Err(OAuthError::InvalidGrant(
                "the user's account is disabled".into(),
            ));
        }
    };
    let audiences = resource::within(core, &form.all("resource"), &resource::split(&g.resources))?;
    let session_id = fresh_id("ses_").map_err(oauth_error)?;
    let expires_at = now + core.config.lifetimes.refresh_absolute;
    let claimed = core
        .db
        .write(|tx| {
            if !oauth::use_code(tx, &hash, &session_id, now)? {
                return Ok(false);
            }
            sessions::insert(
                tx,
                &NewSession {
                    id: &session_id,
                    user_id: &g.user_id,
                    now,
                    expires_at,
                    user_agent: None,
                    client_id: Some(&client.id),
                    scope: Some(&g.scope),
                    amr: &g.amr,
                    auth_time: Some(g.auth_time),
                    resources: &g.resources,
                },
            )?;
            Ok::<_, crate::store::StoreError>(true)
        })
        .map_err(|e| oauth_error(e.into()))?;
    if !claimed {
        return Err(OAuthError::InvalidGrant("the code was already used".into()));
    }
    core.loops.redeemed(&g.browser_key, &client.id);
    let refresh_token = client
        .allows_grant("refresh_token")
        .then(|| refresh::mint(core.keys().refresh_secret(), &session_id, 0));
    let issued = Issued {
        sub: &g.user_id,
        sid: Some(&session_id),
        scope: &g.scope,
        amr: &g.amr,
        audiences,
    };
    let signed_in = SignedIn {
        user: &user,
        auth_time: g.auth_time,
        nonce: g.nonce.as_deref(),
    };
    respond(core, &issued, client, refresh_token, Some(signed_in), now)
}

fn refresh_grant(
    core: &Core,
    client: &ClientRow,
    form: &Params,
    caller: Caller,
    now: Timestamp,
) -> Result<TokenResponse, OAuthError> {
    let token = form
        .get("refresh_token")
        .ok_or_else(|| OAuthError::InvalidRequest("refresh_token is required".into()))?;
    let audiences = resource::accepted(core, &form.all("resource"))?;
    let (user, s) =
        session::rotate(core, token, Some(&client.id), caller, now).map_err(oauth_error)?;
    let audiences = resource::within(
        core,
        &audiences.iter().map(String::as_str).collect::<Vec<_>>(),
        &resource::split(&s.resources),
    )?;
    let granted = s.scope.clone().unwrap_or_default();
    let scope = match form.get("scope") {
        Some(asked) if !scopes_within(asked, &granted) => {
            return Err(OAuthError::InvalidScope(format!(
                "the scope can only narrow; this grant holds \"{granted}\""
            )));
        }
        Some(asked) => scope_list(asked).join(" "),
        None => granted,
    };
    let refresh_token = Some(refresh::mint(
        core.keys().refresh_secret(),
        &s.id,
        s.generation,
    ));
    let issued = Issued {
        sub: &user.id,
        sid: Some(&s.id),
        scope: &scope,
        amr: &s.amr,
        audiences,
    };
    // A refreshed id_token has no nonce (OIDC Core §12.2).
    let signed_in = SignedIn {
        user: &user,
        auth_time: s.auth_time,
        nonce: None,
    };
    respond(core, &issued, client, refresh_token, Some(signed_in), now)
}

fn client_credentials_grant(
    core: &Core,
    client: &ClientRow,
    form: &Params,
    now: Timestamp,
) -> Result<TokenResponse, OAuthError> {
    if client.secret_hash.is_none() {
        return Err(OAuthError::UnauthorizedClient(
            "client_credentials needs a confidential client".into(),
        ));
    }
    let scope = match form.get("scope") {
        Some(asked) if !scopes_within(asked, &client.scope) => {
            return Err(OAuthError::InvalidScope(format!(
                "this client may ask for \"{}\"",
                client.scope
            )));
        }
        Some(asked) => scope_list(asked).join(" "),
        None => client.scope.clone(),
    };
    let issued = Issued {
        sub: &client.id,
        sid: None,
        scope: &scope,
        amr: "",
        audiences: resource::accepted(core, &form.all("resource"))?,
    };
    respond(core, &issued, client, None, None, now)
}

/// The user's sign-in behind a grant, for its id_token.
struct SignedIn<'a> {
    user: &'a UserRow,
    auth_time: Timestamp,
    nonce: Option<&'a str>,
}

/// What an access token is issued for: its subject, session, scope, `amr`, and the resources
/// it is for (empty: the appliance itself).
struct Issued<'a> {
    sub: &'a str,
    sid: Option<&'a str>,
    scope: &'a str,
    amr: &'a str,
    audiences: Vec<String>,
}

fn respond(
    core: &Core,
    issued: &Issued<'_>,
    client: &ClientRow,
    refresh_token: Option<String>,
    signed_in: Option<SignedIn<'_>>,
    now: Timestamp,
) -> Result<TokenResponse, OAuthError> {
    let (access_token, exp) = if resource::is_foreign(core, &issued.audiences) {
        resource_token(
            core,
            issued,
            &client.id,
            signed_in.as_ref().map(|w| w.user),
            now,
        )?
    } else {
        mint_access_token(
            core,
            &TokenFor {
                sub: issued.sub,
                sid: issued.sid,
                scope: issued.scope,
                client_id: Some(&client.id),
                amr: issued.amr,
                user: signed_in.as_ref().map(|w| w.user),
            },
            now,
        )
        .map_err(oauth_error)?
    };
    let id_token = match (signed_in, issued.sid) {
        (Some(who), Some(sid)) if oidc::wants_id_token(issued.scope) => Some(oidc::id_token(
            core,
            who.user,
            &IdTokenFor {
                client_id: &client.id,
                alg: &client.id_token_alg(),
                sid,
                auth_time: who.auth_time,
                amr: issued.amr,
                nonce: who.nonce,
                access_token: &access_token,
                scope: issued.scope,
            },
            now,
        )?),
        _ => None,
    };
    Ok(TokenResponse {
        id_token,
        access_token,
        token_type: "Bearer",
        expires_in: exp - now,
        scope: issued.scope.to_owned(),
        refresh_token,
    })
}

/// The claims of an access token for another resource (RFC 9068 §2.2).
#[derive(Serialize)]
struct ResourceClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    /// One resource as a string, several as an array (RFC 8707 §2.2).
    aud: serde_json::Value,
    exp: Timestamp,
    iat: Timestamp,
    jti: String,
    client_id: &'a str,
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    amr: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    groups: &'a [String],
}

/// An access token for another resource server: RFC 9068's shape (`typ: at+jwt`), signed with
/// the ES256 key, so that the resource server verifies it with the JWKS and holds no secret.
fn resource_token(
    core: &Core,
    issued: &Issued<'_>,
    client_id: &str,
    user: Option<&UserRow>,
    now: Timestamp,
) -> Result<(String, Timestamp), OAuthError> {
    let exp = now + core.config.lifetimes.access;
    let aud = match issued.audiences.as_slice() {
        [one] => serde_json::json!(one),
        many => serde_json::json!(many),
    };
    let claims = ResourceClaims {
        iss: &core.issuer,
        sub: issued.sub,
        aud,
        exp,
        iat: now,
        jti: fresh_id("at_").map_err(oauth_error)?,
        client_id,
        scope: issued.scope,
        sid: issued.sid,
        amr: issued.amr.split(' ').filter(|a| !a.is_empty()).collect(),
        role: user.map(|u| u.role.as_str()),
        groups: user.map_or(&[], |u| u.groups.as_slice()),
    };
    let keys = core.keys();
    let key = keys
        .current_asymmetric(Alg::Es256)
        .ok_or_else(|| OAuthError::ServerError("no current ES256 key".into()))?;
    let token = jws::sign(key, Some("at+jwt"), &claims)
        .ok_or_else(|| OAuthError::ServerError("signing a resource token failed".into()))?;
    Ok((token, exp))
}
