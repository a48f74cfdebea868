//! The one background thread: delivers queued mail as soon as a request asks (and, every second,
//! what operator commands queued, and retries what failed), writes the request log in batches,
//! reloads the key file when `keys rotate` changed it, and sweeps what has expired (codes,
//! idempotency keys, daily counts, request records, throttle windows, OAuth leftovers).

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::app::App;
use crate::keys::KeyRing;
use crate::mail::{self, Sink};
use crate::store::{StoreError, codes, oauth, outbox, request_log, sessions};
use crate::{daily, idempotency};

const TICK: Duration = Duration::from_secs(1);
const MAIL_RETRY_TICKS: u64 = 30;
const SWEEP_TICKS: u64 = 60;
/// The request log keeps at most this many records, whatever their age.
const REQUEST_LOG_MAX_ROWS: u32 = 500_000;
/// Ended sessions are kept this long, so a late refresh hears why (revoked, reused, expired).
const ENDED_SESSION_KEEP_SECS: i64 = 7 * 86_400;
/// Expired codes are kept this long, so a late try hears `code_expired` rather than `code_invalid`.
const EXPIRED_CODE_KEEP_SECS: i64 = 7 * 86_400;

pub enum Wake {
    Deliver,
    Stop,
}

/// Asks the background thread for a mail delivery round (after a commit that queued mail).
#[derive(Clone)]
pub struct Nudger(Sender<Wake>);

impl Nudger {
    pub fn nudge(&self) {
        let _ = self.0.send(Wake::Deliver);
    }
}

/// The channel between requests and the background thread.
pub fn channel() -> (Nudger, Receiver<Wake>) {
    let (tx, rx) = mpsc::channel();
    (Nudger(tx), rx)
}

pub struct Background {
    stop: Sender<Wake>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    pub fn start(
        app: Arc<App>,
        nudger: &Nudger,
        rx: Receiver<Wake>,
        sink: Sink,
        from_host: String,
    ) -> Background {
        let thread = std::thread::Builder::new()
            .name("background".into())
            .spawn(move || run(&app, &rx, &sink, &from_host))
            .map_err(|e| {
                log::error!("could not start the background thread ({e}): mail waits in the outbox")
            })
            .ok();
        Background {
            stop: nudger.0.clone(),
            thread,
        }
    }

    /// Writes what is queued, delivers the mail, and ends the thread.
    pub fn stop(&mut self) {
        let _ = self.stop.send(Wake::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(app: &App, rx: &Receiver<Wake>, sink: &Sink, from_host: &str) {
    let deliver = || {
        if let Err(e) = mail::flush(&app.db, sink, from_host, app.clock.now()) {
            log::warn!("outbox delivery failed: {e}");
        }
    };
    let write_log = || {
        if let Err(e) = app.requests.flush(&app.db) {
            log::warn!("writing the request log failed: {e}");
        }
    };
    deliver();
    let mut key_stamp = stamp(&app.config.key_file);
    let mut ticks: u64 = 0;
    loop {
        match rx.recv_timeout(TICK) {
            Ok(Wake::Deliver) => deliver(),
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => {
                write_log();
                deliver();
                return;
            }
            Err(RecvTimeoutError::Timeout) => {
                ticks += 1;
                write_log();
                let fresh = app.db.read(outbox::has_fresh).unwrap_or(false);
                if fresh || ticks.is_multiple_of(MAIL_RETRY_TICKS) {
                    deliver();
                }
                let now_stamp = stamp(&app.config.key_file);
                if now_stamp != key_stamp {
                    match KeyRing::load(&app.config.key_file) {
                        Ok(ring) => {
                            app.set_keys(ring);
                            key_stamp = now_stamp;
                            log::info!("reloaded the key file {}", app.config.key_file.display());
                        }
                        Err(e) => log::warn!("the key file changed but cannot be read: {e}"),
                    }
                }
                if ticks.is_multiple_of(SWEEP_TICKS)
                    && let Err(e) = sweep(app)
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

fn sweep(app: &App) -> Result<(), StoreError> {
    let now = app.clock.now();
    app.throttle.sweep(now);
    app.db
        .write(|tx| codes::delete_expired(tx, now - EXPIRED_CODE_KEEP_SECS))?;
    app.db
        .write(|tx| request_log::delete_before(tx, now - app.config.request_log_days * 86_400))?;
    app.db
        .write(|tx| request_log::cap(tx, REQUEST_LOG_MAX_ROWS))?;
    app.db
        .write(|tx| sessions::delete_ended(tx, now - ENDED_SESSION_KEEP_SECS))?;
    app.db.write(|tx| oauth::sweep(tx, now))?;
    idempotency::sweep(app, now)?;
    daily::sweep(app, now)?;
    Ok(())
}
