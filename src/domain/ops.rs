//! What the operations routes report: the health of the database and of the mail queue, and
//! the gauges of `/metrics` that are read from the database.

use crate::core::Core;
use crate::core::clock::Timestamp;
use crate::core::metrics::Gauges;
use crate::domain::error::ApiError;
use crate::store::outbox::{self, State};
use crate::store::sessions;

/// The mail queue as `/healthz` shows it.
pub struct Health {
    pub mail_pending: i64,
    /// How long the oldest pending message has waited since it could first be sent (0 if none).
    pub oldest_pending_seconds: i64,
}

/// Checks that the database answers and its writer is open (a relay that is down does not make
/// the server unhealthy), and summarizes the mail queue.
pub fn health(core: &Core, now: Timestamp) -> Result<Health, ApiError> {
    core.db.ping()?;
    let (pending, oldest) = core.db.read(outbox::pending_summary)?;
    Ok(Health {
        mail_pending: pending,
        oldest_pending_seconds: oldest.map_or(0, |t| (now - t).max(0)),
    })
}

/// The gauges of `/metrics`: live sessions, the mail queue, and the database file.
pub fn gauges(core: &Core, now: Timestamp) -> Result<Gauges, ApiError> {
    let active_sessions = core.db.read(|c| sessions::count_active(c, now))?;
    let queue = core.db.read(outbox::count_by_state)?;
    let in_state = |s: State| queue.iter().find(|(st, _)| *st == s).map_or(0, |(_, n)| *n);
    Ok(Gauges {
        mail_pending: in_state(State::Pending),
        mail_failed: in_state(State::Failed),
        active_sessions,
        db_size_bytes: core.db.size_bytes(),
        wal_checkpoints: core.db.checkpoints_done(),
    })
}
