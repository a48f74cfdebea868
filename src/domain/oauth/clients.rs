//! OAuth clients: dynamic registration (RFC 7591) with its defaults and checks, and client
//! authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3:
//! `client_secret_basic` with form-urlencoded credentials, `client_secret_post`, or `none`).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::{OAuthError, redirect, scope_list};
use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::core::token::jws::Alg;
use crate::core::token::opaque::{b64url, ct_eq, new_id, random_bytes, sha256};
use crate::core::urlenc::{self, Params};
use crate::domain::audit::{self, Acting};
use crate::store::clients::{self, ClientRow};
use crate::store::{Db, StoreError};

pub const GRANTS: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];
pub const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];
const MAX_REDIRECT_URIS: usize = 20;
/// Registered fields kept and echoed as they came, besides the ones checked below.
const FREE_TEXT_FIELDS: [&str; 6] = [
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "software_id",
    "software_version",
];

fn meta_err(description: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClientMetadata(description.into())
}

fn string_list(body: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| meta_err(format!("{field} must be an array of strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(meta_err(format!("{field} must be an array of strings"))),
    }
}

fn string_field<'a>(
    body: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, OAuthError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(meta_err(format!("{field} must be a string"))),
    }
}

/// Registers a client from RFC 7591 metadata and answers with the registered metadata, its
/// `client_id`, `client_id_issued_at` and, for a confidential client, `client_secret` (shown once).
pub fn register(
    db: &Db,
    server_scopes: &[String],
    body: &Map<String, Value>,
    owner: Option<&str>,
    by: &Acting<'_>,
    now: Timestamp,
) -> Result<Value, OAuthError> {
    let auth_method =
        string_field(body, "token_endpoint_auth_method")?.unwrap_or("client_secret_basic");
    if !AUTH_METHODS.contains(&auth_method) {
        return Err(meta_err(format!(
            "token_endpoint_auth_method must be one of {}",
            AUTH_METHODS.join(", ")
        )));
    }
    let grants =
        string_list(body, "grant_types")?.unwrap_or_else(|| vec!["authorization_code".into()]);
    if grants.is_empty() {
        return Err(meta_err("grant_types must name at least one grant"));
    }
    if let Some(g) = grants.iter().find(|g| !GRANTS.contains(&g.as_str())) {
        return Err(meta_err(format!(
            "grant type {g:?} is not supported; use {}",
            GRANTS.join(", ")
        )));
    }
    let has = |g: &str| grants.iter().any(|x| x == g);
    let response_types = string_list(body, "response_types")?.unwrap_or_else(|| {
        if has("authorization_code") {
            vec!["code".into()]
        } else {
            Vec::new()
        }
    });
    if response_types.iter().any(|r| r != "code") {
        return Err(meta_err(
            "response_types may only hold \"code\" (no implicit grant in OAuth 2.1)",
        ));
    }
    if has("authorization_code") == response_types.is_empty() {
        return Err(meta_err(
            "response_types [\"code\"] goes with grant_types authorization_code, and only with it (RFC 7591 §2.1)",
        ));
    }
    if has("refresh_token") && !has("authorization_code") {
        return Err(meta_err(
            "the refresh_token grant needs the authorization_code grant",
        ));
    }
    if has("client_credentials") && auth_method == "none" {
        return Err(meta_err(
            "client_credentials needs a confidential client (token_endpoint_auth_method other than none)",
        ));
    }
    let redirect_uris = string_list(body, "redirect_uris")?.unwrap_or_default();
    if has("authorization_code") && redirect_uris.is_empty() {
        return Err(OAuthError::InvalidRedirectUri(
            "redirect_uris is required for the authorization_code grant".into(),
        ));
    }
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::InvalidRedirectUri(format!(
            "at most {MAX_REDIRECT_URIS} redirect_uris"
        )));
    }
    for uri in &redirect_uris {
        redirect::validate_registration(uri).map_err(OAuthError::InvalidRedirectUri)?;
    }
    let scope = match string_field(body, "scope")? {
        Some(s) => {
            let list = scope_list(s);
            if let Some(unknown) = list.iter().find(|s| !server_scopes.contains(s)) {
                return Err(meta_err(format!(
                    "unknown scope {unknown:?}; this server offers {}",
                    server_scopes.join(" ")
                )));
            }
            list.join(" ")
        }
        None => server_scopes.join(" "),
    };
    let name = string_field(body, "client_name")?
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > 100 || n.chars().any(char::is_control)) {
        return Err(meta_err(
            "client_name must be at most 100 printable characters",
        ));
    }

    let id_token_alg = string_field(body, "id_token_signed_response_alg")?.unwrap_or("RS256");
    if Alg::parse(id_token_alg).is_none() {
        return Err(meta_err(format!(
            "id_token_signed_response_alg {id_token_alg:?} is not supported; use RS256 or ES256"
        )));
    }
    let id = new_id("cli_").map_err(|e| OAuthError::ServerError(e.to_string()))?;
    let secret = if auth_method == "none" {
        None
    } else {
        Some(format!(
            "gha_cs_{}",
            b64url(&random_bytes::<32>().map_err(|e| OAuthError::ServerError(e.to_string()))?)
        ))
    };
    let mut metadata = Map::new();
    metadata.insert("redirect_uris".into(), json!(redirect_uris));
    metadata.insert("token_endpoint_auth_method".into(), json!(auth_method));
    metadata.insert("grant_types".into(), json!(grants));
    metadata.insert("response_types".into(), json!(response_types));
    metadata.insert("scope".into(), json!(scope));
    metadata.insert("id_token_signed_response_alg".into(), json!(id_token_alg));
    if let Some(n) = name {
        metadata.insert("client_name".into(), json!(n));
    }
    for field in FREE_TEXT_FIELDS {
        if let Some(v) = string_field(body, field)? {
            metadata.insert(field.into(), json!(v));
        }
    }
    if let Some(uris) = string_list(body, "post_logout_redirect_uris")? {
        if uris.len() > MAX_REDIRECT_URIS {
            return Err(meta_err(format!(
                "at most {MAX_REDIRECT_URIS} post_logout_redirect_uris"
            )));
        }
        for uri in &uris {
            redirect::validate_registration(uri)
                .map_err(|e| meta_err(format!("post_logout_redirect_uris: {e}")))?;
        }
        metadata.insert("post_logout_redirect_uris".into(), json!(uris));
    }
    if let Some(contacts) = string_list(body, "contacts")? {
        metadata.insert("contacts".into(), json!(contacts));
    }
    let row = ClientRow {
        id: id.clone(),
        secret_hash: secret.as_ref().map(|s| sha256(s.as_bytes()).to_vec()),
        name: name.map(str::to_owned),
        redirect_uris,
        grant_types: grants,
        auth_method: auth_method.to_owned(),
        scope,
        metadata: Value::Object(metadata.clone()).to_string(),
        owner_id: owner.map(str::to_owned),
        created_at: now,
    };
    db.write(|tx| {
        clients::insert(tx, &row)?;
        by.record(
            tx,
            now,
            "oauth_client_registered",
            Some(audit::client(&row.id, row.name.as_deref())),
            json!({
                "grantTypes": row.grant_types,
                "redirectUris": row.redirect_uris,
                "authMethod": row.auth_method,
            }),
        )
    })
    .map_err(|e| OAuthError::ServerError(e.to_string()))?;
    let mut answer = metadata;
    answer.insert("client_id".into(), json!(id));
    answer.insert("client_id_issued_at".into(), json!(now));
    if let Some(secret) = secret {
        answer.insert("client_secret".into(), json!(secret));
        answer.insert("client_secret_expires_at".into(), json!(0));
    }
    Ok(Value::Object(answer))
}

/// Removes client `id` with its grants (`clients remove`, `/admin/clients`). False when there is
/// no such client.
pub fn remove(db: &Db, id: &str, by: &Acting<'_>, now: Timestamp) -> Result<bool, StoreError> {
    db.write(|tx| {
        let Some(row) = clients::find(tx, id)? else {
            return Ok(false);
        };
        clients::delete(tx, id)?;
        by.record(
            tx,
            now,
            "oauth_client_removed",
            Some(audit::client(&row.id, row.name.as_deref())),
            json!({}),
        )?;
        Ok(true)
    })
}

/// Authenticates the calling client (RFC 6749 §2.3): HTTP Basic with form-urlencoded id and
/// secret, or `client_id` (+ `client_secret`) in the form. Using both is refused.
pub fn authenticate(
    core: &Core,
    authorization: Option<&str>,
    form: &Params,
) -> Result<Arc<ClientRow>, OAuthError> {
    let basic = authorization.and_then(|h| {
        let (scheme, value) = h.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("basic")
            .then(|| value.trim().to_owned())
    });
    let bad = |basic: bool, d: &str| OAuthError::InvalidClient {
        basic,
        description: d.to_owned(),
    };
    let (id, secret, via_basic) = match basic {
        Some(value) => {
            if form.get("client_secret").is_some() {
                return Err(OAuthError::InvalidRequest(
                    "use one client authentication method, not Basic and client_secret both".into(),
                ));
            }
            let decoded = STANDARD
                .decode(value)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let (id, secret) = decoded
                .as_deref()
                .and_then(|d| d.split_once(':'))
                .ok_or_else(|| {
                    bad(
                        true,
                        "the Basic credentials do not decode to client_id:client_secret",
                    )
                })?;
            let id = urlenc::decode(id)
                .map_err(|_| bad(true, "the Basic client_id is not form-urlencoded"))?;
            let secret = urlenc::decode(secret)
                .map_err(|_| bad(true, "the Basic client_secret is not form-urlencoded"))?;
            if form.get("client_id").is_some_and(|f| f != id) {
                return Err(OAuthError::InvalidRequest(
                    "client_id in the form differs from the Basic credentials".into(),
                ));
            }
            (id, Some(secret), true)
        }
        None => {
            let id = form.get("client_id").ok_or_else(|| {
                bad(
                    false,
                    "no client authentication: send HTTP Basic or client_id",
                )
            })?;
            (
                id.to_owned(),
                form.get("client_secret").map(str::to_owned),
                false,
            )
        }
    };
    let client = cached(core, &id)
        .map_err(|e| OAuthError::ServerError(e.to_string()))?
        .ok_or_else(|| bad(via_basic, "unknown client"))?;
    match (&client.secret_hash, secret) {
        (Some(hash), Some(secret)) if ct_eq(hash, &sha256(secret.as_bytes())) => Ok(client),
        (Some(_), Some(_)) => Err(bad(via_basic, "wrong client secret")),
        (Some(_), None) => Err(bad(
            via_basic,
            "this client is confidential: it must send its client_secret",
        )),
        (None, None) => Ok(client),
        (None, Some(_)) => Err(bad(
            via_basic,
            "this client is public (token_endpoint_auth_method none) and has no secret",
        )),
    }
}

/// Looks a client up by id (for the authorization endpoint).
pub fn find(core: &Core, id: &str) -> Result<Option<Arc<ClientRow>>, OAuthError> {
    cached(core, id).map_err(|e| OAuthError::ServerError(e.to_string()))
}

/// The client `id`: from the cache while nothing has committed since it was read (see
/// `core::cache`), else from the database (every token request authenticates its client).
fn cached(core: &Core, id: &str) -> Result<Option<Arc<ClientRow>>, StoreError> {
    core.client_rows.get_or_load(id, core.db.version()?, || {
        Ok(core.db.read(|c| clients::find(c, id))?.map(Arc::new))
    })
}
