//! Password login (`POST /v2/auth/login`): the hash runs whether or not the account exists, so
//! timing does not reveal which logins are registered; then a session starts.

use super::{SessionState, SessionView, fresh_id, hash_password, hashing, session_view};
use crate::app::App;
use crate::clock::Timestamp;
use crate::error::ApiError;
use crate::password::{self, Verdict};
use crate::store::{sessions, users};

/// Checks the credentials and starts a session. Errors: `invalid_credentials` (unknown login or
/// wrong password, alike), `account_disabled`, `confirmation_required`, `unavailable` (hash queue full).
pub fn login(
    app: &App,
    login: &str,
    password: &str,
    user_agent: Option<&str>,
    now: Timestamp,
) -> Result<SessionView, ApiError> {
    let throttle_key = login.to_lowercase();
    app.throttle.login_gate(&throttle_key, now)?;
    let user = if login.contains('@') {
        app.db.read(|c| users::find_by_email(c, login))?
    } else {
        app.db
            .read(|c| users::find_by_handle(c, &login.to_lowercase()))?
    };
    let iterations = app.config.pbkdf2_iterations;
    let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let verdict = hashing(app, || password::verify(password, stored, iterations))?;
    let (user, needs_upgrade) = match (user, verdict) {
        (Some(u), Verdict::Match { needs_upgrade }) => (u, needs_upgrade),
        _ => {
            app.throttle.login_failed(&throttle_key, now);
            return Err(ApiError::InvalidCredentials);
        }
    };
    app.throttle.login_succeeded(&throttle_key);
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    if !user.email_confirmed {
        return Err(ApiError::ConfirmationRequired);
    }
    let upgraded = if needs_upgrade {
        Some(hash_password(app, password)?)
    } else {
        None
    };
    let session_id = fresh_id("ses_")?;
    let expires_at = now + app.config.lifetimes.refresh_absolute;
    app.db.write(|tx| {
        if let Some(hash) = &upgraded {
            users::set_password_hash(tx, &user.id, hash, now)?;
        }
        sessions::insert(tx, &session_id, &user.id, now, expires_at, user_agent)
    })?;
    let state = SessionState {
        id: &session_id,
        generation: 0,
        last_used_at: now,
        expires_at,
    };
    session_view(app, &user, &state, now)
}
