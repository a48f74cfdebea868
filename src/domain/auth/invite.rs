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
use crate::domain::audit::{self, Event};
use crate::store::outbox::Kind;
use crate::store::sessions::{self, RevokeReason};
use crate::store::users::{self, NewUser};
use crate::store::{Db, StoreError, Tx, oauth, pats};

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

/// How a batch of invitations goes out.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The code's lifetime, counted from `send_at`.
    pub ttl: i64,
    /// When the messages may first be sent (`--send-after`), or now.
    pub send_at: Timestamp,
    /// Who invites, named in the message (`--invited-by`).
    pub inviter: Option<String>,
}

/// Invites the rows (or, with `dry_run`, only checks them); `progress` hears how many are done.
pub fn invite(
    db: &Db,
    pepper: &[u8; 32],
    rows: &[Invitee],
    how: &Invitation,
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

fn invite_one(
    tx: &Tx<'_>,
    pepper: &[u8; 32],
    row: &Invitee,
    how: &Invitation,
    now: Timestamp,
) -> Result<Outcome, StoreError> {
    let mailing = Mailing {
        kind: Kind::Invitation,
        ttl: how.ttl,
        send_at: how.send_at.max(now),
        inviter: how.inviter.as_deref(),
    };
    let why = |e: crate::domain::error::ApiError| Outcome::Invalid(e.message());
    let handle = match validate::handle(&row.handle) {
        Ok(h) => h,
        Err(e) => return Ok(why(e)),
    };
    let email = match validate::email(&row.email) {
        Ok(e) => e,
        Err(e) => return Ok(why(e)),
    };
    let display_name = match row
        .display_name
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(validate::display_name)
        .transpose()
    {
        Ok(d) => d,
        Err(e) => return Ok(why(e)),
    };
    let groups: Vec<&str> = row.groups.iter().map(String::as_str).collect();
    let groups = match super::team::groups(&groups) {
        Ok(g) => g,
        Err(e) => return Ok(why(e)),
    };
    let by_handle = users::find_by_handle(tx, &handle)?;
    let by_email = users::find_by_email(tx, email)?;
    match (&by_handle, &by_email) {
        (Some(h), Some(e)) if h.id == e.id => return Ok(Outcome::Exists),
        (Some(h), _) if holds_identity(h, now) => {
            return Ok(Outcome::Invalid(format!(
                "handle {handle} belongs to another email"
            )));
        }
        (_, Some(e)) if holds_identity(e, now) => {
            return Ok(Outcome::Invalid(format!(
                "email {email} is registered as {}",
                e.handle
            )));
        }
        _ => {}
    }
    for stale in [by_handle, by_email].into_iter().flatten() {
        users::delete(tx, &stale.id)?;
    }
    let id = new_id("usr_").map_err(|e| StoreError::Broken(e.to_string()))?;
    users::insert(
        tx,
        &NewUser {
            id: &id,
            handle: &handle,
            email,
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
    audit::record(
        tx,
        now,
        Event {
            name: "user_invited",
            actor: audit::operator(),
            target: Some(audit::user(&user)),
            caller: None,
            details: serde_json::json!({"groups": user.groups}),
        },
    )?;
    Ok(Outcome::Created)
}

/// Disables a user by handle and ends everything that signs them in: sessions, personal access
/// tokens and browser sessions. Returns false when there is no such user.
pub fn disable(db: &Db, handle: &str, now: Timestamp) -> Result<bool, StoreError> {
    db.write(|tx| {
        let Some(user) = users::find_by_handle(tx, &handle.to_lowercase())? else {
            return Ok(false);
        };
        users::disable(tx, &user.id, now)?;
        audit::record(
            tx,
            now,
            Event {
                name: "user_disabled",
                actor: audit::operator(),
                target: Some(audit::user(&user)),
                caller: None,
                details: serde_json::json!({}),
            },
        )?;
        sessions::revoke_all_for_user(tx, &user.id, RevokeReason::Disabled, now)?;
        pats::revoke_all_for_user(tx, &user.id, now)?;
        oauth::delete_browser_sessions_for_user(tx, &user.id)?;
        Ok(true)
    })
}
