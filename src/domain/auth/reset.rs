//! Password reset (`password/forgot` and `password/forgot/confirm`): a code by mail, then a new
//! password that revokes every session. The answers do not tell whether an email is registered.

use serde::Serialize;

use super::codes::{self, Mailing, Purpose};
use super::{hash_password, validate};
use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::core::password;
use crate::domain::audit::{self, Acting, Caller};
use crate::domain::error::ApiError;
use crate::store::mfa;
use crate::store::outbox::Kind;
use crate::store::sessions::{self, RevokeReason};
use crate::store::{pats, users};

/// Mails a reset code when the email belongs to an account that is not disabled.
pub fn forgot(core: &Core, email: &str, now: Timestamp) -> Result<(), ApiError> {
    let email = validate::email(email)?;
    core.throttle
        .hit("forgot-email", &email.to_lowercase(), now)?;
    let pepper = *core.keys().code_pepper();
    let ttl = core.config.lifetimes.reset_code;
    let sent = core.db.write(|tx| match users::find_by_email(tx, email)? {
        Some(user) if !user.disabled => {
            codes::issue(
                tx,
                &pepper,
                &user,
                &Mailing::now(Kind::Reset, ttl, now),
                now,
            )?;
            Ok::<_, ApiError>(true)
        }
        _ => Ok(false),
    })?;
    if sent {
        core.mail.nudge();
        core.metrics.code_sent("reset");
    }
    Ok(())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOutcome {
    pub password_reset: bool,
    pub sessions_revoked: usize,
}

/// Sets a new password with a reset code, confirms the email (the code proved it) and revokes
/// every session. Errors: `weak_password`, `code_invalid`, `code_expired`, `code_exhausted`.
pub fn confirm(
    core: &Core,
    email: &str,
    code: &str,
    new_password: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<ResetOutcome, ApiError> {
    let email = validate::email(email)?;
    let user = core.db.read(|c| users::find_by_email(c, email))?;
    let handle = user.as_ref().map(|u| u.handle.as_str()).unwrap_or("");
    if let Some(why) = password::weakness(new_password, handle, email) {
        return Err(ApiError::WeakPassword {
            field: "newPassword",
            reason: why,
        });
    }
    // Hash before looking at the code, known account or not, so timing says nothing.
    let hash = hash_password(core, new_password)?;
    let Some(user) = user else {
        return Err(ApiError::CodeInvalid);
    };
    let pepper = *core.keys().code_pepper();
    // The transaction commits whatever the verdict, so a wrong try is counted although it fails.
    core.db.write(|tx| {
        if let Some(refused) =
            codes::check(tx, &pepper, &user.id, Purpose::Reset, code, now)?.refusal(Purpose::Reset)
        {
            return Ok(Err(refused));
        }
        users::set_password_hash(tx, &user.id, &hash, now)?;
        users::confirm_email(tx, &user.id, now)?;
        let revoked =
            sessions::revoke_all_for_user(tx, &user.id, RevokeReason::PasswordReset, now)?;
        pats::revoke_all_for_user(tx, &user.id, now)?;
        // A second step begun with the old password ends with it (the factor itself stays).
        mfa::end_challenges_of(tx, &user.id, now)?;
        Acting::anonymous(caller).record(
            tx,
            now,
            "password_reset",
            Some(audit::user(&user)),
            serde_json::json!({"sessionsRevoked": revoked}),
        )?;
        Ok::<_, ApiError>(Ok(ResetOutcome {
            password_reset: true,
            sessions_revoked: revoked,
        }))
    })?
}
