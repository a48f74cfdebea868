//! Every statement on `outbox`.

use rusqlite::{Connection, Row, params};

use super::StoreError;
use crate::clock::Timestamp;

/// A message waiting for delivery.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub message_id: String,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub created_at: Timestamp,
}

impl OutboxRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<OutboxRow> {
        Ok(OutboxRow {
            id: row.get("id")?,
            message_id: row.get("message_id")?,
            to_addr: row.get("to_addr")?,
            subject: row.get("subject")?,
            body: row.get("body")?,
            created_at: row.get("created_at")?,
        })
    }
}

/// Queues a message in the caller's transaction.
pub fn insert(
    conn: &Connection,
    message_id: &str,
    to: &str,
    subject: &str,
    body: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO outbox (message_id, to_addr, subject, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![message_id, to, subject, body, now])?;
    Ok(())
}

/// The oldest undelivered messages.
pub fn pending(conn: &Connection, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, message_id, to_addr, subject, body, created_at FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], OutboxRow::from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Whether a message waits that has never been tried (queued by another process, such as
/// `users import`, or by a request whose nudge was missed).
pub fn has_fresh(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE sent_at IS NULL AND attempts = 0)",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Marks a message delivered and blanks its body, which held a code.
pub fn mark_sent(conn: &Connection, id: i64, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE outbox SET sent_at = ?2, body = '', attempts = attempts + 1, last_error = NULL WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
}

/// Records a failed delivery attempt; the message stays queued.
pub fn mark_failed(conn: &Connection, id: i64, error: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
    )?
    .execute(params![id, error])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture;

    #[test]
    fn queue_deliver_and_blank() {
        let f = fixture::open();
        f.db.write(|tx| insert(tx, "m1", "a@x.io", "s", "code 123456", 5))
            .unwrap();
        let p = f.db.read(|c| pending(c, 10)).unwrap();
        assert_eq!(p.len(), 1);
        f.db.write(|tx| mark_failed(tx, p[0].id, "disk full"))
            .unwrap();
        assert_eq!(f.db.read(|c| pending(c, 10)).unwrap().len(), 1);
        f.db.write(|tx| mark_sent(tx, p[0].id, 6)).unwrap();
        assert!(f.db.read(|c| pending(c, 10)).unwrap().is_empty());
        let body: String =
            f.db.read(|c| {
                c.query_row("SELECT body FROM outbox", [], |r| r.get(0))
                    .map_err(StoreError::from)
            })
            .unwrap();
        assert_eq!(body, "");
    }
}
