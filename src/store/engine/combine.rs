//! Write combining, for the write that many threads send at once (a refresh's rotation). Each
//! caller queues its work; whichever caller holds the lead takes the queue and runs it back to
//! back in one transaction, each piece in a savepoint of its own, and commits once for all of
//! them. The others sleep until their piece is done.
//!
//! Why: with one writer connection, a refresh storm spent most of the writer's time handing it
//! from thread to thread (a wake-up and a context switch each, while the writer sat idle) and
//! committing (WAL frames for the same few pages, once per rotation). Here one running thread
//! does the writes of many, and a commit covers them all.
//!
//! Each piece's outcome is what it would have been alone, in the order the batch ran them: its
//! savepoint is rolled back if it returns `Err` (or panics: the panic is resumed in the caller's
//! thread); its `Ok` is only handed back once the commit succeeded, and a failed commit fails
//! every piece of the batch. Nothing is acknowledged that was not committed.

use std::any::Any;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::group_sync::GroupSync;
use super::{Db, StoreError};

/// The most pieces one transaction runs: a commit is not held back by an unbounded queue.
const MAX_BATCH: usize = 64;

/// A piece of work for the write transaction.
pub type Work<T, E> = Box<dyn FnOnce(&Transaction<'_>) -> Result<T, E> + Send>;

/// What a piece's caller gets: its result, and the commit's number for the group sync.
pub type Combined<T, E> = Result<(T, Option<u64>), E>;

/// The queue of pieces, and whether a caller is leading.
pub struct Combiner {
    state: Mutex<State>,
}

struct State {
    queue: VecDeque<Arc<dyn Pending>>,
    leading: bool,
}

impl State {
    /// Takes `piece` out of the queue, if it is still there.
    fn unqueue(&mut self, piece: &dyn Pending) -> Option<Arc<dyn Pending>> {
        let i = self.queue.iter().position(|p| is_piece(p, piece))?;
        let p = self.queue.remove(i)?;
        p.queued().store(false, Ordering::Relaxed);
        Some(p)
    }
}

impl Combiner {
    pub fn new() -> Combiner {
        Combiner {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                leading: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` in a write transaction shared with whatever else is queued; gives up with
    /// `Busy` if no leader has taken it within `wait` (once taken, it runs to the end).
    pub fn submit<T, E>(&self, wait: Duration, work: Work<T, E>, db: &Db) -> Combined<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let slot = Arc::new(Slot::new(work));
        let deadline = Instant::now() + wait;
        let mut state = self.lock();
        state.queue.push_back(slot.clone());
        loop {
            if !state.leading && slot.queued.load(Ordering::Relaxed) {
                state.leading = true;
                drop(state);
                self.lead(slot.as_ref(), wait, db);
                break;
            }
            drop(state);
            if slot.sleep(deadline) {
                break;
            }
            state = self.lock();
            if slot.queued.load(Ordering::Relaxed) && state.leading && Instant::now() >= deadline {
                state.unqueue(slot.as_ref());
                return Err(StoreError::Busy.into());
            }
        }
        slot.take()
    }

    /// Runs batches until `own` is done, then lets go of the lead and wakes the next in line.
    /// A batch is taken from the queue once the writer is in hand, so that what arrived while
    /// the leader waited for it joins the batch.
    fn lead(&self, own: &dyn Pending, wait: Duration, db: &Db) {
        let mut lead = Lead {
            combiner: self,
            batch: Vec::with_capacity(MAX_BATCH),
            handed_over: false,
        };
        while !own.is_finished() {
            let outcome = db.writer.with(wait, |conn| {
                self.take_batch(&mut lead.batch);
                run_batch(conn, &lead.batch, db.group_sync.as_ref())
            });
            if !lead.batch.is_empty() {
                db.changes.committed_here();
            } else if let Err(StoreError::Busy) = outcome {
                // The writer stayed taken for the leader's whole wait: its own piece gives up;
                // the others keep their own waits (the next in line leads).
                lead.batch.extend(self.lock().unqueue(own));
            } else if outcome.is_err() {
                // No writer (a fault): what is queued fails with it rather than try again.
                self.take_batch(&mut lead.batch);
            }
            if lead.batch.iter().any(|p| is_piece(p, own)) {
                // This batch settles the leader's own piece: the next in line can start the next
                // batch while this thread wakes the callers of this one.
                lead.hand_over();
            }
            // One by one off the batch: should settling one panic, `Lead` settles the rest.
            while let Some(p) = lead.batch.pop() {
                p.finish(&outcome);
            }
        }
    }

    fn take_batch(&self, batch: &mut Vec<Arc<dyn Pending>>) {
        let mut state = self.lock();
        let n = state.queue.len().min(MAX_BATCH);
        batch.extend(state.queue.drain(..n));
        for p in batch.iter() {
            p.queued().store(false, Ordering::Relaxed);
        }
    }
}

/// The lead, held while running batches. Dropping it (also while unwinding from a bug in the
/// leader) fails the batch in hand, lets go of the lead and wakes the first waiter, so the queue
/// never stalls without a leader.
struct Lead<'a> {
    combiner: &'a Combiner,
    batch: Vec<Arc<dyn Pending>>,
    /// The lead has been let go of (and may already be someone else's).
    handed_over: bool,
}

impl Lead<'_> {
    /// Lets go of the lead and wakes the first waiter, once.
    fn hand_over(&mut self) {
        if std::mem::replace(&mut self.handed_over, true) {
            return;
        }
        let mut state = self.combiner.lock();
        state.leading = false;
        if let Some(first) = state.queue.front() {
            first.nudge();
        }
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        let lost = Err(StoreError::Broken("the write batch was abandoned".into()));
        for p in self.batch.drain(..) {
            p.finish(&lost);
        }
        self.hand_over();
    }
}

/// Whether `queued` is `piece` (pieces are told apart by identity).
fn is_piece(queued: &Arc<dyn Pending>, piece: &dyn Pending) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(queued), piece)
}

/// One transaction for the whole batch, a savepoint for each piece.
fn run_batch(
    conn: &mut Connection,
    batch: &[Arc<dyn Pending>],
    sync: Option<&GroupSync>,
) -> Result<Option<u64>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for piece in batch {
        tx.prepare_cached("SAVEPOINT piece")?.execute([])?;
        let keep = piece.run(&tx);
        if tx.is_autocommit() {
            // A failure inside the piece made SQLite roll back the whole transaction: the
            // pieces before it are lost as well, and are told to try again.
            return Err(StoreError::Busy);
        }
        if !keep {
            tx.prepare_cached("ROLLBACK TO piece")?.execute([])?;
        }
        tx.prepare_cached("RELEASE piece")?.execute([])?;
    }
    tx.commit()?;
    Ok(sync.map(GroupSync::committed))
}

/// A queued piece, its result type hidden from the leader.
trait Pending: Send + Sync {
    /// Runs the work in the open transaction; whether to keep its changes (it returned `Ok`).
    fn run(&self, tx: &Transaction<'_>) -> bool;
    /// Settles the piece with its batch's outcome and wakes its caller.
    fn finish(&self, batch: &Result<Option<u64>, StoreError>);
    /// Wakes the caller to check whether it should take the lead.
    fn nudge(&self);
    /// Whether it is still in the queue (changed only under the queue's lock).
    fn queued(&self) -> &AtomicBool;
    fn is_finished(&self) -> bool;
}

struct Slot<T, E> {
    inner: Mutex<Inner<T, E>>,
    changed: Condvar,
    queued: AtomicBool,
}

struct Inner<T, E> {
    work: Option<Work<T, E>>,
    /// What the work returned (or its panic), before the commit.
    ran: Option<Result<Result<T, E>, Box<dyn Any + Send>>>,
    /// The final outcome, for the caller.
    done: Option<Result<Combined<T, E>, Box<dyn Any + Send>>>,
    nudged: bool,
}

impl<T, E> Slot<T, E> {
    fn new(work: Work<T, E>) -> Slot<T, E> {
        Slot {
            inner: Mutex::new(Inner {
                work: Some(work),
                ran: None,
                done: None,
                nudged: false,
            }),
            changed: Condvar::new(),
            queued: AtomicBool::new(true),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T, E>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps until the piece is done (true), or until a nudge or, while it is still queued,
    /// the deadline (false).
    fn sleep(&self, deadline: Instant) -> bool {
        let mut inner = self.lock();
        loop {
            if inner.done.is_some() {
                return true;
            }
            if std::mem::take(&mut inner.nudged) {
                return false;
            }
            let queued = self.queued.load(Ordering::Relaxed);
            let left = deadline.saturating_duration_since(Instant::now());
            if queued && left.is_zero() {
                return false;
            }
            // Once taken, the piece runs to the end; the timed wake-up only re-checks.
            let nap = if queued { left } else { Duration::from_secs(1) };
            inner = self
                .changed
                .wait_timeout(inner, nap)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The caller's outcome; resumes the work's panic in the caller's thread.
    fn take(&self) -> Combined<T, E>
    where
        E: From<StoreError>,
    {
        match self.lock().done.take() {
            Some(Ok(outcome)) => outcome,
            Some(Err(panic)) => resume_unwind(panic),
            None => {
                Err(StoreError::Broken("a combined write ended without an outcome".into()).into())
            }
        }
    }
}

impl<T, E> Pending for Slot<T, E>
where
    T: Send,
    E: From<StoreError> + Send,
{
    fn run(&self, tx: &Transaction<'_>) -> bool {
        let Some(work) = self.lock().work.take() else {
            return false;
        };
        let ran = catch_unwind(AssertUnwindSafe(|| work(tx)));
        let keep = matches!(ran, Ok(Ok(_)));
        self.lock().ran = Some(ran);
        keep
    }

    fn finish(&self, batch: &Result<Option<u64>, StoreError>) {
        let mut inner = self.lock();
        inner.work = None;
        let done = match (inner.ran.take(), batch) {
            (Some(Ok(Ok(value))), Ok(seq)) => Ok(Ok((value, *seq))),
            (Some(Ok(Err(e))), _) => Ok(Err(e)),
            (Some(Err(panic)), _) => Err(panic),
            (_, Err(e)) => Ok(Err(e.duplicate().into())),
            (None, Ok(_)) => Ok(Err(StoreError::Broken(
                "a combined write did not run".into(),
            )
            .into())),
        };
        inner.done = Some(done);
        self.changed.notify_one();
    }

    fn nudge(&self) {
        self.lock().nudged = true;
        self.changed.notify_one();
    }

    fn queued(&self) -> &AtomicBool {
        &self.queued
    }

    fn is_finished(&self) -> bool {
        self.lock().done.is_some()
    }
}

#[cfg(test)]
impl Combiner {
    fn queued_len(&self) -> usize {
        self.lock().queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture;

    const WAIT: Duration = Duration::from_secs(10);

    fn with_table() -> fixture::Fixture {
        let f = fixture::open();
        f.db.write(|tx| {
            tx.execute_batch(
                "CREATE TABLE parent (id INTEGER PRIMARY KEY);
                 CREATE TABLE t (x INTEGER PRIMARY KEY,
                   parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);",
            )?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        f
    }

    fn rows(f: &fixture::Fixture) -> Vec<i64> {
        f.db.read(|c| {
            let mut st = c.prepare("SELECT x FROM t ORDER BY x")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok::<_, StoreError>(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap()
    }

    /// Runs `call(x)` for each `x` in `0..n`, each in a thread of its own, all queued behind one
    /// held writer so that they wait for one leader; returns the outcomes in the order of `x`.
    fn queued<R: Send>(f: &fixture::Fixture, n: i64, call: impl Fn(i64) -> R + Sync) -> Vec<R> {
        std::thread::scope(|s| {
            let calls = fixture::while_writer_held(&f.db, || {
                let calls: Vec<_> = (0..n)
                    .map(|x| {
                        s.spawn({
                            let call = &call;
                            move || call(x)
                        })
                    })
                    .collect();
                while f.db.combiner.queued_len() < calls.len() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                calls
            });
            calls.into_iter().map(|c| c.join().unwrap()).collect()
        })
    }

    #[test]
    fn pieces_of_one_batch_keep_their_own_outcome() {
        let f = with_table();
        let results = queued(&f, 8, |x| {
            f.db.write_combined(WAIT, move |tx| {
                tx.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
                if x % 2 == 1 {
                    return Err(StoreError::Broken(format!("refuse {x}")));
                }
                Ok(x * 10)
            })
            .map_err(|e| e.to_string())
        });
        for (x, r) in (0..).zip(&results) {
            if x % 2 == 0 {
                assert_eq!(r, &Ok(x * 10));
            } else {
                assert_eq!(r, &Err(format!("refuse {x}")));
            }
        }
        assert_eq!(
            rows(&f),
            vec![0, 2, 4, 6],
            "each refused piece rolled back itself only"
        );
    }

    #[test]
    fn a_failed_commit_fails_every_piece_and_keeps_nothing() {
        let f = with_table();
        let failed = queued(&f, 3, |x| {
            // Piece 1 breaks a deferred foreign key: only the commit finds out.
            let parent = if x == 1 { Some(99) } else { None };
            f.db.write_combined(WAIT, move |tx| {
                tx.execute(
                    "INSERT INTO t (x, parent) VALUES (?1, ?2)",
                    rusqlite::params![x, parent],
                )?;
                Ok::<_, StoreError>(())
            })
            .is_err()
        });
        assert_eq!(failed, vec![true, true, true]);
        assert!(rows(&f).is_empty());
        f.db.write_combined(WAIT, |tx| {
            tx.execute("INSERT INTO t (x) VALUES (7)", [])?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(rows(&f), vec![7], "the next batch commits");
    }

    #[test]
    fn a_panicking_piece_panics_its_own_caller_only() {
        let f = with_table();
        let panicked = queued(&f, 2, |x| {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                f.db.write_combined(WAIT, move |tx| {
                    tx.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
                    assert!(x != 1, "piece 1 panics");
                    Ok::<_, StoreError>(())
                })
            }))
            .is_err()
        });
        assert_eq!(panicked, vec![false, true]);
        assert_eq!(rows(&f), vec![0]);
        assert!(
            f.db.write_combined(WAIT, |_| Ok::<_, StoreError>(()))
                .is_ok(),
            "the lead was let go"
        );
    }

    #[test]
    fn a_leader_that_gives_up_leaves_the_others_their_own_wait() {
        let f = with_table();
        std::thread::scope(|s| {
            let long = fixture::while_writer_held(&f.db, || {
                let short = s.spawn(|| {
                    f.db.write_combined(Duration::from_millis(50), |tx| {
                        tx.execute("INSERT INTO t (x) VALUES (1)", [])?;
                        Ok::<_, StoreError>(())
                    })
                });
                while f.db.combiner.queued_len() < 1 {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let long = s.spawn(|| {
                    f.db.write_combined(WAIT, |tx| {
                        tx.execute("INSERT INTO t (x) VALUES (2)", [])?;
                        Ok::<_, StoreError>(())
                    })
                });
                let r = short.join().unwrap();
                assert!(matches!(r, Err(StoreError::Busy)), "{r:?}");
                long
            });
            assert!(
                long.join().unwrap().is_ok(),
                "the second waited its own wait"
            );
        });
        assert_eq!(rows(&f), vec![2]);
    }

    #[test]
    fn a_piece_gives_up_busy_while_the_writer_stays_taken() {
        let f = with_table();
        fixture::while_writer_held(&f.db, || {
            std::thread::scope(|s| {
                for _ in 0..3 {
                    s.spawn(|| {
                        let r = f
                            .db
                            .write_combined(Duration::from_millis(50), |_| Ok::<_, StoreError>(()));
                        assert!(matches!(r, Err(StoreError::Busy)), "{r:?}");
                    });
                }
            })
        });
        assert_eq!(f.db.combiner.queued_len(), 0, "nothing left queued");
        assert!(
            f.db.write_combined(WAIT, |_| Ok::<_, StoreError>(()))
                .is_ok()
        );
    }
}
