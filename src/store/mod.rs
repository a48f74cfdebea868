//! The SQLite store, the only code with SQL: the engine (`engine`: the file, its connections,
//! transactions, migrations and backups) and one module per table or group of tables, each a
//! set of functions that take the connection or transaction they run in.

pub mod engine;

pub mod audit;
pub mod clients;
pub mod codes;
pub mod daily;
pub mod idempotency;
pub mod imports;
pub mod mfa;
pub mod oauth;
pub mod outbox;
pub mod passkeys;
pub mod pats;
pub mod reports;
pub mod request_log;
pub mod rotations;
pub mod sessions;
pub mod users;

pub use engine::{
    Checkpoints, Conn, Db, Durability, Fault, OUTSIDE_COMMIT_LAG, StoreError, Tx, WRITE_WAIT,
};

#[cfg(test)]
pub(crate) mod fixture {
    //! A fresh database in a temporary directory, for the store tests.
    use super::*;

    pub struct Fixture {
        pub db: Db,
        _dir: tempfile::TempDir,
    }

    /// A fresh database holding one unconfirmed user, `u1` (handle `a`, email `a@x.io`).
    pub fn with_user() -> Fixture {
        let f = open();
        f.db.write(|tx| crate::store::users::insert(tx, &user_u1()))
            .unwrap();
        f
    }

    /// The user `u1` of [`with_user`].
    pub fn user_u1() -> crate::store::users::NewUser<'static> {
        crate::store::users::NewUser {
            id: "u1",
            handle: "a",
            email: "a@x.io",
            display_name: None,
            password_hash: None,
            invited: false,
            pending_until: 0,
            now: 0,
        }
    }

    pub fn open() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), Durability::Normal).unwrap();
        Fixture { db, _dir: dir }
    }

    /// Runs `during` while another thread holds the writer in an open transaction.
    pub fn while_writer_held<T: Send>(db: &Db, during: impl FnOnce() -> T + Send) -> T {
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (free_tx, free_rx) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|s| {
            s.spawn(move || {
                db.write(|_| {
                    held_tx.send(()).unwrap();
                    free_rx.recv().unwrap();
                    Ok::<_, StoreError>(())
                })
                .unwrap()
            });
            held_rx.recv().unwrap();
            let out = during();
            free_tx.send(()).unwrap();
            out
        })
    }
}
