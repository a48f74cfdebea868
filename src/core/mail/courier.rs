//! The courier: one thread that delivers the outbox after each commit. It takes the due rows
//! (woken by a request's nudge, and every second for what other processes queued), drops
//! those whose code expired, paces them (`--smtp-rate`), frames each message and hands it to
//! the local sinks and the relay, and records the outcome on that row only: sent (the code is
//! forgotten), retried on the schedule, failed for good, or expired. Sent rows are recorded up
//! to 16 at a time: a crash between the relay's reply and the record sends those messages again
//! with the same `Message-ID`: at least once, never zero times.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::message::{self, Site};
use super::relay::{Attempt, Relay};
use super::schedule::{self, Backoff, Pace};
use super::sink::{self, Delivered, Sink};
use crate::core::clock::{Clock, Timestamp};
use crate::core::metrics::MailCounts;
use crate::core::token::seal::SealKey;
use crate::store::outbox::{self, Kind, OutboxRow};
use crate::store::{Db, StoreError};

/// How often the courier looks for rows queued by another process (`users import`, `mail retry`).
const POLL: Duration = Duration::from_secs(1);
/// Rows taken per round.
const BATCH: u32 = 64;
/// How long the last round at a graceful stop may take.
const STOP_BUDGET: Duration = Duration::from_secs(10);
/// Sent messages recorded in one transaction: a commit (an fsync) per message cost a third of
/// a burst's rate, and a crash before the record resends at most these, each with its own
/// Message-ID.
const RECORD_EVERY: usize = 16;

enum Wake {
    Deliver,
    Stop,
}

/// Asks the courier for a round (after a commit that queued mail).
#[derive(Clone)]
pub struct Nudger(Sender<Wake>);

impl Nudger {
    pub fn nudge(&self) {
        let _ = self.0.send(Wake::Deliver);
    }
}

/// What the courier needs.
pub struct Courier {
    pub db: Arc<Db>,
    pub clock: Clock,
    pub seal: SealKey,
    pub site: Site,
    pub sink: Sink,
    pub relay: Option<Relay>,
    pub pace: Pace,
    pub counts: Arc<MailCounts>,
}

/// Messages the relay took that their rows do not say yet: `(id, reply, when)`.
#[derive(Default)]
struct Unrecorded(Vec<(i64, String, Timestamp)>);

/// The running courier thread.
pub struct Running {
    wake: Sender<Wake>,
    thread: Option<JoinHandle<()>>,
}

/// The courier's channel: the nudger for requests, the other end for [`Courier::start`].
pub fn channel() -> (Nudger, WakeUp) {
    let (tx, rx) = mpsc::channel();
    (Nudger(tx), WakeUp(rx))
}

/// The courier's end of its channel.
pub struct WakeUp(Receiver<Wake>);

impl Courier {
    /// Starts the thread; its first round delivers what a previous run left.
    pub fn start(mut self, nudger: &Nudger, wake: WakeUp) -> Running {
        let thread = std::thread::Builder::new()
            .name("mail".into())
            .spawn(move || self.run(&wake.0))
            .map_err(|e| {
                log::error!("could not start the mail thread ({e}): mail waits in the outbox")
            })
            .ok();
        Running {
            wake: nudger.0.clone(),
            thread,
        }
    }

    fn run(&mut self, wake: &Receiver<Wake>) {
        let mut backoff = Backoff::default();
        loop {
            let more = self.round(&mut backoff, None);
            let wait = if more { Duration::ZERO } else { POLL };
            match wake.recv_timeout(wait) {
                Ok(Wake::Deliver) | Err(RecvTimeoutError::Timeout) => {}
                Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => {
                    self.round(&mut backoff, Some(Instant::now() + STOP_BUDGET));
                    return;
                }
            }
        }
    }

    /// Delivers the due rows; true when more may be due at once.
    fn round(&mut self, backoff: &mut Backoff, deadline: Option<Instant>) -> bool {
        let now = self.clock.now();
        if backoff.paused(now) {
            return false;
        }
        let batch = match self.db.read(|c| outbox::due(c, now, BATCH)) {
            Ok(b) => b,
            Err(e) => {
                log::warn!("reading the outbox failed: {e}");
                return false;
            }
        };
        let mut sent = Unrecorded::default();
        let mut more = batch.len() == BATCH as usize;
        for row in &batch {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                more = false;
                break;
            }
            match self.attempt(row, backoff, &mut sent, deadline) {
                Ok(Outcome::Continue) => {}
                Ok(Outcome::Pause) => {
                    more = false;
                    break;
                }
                Err(e) => {
                    log::warn!("recording a delivery failed: {e}");
                    more = false;
                    break;
                }
            }
        }
        if let Err(e) = self.record(&mut sent) {
            log::warn!("recording deliveries failed (they will be sent again): {e}");
            return false;
        }
        more
    }

    /// Writes the sent messages' rows, in one transaction.
    fn record(&self, sent: &mut Unrecorded) -> Result<(), StoreError> {
        if sent.0.is_empty() {
            return Ok(());
        }
        self.db.write(|tx| {
            for (id, reply, at) in &sent.0 {
                outbox::mark_sent(tx, *id, Some(reply), *at)?;
            }
            Ok::<_, StoreError>(())
        })?;
        sent.0.clear();
        Ok(())
    }

    /// Drops a message whose code expired before it could be delivered.
    fn drop_expired(&self, row: &OutboxRow) -> Result<Outcome, StoreError> {
        self.db.write(|tx| outbox::mark_expired(tx, row.id))?;
        self.counts.expired();
        log::warn!(target: "mail", "dropped message {} to {}: its code expired before it could be delivered", row.id, row.to_addr);
        Ok(Outcome::Continue)
    }

    fn attempt(
        &mut self,
        row: &OutboxRow,
        backoff: &mut Backoff,
        sent: &mut Unrecorded,
        deadline: Option<Instant>,
    ) -> Result<Outcome, StoreError> {
        let now = self.clock.now();
        if row.expires_at.is_some_and(|e| e <= now) {
            return self.drop_expired(row);
        }
        let wait = self.pace.wait(Instant::now());
        if !wait.is_zero() {
            if deadline.is_some_and(|d| Instant::now() + wait > d) {
                // Stopping: the paced rest waits for the next start.
                return Ok(Outcome::Pause);
            }
            // Record what went before waiting, so a paced queue never holds records for long.
            self.record(sent)?;
            std::thread::sleep(wait);
            // The code may have expired while the message waited for its slot.
            let now = self.clock.now();
            if row.expires_at.is_some_and(|e| e <= now) {
                return self.drop_expired(row);
            }
        }
        self.pace.take(Instant::now());
        let attempt = self.send(row, now);
        let now = self.clock.now();
        match attempt {
            Attempt::Sent(reply) => {
                backoff.clear();
                sent.0.push((row.id, reply, now));
                self.counts.sent();
                if sent.0.len() >= RECORD_EVERY {
                    self.record(sent)?;
                }
            }
            Attempt::Transient(why) => {
                let next = schedule::next_attempt(row.attempts + 1, now, row.expires_at);
                log::warn!(target: "mail", "message {} to {} not delivered yet, next try in {} s: {why}", row.id, row.to_addr, next - now);
                self.db
                    .write(|tx| outbox::mark_retry(tx, row.id, &why, next))?;
                self.counts.retry();
            }
            Attempt::TooFast(why) => {
                let resume = backoff.trip(now);
                let next = resume.min(row.expires_at.unwrap_or(resume));
                log::warn!(target: "mail", "the relay says we send too fast; the queue waits {} s: {why}", resume - now);
                self.db
                    .write(|tx| outbox::mark_retry(tx, row.id, &why, next))?;
                self.counts.retry();
                return Ok(Outcome::Pause);
            }
            Attempt::Permanent(why) => {
                log::warn!(target: "mail", "message {} to {} failed for good: {why}", row.id, row.to_addr);
                self.db.write(|tx| outbox::mark_failed(tx, row.id, &why))?;
                self.counts.failed();
            }
        }
        Ok(Outcome::Continue)
    }

    /// One attempt at every sink.
    fn send(&mut self, row: &OutboxRow, now: Timestamp) -> Attempt {
        let letter = if row.kind == Kind::Stored {
            message::compose(row, "", &self.site)
        } else {
            let code = row
                .sealed_code
                .as_deref()
                .and_then(|s| self.seal.open(row.message_id.as_bytes(), s))
                .and_then(|c| String::from_utf8(c).ok());
            let Some(code) = code else {
                return Attempt::Permanent(
                    "the code cannot be unsealed (was the key file replaced?)".into(),
                );
            };
            message::compose(row, &code, &self.site)
        };
        let framed = match message::frame(row, &letter, &self.site) {
            Ok(m) => m,
            Err(why) => return Attempt::Permanent(why),
        };
        let formatted = framed.formatted();
        if let Err(e) = self.sink.write_eml(row.id, &row.message_id, &formatted) {
            return Attempt::Transient(format!("writing to --mail-dir failed: {e}"));
        }
        let shown = Delivered {
            to_addr: row.to_addr.clone(),
            subject: letter.subject,
            body: letter.text,
            at: now,
        };
        let attempt = match &mut self.relay {
            Some(relay) => relay.send(framed.envelope(), &formatted),
            None => Attempt::Sent(if self.sink.is_empty() {
                sink::log(&shown);
                "written to the log".into()
            } else {
                "written locally".into()
            }),
        };
        if matches!(attempt, Attempt::Sent(_)) {
            self.sink.show(shown);
        }
        attempt
    }
}

enum Outcome {
    Continue,
    /// The relay asked the whole queue to wait.
    Pause,
}

impl Running {
    /// A last round (at most 10 s), then the thread ends.
    pub fn stop(&mut self) {
        let _ = self.wake.send(Wake::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
