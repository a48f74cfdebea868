//! Roles and groups (API.md, "Team administration"): every user is a `member` (the default) or an
//! `admin`, and belongs to any number of free groups. Tokens and `id_token`s carry both; the
//! operator sets them from the command line (and, later, `/admin`), through these functions.

use serde_json::json;

use super::validate;
use crate::core::clock::Timestamp;
use crate::domain::audit::{self, Event};
use crate::domain::error::ApiError;
use crate::store::users::{self, UserRow};
use crate::store::{Db, StoreError};

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
    now: Timestamp,
) -> Result<Membership, TeamError> {
    let role = validate::role(role).map_err(TeamError::Invalid)?;
    db.write(|tx| {
        let user = find(tx, handle)?;
        users::set_role(tx, &user.id, role, now)?;
        audit::record(
            tx,
            now,
            Event {
                name: "role_changed",
                actor: audit::operator(),
                target: Some(audit::user(&user)),
                caller: None,
                details: json!({"from": user.role, "to": role}),
            },
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
    now: Timestamp,
) -> Result<Membership, TeamError> {
    let add = groups(add).map_err(TeamError::Invalid)?;
    let remove = groups(remove).map_err(TeamError::Invalid)?;
    db.write(|tx| {
        let user = find(tx, handle)?;
        let mut now_in: Vec<String> = user
            .groups
            .iter()
            .filter(|g| !remove.contains(g))
            .cloned()
            .collect();
        now_in.extend(add.iter().cloned());
        now_in.sort();
        now_in.dedup();
        users::set_groups(tx, &user.id, &now_in, now)?;
        audit::record(
            tx,
            now,
            Event {
                name: "groups_changed",
                actor: audit::operator(),
                target: Some(audit::user(&user)),
                caller: None,
                details: json!({"from": user.groups, "to": now_in}),
            },
        )?;
        Ok(Membership {
            role: user.role.clone(),
            groups: now_in,
        })
    })
}

fn find(tx: &crate::store::Tx<'_>, handle: &str) -> Result<UserRow, TeamError> {
    users::find_by_handle(tx, &handle.to_lowercase())?.ok_or(TeamError::NoSuchUser)
}
