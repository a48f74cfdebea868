//! Every statement on `passkey_users`, `passkeys` and `passkey_challenges`: a user's random
//! WebAuthn handle, their passkeys (public key, the state a sign-in moves, name and times), and
//! the ceremonies waiting between start and finish (by the hash of their `challengeId`).

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::core::clock::Timestamp;

/// A passkey as the account lists it.
#[derive(Debug, Clone)]
pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub credential_id: Vec<u8>,
    pub transports: u8,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// A passkey as a sign-in checks it.
#[derive(Debug, Clone)]
pub struct CredentialRow {
    pub id: String,
    pub user_id: String,
    pub handle: Vec<u8>,
    pub public_key: Vec<u8>,
    pub state: Vec<u8>,
}

/// A passkey that passed registration.
pub struct NewPasskey<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub credential_id: &'a [u8],
    pub public_key: &'a [u8],
    pub state: &'a [u8],
    pub transports: u8,
    pub synced: bool,
    pub name: &'a str,
    pub now: Timestamp,
}

/// A ceremony between its start and its finish.
#[derive(Debug, Clone)]
pub struct ChallengeRow {
    pub ceremony: String,
    pub user_id: Option<String>,
    pub state: Vec<u8>,
    pub expires_at: Timestamp,
}

/// The user's handle, if they ever started adding a passkey.
pub fn handle_of(conn: &Connection, user_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT handle FROM passkey_users WHERE user_id = ?1")?
        .query_row([user_id], |r| r.get(0))
        .optional()?)
}

/// Gives the user `handle` unless they have one; returns the one in force.
pub fn ensure_handle(
    conn: &Connection,
    user_id: &str,
    handle: &[u8],
) -> Result<Vec<u8>, StoreError> {
    conn.prepare_cached("INSERT INTO passkey_users (user_id, handle) VALUES (?1, ?2) ON CONFLICT (user_id) DO NOTHING")?
        .execute(params![user_id, handle])?;
    Ok(handle_of(conn, user_id)?.unwrap_or_else(|| handle.to_vec()))
}

/// The user's passkeys, oldest first.
pub fn list(conn: &Connection, user_id: &str) -> Result<Vec<PasskeyRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, credential_id, transports, created_at, last_used_at FROM passkeys
          WHERE user_id = ?1 ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok(PasskeyRow {
            id: r.get(0)?,
            name: r.get(1)?,
            credential_id: r.get(2)?,
            transports: r.get(3)?,
            created_at: r.get(4)?,
            last_used_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The passkey with this credential id, with its owner's handle.
pub fn find_by_credential(
    conn: &Connection,
    credential_id: &[u8],
) -> Result<Option<CredentialRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT p.id, p.user_id, u.handle, p.public_key, p.state FROM passkeys p
               JOIN passkey_users u ON u.user_id = p.user_id
              WHERE p.credential_id = ?1",
        )?
        .query_row([credential_id], |r| {
            Ok(CredentialRow {
                id: r.get(0)?,
                user_id: r.get(1)?,
                handle: r.get(2)?,
                public_key: r.get(3)?,
                state: r.get(4)?,
            })
        })
        .optional()?)
}

/// Stores a new passkey: false if its credential id is registered already.
pub fn insert(conn: &Connection, p: &NewPasskey<'_>) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO passkeys (id, user_id, credential_id, public_key, state, transports, synced, name, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (credential_id) DO NOTHING",
        )?
        .execute(params![
            p.id,
            p.user_id,
            p.credential_id,
            p.public_key,
            p.state,
            p.transports,
            p.synced,
            p.name,
            p.now
        ])?;
    Ok(changed == 1)
}

/// Records a sign-in with the passkey, if its state is still the one the sign-in checked
/// against: false when another sign-in moved it meanwhile.
pub fn record_use(
    conn: &Connection,
    id: &str,
    checked: &[u8],
    state: &[u8],
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE passkeys SET state = ?3, last_used_at = ?4 WHERE id = ?1 AND state = ?2",
        )?
        .execute(params![id, checked, state, now])?;
    Ok(changed == 1)
}

/// Removes one of the user's passkeys: false if they have none by that id.
pub fn delete(conn: &Connection, user_id: &str, id: &str) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached("DELETE FROM passkeys WHERE id = ?1 AND user_id = ?2")?
        .execute([id, user_id])?;
    Ok(changed == 1)
}

/// Removes all the user's passkeys and their open ceremonies (`users mfa-reset`).
pub fn delete_all(conn: &Connection, user_id: &str) -> Result<usize, StoreError> {
    conn.prepare_cached("DELETE FROM passkey_challenges WHERE user_id = ?1")?
        .execute([user_id])?;
    Ok(conn
        .prepare_cached("DELETE FROM passkeys WHERE user_id = ?1")?
        .execute([user_id])?)
}

/// Keeps a started ceremony until `expires_at`.
pub fn insert_challenge(
    conn: &Connection,
    id_hash: &[u8],
    ceremony: &str,
    user_id: Option<&str>,
    state: &[u8],
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO passkey_challenges (id_hash, ceremony, user_id, state, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id_hash, ceremony, user_id, state, expires_at])?;
    Ok(())
}

/// A ceremony, left in place.
pub fn find_challenge(
    conn: &Connection,
    id_hash: &[u8],
) -> Result<Option<ChallengeRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT ceremony, user_id, state, expires_at FROM passkey_challenges WHERE id_hash = ?1",
        )?
        .query_row([id_hash], |r| {
            Ok(ChallengeRow {
                ceremony: r.get(0)?,
                user_id: r.get(1)?,
                state: r.get(2)?,
                expires_at: r.get(3)?,
            })
        })
        .optional()?)
}

/// Takes a ceremony out (single use): whoever takes it first finishes it.
/// Returns false if another finish took it first.
pub fn take_challenge(conn: &Connection, id_hash: &[u8]) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached("DELETE FROM passkey_challenges WHERE id_hash = ?1")?
        .execute([id_hash])?;
    Ok(changed == 1)
}

/// Deletes ceremonies that expired.
pub fn sweep(conn: &Connection, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM passkey_challenges WHERE expires_at < ?1")?
        .execute([now])?;
    Ok(())
}

/// The users with at least one passkey (for `users list`).
pub fn users_with_passkeys(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT user_id FROM passkeys")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture;

    fn passkey<'a>(id: &'a str, credential_id: &'a [u8]) -> NewPasskey<'a> {
        NewPasskey {
            id,
            user_id: "u1",
            credential_id,
            public_key: b"pk",
            state: b"s0",
            transports: 0,
            synced: false,
            name: "laptop",
            now: 10,
        }
    }

    #[test]
    fn a_handle_is_given_once_and_a_credential_registered_once() {
        let f = fixture::with_user();
        f.db.write(|tx| {
            assert_eq!(ensure_handle(tx, "u1", b"h1")?, b"h1");
            assert_eq!(
                ensure_handle(tx, "u1", b"h2")?,
                b"h1",
                "the first handle stays"
            );
            assert!(insert(tx, &passkey("pk_1", b"c1"))?);
            assert!(
                !insert(tx, &passkey("pk_2", b"c1"))?,
                "the same credential again"
            );
            let found = find_by_credential(tx, b"c1")?.unwrap();
            assert_eq!(
                (found.id.as_str(), found.handle.as_slice()),
                ("pk_1", &b"h1"[..])
            );
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }

    #[test]
    fn a_use_moves_the_state_only_from_the_state_that_was_checked() {
        let f = fixture::with_user();
        f.db.write(|tx| {
            ensure_handle(tx, "u1", b"h1")?;
            insert(tx, &passkey("pk_1", b"c1"))?;
            assert!(record_use(tx, "pk_1", b"s0", b"s1", 20)?);
            assert!(
                !record_use(tx, "pk_1", b"s0", b"s1", 21)?,
                "a race on the old state"
            );
            assert_eq!(list(tx, "u1")?[0].last_used_at, Some(20));
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }

    #[test]
    fn a_challenge_is_taken_once() {
        let f = fixture::with_user();
        f.db.write(|tx| {
            insert_challenge(tx, b"c", "register", Some("u1"), b"state", 310)?;
            assert_eq!(find_challenge(tx, b"c")?.unwrap().state, b"state");
            assert!(take_challenge(tx, b"c")?);
            assert!(!take_challenge(tx, b"c")?);
            assert!(find_challenge(tx, b"c")?.is_none());
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }
}
