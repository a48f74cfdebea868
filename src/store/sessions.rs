//! Every statement on `sessions` and `session_rotations`.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::clock::Timestamp;

/// Why a session ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Logout,
    Reuse,
    PasswordReset,
    Disabled,
    /// An authorization code was used twice; the grant issued from it is revoked.
    CodeReuse,
    /// Revoked through `/oauth/revoke`.
    Revoked,
}

impl RevokeReason {
    fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Logout => "logout",
            RevokeReason::Reuse => "reuse",
            RevokeReason::PasswordReset => "password_reset",
            RevokeReason::Disabled => "disabled",
            RevokeReason::CodeReuse => "code_reuse",
            RevokeReason::Revoked => "revoked",
        }
    }

    fn parse(text: &str) -> RevokeReason {
        match text {
            "reuse" => RevokeReason::Reuse,
            "password_reset" => RevokeReason::PasswordReset,
            "disabled" => RevokeReason::Disabled,
            "code_reuse" => RevokeReason::CodeReuse,
            "revoked" => RevokeReason::Revoked,
            _ => RevokeReason::Logout,
        }
    }
}

/// A session as stored.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub generation: i64,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked: Option<(Timestamp, RevokeReason)>,
    pub reused_generation: Option<i64>,
    /// The OAuth client of the grant; `None` for a first-party login.
    pub client_id: Option<String>,
    /// The grant's scopes; `None` for a first-party login (every scope).
    pub scope: Option<String>,
}

impl SessionRow {
    /// A row of [`find`]'s `SELECT`, by column position (a name lookup per column was a
    /// measurable share of every authenticated request).
    fn from_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
        let revoked_at: Option<Timestamp> = row.get(6)?;
        let reason = row.get_ref(7)?.as_str().unwrap_or("");
        Ok(SessionRow {
            id: row.get(0)?,
            user_id: row.get(1)?,
            generation: row.get(2)?,
            created_at: row.get(3)?,
            last_used_at: row.get(4)?,
            expires_at: row.get(5)?,
            revoked: revoked_at.map(|t| (t, RevokeReason::parse(reason))),
            reused_generation: row.get(8)?,
            client_id: row.get(9)?,
            scope: row.get(10)?,
        })
    }
}

/// A session to start.
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub now: Timestamp,
    pub expires_at: Timestamp,
    pub user_agent: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub scope: Option<&'a str>,
}

/// Starts a session at generation 0.
pub fn insert(conn: &Connection, s: &NewSession<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, client_id, scope)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![s.id, s.user_id, s.now, s.expires_at, s.user_agent, s.client_id, s.scope])?;
    Ok(())
}

/// The session with this id.
pub fn find(conn: &Connection, id: &str) -> Result<Option<SessionRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, user_id, generation, created_at, last_used_at, expires_at, revoked_at, revoke_reason, reused_generation,
                    client_id, scope
               FROM sessions WHERE id = ?1",
        )?
        .query_row([id], SessionRow::from_row)
        .optional()?)
}

/// The first rotation record of a session still inside the reuse interval. `CAST` keeps SQLite
/// from tying the plan to the bound session id (an ORDER BY over a bound prefix did), which made
/// the statement be prepared again after every use.
const FIRST_KEPT: &str = "SELECT generation FROM session_rotations
  WHERE session_id = CAST(?1 AS TEXT) AND rotated_at >= ?2 ORDER BY generation LIMIT 1";

/// Moves the session from `from` to `from + 1`, records when `from` was rotated out, and prunes
/// rotation records older than `keep_since`. Returns false if the session was not at `from`.
pub fn rotate(
    conn: &Connection,
    id: &str,
    from: i64,
    now: Timestamp,
    keep_since: Timestamp,
) -> Result<bool, StoreError> {
    let moved = conn
        .prepare_cached(
            "UPDATE sessions SET generation = generation + 1, last_used_at = ?3 WHERE id = ?1 AND generation = ?2 AND revoked_at IS NULL",
        )?
        .execute(params![id, from, now])?;
    if moved == 0 {
        return Ok(false);
    }
    conn.prepare_cached("INSERT OR REPLACE INTO session_rotations (session_id, generation, rotated_at) VALUES (?1, ?2, ?3)")?
        .execute(params![id, from, now])?;
    // Records are kept in generation order and rotated out in time order: the ones to prune are
    // those below the first one still inside the interval, found by walking the key from its
    // start, not by scanning every record the session holds.
    let first_kept: i64 = conn
        .prepare_cached(FIRST_KEPT)?
        .query_row(params![id, keep_since], |r| r.get(0))
        .optional()?
        .unwrap_or(from);
    conn.prepare_cached("DELETE FROM session_rotations WHERE session_id = ?1 AND generation < ?2")?
        .execute(params![id, first_kept])?;
    Ok(true)
}

/// When `generation` of the session was rotated out, if that is still on record.
pub fn rotated_at(
    conn: &Connection,
    id: &str,
    generation: i64,
) -> Result<Option<Timestamp>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT rotated_at FROM session_rotations WHERE session_id = ?1 AND generation = ?2",
        )?
        .query_row(params![id, generation], |r| r.get(0))
        .optional()?)
}

/// Slides the idle lifetime (a refresh answered without a rotation).
pub fn touch(conn: &Connection, id: &str, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE sessions SET last_used_at = max(last_used_at, ?2) WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
}

/// A live session as the account page lists it.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub id: String,
    pub user_agent: Option<String>,
    pub client_id: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub expires_at: Timestamp,
}

/// The user's sessions that are not revoked and not past `idle` nor their absolute end, newest first.
pub fn list_live(
    conn: &Connection,
    user_id: &str,
    now: Timestamp,
    idle: i64,
) -> Result<Vec<LiveSession>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, user_agent, client_id, created_at, last_used_at, expires_at FROM sessions
          WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 AND last_used_at + ?3 > ?2
          ORDER BY created_at DESC, id",
    )?;
    let rows = stmt.query_map(params![user_id, now, idle], |r| {
        Ok(LiveSession {
            id: r.get(0)?,
            user_agent: r.get(1)?,
            client_id: r.get(2)?,
            created_at: r.get(3)?,
            last_used_at: r.get(4)?,
            expires_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Revokes one of the user's live sessions; false when the user has no such live session.
pub fn revoke_own(
    conn: &Connection,
    user_id: &str,
    id: &str,
    reason: RevokeReason,
    now: Timestamp,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("UPDATE sessions SET revoked_at = ?3, revoke_reason = ?4 WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL")?
        .execute(params![id, user_id, now, reason.as_str()])?
        == 1)
}

/// Revokes every live session of the user but `keep`; returns how many.
pub fn revoke_all_but(
    conn: &Connection,
    user_id: &str,
    keep: &str,
    now: Timestamp,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?3, revoke_reason = 'logout' WHERE user_id = ?1 AND id != ?2 AND revoked_at IS NULL",
        )?
        .execute(params![user_id, keep, now])?)
}

/// Revokes the user's grants to one OAuth client; returns how many.
pub fn revoke_for_client(
    conn: &Connection,
    user_id: &str,
    client_id: &str,
    now: Timestamp,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?3, revoke_reason = 'revoked' WHERE user_id = ?1 AND client_id = ?2 AND revoked_at IS NULL",
        )?
        .execute(params![user_id, client_id, now])?)
}

/// Deletes sessions that ended (revoked, or past their absolute lifetime) before `before`, with
/// their rotation records; a token of one then answers `refresh_token_invalid`.
pub fn delete_ended(conn: &Connection, before: Timestamp) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1")?
        .execute([before])?)
}

/// Deletes the rotation records of the sessions last used in `[since, before)`: sessions that
/// went quiet lately keep none past the reuse interval (a rotation prunes only its own
/// session's). Returns how many. The sweep calls it with a window a little longer than its
/// period, so each quiet session is visited about once; a scan of `sessions` finds them.
pub fn prune_quiet_rotations(
    conn: &Connection,
    since: Timestamp,
    before: Timestamp,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM session_rotations WHERE session_id IN
               (SELECT id FROM sessions WHERE last_used_at >= ?1 AND last_used_at < ?2)",
        )?
        .execute(params![since, before])?)
}

/// How many sessions are neither revoked nor past their absolute lifetime.
pub fn count_active(conn: &Connection, now: Timestamp) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > ?1",
        )?
        .query_row([now], |r| r.get(0))?)
}

/// Revokes one live session; `reused` names the token whose reuse caused it.
pub fn revoke(
    conn: &Connection,
    id: &str,
    reason: RevokeReason,
    reused: Option<i64>,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE sessions SET revoked_at = ?2, revoke_reason = ?3, reused_generation = ?4 WHERE id = ?1 AND revoked_at IS NULL",
    )?
    .execute(params![id, now, reason.as_str(), reused])?;
    Ok(())
}

/// Revokes every live session of a user; returns how many.
pub fn revoke_all_for_user(
    conn: &Connection,
    user_id: &str,
    reason: RevokeReason,
    now: Timestamp,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?2, revoke_reason = ?3 WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2",
        )?
        .execute(params![user_id, now, reason.as_str()])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture;

    fn setup() -> fixture::Fixture {
        let f = fixture::with_user();
        f.db.write(|tx| {
            insert(
                tx,
                &NewSession {
                    id: "s1",
                    user_id: "u1",
                    now: 100,
                    expires_at: 1000,
                    user_agent: Some("curl"),
                    client_id: None,
                    scope: None,
                },
            )
        })
        .unwrap();
        f
    }

    #[test]
    fn rotation_moves_once_and_records_time() {
        let f = setup();
        assert!(f.db.write(|tx| rotate(tx, "s1", 0, 110, 100)).unwrap());
        assert!(
            !f.db.write(|tx| rotate(tx, "s1", 0, 111, 101)).unwrap(),
            "a second rotation from 0 is refused"
        );
        let s = f.db.read(|c| find(c, "s1")).unwrap().unwrap();
        assert_eq!((s.generation, s.last_used_at), (1, 110));
        assert_eq!(f.db.read(|c| rotated_at(c, "s1", 0)).unwrap(), Some(110));
        f.db.write(|tx| rotate(tx, "s1", 1, 200, 190)).unwrap();
        assert_eq!(
            f.db.read(|c| rotated_at(c, "s1", 0)).unwrap(),
            None,
            "pruned"
        );
    }

    #[test]
    fn the_sweep_prunes_the_rotations_of_quiet_sessions() {
        let f = setup();
        for (g, at) in [(0, 100), (1, 101), (2, 102)] {
            f.db.write(|tx| rotate(tx, "s1", g, at, 0)).unwrap();
        }
        let left = |f: &crate::store::fixture::Fixture| {
            (0..3)
                .filter(|g| f.db.read(|c| rotated_at(c, "s1", *g)).unwrap().is_some())
                .count()
        };
        assert_eq!(left(&f), 3);
        assert_eq!(
            f.db.write(|tx| prune_quiet_rotations(tx, 0, 102)).unwrap(),
            0,
            "used at 102: not quiet before 102"
        );
        assert_eq!(
            f.db.write(|tx| prune_quiet_rotations(tx, 103, 200))
                .unwrap(),
            0,
            "quiet since before the window: an earlier sweep's"
        );
        assert_eq!(
            f.db.write(|tx| prune_quiet_rotations(tx, 0, 200)).unwrap(),
            3
        );
        assert_eq!(left(&f), 0);
    }

    #[test]
    fn revoke_records_reason_and_stops_rotation() {
        let f = setup();
        f.db.write(|tx| revoke(tx, "s1", RevokeReason::Reuse, Some(0), 120))
            .unwrap();
        let s = f.db.read(|c| find(c, "s1")).unwrap().unwrap();
        assert_eq!(s.revoked, Some((120, RevokeReason::Reuse)));
        assert_eq!(s.reused_generation, Some(0));
        assert!(!f.db.write(|tx| rotate(tx, "s1", 0, 130, 0)).unwrap());
        assert_eq!(
            f.db.write(|tx| revoke_all_for_user(tx, "u1", RevokeReason::Logout, 130))
                .unwrap(),
            0
        );
    }

    #[test]
    fn rotation_prunes_only_records_past_the_interval_without_preparing_again() {
        let f = setup();
        for g in 0..20 {
            assert!(
                f.db.write(|tx| rotate(tx, "s1", g, 110 + g, 100 + g))
                    .unwrap()
            );
        }
        let kept: Vec<i64> = f
            .db
            .read(|c| {
                let mut st = c.prepare("SELECT generation FROM session_rotations WHERE session_id = 's1' ORDER BY generation")?;
                let rows = st.query_map([], |r| r.get(0))?;
                Ok::<_, StoreError>(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .unwrap();
        // The last rotation (from 19 at 129) kept those rotated at or after 119.
        assert_eq!(kept, (9..20).collect::<Vec<_>>());
        let reprepared =
            f.db.write(|tx| {
                let st = tx.prepare_cached(FIRST_KEPT)?;
                Ok::<_, StoreError>(st.get_status(rusqlite::StatementStatus::RePrepare))
            })
            .unwrap();
        assert_eq!(reprepared, 0, "the prune query was prepared again");
    }
}
