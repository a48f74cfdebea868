//! The subcommands of the binary, each a function from its parsed arguments to an exit status.

pub mod backup;
pub mod clients;
pub mod demo;
pub mod keys;
pub mod reports;
pub mod serve;
pub mod token;
pub mod users;

use std::path::Path;

use crate::store::{Db, Durability};

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
