//! Schema versions. A new file gets `schema.sql` whole and `user_version = SCHEMA_VERSION`; an
//! older file climbs the numbered steps of `STEPS`, one transaction each. A file from a newer
//! release is refused rather than misread.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

pub const SCHEMA: &str = include_str!("../../../schema.sql");

/// The version `schema.sql` describes.
pub const SCHEMA_VERSION: i64 = 12;

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
    // Rotation records move onto the session row, which a rotation updates anyway: a second
    // B-tree written and pruned on every rotation cost a third of refresh throughput. Records
    // carried over keep their exact times; a run of generations rotated out in the same second
    // becomes one entry, as a rotation would have written it (one entry per generation could
    // pass the row's cap of 128 and lose records still inside the interval).
    (
        4,
        "ALTER TABLE sessions ADD COLUMN rotations TEXT NOT NULL DEFAULT '';
         UPDATE sessions SET rotations = coalesce(
           (SELECT group_concat(rotated_at || ':' || generation, ' ' ORDER BY generation)
              FROM (SELECT generation, rotated_at,
                           lag(rotated_at) OVER (ORDER BY generation) AS before
                      FROM session_rotations WHERE session_id = sessions.id)
             WHERE before IS NULL OR before != rotated_at), '');
         DROP TABLE session_rotations;",
    ),
    // SMTP delivery (issue 15): a state per message, a retry schedule, the code sealed rather than
    // rendered. Rows of version 4 keep their rendered text (kind `stored`); those still unsent
    // stay pending, due at once, until the default invitation lifetime (72 h) after they were
    // queued (their code's own expiry is not on the row): older ones are dropped, not sent.
    (
        5,
        "ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'stored' CHECK (kind IN ('stored', 'signup', 'invitation', 'resend', 'reset'));
         ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'expired'));
         ALTER TABLE outbox ADD COLUMN user_id TEXT REFERENCES users(id) ON DELETE CASCADE;
         ALTER TABLE outbox ADD COLUMN handle TEXT NOT NULL DEFAULT '';
         ALTER TABLE outbox ADD COLUMN inviter TEXT;
         ALTER TABLE outbox ADD COLUMN sealed_code BLOB;
         ALTER TABLE outbox ADD COLUMN ready_at INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE outbox ADD COLUMN next_at INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE outbox ADD COLUMN expires_at INTEGER;
         UPDATE outbox SET state = 'sent' WHERE sent_at IS NOT NULL;
         UPDATE outbox SET ready_at = created_at, next_at = created_at;
         UPDATE outbox SET expires_at = created_at + 259200 WHERE state = 'pending';
         DROP INDEX outbox_unsent;
         CREATE INDEX outbox_due ON outbox(next_at) WHERE state = 'pending';
         CREATE INDEX outbox_by_user ON outbox(user_id, id);
         CREATE INDEX outbox_by_addr ON outbox(to_addr, created_at);",
    ),
    // Second factors (issue 17): TOTP, recovery codes, the challenges of the second step, and
    // how each session's sign-in was made (`amr`). Sessions of version 5 were password sign-ins.
    (
        6,
        "ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
         ALTER TABLE oauth_codes ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
         ALTER TABLE oauth_requests ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
         CREATE TABLE totp (
             user_id       TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
             sealed_secret BLOB NOT NULL,
             active        INTEGER NOT NULL DEFAULT 0,
             created_at    INTEGER NOT NULL,
             last_step     INTEGER NOT NULL DEFAULT 0
         ) WITHOUT ROWID;
         CREATE TABLE recovery_codes (
             user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
             code_mac   BLOB NOT NULL,
             created_at INTEGER NOT NULL,
             used_at    INTEGER,
             PRIMARY KEY (user_id, code_mac)
         ) WITHOUT ROWID;
         CREATE TABLE mfa_challenges (
             token_hash BLOB PRIMARY KEY,
             user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
             user_agent TEXT,
             created_at INTEGER NOT NULL,
             expires_at INTEGER NOT NULL,
             failures   INTEGER NOT NULL DEFAULT 0,
             ended_at   INTEGER
         ) WITHOUT ROWID;",
    ),
    // Passkeys (issue 17): the user handles, the credentials, and the ceremonies in flight.
    (
        7,
        "CREATE TABLE passkey_users (
             user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
             handle  BLOB NOT NULL UNIQUE
         ) WITHOUT ROWID;
         CREATE TABLE passkeys (
             id            TEXT PRIMARY KEY,
             user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
             credential_id BLOB NOT NULL UNIQUE,
             public_key    BLOB NOT NULL,
             state         BLOB NOT NULL,
             transports    INTEGER NOT NULL,
             synced        INTEGER NOT NULL,
             name          TEXT NOT NULL,
             created_at    INTEGER NOT NULL,
             last_used_at  INTEGER
         ) WITHOUT ROWID;
         CREATE INDEX passkeys_by_user ON passkeys(user_id, created_at);
         CREATE TABLE passkey_challenges (
             id_hash    BLOB PRIMARY KEY,
             ceremony   TEXT NOT NULL CHECK (ceremony IN ('register', 'discoverable', 'listed')),
             user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
             state      BLOB NOT NULL,
             expires_at INTEGER NOT NULL
         ) WITHOUT ROWID;
         CREATE INDEX passkey_challenges_by_expiry ON passkey_challenges(expires_at);",
    ),
    // OpenID Connect (issue 18): the nonce and the sign-in time of an authorization, through
    // its code into the session (an id_token's `nonce` and `auth_time`).
    (
        8,
        "ALTER TABLE sessions ADD COLUMN auth_time INTEGER;
         ALTER TABLE oauth_requests ADD COLUMN nonce TEXT;
         ALTER TABLE oauth_requests ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE oauth_codes ADD COLUMN nonce TEXT;
         ALTER TABLE oauth_codes ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0;",
    ),
    // Resource indicators (issue 18): the resources an authorization names, kept with its code
    // and its session, so that a token (or a refresh) names only those.
    (
        9,
        "ALTER TABLE sessions ADD COLUMN resources TEXT NOT NULL DEFAULT '';
         ALTER TABLE oauth_requests ADD COLUMN resources TEXT NOT NULL DEFAULT '';
         ALTER TABLE oauth_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '';",
    ),
    // Team administration (issue 19): a role per user and free groups, kept on the user row so
    // that issuing a token reads no second table.
    (
        10,
        "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin'));
         ALTER TABLE users ADD COLUMN groups TEXT NOT NULL DEFAULT '';",
    ),
    // The audit log (issue 19).
    (
        11,
        "CREATE TABLE audit_log (
             id            INTEGER PRIMARY KEY,
             at            INTEGER NOT NULL,
             event         TEXT NOT NULL,
             actor_type    TEXT NOT NULL CHECK (actor_type IN ('user', 'operator', 'anonymous')),
             actor_id      TEXT,
             actor_handle  TEXT,
             target_type   TEXT,
             target_id     TEXT,
             target_handle TEXT,
             ip            TEXT,
             request_id    TEXT,
             details       TEXT NOT NULL DEFAULT '{}'
         );
         CREATE INDEX audit_by_time ON audit_log(at);
         CREATE INDEX audit_by_target ON audit_log(target_id, at);
         CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
         BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    ),
    // The browser import of /admin (issue 19): an upload kept from its preview to its apply.
    (
        12,
        "CREATE TABLE imports (
             id          TEXT PRIMARY KEY,
             created_by  TEXT NOT NULL,
             created_at  INTEGER NOT NULL,
             file_name   TEXT NOT NULL,
             body        TEXT NOT NULL,
             total       INTEGER NOT NULL,
             state       TEXT NOT NULL CHECK (state IN ('previewed', 'applying', 'applied')),
             done        INTEGER NOT NULL DEFAULT 0,
             created     INTEGER NOT NULL DEFAULT 0,
             existed     INTEGER NOT NULL DEFAULT 0,
             invalid     INTEGER NOT NULL DEFAULT 0,
             updated_at  INTEGER NOT NULL
         );",
    ),
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

    /// Names and types of `table`'s columns, in order.
    fn columns(c: &Connection, table: &str) -> Vec<(String, String)> {
        let mut stmt = c
            .prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap();
        stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn objects(c: &Connection) -> Vec<String> {
        let mut stmt = c
            .prepare("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_version_1_file_climbs_to_the_current_version() {
        // Version 1 and 3 files differ by an index that step 2 adds and step 3 drops.
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(include_str!("../../../tests/fixtures/schema-v3.sql"))
            .unwrap();
        c.execute_batch("PRAGMA user_version = 1;").unwrap();
        crate::store::users::insert(&c, &crate::store::fixture::user_u1()).unwrap();
        // Sessions as version 1 wrote them (no columns of later versions).
        c.execute_batch(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at)
               VALUES ('s1', 'u1', 90, 90, 1000), ('s2', 'u1', 90, 90, 1000);",
        )
        .unwrap();
        c.execute_batch(
            "UPDATE sessions SET generation = 8 WHERE id = 's1';
             INSERT INTO session_rotations
               VALUES ('s1', 4, 100), ('s1', 3, 100), ('s1', 5, 103), ('s1', 6, 103), ('s1', 7, 102);",
        )
        .unwrap();
        apply(&mut c).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let mut fresh = Connection::open_in_memory().unwrap();
        apply(&mut fresh).unwrap();
        assert_eq!(
            objects(&c),
            objects(&fresh),
            "climbed to what schema.sql makes"
        );
        assert_eq!(columns(&c, "sessions"), columns(&fresh, "sessions"));
        let s1 = crate::store::sessions::find(&c, "s1").unwrap().unwrap();
        // Runs of one second merge; a second out of order (a clock read early) stays exact.
        assert_eq!(s1.rotations.to_text(), "100:3 103:5 102:7");
        let times: Vec<_> = (2..8).map(|g| s1.rotations.rotated_at(g)).collect();
        assert_eq!(
            times,
            [None, Some(100), Some(100), Some(103), Some(103), Some(102)]
        );
        let s2 = crate::store::sessions::find(&c, "s2").unwrap().unwrap();
        assert_eq!(s2.rotations.to_text(), "", "no records, none made up");
    }

    #[test]
    fn a_version_4_outbox_keeps_its_messages_and_delivers_the_unsent_ones() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(include_str!("../../../tests/fixtures/schema-v4.sql"))
            .unwrap();
        c.execute_batch(
            "PRAGMA user_version = 4;
             INSERT INTO outbox (message_id, to_addr, subject, body, created_at)
               VALUES ('m1', 'a@x.io', 'Your code', 'code 123456', 50);
             INSERT INTO outbox (message_id, to_addr, subject, body, created_at, sent_at, attempts)
               VALUES ('m2', 'b@x.io', 'Your code', '', 40, 41, 1);",
        )
        .unwrap();
        apply(&mut c).unwrap();
        let mut fresh = Connection::open_in_memory().unwrap();
        apply(&mut fresh).unwrap();
        assert_eq!(objects(&c), objects(&fresh));
        let names = |c: &Connection| -> Vec<String> {
            columns(c, "outbox").into_iter().map(|(n, _)| n).collect()
        };
        assert_eq!(
            names(&c),
            names(&fresh),
            "the same columns in the same order"
        );
        let due = crate::store::outbox::due(&c, 60, 10).unwrap();
        assert_eq!(due.len(), 1, "the unsent one is due");
        assert_eq!(due[0].kind, crate::store::outbox::Kind::Stored);
        assert_eq!(due[0].body, "code 123456");
        assert_eq!(
            (due[0].ready_at, due[0].expires_at),
            (50, Some(50 + 259_200))
        );
        let sent =
            crate::store::outbox::list(&c, Some(crate::store::outbox::State::Sent), 10).unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].message_id, "m2");
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
