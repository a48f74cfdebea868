//! The command line: its grammar (`args`), the `serve` flags made into a `Config` (`flags`), and
//! the subcommands, each a function from its parsed arguments to an exit status.

pub mod args;
pub mod audit;
pub mod backup;
pub mod clients;
pub mod demo;
pub mod flags;
pub mod keys;
pub mod mail;
pub mod reports;
pub mod serve;
pub mod terminal;
pub mod token;
pub mod users;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::store::{Db, Durability};

/// Serves until SIGTERM or SIGINT, then stops gracefully.
pub fn serve_until_signalled(running: crate::http::server::Running) -> Result<(), String> {
    let signal = Arc::new(AtomicBool::new(false));
    for sig in [SIGTERM, SIGINT] {
        signal_hook::flag::register(sig, signal.clone())
            .map_err(|e| format!("installing the signal handler: {e}"))?;
    }
    running.serve_until(&signal);
    Ok(())
}

/// Opens an existing database for an operator command (never creates one by mistake).
pub fn open_existing(path: &Path) -> Result<Db, String> {
    if !path.exists() {
        return Err(format!(
            "no database at {} (use --db or GHARART_DB)",
            path.display()
        ));
    }
    Db::open(path, Durability::Full).map_err(|e| format!("opening {}: {e}", path.display()))
}
