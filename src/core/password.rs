//! Passwords: PBKDF2-HMAC-SHA256 in a self-describing PHC string
//! (`$pbkdf2-sha256$i=600000$<salt>$<hash>`, so the iteration count can rise and old hashes be
//! upgraded at the next login), the NIST SP 800-63B rules, and the gate that keeps at most one
//! hash per core running and a bounded queue waiting, so a login flood cannot take every thread.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use sha2::Sha256;

use crate::core::token::opaque::ct_eq;

pub const DEFAULT_ITERATIONS: u32 = 600_000;
pub const MIN_LEN_CHARS: usize = 8;
pub const MAX_LEN_BYTES: usize = 1024;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// The most common passwords (from public breach corpora), refused at signup and reset.
const COMMON: &str = include_str!("common_passwords.txt");

/// A password in memory. `Debug` never prints it.
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Why a password was refused; the text is shown to the user.
pub fn weakness(password: &str, handle: &str, email: &str) -> Option<&'static str> {
    if password.chars().count() < MIN_LEN_CHARS {
        return Some("the password must have at least 8 characters");
    }
    if password.len() > MAX_LEN_BYTES {
        return Some("the password must have at most 1024 bytes");
    }
    let lower = password.to_lowercase();
    if lower == handle.to_lowercase() || lower == email.to_lowercase() {
        return Some("the password must not be the handle or the email");
    }
    if COMMON.lines().any(|common| common == lower) {
        return Some("the password is one of the most common passwords");
    }
    None
}

/// Hashes `password` with a fresh salt.
pub fn hash(password: &str, iterations: u32) -> Option<String> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).ok()?;
    let mut out = [0u8; HASH_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut out);
    Some(format!(
        "$pbkdf2-sha256$i={iterations}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(out)
    ))
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Match { needs_upgrade: bool },
    NoMatch,
}

/// Checks `password` against `stored`. With no stored hash (unknown user, or an invited user who
/// has no password yet) the same work runs against a dummy, so timing does not tell them apart.
pub fn verify(password: &str, stored: Option<&str>, iterations: u32) -> Verdict {
    let parsed = stored.and_then(parse);
    let (iters, salt, expected) = match &parsed {
        Some((i, s, h)) => (*i, s.as_slice(), h.as_slice()),
        None => (iterations, &[0u8; SALT_LEN][..], &[0u8; HASH_LEN][..]),
    };
    let mut out = [0u8; HASH_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iters, &mut out);
    if parsed.is_some() && ct_eq(&out, expected) {
        Verdict::Match {
            needs_upgrade: iters < iterations,
        }
    } else {
        Verdict::NoMatch
    }
}

fn parse(phc: &str) -> Option<(u32, Vec<u8>, Vec<u8>)> {
    let mut parts = phc.split('$');
    let (empty, alg, params, salt, hash) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if !empty.is_empty() || alg != "pbkdf2-sha256" || parts.next().is_some() {
        return None;
    }
    let iterations: u32 = params.strip_prefix("i=")?.parse().ok()?;
    let salt = STANDARD_NO_PAD.decode(salt).ok()?;
    let hash = STANDARD_NO_PAD.decode(hash).ok()?;
    (iterations > 0 && hash.len() == HASH_LEN).then_some((iterations, salt, hash))
}

/// Admits at most `running` hashes at once and `waiting` more in line; beyond that the caller is
/// told to come back later (503 + `Retry-After`) instead of holding a request thread.
pub struct HashGate {
    state: Mutex<(usize, usize)>,
    freed: Condvar,
    running: usize,
    waiting: usize,
    max_wait: Duration,
}

/// The gate is full: too many hashes running and waiting.
#[derive(Debug)]
pub struct GateFull;

impl HashGate {
    pub fn new(running: usize, waiting: usize) -> HashGate {
        HashGate {
            state: Mutex::new((0, 0)),
            freed: Condvar::new(),
            running: running.max(1),
            waiting,
            max_wait: Duration::from_secs(10),
        }
    }

    /// Runs `work` when a slot is free, or refuses at once when the queue is full.
    pub fn run<T>(&self, work: impl FnOnce() -> T) -> Result<T, GateFull> {
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.0 >= self.running {
                if state.1 >= self.waiting {
                    return Err(GateFull);
                }
                state.1 += 1;
                let (mut s, timeout) = self
                    .freed
                    .wait_timeout_while(state, self.max_wait, |s| s.0 >= self.running)
                    .unwrap_or_else(PoisonError::into_inner);
                s.1 -= 1;
                if timeout.timed_out() {
                    return Err(GateFull);
                }
                state = s;
            }
            state.0 += 1;
        }
        let _slot = Slot(self);
        Ok(work())
    }
}

struct Slot<'a>(&'a HashGate);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verify_and_upgrade() {
        let h = hash("correct horse", 1000).unwrap();
        assert!(h.starts_with("$pbkdf2-sha256$i=1000$"));
        assert_eq!(
            verify("correct horse", Some(&h), 1000),
            Verdict::Match {
                needs_upgrade: false
            }
        );
        assert_eq!(
            verify("correct horse", Some(&h), 2000),
            Verdict::Match {
                needs_upgrade: true
            }
        );
        assert_eq!(verify("wrong horse", Some(&h), 1000), Verdict::NoMatch);
        assert_eq!(verify("correct horse", None, 1000), Verdict::NoMatch);
        assert_eq!(verify("x", Some("$md5$nope"), 1000), Verdict::NoMatch);
    }

    #[test]
    fn nist_rules() {
        assert!(weakness("short", "h", "e@x.io").is_some());
        assert!(weakness(&"a".repeat(1025), "h", "e@x.io").is_some());
        assert!(weakness("password123", "h", "e@x.io").is_some());
        assert!(weakness("Alice-Long", "alice-long", "e@x.io").is_some());
        assert!(weakness("tinsel-sleigh-42", "alice", "a@x.io").is_none());
        assert!(
            weakness("ünïcödé!", "alice", "a@x.io").is_none(),
            "8 characters, more bytes"
        );
    }

    #[test]
    fn gate_refuses_when_full() {
        let gate = std::sync::Arc::new(HashGate::new(1, 0));
        let (tx, rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let g = gate.clone();
        let t = std::thread::spawn(move || {
            g.run(|| {
                tx.send(()).unwrap();
                go_rx.recv().unwrap();
            })
            .unwrap()
        });
        rx.recv().unwrap();
        assert!(gate.run(|| ()).is_err(), "no waiting room: refused");
        go_tx.send(()).unwrap();
        t.join().unwrap();
        assert!(gate.run(|| ()).is_ok());
    }
}
