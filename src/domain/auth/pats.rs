//! Personal access tokens (API.md, Tokens): `gha_pat_` + 43 URL-safe characters (256 random
//! bits), stored only as SHA-256, shown once, with scopes from the server's list and an expiry of
//! 1–365 days. Only a signed-in session (not a PAT) can create, list or revoke them.

use std::sync::Arc;

use serde::Serialize;

use super::fresh_id;
use super::session::{Credential, Principal};
use crate::core::Core;
use crate::core::cache::PatRows;
use crate::core::clock::{Timestamp, rfc3339};
use crate::core::config::RequireMfaFor;
use crate::core::token::opaque::{b64url, random_bytes, sha256};
use crate::domain::audit::Caller;
use crate::domain::error::ApiError;
use crate::store::pats::{self, NewPat, PatRow};
use crate::store::users;
use crate::store::{StoreError, sessions};

pub const PREFIX: &str = "gha_pat_";
const MAX_DAYS: i64 = 365;

/// A new token, the only time its secret is shown.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPat {
    pub id: String,
    pub token: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: String,
}

/// A token as listed: never the secret.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PatView {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
}

impl From<PatRow> for PatView {
    fn from(p: PatRow) -> Self {
        PatView {
            id: p.id,
            name: p.name,
            scopes: split_scopes(&p.scopes),
            created_at: rfc3339(p.created_at),
            expires_at: rfc3339(p.expires_at),
            last_used_at: p.last_used_at.map(rfc3339),
        }
    }
}

fn split_scopes(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Creates a token for the caller's user. Errors: `insufficient_scope` for a PAT caller,
/// `invalid_field` for a bad name, scope or expiry.
pub fn create(
    core: &Core,
    who: &Principal,
    name: &str,
    scopes: &[&str],
    expires_in_days: i64,
    caller: &Caller,
    now: Timestamp,
) -> Result<CreatedPat, ApiError> {
    who.require_first_party()?;
    if core.config.require_mfa_for == RequireMfaFor::All {
        let amr = match (&who.session, &who.session_id) {
            (Some(s), _) => s.amr.clone(),
            (None, Some(id)) => core
                .db
                .read(|c| sessions::find(c, id))?
                .map(|s| s.amr)
                .unwrap_or_default(),
            (None, None) => String::new(),
        };
        super::require_second_factor_for_all(core, &amr)?;
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "name",
            "name must be 1 to 100 printable characters",
        ));
    }
    if scopes.is_empty() {
        return Err(ApiError::invalid_field(
            "scopes",
            "scopes must name at least one scope",
        ));
    }
    let mut granted: Vec<String> = Vec::new();
    for scope in scopes {
        if !core.config.scopes.iter().any(|s| s == scope) {
            return Err(ApiError::invalid_field(
                "scopes",
                format!(
                    "unknown scope {scope:?}; this server offers {}",
                    core.config.scopes.join(", ")
                ),
            ));
        }
        if !granted.iter().any(|g| g == scope) {
            granted.push((*scope).to_owned());
        }
    }
    if !(1..=MAX_DAYS).contains(&expires_in_days) {
        return Err(ApiError::invalid_field(
            "expiresInDays",
            "expiresInDays must be 1 to 365",
        ));
    }
    let secret = random_bytes::<32>().map_err(|e| ApiError::Internal(e.to_string()))?;
    let token = format!("{PREFIX}{}", b64url(&secret));
    let id = fresh_id("pat_")?;
    let expires_at = now + expires_in_days * 86_400;
    let scope_text = granted.join(" ");
    core.db.write(|tx| {
        pats::insert(
            tx,
            &NewPat {
                id: &id,
                user_id: &who.user_id,
                name,
                token_hash: &sha256(token.as_bytes()),
                scopes: &scope_text,
                now,
                expires_at,
            },
        )?;
        who.record_own(tx, caller, now, "pat_created", serde_json::json!({"patId": id, "name": name, "scopes": granted, "expiresAt": rfc3339(expires_at)}))
    })?;
    Ok(CreatedPat {
        id,
        token,
        name: name.to_owned(),
        scopes: granted,
        expires_at: rfc3339(expires_at),
    })
}

/// The caller's live tokens. Errors: `insufficient_scope` for a PAT caller.
pub fn list(core: &Core, who: &Principal, now: Timestamp) -> Result<Vec<PatView>, ApiError> {
    who.require_first_party()?;
    let rows = core.db.read(|c| pats::list_live(c, &who.user_id, now))?;
    Ok(rows.into_iter().map(PatView::from).collect())
}

/// Revokes one of the caller's tokens, at once. Errors: `insufficient_scope` for a PAT caller,
/// `not_found` for an unknown id or another user's token.
pub fn revoke(
    core: &Core,
    who: &Principal,
    id: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<(), ApiError> {
    who.require_first_party()?;
    if core.db.write(|tx| {
        let revoked = pats::revoke(tx, &who.user_id, id, now)?;
        if revoked {
            who.record_own(
                tx,
                caller,
                now,
                "pat_revoked",
                serde_json::json!({"patId": id}),
            )?;
        }
        Ok::<_, StoreError>(revoked)
    })? {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Authenticates a `gha_pat_…` bearer token. Errors: `invalid_token` (unknown, revoked, expired,
/// or its user disabled).
pub fn authenticate(core: &Core, token: &str, now: Timestamp) -> Result<Principal, ApiError> {
    let (version, (pat, user)) = pat_rows(core, token)?;
    let pat = pat.ok_or(ApiError::InvalidToken("unknown personal access token"))?;
    if pat.revoked_at.is_some() {
        return Err(ApiError::InvalidToken(
            "the personal access token was revoked",
        ));
    }
    if pat.expires_at <= now {
        return Err(ApiError::InvalidToken(
            "the personal access token has expired",
        ));
    }
    let user = user.filter(|u| !u.disabled).ok_or(ApiError::InvalidToken(
        "the personal access token's account is disabled",
    ))?;
    if pat.last_used_at.is_none_or(|t| t <= now - 60) {
        core.db.write(|tx| pats::touch(tx, &pat.id, now))?;
    }
    Ok(Principal {
        user_id: pat.user_id.clone(),
        session_id: None,
        scopes: split_scopes(&pat.scopes),
        expires_at: pat.expires_at,
        credential: Credential::Pat,
        user: Some(user),
        session: None,
        cached_as: Some((pat.id.clone(), version)),
    })
}

/// The rows of [`PatRows`] for `token`: from the cache while nothing has committed since they
/// were read (see `core::cache`), else in one snapshot.
fn pat_rows(core: &Core, token: &str) -> Result<(i64, PatRows), ApiError> {
    let hash = sha256(token.as_bytes());
    let key = b64url(&hash);
    let version = core.db.version()?;
    let rows = core.pat_rows.get_or_load(&key, version, || {
        core.db.read_snapshot(|c| {
            let pat = pats::find_by_hash(c, &hash)?;
            let user = match &pat {
                Some(p) => users::find_by_id(c, &p.user_id)?,
                None => None,
            };
            Ok::<_, crate::store::StoreError>((pat.map(Arc::new), user.map(Arc::new)))
        })
    })?;
    Ok((version, rows))
}
