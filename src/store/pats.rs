//! Every statement on `pats` (personal access tokens).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::core::clock::Timestamp;

/// A personal access token as stored: its hash, never the token.
#[derive(Debug, Clone)]
pub struct PatRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub scopes: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, user_id, name, scopes, created_at, expires_at, last_used_at, revoked_at";

impl PatRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<PatRow> {
        Ok(PatRow {
            id: row.get("id")?,
            user_id: row.get("user_id")?,
            name: row.get("name")?,
            scopes: row.get("scopes")?,
            created_at: row.get("created_at")?,
            expires_at: row.get("expires_at")?,
            last_used_at: row.get("last_used_at")?,
            revoked_at: row.get("revoked_at")?,
        })
    }
}

/// A token to insert.
pub struct NewPat<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub token_hash: &'a [u8],
    pub scopes: &'a str,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

pub fn insert(conn: &Connection, p: &NewPat<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO pats (id, user_id, name, token_hash, scopes, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![p.id, p.user_id, p.name, p.token_hash, p.scopes, p.now, p.expires_at])?;
    Ok(())
}

/// The token whose SHA-256 is `hash`.
pub fn find_by_hash(conn: &Connection, hash: &[u8]) -> Result<Option<PatRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM pats WHERE token_hash = ?1"))?
        .query_row([hash], PatRow::from_row)
        .optional()?)
}

/// The user's tokens that are neither revoked nor expired, newest first.
pub fn list_live(
    conn: &Connection,
    user_id: &str,
    now: Timestamp,
) -> Result<Vec<PatRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM pats WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 ORDER BY created_at DESC, id"
    ))?;
    let rows = stmt.query_map(params![user_id, now], PatRow::from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Revokes one of the user's live tokens; false when the user has no such live token.
pub fn revoke(
    conn: &Connection,
    user_id: &str,
    id: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE pats SET revoked_at = ?3 WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
        )?
        .execute(params![id, user_id, now])?
        == 1)
}

/// Revokes every live token of the user; returns how many.
pub fn revoke_all_for_user(
    conn: &Connection,
    user_id: &str,
    now: Timestamp,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE pats SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![user_id, now])?)
}

/// Records a use, at most once a minute per token (so reads stay reads).
pub fn touch(conn: &Connection, id: &str, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE pats SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2 - 60)")?
        .execute(params![id, now])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture;

    #[test]
    fn lifecycle() {
        let f = fixture::with_user();
        f.db.write(|tx| {
            insert(
                tx,
                &NewPat {
                    id: "p1",
                    user_id: "u1",
                    name: "ci",
                    token_hash: b"h1",
                    scopes: "profile",
                    now: 10,
                    expires_at: 100,
                },
            )
        })
        .unwrap();
        assert_eq!(
            f.db.read(|c| find_by_hash(c, b"h1")).unwrap().unwrap().id,
            "p1"
        );
        assert_eq!(f.db.read(|c| list_live(c, "u1", 50)).unwrap().len(), 1);
        assert!(
            f.db.read(|c| list_live(c, "u1", 100)).unwrap().is_empty(),
            "expired"
        );
        f.db.write(|tx| touch(tx, "p1", 20)).unwrap();
        f.db.write(|tx| touch(tx, "p1", 30)).unwrap();
        assert_eq!(
            f.db.read(|c| find_by_hash(c, b"h1"))
                .unwrap()
                .unwrap()
                .last_used_at,
            Some(20),
            "at most once a minute"
        );
        assert!(
            !f.db.write(|tx| revoke(tx, "u2", "p1", 40)).unwrap(),
            "another user's token"
        );
        assert!(f.db.write(|tx| revoke(tx, "u1", "p1", 40)).unwrap());
        assert!(f.db.read(|c| list_live(c, "u1", 50)).unwrap().is_empty());
    }
}
