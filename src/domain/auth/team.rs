//! What an operator or an admin does to one teammate (API.md, "Team administration"): the role
//! (`member`, the default, or `admin`) and free groups that tokens and `id_token`s carry,
//! disabling and enabling an account, and revoking its sessions. The command line and `/admin`
//! call these same functions; each writes its audit row in the change's transaction.

use serde_json::json;

use super::validate;
use crate::core::clock::Timestamp;
use crate::domain::audit::{self, Acting};
use crate::domain::error::ApiError;
use crate::store::sessions::{self, RevokeReason};
use crate::store::users::{self, UserRow};
use crate::store::{Db, StoreError, Tx, mfa, oauth, passkeys, pats};

/// What the change did: the user's role and groups now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub role: String,
    pub groups: Vec<String>,
}

/// Why a change was refused.
#[derive(Debug)]
pub enum TeamError {
    NoSuchUser,
    Invalid(ApiError),
    Store(StoreError),
}

impl From<StoreError> for TeamError {
    fn from(e: StoreError) -> Self {
        TeamError::Store(e)
    }
}

impl std::fmt::Display for TeamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TeamError::NoSuchUser => f.write_str("no such user"),
            TeamError::Invalid(e) => f.write_str(&e.message()),
            TeamError::Store(e) => write!(f, "{e}"),
        }
    }
}

/// Checked group names, sorted, without repeats.
pub fn groups(raw: &[&str]) -> Result<Vec<String>, ApiError> {
    let mut out = raw
        .iter()
        .filter(|g| !g.trim().is_empty())
        .map(|g| validate::group(g))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// `users role HANDLE admin|member`.
pub fn set_role(
    db: &Db,
    handle: &str,
    role: &str,
    by: &Acting<'_>,
    now: Timestamp,
) -> Result<Membership, TeamError> {
    let role = validate::role(role).map_err(TeamError::Invalid)?;
    db.write(|tx| {
        let user = find(tx, handle)?;
        users::set_role(tx, &user.id, role, now)?;
        by.record(
            tx,
            now,
            "role_changed",
            Some(audit::user(&user)),
            json!({"from": user.role, "to": role}),
        )?;
        Ok(Membership {
            role: role.to_owned(),
            groups: user.groups,
        })
    })
}

/// `users groups HANDLE --add G --remove G`: removals first, then additions.
pub fn change_groups(
    db: &Db,
    handle: &str,
    add: &[&str],
    remove: &[&str],
    by: &Acting<'_>,
    now: Timestamp,
) -> Result<Membership, TeamError> {
    let add = groups(add).map_err(TeamError::Invalid)?;
    let remove = groups(remove).map_err(TeamError::Invalid)?;
    regroup(db, handle, by, now, |current| {
        let mut now_in: Vec<String> = current
            .iter()
            .filter(|g| !remove.contains(g))
            .cloned()
            .collect();
        now_in.extend(add.iter().cloned());
        now_in.sort();
        now_in.dedup();
        now_in
    })
}

/// Puts the user in exactly `wanted` (the team table's groups field).
pub fn replace_groups(
    db: &Db,
    handle: &str,
    wanted: &[&str],
    by: &Acting<'_>,
    now: Timestamp,
) -> Result<Membership, TeamError> {
    let wanted = groups(wanted).map_err(TeamError::Invalid)?;
    regroup(db, handle, by, now, |_| wanted.clone())
}

/// Sets the groups `change` makes of the current ones, with its audit row.
fn regroup(
    db: &Db,
    handle: &str,
    by: &Acting<'_>,
    now: Timestamp,
    change: impl Fn(&[String]) -> Vec<String>,
) -> Result<Membership, TeamError> {
    db.write(|tx| {
        let user = find(tx, handle)?;
        let now_in = change(&user.groups);
        users::set_groups(tx, &user.id, &now_in, now)?;
        by.record(
            tx,
            now,
            "groups_changed",
            Some(audit::user(&user)),
            json!({"from": user.groups, "to": now_in}),
        )?;
        Ok(Membership {
            role: user.role.clone(),
            groups: now_in,
        })
    })
}

/// `users disable HANDLE`: disables the account and ends everything that signs it in (sessions,
/// personal access tokens, browser sessions).
pub fn disable(db: &Db, handle: &str, by: &Acting<'_>, now: Timestamp) -> Result<(), TeamError> {
    db.write(|tx| {
        let user = find(tx, handle)?;
        users::disable(tx, &user.id, now)?;
        by.record(
            tx,
            now,
            "user_disabled",
            Some(audit::user(&user)),
            json!({}),
        )?;
        sign_out_everywhere(tx, &user.id, RevokeReason::Disabled, now)?;
        pats::revoke_all_for_user(tx, &user.id, now)?;
        Ok(())
    })
}

/// `users enable HANDLE`: the account signs in again (its revoked sessions and tokens stay
/// revoked).
pub fn enable(db: &Db, handle: &str, by: &Acting<'_>, now: Timestamp) -> Result<(), TeamError> {
    db.write(|tx| {
        let user = find(tx, handle)?;
        users::enable(tx, &user.id, now)?;
        by.record(tx, now, "user_enabled", Some(audit::user(&user)), json!({}))?;
        Ok(())
    })
}

/// Revokes every live session of the account, and its browser sessions: it signs in again
/// everywhere. Returns how many sessions were live.
pub fn revoke_sessions(
    db: &Db,
    handle: &str,
    by: &Acting<'_>,
    now: Timestamp,
) -> Result<usize, TeamError> {
    db.write(|tx| {
        let user = find(tx, handle)?;
        let revoked = sign_out_everywhere(tx, &user.id, RevokeReason::Revoked, now)?;
        by.record(
            tx,
            now,
            "session_revoked",
            Some(audit::user(&user)),
            json!({"sessions": revoked, "all": true}),
        )?;
        Ok(revoked)
    })
}

/// `users mfa-reset HANDLE`: removes every second factor of the user (TOTP, recovery codes,
/// passkeys), ends their open challenges, and revokes their sessions (a lost phone and lost
/// codes: the way back in is the password alone, once).
pub fn reset_second_factors(
    db: &Db,
    handle: &str,
    by: &Acting<'_>,
    now: Timestamp,
) -> Result<(), TeamError> {
    db.write(|tx| {
        let user = find(tx, handle)?;
        mfa::end_challenges_of(tx, &user.id, now)?;
        mfa::delete_all(tx, &user.id)?;
        passkeys::delete_all(tx, &user.id)?;
        by.record(
            tx,
            now,
            "second_factors_reset",
            Some(audit::user(&user)),
            json!({}),
        )?;
        sign_out_everywhere(tx, &user.id, RevokeReason::Revoked, now)?;
        Ok(())
    })
}

/// Revokes every session of the user and forgets their browsers; returns how many were live.
fn sign_out_everywhere(
    tx: &Tx<'_>,
    user_id: &str,
    reason: RevokeReason,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let revoked = sessions::revoke_all_for_user(tx, user_id, reason, now)?;
    oauth::delete_browser_sessions_for_user(tx, user_id)?;
    Ok(revoked)
}

fn find(tx: &Tx<'_>, handle: &str) -> Result<UserRow, TeamError> {
    users::find_by_handle(tx, &handle.to_lowercase())?.ok_or(TeamError::NoSuchUser)
}
