//! The connection layer: this server's own bounded HTTP/1.1 transport under rouille's request
//! and response types (rouille's own server, tiny_http, gave each connection an unbounded thread
//! and left framing, deadlines and failed thread creation to chance: docs/SECURITY.md).
//!
//! One accept thread takes connections; past `--max-connections`, or
//! `--max-connections-per-ip` from one address, a connection is answered 503 at once and closed.
//! Each held connection gets a thread of its own that reads requests under deadlines
//! ([`connection`]), and only a request whose head and body are complete enters the worker gate
//! ([`gate`]) to be handled. A thread that cannot be created refuses that one connection. Stopping
//! ends the accept loop, ends the idle connections, and waits for the answers in flight.

mod body;
mod connection;
mod gate;
pub mod head;
mod refusal;
mod slots;
mod stream;
pub mod wire;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::core::clock::Timestamp;
use gate::Gate;
pub use refusal::Refusal;
use slots::Slots;
use stream::Stream;

/// How long stopping waits for the connections' answers in flight.
const DRAIN_FOR: Duration = Duration::from_secs(30);
/// How long the accept loop pauses after `accept` fails (out of descriptors, say) before it
/// tries again: the failure refuses one connection, never the server.
const ACCEPT_PAUSE: Duration = Duration::from_millis(20);

/// What answers the requests: the app (or, in the benchmark, a bare handler).
pub trait Service: Send + Sync + 'static {
    /// The answer to a request that arrived whole.
    fn handle(&self, request: &rouille::Request) -> rouille::Response;
    /// The answer to a request or connection refused before any request could be handled.
    fn refused(&self, ip: IpAddr, why: Refused) -> rouille::Response;
    /// The time, for the `Date` header.
    fn now(&self) -> Timestamp;
}

/// Why the connection layer refused, before any handler ran.
#[derive(Debug, Clone, Copy)]
pub enum Refused {
    /// A request head or body it could not take (framing, version, size, deadline).
    Request(Refusal),
    /// A connection past a cap, or one no thread could be started for: `max_connections`,
    /// `max_connections_per_ip` or `thread`.
    Connection(&'static str),
}

impl Shared {
    /// The most body bytes read for a request to `target`.
    fn max_body_for(&self, target: &str) -> usize {
        let path = target.split('?').next().unwrap_or(target);
        self.large_bodies
            .iter()
            .find(|(p, _)| *p == path)
            .map_or(self.max_body, |(_, limit)| *limit)
    }
}

/// What every connection's thread shares.
struct Shared {
    service: Arc<dyn Service>,
    max_body: usize,
    large_bodies: &'static [(&'static str, usize)],
    gate: Gate,
    stop: AtomicBool,
}

/// The caps of the connection layer.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub max_per_ip: usize,
    /// Requests handled at once.
    pub workers: usize,
    /// The largest body any route takes: one byte past it is read, so that the route's own cap
    /// sees the excess; a body declared longer is not read at all.
    pub max_body: usize,
    /// Paths (exact, before any query) whose bodies may be larger, with their own cap.
    pub large_bodies: &'static [(&'static str, usize)],
    /// Where the number of connections held is kept, for the metrics.
    pub open: Arc<AtomicUsize>,
}

/// Connections being served.
pub struct Connections {
    addr: SocketAddr,
    shared: Arc<Shared>,
    slots: Arc<Slots>,
    accept: Option<JoinHandle<()>>,
}

impl Connections {
    /// Starts accepting on `listener`.
    pub fn start(
        listener: TcpListener,
        service: Arc<dyn Service>,
        limits: Limits,
    ) -> std::io::Result<Connections> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            service,
            max_body: limits.max_body,
            large_bodies: limits.large_bodies,
            gate: Gate::new(limits.workers),
            stop: AtomicBool::new(false),
        });
        let slots = Slots::new(
            limits.max_connections,
            limits.max_per_ip,
            limits.open.clone(),
        );
        let (accepting, held) = (shared.clone(), slots.clone());
        let accept = std::thread::Builder::new()
            .name("accept".into())
            .spawn(move || accept_loop(&listener, &accepting, &held))?;
        Ok(Connections {
            addr,
            shared,
            slots,
            accept: Some(accept),
        })
    }

    /// Stops accepting, ends idle connections, and waits for the answers in flight.
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // `accept` blocks: a connection of our own wakes it to see the flag.
        let _ = TcpStream::connect_timeout(&wake_address(self.addr), Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        self.slots.shut_idle();
        if !self.slots.wait_empty(DRAIN_FOR) {
            log::warn!(
                "stopping: {} connections still open after {DRAIN_FOR:?}",
                self.slots.count()
            );
        }
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        if self.accept.is_some() {
            self.stop();
        }
    }
}

/// Where to connect to reach a listener bound to `addr` (an unspecified address: loopback).
fn wake_address(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, slots: &Arc<Slots>) {
    let mut last_complaint: Option<Instant> = None;
    while !shared.stop.load(Ordering::SeqCst) {
        let (socket, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                if last_complaint.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                    log::error!("accepting a connection failed ({e}); retrying");
                    last_complaint = Some(Instant::now());
                }
                if is_out_of_resources(&e) {
                    std::thread::sleep(ACCEPT_PAUSE);
                }
                continue;
            }
        };
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let socket = Arc::new(socket);
        let slot = match slots.take(peer.ip(), &socket) {
            Ok(slot) => slot,
            Err(full) => {
                refuse_connection(&*shared.service, &socket, peer.ip(), full.reason());
                continue;
            }
        };
        let (serving, stream) = (shared.clone(), Stream::new(socket.clone()));
        let spawned = std::thread::Builder::new()
            .name("conn".into())
            .spawn(move || {
                connection::serve(stream, peer, &serving, &slot.idle);
                drop(slot);
            });
        if let Err(e) = spawned {
            log::error!("starting a connection thread failed ({e}); refusing that connection");
            refuse_connection(&*shared.service, &socket, peer.ip(), "thread");
        }
    }
}

/// Whether `accept` failed for want of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM),
/// which only time frees; another failure (a connection reset before it was taken) is retried
/// at once.
fn is_out_of_resources(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12))
}

/// Answers a refused connection without waiting on the client, and closes it. What the client
/// already sent is read and dropped first (without waiting): closing on unread bytes makes the
/// kernel reset the connection, and the client would see the reset rather than the 503.
fn refuse_connection(service: &dyn Service, socket: &TcpStream, ip: IpAddr, reason: &'static str) {
    let response = service.refused(ip, Refused::Connection(reason));
    let bytes = wire::serialize(response, 1, false, false, service.now());
    if socket.set_nonblocking(true).is_ok() {
        let _ = (&*socket).write(&bytes);
        let mut sink = [0u8; 4096];
        let mut dropped = 0;
        while dropped < 64 * 1024 {
            match (&*socket).read(&mut sink) {
                Ok(n) if n > 0 => dropped += n,
                _ => break,
            }
        }
    }
    let _ = socket.shutdown(std::net::Shutdown::Write);
}
