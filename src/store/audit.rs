//! Every statement on `audit_log`: append a row, read rows back with filters, and drop rows past
//! the retention. The table refuses updates (a trigger); rows leave only by [`sweep`].

use rusqlite::{Connection, params};

use super::StoreError;
use crate::core::clock::Timestamp;

/// Who or what a row names: a kind (`user`, `operator`, `anonymous`, `client`, `key`…), and
/// an id and handle when it has them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    pub kind: String,
    pub id: Option<String>,
    pub handle: Option<String>,
}

/// One row.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub at: Timestamp,
    pub event: String,
    pub actor: Party,
    pub target: Option<Party>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    /// A JSON object.
    pub details: String,
}

pub fn insert(conn: &Connection, r: &AuditRow) -> Result<(), StoreError> {
    let target = r.target.clone().unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO audit_log (at, event, actor_type, actor_id, actor_handle, target_type, target_id, target_handle, ip, request_id, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        r.at,
        r.event,
        r.actor.kind,
        r.actor.id,
        r.actor.handle,
        r.target.as_ref().map(|t| t.kind.as_str()),
        target.id,
        target.handle,
        r.ip,
        r.request_id,
        r.details
    ])?;
    Ok(())
}

/// What to read back.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub since: Option<Timestamp>,
    /// Rows whose actor or target is this user id.
    pub user_id: Option<String>,
    pub event: Option<String>,
    pub request_id: Option<String>,
    /// Only the newest this many, newest first (`/admin/audit`); `None`: all, oldest first.
    pub newest: Option<u32>,
}

/// Rows matching `f`, oldest first (or the newest first, as `f.newest` says).
pub fn query(conn: &Connection, f: &Filter) -> Result<Vec<AuditRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, event, actor_type, actor_id, actor_handle, target_type, target_id, target_handle, ip, request_id, details
           FROM audit_log
          WHERE at >= ?1 AND (?2 IS NULL OR actor_id = ?2 OR target_id = ?2) AND (?3 IS NULL OR event = ?3)
            AND (?4 IS NULL OR request_id = ?4)
          ORDER BY CASE WHEN ?5 IS NULL THEN id ELSE -id END
          LIMIT COALESCE(?5, -1)",
    )?;
    let rows = stmt.query_map(
        params![
            f.since.unwrap_or(i64::MIN),
            f.user_id,
            f.event,
            f.request_id,
            f.newest
        ],
        |r| {
            let target_kind: Option<String> = r.get(5)?;
            Ok(AuditRow {
                at: r.get(0)?,
                event: r.get(1)?,
                actor: Party {
                    kind: r.get(2)?,
                    id: r.get(3)?,
                    handle: r.get(4)?,
                },
                target: match target_kind {
                    Some(kind) => Some(Party {
                        kind,
                        id: r.get(6)?,
                        handle: r.get(7)?,
                    }),
                    None => None,
                },
                ip: r.get(8)?,
                request_id: r.get(9)?,
                details: r.get(10)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Drops rows older than `before` (the retention, `--audit-days`).
pub fn sweep(conn: &Connection, before: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM audit_log WHERE at < ?1")?
        .execute([before])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture;

    #[test]
    fn rows_are_appended_read_back_and_never_updated() {
        let f = fixture::with_user();
        let row = AuditRow {
            at: 10,
            event: "role_changed".into(),
            actor: Party {
                kind: "operator".into(),
                ..Party::default()
            },
            target: Some(Party {
                kind: "user".into(),
                id: Some("u1".into()),
                handle: Some("ana".into()),
            }),
            ip: None,
            request_id: None,
            details: "{\"role\":\"admin\"}".into(),
        };
        f.db.write(|tx| insert(tx, &row)).unwrap();
        let read =
            f.db.read(|c| {
                query(
                    c,
                    &Filter {
                        user_id: Some("u1".into()),
                        ..Filter::default()
                    },
                )
            })
            .unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].target, row.target);
        let updated = f.db.write(|tx| {
            tx.execute("UPDATE audit_log SET event = 'x'", [])
                .map_err(StoreError::from)
        });
        assert!(updated.is_err(), "append-only");
        f.db.write(|tx| sweep(tx, 11)).unwrap();
        assert!(
            f.db.read(|c| query(c, &Filter::default()))
                .unwrap()
                .is_empty()
        );
    }
}
