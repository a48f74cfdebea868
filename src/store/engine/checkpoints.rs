//! Checkpoints off the write path. SQLite's automatic checkpoint runs inside the commit that
//! finds the WAL past its threshold, on the writer connection, and syncs the database file:
//! every write queued behind that commit waits for the disk (under a refresh storm it doubled
//! p99). Here the writer's commit only asks, through a WAL hook, and a thread of its own runs a
//! PASSIVE checkpoint (which never blocks writers or readers) on a connection of its own.
//!
//! Should the WAL still grow past [`WRITER_CHECKPOINTS_AT`] pages (the thread failing, or far
//! behind), the writer checkpoints itself as SQLite would have, so the WAL stays bounded.

use std::ffi::c_int;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, MAIN_DB};

use super::StoreError;

/// WAL pages after which a commit asks for a checkpoint (SQLite's own automatic threshold), and
/// again after each further this many.
pub const ASK_AT: c_int = 1000;
/// WAL pages after which the writer checkpoints itself. Under a steady stream of commits the
/// thread's checkpoints never quite catch up with the end of the WAL, and SQLite starts the WAL
/// over only after one that did; the writer's own then copies only the few frames the thread
/// has not, and the WAL starts over. So the WAL stays under about 16 MiB.
pub const WRITER_CHECKPOINTS_AT: c_int = 4 * ASK_AT;

/// The checkpoint thread; it ends when this is dropped.
pub struct Checkpointer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    /// Set by a commit, taken by the thread; read without the lock so that a commit that finds
    /// a checkpoint already asked for costs nothing.
    asked: AtomicBool,
    /// Checkpoints the thread completed.
    done: AtomicU64,
    /// WAL pages at which the next commit asks, and the WAL's pages at the last commit (both
    /// read and written by the writer's hook only).
    next_ask: AtomicI32,
    last_pages: AtomicI32,
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    asked: bool,
    stop: bool,
}

type Opener = Box<dyn Fn() -> Result<Connection, StoreError> + Send>;

impl Checkpointer {
    /// Starts the thread, which opens its connection with `open` when first asked. `None` if
    /// the thread cannot start: then SQLite's automatic checkpoint stays in place.
    pub fn start(path: PathBuf, open: Opener) -> Option<Checkpointer> {
        let shared = Arc::new(Shared {
            asked: AtomicBool::new(false),
            done: AtomicU64::new(0),
            next_ask: AtomicI32::new(ASK_AT),
            last_pages: AtomicI32::new(0),
            state: Mutex::new(State {
                asked: false,
                stop: false,
            }),
            wake: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("checkpoints".into())
            .spawn(move || run(&thread_shared, &path, &open))
            .map_err(|e| log::warn!("no checkpoint thread ({e}): the writer checkpoints"))
            .ok()?;
        Some(Checkpointer {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Checkpoints completed so far.
    pub fn done(&self) -> u64 {
        self.shared.done.load(Ordering::Relaxed)
    }

    /// What the writer's opener keeps, to install the hook on each connection it opens.
    pub fn watcher(&self) -> Watcher {
        Watcher(self.shared.clone())
    }
}

/// Installs the checkpoint hook on writer connections.
pub struct Watcher(Arc<Shared>);

impl Watcher {
    /// Installs the hook on the writer connection: it asks for a checkpoint each time a commit
    /// leaves the WAL [`ASK_AT`] pages longer than at the last ask, and checkpoints itself past
    /// [`WRITER_CHECKPOINTS_AT`]. (This replaces SQLite's automatic checkpoint.)
    pub fn watch(&self, writer: &mut Connection) -> Result<(), StoreError> {
        let shared = self.0.clone();
        writer.wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            if pages < shared.last_pages.swap(pages, Ordering::Relaxed) {
                // The WAL started over.
                shared.next_ask.store(ASK_AT, Ordering::Relaxed);
            }
            let next_ask = shared.next_ask.load(Ordering::Relaxed);
            if pages >= WRITER_CHECKPOINTS_AT {
                // An error here would make the committed transaction report one: log it only
                // (busy: the thread's checkpoint is running, and does the work).
                if let Err(e) = wal.checkpoint_v2(CheckpointMode::PASSIVE)
                    && !is_busy(&e)
                {
                    log::warn!("checkpointing a WAL of {pages} pages failed: {e}");
                }
            } else if pages >= next_ask {
                shared.next_ask.store(pages + ASK_AT, Ordering::Relaxed);
                if !shared.asked.swap(true, Ordering::AcqRel) {
                    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
                    state.asked = true;
                    shared.wake.notify_one();
                }
            }
            Ok(())
        }))?;
        Ok(())
    }
}

impl Checkpointer {
    /// Ends the thread (before the final checkpoint at shutdown, which it would find busy).
    pub fn stop(&self) {
        {
            let mut state = self
                .shared
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            state.stop = true;
            self.shared.wake.notify_one();
        }
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Another checkpoint is running (only one runs at a time): not a failure.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn run(shared: &Shared, path: &std::path::Path, open: &Opener) {
    let mut conn: Option<Connection> = None;
    loop {
        {
            let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            while !state.asked && !state.stop {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.stop {
                return;
            }
            state.asked = false;
        }
        // Taken after the lock: a commit from now on asks again.
        shared.asked.store(false, Ordering::Release);
        if conn.is_none() {
            conn = open()
                .map_err(|e| log::warn!("{}: cannot open for checkpoints: {e}", path.display()))
                .ok();
        }
        if let Some(c) = &conn {
            match c.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE) {
                Ok(_) => {
                    shared.done.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if is_busy(&e) => {}
                Err(e) => {
                    // A fault closes the connection; the next request opens it again.
                    log::warn!("{}: checkpoint failed: {e}", path.display());
                    conn = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::store::{StoreError, fixture};

    #[test]
    fn a_wal_past_the_threshold_is_checkpointed_by_the_thread_not_the_writer() {
        let f = fixture::open();
        let wal_pages = |f: &fixture::Fixture| {
            let wal = f.db.path.with_extension("db-wal");
            std::fs::metadata(wal).map(|m| m.len() / 4096).unwrap_or(0)
        };
        f.db.write(|tx| {
            tx.execute_batch("CREATE TABLE blobs (b BLOB)")?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(f.db.checkpoints_done(), 0);
        // 1,200 rows of 4 KiB: past the threshold, in one commit.
        f.db.write(|tx| {
            let mut st = tx.prepare("INSERT INTO blobs VALUES (zeroblob(4000))")?;
            for _ in 0..1200 {
                st.execute([])?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let grown = wal_pages(&f);
        assert!(grown >= super::ASK_AT as u64, "{grown} pages");
        let start = Instant::now();
        while f.db.checkpoints_done() == 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "no checkpoint");
            std::thread::sleep(Duration::from_millis(5));
        }
        // Checkpointed in full, the WAL starts over at the next write instead of growing.
        f.db.write(|tx| {
            tx.execute("INSERT INTO blobs VALUES (zeroblob(4000))", [])?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(wal_pages(&f), grown, "the WAL was reused, not extended");
    }
}
