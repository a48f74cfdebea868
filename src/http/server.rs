//! Starting and stopping the server: open the store and the key file, bind, start the background
//! thread, and serve through the bounded connection layer (`conn`). Stopping is graceful: answer
//! what has arrived, finish the requests in flight, write the request log, deliver queued mail,
//! checkpoint the WAL.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::core::Core;
use crate::core::background::Background;
use crate::core::clock::Clock;
use crate::core::config::Config;
use crate::core::keys::KeyRing;
use crate::core::mail::courier::{self, Courier};
use crate::core::mail::message::Site;
use crate::core::mail::relay::Relay;
use crate::core::mail::schedule::Pace;
use crate::core::mail::{Mailbox, Sink};
use crate::core::token::seal::{self, SealKey};
use crate::http::conn::{Connections, Limits};
use crate::store::{Db, oauth};

/// A server that is up.
pub struct Running {
    pub addr: SocketAddr,
    pub core: Arc<Core>,
    connections: Connections,
    background: Background,
    courier: courier::Running,
}

/// Opens everything `config` names and starts serving. The error says what could not be opened.
pub fn start(config: Config, clock: Clock) -> Result<Running, String> {
    let readers = (config.workers / 4).clamp(4, 8);
    let db = Arc::new(
        Db::open_for_serving(
            &config.db_path,
            config.durability,
            config.checkpoints,
            readers,
        )
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
    let issuer = config
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let site = Site::new(&issuer, &host_of(&issuer), config.mail_from.as_deref())?;
    let relay = match &config.smtp {
        Some(smtp) => {
            let relay = Relay::new(
                smtp.url.clone(),
                smtp.password.clone(),
                smtp.ca_pem.as_deref(),
            )?;
            log::info!("mail goes through the relay {}", relay.describe());
            Some(relay)
        }
        None => None,
    };
    let mut limits = Limits {
        max_connections: config.max_connections,
        max_per_ip: config.max_connections_per_ip,
        workers: config.workers,
        max_body: crate::http::routes::MAX_BODY,
        large_bodies: crate::http::routes::LARGE_BODIES,
        open: Default::default(),
    };
    let (nudger, wake) = courier::channel();
    let core = Arc::new(Core::new(
        config,
        db,
        keys,
        clock,
        issuer,
        nudger.clone(),
        mailbox,
    ));
    let any_revoked = core.db.read(oauth::any_revoked_jti).unwrap_or(true);
    core.revoked_jtis.store(any_revoked, Ordering::Relaxed);
    // Its first round delivers whatever a previous run left in the outbox.
    let courier = Courier {
        db: core.db.clone(),
        clock: core.clock.clone(),
        seal: SealKey::derive(core.keys().code_pepper(), seal::OUTBOX),
        site,
        sink,
        relay,
        pace: Pace::new(core.config.smtp_rate),
        counts: core.metrics.mail.clone(),
    }
    .start(&nudger, wake);
    let background = Background::start(core.clone());
    limits.open = core.metrics.connections_open.clone();
    let connections = Connections::start(listener, core.clone(), limits)
        .map_err(|e| format!("starting the accept thread: {e}"))?;
    Ok(Running {
        addr,
        core,
        connections,
        background,
        courier,
    })
}

/// How long a client may stall a write of ours before its connection is closed. Accepted
/// sockets inherit it from the listener, as they do TCP_NODELAY (Linux); reads run under the
/// connection layer's own deadlines.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(15);

/// Binds the listening socket with TCP_NODELAY and a write timeout, which the accepted
/// connections inherit.
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
    socket.set_write_timeout(Some(SOCKET_TIMEOUT))?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
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
    /// mail and checkpoints the WAL.
    pub fn stop(mut self) {
        self.connections.stop();
        self.background.stop();
        self.courier.stop();
        if let Err(e) = self.core.db.checkpoint() {
            log::warn!("checkpointing the WAL failed: {e}");
        }
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
