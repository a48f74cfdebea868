//! Per-route throttles (API.md, Conventions): fixed wall-clock windows counted in memory, keyed
//! by IP, email, session or login name, and the login back-off that makes password guessing slow
//! without locking a real user out for longer than the failure window.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::core::clock::Timestamp;

/// A quota of `quota` requests per `window` seconds, named as in `RateLimit-Policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub name: &'static str,
    pub quota: u32,
    pub window: i64,
}

/// Why the throttles refused a request, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// The window's quota is spent (429 `throttled`).
    Quota { limit: Limit, retry_after_secs: u64 },
    /// The login is in its back-off after repeated failures (429 `login_backoff`).
    Backoff { limit: Limit, retry_after_secs: u64 },
}

/// The defaults of API.md; `--throttle-limit NAME=QUOTA/WINDOW` changes any of them.
pub const DEFAULT_LIMITS: [Limit; 12] = [
    Limit {
        name: "login-ip",
        quota: 60,
        window: 60,
    },
    Limit {
        name: "login-failures",
        quota: 10,
        window: 900,
    },
    Limit {
        name: "signup-ip",
        quota: 20,
        window: 3600,
    },
    Limit {
        name: "confirm-ip",
        quota: 30,
        window: 60,
    },
    Limit {
        name: "resend-email",
        quota: 5,
        window: 3600,
    },
    Limit {
        name: "resend-ip",
        quota: 30,
        window: 3600,
    },
    Limit {
        name: "forgot-email",
        quota: 5,
        window: 3600,
    },
    Limit {
        name: "forgot-ip",
        quota: 30,
        window: 3600,
    },
    Limit {
        name: "refresh-session",
        quota: 120,
        window: 60,
    },
    Limit {
        name: "report-ip",
        quota: 10,
        window: 3600,
    },
    Limit {
        name: "token-client",
        quota: 600,
        window: 60,
    },
    Limit {
        name: "register-user",
        quota: 20,
        window: 3600,
    },
];

/// The first back-off after `login-failures` is reached; it doubles with each further failure,
/// up to the failure window.
const FIRST_BACKOFF_SECS: i64 = 30;
/// Above this many tracked keys, expired entries are swept before a new one is added.
const SWEEP_ABOVE: usize = 100_000;

/// Whose failures a back-off counts: a login name's passwords, or a user's second-factor codes.
/// Kept apart, so that no login text can name (and lock) a user's second step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Subject {
    Login,
    SecondFactor,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Timestamp,
    blocked_until: Timestamp,
}

/// Request counts by (limit name, key): the window's start and the count in it.
type Windows = HashMap<(&'static str, String), (Timestamp, u32)>;

pub struct Throttle {
    enabled: bool,
    limits: Vec<Limit>,
    windows: Mutex<Windows>,
    failures: Mutex<HashMap<(Subject, String), Failures>>,
}

impl Throttle {
    pub fn new(enabled: bool, limits: Vec<Limit>) -> Throttle {
        Throttle {
            enabled,
            limits,
            windows: Mutex::default(),
            failures: Mutex::default(),
        }
    }

    fn limit(&self, name: &str) -> Option<Limit> {
        self.limits.iter().find(|l| l.name == name).copied()
    }

    /// Counts one request against `name` for `key`; 429 `throttled` once the window's quota is spent.
    pub fn hit(&self, name: &'static str, key: &str, now: Timestamp) -> Result<(), Exceeded> {
        let Some(limit) = self.limit(name).filter(|_| self.enabled) else {
            return Ok(());
        };
        let start = now - now.rem_euclid(limit.window);
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() > SWEEP_ABOVE {
            sweep_windows(&mut windows, &self.limits, now);
        }
        let entry = windows
            .entry((limit.name, key.to_owned()))
            .or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        if entry.1 >= limit.quota {
            return Err(Exceeded::Quota {
                limit,
                retry_after_secs: (start + limit.window - now).max(1) as u64,
            });
        }
        entry.1 += 1;
        Ok(())
    }

    /// 429 `login_backoff` while `login` is in its back-off after repeated failures.
    pub fn login_gate(&self, login: &str, now: Timestamp) -> Result<(), Exceeded> {
        self.gate(Subject::Login, login, now)
    }

    /// Records a failed login; from the quota-th failure in the window on, each failure blocks the
    /// login for a back-off that doubles, capped at the window.
    pub fn login_failed(&self, login: &str, now: Timestamp) {
        self.failed(Subject::Login, login, now);
    }

    /// A successful login clears the failures of its login name.
    pub fn login_succeeded(&self, login: &str) {
        self.succeeded(Subject::Login, login);
    }

    /// 429 `login_backoff` while the user's second-factor codes are in their back-off (the same
    /// `login-failures` limit as passwords, counted apart from them).
    pub fn factor_gate(&self, user_id: &str, now: Timestamp) -> Result<(), Exceeded> {
        self.gate(Subject::SecondFactor, user_id, now)
    }

    /// Records a wrong second-factor code of the user.
    pub fn factor_failed(&self, user_id: &str, now: Timestamp) {
        self.failed(Subject::SecondFactor, user_id, now);
    }

    /// A right second-factor code clears the user's failures.
    pub fn factor_succeeded(&self, user_id: &str) {
        self.succeeded(Subject::SecondFactor, user_id);
    }

    fn gate(&self, subject: Subject, key: &str, now: Timestamp) -> Result<(), Exceeded> {
        let Some(limit) = self.limit("login-failures").filter(|_| self.enabled) else {
            return Ok(());
        };
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        match failures.get(&(subject, key.to_owned())) {
            Some(f) if f.blocked_until > now => Err(Exceeded::Backoff {
                limit,
                retry_after_secs: (f.blocked_until - now) as u64,
            }),
            _ => Ok(()),
        }
    }

    fn failed(&self, subject: Subject, key: &str, now: Timestamp) {
        let Some(limit) = self.limit("login-failures").filter(|_| self.enabled) else {
            return;
        };
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, f| now - f.last <= limit.window || f.blocked_until > now);
        }
        let f = failures
            .entry((subject, key.to_owned()))
            .or_insert(Failures {
                count: 0,
                last: now,
                blocked_until: 0,
            });
        if now - f.last > limit.window {
            f.count = 0;
        }
        f.count += 1;
        f.last = now;
        if f.count >= limit.quota {
            let doublings = (f.count - limit.quota).min(20);
            f.blocked_until = now + (FIRST_BACKOFF_SECS << doublings).min(limit.window);
        }
    }

    fn succeeded(&self, subject: Subject, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(subject, key.to_owned()));
    }

    /// Drops windows and failure records that can no longer refuse anything.
    pub fn sweep(&self, now: Timestamp) {
        sweep_windows(
            &mut self.windows.lock().unwrap_or_else(PoisonError::into_inner),
            &self.limits,
            now,
        );
        let window = self.limit("login-failures").map_or(0, |l| l.window);
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, f| now - f.last <= window || f.blocked_until > now);
    }
}

fn sweep_windows(windows: &mut Windows, limits: &[Limit], now: Timestamp) {
    windows.retain(|(name, _), (start, _)| {
        limits
            .iter()
            .any(|l| l.name == *name && *start + l.window > now)
    });
}

/// Parses `NAME=QUOTA/WINDOW` (e.g. `signup-ip=100/1h`) into a change of a default limit.
pub fn parse_limit(text: &str) -> Result<Limit, String> {
    let bad = || format!("{text:?} is not NAME=QUOTA/WINDOW, e.g. signup-ip=100/1h");
    let (name, rest) = text.split_once('=').ok_or_else(bad)?;
    let (quota, window) = rest.split_once('/').ok_or_else(bad)?;
    let default = DEFAULT_LIMITS
        .iter()
        .find(|l| l.name == name.trim())
        .ok_or_else(|| format!("no throttle named {name:?}; the names are {}", names()))?;
    let quota: u32 = quota.trim().parse().map_err(|_| bad())?;
    let window = crate::core::clock::parse_duration(window)?;
    if quota == 0 || window == 0 {
        return Err(format!(
            "{text:?}: quota and window must be above 0 (use --throttle off to disable)"
        ));
    }
    Ok(Limit {
        name: default.name,
        quota,
        window,
    })
}

fn names() -> String {
    DEFAULT_LIMITS
        .iter()
        .map(|l| l.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(true, DEFAULT_LIMITS.to_vec())
    }

    #[test]
    fn windows_follow_the_wall_clock() {
        let t = throttle();
        let start = 3600 * 1000;
        for _ in 0..20 {
            t.hit("signup-ip", "1.2.3.4", start + 10).unwrap();
        }
        match t.hit("signup-ip", "1.2.3.4", start + 10) {
            Err(Exceeded::Quota {
                retry_after_secs,
                limit,
            }) => {
                assert_eq!(retry_after_secs, 3590);
                assert_eq!(limit.quota, 20);
            }
            other => panic!("{other:?}"),
        }
        assert!(t.hit("signup-ip", "5.6.7.8", start + 10).is_ok(), "per key");
        assert!(
            t.hit("signup-ip", "1.2.3.4", start + 3600).is_ok(),
            "a new window"
        );
    }

    #[test]
    fn no_login_text_reaches_a_users_second_factor_back_off() {
        let t = throttle();
        for i in 0..10 {
            t.login_failed("usr_1", 100 + i);
        }
        assert!(t.login_gate("usr_1", 110).is_err());
        assert!(t.factor_gate("usr_1", 110).is_ok(), "counted apart");
        for i in 0..10 {
            t.factor_failed("usr_2", 100 + i);
        }
        assert!(t.factor_gate("usr_2", 110).is_err());
        assert!(t.login_gate("usr_2", 110).is_ok());
        t.factor_succeeded("usr_2");
        assert!(t.factor_gate("usr_2", 110).is_ok());
    }

    #[test]
    fn login_backoff_grows_and_ends() {
        let t = throttle();
        for i in 0..9 {
            t.login_failed("ana", 100 + i);
        }
        assert!(t.login_gate("ana", 110).is_ok());
        t.login_failed("ana", 110);
        assert!(matches!(
            t.login_gate("ana", 111),
            Err(Exceeded::Backoff {
                retry_after_secs: 29,
                ..
            })
        ));
        assert!(t.login_gate("ana", 140).is_ok(), "30 s later");
        t.login_failed("ana", 140);
        assert!(
            matches!(
                t.login_gate("ana", 141),
                Err(Exceeded::Backoff {
                    retry_after_secs: 59,
                    ..
                })
            ),
            "doubled"
        );
        for i in 0..10 {
            t.login_failed("ana", 200 + i);
        }
        assert!(
            matches!(
                t.login_gate("ana", 210),
                Err(Exceeded::Backoff {
                    retry_after_secs: 899,
                    ..
                })
            ),
            "capped at the window"
        );
        t.login_succeeded("ana");
        assert!(t.login_gate("ana", 211).is_ok());
    }

    #[test]
    fn disabled_throttle_refuses_nothing() {
        let t = Throttle::new(false, DEFAULT_LIMITS.to_vec());
        for _ in 0..100 {
            t.hit("report-ip", "x", 0).unwrap();
            t.login_failed("x", 0);
        }
        assert!(t.login_gate("x", 0).is_ok());
    }

    #[test]
    fn limits_parse() {
        assert_eq!(
            parse_limit("signup-ip=100/1h").unwrap(),
            Limit {
                name: "signup-ip",
                quota: 100,
                window: 3600
            }
        );
        assert!(parse_limit("nope=1/1h").is_err());
        assert!(parse_limit("signup-ip=0/1h").is_err());
        assert!(parse_limit("signup-ip=5").is_err());
    }
}
