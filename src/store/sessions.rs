//! Every statement on `sessions`.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use super::rotations::Rotations;
use crate::core::clock::Timestamp;

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
    /// When the recent generations were rotated out.
    pub rotations: Rotations,
    /// How the sign-in behind the session was made (RFC 8176, space-separated).
    pub amr: String,
    /// When the user signed in (an OAuth session starts later, at the code exchange).
    pub auth_time: Timestamp,
    /// The RFC 8707 resources of its grant, space-separated ('' when none was named).
    pub resources: String,
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
            rotations: Rotations::parse(row.get_ref(11)?.as_str().unwrap_or("")),
            amr: row.get(12)?,
            auth_time: row.get::<_, Option<Timestamp>>(13)?.unwrap_or(row.get(3)?),
            resources: row.get(14)?,
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
    /// How its sign-in was made (RFC 8176, space-separated: `pwd`, `pwd otp mfa`, …).
    pub amr: &'a str,
    /// When the user signed in, if before `now` (an OAuth grant's browser sign-in).
    pub auth_time: Option<Timestamp>,
    /// The RFC 8707 resources of the grant, space-separated.
    pub resources: &'a str,
}

/// Starts a session at generation 0.
pub fn insert(conn: &Connection, s: &NewSession<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, client_id, scope, amr, auth_time, resources)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![s.id, s.user_id, s.now, s.expires_at, s.user_agent, s.client_id, s.scope, s.amr, s.auth_time, s.resources])?;
    Ok(())
}

/// The session with this id.
pub fn find(conn: &Connection, id: &str) -> Result<Option<SessionRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, user_id, generation, created_at, last_used_at, expires_at, revoked_at, revoke_reason, reused_generation,
                    client_id, scope, rotations, amr, auth_time, resources
               FROM sessions WHERE id = ?1",
        )?
        .query_row([id], SessionRow::from_row)
        .optional()?)
}

/// Moves the session `s` (as read in this transaction) to its next generation, records when its
/// current one was rotated out (forgetting records older than `keep_since`), and brings `s` up to
/// date. Returns false, changing nothing, if the session has moved or been revoked meanwhile.
pub fn rotate(
    conn: &Connection,
    s: &mut SessionRow,
    now: Timestamp,
    keep_since: Timestamp,
) -> Result<bool, StoreError> {
    let mut rotations = s.rotations.clone();
    rotations.record(s.generation, now, keep_since);
    let moved = conn
        .prepare_cached(
            "UPDATE sessions SET generation = generation + 1, last_used_at = ?3, rotations = ?4
              WHERE id = ?1 AND generation = ?2 AND revoked_at IS NULL",
        )?
        .execute(params![s.id, s.generation, now, rotations.to_text()])?;
    if moved == 0 {
        return Ok(false);
    }
    s.generation += 1;
    s.last_used_at = now;
    s.rotations = rotations;
    Ok(true)
}

/// Slides the idle lifetime of the session `s` (a refresh answered without a rotation), and
/// brings `s` up to date.
pub fn touch(conn: &Connection, s: &mut SessionRow, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE sessions SET last_used_at = max(last_used_at, ?2) WHERE id = ?1")?
        .execute(params![s.id, now])?;
    s.last_used_at = s.last_used_at.max(now);
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

/// Per user with any session: the newest sign-in and how many sessions are live (as
/// [`list_live`] counts them), for the team table of `/admin`.
pub fn activity(
    conn: &Connection,
    now: Timestamp,
    idle: i64,
) -> Result<Vec<(String, Timestamp, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, MAX(COALESCE(auth_time, created_at)),
                SUM(revoked_at IS NULL AND expires_at > ?1 AND last_used_at + ?2 > ?1)
           FROM sessions GROUP BY user_id",
    )?;
    let rows = stmt.query_map(params![now, idle], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
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

/// Deletes sessions that ended (revoked, or past their absolute lifetime) before `before`; a token
/// of one then answers `refresh_token_invalid`.
pub fn delete_ended(conn: &Connection, before: Timestamp) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1")?
        .execute([before])?)
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
                    amr: "pwd",
                    auth_time: None,
                    resources: "",
                },
            )
        })
        .unwrap();
        f
    }

    fn session(f: &fixture::Fixture) -> SessionRow {
        f.db.read(|c| find(c, "s1")).unwrap().unwrap()
    }

    #[test]
    fn rotation_moves_once_and_records_time() {
        let f = setup();
        let mut s = session(&f);
        assert!(f.db.write(|tx| rotate(tx, &mut s, 110, 100)).unwrap());
        assert_eq!(
            (s.generation, s.last_used_at),
            (1, 110),
            "brought up to date"
        );
        let mut stale = session(&f);
        stale.generation = 0;
        assert!(
            !f.db.write(|tx| rotate(tx, &mut stale, 111, 101)).unwrap(),
            "a second rotation from 0 is refused"
        );
        assert_eq!(stale.generation, 0, "a refused rotation changes nothing");
        let stored = session(&f);
        assert_eq!((stored.generation, stored.last_used_at), (1, 110));
        assert_eq!(stored.rotations.rotated_at(0), Some(110));
        assert_eq!(stored.rotations, s.rotations);
        f.db.write(|tx| rotate(tx, &mut s, 200, 190)).unwrap();
        assert_eq!(session(&f).rotations.rotated_at(0), None, "pruned");
        assert_eq!(session(&f).rotations.rotated_at(1), Some(200));
    }

    #[test]
    fn revoke_records_reason_and_stops_rotation() {
        let f = setup();
        f.db.write(|tx| revoke(tx, "s1", RevokeReason::Reuse, Some(0), 120))
            .unwrap();
        let s = f.db.read(|c| find(c, "s1")).unwrap().unwrap();
        assert_eq!(s.revoked, Some((120, RevokeReason::Reuse)));
        assert_eq!(s.reused_generation, Some(0));
        let mut s = session(&f);
        assert!(!f.db.write(|tx| rotate(tx, &mut s, 130, 0)).unwrap());
        assert_eq!(
            f.db.write(|tx| revoke_all_for_user(tx, "u1", RevokeReason::Logout, 130))
                .unwrap(),
            0
        );
    }
}
