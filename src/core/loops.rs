//! The loop breaker (API.md, OAuth; LESSONS.md failure mode B): when one browser starts valid
//! authorizations for one client more than 5 times in 60 s without any code being redeemed, the
//! authorization endpoint stops redirecting and shows a page naming the loop and its request IDs.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::core::clock::Timestamp;

const WINDOW_SECS: i64 = 60;
const MAX_STARTS: usize = 5;

/// One authorization start: when, its request ID and the redirect URI in use.
#[derive(Debug, Clone)]
pub struct Start {
    pub at: Timestamp,
    pub request_id: String,
    pub redirect_uri: String,
}

#[derive(Default)]
pub struct LoopBreaker {
    starts: Mutex<HashMap<(String, String), Vec<Start>>>,
}

impl LoopBreaker {
    /// Records a start; returns the starts of the window when this one makes a loop.
    pub fn record(&self, browser: &str, client_id: &str, start: Start) -> Option<Vec<Start>> {
        let mut starts = self.starts.lock().unwrap_or_else(PoisonError::into_inner);
        let now = start.at;
        starts.retain(|_, list| list.iter().any(|s| now - s.at < WINDOW_SECS));
        let list = starts
            .entry((browser.to_owned(), client_id.to_owned()))
            .or_default();
        list.retain(|s| now - s.at < WINDOW_SECS);
        list.push(start);
        (list.len() > MAX_STARTS).then(|| list.clone())
    }

    /// A code issued to this browser for this client was redeemed: the flow works, so forget.
    pub fn redeemed(&self, browser: &str, client_id: &str) {
        self.starts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(browser.to_owned(), client_id.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(at: Timestamp, n: u32) -> Start {
        Start {
            at,
            request_id: format!("req_{n}"),
            redirect_uri: "https://a/cb".into(),
        }
    }

    #[test]
    fn six_starts_in_a_minute_make_a_loop() {
        let b = LoopBreaker::default();
        for n in 0..5 {
            assert!(
                b.record("br", "cli", start(100 + i64::from(n), n))
                    .is_none()
            );
        }
        let looped = b.record("br", "cli", start(106, 5)).unwrap();
        assert_eq!(looped.len(), 6);
        assert!(
            b.record("other", "cli", start(106, 6)).is_none(),
            "per browser"
        );
        b.redeemed("br", "cli");
        assert!(
            b.record("br", "cli", start(107, 7)).is_none(),
            "a redemption resets"
        );
        for n in 8..13 {
            b.record("br2", "cli", start(200, n));
        }
        assert!(
            b.record("br2", "cli", start(261, 13)).is_none(),
            "the window slides"
        );
    }
}
