//! `ConnPool`: a fixed number of SQLite connections, lent one at a time, that heals itself. A
//! connection that cannot serve (the writer found the file read-only) is closed on return, and a
//! closed slot is reopened by the next borrower; while reopening keeps failing, borrowers are told
//! the fault at once for [`RETRY_OPEN`] instead of each retrying the filesystem.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, MAIN_DB};

use super::{Fault, StoreError};

/// How long a failed reopen is remembered before the next borrower tries again.
pub const RETRY_OPEN: Duration = Duration::from_millis(500);

type Opener = Box<dyn Fn() -> Result<Connection, StoreError> + Send + Sync>;

pub struct ConnPool {
    slots: Mutex<Slots>,
    returned: Condvar,
    open: Opener,
    /// A writer that SQLite opened read-only (the file or its filesystem was) is closed on return.
    writes: bool,
}

struct Slots {
    idle: Vec<Connection>,
    /// Borrowers waiting for a connection: a return wakes one only if there is one (a wake-up is
    /// a system call, and most returns find nobody waiting).
    waiting: usize,
    /// Slots whose connection is closed (never opened, or dropped after a fault).
    closed: usize,
    /// The last failed reopen: its fault and detail, and until when borrowers fail fast with it.
    failing: Option<(Instant, Fault, String)>,
}

impl ConnPool {
    /// A pool of `size` slots, all closed: each opens with `open` on first use.
    pub fn new(size: usize, writes: bool, open: Opener) -> ConnPool {
        ConnPool {
            slots: Mutex::new(Slots {
                idle: Vec::with_capacity(size),
                waiting: 0,
                closed: size,
                failing: None,
            }),
            returned: Condvar::new(),
            open,
            writes,
        }
    }

    /// The fault of the last failed reopen, while borrowers are still failing fast with it.
    pub fn failing(&self) -> Option<(Fault, String)> {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .failing
            .as_ref()
            .filter(|(until, ..)| Instant::now() < *until)
            .map(|(_, fault, detail)| (*fault, detail.clone()))
    }

    /// Lends `f` a connection, waiting up to `wait` for one to be free, reopening a closed slot.
    pub fn with<T, E: From<StoreError>>(
        &self,
        wait: Duration,
        f: impl FnOnce(&mut Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let conn = self.borrow(wait)?;
        let mut loan = Loan {
            pool: self,
            conn: Some(conn),
        };
        match loan.conn.as_mut() {
            Some(conn) => f(conn),
            None => Err(StoreError::Busy.into()),
        }
    }

    fn borrow(&self, wait: Duration) -> Result<Connection, StoreError> {
        let deadline = Instant::now() + wait;
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = slots.idle.pop() {
                return Ok(conn);
            }
            if slots.closed > 0 {
                if let Some((until, fault, detail)) = &slots.failing
                    && Instant::now() < *until
                {
                    return Err(StoreError::Unavailable(*fault, detail.clone()));
                }
                slots.closed -= 1;
                drop(slots);
                return self.reopen();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Busy);
            }
            slots.waiting += 1;
            slots = self
                .returned
                .wait_timeout(slots, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            slots.waiting -= 1;
        }
    }

    /// Opens the slot just taken from `closed`; on failure gives it back and remembers the fault.
    fn reopen(&self) -> Result<Connection, StoreError> {
        let opened = (self.open)();
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        match opened {
            Ok(conn) => {
                slots.failing = None;
                Ok(conn)
            }
            Err(e) => {
                slots.closed += 1;
                if let StoreError::Unavailable(fault, detail) = &e {
                    slots.failing = Some((Instant::now() + RETRY_OPEN, *fault, detail.clone()));
                }
                let wake = slots.waiting > 0;
                drop(slots);
                if wake {
                    self.returned.notify_one();
                }
                Err(e)
            }
        }
    }

    fn give_back(&self, conn: Connection) {
        let unusable = if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
            // A borrower that unwound mid-transaction (a panic between BEGIN and COMMIT) must
            // not hand on its open transaction: a reader would keep serving its old snapshot.
            Some("a connection came back inside a transaction that would not end")
        } else if self.writes && conn.is_readonly(MAIN_DB) != Ok(false) {
            Some("the writer connection became read-only")
        } else {
            None
        };
        let slots = match unusable {
            None => {
                let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
                slots.idle.push(conn);
                slots
            }
            Some(why) => {
                drop(conn);
                log::warn!("{why}; it reopens on next use");
                let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
                slots.closed += 1;
                slots
            }
        };
        let wake = slots.waiting > 0;
        drop(slots);
        if wake {
            self.returned.notify_one();
        }
    }
}

/// A connection on loan; it goes back to its pool on drop (also while unwinding, after any open
/// transaction has rolled back).
struct Loan<'a> {
    pool: &'a ConnPool,
    conn: Option<Connection>,
}

impl Drop for Loan<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.give_back(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use rusqlite::OpenFlags;

    use super::*;

    fn lend(pool: &ConnPool) -> Result<(), StoreError> {
        pool.with(Duration::from_millis(50), |_| Ok(()))
    }

    #[test]
    fn a_failed_open_is_told_at_once_then_retried_after_a_pause() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let healthy = Arc::new(AtomicBool::new(false));
        let (a, h) = (attempts.clone(), healthy.clone());
        let pool = ConnPool::new(
            1,
            false,
            Box::new(move || {
                a.fetch_add(1, Ordering::SeqCst);
                if h.load(Ordering::SeqCst) {
                    Ok(Connection::open_in_memory()?)
                } else {
                    Err(StoreError::Unavailable(Fault::DiskFull, "full".into()))
                }
            }),
        );
        assert!(matches!(
            lend(&pool),
            Err(StoreError::Unavailable(Fault::DiskFull, _))
        ));
        assert!(matches!(
            lend(&pool),
            Err(StoreError::Unavailable(Fault::DiskFull, _))
        ));
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            1,
            "the second was told at once"
        );
        assert_eq!(pool.failing().map(|(f, _)| f), Some(Fault::DiskFull));
        healthy.store(true, Ordering::SeqCst);
        std::thread::sleep(RETRY_OPEN);
        assert!(lend(&pool).is_ok());
        assert!(lend(&pool).is_ok());
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            2,
            "opened once, then reused"
        );
        assert!(pool.failing().is_none());
    }

    #[test]
    fn a_writer_found_read_only_is_closed_and_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let attempts = Arc::new(AtomicUsize::new(0));
        let a = attempts.clone();
        let pool = ConnPool::new(
            1,
            true,
            Box::new(move || {
                a.fetch_add(1, Ordering::SeqCst);
                Ok(Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY,
                )?)
            }),
        );
        assert!(lend(&pool).is_ok());
        assert!(lend(&pool).is_ok());
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
    }
}
