//! Starting and stopping the server: open the store and the key file, bind, start the background
//! thread, and serve on a fixed set of worker threads (a bounded pool; rouille's default is a
//! thread per request). The HTTP parsing is tiny_http's and the request and response types are
//! rouille's; the loop is ours, so that the listening socket has TCP_NODELAY, and a response is
//! written in one piece (`wire`). Stopping is graceful: dispatch what has arrived, finish the
//! requests in flight, write the request log, deliver queued mail, checkpoint the WAL.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::app::{self, App};
use crate::background::{self, Background};
use crate::clock::Clock;
use crate::config::Config;
use crate::keys::KeyRing;
use crate::listener::Listener;
use crate::mail::{Mailbox, Sink};
use crate::store::{Db, oauth};
use crate::wire;

/// A server that is up.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    background: Background,
}

/// Opens everything `config` names and starts serving. The error says what could not be opened.
pub fn start(config: Config, clock: Clock) -> Result<Running, String> {
    let readers = (config.workers / 4).clamp(4, 8);
    let db = Arc::new(
        Db::open_for_serving(&config.db_path, config.durability, readers)
            .map_err(|e| format!("opening {}: {e}", config.db_path.display()))?,
    );
    let keys = KeyRing::load_or_create(&config.key_file, clock.now()).map_err(|e| e.to_string())?;
    if let Some(dir) = &config.mail_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("--mail-dir {}: {e}", dir.display()))?;
    }
    let mailbox = config.demo.then(|| Arc::new(Mailbox::default()));
    let sink = Sink {
        dir: config.mail_dir.clone(),
        mailbox: mailbox.clone(),
    };
    let listener = bind(&config.listen).map_err(|e| format!("--listen {}: {e}", config.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("--listen {}: {e}", config.listen))?;
    let listener =
        Arc::new(Listener::new(listener).map_err(|e| format!("--listen {}: {e}", config.listen))?);
    let issuer = config
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let from_host = host_of(&issuer);
    let workers = config.workers;
    let (nudger, wake) = background::channel();
    let app = Arc::new(App::new(
        config,
        db,
        keys,
        clock,
        issuer,
        nudger.clone(),
        mailbox,
    ));
    let any_revoked = app.db.read(oauth::any_revoked_jti).unwrap_or(true);
    app.revoked_jtis.store(any_revoked, Ordering::Relaxed);
    // Its first round delivers whatever a previous run left in the outbox.
    let background = Background::start(app.clone(), &nudger, wake, sink, from_host);
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::with_capacity(workers + 1);
    for n in 0..workers {
        let (listener, app, stop) = (listener.clone(), app.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name(format!("worker-{n}"))
            .spawn(move || work(&listener, &app, &stop))
            .map_err(|e| format!("starting worker threads: {e}"))?;
        threads.push(thread);
    }
    let (supervised, stopping) = (listener.clone(), stop.clone());
    let supervisor = std::thread::Builder::new()
        .name("accept-supervisor".into())
        .spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                if supervised.supervise() {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        })
        .map_err(|e| format!("starting the accept supervisor: {e}"))?;
    threads.push(supervisor);
    Ok(Running {
        addr,
        app,
        stop,
        workers: threads,
        background,
    })
}

/// How long a connection may stay silent (between requests, or within one) or stall a write
/// before it is closed. Accepted sockets inherit it from the listener, as they do TCP_NODELAY.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(15);

/// Binds the listening socket with TCP_NODELAY and read/write timeouts, which the accepted
/// connections inherit (Linux): an idle keep-alive connection or a stalled client then frees the
/// thread that tiny_http gives each connection.
pub fn bind(listen: &str) -> std::io::Result<TcpListener> {
    let addr = listen
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address"))?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_nodelay(true)?;
    socket.set_read_timeout(Some(SOCKET_TIMEOUT))?;
    socket.set_write_timeout(Some(SOCKET_TIMEOUT))?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// One worker: takes requests until told to stop, then answers what has already arrived. A
/// `recv` error means tiny_http's accept loop ended; the listener's supervisor restarts it.
fn work(listener: &Listener, app: &App, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match listener.current().recv_timeout(Duration::from_millis(100)) {
            Ok(Some(request)) => answer(app, request),
            Ok(None) => {}
            Err(e) => listener.accept_failed(&e),
        }
        for request in listener.retired_requests() {
            answer(app, request);
        }
    }
    let http = listener.current();
    while let Ok(Some(request)) = http.try_recv() {
        answer(app, request);
    }
    for request in listener.retired_requests() {
        answer(app, request);
    }
}

/// Lets the app answer one request.
fn answer(app: &App, mut request: tiny_http::Request) {
    let rq = wire::request_of(&mut request);
    wire::respond(request, app::handle(app, &rq), app.clock.now());
}

impl Running {
    /// Serves until `signal` is set (by SIGTERM or SIGINT), then stops gracefully.
    pub fn serve_until(self, signal: &AtomicBool) {
        while !signal.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        log::info!("stopping: finishing the requests in flight");
        self.stop();
    }

    /// Stops taking requests, finishes the ones in flight, writes the request log, delivers queued
    /// mail and checkpoints the WAL. The listener closes when the last worker lets go of it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.workers.drain(..) {
            let _ = t.join();
        }
        self.background.stop();
        if let Err(e) = self.app.db.checkpoint() {
            log::warn!("checkpointing the WAL failed: {e}");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The host part of an http(s) URL, for the mail sender's domain.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or("").to_owned()
    };
    if host.is_empty() {
        "localhost".into()
    } else {
        host
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_of("https://id.gharart.com/base"), "id.gharart.com");
        assert_eq!(host_of("http://[::1]:80"), "[::1]");
    }
}
