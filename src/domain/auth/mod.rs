//! The identity domain: signup and confirmation, login, sessions and refresh, password reset.
//! No HTTP type here; every function that checks an expiry takes `now`.

pub mod account;
pub mod codes;
pub mod csv;
pub mod invite;
pub mod login;
pub mod mfa;
pub mod onboarding;
pub mod passkeys;
pub mod pats;
pub mod reset;
pub mod session;
pub mod signup;
pub mod team;
pub mod validate;

use serde::Serialize;

use crate::core::Core;
use crate::core::clock::{Timestamp, rfc3339};
use crate::core::password::{self, GateFull};
use crate::core::token::jwt::{self, Claims};
use crate::core::token::opaque::new_id;
use crate::core::token::refresh;
use crate::domain::error::{ApiError, Outage};
use crate::store::users::UserRow;

/// A user as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub handle: String,
    pub email: String,
    pub email_confirmed: bool,
    pub display_name: Option<String>,
    pub created_at: String,
    /// `member` or `admin`.
    pub role: String,
    pub groups: Vec<String>,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        UserView {
            id: u.id.clone(),
            handle: u.handle.clone(),
            email: u.email.clone(),
            email_confirmed: u.email_confirmed,
            display_name: u.display_name.clone(),
            created_at: rfc3339(u.created_at),
            role: u.role.clone(),
            groups: u.groups.clone(),
        }
    }
}

/// The session body of login and refresh (API.md).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub expires_at: String,
    pub refresh_token: String,
    pub refresh_expires_at: String,
    pub session_id: String,
    pub user: UserView,
}

/// Where a session stands, as far as issuing its tokens goes.
pub struct SessionState<'a> {
    pub id: &'a str,
    pub generation: i64,
    pub last_used_at: Timestamp,
    pub expires_at: Timestamp,
    /// How the session's sign-in was made (`sessions.amr`).
    pub amr: &'a str,
}

/// Signs an access token (API.md, Tokens) and returns it with its expiry.
pub fn mint_access_token(
    core: &Core,
    t: &TokenFor<'_>,
    now: Timestamp,
) -> Result<(String, Timestamp), ApiError> {
    let exp = now + core.config.lifetimes.access;
    let claims = Claims {
        iss: core.issuer.clone(),
        sub: t.sub.to_owned(),
        aud: core.audience.clone(),
        exp,
        iat: now,
        jti: new_id("at_").map_err(|e| ApiError::Internal(e.to_string()))?,
        sid: t.sid.map(str::to_owned),
        scope: t.scope.to_owned(),
        client_id: t.client_id.map(str::to_owned),
        amr: t
            .amr
            .split(' ')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect(),
        role: t.user.map(|u| u.role.clone()),
        groups: t.user.map(|u| u.groups.clone()).unwrap_or_default(),
    };
    let token = jwt::sign(&core.keys(), &claims)
        .ok_or_else(|| ApiError::Internal("no current signing key".into()))?;
    Ok((token, exp))
}

/// What an access token is issued for.
pub struct TokenFor<'a> {
    pub sub: &'a str,
    pub sid: Option<&'a str>,
    pub scope: &'a str,
    pub client_id: Option<&'a str>,
    /// Space-separated RFC 8176 values.
    pub amr: &'a str,
    /// The user, whose role and groups the token carries (`None` for a client's own token).
    pub user: Option<&'a UserRow>,
}

/// Mints the access token and the refresh token of `generation` for a first-party session,
/// which holds every scope the server knows.
pub fn session_view(
    core: &Core,
    user: &UserRow,
    s: &SessionState<'_>,
    now: Timestamp,
) -> Result<SessionView, ApiError> {
    let scope = core.config.scopes.join(" ");
    let (access_token, exp) = mint_access_token(
        core,
        &TokenFor {
            sub: &user.id,
            sid: Some(s.id),
            scope: &scope,
            client_id: None,
            amr: s.amr,
            user: Some(user),
        },
        now,
    )?;
    let refresh_token = refresh::mint(core.keys().refresh_secret(), s.id, s.generation);
    let refresh_expires = (s.last_used_at + core.config.lifetimes.refresh_idle).min(s.expires_at);
    Ok(SessionView {
        access_token,
        token_type: "Bearer",
        expires_in: exp - now,
        expires_at: rfc3339(exp),
        refresh_token,
        refresh_expires_at: rfc3339(refresh_expires),
        session_id: s.id.to_owned(),
        user: UserView::from(user),
    })
}

/// Runs PBKDF2 work through the server's hash gate: 503 when too many are queued.
pub fn hashing<T>(core: &Core, work: impl FnOnce() -> T) -> Result<T, ApiError> {
    core.hash_gate
        .run(work)
        .map_err(|GateFull| ApiError::Unavailable {
            retry_after_secs: 1,
            outage: Outage::Overloaded,
        })
}

/// A new PHC hash of `password` at the configured iteration count.
pub fn hash_password(core: &Core, password: &str) -> Result<String, ApiError> {
    let iterations = core.config.pbkdf2_iterations;
    hashing(core, || password::hash(password, iterations))?
        .ok_or_else(|| ApiError::Internal("no randomness for a salt".into()))
}

/// An id with `prefix`, or an internal error if the OS has no randomness.
/// `--require-mfa-for all`: 403 `second_factor_required` unless the sign-in `amr` used a second
/// factor (for what a session mints for others: OAuth grants and personal access tokens).
pub fn require_second_factor_for_all(core: &Core, amr: &str) -> Result<(), ApiError> {
    if !core.config.require_mfa_for.lets_mint(amr) {
        Err(ApiError::SecondFactorRequired)
    } else {
        Ok(())
    }
}

pub fn fresh_id(prefix: &str) -> Result<String, ApiError> {
    new_id(prefix).map_err(|e| ApiError::Internal(e.to_string()))
}
