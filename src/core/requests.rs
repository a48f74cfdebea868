//! The server's record of recent requests (request ID, route, status, error code, latency, user,
//! IP, time; never a body or a secret), so that a support report naming a request ID shows what
//! the server saw. Records queue in memory and are written in batches by the background thread.
//! Every failure is kept; of the successes, writes and sign-ins (the dispatcher decides), so the
//! hot paths (me, refresh, token) write nothing when they succeed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::store::request_log;
pub use crate::store::request_log::RequestRecord;
use crate::store::{Db, StoreError};

/// At most this many records wait in memory; beyond it the oldest are dropped (and logged).
const MAX_PENDING: usize = 50_000;

#[derive(Default)]
pub struct RequestLog {
    pending: Mutex<VecDeque<RequestRecord>>,
    /// Records dropped from a full backlog since the last write that worked: the first drop is
    /// logged, the rest counted (a warning per request would cost each one a log write).
    dropped: AtomicU64,
}

impl RequestLog {
    /// Queues a record for the next batch.
    pub fn record(&self, record: RequestRecord) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.len() >= MAX_PENDING {
            pending.pop_front();
            self.note_dropped(1);
        }
        pending.push_back(record);
    }

    /// Writes what is queued, in one transaction. When the write fails (a full disk), the batch
    /// goes back to the front of the queue: the records of an outage are the ones support needs.
    pub fn flush(&self, db: &Db) -> Result<usize, StoreError> {
        let mut batch =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        if batch.is_empty() {
            return Ok(0);
        }
        match db.write(|tx| request_log::insert_all(tx, batch.make_contiguous())) {
            Ok(()) => {
                let dropped = self.dropped.swap(0, Ordering::Relaxed);
                if dropped > 0 {
                    log::warn!("request log written again; {dropped} records were dropped");
                }
                Ok(batch.len())
            }
            Err(e) => {
                let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                let newer = std::mem::replace(&mut *pending, batch);
                pending.extend(newer);
                let excess = pending.len().saturating_sub(MAX_PENDING);
                if excess > 0 {
                    pending.drain(..excess);
                    self.note_dropped(excess as u64);
                }
                Err(e)
            }
        }
    }

    /// Counts records dropped from a full backlog; the first since the last write is logged.
    fn note_dropped(&self, n: u64) {
        if self.dropped.fetch_add(n, Ordering::Relaxed) == 0 {
            log::warn!("request log backlog full; dropping the oldest records until it is written");
        }
    }

    /// The user's `limit` most recent records, queued or written, newest first.
    pub fn recent_for_user(
        &self,
        db: &Db,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let mut out: Vec<RequestRecord> = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .rev()
            .filter(|r| r.user_id.as_deref() == Some(user_id))
            .take(limit)
            .cloned()
            .collect();
        if out.len() < limit {
            out.extend(
                db.read(|c| request_log::recent_for_user(c, user_id, (limit - out.len()) as u32))?,
            );
        }
        Ok(out)
    }

    /// The newest record of `request_id`, queued or written.
    pub fn find(&self, db: &Db, request_id: &str) -> Result<Option<RequestRecord>, StoreError> {
        let queued = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .rev()
            .find(|r| r.request_id == request_id)
            .cloned();
        match queued {
            Some(r) => Ok(Some(r)),
            None => db.read(|c| request_log::find(c, request_id)),
        }
    }
}
