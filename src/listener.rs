//! `Listener`: the listening socket and the tiny_http server that accepts on it, restarted when
//! its accept loop ends. tiny_http ends that loop for good at the first error `accept` returns,
//! and its accept thread panics when it cannot duplicate an accepted socket: in a connection flood
//! past the descriptor limit (EMFILE) the server would never take another connection. The
//! listener keeps its own handle on the socket; a worker reports an ended loop (`recv` fails) and
//! a panic hook counts that one panic of the accept thread; a small supervising thread then starts a fresh
//! tiny_http server on the same socket (after a pause, retried until it works). The old server is
//! kept for a while so that the connections it already has are still answered.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// How long after an accept error a new accept loop starts (descriptors need a moment to free).
const RESTART_PAUSE: Duration = Duration::from_millis(200);
/// How long a replaced server is still drained: past the 15 s socket timeouts of its connections.
const RETIRED_FOR: Duration = Duration::from_secs(60);

/// Panics so far at the one place tiny_http's accept thread panics (counted by a hook installed
/// once).
static TINY_HTTP_PANICS: AtomicU64 = AtomicU64::new(0);

/// Where the accept thread panics: duplicating an accepted socket (`try_clone().unwrap()`) when
/// no descriptor is left. tiny_http's other panics happen on threads that serve connections;
/// they leave the accept loop running, and restarting it would put two loops on one socket.
const ACCEPT_PANIC_SITE: &str = "util/refined_tcp_stream.rs";

fn count_tiny_http_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.location().is_some_and(|at| {
                at.file().contains("tiny_http") && at.file().ends_with(ACCEPT_PANIC_SITE)
            }) {
                TINY_HTTP_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

pub struct Listener {
    socket: TcpListener,
    current: RwLock<Arc<tiny_http::Server>>,
    retired: Mutex<Vec<(Instant, Arc<tiny_http::Server>)>>,
    any_retired: AtomicBool,
    /// Set by a worker that saw the accept loop end; cleared by the supervisor's restart.
    accept_failed: AtomicBool,
    /// [`TINY_HTTP_PANICS`] as of the last (re)start.
    panics_seen: AtomicU64,
}

impl Listener {
    pub fn new(socket: TcpListener) -> std::io::Result<Listener> {
        count_tiny_http_panics();
        let server = serve_on(&socket)?;
        Ok(Listener {
            panics_seen: AtomicU64::new(TINY_HTTP_PANICS.load(Ordering::SeqCst)),
            socket,
            current: RwLock::new(Arc::new(server)),
            retired: Mutex::new(Vec::new()),
            any_retired: AtomicBool::new(false),
            accept_failed: AtomicBool::new(false),
        })
    }

    /// The server whose accept loop is running.
    pub fn current(&self) -> Arc<tiny_http::Server> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A worker's report that `recv` failed: tiny_http's accept loop has ended.
    pub fn accept_failed(&self, error: &std::io::Error) {
        if !self.accept_failed.swap(true, Ordering::SeqCst) {
            log::error!("accepting connections failed ({error}); restarting the accept loop");
        }
    }

    /// For the supervising thread: starts a new accept loop if one ended. False while it cannot.
    pub fn supervise(&self) -> bool {
        let panics = TINY_HTTP_PANICS.load(Ordering::SeqCst);
        if !self.accept_failed.load(Ordering::SeqCst)
            && panics == self.panics_seen.load(Ordering::SeqCst)
        {
            return true;
        }
        if !self.accept_failed.swap(true, Ordering::SeqCst) {
            log::error!("the HTTP library panicked; restarting the accept loop");
        }
        std::thread::sleep(RESTART_PAUSE);
        match serve_on(&self.socket) {
            Ok(server) => {
                let old = std::mem::replace(
                    &mut *self.current.write().unwrap_or_else(PoisonError::into_inner),
                    Arc::new(server),
                );
                self.retired
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((Instant::now(), old));
                self.any_retired.store(true, Ordering::SeqCst);
                self.panics_seen.store(panics, Ordering::SeqCst);
                self.accept_failed.store(false, Ordering::SeqCst);
                log::warn!("accepting connections again");
                true
            }
            Err(e) => {
                log::error!("restarting the accept loop failed ({e}); retrying");
                false
            }
        }
    }

    /// Requests that arrived on connections of replaced servers (none in normal operation).
    pub fn retired_requests(&self) -> Vec<tiny_http::Request> {
        if !self.any_retired.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let mut retired = self.retired.lock().unwrap_or_else(PoisonError::into_inner);
        retired.retain(|(since, _)| since.elapsed() < RETIRED_FOR);
        self.any_retired
            .store(!retired.is_empty(), Ordering::Relaxed);
        let mut out = Vec::new();
        for (_, server) in retired.iter() {
            while let Ok(Some(request)) = server.try_recv() {
                out.push(request);
            }
        }
        out
    }
}

fn serve_on(socket: &TcpListener) -> std::io::Result<tiny_http::Server> {
    tiny_http::Server::from_listener(socket.try_clone()?, None)
        .map_err(|e| std::io::Error::other(e.to_string()))
}
