//! Confirmation and reset codes (API.md, Tokens): 6 digits, stored as an HMAC under the key
//! file's pepper (so a copied database does not reveal them), single use, at most 3 live per
//! user and purpose, 5 wrong tries across the live codes kill them all.

use rusqlite::Transaction;

use crate::clock::{Timestamp, rfc3339};
use crate::error::ApiError;
use crate::store::users::UserRow;
use crate::store::{StoreError, codes, outbox};
use crate::token::opaque::{ct_eq, hmac_sha256, new_id, random_bytes};

/// Wrong tries, counted across a user's live codes of one purpose, that kill those codes.
pub const MAX_WRONG_TRIES: i64 = 5;
/// A new code leaves at most this many older live codes.
const KEEP_OLDER_LIVE: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Confirms an email: self-signup or operator invitation.
    Confirm,
    /// Resets a password.
    Reset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Confirm => "confirm",
            Purpose::Reset => "reset",
        }
    }

    /// The route that sends a fresh code of this purpose.
    pub fn resend_route(self) -> &'static str {
        match self {
            Purpose::Confirm => "/v2/auth/signup/resend",
            Purpose::Reset => "/v2/auth/password/forgot",
        }
    }
}

/// The verdict on a presented code.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Accepted,
    Invalid,
    Expired,
    Exhausted,
}

impl Check {
    /// The API error of a refused code; `None` when the code was accepted.
    pub fn refusal(self, purpose: Purpose) -> Option<ApiError> {
        match self {
            Check::Accepted => None,
            Check::Invalid => Some(ApiError::CodeInvalid),
            Check::Expired => Some(ApiError::CodeExpired {
                resend_route: purpose.resend_route(),
            }),
            Check::Exhausted => Some(ApiError::CodeExhausted {
                resend_route: purpose.resend_route(),
            }),
        }
    }
}

/// Six uniformly random digits.
fn new_code() -> Result<String, ApiError> {
    loop {
        let n =
            u32::from_be_bytes(random_bytes::<4>().map_err(|e| ApiError::Internal(e.to_string()))?);
        // Reject the top sliver so that every code is equally likely.
        if n < u32::MAX - (u32::MAX % 1_000_000) {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

fn code_mac(pepper: &[u8; 32], user_id: &str, purpose: Purpose, code: &str) -> [u8; 32] {
    hmac_sha256(
        pepper,
        &[
            b"code",
            user_id.as_bytes(),
            purpose.as_str().as_bytes(),
            code.as_bytes(),
        ],
    )
}

/// Issues a code to `user` valid for `ttl` seconds and queues its message, in the caller's
/// transaction. Older live codes stay valid (at most 3 live at once). Returns the expiry.
pub fn issue(
    tx: &Transaction<'_>,
    pepper: &[u8; 32],
    user: &UserRow,
    purpose: Purpose,
    ttl: i64,
    now: Timestamp,
) -> Result<Timestamp, ApiError> {
    let code = new_code()?;
    let expires_at = now + ttl;
    let live = codes::list(tx, &user.id, purpose.as_str())?
        .iter()
        .any(|c| c.killed_at.is_none() && c.expires_at > now);
    if !live {
        // Wrong tries count across the live codes; with none left, old tries no longer count.
        codes::reset_failures(tx, &user.id, purpose.as_str())?;
    }
    codes::trim_live(tx, &user.id, purpose.as_str(), KEEP_OLDER_LIVE, now)?;
    codes::insert(
        tx,
        &user.id,
        purpose.as_str(),
        &code_mac(pepper, &user.id, purpose, &code),
        now,
        expires_at,
    )?;
    let (subject, body) = message(user, purpose, &code, expires_at, ttl);
    let message_id = new_id("msg_").map_err(|e| ApiError::Internal(e.to_string()))?;
    outbox::insert(tx, &message_id, &user.email, &subject, &body, now)?;
    Ok(expires_at)
}

fn message(
    user: &UserRow,
    purpose: Purpose,
    code: &str,
    expires_at: Timestamp,
    ttl: i64,
) -> (String, String) {
    let lifetime = human_duration(ttl);
    let expiry = rfc3339(expires_at);
    match purpose {
        Purpose::Confirm if user.invited && user.password_hash.is_none() => (
            format!("You are invited to gharart-id: your code is {code}"),
            format!(
                "Hello {handle},\n\nYou have been invited to gharart-id as {handle}. Your invitation code is:\n\n    {code}\n\n\
                 Confirm with POST /v2/auth/signup/confirm and your email, this code and the password\n\
                 you choose. The code works once and expires at {expiry} ({lifetime} from now); if it\n\
                 has expired, ask for a new one: POST /v2/auth/signup/resend with your email.\n",
                handle = user.handle
            ),
        ),
        Purpose::Confirm => (
            format!("Your gharart-id confirmation code: {code}"),
            format!(
                "Hello {handle},\n\nYour confirmation code is:\n\n    {code}\n\n\
                 It works once and expires at {expiry} ({lifetime} from now). If it has expired,\n\
                 ask for a new one: POST /v2/auth/signup/resend with your email.\n\n\
                 If you did not sign up, ignore this message.\n",
                handle = user.handle
            ),
        ),
        Purpose::Reset => (
            format!("Your gharart-id password reset code: {code}"),
            format!(
                "Hello {handle},\n\nYour password reset code is:\n\n    {code}\n\n\
                 It works once and expires at {expiry} ({lifetime} from now). Using it signs out\n\
                 every session of your account.\n\n\
                 If you did not ask to reset your password, ignore this message.\n",
                handle = user.handle
            ),
        ),
    }
}

fn human_duration(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3600 == 0 => format!("{} hours", s / 3600),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// Checks `code` against the user's codes of `purpose`, in the caller's transaction. On success
/// every code of the purpose is used up. A wrong try counts; the 5th kills the live codes.
/// The caller must commit whatever the verdict, so that the count sticks.
pub fn check(
    tx: &Transaction<'_>,
    pepper: &[u8; 32],
    user_id: &str,
    purpose: Purpose,
    code: &str,
    now: Timestamp,
) -> Result<Check, StoreError> {
    let p = purpose.as_str();
    let all = codes::list(tx, user_id, p)?;
    let mac = code_mac(pepper, user_id, purpose, code);
    let live = |c: &codes::CodeRow| c.killed_at.is_none() && c.expires_at > now;
    let killed = |c: &codes::CodeRow| c.killed_at.is_some() && c.expires_at > now;
    // Compare against every stored code so the time taken does not depend on which one matched.
    let matched = all.iter().fold(None, |hit, c| {
        if ct_eq(&c.code_mac, &mac) {
            Some(c)
        } else {
            hit
        }
    });
    match matched {
        Some(c) if live(c) => {
            codes::delete_all(tx, user_id, p)?;
            return Ok(Check::Accepted);
        }
        Some(c) if killed(c) => return Ok(Check::Exhausted),
        Some(_) => return Ok(Check::Expired),
        None => {}
    }
    if !all.iter().any(live) {
        return Ok(if all.iter().any(killed) {
            Check::Exhausted
        } else {
            Check::Invalid
        });
    }
    if codes::add_failure(tx, user_id, p)? >= MAX_WRONG_TRIES {
        codes::kill_live(tx, user_id, p, now)?;
    }
    Ok(Check::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{fixture, users};

    fn user(f: &fixture::Fixture) -> UserRow {
        f.db.read(|c| users::find_by_id(c, "u1")).unwrap().unwrap()
    }

    fn mailed_code(f: &fixture::Fixture) -> String {
        let msgs = f.db.read(|c| outbox::pending(c, 100)).unwrap();
        let body = &msgs.last().unwrap().body;
        body.split_whitespace()
            .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
            .unwrap()
            .to_owned()
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = new_code().unwrap();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn right_code_once_then_invalid() {
        let f = fixture::with_user();
        let u = user(&f);
        let pepper = [1u8; 32];
        f.db.write(|tx| issue(tx, &pepper, &u, Purpose::Confirm, 100, 0))
            .unwrap();
        let code = mailed_code(&f);
        assert_eq!(
            f.db.write(|tx| check(tx, &pepper, "u1", Purpose::Confirm, &code, 10))
                .unwrap(),
            Check::Accepted
        );
        assert_eq!(
            f.db.write(|tx| check(tx, &pepper, "u1", Purpose::Confirm, &code, 10))
                .unwrap(),
            Check::Invalid
        );
    }

    #[test]
    fn older_codes_stay_valid_and_expire_on_their_own() {
        let f = fixture::with_user();
        let u = user(&f);
        let pepper = [1u8; 32];
        f.db.write(|tx| issue(tx, &pepper, &u, Purpose::Confirm, 100, 0))
            .unwrap();
        let first = mailed_code(&f);
        f.db.write(|tx| issue(tx, &pepper, &u, Purpose::Confirm, 100, 50))
            .unwrap();
        assert_eq!(
            f.db.write(|tx| check(tx, &pepper, "u1", Purpose::Confirm, &first, 120))
                .unwrap(),
            Check::Expired
        );
        assert_eq!(
            f.db.write(|tx| check(tx, &pepper, "u1", Purpose::Confirm, &first, 60))
                .unwrap(),
            Check::Accepted
        );
    }

    #[test]
    fn five_wrong_tries_exhaust() {
        let f = fixture::with_user();
        let u = user(&f);
        let pepper = [1u8; 32];
        f.db.write(|tx| issue(tx, &pepper, &u, Purpose::Reset, 100, 0))
            .unwrap();
        let code = mailed_code(&f);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            assert_eq!(
                f.db.write(|tx| check(tx, &pepper, "u1", Purpose::Reset, wrong, 1))
                    .unwrap(),
                Check::Invalid
            );
        }
        assert_eq!(
            f.db.write(|tx| check(tx, &pepper, "u1", Purpose::Reset, &code, 2))
                .unwrap(),
            Check::Exhausted
        );
        f.db.write(|tx| issue(tx, &pepper, &u, Purpose::Reset, 100, 3))
            .unwrap();
        let fresh = mailed_code(&f);
        assert_eq!(
            f.db.write(|tx| check(tx, &pepper, "u1", Purpose::Reset, &fresh, 4))
                .unwrap(),
            Check::Accepted
        );
    }
}
