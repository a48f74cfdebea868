//! Operator invitations (`gharart-id users add|import`): accounts created without a password,
//! each sent an invitation code with the invitation lifetime (72 h by default), which the teammate
//! confirms while choosing a password. Safe to run twice: a row whose handle and email already
//! belong together is reported as existing and sent nothing. Rows are written in batches, one
//! transaction each, so a thousand take well under a second.

use super::codes::{self, Mailing};
use super::signup::holds_identity;
use super::validate;
use crate::core::clock::Timestamp;
use crate::core::token::opaque::new_id;
use crate::domain::audit::{self, Acting};
use crate::store::outbox::Kind;
use crate::store::users::{self, NewUser};
use crate::store::{Conn, Db, StoreError, Tx};

const BATCH: usize = 250;

/// One row to invite, as read.
#[derive(Debug, Clone)]
pub struct Invitee {
    pub handle: String,
    pub email: String,
    pub display_name: Option<String>,
    /// The groups to put the new user in (`users import`'s fourth column).
    pub groups: Vec<String>,
}

/// What happened to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Exists,
    Invalid(String),
}

impl Outcome {
    /// Its place in the counts a run reports: created 0, existing 1, invalid 2.
    pub fn slot(&self) -> usize {
        match self {
            Outcome::Created => 0,
            Outcome::Exists => 1,
            Outcome::Invalid(_) => 2,
        }
    }
}

/// How many of `outcomes` were created, existed, were invalid.
pub fn tally<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> [usize; 3] {
    let mut counts = [0; 3];
    for o in outcomes {
        counts[o.slot()] += 1;
    }
    counts
}

/// How a batch of invitations goes out.
#[derive(Debug, Clone)]
pub struct Invitation<'a> {
    /// The code's lifetime, counted from `send_at`.
    pub ttl: i64,
    /// When the messages may first be sent (`--send-after`), or now.
    pub send_at: Timestamp,
    /// Who invites, named in the message (`--invited-by`).
    pub inviter: Option<String>,
    /// Who invites, for the audit log: the operator, or an admin in `/admin`.
    pub by: Acting<'a>,
}

/// Invites the rows (or, with `dry_run`, only checks them); `progress` hears how many are done.
pub fn invite(
    db: &Db,
    pepper: &[u8; 32],
    rows: &[Invitee],
    how: &Invitation<'_>,
    now: Timestamp,
    dry_run: bool,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<Outcome>, StoreError> {
    let mut outcomes = Vec::with_capacity(rows.len());
    let run = |tx: &Tx<'_>, batch: &[Invitee]| {
        batch
            .iter()
            .map(|row| invite_one(tx, pepper, row, how, now))
            .collect::<Result<Vec<_>, _>>()
    };
    if dry_run {
        // One transaction for every row, rolled back: later rows see earlier ones, nothing is kept.
        outcomes = db.rehearse(|tx| run(tx, rows))?;
        progress(outcomes.len());
        return Ok(outcomes);
    }
    for batch in rows.chunks(BATCH) {
        outcomes.extend(db.write(|tx| run(tx, batch))?);
        progress(outcomes.len());
    }
    Ok(outcomes)
}

/// A row as checked against the accounts there are.
#[derive(Debug, Clone)]
pub enum Checked {
    Invalid(String),
    Exists,
    /// To create, replacing the stale unconfirmed accounts that held its handle or email.
    New {
        handle: String,
        email: String,
        display_name: Option<String>,
        groups: Vec<String>,
        stale: Vec<String>,
    },
}

/// What inviting `row` would do at `now`, read on `conn` (a transaction or a snapshot).
pub fn check(conn: &Conn, row: &Invitee, now: Timestamp) -> Result<Checked, StoreError> {
    let fields = || -> Result<_, crate::domain::error::ApiError> {
        let handle = validate::handle(&row.handle)?;
        let email = validate::email(&row.email)?.to_owned();
        let display_name = row
            .display_name
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .map(validate::display_name)
            .transpose()?;
        let groups: Vec<&str> = row.groups.iter().map(String::as_str).collect();
        Ok((handle, email, display_name, super::team::groups(&groups)?))
    };
    let (handle, email, display_name, groups) = match fields() {
        Ok(f) => f,
        Err(e) => return Ok(Checked::Invalid(e.message())),
    };
    let by_handle = users::find_by_handle(conn, &handle)?;
    let by_email = users::find_by_email(conn, &email)?;
    match (&by_handle, &by_email) {
        (Some(h), Some(e)) if h.id == e.id => return Ok(Checked::Exists),
        (Some(h), _) if holds_identity(h, now) => {
            return Ok(Checked::Invalid(format!(
                "handle {handle} belongs to another email"
            )));
        }
        (_, Some(e)) if holds_identity(e, now) => {
            return Ok(Checked::Invalid(format!(
                "email {email} is registered as {}",
                e.handle
            )));
        }
        _ => {}
    }
    Ok(Checked::New {
        handle,
        email,
        display_name,
        groups,
        stale: [by_handle, by_email]
            .into_iter()
            .flatten()
            .map(|u| u.id)
            .collect(),
    })
}

fn invite_one(
    tx: &Tx<'_>,
    pepper: &[u8; 32],
    row: &Invitee,
    how: &Invitation<'_>,
    now: Timestamp,
) -> Result<Outcome, StoreError> {
    let mailing = Mailing {
        kind: Kind::Invitation,
        ttl: how.ttl,
        send_at: how.send_at.max(now),
        inviter: how.inviter.as_deref(),
    };
    let (handle, email, display_name, groups) = match check(tx, row, now)? {
        Checked::Invalid(why) => return Ok(Outcome::Invalid(why)),
        Checked::Exists => return Ok(Outcome::Exists),
        Checked::New {
            handle,
            email,
            display_name,
            groups,
            stale,
        } => {
            for id in stale {
                users::delete(tx, &id)?;
            }
            (handle, email, display_name, groups)
        }
    };
    let id = new_id("usr_").map_err(|e| StoreError::Broken(e.to_string()))?;
    users::insert(
        tx,
        &NewUser {
            id: &id,
            handle: &handle,
            email: &email,
            display_name: display_name.as_deref(),
            password_hash: None,
            invited: true,
            pending_until: mailing.send_at + mailing.ttl,
            now,
        },
    )?;
    if !groups.is_empty() {
        users::set_groups(tx, &id, &groups, now)?;
    }
    let user = users::find_by_id(tx, &id)?
        .ok_or_else(|| StoreError::Broken("inserted user vanished".into()))?;
    codes::issue(tx, pepper, &user, &mailing, now).map_err(|e| StoreError::Broken(e.message()))?;
    how.by.record(
        tx,
        now,
        "user_invited",
        Some(audit::user(&user)),
        serde_json::json!({"groups": user.groups}),
    )?;
    Ok(Outcome::Created)
}
