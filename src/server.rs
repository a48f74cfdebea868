//! Starting and stopping the server: open the store and the key file, bind, start the background
//! thread, and serve on a bounded pool of request threads (rouille's default is a thread per
//! request). Stopping is graceful: dispatch what has arrived, finish the requests in flight, write
//! the request log, deliver queued mail, checkpoint the WAL.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use rouille::Response;

use crate::app::{self, App};
use crate::background::{self, Background};
use crate::clock::Clock;
use crate::config::Config;
use crate::keys::KeyRing;
use crate::mail::{Mailbox, Sink};
use crate::store::Db;

/// A server that is up.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    background: Background,
}

/// Opens everything `config` names and starts serving. The error says what could not be opened.
pub fn start(config: Config, clock: Clock) -> Result<Running, String> {
    let db = Arc::new(
        Db::open(&config.db_path, config.durability)
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
    let slot: Arc<OnceLock<Arc<App>>> = Arc::new(OnceLock::new());
    let handler_slot = slot.clone();
    let server = rouille::Server::new(config.listen.as_str(), move |req| {
        match handler_slot.get() {
            Some(app) => app::handle(app, req),
            None => Response::text("starting")
                .with_status_code(503)
                .with_unique_header("Retry-After", "1"),
        }
    })
    .map_err(|e| format!("--listen {}: {e}", config.listen))?;
    let addr = server.server_addr();
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
    // Its first round delivers whatever a previous run left in the outbox.
    let background = Background::start(app.clone(), &nudger, wake, sink, from_host);
    let _ = slot.set(app.clone());
    let server = server.pool_size(workers);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("accept".into())
        .spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                server.poll_timeout(Duration::from_millis(100));
            }
            // Dispatch what has already arrived, then wait for every request in flight; the
            // listener closes when `server` is dropped at the end of this thread.
            server.poll();
            server.join();
        })
        .map_err(|e| format!("starting the accept thread: {e}"))?;
    Ok(Running {
        addr,
        app,
        stop,
        thread: Some(thread),
        background,
    })
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

    /// Stops accepting, finishes the requests in flight, writes the request log, delivers queued
    /// mail and checkpoints the WAL.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
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
