//! The account page's domain (`/account`): who the browser is, what the user can see about their
//! account (sessions, personal access tokens, authorized apps, a debug view of the current
//! session), and what they can end. Tokens go through `auth::pats` and sessions through the same
//! store calls as the API, so the page and the API never disagree.

use super::mfa;
use super::pats::{self, PatView};
use super::session::{Credential, Principal};
use super::{TokenFor, fresh_id, mint_access_token};
use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::core::token::opaque::sha256;
use serde_json::json;

use crate::domain::audit::{self, Acting, Caller};
use crate::domain::error::ApiError;
use crate::store::oauth::{self, ConsentRow};
use crate::store::request_log::RequestRecord;
use crate::store::sessions::{self, LiveSession, RevokeReason};
use crate::store::users::{self, UserRow};
use crate::store::{StoreError, Tx};

/// A signed-in browser: its user and the session behind its cookie.
#[derive(Debug, Clone)]
pub struct Browser {
    pub user_id: String,
    pub session_id: String,
    /// How the browser signed in (`sessions.amr`).
    pub amr: String,
    /// When it signed in (an id_token's `auth_time`, and what `max_age` is measured against).
    pub signed_in_at: Timestamp,
    /// The account, as read with the cookie.
    pub user: UserRow,
}

impl Browser {
    /// The browser as an API caller: a first-party session holds every scope.
    pub fn principal(&self, core: &Core, now: Timestamp) -> Principal {
        Principal {
            user_id: self.user_id.clone(),
            session_id: Some(self.session_id.clone()),
            scopes: core.config.scopes.clone(),
            expires_at: now + core.config.lifetimes.access,
            credential: Credential::Session,
            user: None,
            session: None,
            cached_as: None,
        }
    }

    /// This user acting from `caller`, for the audit rows of what they change.
    pub fn acting<'a>(&self, caller: &'a Caller) -> Acting<'a> {
        Acting::user(&self.user, caller)
    }

    /// Whether its sign-in used a second factor (TOTP, a recovery code, or a passkey).
    pub fn used_second_factor(&self) -> bool {
        crate::core::config::used_second_factor(&self.amr)
    }
}

/// The browser behind a session cookie, if it is live and its account usable.
pub fn browser(core: &Core, cookie: &str, now: Timestamp) -> Result<Option<Browser>, ApiError> {
    let Some(row) = core
        .db
        .read(|c| oauth::browser_session(c, &sha256(cookie.as_bytes()), now))?
    else {
        return Ok(None);
    };
    let user = core
        .db
        .read(|c| users::find_by_id(c, &row.user_id))?
        .filter(|u| !u.disabled && u.email_confirmed);
    Ok(user.map(|user| Browser {
        user_id: row.user_id,
        session_id: row.session_id,
        amr: row.amr,
        signed_in_at: row.signed_in_at,
        user,
    }))
}

/// The handle of the user `user_id`, if the account still exists.
pub fn handle_of(core: &Core, user_id: &str) -> Result<Option<String>, ApiError> {
    Ok(core
        .db
        .read(|c| users::find_by_id(c, user_id))?
        .map(|u| u.handle))
}

/// Everything the account page shows.
pub struct Overview {
    pub user: UserRow,
    pub sessions: Vec<LiveSession>,
    pub tokens: Vec<PatView>,
    pub apps: Vec<ConsentRow>,
    pub recent: Vec<RequestRecord>,
    /// An access token for this browser's session, for trying the API (issued now).
    pub access_token: String,
    pub access_expires_at: Timestamp,
    /// The second factors.
    pub mfa: mfa::Status,
    /// A TOTP set-up waiting for its confirming code.
    pub pending_totp: Option<mfa::Enrolment>,
}

pub fn overview(core: &Core, b: &Browser, now: Timestamp) -> Result<Overview, ApiError> {
    let user = core
        .db
        .read(|c| users::find_by_id(c, &b.user_id))?
        .ok_or(ApiError::NotFound)?;
    let idle = core.config.lifetimes.refresh_idle;
    let sessions = core
        .db
        .read(|c| sessions::list_live(c, &b.user_id, now, idle))?;
    let who = b.principal(core, now);
    let tokens = pats::list(core, &who, now)?;
    let apps = core.db.read(|c| oauth::list_consents(c, &b.user_id))?;
    let recent = core.requests.recent_for_user(&core.db, &b.user_id, 10)?;
    let scope = core.config.scopes.join(" ");
    let (access_token, access_expires_at) = mint_access_token(
        core,
        &TokenFor {
            sub: &b.user_id,
            sid: Some(&b.session_id),
            scope: &scope,
            client_id: None,
            amr: &b.amr,
            user: Some(&user),
        },
        now,
    )?;
    Ok(Overview {
        user,
        sessions,
        tokens,
        apps,
        recent,
        access_token,
        access_expires_at,
        mfa: mfa::status(core, &who)?,
        pending_totp: mfa::pending(core, &who)?,
    })
}

/// Revokes one of the user's sessions (its tokens stop working at once). `not_found` otherwise.
pub fn revoke_session(
    core: &Core,
    b: &Browser,
    session_id: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<(), ApiError> {
    if core.db.write(|tx| {
        let revoked = sessions::revoke_own(tx, &b.user_id, session_id, RevokeReason::Logout, now)?;
        if revoked {
            revoked_row(tx, b, caller, now, json!({"sessionId": session_id}))?;
        }
        Ok::<_, StoreError>(revoked)
    })? {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Signs out every other session of the user; returns how many.
pub fn revoke_other_sessions(
    core: &Core,
    b: &Browser,
    caller: &Caller,
    now: Timestamp,
) -> Result<usize, ApiError> {
    Ok(core.db.write(|tx| {
        let revoked = sessions::revoke_all_but(tx, &b.user_id, &b.session_id, now)?;
        revoked_row(
            tx,
            b,
            caller,
            now,
            json!({"others": true, "sessions": revoked}),
        )?;
        Ok::<_, StoreError>(revoked)
    })?)
}

/// The `session_revoked` row of a revocation the user made on their account page.
fn revoked_row(
    tx: &Tx<'_>,
    b: &Browser,
    caller: &Caller,
    now: Timestamp,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    b.acting(caller).record(
        tx,
        now,
        "session_revoked",
        Some(audit::user(&b.user)),
        details,
    )
}

/// Withdraws consent from an OAuth client and revokes its grants. `not_found` if there was none.
pub fn revoke_app(
    core: &Core,
    b: &Browser,
    client_id: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<(), ApiError> {
    let had = core.db.write(|tx| {
        let had = oauth::delete_consent(tx, &b.user_id, client_id)?;
        sessions::revoke_for_client(tx, &b.user_id, client_id, now)?;
        if had {
            revoked_row(
                tx,
                b,
                caller,
                now,
                json!({"clientId": client_id, "consentWithdrawn": true}),
            )?;
        }
        Ok::<_, ApiError>(had)
    })?;
    if had { Ok(()) } else { Err(ApiError::NotFound) }
}

/// Signs this browser out: its session is revoked and its cookie forgotten.
pub fn sign_out(
    core: &Core,
    cookie: &str,
    b: &Browser,
    caller: &Caller,
    now: Timestamp,
) -> Result<(), ApiError> {
    core.db.write(|tx| {
        sessions::revoke_own(tx, &b.user_id, &b.session_id, RevokeReason::Logout, now)?;
        revoked_row(
            tx,
            b,
            caller,
            now,
            json!({"sessionId": b.session_id, "reason": "sign_out"}),
        )?;
        oauth::delete_browser_session(tx, &sha256(cookie.as_bytes()))
    })?;
    Ok(())
}

/// A fresh CSRF cookie value.
pub fn new_csrf_cookie() -> Result<String, ApiError> {
    fresh_id("csrf_")
}
