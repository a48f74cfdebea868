//! The operator's view of who is stuck (`users list`, `users resend`): each account's onboarding
//! state from its confirmation and the fate of its newest confirmation message, and the resend
//! that sends a new code to the named or matching unconfirmed accounts, safe to run twice.

use std::collections::HashMap;

use super::codes::{self, Mailing};
use crate::core::clock::{Timestamp, rfc3339};
use crate::domain::audit::{self, Acting};
use crate::store::outbox::{self, Kind, State};
use crate::store::users::{self, UserRow};
use crate::store::{Db, StoreError, codes as code_rows};

/// Where an account is in its onboarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Onboarding {
    /// A code is queued or sent and still valid; not confirmed yet.
    Invited,
    /// The newest confirmation message failed for good (the relay refused it).
    DeliveryFailed,
    /// No valid code is left (expired, or killed by wrong tries).
    CodeExpired,
    Confirmed,
    Disabled,
}

impl Onboarding {
    pub fn as_str(self) -> &'static str {
        match self {
            Onboarding::Invited => "invited",
            Onboarding::DeliveryFailed => "delivery_failed",
            Onboarding::CodeExpired => "code_expired",
            Onboarding::Confirmed => "confirmed",
            Onboarding::Disabled => "disabled",
        }
    }
}

/// Every user with their onboarding state at `now`, in the order they joined.
pub fn roster(db: &Db, now: Timestamp) -> Result<Vec<(UserRow, Onboarding)>, StoreError> {
    db.read(|c| {
        let users = users::list(c)?;
        let latest: HashMap<String, State> = outbox::latest_confirmations(c)?.into_iter().collect();
        let expiry: HashMap<String, Timestamp> = code_rows::latest_expiries(c, "confirm")?
            .into_iter()
            .collect();
        Ok(users
            .into_iter()
            .map(|u| {
                let state = state_of(
                    &u,
                    latest.get(&u.id).copied(),
                    expiry.get(&u.id).copied(),
                    now,
                );
                (u, state)
            })
            .collect())
    })
}

fn state_of(
    user: &UserRow,
    latest_message: Option<State>,
    code_expiry: Option<Timestamp>,
    now: Timestamp,
) -> Onboarding {
    if user.disabled {
        Onboarding::Disabled
    } else if user.email_confirmed {
        Onboarding::Confirmed
    } else if latest_message == Some(State::Failed) {
        Onboarding::DeliveryFailed
    } else if code_expiry.is_none_or(|e| e <= now) || latest_message == Some(State::Expired) {
        Onboarding::CodeExpired
    } else {
        Onboarding::Invited
    }
}

/// Which accounts a resend is for.
#[derive(Debug, Default)]
pub struct Selection {
    pub handles: Vec<String>,
    pub expired: bool,
    pub failed: bool,
    /// The named accounts are a bulk selection too (`/admin`'s bulk form): each skips an
    /// address a resend queued mail for within the last minute, as matches do.
    pub bulk: bool,
}

/// What a resend did for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resent {
    Sent {
        handle: String,
        expires_at: Timestamp,
    },
    /// A bulk match whose address a resend queued mail for less than a minute ago.
    SkippedRecent(String),
    /// Confirmed or disabled: nothing to resend.
    NotPending(String, Onboarding),
    NoSuchUser(String),
}

/// An account a resend is for, or the handle that named no account.
type Target<'a> = Result<&'a (UserRow, Onboarding), String>;

/// A bulk resend skips an address it queued mail for this recently.
const RESEND_QUIET_SECS: i64 = 60;

/// Sends a new confirmation code (lifetime `ttl`) to each selected unconfirmed account, one
/// transaction each; `progress` hears how many are done of how many.
pub fn resend(
    db: &Db,
    pepper: &[u8; 32],
    selection: &Selection,
    ttl: i64,
    by: &Acting<'_>,
    now: Timestamp,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Resent>, StoreError> {
    let roster = roster(db, now)?;
    // (target, named): a named account always gets its code; a bulk match skips an address a
    // resend queued mail for within the last minute, so running the bulk twice sends once.
    let mut targets: Vec<(Target<'_>, bool)> = Vec::new();
    for handle in &selection.handles {
        let folded = handle.to_lowercase();
        match roster.iter().find(|(u, _)| u.handle == folded) {
            Some(entry) => targets.push((Ok(entry), !selection.bulk)),
            None => targets.push((Err(handle.clone()), true)),
        }
    }
    for entry in &roster {
        let matches = (selection.expired && entry.1 == Onboarding::CodeExpired)
            || (selection.failed && entry.1 == Onboarding::DeliveryFailed);
        let listed = targets
            .iter()
            .any(|(t, _)| matches!(t, Ok(e) if e.0.id == entry.0.id));
        if matches && !listed {
            targets.push((Ok(entry), false));
        }
    }
    let total = targets.len();
    let mut done = Vec::with_capacity(total);
    for (target, named) in targets {
        let outcome = match target {
            Err(handle) => Resent::NoSuchUser(handle),
            Ok((user, state)) if matches!(state, Onboarding::Confirmed | Onboarding::Disabled) => {
                Resent::NotPending(user.handle.clone(), *state)
            }
            Ok((user, _)) => db.write(|tx| {
                if !named && outbox::resent_since(tx, &user.email, now - RESEND_QUIET_SECS)? {
                    return Ok(Resent::SkippedRecent(user.handle.clone()));
                }
                let mailing = Mailing::now(Kind::Resend, ttl, now);
                let expires_at = codes::issue(tx, pepper, user, &mailing, now)
                    .map_err(|e| StoreError::Broken(e.message()))?;
                users::extend_pending(tx, &user.id, expires_at)?;
                by.record(
                    tx,
                    now,
                    "invitation_resent",
                    Some(audit::user(user)),
                    serde_json::json!({"expiresAt": rfc3339(expires_at), "bulk": !named}),
                )?;
                Ok::<_, StoreError>(Resent::Sent {
                    handle: user.handle.clone(),
                    expires_at,
                })
            })?,
        };
        done.push(outcome);
        progress(done.len(), total);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(confirmed: bool, disabled: bool) -> UserRow {
        UserRow {
            id: "u1".into(),
            handle: "ana".into(),
            email: "a@x.io".into(),
            display_name: None,
            password_hash: None,
            email_confirmed: confirmed,
            disabled,
            invited: true,
            pending_until: None,
            created_at: 0,
            role: "member".into(),
            groups: Vec::new(),
        }
    }

    #[test]
    fn states() {
        let u = user(false, false);
        assert_eq!(
            state_of(&u, Some(State::Pending), Some(100), 50),
            Onboarding::Invited
        );
        assert_eq!(
            state_of(&u, Some(State::Sent), Some(100), 100),
            Onboarding::CodeExpired
        );
        assert_eq!(state_of(&u, None, None, 0), Onboarding::CodeExpired);
        assert_eq!(
            state_of(&u, Some(State::Expired), Some(100), 50),
            Onboarding::CodeExpired
        );
        assert_eq!(
            state_of(&u, Some(State::Failed), Some(100), 50),
            Onboarding::DeliveryFailed
        );
        assert_eq!(
            state_of(&user(true, false), Some(State::Failed), None, 0),
            Onboarding::Confirmed
        );
        assert_eq!(
            state_of(&user(true, true), None, None, 0),
            Onboarding::Disabled
        );
    }
}
