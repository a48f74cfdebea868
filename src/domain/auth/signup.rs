//! Self-signup (API.md, Identity routes): create an unconfirmed account, confirm it with the
//! emailed code, resend a code. An unconfirmed account holds its handle and email until its code
//! lifetime has passed; then a new signup replaces it.

use serde::Serialize;

use super::codes::{self, Mailing, Purpose};
use super::{UserView, fresh_id, hash_password, validate};
use crate::core::Core;
use crate::core::clock::{Timestamp, rfc3339};
use crate::core::password;
use crate::domain::audit::{self, Acting, Caller};
use crate::domain::error::ApiError;
use crate::store::StoreError;
use crate::store::outbox::Kind;
use crate::store::users::{self, NewUser, UserRow};

/// What a signup asks for, as sent.
pub struct SignupRequest<'a> {
    pub handle: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub display_name: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Confirmation {
    pub sent_to: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize)]
pub struct SignupOutcome {
    pub user: UserView,
    pub confirmation: Confirmation,
}

/// Creates an unconfirmed account and mails its code. Errors: `invalid_field`, `weak_password`,
/// `handle_taken`, `email_taken`.
pub fn signup(
    core: &Core,
    req: &SignupRequest<'_>,
    caller: &Caller,
    now: Timestamp,
) -> Result<SignupOutcome, ApiError> {
    let handle = validate::handle(req.handle)?;
    let email = validate::email(req.email)?;
    let display_name = req.display_name.map(validate::display_name).transpose()?;
    if let Some(why) = password::weakness(req.password, &handle, email) {
        return Err(ApiError::WeakPassword {
            field: "password",
            reason: why,
        });
    }
    // A taken identity is refused before the slow hash; the write below checks again for races.
    let (by_handle, by_email) = core.db.read(|c| {
        Ok::<_, StoreError>((
            users::find_by_handle(c, &handle)?,
            users::find_by_email(c, email)?,
        ))
    })?;
    if by_handle.is_some_and(|u| holds_identity(&u, now)) {
        return Err(ApiError::HandleTaken);
    }
    if by_email.is_some_and(|u| holds_identity(&u, now)) {
        return Err(ApiError::EmailTaken);
    }
    // Slow work outside the write lock.
    let hash = hash_password(core, req.password)?;
    let id = fresh_id("usr_")?;
    let ttl = core.config.lifetimes.signup_code;
    let pepper = *core.keys().code_pepper();
    let (user, expires_at) = core.db.write(|tx| {
        for (existing, taken) in [
            (users::find_by_handle(tx, &handle)?, ApiError::HandleTaken),
            (users::find_by_email(tx, email)?, ApiError::EmailTaken),
        ] {
            if let Some(old) = existing {
                if holds_identity(&old, now) {
                    return Err(taken);
                }
                log::info!(
                    "replacing stale unconfirmed account {} ({})",
                    old.id,
                    old.handle
                );
                users::delete(tx, &old.id)?;
            }
        }
        users::insert(
            tx,
            &NewUser {
                id: &id,
                handle: &handle,
                email,
                display_name: display_name.as_deref(),
                password_hash: Some(&hash),
                invited: false,
                pending_until: now + ttl,
                now,
            },
        )
        .map_err(|e| match e {
            StoreError::Unique(m) if m.contains("email") => ApiError::EmailTaken,
            StoreError::Unique(_) => ApiError::HandleTaken,
            other => other.into(),
        })?;
        let user = users::find_by_id(tx, &id)?
            .ok_or_else(|| ApiError::Internal("inserted user vanished".into()))?;
        let mailing = Mailing::now(Kind::Signup, ttl, now);
        let expires_at = codes::issue(tx, &pepper, &user, &mailing, now)?;
        Acting::anonymous(caller).record(
            tx,
            now,
            "signup",
            Some(audit::user(&user)),
            serde_json::json!({}),
        )?;
        Ok((user, expires_at))
    })?;
    core.mail.nudge();
    core.metrics.code_sent("confirm");
    Ok(SignupOutcome {
        confirmation: Confirmation {
            sent_to: user.email.clone(),
            expires_at: rfc3339(expires_at),
        },
        user: UserView::from(&user),
    })
}

/// A confirmed account always holds its identity; an unconfirmed one until its hold passes.
pub fn holds_identity(user: &UserRow, now: Timestamp) -> bool {
    user.email_confirmed || user.pending_until.is_none_or(|until| until > now)
}

/// Confirms an email with its code. An invited account, which has no password yet, must choose
/// one here (`password`). Errors: `code_invalid`, `code_expired`, `code_exhausted`, and for an
/// invited account `invalid_field` (no password) or `weak_password`.
pub fn confirm(
    core: &Core,
    email: &str,
    code: &str,
    password: Option<&str>,
    caller: &Caller,
    now: Timestamp,
) -> Result<UserView, ApiError> {
    let pepper = *core.keys().code_pepper();
    let known = core.db.read(|c| users::find_by_email(c, email))?;
    let new_hash = match (&known, password) {
        (Some(u), None) if u.password_hash.is_none() => {
            return Err(ApiError::invalid_field(
                "password",
                "choose a password: this account was created by invitation and has none yet",
            ));
        }
        (Some(u), Some(pw)) if u.password_hash.is_none() => {
            if let Some(why) = password::weakness(pw, &u.handle, &u.email) {
                return Err(ApiError::WeakPassword {
                    field: "password",
                    reason: why,
                });
            }
            Some(hash_password(core, pw)?)
        }
        _ => None,
    };
    // The transaction commits whatever the verdict, so a wrong try is counted although it fails.
    core.db.write(|tx| {
        let Some(user) = users::find_by_email(tx, email)? else {
            return Ok(Err(ApiError::CodeInvalid));
        };
        if let Some(refused) = codes::check(tx, &pepper, &user.id, Purpose::Confirm, code, now)?
            .refusal(Purpose::Confirm)
        {
            return Ok(Err(refused));
        }
        if let (Some(hash), None) = (&new_hash, &user.password_hash) {
            users::set_password_hash(tx, &user.id, hash, now)?;
        }
        users::confirm_email(tx, &user.id, now)?;
        Acting::anonymous(caller).record(
            tx,
            now,
            "signup_confirmed",
            Some(audit::user(&user)),
            serde_json::json!({"invited": user.invited, "passwordChosen": new_hash.is_some()}),
        )?;
        let user = users::find_by_id(tx, &user.id)?.ok_or(ApiError::CodeInvalid)?;
        Ok::<_, ApiError>(Ok(UserView::from(&user)))
    })?
}

/// Whether `email` belongs to an invited account that has no password yet (its confirmation
/// sets one).
pub fn is_invited_without_password(core: &Core, email: &str) -> Result<bool, ApiError> {
    Ok(core
        .db
        .read(|c| users::find_by_email(c, email))?
        .is_some_and(|u| u.password_hash.is_none()))
}

/// Sends a new confirmation code to an unconfirmed account; silently does nothing otherwise,
/// so the answer does not tell whether the email is registered.
pub fn resend(core: &Core, email: &str, now: Timestamp) -> Result<(), ApiError> {
    let email = validate::email(email)?;
    core.throttle
        .hit("resend-email", &email.to_lowercase(), now)?;
    let pepper = *core.keys().code_pepper();
    let lifetimes = &core.config.lifetimes;
    let sent = core.db.write(|tx| {
        let Some(user) = users::find_by_email(tx, email)? else {
            return Ok(false);
        };
        if user.email_confirmed || user.disabled {
            return Ok(false);
        }
        let ttl = if user.invited {
            lifetimes.invite_code
        } else {
            lifetimes.signup_code
        };
        let mailing = Mailing::now(Kind::Resend, ttl, now);
        let expires_at = codes::issue(tx, &pepper, &user, &mailing, now)?;
        users::extend_pending(tx, &user.id, expires_at)?;
        Ok::<_, ApiError>(true)
    })?;
    if sent {
        core.mail.nudge();
        core.metrics.code_sent("confirm");
    }
    Ok(())
}
