//! The online backup (`gharart-id backup FILE`): a consistent copy of a live database through
//! SQLite's backup API (all pages in one step: one read snapshot; writers go on meanwhile),
//! written under a `.partial` name and checked with `integrity_check` before it takes its
//! final one.

use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

/// What a finished backup holds.
pub struct Copied {
    pub users: i64,
    pub bytes: u64,
}

/// Copies the database at `db` to `file` (which must not exist). The error says what failed.
pub fn copy(db: &Path, file: &Path) -> Result<Copied, String> {
    let partial = file.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let src = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("opening {}: {e}", db.display()))?;
    src.busy_timeout(Duration::from_secs(10))
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
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    Ok(Copied { users, bytes })
}
