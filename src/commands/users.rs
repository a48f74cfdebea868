//! `gharart-id users add|list|disable|enable|revoke-sessions|import|resend|role|groups|mfa-reset`:
//! invite teammates (one, or a CSV file of them, now or from `--send-after`), list accounts with
//! their onboarding state, resend codes to those who are stuck, and manage one account. Every
//! change is the same domain call `/admin` makes, with the operator as its audit row's actor. Mail is queued in the database; a running server
//! delivers it within seconds (without one, it waits for the next start).

use std::io::{IsTerminal, Write};

use super::terminal::one_line;
use crate::commands::args::UsersCommand;
use crate::core::clock::parse_duration;
use crate::core::clock::{Clock, Timestamp, next_time_of_day, parse_rfc3339, rfc3339};
use crate::core::keys::KeyRing;
use crate::domain::audit::Acting;
use crate::domain::auth::invite::{self, Invitation, Invitee, Outcome};
use crate::domain::auth::onboarding::{self, Resent, Selection};
use crate::domain::auth::{csv, mfa, team};

pub fn run(cmd: UsersCommand) -> Result<(), String> {
    let now = Clock::System.now();
    match cmd {
        UsersCommand::Add {
            keyed,
            handle,
            email,
            display_name,
            invite_code_ttl,
            admin,
        } => {
            let ttl =
                parse_duration(&invite_code_ttl).map_err(|e| format!("--invite-code-ttl: {e}"))?;
            let db = super::open_existing(&keyed.db.db)?;
            let ring = KeyRing::load(&keyed.key_path()).map_err(|e| e.to_string())?;
            let row = Invitee {
                handle: handle.clone(),
                email,
                display_name,
                groups: Vec::new(),
            };
            let how = Invitation {
                ttl,
                send_at: now,
                inviter: None,
                by: Acting::operator(),
            };
            let outcome = invite::invite(
                &db,
                ring.code_pepper(),
                std::slice::from_ref(&row),
                &how,
                now,
                false,
                &mut |_| {},
            )
            .map_err(|e| e.to_string())?;
            report(1, &row, &outcome[0]);
            match &outcome[0] {
                Outcome::Invalid(_) => Err("the user was not invited".into()),
                _ if admin => {
                    team::set_role(&db, &handle, "admin", &Acting::operator(), now)
                        .map_err(|e| e.to_string())?;
                    crate::out!("{handle} is an admin");
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        UsersCommand::Import {
            keyed,
            file,
            dry_run,
            invite_code_ttl,
            send_after,
            invited_by,
        } => {
            let ttl =
                parse_duration(&invite_code_ttl).map_err(|e| format!("--invite-code-ttl: {e}"))?;
            let send_at = match &send_after {
                Some(text) => {
                    parse_send_after(text, now).map_err(|e| format!("--send-after: {e}"))?
                }
                None => now,
            };
            if let Some(name) = &invited_by
                && (name.trim().is_empty()
                    || name.chars().count() > 100
                    || name.chars().any(char::is_control))
            {
                return Err("--invited-by: a name of 1 to 100 characters on one line".into());
            }
            let how = Invitation {
                ttl,
                send_at,
                inviter: invited_by.map(|n| n.trim().to_owned()),
                by: Acting::operator(),
            };
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let (rows, numbers) = csv::parse(&text);
            let db = super::open_existing(&keyed.db.db)?;
            let ring = KeyRing::load(&keyed.key_path()).map_err(|e| e.to_string())?;
            let tty = std::io::stderr().is_terminal();
            let total = rows.len();
            let mut progress = |done: usize| progress_bar(tty, done, total);
            let outcomes = invite::invite(
                &db,
                ring.code_pepper(),
                &rows,
                &how,
                now,
                dry_run,
                &mut progress,
            )
            .map_err(|e| e.to_string())?;
            if tty {
                eprintln!();
            }
            for ((row, outcome), line) in rows.iter().zip(&outcomes).zip(&numbers) {
                report(*line, row, outcome);
            }
            let [created, exists, invalid] = invite::tally(&outcomes);
            let verb = if dry_run {
                "would be invited"
            } else {
                "invited"
            };
            crate::out!(
                "{created} {verb}, {exists} already existed, {invalid} invalid{}",
                if dry_run {
                    " (dry run: nothing written)"
                } else {
                    ""
                }
            );
            if send_at > now && created > 0 && !dry_run {
                crate::out!(
                    "their invitations are held until {}; the codes work until {}",
                    rfc3339(send_at),
                    rfc3339(send_at + ttl)
                );
            }
            if invalid > 0 {
                Err(format!("{invalid} rows were invalid"))
            } else {
                Ok(())
            }
        }
        UsersCommand::List { db } => {
            let db = super::open_existing(&db.db)?;
            let rows = onboarding::roster(&db, now).map_err(|e| e.to_string())?;
            let enrolled = mfa::enrolled(&db).map_err(|e| e.to_string())?;
            for (u, state) in rows {
                let factor = if enrolled.contains(&u.id) { "mfa" } else { "-" };
                let origin = if u.invited { "invited" } else { "signed up" };
                let detail = if u.email_confirmed || u.disabled {
                    format!("{origin} {}", rfc3339(u.created_at))
                } else {
                    format!(
                        "{origin} {}, holds the account until {}",
                        rfc3339(u.created_at),
                        u.pending_until.map_or("-".into(), rfc3339)
                    )
                };
                crate::out!(
                    "{:<32} {:<40} {:<16} {factor:<4} {detail}",
                    one_line(&u.handle),
                    one_line(&u.email),
                    state.as_str()
                );
            }
            Ok(())
        }
        UsersCommand::Resend {
            keyed,
            handles,
            expired,
            failed,
            invite_code_ttl,
        } => {
            let ttl =
                parse_duration(&invite_code_ttl).map_err(|e| format!("--invite-code-ttl: {e}"))?;
            if handles.is_empty() && !expired && !failed {
                return Err(
                    "name the accounts (HANDLE…) or choose --expired and/or --failed".into(),
                );
            }
            let db = super::open_existing(&keyed.db.db)?;
            let ring = KeyRing::load(&keyed.key_path()).map_err(|e| e.to_string())?;
            let selection = Selection {
                handles,
                expired,
                failed,
                bulk: false,
            };
            let tty = std::io::stderr().is_terminal();
            let outcomes = onboarding::resend(
                &db,
                ring.code_pepper(),
                &selection,
                ttl,
                &Acting::operator(),
                now,
                &mut |done, total| progress_bar(tty, done, total),
            )
            .map_err(|e| e.to_string())?;
            if tty && !outcomes.is_empty() {
                eprintln!();
            }
            let mut sent = 0;
            let mut missing = 0;
            for outcome in &outcomes {
                match outcome {
                    Resent::Sent { handle, expires_at } => {
                        sent += 1;
                        crate::out!(
                            "{}: new code queued, valid until {}",
                            one_line(handle),
                            rfc3339(*expires_at)
                        );
                    }
                    Resent::SkippedRecent(handle) => crate::out!(
                        "{}: skipped, a resend queued mail for this address less than a minute ago",
                        one_line(handle)
                    ),
                    Resent::NotPending(handle, state) => {
                        crate::out!("{}: skipped, {}", one_line(handle), state.as_str())
                    }
                    Resent::NoSuchUser(handle) => {
                        missing += 1;
                        crate::out!("{}: no such user", one_line(handle));
                    }
                }
            }
            crate::out!("{sent} sent, {} skipped", outcomes.len() - sent - missing);
            if missing > 0 {
                Err(format!("{missing} handles matched no user"))
            } else {
                Ok(())
            }
        }
        UsersCommand::Role { db, handle, role } => {
            let db = super::open_existing(&db.db)?;
            let m = team::set_role(&db, &handle, &role, &Acting::operator(), now)
                .map_err(|e| format!("{handle}: {e}"))?;
            crate::out!("{handle}: role {}", m.role);
            Ok(())
        }
        UsersCommand::Groups {
            db,
            handle,
            add,
            remove,
        } => {
            let db = super::open_existing(&db.db)?;
            let add: Vec<&str> = add.iter().map(String::as_str).collect();
            let remove: Vec<&str> = remove.iter().map(String::as_str).collect();
            let m = team::change_groups(&db, &handle, &add, &remove, &Acting::operator(), now)
                .map_err(|e| format!("{handle}: {e}"))?;
            crate::out!(
                "{handle}: groups {}",
                if m.groups.is_empty() {
                    "(none)".to_owned()
                } else {
                    m.groups.join(" ")
                }
            );
            Ok(())
        }
        UsersCommand::MfaReset { db, handle } => {
            let db = super::open_existing(&db.db)?;
            team::reset_second_factors(&db, &handle, &Acting::operator(), now)
                .map_err(|e| format!("{handle}: {e}"))?;
            crate::out!(
                "reset {handle}: second factors removed, sessions revoked; the password signs in alone"
            );
            Ok(())
        }
        UsersCommand::Disable { db, handle } => {
            let db = super::open_existing(&db.db)?;
            team::disable(&db, &handle, &Acting::operator(), now)
                .map_err(|e| format!("{handle}: {e}"))?;
            crate::out!("disabled {handle}: its sessions and personal access tokens are revoked");
            Ok(())
        }
        UsersCommand::Enable { db, handle } => {
            let db = super::open_existing(&db.db)?;
            team::enable(&db, &handle, &Acting::operator(), now)
                .map_err(|e| format!("{handle}: {e}"))?;
            crate::out!("enabled {handle}: the password signs in again");
            Ok(())
        }
        UsersCommand::RevokeSessions { db, handle } => {
            let db = super::open_existing(&db.db)?;
            let n = team::revoke_sessions(&db, &handle, &Acting::operator(), now)
                .map_err(|e| format!("{handle}: {e}"))?;
            crate::out!("{handle}: {n} sessions revoked; every browser signs in again");
            Ok(())
        }
    }
}

/// A progress bar on a terminal's stderr; nothing when stderr is not a terminal.
fn progress_bar(tty: bool, done: usize, total: usize) {
    if tty {
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        eprint!(
            "\r[{}{}] {done}/{total}",
            "#".repeat(filled),
            " ".repeat(width - filled)
        );
        let _ = std::io::stderr().flush();
    }
}

/// `--send-after`: RFC 3339, or `HH:MM` in UTC (the next such time). A time in the past means now.
fn parse_send_after(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    let text = text.trim();
    parse_rfc3339(text)
        .or_else(|| next_time_of_day(text, now))
        .map(|t| t.max(now))
        .ok_or_else(|| {
            format!("{text:?} is neither RFC 3339 (2026-12-24T06:00:00Z) nor HH:MM in UTC")
        })
}

fn report(line: usize, row: &Invitee, outcome: &Outcome) {
    match outcome {
        Outcome::Created => crate::out!(
            "row {line}: created {} <{}>",
            one_line(&row.handle),
            one_line(&row.email)
        ),
        Outcome::Exists => crate::out!(
            "row {line}: already exists {} <{}>",
            one_line(&row.handle),
            one_line(&row.email)
        ),
        Outcome::Invalid(why) => crate::out!("row {line}: invalid: {why}"),
    }
}
