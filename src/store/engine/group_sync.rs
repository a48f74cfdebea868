//! Group commit for `--durability full`. The writer commits with `synchronous=NORMAL` (no sync
//! inside the transaction, so the one writer connection is free again at once), and no write is
//! acknowledged before an `fdatasync` of the WAL file has covered its commit. Writers that commit
//! while a sync runs share the next one: under load, one sync covers many commits instead of one
//! each. The promise is FULL's: an acknowledged write survives a power loss; a write that was
//! committed but not yet synced was not acknowledged. (fsync acts on the file, not on the
//! descriptor, so our own descriptor of the WAL flushes what SQLite wrote through its own.)

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, PoisonError};

use super::{Fault, StoreError};

pub struct GroupSync {
    wal: PathBuf,
    state: Mutex<State>,
    synced: Condvar,
}

struct State {
    /// Commits so far, numbered in commit order.
    committed: u64,
    /// Every commit up to this number is on disk.
    synced: u64,
    /// Whether a thread is syncing now (the others wait for it, then check again).
    syncing: bool,
    file: Option<File>,
}

impl GroupSync {
    /// For the database at `db`, whose WAL is `<db>-wal`.
    pub fn new(db: &std::path::Path) -> GroupSync {
        let mut wal = db.to_owned().into_os_string();
        wal.push("-wal");
        GroupSync {
            wal: PathBuf::from(wal),
            state: Mutex::new(State {
                committed: 0,
                synced: 0,
                syncing: false,
                file: None,
            }),
            synced: Condvar::new(),
        }
    }

    /// Numbers a commit; call it right after the commit, still holding the writer, so that the
    /// numbers follow the commit order.
    pub fn committed(&self) -> u64 {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.committed += 1;
        state.committed
    }

    /// Returns once commit `seq` is on disk: at once if a sync already covered it, after the sync
    /// in progress if that one covers it, else after a sync this thread runs for every commit so
    /// far.
    pub fn wait_durable(&self, seq: u64) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if state.synced >= seq {
                return Ok(());
            }
            if state.syncing {
                state = self
                    .synced
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.syncing = true;
            let target = state.committed;
            let file = state.file.take();
            drop(state);
            let outcome = self
                .current_wal(file)
                .and_then(|f| f.sync_data().map(|()| f));
            state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.syncing = false;
            self.synced.notify_all();
            match outcome {
                Ok(f) => {
                    state.file = Some(f);
                    state.synced = state.synced.max(target);
                }
                // Always `Io`, never `DiskFull`: the commit is in the WAL and may yet reach the
                // disk, so the answer must not say that nothing was changed.
                Err(e) => {
                    return Err(StoreError::Unavailable(
                        Fault::Io,
                        format!("syncing {}: {e}", self.wal.display()),
                    ));
                }
            }
        }
    }
}

impl GroupSync {
    /// `kept` if it is still the file at the WAL's path, else the file there now (SQLite deletes
    /// the WAL when its last connection closes and makes a new one on the next write).
    fn current_wal(&self, kept: Option<File>) -> std::io::Result<File> {
        use std::os::unix::fs::MetadataExt;
        let now = std::fs::metadata(&self.wal)?;
        match kept {
            Some(f) if f.metadata()?.ino() == now.ino() => Ok(f),
            _ => File::open(&self.wal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_covers_every_commit_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        std::fs::write(dir.path().join("t.db-wal"), b"frames").unwrap();
        let sync = GroupSync::new(&db);
        let (a, b) = (sync.committed(), sync.committed());
        sync.wait_durable(b).unwrap();
        sync.wait_durable(a).unwrap();
        let state = sync.state.lock().unwrap();
        assert_eq!((state.committed, state.synced), (2, 2));
    }

    #[test]
    fn concurrent_waiters_share_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        std::fs::write(dir.path().join("t.db-wal"), b"frames").unwrap();
        let sync = GroupSync::new(&db);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        let seq = sync.committed();
                        sync.wait_durable(seq).unwrap();
                        assert!(sync.state.lock().unwrap().synced >= seq);
                    }
                });
            }
        });
        assert_eq!(sync.state.lock().unwrap().synced, 400);
    }

    #[test]
    fn a_replaced_wal_is_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let wal = dir.path().join("t.db-wal");
        std::fs::write(&wal, b"frames").unwrap();
        let sync = GroupSync::new(&db);
        let kept = sync.current_wal(None).unwrap();
        std::fs::remove_file(&wal).unwrap();
        std::fs::write(&wal, b"new frames").unwrap();
        let now = sync.current_wal(Some(kept)).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            now.metadata().unwrap().ino(),
            std::fs::metadata(&wal).unwrap().ino()
        );
    }

    #[test]
    fn a_missing_wal_is_a_storage_fault() {
        let dir = tempfile::tempdir().unwrap();
        let sync = GroupSync::new(&dir.path().join("none.db"));
        let seq = sync.committed();
        assert!(matches!(
            sync.wait_durable(seq),
            Err(StoreError::Unavailable(Fault::Io, _))
        ));
    }
}
