//! `gharart-id audit [--since 24h] [--user HANDLE] [--event E] [--json]`: the audit log, oldest
//! first, as aligned text or as JSON lines (one object per line, for a SIEM).

use std::path::Path;

use super::terminal::one_line;
use crate::core::clock::{Clock, parse_duration, rfc3339};
use crate::domain::audit;
use crate::store::audit::{Filter, Party};

pub fn run(
    db: &Path,
    since: Option<&str>,
    user: Option<&str>,
    event: Option<&str>,
    json: bool,
) -> Result<(), String> {
    let db = super::open_existing(db)?;
    let since = match since {
        Some(text) => {
            Some(Clock::System.now() - parse_duration(text).map_err(|e| format!("--since: {e}"))?)
        }
        None => None,
    };
    let user_id = match user {
        Some(handle) => Some(
            audit::user_id_of(&db, handle)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user {handle}"))?,
        ),
        None => None,
    };
    let filter = Filter {
        since,
        user_id,
        event: event.map(str::to_owned),
        request_id: None,
        newest: None,
    };
    for row in audit::list(&db, &filter).map_err(|e| e.to_string())? {
        if json {
            crate::out!("{}", audit::json_line(&row));
        } else {
            let who = |p: &Party| match (&p.handle, &p.id) {
                (Some(h), _) => format!("{}:{}", p.kind, one_line(h)),
                (None, Some(id)) => format!("{}:{id}", p.kind),
                (None, None) => p.kind.clone(),
            };
            crate::out!(
                "{}  {:<22} {:<24} {:<24} {:<15} {} {}",
                rfc3339(row.at),
                row.event,
                who(&row.actor),
                row.target.as_ref().map_or("-".to_owned(), who),
                row.ip.as_deref().unwrap_or("-"),
                row.request_id.as_deref().unwrap_or("-"),
                one_line(&row.details)
            );
        }
    }
    Ok(())
}
