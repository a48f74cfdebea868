//! Schema versions. A new file gets `schema.sql` whole and `user_version = SCHEMA_VERSION`; an
//! older file climbs the numbered steps of `STEPS`, one transaction each. A file from a newer
//! release is refused rather than misread.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

pub const SCHEMA: &str = include_str!("../../schema.sql");

/// The version `schema.sql` describes.
pub const SCHEMA_VERSION: i64 = 3;

/// `(version reached, SQL)` for each step after version 1, in order; a change to `schema.sql`
/// appends its step here.
const STEPS: &[(i64, &str)] = &[
    (
        2,
        "CREATE INDEX IF NOT EXISTS session_rotations_by_time ON session_rotations (rotated_at);",
    ),
    // The index of step 2 cost every rotation about 15% of refresh throughput; the sweep now
    // finds quiet sessions through `sessions` instead.
    (3, "DROP INDEX IF EXISTS session_rotations_by_time;"),
];

/// Brings the database to [`SCHEMA_VERSION`].
pub fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Broken(format!(
            "the database is at schema version {version}, newer than this gharart-id ({SCHEMA_VERSION})"
        )));
    }
    if version == 0 {
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        if tables > 0 {
            return Err(StoreError::Broken(
                "the file holds tables but is not a gharart-id database".into(),
            ));
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(SCHEMA)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        return Ok(());
    }
    for (reached, sql) in STEPS.iter().filter(|(v, _)| *v > version) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", reached)?;
        tx.commit()?;
        log::info!("database migrated to schema version {reached}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_gets_current_version() {
        let mut c = Connection::open_in_memory().unwrap();
        apply(&mut c).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        apply(&mut c).unwrap();
    }

    #[test]
    fn a_version_1_file_climbs_to_the_current_version() {
        let mut c = Connection::open_in_memory().unwrap();
        apply(&mut c).unwrap();
        c.execute_batch("PRAGMA user_version = 1;").unwrap();
        apply(&mut c).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let objects = |c: &Connection| -> Vec<String> {
            let mut stmt = c
                .prepare(
                    "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let mut fresh = Connection::open_in_memory().unwrap();
        apply(&mut fresh).unwrap();
        assert_eq!(
            objects(&c),
            objects(&fresh),
            "climbed to what schema.sql makes"
        );
    }

    #[test]
    fn foreign_and_newer_files_are_refused() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (x)").unwrap();
        assert!(apply(&mut c).is_err());
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(apply(&mut c).is_err());
    }
}
