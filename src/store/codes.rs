//! Every statement on `codes` and `code_failures`.

use rusqlite::{Connection, Row, params};

use super::StoreError;
use crate::core::clock::Timestamp;

/// A stored code: its MAC, never the code.
#[derive(Debug, Clone)]
pub struct CodeRow {
    pub id: i64,
    pub code_mac: Vec<u8>,
    pub expires_at: Timestamp,
    pub killed_at: Option<Timestamp>,
}

impl CodeRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<CodeRow> {
        Ok(CodeRow {
            id: row.get("id")?,
            code_mac: row.get("code_mac")?,
            expires_at: row.get("expires_at")?,
            killed_at: row.get("killed_at")?,
        })
    }
}

/// Stores a new code.
pub fn insert(
    conn: &Connection,
    user_id: &str,
    purpose: &str,
    mac: &[u8],
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO codes (user_id, purpose, code_mac, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![user_id, purpose, mac, now, expires_at])?;
    Ok(())
}

/// Every code of the user for the purpose, newest first.
pub fn list(conn: &Connection, user_id: &str, purpose: &str) -> Result<Vec<CodeRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, code_mac, expires_at, killed_at FROM codes WHERE user_id = ?1 AND purpose = ?2 ORDER BY id DESC",
    )?;
    let rows = stmt.query_map(params![user_id, purpose], CodeRow::from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Deletes the live codes beyond the `keep` newest (so at most `keep + 1` live after an insert).
pub fn trim_live(
    conn: &Connection,
    user_id: &str,
    purpose: &str,
    keep: u32,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "DELETE FROM codes WHERE id IN (
            SELECT id FROM codes WHERE user_id = ?1 AND purpose = ?2 AND killed_at IS NULL AND expires_at > ?3
             ORDER BY id DESC LIMIT -1 OFFSET ?4)",
    )?
    .execute(params![user_id, purpose, now, keep])?;
    Ok(())
}

/// Deletes every code of the user for the purpose (a successful confirmation uses them all up).
pub fn delete_all(conn: &Connection, user_id: &str, purpose: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM codes WHERE user_id = ?1 AND purpose = ?2")?
        .execute(params![user_id, purpose])?;
    reset_failures(conn, user_id, purpose)
}

/// Kills the live codes (too many wrong tries) and resets the count.
pub fn kill_live(
    conn: &Connection,
    user_id: &str,
    purpose: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE codes SET killed_at = ?3 WHERE user_id = ?1 AND purpose = ?2 AND killed_at IS NULL AND expires_at > ?3")?
        .execute(params![user_id, purpose, now])?;
    reset_failures(conn, user_id, purpose)
}

/// Counts one more wrong try and returns the new count.
pub fn add_failure(conn: &Connection, user_id: &str, purpose: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO code_failures (user_id, purpose, failures) VALUES (?1, ?2, 1)
             ON CONFLICT (user_id, purpose) DO UPDATE SET failures = failures + 1 RETURNING failures",
        )?
        .query_row(params![user_id, purpose], |r| r.get(0))?)
}

/// Forgets the wrong tries counted so far.
pub fn reset_failures(conn: &Connection, user_id: &str, purpose: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM code_failures WHERE user_id = ?1 AND purpose = ?2")?
        .execute(params![user_id, purpose])?;
    Ok(())
}

/// The latest expiry of each user's unkilled codes of `purpose`, by user id.
pub fn latest_expiries(
    conn: &Connection,
    purpose: &str,
) -> Result<Vec<(String, Timestamp)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, max(expires_at) FROM codes WHERE purpose = ?1 AND killed_at IS NULL GROUP BY user_id",
    )?;
    let rows = stmt.query_map([purpose], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Deletes codes that expired before `before` (kept a while so a late try hears `code_expired`).
pub fn delete_expired(conn: &Connection, before: Timestamp) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM codes WHERE expires_at < ?1")?
        .execute([before])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture;

    #[test]
    fn trim_keeps_newest_and_failures_count() {
        let f = fixture::with_user();
        for i in 0..4u8 {
            f.db.write(|tx| {
                trim_live(tx, "u1", "confirm", 2, 10)?;
                insert(tx, "u1", "confirm", &[i], 10, 100)
            })
            .unwrap();
        }
        let macs: Vec<Vec<u8>> =
            f.db.read(|c| list(c, "u1", "confirm"))
                .unwrap()
                .into_iter()
                .map(|c| c.code_mac)
                .collect();
        assert_eq!(macs, vec![vec![3], vec![2], vec![1]]);
        assert_eq!(
            f.db.write(|tx| add_failure(tx, "u1", "confirm")).unwrap(),
            1
        );
        assert_eq!(
            f.db.write(|tx| add_failure(tx, "u1", "confirm")).unwrap(),
            2
        );
        f.db.write(|tx| kill_live(tx, "u1", "confirm", 20)).unwrap();
        assert!(
            f.db.read(|c| list(c, "u1", "confirm"))
                .unwrap()
                .iter()
                .all(|c| c.killed_at == Some(20))
        );
        assert_eq!(
            f.db.write(|tx| add_failure(tx, "u1", "confirm")).unwrap(),
            1,
            "killing reset the count"
        );
    }
}
