//! Every statement on `totp`, `recovery_codes` and `mfa_challenges`: a user's TOTP secret
//! (sealed, never plain), the MACs of their recovery codes, and the challenges of the second step
//! of a password sign-in (the `mfaToken`, by its hash).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::core::clock::Timestamp;

/// A user's TOTP enrolment.
#[derive(Debug, Clone)]
pub struct TotpRow {
    pub sealed_secret: Vec<u8>,
    /// Confirmed with a code; a pending one does not guard sign-in.
    pub active: bool,
    pub created_at: Timestamp,
    /// The last step whose code was accepted: that step and every earlier one are spent.
    pub last_step: i64,
}

/// The user's enrolment, pending or active.
pub fn find_totp(conn: &Connection, user_id: &str) -> Result<Option<TotpRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT sealed_secret, active, created_at, last_step FROM totp WHERE user_id = ?1",
        )?
        .query_row([user_id], |r| {
            Ok(TotpRow {
                sealed_secret: r.get(0)?,
                active: r.get(1)?,
                created_at: r.get(2)?,
                last_step: r.get(3)?,
            })
        })
        .optional()?)
}

/// Starts an enrolment (pending), replacing a pending one.
pub fn put_pending_totp(
    conn: &Connection,
    user_id: &str,
    sealed_secret: &[u8],
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO totp (user_id, sealed_secret, active, created_at, last_step) VALUES (?1, ?2, 0, ?3, 0)
         ON CONFLICT (user_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, created_at = excluded.created_at,
                                             last_step = 0
         WHERE totp.active = 0",
    )?
    .execute(params![user_id, sealed_secret, now])?;
    Ok(())
}

/// Marks the enrolment active, with `step` spent.
pub fn activate_totp(conn: &Connection, user_id: &str, step: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE totp SET active = 1, last_step = ?2 WHERE user_id = ?1")?
        .execute(params![user_id, step])?;
    Ok(())
}

/// Spends `step` and every earlier one, if no later step was spent meanwhile: false if another
/// request took this step first (the code is refused as a replay).
pub fn spend_step(conn: &Connection, user_id: &str, step: i64) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached("UPDATE totp SET last_step = ?2 WHERE user_id = ?1 AND last_step < ?2")?
        .execute(params![user_id, step])?;
    Ok(changed == 1)
}

/// Removes the enrolment and the recovery codes.
pub fn delete_all(conn: &Connection, user_id: &str) -> Result<bool, StoreError> {
    let totp = conn
        .prepare_cached("DELETE FROM totp WHERE user_id = ?1")?
        .execute([user_id])?;
    let codes = conn
        .prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1")?
        .execute([user_id])?;
    Ok(totp + codes > 0)
}

/// Replaces the user's recovery codes with these MACs.
pub fn replace_recovery_codes(
    conn: &Connection,
    user_id: &str,
    macs: &[[u8; 32]],
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1")?
        .execute([user_id])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO recovery_codes (user_id, code_mac, created_at) VALUES (?1, ?2, ?3)",
    )?;
    for mac in macs {
        insert.execute(params![user_id, mac.as_slice(), now])?;
    }
    Ok(())
}

/// The MACs of the user's unused recovery codes.
pub fn unused_recovery_codes(conn: &Connection, user_id: &str) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT code_mac FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
    )?;
    let rows = stmt.query_map([user_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Uses up the recovery code with this MAC: false if it was used meanwhile.
pub fn use_recovery_code(
    conn: &Connection,
    user_id: &str,
    mac: &[u8],
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE recovery_codes SET used_at = ?3 WHERE user_id = ?1 AND code_mac = ?2 AND used_at IS NULL",
        )?
        .execute(params![user_id, mac, now])?;
    Ok(changed == 1)
}

/// The challenge of a second step, by the hash of its `mfaToken`.
#[derive(Debug, Clone)]
pub struct ChallengeRow {
    pub user_id: String,
    pub expires_at: Timestamp,
    pub failures: i64,
    /// Set once the token gave a session or died of wrong codes: it never answers again.
    pub ended: bool,
    /// The user agent of the sign-in that asked, for the session it starts.
    pub user_agent: Option<String>,
}

impl ChallengeRow {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<ChallengeRow> {
        Ok(ChallengeRow {
            user_id: r.get(0)?,
            expires_at: r.get(1)?,
            failures: r.get(2)?,
            ended: r.get::<_, Option<Timestamp>>(3)?.is_some(),
            user_agent: r.get(4)?,
        })
    }
}

/// Stores a new challenge.
pub fn insert_challenge(
    conn: &Connection,
    token_hash: &[u8],
    user_id: &str,
    user_agent: Option<&str>,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO mfa_challenges (token_hash, user_id, user_agent, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![token_hash, user_id, user_agent, now, expires_at])?;
    Ok(())
}

/// The challenge with this token hash.
pub fn find_challenge(
    conn: &Connection,
    token_hash: &[u8],
) -> Result<Option<ChallengeRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT user_id, expires_at, failures, ended_at, user_agent FROM mfa_challenges WHERE token_hash = ?1",
        )?
        .query_row([token_hash], ChallengeRow::from_row)
        .optional()?)
}

/// Counts a wrong code; the `limit`-th ends the challenge. Returns the failures so far.
pub fn fail_challenge(
    conn: &Connection,
    token_hash: &[u8],
    limit: i64,
    now: Timestamp,
) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE mfa_challenges SET failures = failures + 1,
                    ended_at = CASE WHEN failures + 1 >= ?2 THEN ?3 ELSE ended_at END
              WHERE token_hash = ?1 RETURNING failures",
        )?
        .query_row(params![token_hash, limit, now], |r| r.get(0))
        .optional()?
        .unwrap_or(limit))
}

/// Ends the challenge (it gave a session): false if it had ended already.
pub fn end_challenge(
    conn: &Connection,
    token_hash: &[u8],
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE mfa_challenges SET ended_at = ?2 WHERE token_hash = ?1 AND ended_at IS NULL",
        )?
        .execute(params![token_hash, now])?;
    Ok(changed == 1)
}

/// Ends every open challenge of the user (their factors were reset).
pub fn end_challenges_of(
    conn: &Connection,
    user_id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE mfa_challenges SET ended_at = ?2 WHERE user_id = ?1 AND ended_at IS NULL",
    )?
    .execute(params![user_id, now])?;
    Ok(())
}

/// Deletes challenges that expired a day ago or more (until then a late try hears
/// `mfa_token_expired`).
pub fn sweep(conn: &Connection, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM mfa_challenges WHERE expires_at < ?1")?
        .execute([now - 86_400])?;
    Ok(())
}

/// The users with an active TOTP (for `users list`).
pub fn users_with_totp(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT user_id FROM totp WHERE active = 1")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture;

    #[test]
    fn a_step_is_spent_once_and_earlier_steps_with_it() {
        let f = fixture::with_user();
        f.db.write(|tx| {
            put_pending_totp(tx, "u1", b"sealed", 10)?;
            activate_totp(tx, "u1", 100)?;
            assert!(!spend_step(tx, "u1", 100)?, "the confirming step is spent");
            assert!(!spend_step(tx, "u1", 99)?, "an earlier step");
            assert!(spend_step(tx, "u1", 101)?);
            assert!(!spend_step(tx, "u1", 101)?, "a replay");
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }

    #[test]
    fn a_pending_enrolment_is_replaced_but_an_active_one_is_not() {
        let f = fixture::with_user();
        f.db.write(|tx| {
            put_pending_totp(tx, "u1", b"one", 10)?;
            put_pending_totp(tx, "u1", b"two", 11)?;
            assert_eq!(find_totp(tx, "u1")?.unwrap().sealed_secret, b"two");
            activate_totp(tx, "u1", 1)?;
            put_pending_totp(tx, "u1", b"three", 12)?;
            let row = find_totp(tx, "u1")?.unwrap();
            assert!(row.active);
            assert_eq!(row.sealed_secret, b"two");
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }

    #[test]
    fn the_fifth_failure_ends_a_challenge() {
        let f = fixture::with_user();
        f.db.write(|tx| {
            insert_challenge(tx, b"h", "u1", None, 10, 310)?;
            for n in 1..5 {
                assert_eq!(fail_challenge(tx, b"h", 5, 20)?, n);
                assert!(!find_challenge(tx, b"h")?.unwrap().ended);
            }
            assert_eq!(fail_challenge(tx, b"h", 5, 20)?, 5);
            assert!(find_challenge(tx, b"h")?.unwrap().ended);
            assert!(!end_challenge(tx, b"h", 21)?);
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }
}
