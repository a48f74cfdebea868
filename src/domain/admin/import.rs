//! The browser import of `/admin`: an uploaded invitation file is previewed (every row's outcome,
//! with nothing written), kept, and applied on request by a job that reports its progress. The
//! rules are `users import`'s (`auth::csv`, `auth::invite`). A file is applied once: its apply is
//! claimed by a compare-and-set, and a row already there is reported as such, never invited twice.

use std::collections::HashMap;
use std::sync::Arc;

use super::Admin;
use crate::core::Core;
use crate::core::clock::{Clock, Timestamp};
use crate::core::mail::courier::Nudger;
use crate::domain::audit::{Acting, Caller};
use crate::domain::auth::csv;
use crate::domain::auth::invite::{self, Checked, Invitation, Outcome};
use crate::domain::error::ApiError;
use crate::store::imports::{self, NewImport};

use crate::store::audit::Party;
pub use crate::store::imports::ImportRow;
use crate::store::{Db, StoreError};

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 100_000;
/// An apply that has not moved for this long died with its server, and may be claimed again.
const STALE_SECS: i64 = 120;

/// One row of a preview.
#[derive(Debug, Clone)]
pub struct PreviewRow {
    pub line: usize,
    pub handle: String,
    pub email: String,
    pub outcome: Outcome,
}

/// A previewed upload.
#[derive(Debug, Clone)]
pub struct Preview {
    pub id: String,
    pub file_name: String,
    pub rows: Vec<PreviewRow>,
}

impl Preview {
    /// How many rows are new, already there, invalid.
    pub fn counts(&self) -> [usize; 3] {
        invite::tally(self.rows.iter().map(|r| &r.outcome))
    }
}

/// Reads `text`, says what applying it would do to each row, and keeps it for the apply. 422
/// `invalid_field` (`file`) for an empty file, one that is not UTF-8, or one past [`MAX_ROWS`].
pub fn preview(
    core: &Core,
    admin: &Admin,
    file_name: &str,
    bytes: &[u8],
    now: Timestamp,
) -> Result<Preview, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ApiError::invalid_field(
            "file",
            format!(
                "the file is not UTF-8 (at byte {}): save it as CSV UTF-8",
                e.valid_up_to()
            ),
        )
    })?;
    let (rows, lines) = csv::parse(text);
    if rows.is_empty() {
        return Err(ApiError::invalid_field(
            "file",
            "the file holds no rows of handle,email[,displayName[,groups]]",
        ));
    }
    if rows.len() > MAX_ROWS {
        return Err(ApiError::invalid_field(
            "file",
            format!(
                "the file holds {} rows; at most {MAX_ROWS} at once",
                rows.len()
            ),
        ));
    }
    let outcomes = core.db.read_snapshot(|c| {
        let mut seen = Seen::default();
        rows.iter()
            .zip(&lines)
            .map(|(row, line)| Ok(seen.judge(invite::check(c, row, now)?, *line)))
            .collect::<Result<Vec<_>, StoreError>>()
    })?;
    let id = crate::domain::auth::fresh_id("imp_")?;
    let file_name: String = file_name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    core.db.write(|tx| {
        imports::insert(
            tx,
            &NewImport {
                id: &id,
                created_by: &admin.browser.user_id,
                file_name: &file_name,
                body: text,
                total: rows.len() as i64,
                now,
            },
        )
    })?;
    Ok(Preview {
        id,
        file_name,
        rows: rows
            .into_iter()
            .zip(lines)
            .zip(outcomes)
            .map(|((row, line), outcome)| PreviewRow {
                line,
                handle: row.handle,
                email: row.email,
                outcome,
            })
            .collect(),
    })
}

/// The new rows seen so far in one file, so that a later row with the same handle or email is
/// judged as applying would judge it (after the earlier one is written).
#[derive(Default)]
struct Seen {
    handles: HashMap<String, (usize, String)>,
    emails: HashMap<String, (usize, String)>,
}

impl Seen {
    fn judge(&mut self, checked: Checked, line: usize) -> Outcome {
        let Checked::New { handle, email, .. } = checked else {
            return match checked {
                Checked::Invalid(why) => Outcome::Invalid(why),
                _ => Outcome::Exists,
            };
        };
        let email_key = email.to_lowercase();
        match (self.handles.get(&handle), self.emails.get(&email_key)) {
            (Some((_, e)), _) if e.eq_ignore_ascii_case(&email) => Outcome::Exists,
            (Some((first, _)), _) => Outcome::Invalid(format!(
                "handle {handle} is given to another email on line {first}"
            )),
            (None, Some((first, h))) => {
                Outcome::Invalid(format!("email {email} is given to {h} on line {first}"))
            }
            (None, None) => {
                self.handles.insert(handle.clone(), (line, email));
                self.emails.insert(email_key, (line, handle));
                Outcome::Created
            }
        }
    }
}

/// An upload as stored, for its progress page: `None` when there is none by that id.
pub fn status(core: &Core, id: &str) -> Result<Option<ImportRow>, ApiError> {
    Ok(core.db.read(|c| imports::find(c, id))?)
}

/// What asking to apply an upload did.
pub enum Started {
    /// The job to run (off the request); its progress shows on the upload's page.
    Job(Box<Job>),
    /// Applying already, or applied: nothing started.
    Already,
}

/// Claims upload `id` for applying by `admin`. 404 when there is none by that id.
pub fn start(
    core: &Core,
    admin: &Admin,
    id: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<Started, ApiError> {
    let claimed = core.db.write(|tx| {
        let Some(row) = imports::find(tx, id)? else {
            return Ok(None);
        };
        let claimed = imports::claim(tx, id, now - STALE_SECS, now)?;
        Ok::<_, StoreError>(Some((row, claimed)))
    })?;
    match claimed {
        None => Err(ApiError::NotFound),
        Some((_, false)) => Ok(Started::Already),
        Some((row, true)) => Ok(Started::Job(Box::new(Job {
            db: Arc::clone(&core.db),
            mail: core.mail.clone(),
            clock: core.clock.clone(),
            pepper: *core.keys().code_pepper(),
            ttl: core.config.lifetimes.invite_code,
            id: row.id,
            text: row.body,
            admin: admin.acting(caller).actor,
            caller: caller.clone(),
            now,
        }))),
    }
}

/// An apply to run on its own thread: it writes the rows in batches, records its progress after
/// each, and its outcome at the end.
pub struct Job {
    db: Arc<Db>,
    mail: Nudger,
    /// Progress is stamped with the time it is made, so a live apply never looks stale.
    clock: Clock,
    pepper: [u8; 32],
    ttl: i64,
    id: String,
    text: String,
    /// Who applies it, and from where: the actor and caller of its `user_invited` rows.
    admin: Party,
    caller: Caller,
    now: Timestamp,
}

impl Job {
    /// Runs the apply to its end. A failure leaves the upload `applying`, claimable again once
    /// stale; the rows written so far are there and are reported as existing then.
    pub fn run(self) {
        if let Err(e) = self.apply() {
            log::error!("import {} stopped: {e}", self.id);
        }
    }

    fn apply(&self) -> Result<(), StoreError> {
        let (rows, _) = csv::parse(&self.text);
        let how = Invitation {
            ttl: self.ttl,
            send_at: self.now,
            inviter: None,
            by: Acting {
                actor: self.admin.clone(),
                caller: Some(&self.caller),
            },
        };
        let mut progress = |done: usize| {
            let written = self
                .db
                .write(|tx| imports::progress(tx, &self.id, done as i64, self.clock.now()));
            if let Err(e) = written {
                log::warn!("import {}: progress not recorded: {e}", self.id);
            }
            self.mail.nudge();
        };
        let outcomes = invite::invite(
            &self.db,
            &self.pepper,
            &rows,
            &how,
            self.now,
            false,
            &mut progress,
        )?;
        let counts = invite::tally(&outcomes).map(|n| n as i64);
        self.db
            .write(|tx| imports::finish(tx, &self.id, counts, self.clock.now()))?;
        self.mail.nudge();
        Ok(())
    }
}
