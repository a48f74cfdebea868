//! Confirmation and reset codes (API.md, Tokens): 6 digits, stored as an HMAC under the key
//! file's pepper (so a copied database does not reveal them), single use, at most 3 live per
//! user and purpose, 5 wrong tries across the live codes kill them all.

use crate::core::clock::Timestamp;
use crate::core::token::opaque::{RandomUnavailable, ct_eq, hmac_sha256, new_id, random_bytes};
use crate::core::token::seal::{self, SealKey};
use crate::domain::error::ApiError;
use crate::store::outbox::{self, Kind, NewMessage};
use crate::store::users::UserRow;
use crate::store::{StoreError, Tx, codes};

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

/// How the message carrying a new code goes out.
pub struct Mailing<'a> {
    pub kind: Kind,
    /// The code's lifetime, counted from `send_at`.
    pub ttl: i64,
    /// When the message may first be sent: now, or a `users import --send-after` time.
    pub send_at: Timestamp,
    /// Who invites, named in an invitation.
    pub inviter: Option<&'a str>,
}

impl Mailing<'_> {
    /// A message of `kind` sent at once.
    pub fn now(kind: Kind, ttl: i64, now: Timestamp) -> Mailing<'static> {
        Mailing {
            kind,
            ttl,
            send_at: now,
            inviter: None,
        }
    }

    fn purpose(&self) -> Purpose {
        match self.kind {
            Kind::Reset => Purpose::Reset,
            _ => Purpose::Confirm,
        }
    }
}

/// Issues a code to `user` and queues the message that carries it (the code sealed, see
/// `token::seal`), in the caller's transaction. The code is valid from now until `ttl` after
/// the message may first be sent. Older live codes stay valid (at most 3 live at once). Returns
/// the expiry.
pub fn issue(
    tx: &Tx<'_>,
    pepper: &[u8; 32],
    user: &UserRow,
    mailing: &Mailing<'_>,
    now: Timestamp,
) -> Result<Timestamp, ApiError> {
    let purpose = mailing.purpose();
    let code = new_code()?;
    let send_at = mailing.send_at.max(now);
    let expires_at = send_at + mailing.ttl;
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
    let internal = |e: RandomUnavailable| ApiError::Internal(e.to_string());
    let message_id = new_id("msg_").map_err(internal)?;
    let sealed = SealKey::derive(pepper, seal::OUTBOX)
        .seal(message_id.as_bytes(), code.as_bytes())
        .map_err(internal)?;
    outbox::insert(
        tx,
        &NewMessage {
            message_id: &message_id,
            to: &user.email,
            kind: mailing.kind,
            user_id: &user.id,
            handle: &user.handle,
            inviter: mailing.inviter,
            sealed_code: &sealed,
            ready_at: send_at,
            expires_at,
            now,
        },
    )?;
    Ok(expires_at)
}

/// Checks `code` against the user's codes of `purpose`, in the caller's transaction. On success
/// every code of the purpose is used up. A wrong try counts; the 5th kills the live codes.
/// The caller must commit whatever the verdict, so that the count sticks.
pub fn check(
    tx: &Tx<'_>,
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
        let msgs = f.db.read(|c| outbox::list(c, None, 1)).unwrap();
        let sealed = msgs[0].sealed_code.as_deref().unwrap();
        let code = SealKey::derive(&[1u8; 32], seal::OUTBOX)
            .open(msgs[0].message_id.as_bytes(), sealed)
            .unwrap();
        String::from_utf8(code).unwrap()
    }

    fn mailing(purpose: Purpose) -> Mailing<'static> {
        let kind = match purpose {
            Purpose::Confirm => Kind::Signup,
            Purpose::Reset => Kind::Reset,
        };
        Mailing::now(kind, 100, 0)
    }

    #[test]
    fn a_held_message_counts_the_lifetime_from_its_send_time_and_seals_the_code() {
        let f = fixture::with_user();
        let u = user(&f);
        let pepper = [1u8; 32];
        let held = Mailing {
            kind: Kind::Invitation,
            ttl: 100,
            send_at: 1000,
            inviter: Some("Maya"),
        };
        let expiry = f.db.write(|tx| issue(tx, &pepper, &u, &held, 0)).unwrap();
        assert_eq!(expiry, 1100);
        let row = f.db.read(|c| outbox::list(c, None, 1)).unwrap().remove(0);
        assert_eq!(
            (row.ready_at, row.next_at, row.expires_at),
            (1000, 1000, Some(1100))
        );
        let code = mailed_code(&f);
        let sealed = row.sealed_code.unwrap();
        assert!(
            !sealed.windows(6).any(|w| w == code.as_bytes()),
            "not in plain text"
        );
        assert_eq!(
            f.db.write(|tx| check(tx, &pepper, "u1", Purpose::Confirm, &code, 1050))
                .unwrap(),
            Check::Accepted
        );
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
        f.db.write(|tx| issue(tx, &pepper, &u, &mailing(Purpose::Confirm), 0))
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
        f.db.write(|tx| issue(tx, &pepper, &u, &mailing(Purpose::Confirm), 0))
            .unwrap();
        let first = mailed_code(&f);
        f.db.write(|tx| issue(tx, &pepper, &u, &mailing(Purpose::Confirm), 50))
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
        f.db.write(|tx| issue(tx, &pepper, &u, &mailing(Purpose::Reset), 0))
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
        f.db.write(|tx| issue(tx, &pepper, &u, &mailing(Purpose::Reset), 3))
            .unwrap();
        let fresh = mailed_code(&f);
        assert_eq!(
            f.db.write(|tx| check(tx, &pepper, "u1", Purpose::Reset, &fresh, 4))
                .unwrap(),
            Check::Accepted
        );
    }
}
