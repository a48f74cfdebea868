//! The background thread: writes the request log in batches, reloads the key file when
//! `keys rotate` changed it, and sweeps what has expired (codes, idempotency keys, daily counts,
//! request records, throttle windows, OAuth leftovers, the codes of failed mail). Mail has its
//! own thread (`core::mail::courier`), so a stalled relay holds nothing here.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::core::Core;
use crate::core::keys::KeyRing;
use crate::store::{
    StoreError, audit, codes, daily, idempotency, imports, mfa, oauth, outbox, passkeys,
    request_log, sessions,
};

const TICK: Duration = Duration::from_secs(1);
const SWEEP_TICKS: u64 = 60;
/// The request log keeps at most this many records, whatever their age.
const REQUEST_LOG_MAX_ROWS: u32 = 500_000;
/// Ended sessions are kept this long, so a late refresh hears why (revoked, reused, expired).
const ENDED_SESSION_KEEP_SECS: i64 = 7 * 86_400;
/// Expired codes are kept this long, so a late try hears `code_expired` rather than `code_invalid`.
const EXPIRED_CODE_KEEP_SECS: i64 = 7 * 86_400;
/// An upload of `/admin/import` is kept a day after it last moved.
const IMPORT_KEEP_SECS: i64 = 86_400;
/// An `Idempotency-Key` replays its answer for this long (API.md, Conventions).
pub const IDEMPOTENCY_KEEP_SECS: i64 = 24 * 3600;

pub struct Background {
    stop: Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    pub fn start(core: Arc<Core>) -> Background {
        let (stop, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("background".into())
            .spawn(move || run(&core, &rx))
            .map_err(|e| {
                log::error!(
                    "could not start the background thread ({e}): the request log and sweeps wait"
                )
            })
            .ok();
        Background { stop, thread }
    }

    /// Writes what is queued and ends the thread.
    pub fn stop(&mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(core: &Core, rx: &Receiver<()>) {
    let write_log = || {
        if let Err(e) = core.requests.flush(&core.db) {
            log::warn!("writing the request log failed: {e}");
        }
    };
    let mut key_stamp = stamp(&core.config.key_file);
    let mut ticks: u64 = 0;
    loop {
        match rx.recv_timeout(TICK) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                write_log();
                return;
            }
            Err(RecvTimeoutError::Timeout) => {
                ticks += 1;
                write_log();
                let now_stamp = stamp(&core.config.key_file);
                if now_stamp != key_stamp {
                    match KeyRing::load(&core.config.key_file) {
                        Ok(ring) => {
                            core.set_keys(ring);
                            key_stamp = now_stamp;
                            log::info!("reloaded the key file {}", core.config.key_file.display());
                        }
                        Err(e) => log::warn!("the key file changed but cannot be read: {e}"),
                    }
                }
                if ticks.is_multiple_of(SWEEP_TICKS)
                    && let Err(e) = sweep(core)
                {
                    log::warn!("sweeping expired records failed: {e}");
                }
            }
        }
    }
}

/// What tells a changed key file: its modification time and length.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    std::fs::metadata(path)
        .ok()
        .and_then(|m| Some((m.modified().ok()?, m.len())))
}

fn sweep(core: &Core) -> Result<(), StoreError> {
    let now = core.clock.now();
    core.throttle.sweep(now);
    core.db
        .write(|tx| codes::delete_expired(tx, now - EXPIRED_CODE_KEEP_SECS))?;
    core.db
        .write(|tx| request_log::delete_before(tx, now - core.config.request_log_days * 86_400))?;
    core.db
        .write(|tx| audit::sweep(tx, now - core.config.audit_days * 86_400))?;
    core.db
        .write(|tx| request_log::cap(tx, REQUEST_LOG_MAX_ROWS))?;
    core.db
        .write(|tx| sessions::delete_ended(tx, now - ENDED_SESSION_KEEP_SECS))?;
    core.db.write(|tx| oauth::sweep(tx, now))?;
    core.db.write(|tx| mfa::sweep(tx, now))?;
    core.db.write(|tx| passkeys::sweep(tx, now))?;
    core.db.write(|tx| outbox::forget_expired_codes(tx, now))?;
    core.db
        .write(|tx| imports::sweep(tx, now - IMPORT_KEEP_SECS))?;
    core.db
        .write(|tx| idempotency::delete_before(tx, now - IDEMPOTENCY_KEEP_SECS))?;
    // The daily counts of days before yesterday (a day is a UTC day, as `domain::daily` counts).
    core.db
        .write(|tx| daily::delete_before(tx, now.div_euclid(86_400) - 1))?;
    Ok(())
}
