//! Every statement on `request_log`.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::core::clock::Timestamp;

/// What the server saw of one request: no bodies, no secrets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub request_id: String,
    pub at: Timestamp,
    pub method: String,
    pub route: String,
    pub status: u16,
    pub error_code: Option<String>,
    pub latency_ms: f64,
    pub user_id: Option<String>,
    pub ip: String,
}

impl RequestRecord {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RequestRecord> {
        Ok(RequestRecord {
            request_id: row.get("request_id")?,
            at: row.get("at")?,
            method: row.get("method")?,
            route: row.get("route")?,
            status: row.get("status")?,
            error_code: row.get("error_code")?,
            latency_ms: row.get("latency_ms")?,
            user_id: row.get("user_id")?,
            ip: row.get("ip")?,
        })
    }
}

/// Appends records (one batch, in the caller's transaction).
pub fn insert_all(conn: &Connection, records: &[RequestRecord]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO request_log (request_id, at, method, route, status, error_code, latency_ms, user_id, ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for r in records {
        stmt.execute(params![
            r.request_id,
            r.at,
            r.method,
            r.route,
            r.status,
            r.error_code,
            r.latency_ms,
            r.user_id,
            r.ip
        ])?;
    }
    Ok(())
}

/// The newest record with this request ID (clients may reuse their own IDs).
pub fn find(conn: &Connection, request_id: &str) -> Result<Option<RequestRecord>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT request_id, at, method, route, status, error_code, latency_ms, user_id, ip
               FROM request_log WHERE request_id = ?1 ORDER BY at DESC, rowid DESC LIMIT 1",
        )?
        .query_row([request_id], RequestRecord::from_row)
        .optional()?)
}

/// The user's most recent records, newest first.
pub fn recent_for_user(
    conn: &Connection,
    user_id: &str,
    limit: u32,
) -> Result<Vec<RequestRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT request_id, at, method, route, status, error_code, latency_ms, user_id, ip
           FROM request_log WHERE user_id = ?1 ORDER BY at DESC, rowid DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![user_id, limit], RequestRecord::from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Keeps only the newest `max` records.
pub fn cap(conn: &Connection, max: u32) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM request_log WHERE rowid <= (SELECT rowid FROM request_log ORDER BY rowid DESC LIMIT 1 OFFSET ?1)")?
        .execute([max])?)
}

/// Deletes records older than `before`.
pub fn delete_before(conn: &Connection, before: Timestamp) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM request_log WHERE at < ?1")?
        .execute([before])?)
}
