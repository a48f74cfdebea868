//! `Changes`: a version number of the whole database, for the credential caches (`core::cache`):
//! what was read while it held one value is still true while it holds it.
//!
//! This process's own commits move it at once: every write moves it before it returns, so a
//! logout or a revocation answered here is seen by the very next request. Commits by another
//! process (the command line, an operator's sqlite3 shell) are found through SQLite's
//! `data_version` on a connection that never writes, which counts every commit. Reading that
//! costs a read transaction (two file-lock system calls and a connection), so it is read at
//! most once per [`OUTSIDE_COMMIT_LAG`]: another process's commit is seen within that time, not
//! on the very next request. (It was read on every authenticated request; that was 8% of the
//! server's time under `me`.)

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::StoreError;

/// How long a commit by another process may go unseen by [`Changes::version`].
pub const OUTSIDE_COMMIT_LAG: Duration = Duration::from_millis(1);

pub struct Changes {
    version: AtomicI64,
    origin: Instant,
    /// When `data_version` was last read, in nanoseconds since `origin` (0: never).
    checked_at: AtomicU64,
    /// The `data_version` last read.
    last_seen: Mutex<Option<i64>>,
}

impl Changes {
    pub fn new() -> Changes {
        Changes {
            version: AtomicI64::new(0),
            origin: Instant::now(),
            checked_at: AtomicU64::new(0),
            last_seen: Mutex::new(None),
        }
    }

    /// This process committed (or may have: a failed commit moves it too, which costs only
    /// cache misses).
    pub fn committed_here(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    /// The current version. `data_version` reads SQLite's, when the last reading is older than
    /// [`OUTSIDE_COMMIT_LAG`].
    pub fn version(
        &self,
        data_version: impl FnOnce() -> Result<i64, StoreError>,
    ) -> Result<i64, StoreError> {
        let now = self.nanos();
        let checked_at = self.checked_at.load(Ordering::Acquire);
        if checked_at != 0 && now.saturating_sub(checked_at) < OUTSIDE_COMMIT_LAG.as_nanos() as u64
        {
            return Ok(self.version.load(Ordering::SeqCst));
        }
        let seen = data_version()?;
        {
            let mut last = self
                .last_seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if *last != Some(seen) {
                *last = Some(seen);
                self.version.fetch_add(1, Ordering::SeqCst);
            }
        }
        // `now` was taken before the reading: the reading covers every commit before it.
        self.checked_at.fetch_max(now.max(1), Ordering::AcqRel);
        Ok(self.version.load(Ordering::SeqCst))
    }

    fn nanos(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_commit_moves_the_version_at_once_and_an_outside_one_within_the_lag() {
        let changes = Changes::new();
        let first = changes.version(|| Ok(5)).unwrap();
        assert_eq!(changes.version(|| Ok(5)).unwrap(), first);
        changes.committed_here();
        let second = changes.version(|| Ok(5)).unwrap();
        assert_ne!(second, first, "our own commit is seen at once");
        std::thread::sleep(OUTSIDE_COMMIT_LAG * 2);
        let third = changes.version(|| Ok(6)).unwrap();
        assert_ne!(
            third, second,
            "another process's commit is seen after the lag"
        );
        assert_eq!(changes.version(|| Ok(6)).unwrap(), third);
        std::thread::sleep(OUTSIDE_COMMIT_LAG * 2);
        assert_eq!(
            changes.version(|| Ok(6)).unwrap(),
            third,
            "an unchanged data_version keeps the version"
        );
    }

    #[test]
    fn data_version_is_read_at_most_once_per_lag() {
        let changes = Changes::new();
        let reads = std::cell::Cell::new(0u64);
        let read = || {
            reads.set(reads.get() + 1);
            Ok(1)
        };
        let start = Instant::now();
        for _ in 0..10_000 {
            changes.version(read).unwrap();
        }
        let lags = start.elapsed().as_nanos() / OUTSIDE_COMMIT_LAG.as_nanos();
        assert!(
            u128::from(reads.get()) <= lags + 1,
            "{} reads in {lags} lags",
            reads.get()
        );
    }
}
