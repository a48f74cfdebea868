//! `gharart-id reports list|show ID`: the support reports users sent, with the server's record
//! of the request each one names and the audit rows of that request.

use std::fmt::Write;

use super::terminal::{block, one_line};
use crate::commands::args::ReportsCommand;
use crate::core::clock::rfc3339;
use crate::domain::audit;
use crate::store::audit::Filter;
use crate::store::reports::{self, ReportRow};
use crate::store::request_log::RequestRecord;

pub fn run(cmd: ReportsCommand) -> Result<(), String> {
    match cmd {
        ReportsCommand::List { db, limit } => {
            let db = super::open_existing(&db.db)?;
            let rows = db
                .read(|c| reports::list_recent(c, limit))
                .map_err(|e| e.to_string())?;
            if rows.is_empty() {
                crate::out!("no support reports");
            }
            for r in rows {
                crate::out!(
                    "{}  {}  {}  request {}",
                    r.id,
                    rfc3339(r.received_at),
                    one_line(&r.summary),
                    one_line(r.request_id.as_deref().unwrap_or("-"))
                );
            }
            Ok(())
        }
        ReportsCommand::Show { db, id } => {
            let db = super::open_existing(&db.db)?;
            let row = db
                .read(|c| reports::find(c, &id))
                .map_err(|e| e.to_string())?;
            let row = row.ok_or_else(|| format!("no report {id}"))?;
            crate::out!("{}", render(&row).trim_end());
            if let Some(rid) = &row.request_id {
                let filter = Filter {
                    request_id: Some(rid.clone()),
                    ..Filter::default()
                };
                let events = audit::list(&db, &filter).map_err(|e| e.to_string())?;
                if !events.is_empty() {
                    crate::out!("audit rows of that request:");
                }
                for e in events {
                    crate::out!("  {}", audit::json_line(&e));
                }
            }
            Ok(())
        }
    }
}

/// A report as text for the terminal, every stored field escaped (`terminal`).
pub fn render(r: &ReportRow) -> String {
    let mut out = String::new();
    let or_dash = |v: &Option<String>| one_line(v.as_deref().unwrap_or("-"));
    let _ = writeln!(out, "report     {}", r.id);
    let _ = writeln!(out, "received   {} from {}", rfc3339(r.received_at), r.ip);
    let _ = writeln!(
        out,
        "reporter   {}",
        r.reporter_id.as_deref().unwrap_or("(not signed in)")
    );
    let _ = writeln!(out, "summary    {}", one_line(&r.summary));
    let _ = writeln!(out, "handle     {}", or_dash(&r.handle));
    let _ = writeln!(out, "session    {}", or_dash(&r.session_id));
    let _ = writeln!(out, "request    {}", or_dash(&r.request_id));
    let record: Option<RequestRecord> = r
        .request_record
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok());
    match (&r.request_id, record) {
        (Some(_), Some(rec)) => {
            let _ = writeln!(
                out,
                "  the server saw: {} {} -> {} {} in {:.1} ms at {} (user {}, ip {})",
                rec.method,
                rec.route,
                rec.status,
                rec.error_code.as_deref().unwrap_or(""),
                rec.latency_ms,
                rfc3339(rec.at),
                one_line(rec.user_id.as_deref().unwrap_or("-")),
                rec.ip
            );
        }
        (Some(_), None) => {
            let _ = writeln!(
                out,
                "  the server has no record of that request (unknown, older than the log, or a successful read)"
            );
        }
        _ => {}
    }
    let _ = writeln!(out, "details\n{}", block(&r.details, "  "));
    if let Some(artifact) = &r.repro_artifact {
        let _ = writeln!(
            out,
            "repro artifact ({} bytes)\n{}",
            artifact.len(),
            block(artifact, "  ")
        );
    }
    out
}
