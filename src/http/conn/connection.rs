//! One connection, on its own thread: read a request head and body under their deadlines, then
//! (only then) take a place in the worker gate, let the app answer, and write the answer in one
//! piece; again while the client keeps the connection. Pipelined requests are answered in order.
//! A refused head or body is answered and the connection closed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::body::{self, BodyError};
use super::head::{self, Head, Scan};
use super::refusal::Refusal;
use super::stream::{Stream, Wait};
use super::wire;
use super::{Refused, Shared};

/// How long a connection may wait for the first byte of a request, and then for the rest of
/// its head.
const IDLE: Duration = Duration::from_secs(15);
const HEAD_WITHIN: Duration = Duration::from_secs(10);

/// What reading a head came to.
enum Next {
    Request(Head),
    /// Nothing to answer: the client closed, or stayed silent between requests.
    Done,
    Refused(Refusal),
}

/// Serves the connection until it ends. `idle` is set while the connection waits for a request
/// to start, so that stopping ends it then and not in the middle of one.
pub fn serve(mut stream: Stream, peer: SocketAddr, shared: &Shared, idle: &AtomicBool) {
    loop {
        idle.store(true, Ordering::SeqCst);
        let head = match next_head(&mut stream, &shared.stop, idle) {
            Next::Request(head) => head,
            Next::Done => return,
            Next::Refused(refusal) => return refuse(stream, peer, shared, refusal, 1, false),
        };
        idle.store(false, Ordering::SeqCst);
        let max_body = shared.max_body_for(&head.target);
        if head.expect_continue
            && head.framing.reads_body(max_body)
            && !stream.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        {
            return;
        }
        let body = match body::read(&mut stream, head.framing, max_body) {
            Ok(body) => body,
            Err(BodyError::Closed) => return,
            Err(BodyError::Refused(refusal)) => {
                let head_only = head.method == "HEAD";
                return refuse(stream, peer, shared, refusal, head.minor, head_only);
            }
        };
        let keep_alive = head.keep_alive && body.whole && !shared.stop.load(Ordering::Relaxed);
        let head_only = head.method == "HEAD";
        let request = rouille::Request::fake_http_from(
            peer,
            head.method,
            head.target,
            head.headers,
            body.bytes,
        );
        let response = {
            let _pass = shared.gate.enter();
            shared.service.handle(&request)
        };
        let now = shared.service.now();
        let bytes = wire::serialize(response, head.minor, head_only, keep_alive, now);
        if !stream.send(&bytes) {
            return;
        }
        if !keep_alive {
            return stream.close_gracefully();
        }
    }
}

/// Reads the next request head: waits up to [`IDLE`] for it to start, then up to
/// [`HEAD_WITHIN`] for the rest of it.
fn next_head(stream: &mut Stream, stop: &AtomicBool, idle: &AtomicBool) -> Next {
    let idle_until = Instant::now() + IDLE;
    let mut head_until = None;
    let mut scan = Scan::default();
    loop {
        let skip = head::leading_empty_lines(stream.buffered());
        if skip > 0 {
            stream.consume(skip);
            scan = Scan::default();
        }
        let buffered = stream.buffered();
        if let Some(end) = scan.advance(buffered) {
            let parsed = head::parse(&buffered[..end]);
            stream.consume(end);
            return match parsed {
                Ok(head) => Next::Request(head),
                Err(refusal) => Next::Refused(refusal),
            };
        }
        if scan.too_large(buffered) {
            return Next::Refused(Refusal::HeadTooLarge);
        }
        let started = !buffered.is_empty();
        if started && head_until.is_none() {
            head_until = Some(Instant::now() + HEAD_WITHIN);
            idle.store(false, Ordering::SeqCst);
        }
        if !started && stop.load(Ordering::SeqCst) {
            return Next::Done;
        }
        match stream.fill(head_until.unwrap_or(idle_until)) {
            Wait::Filled => {}
            Wait::Closed => return Next::Done,
            Wait::TimedOut if head_until.is_some() => return Next::Refused(Refusal::TimedOut),
            Wait::TimedOut => return Next::Done,
        }
    }
}

/// Answers a refused request and closes the connection.
fn refuse(
    stream: Stream,
    peer: SocketAddr,
    shared: &Shared,
    refusal: Refusal,
    minor: u8,
    head_only: bool,
) {
    let response = shared.service.refused(peer.ip(), Refused::Request(refusal));
    let bytes = wire::serialize(response, minor, head_only, false, shared.service.now());
    if stream.send(&bytes) {
        stream.close_gracefully();
    }
}
