//! Every statement on `imports`: a CSV file an admin uploaded on `/admin/import`, kept from its
//! preview to its apply, with the apply's progress and outcome. An apply is claimed by a
//! compare-and-set on the state, so two clicks (or two admins) apply a file once.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::core::clock::Timestamp;

/// An upload as stored.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub id: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub file_name: String,
    /// The file; emptied once applied.
    pub body: String,
    pub total: i64,
    /// `previewed`, `applying` or `applied`.
    pub state: String,
    pub done: i64,
    pub created: i64,
    pub existed: i64,
    pub invalid: i64,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "id, created_by, created_at, file_name, body, total, state, done, created, existed, invalid, updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ImportRow> {
    Ok(ImportRow {
        id: r.get(0)?,
        created_by: r.get(1)?,
        created_at: r.get(2)?,
        file_name: r.get(3)?,
        body: r.get(4)?,
        total: r.get(5)?,
        state: r.get(6)?,
        done: r.get(7)?,
        created: r.get(8)?,
        existed: r.get(9)?,
        invalid: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

/// A new upload, previewed.
pub struct NewImport<'a> {
    pub id: &'a str,
    pub created_by: &'a str,
    pub file_name: &'a str,
    pub body: &'a str,
    pub total: i64,
    pub now: Timestamp,
}

pub fn insert(conn: &Connection, i: &NewImport<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO imports (id, created_by, created_at, file_name, body, total, state, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'previewed', ?3)",
    )?
    .execute(params![i.id, i.created_by, i.now, i.file_name, i.body, i.total])?;
    Ok(())
}

pub fn find(conn: &Connection, id: &str) -> Result<Option<ImportRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM imports WHERE id = ?1"))?
        .query_row(params![id], from_row)
        .optional()?)
}

/// Claims the upload for applying: true when it was previewed, or its apply stopped moving
/// before `stale_before` (the server died during it). False when another apply holds it or it
/// is applied.
pub fn claim(
    conn: &Connection,
    id: &str,
    stale_before: Timestamp,
    now: Timestamp,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE imports SET state = 'applying', done = 0, updated_at = ?3
              WHERE id = ?1 AND (state = 'previewed' OR (state = 'applying' AND updated_at < ?2))",
        )?
        .execute(params![id, stale_before, now])?
        == 1)
}

/// How many rows the apply has done.
pub fn progress(conn: &Connection, id: &str, done: i64, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE imports SET done = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, done, now])?;
    Ok(())
}

/// The apply's outcome; the file itself is dropped.
pub fn finish(
    conn: &Connection,
    id: &str,
    counts: [i64; 3],
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE imports SET state = 'applied', body = '', done = total, created = ?2, existed = ?3,
                invalid = ?4, updated_at = ?5 WHERE id = ?1",
    )?
    .execute(params![id, counts[0], counts[1], counts[2], now])?;
    Ok(())
}

/// Drops uploads untouched since `before`.
pub fn sweep(conn: &Connection, before: Timestamp) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM imports WHERE updated_at < ?1")?
        .execute(params![before])?)
}
