//! When to try again: the retry delays of one message (5 s, doubling, at most 10 minutes, never
//! past the code's expiry), the spacing of `--smtp-rate N/WINDOW`, and the queue-wide back-off
//! after a relay says we send too fast.

use std::time::{Duration, Instant};

use crate::core::clock::Timestamp;

/// The first retry's delay; each later one doubles it.
const FIRST_RETRY_SECS: i64 = 5;
/// The longest wait between two attempts of one message.
const MAX_RETRY_SECS: i64 = 600;
/// The queue's first pause after a "too fast" reply; each one in a row doubles it.
const FIRST_PAUSE_SECS: i64 = 10;

/// When a message that has now failed `attempts` times (transiently) is tried again: never
/// after its code expires (at that moment it is dropped as expired instead).
pub fn next_attempt(attempts: i64, now: Timestamp, expires_at: Option<Timestamp>) -> Timestamp {
    let doublings = u32::try_from((attempts - 1).clamp(0, 16)).unwrap_or(16);
    let delay = (FIRST_RETRY_SECS << doublings).min(MAX_RETRY_SECS);
    let next = now + delay;
    expires_at.map_or(next, |e| next.min(e.max(now)))
}

/// `--smtp-rate N/WINDOW` (`60/1m`): at most N messages per WINDOW, spread evenly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub messages: u32,
    pub window_secs: i64,
}

impl Rate {
    /// Parses `N/WINDOW`, WINDOW a duration (`1m`, `10s`) or a bare unit (`s`, `m`, `h`).
    pub fn parse(text: &str) -> Result<Rate, String> {
        let bad = || format!("{text:?} is not a rate like 60/1m or 10/s");
        let (n, window) = text.trim().split_once('/').ok_or_else(bad)?;
        let messages: u32 = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
        let window = window.trim();
        let window = if matches!(window, "s" | "m" | "h" | "d") {
            format!("1{window}")
        } else {
            window.to_owned()
        };
        let window_secs = crate::core::clock::parse_duration(&window)
            .ok()
            .filter(|w| *w > 0)
            .ok_or_else(bad)?;
        Ok(Rate {
            messages,
            window_secs,
        })
    }

    /// The gap between two messages.
    pub fn spacing(&self) -> Duration {
        Duration::from_secs_f64(self.window_secs as f64 / f64::from(self.messages))
    }
}

/// The pacer of `--smtp-rate`: hands out one slot per spacing, on the monotonic clock.
#[derive(Debug)]
pub struct Pace {
    spacing: Option<Duration>,
    next: Option<Instant>,
}

impl Pace {
    pub fn new(rate: Option<Rate>) -> Pace {
        Pace {
            spacing: rate.map(|r| r.spacing()),
            next: None,
        }
    }

    /// How long to wait before the next message may go (zero: now).
    pub fn wait(&self, now: Instant) -> Duration {
        self.next
            .map_or(Duration::ZERO, |n| n.saturating_duration_since(now))
    }

    /// Takes the slot that [`Pace::wait`] said was free.
    pub fn take(&mut self, now: Instant) {
        if let Some(spacing) = self.spacing {
            let start = self.next.map_or(now, |n| n.max(now));
            self.next = Some(start + spacing);
        }
    }
}

/// The queue-wide pause after "too fast" replies: 10 s, doubling while they go on, at most
/// 10 minutes; a delivery that goes through ends it.
#[derive(Debug, Default)]
pub struct Backoff {
    pause: i64,
    until: Timestamp,
}

impl Backoff {
    /// Starts (or lengthens) the pause; returns when the queue resumes.
    pub fn trip(&mut self, now: Timestamp) -> Timestamp {
        self.pause = if self.pause == 0 {
            FIRST_PAUSE_SECS
        } else {
            (self.pause * 2).min(MAX_RETRY_SECS)
        };
        self.until = now + self.pause;
        self.until
    }

    /// A message went through: the relay is keeping up again.
    pub fn clear(&mut self) {
        self.pause = 0;
    }

    /// Whether the queue waits at `now`.
    pub fn paused(&self, now: Timestamp) -> bool {
        now < self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_five_seconds_up_to_ten_minutes_and_stop_at_expiry() {
        let delays: Vec<i64> = (1..=10)
            .map(|n| next_attempt(n, 1000, None) - 1000)
            .collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(next_attempt(3, 1000, Some(1007)), 1007);
        assert_eq!(
            next_attempt(3, 1000, Some(900)),
            1000,
            "already expired: due now"
        );
        assert_eq!(next_attempt(i64::MAX, 0, None), 600);
    }

    #[test]
    fn rates_parse_and_space_evenly() {
        let r = Rate::parse("60/1m").unwrap();
        assert_eq!(r.spacing(), Duration::from_secs(1));
        assert_eq!(
            Rate::parse("10/s").unwrap().spacing(),
            Duration::from_millis(100)
        );
        for bad in ["60", "0/1m", "x/1m", "60/0s", "60/1y", "-1/1m", "/1m"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
        let mut pace = Pace::new(Some(Rate::parse("2/1s").unwrap()));
        let t0 = Instant::now();
        assert_eq!(pace.wait(t0), Duration::ZERO);
        pace.take(t0);
        assert_eq!(pace.wait(t0), Duration::from_millis(500));
        pace.take(t0 + Duration::from_millis(500));
        assert_eq!(
            pace.wait(t0 + Duration::from_millis(600)),
            Duration::from_millis(400)
        );
        let mut free = Pace::new(None);
        free.take(t0);
        assert_eq!(free.wait(t0), Duration::ZERO);
    }

    #[test]
    fn the_queue_backs_off_doubling_and_clears() {
        let mut b = Backoff::default();
        assert_eq!(b.trip(100), 110);
        assert!(b.paused(109) && !b.paused(110));
        assert_eq!(b.trip(110), 130);
        b.clear();
        assert_eq!(b.trip(200), 210);
    }
}
