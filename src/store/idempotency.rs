//! Every statement on `idempotency_keys`.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::core::clock::Timestamp;

/// A stored key: the request's body hash and, once finished, its response.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub body_hash: Vec<u8>,
    pub status: Option<u16>,
    pub headers: Option<String>,
    pub body: Option<Vec<u8>>,
    pub created_at: Timestamp,
}

pub fn find(conn: &Connection, caller: &str, key: &str) -> Result<Option<KeyRow>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT body_hash, status, headers, body, created_at FROM idempotency_keys WHERE caller = ?1 AND key = ?2")?
        .query_row(params![caller, key], |r| {
            Ok(KeyRow {
                body_hash: r.get(0)?,
                status: r.get(1)?,
                headers: r.get(2)?,
                body: r.get(3)?,
                created_at: r.get(4)?,
            })
        })
        .optional()?)
}

/// Marks `(caller, key)` in flight for a request with `body_hash`, replacing any older record.
pub fn begin(
    conn: &Connection,
    caller: &str,
    key: &str,
    body_hash: &[u8],
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO idempotency_keys (caller, key, body_hash, status, headers, body, created_at)
         VALUES (?1, ?2, ?3, NULL, NULL, NULL, ?4)",
    )?
    .execute(params![caller, key, body_hash, now])?;
    Ok(())
}

/// Stores the finished response of the request in flight.
pub fn finish(
    conn: &Connection,
    caller: &str,
    key: &str,
    status: u16,
    headers: &str,
    body: &[u8],
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE idempotency_keys SET status = ?3, headers = ?4, body = ?5 WHERE caller = ?1 AND key = ?2")?
        .execute(params![caller, key, status, headers, body])?;
    Ok(())
}

/// Forgets a key (its request ended in a transient failure, so a retry should run again).
pub fn forget(conn: &Connection, caller: &str, key: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM idempotency_keys WHERE caller = ?1 AND key = ?2")?
        .execute(params![caller, key])?;
    Ok(())
}

/// Deletes records created before `before`.
pub fn delete_before(conn: &Connection, before: Timestamp) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM idempotency_keys WHERE created_at < ?1")?
        .execute([before])?)
}
