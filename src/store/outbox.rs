//! Every statement on `outbox`: queueing a message in the caller's transaction, the courier's
//! due rows and the outcome of each attempt (each touches only the row it handles), and the
//! operator's listing and retry.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::core::clock::Timestamp;

/// What a message says, which decides its subject and body (`stored`: rendered by an older
/// release, delivered as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stored,
    Signup,
    Invitation,
    Resend,
    Reset,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Stored => "stored",
            Kind::Signup => "signup",
            Kind::Invitation => "invitation",
            Kind::Resend => "resend",
            Kind::Reset => "reset",
        }
    }

    fn parse(s: &str) -> Kind {
        match s {
            "signup" => Kind::Signup,
            "invitation" => Kind::Invitation,
            "resend" => Kind::Resend,
            "reset" => Kind::Reset,
            _ => Kind::Stored,
        }
    }
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Sent,
    Failed,
    Expired,
}

impl State {
    pub const ALL: [State; 4] = [State::Pending, State::Sent, State::Failed, State::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sent => "sent",
            State::Failed => "failed",
            State::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// A queued message as stored.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub message_id: String,
    pub to_addr: String,
    pub kind: Kind,
    pub state: State,
    pub handle: String,
    pub inviter: Option<String>,
    /// The code, sealed (`token::seal`) with the message id as context.
    pub sealed_code: Option<Vec<u8>>,
    /// Rows of kind `stored` only.
    pub subject: String,
    pub body: String,
    pub created_at: Timestamp,
    pub ready_at: Timestamp,
    pub next_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, message_id, to_addr, kind, state, handle, inviter, sealed_code, subject, body, created_at, ready_at, next_at, expires_at, attempts, last_error, sent_at";

impl OutboxRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<OutboxRow> {
        Ok(OutboxRow {
            id: row.get(0)?,
            message_id: row.get(1)?,
            to_addr: row.get(2)?,
            kind: Kind::parse(row.get_ref(3)?.as_str().unwrap_or("")),
            state: State::parse(row.get_ref(4)?.as_str().unwrap_or("")).unwrap_or(State::Pending),
            handle: row.get(5)?,
            inviter: row.get(6)?,
            sealed_code: row.get(7)?,
            subject: row.get(8)?,
            body: row.get(9)?,
            created_at: row.get(10)?,
            ready_at: row.get(11)?,
            next_at: row.get(12)?,
            expires_at: row.get(13)?,
            attempts: row.get(14)?,
            last_error: row.get(15)?,
            sent_at: row.get(16)?,
        })
    }
}

/// A message to queue.
pub struct NewMessage<'a> {
    pub message_id: &'a str,
    pub to: &'a str,
    pub kind: Kind,
    pub user_id: &'a str,
    pub handle: &'a str,
    pub inviter: Option<&'a str>,
    pub sealed_code: &'a [u8],
    /// When it may first be sent (now, or a `--send-after` time).
    pub ready_at: Timestamp,
    pub expires_at: Timestamp,
    pub now: Timestamp,
}

/// Queues a message in the caller's transaction.
pub fn insert(conn: &Connection, m: &NewMessage<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO outbox (message_id, to_addr, subject, body, kind, user_id, handle, inviter, sealed_code, created_at, ready_at, next_at, expires_at)
         VALUES (?1, ?2, '', '', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)",
    )?
    .execute(params![
        m.message_id,
        m.to,
        m.kind.as_str(),
        m.user_id,
        m.handle,
        m.inviter,
        m.sealed_code,
        m.now,
        m.ready_at,
        m.expires_at
    ])?;
    Ok(())
}

/// Pending messages due at `now`, soonest first.
pub fn due(conn: &Connection, now: Timestamp, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at, id LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![now, limit], OutboxRow::from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// When the next pending message is due, if any is.
pub fn next_due(conn: &Connection) -> Result<Option<Timestamp>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT min(next_at) FROM outbox WHERE state = 'pending'")?
        .query_row([], |r| r.get(0))?)
}

/// Marks a message delivered and forgets its code. `reply` is the relay's answer.
pub fn mark_sent(
    conn: &Connection,
    id: i64,
    reply: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'sent', sent_at = ?2, sealed_code = NULL, body = '', attempts = attempts + 1, last_error = ?3
         WHERE id = ?1",
    )?
    .execute(params![id, now, reply])?;
    Ok(())
}

/// Records a transient failure; the message is tried again at `next_at`.
pub fn mark_retry(
    conn: &Connection,
    id: i64,
    error: &str,
    next_at: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_at = ?3 WHERE id = ?1",
    )?
    .execute(params![id, error, next_at])?;
    Ok(())
}

/// Records a permanent failure. The code stays sealed until it expires, for `mail retry`.
pub fn mark_failed(conn: &Connection, id: i64, error: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
    )?
    .execute(params![id, error])?;
    Ok(())
}

/// Drops a message whose code expired before it could be delivered.
pub fn mark_expired(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'expired', sealed_code = NULL, body = '' WHERE id = ?1",
    )?
    .execute([id])?;
    Ok(())
}

/// Forgets the codes of failed messages that expired (nothing can send them any more).
pub fn forget_expired_codes(conn: &Connection, now: Timestamp) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE outbox SET sealed_code = NULL, body = ''
             WHERE state = 'failed' AND expires_at <= ?1 AND (sealed_code IS NOT NULL OR body != '')",
        )?
        .execute([now])?)
}

/// Messages, newest first, of one state or all.
pub fn list(
    conn: &Connection,
    state: Option<State>,
    limit: u32,
) -> Result<Vec<OutboxRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox WHERE ?1 IS NULL OR state = ?1 ORDER BY id DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![state.map(State::as_str), limit],
        OutboxRow::from_row,
    )?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// One message.
pub fn find(conn: &Connection, id: i64) -> Result<Option<OutboxRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], OutboxRow::from_row)
        .optional()?)
}

/// Ids of every failed message, oldest first.
pub fn failed_ids(conn: &Connection) -> Result<Vec<i64>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM outbox WHERE state = 'failed' ORDER BY id")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Queues a failed message again, due at `now`, with a fresh retry schedule.
pub fn requeue(conn: &Connection, id: i64, now: Timestamp) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE outbox SET state = 'pending', next_at = ?2, attempts = 0 WHERE id = ?1 AND state = 'failed'",
        )?
        .execute(params![id, now])?
        == 1)
}

/// How many messages are in each state.
pub fn count_by_state(conn: &Connection) -> Result<Vec<(State, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            State::parse(r.get_ref(0)?.as_str().unwrap_or("")),
            r.get::<_, i64>(1)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        if let (Some(state), n) = row? {
            out.push((state, n));
        }
    }
    Ok(out)
}

/// The number of pending messages and when the oldest was ready.
pub fn pending_summary(conn: &Connection) -> Result<(i64, Option<Timestamp>), StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*), min(ready_at) FROM outbox WHERE state = 'pending'")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// The newest confirmation message of each user (signup, invitation or resend), by user id.
pub fn latest_confirmations(conn: &Connection) -> Result<Vec<(String, State)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, state FROM outbox
         WHERE id IN (SELECT max(id) FROM outbox WHERE user_id IS NOT NULL AND kind IN ('signup', 'invitation', 'resend') GROUP BY user_id)",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            State::parse(r.get_ref(1)?.as_str().unwrap_or("")).unwrap_or(State::Pending),
        ))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Whether a resend was queued for `to` since `since`.
pub fn resent_since(conn: &Connection, to: &str, since: Timestamp) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE to_addr = ?1 AND created_at >= ?2 AND kind = 'resend')",
        )?
        .query_row(params![to, since], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture;

    fn queue(f: &fixture::Fixture, mid: &str, ready_at: Timestamp) {
        f.db.write(|tx| {
            crate::store::users::insert(tx, &fixture::user_u1()).or(Ok::<_, StoreError>(()))?;
            insert(
                tx,
                &NewMessage {
                    message_id: mid,
                    to: "a@x.io",
                    kind: Kind::Invitation,
                    user_id: "u1",
                    handle: "ana",
                    inviter: None,
                    sealed_code: b"sealed",
                    ready_at,
                    expires_at: ready_at + 100,
                    now: 5,
                },
            )
        })
        .unwrap();
    }

    #[test]
    fn a_message_moves_through_its_states_and_forgets_its_code() {
        let f = fixture::open();
        queue(&f, "m1", 5);
        queue(&f, "m2", 50);
        let due_now = f.db.read(|c| due(c, 10, 10)).unwrap();
        assert_eq!(due_now.len(), 1, "m2 is held until 50");
        let id = due_now[0].id;
        f.db.write(|tx| mark_retry(tx, id, "451 try later", 15))
            .unwrap();
        assert!(f.db.read(|c| due(c, 14, 10)).unwrap().is_empty());
        assert_eq!(f.db.read(next_due).unwrap(), Some(15));
        f.db.write(|tx| mark_failed(tx, id, "550 no such user"))
            .unwrap();
        assert_eq!(f.db.read(failed_ids).unwrap(), vec![id]);
        assert!(f.db.write(|tx| requeue(tx, id, 20)).unwrap());
        assert!(
            !f.db.write(|tx| requeue(tx, id, 20)).unwrap(),
            "only failed ones"
        );
        f.db.write(|tx| mark_sent(tx, id, Some("250 ok"), 21))
            .unwrap();
        let row = f.db.read(|c| find(c, id)).unwrap().unwrap();
        assert_eq!(row.state, State::Sent);
        assert_eq!(row.attempts, 1, "the retry started a fresh schedule");
        assert!(row.sealed_code.is_none());
        let counts = f.db.read(count_by_state).unwrap();
        assert!(counts.contains(&(State::Sent, 1)) && counts.contains(&(State::Pending, 1)));
        assert_eq!(f.db.read(pending_summary).unwrap(), (1, Some(50)));
    }
}
