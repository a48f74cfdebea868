//! `Slots`: the connections the server holds, capped in all and per client address. A connection
//! beyond either cap is refused before any thread or buffer is spent on it. Each held connection
//! is a [`Slot`], given back when it drops (whatever ends the connection, a panic included), and
//! its socket is listed, with whether it is idle, so that stopping can end the idle ones.

use std::collections::HashMap;
use std::net::{IpAddr, Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub struct Slots {
    max_total: usize,
    max_per_ip: usize,
    /// How many are held, for whoever watches (the metrics).
    open: Arc<AtomicUsize>,
    held: Mutex<Held>,
    released: Condvar,
}

#[derive(Default)]
struct Held {
    next_id: u64,
    per_ip: HashMap<IpAddr, usize>,
    sockets: HashMap<u64, (Arc<TcpStream>, Arc<AtomicBool>)>,
}

/// One held connection.
pub struct Slot {
    slots: Arc<Slots>,
    id: u64,
    ip: IpAddr,
    /// Set by the connection while it waits for a request to start.
    pub idle: Arc<AtomicBool>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Total,
    PerIp,
}

impl Full {
    /// The cap's name, as the metrics label it.
    pub fn reason(self) -> &'static str {
        match self {
            Full::Total => "max_connections",
            Full::PerIp => "max_connections_per_ip",
        }
    }
}

impl Slots {
    pub fn new(max_total: usize, max_per_ip: usize, open: Arc<AtomicUsize>) -> Arc<Slots> {
        Arc::new(Slots {
            max_total,
            max_per_ip,
            open,
            held: Mutex::new(Held::default()),
            released: Condvar::new(),
        })
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a connection from `ip`, unless a cap is reached.
    pub fn take(self: &Arc<Slots>, ip: IpAddr, socket: &Arc<TcpStream>) -> Result<Slot, Full> {
        let mut held = self.held();
        if held.sockets.len() >= self.max_total {
            return Err(Full::Total);
        }
        let from_ip = held.per_ip.entry(ip).or_insert(0);
        if *from_ip >= self.max_per_ip {
            return Err(Full::PerIp);
        }
        *from_ip += 1;
        held.next_id += 1;
        let id = held.next_id;
        let idle = Arc::new(AtomicBool::new(true));
        held.sockets.insert(id, (socket.clone(), idle.clone()));
        self.open.store(held.sockets.len(), Ordering::Relaxed);
        Ok(Slot {
            slots: self.clone(),
            id,
            ip,
            idle,
        })
    }

    /// How many connections are held.
    pub fn count(&self) -> usize {
        self.held().sockets.len()
    }

    /// Shuts the receiving side of every idle connection, which ends it at once. One in the
    /// middle of a request is left to finish it: it sees the server stopping and closes after
    /// its answer (its deadlines bound how long that takes).
    pub fn shut_idle(&self) {
        for (socket, idle) in self.held().sockets.values() {
            if idle.load(Ordering::SeqCst) {
                let _ = socket.shutdown(Shutdown::Read);
            }
        }
    }

    /// Waits until every connection has ended, or `limit` has passed; false in the latter case.
    pub fn wait_empty(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        let mut held = self.held();
        while !held.sockets.is_empty() {
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return false;
            };
            held = self
                .released
                .wait_timeout(held, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.slots.held();
        held.sockets.remove(&self.id);
        self.slots.open.store(held.sockets.len(), Ordering::Relaxed);
        if let Some(n) = held.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                held.per_ip.remove(&self.ip);
            }
        }
        drop(held);
        self.slots.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn caps_hold_in_all_and_per_address_and_slots_come_back() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let socket = Arc::new(TcpStream::connect(listener.local_addr().unwrap()).unwrap());
        let open = Arc::new(AtomicUsize::new(0));
        let slots = Slots::new(3, 2, open.clone());
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = slots.take(a, &socket).unwrap();
        let _second = slots.take(a, &socket).unwrap();
        assert_eq!(slots.take(a, &socket).err(), Some(Full::PerIp));
        let _third = slots.take(b, &socket).unwrap();
        assert_eq!(slots.take(b, &socket).err(), Some(Full::Total));
        assert_eq!(open.load(Ordering::Relaxed), 3);
        drop(first);
        assert_eq!(slots.count(), 2);
        assert_eq!(open.load(Ordering::Relaxed), 2);
        assert!(slots.take(a, &socket).is_ok());
        assert!(!slots.wait_empty(Duration::from_millis(10)));
    }
}
