//! What an admin does to accounts from the team table, to one row or to every checked one:
//! resend the invitation, disable or enable, set the role, add or remove a group, revoke the
//! sessions, reset the second factors. Each is the command line's domain call; each account's
//! change is its own transaction with its own audit row, and its outcome is reported per handle.

use super::Admin;
use crate::core::Core;
use crate::core::clock::{Timestamp, rfc3339};
use crate::domain::audit::Caller;
use crate::domain::auth::onboarding::{self, Resent, Selection};
use crate::domain::auth::team::{self, Membership, TeamError};
use crate::domain::auth::validate;
use crate::domain::error::ApiError;

/// One action of the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A new invitation code (all checked accounts in one pass, as `users resend`).
    Resend,
    /// A change made account by account.
    Change(Change),
}

/// A change to one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Disable,
    Enable,
    RevokeSessions,
    ResetSecondFactors,
    SetRole(String),
    AddGroup(String),
    RemoveGroup(String),
    /// Exactly these groups (space- or comma-separated as typed).
    SetGroups(Vec<String>),
}

impl Action {
    /// The form's `action` and, for a role or a group, its `value`. 422 `invalid_field` when
    /// either is not one the console offers.
    pub fn parse(name: &str, value: &str) -> Result<Action, ApiError> {
        Ok(Action::Change(match name {
            "resend" => return Ok(Action::Resend),
            "disable" => Change::Disable,
            "enable" => Change::Enable,
            "revoke_sessions" => Change::RevokeSessions,
            "reset_second_factors" => Change::ResetSecondFactors,
            "set_role" => Change::SetRole(validate::role(value)?.to_owned()),
            "add_group" => Change::AddGroup(validate::group(value)?),
            "remove_group" => Change::RemoveGroup(validate::group(value)?),
            "set_groups" => Change::SetGroups(
                value
                    .split([' ', ',', ';'])
                    .filter(|g| !g.is_empty())
                    .map(validate::group)
                    .collect::<Result<_, _>>()?,
            ),
            _ => {
                return Err(ApiError::invalid_field(
                    "action",
                    "choose one of resend, disable, enable, revoke_sessions, reset_second_factors, set_role, add_group, remove_group, set_groups",
                ));
            }
        }))
    }
}

impl Change {
    /// Whether it would lock the admin out, or sign them out, if done to their own account.
    fn spares_oneself(&self) -> bool {
        matches!(
            self,
            Change::Disable
                | Change::RevokeSessions
                | Change::ResetSecondFactors
                | Change::SetRole(_)
        )
    }
}

/// What the action did to one account: a line for the page, or why it did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub handle: String,
    pub outcome: Result<String, String>,
}

/// Applies `action` to each of `handles` (at most [`MAX_HANDLES`]); `bulk` when they come from
/// the bulk form (a bulk resend skips an address mailed within the last minute; a row's resend
/// always sends).
pub fn apply(
    core: &Core,
    admin: &Admin,
    action: &Action,
    handles: &[String],
    bulk: bool,
    caller: &Caller,
    now: Timestamp,
) -> Result<Vec<Done>, ApiError> {
    if handles.is_empty() {
        return Err(ApiError::invalid_field(
            "handle",
            "check at least one account for the action",
        ));
    }
    if handles.len() > MAX_HANDLES {
        return Err(ApiError::invalid_field(
            "handle",
            format!("at most {MAX_HANDLES} accounts at once"),
        ));
    }
    let by = admin.acting(caller);
    let Action::Change(change) = action else {
        let selection = Selection {
            handles: handles.to_vec(),
            bulk,
            ..Selection::default()
        };
        let pepper = *core.keys().code_pepper();
        let ttl = core.config.lifetimes.invite_code;
        let outcomes =
            onboarding::resend(&core.db, &pepper, &selection, ttl, &by, now, &mut |_, _| {})?;
        core.mail.nudge();
        return Ok(outcomes.into_iter().map(resent).collect());
    };
    let mut done = Vec::with_capacity(handles.len());
    for handle in handles {
        let outcome = if change.spares_oneself() && handle.eq_ignore_ascii_case(admin.handle()) {
            Err("not your own account from here: use your account page, or the command line".into())
        } else {
            one(core, change, handle, &by, now)?
        };
        done.push(Done {
            handle: handle.clone(),
            outcome,
        });
    }
    Ok(done)
}

/// The most accounts one submission acts on.
pub const MAX_HANDLES: usize = 1000;

fn one(
    core: &Core,
    change: &Change,
    handle: &str,
    by: &crate::domain::audit::Acting<'_>,
    now: Timestamp,
) -> Result<Result<String, String>, ApiError> {
    let db = &core.db;
    let result = match change {
        Change::Disable => team::disable(db, handle, by, now)
            .map(|()| "disabled; its sessions and tokens are revoked".to_owned()),
        Change::Enable => team::enable(db, handle, by, now).map(|()| "enabled".to_owned()),
        Change::RevokeSessions => {
            team::revoke_sessions(db, handle, by, now).map(|n| format!("{n} sessions revoked"))
        }
        Change::SetRole(role) => {
            team::set_role(db, handle, role, by, now).map(|m| format!("role {}", m.role))
        }
        Change::AddGroup(g) => team::change_groups(db, handle, &[g], &[], by, now).map(groups_line),
        Change::RemoveGroup(g) => {
            team::change_groups(db, handle, &[], &[g], by, now).map(groups_line)
        }
        Change::SetGroups(groups) => {
            let wanted: Vec<&str> = groups.iter().map(String::as_str).collect();
            team::replace_groups(db, handle, &wanted, by, now).map(groups_line)
        }
        Change::ResetSecondFactors => team::reset_second_factors(db, handle, by, now)
            .map(|()| "second factors removed, sessions revoked".to_owned()),
    };
    match result {
        Ok(line) => Ok(Ok(line)),
        Err(TeamError::Store(e)) => Err(e.into()),
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// The groups an account is in after a change, for the page.
fn groups_line(m: Membership) -> String {
    if m.groups.is_empty() {
        "in no group".to_owned()
    } else {
        format!("groups {}", m.groups.join(" "))
    }
}

fn resent(r: Resent) -> Done {
    match r {
        Resent::Sent { handle, expires_at } => Done {
            handle,
            outcome: Ok(format!(
                "new code queued, valid until {}",
                rfc3339(expires_at)
            )),
        },
        Resent::SkippedRecent(handle) => Done {
            handle,
            outcome: Err(
                "skipped: a resend queued mail for this address less than a minute ago".into(),
            ),
        },
        Resent::NotPending(handle, state) => Done {
            handle,
            outcome: Err(format!("skipped: {}", state.as_str())),
        },
        Resent::NoSuchUser(handle) => Done {
            handle,
            outcome: Err("no such user".into()),
        },
    }
}
