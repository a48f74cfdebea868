//! `Stream`: one connection's socket with its read buffer, read under deadlines. Every wait on
//! the client is bounded: the socket's read timeout is set to what is left of the deadline in
//! force before each read that has to wait (and only changed when it must, so the common case of
//! a request that arrives in one read costs no extra system call).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much is read from the socket at a time.
const READ_SIZE: usize = 16 * 1024;
/// The most buffer a connection keeps between requests.
const KEPT_WHEN_IDLE: usize = 4 * 1024;

/// What a read that had to wait came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Wait {
    /// More bytes are in the buffer.
    Filled,
    /// The client closed its side (or the server is stopping and shut it).
    Closed,
    /// The deadline passed.
    TimedOut,
}

pub struct Stream {
    socket: Arc<TcpStream>,
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..]`.
    start: usize,
    timeout: Option<Duration>,
}

impl Stream {
    pub fn new(socket: Arc<TcpStream>) -> Stream {
        Stream {
            socket,
            buf: Vec::new(),
            start: 0,
            timeout: None,
        }
    }

    /// The bytes received and not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Marks `n` buffered bytes as consumed.
    pub fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.buf.len());
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            // An ordinary request's few hundred bytes stay allocated for the next; a large one's
            // go, so that an idle connection holds at most this much.
            if self.buf.capacity() > KEPT_WHEN_IDLE {
                self.buf = Vec::new();
            }
        }
    }

    /// Reads what the client has sent next, waiting until `deadline` at most.
    pub fn fill(&mut self, deadline: Instant) -> Wait {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        loop {
            let Some(left) = deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
            else {
                return Wait::TimedOut;
            };
            // Whole milliseconds, and unchanged while within 50 ms of what is set: the common
            // case (a request that arrives in one read) costs no system call for it.
            let wanted = Duration::from_millis(left.as_millis().max(1) as u64);
            if self
                .timeout
                .is_none_or(|set| set.abs_diff(wanted) > Duration::from_millis(50))
            {
                if self.socket.set_read_timeout(Some(wanted)).is_err() {
                    return Wait::Closed;
                }
                self.timeout = Some(wanted);
            }
            // Read on the stack and keep only what arrived.
            let mut chunk = [0u8; READ_SIZE];
            match (&*self.socket).read(&mut chunk) {
                Ok(0) => return Wait::Closed,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Wait::Filled;
                }
                Err(e) => match e.kind() {
                    // The timeout set may end a little before the deadline: wait on.
                    io::ErrorKind::WouldBlock
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::Interrupted => {}
                    _ => return Wait::Closed,
                },
            }
        }
    }

    /// Sends `bytes`; false when the client is gone (or stalls past the write timeout).
    pub fn send(&self, bytes: &[u8]) -> bool {
        (&*self.socket)
            .write_all(bytes)
            .and_then(|()| (&*self.socket).flush())
            .is_ok()
    }

    /// Ends the connection after a last answer: closes the sending side, then reads and drops
    /// what the client still sends for a moment (at most 64 KiB), so that unread bytes do not
    /// make the kernel reset the connection before the client has read that answer.
    pub fn close_gracefully(mut self) {
        let _ = self.socket.shutdown(Shutdown::Write);
        let until = Instant::now() + Duration::from_secs(1);
        let mut dropped = 0;
        self.consume(usize::MAX);
        while dropped < 64 * 1024 && self.fill(until) == Wait::Filled {
            dropped += self.buffered().len();
            self.consume(usize::MAX);
        }
    }
}
