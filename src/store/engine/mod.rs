//! The store's engine: opening the file with its pragmas, the connection pools (one writer, a
//! few readers, reused across requests), the `read`/`write` helpers, commit combining, group
//! sync, checkpoints, the schema's migrations, the backup copy, and `StoreError`. No table's SQL
//! lives here: that is in the per-table modules of `store`.

pub mod backup;
pub mod migrate;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::{Connection, MAIN_DB, OpenFlags, Transaction, TransactionBehavior};

/// The write transaction a closure of [`Db::write`] runs in, as the table functions take it.
/// The domain names it only to pass it on to them (`store::Tx`), never to run SQL of its own.
pub type Tx<'c> = Transaction<'c>;
/// A connection to read on, for the layers above that may not name rusqlite.
pub type Conn = rusqlite::Connection;

use changes::Changes;
use checkpoints::Checkpointer;
use combine::Combiner;
use group_sync::GroupSync;
use pool::ConnPool;

mod changes;
mod checkpoints;
mod combine;
mod group_sync;
mod pool;

pub use changes::OUTSIDE_COMMIT_LAG;

/// How long a write waits for the writer connection before giving up with `Busy`.
pub const WRITE_WAIT: Duration = Duration::from_secs(10);
const READERS: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What a write promises once acknowledged. `Full`: it survives a power loss (the WAL is synced
/// before any write returns; concurrent writes share a sync, see `group_sync`). `Normal`: SQLite's
/// `synchronous=NORMAL` in WAL mode, which may lose the last writes on power loss (not on a crash
/// of the process) but never corrupts the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Full,
    Normal,
}

/// Who moves the WAL into the database file (`--checkpoints`). Either way no checkpoint takes
/// the WAL away from under a replicator such as Litestream: the server's checkpoints are
/// PASSIVE (they never wait for, nor restart the WAL under, a reader holding it), and its
/// TRUNCATE at shutdown gives up at once when a reader holds the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoints {
    /// The server's checkpoint thread (and the writer past `WRITER_CHECKPOINTS_AT` pages).
    Auto,
    /// Never the server: the replicator checkpoints (Litestream does, by default every minute
    /// and past 1,000 pages). Without one the WAL grows without bound.
    Off,
}

/// Why the database cannot be used right now; each passes when the fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The disk (or the filesystem's quota) has no room for the write.
    DiskFull,
    /// The file or its filesystem is read-only.
    ReadOnly,
    /// The file could not be opened, read or written for another reason.
    Io,
}

/// What went wrong in the store.
#[derive(Debug)]
pub enum StoreError {
    /// A UNIQUE constraint refused the write (a race that the caller's own check lost).
    Unique(String),
    /// The writer connection stayed taken, or SQLite stayed locked, past the wait.
    Busy,
    /// A fault of the file or the disk: nothing was written; retrying after it passes works.
    Unavailable(Fault, String),
    /// Not a passing fault: a file this release cannot use, no randomness, a vanished row.
    Broken(String),
    Sqlite(rusqlite::Error),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Unique(m) => write!(f, "unique constraint: {m}"),
            StoreError::Busy => f.write_str("the database stayed busy"),
            StoreError::Unavailable(fault, m) => {
                write!(f, "the database is unavailable ({fault:?}): {m}")
            }
            StoreError::Broken(m) => f.write_str(m),
            StoreError::Sqlite(e) => write!(f, "sqlite: {e}"),
        }
    }
}
impl std::error::Error for StoreError {}

impl StoreError {
    /// The same error again, for each of the writes that one failed commit fails together.
    pub fn duplicate(&self) -> StoreError {
        match self {
            StoreError::Unique(m) => StoreError::Unique(m.clone()),
            StoreError::Busy => StoreError::Busy,
            StoreError::Unavailable(fault, m) => StoreError::Unavailable(*fault, m.clone()),
            StoreError::Broken(m) => StoreError::Broken(m.clone()),
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, m)) => {
                StoreError::Sqlite(rusqlite::Error::SqliteFailure(*code, m.clone()))
            }
            StoreError::Sqlite(e) => StoreError::Broken(format!("sqlite: {e}")),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        match &e {
            rusqlite::Error::SqliteFailure(f, msg) => {
                let text = msg.clone().unwrap_or_else(|| f.to_string());
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                {
                    return StoreError::Unique(text);
                }
                match f.code {
                    ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy,
                    ErrorCode::DiskFull => StoreError::Unavailable(Fault::DiskFull, text),
                    ErrorCode::ReadOnly => StoreError::Unavailable(Fault::ReadOnly, text),
                    ErrorCode::SystemIoFailure
                    | ErrorCode::CannotOpen
                    | ErrorCode::PermissionDenied => StoreError::Unavailable(Fault::Io, text),
                    _ => StoreError::Sqlite(e),
                }
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

/// The database: one writer connection and a few readers, all on one file in WAL mode. A
/// connection that a fault closed reopens by itself once the fault passes.
pub struct Db {
    writer: ConnPool,
    /// The queue of [`Db::write_combined`].
    combiner: Combiner,
    readers: ConnPool,
    /// A reader that only ever asks `PRAGMA data_version` (see [`Db::version`]).
    sentinel: ConnPool,
    changes: Changes,
    /// The thread that checkpoints the WAL off the write path (`None`: SQLite's own, on the
    /// writer, if the thread could not start).
    checkpoints: Option<Checkpointer>,
    /// With `Durability::Full`: the shared WAL sync that every write waits for before it returns.
    group_sync: Option<GroupSync>,
    checkpoint_mode: Checkpoints,
    path: PathBuf,
    /// Whether the writer has opened once (and so brought the schema up to date): readers wait
    /// for it rather than read a file whose schema may be missing or old.
    schema_ready: Arc<AtomicBool>,
}

impl Db {
    /// Opens (or creates) the database at `path`, applies the schema or its migrations, and sets
    /// WAL, foreign keys, a busy timeout and `synchronous` on every connection.
    pub fn open(path: &Path, durability: Durability) -> Result<Db, StoreError> {
        let db = Db::unopened(path, durability, Checkpoints::Auto, READERS);
        db.writer.with(WRITE_WAIT, |_| Ok::<_, StoreError>(()))?;
        Ok(db)
    }

    /// For the server, with `readers` reader connections: as [`Db::open`], but a passing fault
    /// (a read-only or full disk, an unreadable file) does not stop it. It is logged, every use
    /// answers with it, and the connections open by themselves once it passes.
    pub fn open_for_serving(
        path: &Path,
        durability: Durability,
        checkpoints: Checkpoints,
        readers: usize,
    ) -> Result<Db, StoreError> {
        let db = Db::unopened(path, durability, checkpoints, readers);
        match db.writer.with(WRITE_WAIT, |_| Ok::<_, StoreError>(())) {
            Err(StoreError::Unavailable(fault, detail)) => {
                log::error!(
                    "{}: cannot open for writing ({fault:?}: {detail}); serving 503 until it can",
                    path.display()
                );
                Ok(db)
            }
            other => other.map(|()| db),
        }
    }

    fn unopened(
        path: &Path,
        durability: Durability,
        checkpoint_mode: Checkpoints,
        readers: usize,
    ) -> Db {
        let schema_ready = Arc::new(AtomicBool::new(false));
        let ready = schema_ready.clone();
        let writer_path = path.to_owned();
        let checkpoint_path = path.to_owned();
        let checkpoints = match checkpoint_mode {
            Checkpoints::Auto => Checkpointer::start(
                path.to_owned(),
                Box::new(move || open_connection(&checkpoint_path, false)),
            ),
            Checkpoints::Off => None,
        };
        let watcher = checkpoints.as_ref().map(Checkpointer::watcher);
        let open_writer = move || {
            let mut conn =
                open_connection(&writer_path, false).map_err(|e| refine_fault(e, &writer_path))?;
            if let Some(watcher) = &watcher {
                watcher.watch(&mut conn)?;
            } else if checkpoint_mode == Checkpoints::Off {
                conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            }
            if conn.is_readonly(MAIN_DB)? {
                return Err(refine_fault(
                    StoreError::Unavailable(Fault::ReadOnly, "opened read-only".into()),
                    &writer_path,
                ));
            }
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| refine_fault(e.into(), &writer_path))?;
            migrate::apply(&mut conn)?;
            ready.store(true, Ordering::Release);
            Ok(conn)
        };
        let open_reader = |path: PathBuf| {
            move || open_connection(&path, true).map_err(|e| refine_fault(e, &path))
        };
        Db {
            writer: ConnPool::new(1, true, Box::new(open_writer)),
            combiner: Combiner::new(),
            readers: ConnPool::new(
                readers.max(1),
                false,
                Box::new(open_reader(path.to_owned())),
            ),
            sentinel: ConnPool::new(1, false, Box::new(open_reader(path.to_owned()))),
            changes: Changes::new(),
            checkpoints,
            group_sync: (durability == Durability::Full).then(|| GroupSync::new(path)),
            checkpoint_mode,
            path: path.to_owned(),
            schema_ready,
        }
    }

    /// Readers may not start before the writer has opened the file once (and migrated it).
    fn ensure_schema(&self) -> Result<(), StoreError> {
        if self.schema_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        self.writer.with(WRITE_WAIT, |_| Ok(()))
    }

    /// Moves the WAL's content into the database file and truncates the WAL: the last write at
    /// shutdown (the checkpoint thread ends first, so as not to hold the WAL). It does not wait:
    /// a reader holding the WAL (a replicator such as Litestream) keeps it, whole. With
    /// [`Checkpoints::Off`] it does nothing.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.stop();
        }
        if self.checkpoint_mode == Checkpoints::Off {
            return Ok(());
        }
        let busy: i64 = self.writer.with(WRITE_WAIT, |conn| {
            conn.busy_timeout(Duration::ZERO)?;
            let busy = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0));
            conn.busy_timeout(BUSY_TIMEOUT)?;
            busy.map_err(StoreError::from)
        })?;
        if busy != 0 {
            log::info!(
                "{}: the WAL is left for the reader that holds it (a replicator, or another process)",
                self.path.display()
            );
        }
        Ok(())
    }

    /// WAL checkpoints run off the write path so far (see `checkpoints`).
    pub fn checkpoints_done(&self) -> u64 {
        self.checkpoints.as_ref().map_or(0, Checkpointer::done)
    }

    /// Whether a reader answers a trivial query and the writer is open (for `/healthz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            c.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(StoreError::from)
        })?;
        match self.writer.failing() {
            Some((fault, detail)) => Err(StoreError::Unavailable(fault, detail)),
            None => Ok(()),
        }
    }

    /// The size of the database file and its WAL, in bytes.
    pub fn size_bytes(&self) -> u64 {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        [self.path.clone(), PathBuf::from(wal)]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// A number that changes whenever anything commits to the file: at once for this process's
    /// writes, within [`OUTSIDE_COMMIT_LAG`] for another process's (the command line). What was
    /// read while it held one value is still true while it holds it (see `changes`).
    pub fn version(&self) -> Result<i64, StoreError> {
        self.changes.version(|| {
            self.ensure_schema()?;
            self.sentinel.with(WRITE_WAIT, |conn| {
                conn.prepare_cached("PRAGMA data_version")?
                    .query_row([], |r| r.get(0))
                    .map_err(StoreError::from)
            })
        })
    }

    /// Runs `f` on a reader connection (a consistent snapshot for the statement or transaction).
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        self.ensure_schema()?;
        self.readers.with(WRITE_WAIT, |conn| f(conn))
    }

    /// Runs `f` on a reader inside one read transaction: one consistent snapshot and one WAL
    /// read lock for all its statements (cheaper than one per statement).
    pub fn read_snapshot<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        self.ensure_schema()?;
        self.readers.with(WRITE_WAIT, |conn| {
            // Prepared once per connection, unlike `unchecked_transaction`'s parsed batch.
            conn.prepare_cached("BEGIN")
                .and_then(|mut s| s.execute([]))
                .map_err(StoreError::from)?;
            let out = f(conn);
            conn.prepare_cached("COMMIT")
                .and_then(|mut s| s.execute([]))
                .map_err(StoreError::from)?;
            out
        })
    }

    /// Runs `f` in `BEGIN IMMEDIATE`, waiting up to [`WRITE_WAIT`] for the writer; commits on `Ok`,
    /// rolls back on `Err` or panic.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_within(WRITE_WAIT, f)
    }

    /// As [`Db::write`], but gives up with `StoreError::Busy` after `wait`.
    pub fn write_within<T, E: From<StoreError>>(
        &self,
        wait: Duration,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let written = self.writer.with::<_, E>(wait, |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let out = f(&tx)?;
            tx.commit().map_err(StoreError::from)?;
            Ok((out, self.group_sync.as_ref().map(GroupSync::committed)))
        });
        self.changes.committed_here();
        let (out, seq) = written?;
        self.durable(seq)?;
        Ok(out)
    }

    /// With `Durability::Full`, waits for the group sync to cover commit `seq`: outside the
    /// writer, so the next transaction runs while this one's sync does.
    fn durable(&self, seq: Option<u64>) -> Result<(), StoreError> {
        match (&self.group_sync, seq) {
            (Some(sync), Some(seq)) => sync.wait_durable(seq),
            _ => Ok(()),
        }
    }
}

impl Db {
    /// As [`Db::write_within`], for a write that many requests make at once (a refresh's
    /// rotation): `f` is queued and run by whichever caller holds the lead, in one transaction
    /// with the others queued, inside a savepoint of its own (see `combine`). Its outcome is what
    /// it would have been alone, in the order the batch ran; so `f` must own what it uses.
    /// Gives up with `Busy` if no batch has taken `f` within `wait`.
    pub fn write_combined<T, E>(
        &self,
        wait: Duration,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (out, seq) = self.combiner.submit(wait, Box::new(f), self)?;
        self.durable(seq)?;
        Ok(out)
    }

    /// Runs `f` in a write transaction that is always rolled back (a dry run against real data).
    pub fn rehearse<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.writer.with(WRITE_WAIT, |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let out = f(&tx)?;
            tx.rollback().map_err(StoreError::from)?;
            Ok(out)
        })
    }
}

/// Tells a read-only file or filesystem, and a full disk, from other failures to open: SQLite
/// reports both as "unable to open", so the file itself is asked.
fn refine_fault(e: StoreError, path: &Path) -> StoreError {
    let StoreError::Unavailable(Fault::Io, detail) = e else {
        return e;
    };
    let probe = std::fs::OpenOptions::new().append(true).open(path);
    let fault = match probe.map_err(|e| e.kind()) {
        Err(std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied) => {
            Fault::ReadOnly
        }
        Err(std::io::ErrorKind::StorageFull) => Fault::DiskFull,
        _ => Fault::Io,
    };
    StoreError::Unavailable(fault, detail)
}

fn open_connection(path: &Path, reader: bool) -> Result<Connection, StoreError> {
    let flags = if reader {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // `Full` is NORMAL plus the group sync every write waits for (see `group_sync`); in WAL
    // mode NORMAL syncs at checkpoints and never corrupts the file.
    let sync = "NORMAL";
    conn.pragma_update(None, "synchronous", sync)?;
    conn.set_prepared_statement_cache_capacity(64);
    if reader {
        // Readers share the OS page cache; a small private cache each keeps memory flat.
        conn.pragma_update(None, "cache_size", -1024)?;
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture;

    #[test]
    fn write_rolls_back_on_error() {
        let f = fixture::open();
        let r: Result<(), StoreError> = f.db.write(|tx| {
            tx.execute("INSERT INTO outbox (message_id, to_addr, subject, body, created_at) VALUES ('m', 'a', 's', 'b', 0)", [])?;
            Err(StoreError::Busy)
        });
        assert!(r.is_err());
        let n: i64 =
            f.db.read(|c| {
                c.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
                    .map_err(StoreError::from)
            })
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn a_panic_inside_a_read_snapshot_does_not_leave_the_reader_on_it() {
        let f = fixture::with_user();
        let count = |c: &Connection| {
            c.query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0))
                .map_err(StoreError::from)
        };
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f.db.read_snapshot(|c| {
                count(c)?;
                panic!("a bug between BEGIN and COMMIT");
                #[allow(unreachable_code)]
                Ok::<_, StoreError>(())
            })
        }));
        assert!(panicked.is_err());
        f.db.write(|tx| {
            tx.execute(
                "INSERT INTO users (id, handle, email, email_key, created_at, updated_at) VALUES ('u2', 'b', 'b@x.io', 'b@x.io', 0, 0)",
                [],
            )?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        // Readers are lent last-returned first: this is the connection that unwound.
        assert_eq!(f.db.read(count).unwrap(), 2, "a fresh snapshot");
    }

    #[test]
    fn a_write_moves_the_version_before_it_returns() {
        let f = fixture::open();
        let before = f.db.version().unwrap();
        f.db.write(|_| Ok::<_, StoreError>(())).unwrap();
        let after_write = f.db.version().unwrap();
        assert_ne!(before, after_write, "not left to the data_version reading");
        f.db.write_combined(WRITE_WAIT, |_| Ok::<_, StoreError>(()))
            .unwrap();
        assert_ne!(after_write, f.db.version().unwrap());
    }

    #[test]
    fn writer_wait_gives_busy() {
        let f = fixture::open();
        let r: Result<(), StoreError> = fixture::while_writer_held(&f.db, || {
            f.db.write_within(Duration::from_millis(20), |_| Ok(()))
        });
        assert!(matches!(r, Err(StoreError::Busy)));
        assert!(
            f.db.write_within(Duration::from_millis(20), |_| Ok::<_, StoreError>(()))
                .is_ok()
        );
    }
}
