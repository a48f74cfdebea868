//! `Gate`: how many requests are handled at once (`--workers`). A connection's thread enters it
//! only once its request has arrived whole, so a slow client holds a connection slot, never a
//! worker. Entering while a place is free is one atomic step; only a full gate takes the lock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

pub struct Gate {
    max: usize,
    inside: AtomicUsize,
    waiting: AtomicUsize,
    lock: Mutex<()>,
    freed: Condvar,
}

/// A place inside the gate, given back on drop.
pub struct Pass<'a>(&'a Gate);

impl Gate {
    pub fn new(max: usize) -> Gate {
        Gate {
            max,
            inside: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            lock: Mutex::new(()),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free place.
    pub fn enter(&self) -> Pass<'_> {
        if self.try_enter() {
            return Pass(self);
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        while !self.try_enter() {
            guard = self
                .freed
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
        drop(guard);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        Pass(self)
    }

    fn try_enter(&self) -> bool {
        self.inside
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok()
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        let gate = self.0;
        gate.inside.fetch_sub(1, Ordering::SeqCst);
        if gate.waiting.load(Ordering::SeqCst) > 0 {
            let _guard = gate.lock.lock().unwrap_or_else(PoisonError::into_inner);
            gate.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn never_more_inside_than_the_gate_allows() {
        let gate = Arc::new(Gate::new(2));
        let peak = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gate, peak) = (gate.clone(), peak.clone());
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let _pass = gate.enter();
                        let now = gate.inside.load(Ordering::SeqCst);
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(gate.inside.load(Ordering::SeqCst), 0);
    }
}
