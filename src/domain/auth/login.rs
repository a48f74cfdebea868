//! Password login (`POST /v2/auth/login` and the sign-in page): the hash runs whether or not the
//! account exists, so timing does not reveal which logins are registered; then a session starts.

use serde_json::json;

use super::mfa::{self, Challenge};
use super::{SessionState, SessionView, fresh_id, hash_password, hashing, session_view};
use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::core::password::{self, Verdict};
use crate::core::token::opaque::sha256;
use crate::domain::audit::{self, Caller, Event};
use crate::domain::error::ApiError;
use crate::store::sessions::{self, NewSession};
use crate::store::users::{self, UserRow};
use crate::store::{Tx, oauth};

/// How long a browser stays signed in to the pages.
pub const BROWSER_SESSION_SECS: i64 = 7 * 86_400;

/// Checks a login name (handle or email) and password, with the login throttle, and upgrades an
/// old hash. Errors: `invalid_credentials` (unknown login or wrong password, alike),
/// `login_backoff`, `account_disabled`, `confirmation_required`, `unavailable` (hash queue full).
pub fn check_credentials(
    core: &Core,
    login: &str,
    password: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<UserRow, ApiError> {
    let throttle_key = login.to_lowercase();
    core.throttle.login_gate(&throttle_key, now)?;
    let user = if login.contains('@') {
        core.db.read(|c| users::find_by_email(c, login))?
    } else {
        core.db.read(|c| users::find_by_handle(c, &throttle_key))?
    };
    let iterations = core.config.pbkdf2_iterations;
    let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let verdict = hashing(core, || password::verify(password, stored, iterations))?;
    let (user, needs_upgrade) = match (user, verdict) {
        (Some(u), Verdict::Match { needs_upgrade }) => (u, needs_upgrade),
        (user, _) => {
            core.throttle.login_failed(&throttle_key, now);
            core.metrics.login("failed");
            // The target only when the account exists: a login name typed is not kept, since
            // people type passwords into that field too.
            core.db.write(|tx| {
                audit::record(
                    tx,
                    now,
                    Event {
                        name: "login_failed",
                        actor: audit::anonymous(),
                        target: user.as_ref().map(audit::user),
                        caller: Some(caller),
                        details: json!({"knownAccount": user.is_some()}),
                    },
                )
            })?;
            return Err(ApiError::InvalidCredentials);
        }
    };
    core.throttle.login_succeeded(&throttle_key);
    core.metrics.login("ok");
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    if !user.email_confirmed {
        return Err(ApiError::ConfirmationRequired);
    }
    if needs_upgrade {
        let hash = hash_password(core, password)?;
        core.db
            .write(|tx| users::set_password_hash(tx, &user.id, &hash, now))?;
    }
    Ok(user)
}

/// The outcome of a right password: a session, or the second step when a factor is active.
pub enum SignIn<T> {
    Done(T),
    SecondStep(Box<Challenge>),
}

/// Checks the credentials and starts an API session, or answers the challenge of the second
/// step when the user has TOTP. Errors as [`check_credentials`].
pub fn login(
    core: &Core,
    login: &str,
    password: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<SignIn<SessionView>, ApiError> {
    let user = check_credentials(core, login, password, caller, now)?;
    if let Some(challenge) =
        mfa::challenge_if_enabled(core, &user, caller.user_agent.as_deref(), now)?
    {
        return Ok(SignIn::SecondStep(Box::new(challenge)));
    }
    api_session(core, &user, PASSWORD, caller, now).map(SignIn::Done)
}

/// The second step of [`login`]: the `mfaToken` and a code start the API session.
pub fn login_mfa(
    core: &Core,
    mfa_token: &str,
    code: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<SessionView, ApiError> {
    let passed = mfa::pass(core, mfa_token, code, now)?;
    // The session keeps the user agent of the password step.
    let caller = Caller {
        user_agent: passed.user_agent.clone(),
        ..caller.clone()
    };
    api_session(core, &passed.user, passed.method.amr(), &caller, now)
}

/// The `amr` of a password sign-in without a second factor.
const PASSWORD: &str = "pwd";

pub(super) fn api_session(
    core: &Core,
    user: &UserRow,
    amr: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<SessionView, ApiError> {
    let session_id = fresh_id("ses_")?;
    let expires_at = now + core.config.lifetimes.refresh_absolute;
    let started = Started {
        id: &session_id,
        expires_at,
        amr,
        via: "api",
    };
    core.db
        .write(|tx| start_session(tx, user, &started, caller, now))?;
    let state = SessionState {
        id: &session_id,
        generation: 0,
        last_used_at: now,
        expires_at,
        amr,
    };
    session_view(core, user, &state, now)
}

/// Checks the credentials and starts a browser session for the pages, backed by a first-party
/// session (so it is listed and revoked like any other); returns the user and the session
/// cookie's value (only its SHA-256 is stored). With TOTP active, the challenge of the second
/// step instead.
pub fn sign_in_browser(
    core: &Core,
    login: &str,
    password: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<SignIn<(UserRow, String)>, ApiError> {
    let user = check_credentials(core, login, password, caller, now)?;
    if let Some(challenge) =
        mfa::challenge_if_enabled(core, &user, caller.user_agent.as_deref(), now)?
    {
        return Ok(SignIn::SecondStep(Box::new(challenge)));
    }
    browser_session(core, user, PASSWORD, caller, now).map(SignIn::Done)
}

/// The second step of [`sign_in_browser`].
pub fn sign_in_browser_mfa(
    core: &Core,
    mfa_token: &str,
    code: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<(UserRow, String), ApiError> {
    let passed = mfa::pass(core, mfa_token, code, now)?;
    let caller = Caller {
        user_agent: passed.user_agent.clone(),
        ..caller.clone()
    };
    browser_session(core, passed.user, passed.method.amr(), &caller, now)
}

pub(super) fn browser_session(
    core: &Core,
    user: UserRow,
    amr: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<(UserRow, String), ApiError> {
    let cookie = fresh_id("bs_")?;
    let session_id = fresh_id("ses_")?;
    let expires_at = now + BROWSER_SESSION_SECS;
    let started = Started {
        id: &session_id,
        expires_at,
        amr,
        via: "browser",
    };
    core.db.write(|tx| {
        start_session(tx, &user, &started, caller, now)?;
        oauth::insert_browser_session(
            tx,
            &sha256(cookie.as_bytes()),
            &user.id,
            &session_id,
            now,
            expires_at,
        )
    })?;
    Ok((user, cookie))
}

/// A first-party session about to start: its id, end, `amr`, and how it was signed in to.
struct Started<'a> {
    id: &'a str,
    expires_at: Timestamp,
    amr: &'a str,
    /// `api` or `browser`, for the audit row.
    via: &'static str,
}

/// Starts a first-party session (client and scope none: it holds every scope) and writes its
/// sign-in's audit row in the same transaction.
fn start_session(
    tx: &Tx<'_>,
    user: &UserRow,
    s: &Started<'_>,
    caller: &Caller,
    now: Timestamp,
) -> Result<(), crate::store::StoreError> {
    sessions::insert(
        tx,
        &NewSession {
            id: s.id,
            user_id: &user.id,
            now,
            expires_at: s.expires_at,
            user_agent: caller.user_agent.as_deref(),
            client_id: None,
            scope: None,
            amr: s.amr,
            auth_time: None,
            resources: "",
        },
    )?;
    audit::record(
        tx,
        now,
        Event {
            name: "login_succeeded",
            actor: audit::user(user),
            target: Some(audit::user(user)),
            caller: Some(caller),
            details: json!({"via": s.via, "amr": s.amr.split(' ').collect::<Vec<_>>()}),
        },
    )
}
