//! `gharart-id backup FILE`: a consistent copy of the live database (`store::backup`), while the
//! server runs. The key file is not in it: back that up apart.

use std::path::Path;

use crate::store::engine::backup;

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
    let copied = backup::copy(db, file)?;
    crate::out!(
        "backed up {} ({} users, {} bytes) to {}",
        db.display(),
        copied.users,
        copied.bytes,
        file.display()
    );
    crate::out!(
        "the key file ({}.key) is not in the backup: keep a copy of it apart",
        db.display()
    );
    Ok(())
}
