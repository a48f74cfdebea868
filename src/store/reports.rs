//! Every statement on `support_reports`.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::core::clock::Timestamp;

/// A support report as stored.
#[derive(Debug, Clone)]
pub struct ReportRow {
    pub id: String,
    pub received_at: Timestamp,
    pub summary: String,
    pub details: String,
    pub handle: Option<String>,
    pub session_id: Option<String>,
    pub request_id: Option<String>,
    pub repro_artifact: Option<String>,
    pub reporter_id: Option<String>,
    pub ip: String,
    /// JSON of the request record named by `request_id`, when the server had one.
    pub request_record: Option<String>,
}

const COLUMNS: &str = "id, received_at, summary, details, handle, session_id, request_id, repro_artifact, reporter_id, ip, request_record";

impl ReportRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<ReportRow> {
        Ok(ReportRow {
            id: row.get("id")?,
            received_at: row.get("received_at")?,
            summary: row.get("summary")?,
            details: row.get("details")?,
            handle: row.get("handle")?,
            session_id: row.get("session_id")?,
            request_id: row.get("request_id")?,
            repro_artifact: row.get("repro_artifact")?,
            reporter_id: row.get("reporter_id")?,
            ip: row.get("ip")?,
            request_record: row.get("request_record")?,
        })
    }
}

pub fn insert(conn: &Connection, r: &ReportRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO support_reports (id, received_at, summary, details, handle, session_id, request_id, repro_artifact, reporter_id, ip, request_record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        r.id,
        r.received_at,
        r.summary,
        r.details,
        r.handle,
        r.session_id,
        r.request_id,
        r.repro_artifact,
        r.reporter_id,
        r.ip,
        r.request_record
    ])?;
    Ok(())
}

pub fn find(conn: &Connection, id: &str) -> Result<Option<ReportRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM support_reports WHERE id = ?1"
        ))?
        .query_row([id], ReportRow::from_row)
        .optional()?)
}

/// The newest reports first.
pub fn list_recent(conn: &Connection, limit: u32) -> Result<Vec<ReportRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM support_reports ORDER BY received_at DESC, id LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit], ReportRow::from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
