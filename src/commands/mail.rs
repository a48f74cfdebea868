//! `gharart-id mail list|retry`: the outbox as the operator sees it (who was sent what, in which
//! state, and the relay's last word), and queueing failed messages again.

use super::terminal::one_line;
use crate::commands::args::MailCommand;
use crate::core::clock::{Clock, rfc3339};
use crate::store::outbox::{self, State};

pub fn run(cmd: MailCommand) -> Result<(), String> {
    let now = Clock::System.now();
    match cmd {
        MailCommand::List { db, state, limit } => {
            let state = state.as_deref().and_then(State::parse);
            let db = super::open_existing(&db.db)?;
            let rows = db
                .read(|c| outbox::list(c, state, limit))
                .map_err(|e| e.to_string())?;
            for m in rows {
                crate::out!(
                    "{:<8} {:<40} {:<10} {:<8} {:>3} {:<20} {:<20} {}",
                    m.id,
                    one_line(&m.to_addr),
                    m.kind.as_str(),
                    m.state.as_str(),
                    m.attempts,
                    rfc3339(m.created_at),
                    m.sent_at.map_or_else(|| "-".into(), rfc3339),
                    m.last_error.as_deref().map_or_else(|| "-".into(), one_line)
                );
            }
            Ok(())
        }
        MailCommand::Retry { db, ids, failed } => {
            if ids.is_empty() && !failed {
                return Err("name the messages (ID…, from mail list) or use --failed".into());
            }
            let db = super::open_existing(&db.db)?;
            let ids = if failed {
                db.read(outbox::failed_ids).map_err(|e| e.to_string())?
            } else {
                ids
            };
            let mut queued = 0;
            let mut refused = 0;
            for id in ids {
                let row = db
                    .read(|c| outbox::find(c, id))
                    .map_err(|e| e.to_string())?;
                let verdict = match row {
                    None => Err("no such message".to_owned()),
                    Some(m) if m.state != State::Failed => {
                        Err(format!("it is {}, not failed", m.state.as_str()))
                    }
                    Some(m) if m.expires_at.is_some_and(|e| e <= now) => {
                        Err("its code has expired: send a new one with `users resend`".to_owned())
                    }
                    Some(_) => db
                        .write(|tx| outbox::requeue(tx, id, now))
                        .map_err(|e| e.to_string())
                        .map(|_| ()),
                };
                match verdict {
                    Ok(()) => {
                        queued += 1;
                        crate::out!("message {id}: queued again");
                    }
                    Err(why) => {
                        refused += 1;
                        crate::out!("message {id}: not queued, {why}");
                    }
                }
            }
            crate::out!("{queued} queued again; a running server sends them within a few seconds");
            if refused > 0 && queued == 0 {
                Err(format!("{refused} messages could not be queued"))
            } else {
                Ok(())
            }
        }
    }
}
