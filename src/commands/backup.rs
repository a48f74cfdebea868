//! `gharart-id backup FILE`: a consistent copy of the live database through SQLite's online
//! backup API (all pages in one step: one read snapshot; writers go on meanwhile), checked with `integrity_check` before
//! it takes its final name. The key file is not in it: back that up apart.

use std::path::Path;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

pub fn run(db: &Path, file: &Path) -> Result<(), String> {
    if !db.exists() {
        return Err(format!(
            "no database at {} (use --db or GHARART_DB)",
            db.display()
        ));
    }
    if file.exists() {
        return Err(format!(
            "{} exists already; back up to a new file",
            file.display()
        ));
    }
    let partial = file.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let src = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("opening {}: {e}", db.display()))?;
    src.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    {
        let mut dst = Connection::open(&partial).map_err(|e| e.to_string())?;
        let backup = Backup::new(&src, &mut dst).map_err(|e| format!("backing up: {e}"))?;
        // Every page in one step: one read snapshot, so the copy is consistent even while
        // writers go on (stepping in pieces would restart whenever another connection writes).
        match backup.step(-1).map_err(|e| format!("backing up: {e}"))? {
            StepResult::Done => {}
            other => {
                return Err(format!(
                    "backing up: the database stayed busy ({other:?}); try again"
                ));
            }
        }
    }
    let copy = Connection::open(&partial).map_err(|e| e.to_string())?;
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if check != "ok" {
        return Err(format!(
            "the copy failed its integrity check ({check}); {} left for inspection",
            partial.display()
        ));
    }
    let users: i64 = copy
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    drop(copy);
    std::fs::rename(&partial, file).map_err(|e| e.to_string())?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    crate::out!(
        "backed up {} ({users} users, {size} bytes) to {}",
        db.display(),
        file.display()
    );
    crate::out!(
        "the key file ({}.key) is not in the backup: keep a copy of it apart",
        db.display()
    );
    Ok(())
}
