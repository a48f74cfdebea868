//! `Core`: the state the domain stands on, built once per process (`http::server::start`, or an
//! operator command) and shared by every request thread: configuration, the database, the key
//! ring, the clock, the hash gate, the throttles, the caches of checked credentials, the request
//! log, the metrics and the mail queue's nudger. Nothing here knows HTTP or the domain's types.

pub mod background;
pub mod cache;
pub mod clock;
pub mod config;
pub mod keys;
pub mod logging;
pub mod loops;
pub mod mail;
pub mod metrics;
pub mod passkey;
pub mod password;
pub mod requests;
pub mod throttle;
pub mod token;
pub mod urlenc;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crate::core::cache::{AuthCache, PatRows, TokenRows};
use crate::core::clock::Clock;
use crate::core::config::Config;
use crate::core::keys::KeyRing;
use crate::core::loops::LoopBreaker;
use crate::core::mail::{Mailbox, Nudger};
use crate::core::metrics::Metrics;
use crate::core::password::HashGate;
use crate::core::requests::RequestLog;
use crate::core::throttle::Throttle;
use crate::core::token::jwt::Claims;
use crate::store::Db;
use crate::store::clients::ClientRow;

pub struct Core {
    pub config: Config,
    pub db: Arc<Db>,
    keys: RwLock<Arc<KeyRing>>,
    pub clock: Clock,
    /// `iss` of every token: `--issuer`, or `http://<bound address>`.
    pub issuer: String,
    /// `aud` of access tokens: `--audience`, or the issuer.
    pub audience: String,
    pub hash_gate: HashGate,
    pub throttle: Throttle,
    pub requests: RequestLog,
    pub loops: LoopBreaker,
    pub metrics: Metrics,
    /// Whether any access token may be on the revocation deny list (saves a read per request
    /// until `/oauth/revoke` first puts one there).
    pub revoked_jtis: AtomicBool,
    /// The rows behind recently checked access tokens, while the database has not changed.
    pub token_rows: AuthCache<TokenRows>,
    /// The same for personal access tokens, keyed by the token's hash.
    pub pat_rows: AuthCache<PatRows>,
    /// The same for OAuth clients, keyed by client id.
    pub client_rows: AuthCache<Option<Arc<ClientRow>>>,
    /// `GET /v2/auth/me` bodies by credential (`Principal::cached_as`), under the database
    /// version of the rows they show.
    pub me_bodies: AuthCache<Arc<Vec<u8>>>,
    /// Access tokens whose signature was checked, with their claims, under key ring version
    /// [`Core::keys_version`].
    pub verified_tokens: AuthCache<Arc<Claims>>,
    /// Moves whenever the key ring is replaced.
    keys_version: AtomicI64,
    /// The offline demo's state; `None` outside `gharart-id demo`.
    pub demo: Option<Demo>,
    pub mail: Nudger,
}

impl Core {
    pub fn new(
        config: Config,
        db: Arc<Db>,
        keys: KeyRing,
        clock: Clock,
        issuer: String,
        mail: Nudger,
        mailbox: Option<Arc<Mailbox>>,
    ) -> Core {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        // Hashes (running plus queued) may hold all request threads but a reserve, which stays
        // free for cheap requests such as /v2/auth/me during a login flood.
        let reserve = (config.workers / 4).max(4);
        let queue = config
            .workers
            .saturating_sub(reserve)
            .saturating_sub(cores)
            .max(1);
        Core {
            audience: config.audience.clone().unwrap_or_else(|| issuer.clone()),
            hash_gate: HashGate::new(cores, queue),
            throttle: Throttle::new(config.throttle, config.limits.clone()),
            requests: RequestLog::default(),
            loops: LoopBreaker::default(),
            metrics: Metrics::default(),
            revoked_jtis: AtomicBool::new(true),
            token_rows: AuthCache::default(),
            verified_tokens: AuthCache::default(),
            keys_version: AtomicI64::new(0),
            pat_rows: AuthCache::default(),
            client_rows: AuthCache::default(),
            me_bodies: AuthCache::default(),
            demo: mailbox.map(|mailbox| Demo {
                mailbox,
                client_id: OnceLock::new(),
            }),
            keys: RwLock::new(Arc::new(keys)),
            config,
            db,
            clock,
            issuer,
            mail,
        }
    }

    /// The key ring in force.
    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts a reloaded key ring in force (after `gharart-id keys rotate`).
    pub fn set_keys(&self, keys: KeyRing) {
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        self.keys_version.fetch_add(1, Ordering::SeqCst);
    }

    /// A number that moves whenever the key ring is replaced (what was verified under one ring is
    /// verified again under the next).
    pub fn keys_version(&self) -> i64 {
        self.keys_version.load(Ordering::SeqCst)
    }
}

/// The demo's mailbox and its built-in OAuth client.
pub struct Demo {
    pub mailbox: Arc<Mailbox>,
    pub client_id: OnceLock<String>,
}
