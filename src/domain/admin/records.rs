//! What the console reads besides the team: the OAuth clients (and their removal, the same call
//! as `clients remove`), the support reports with the request record and audit rows of the
//! request each names, and the audit log with its filters.

use super::Admin;
use crate::core::Core;
use crate::core::clock::{Timestamp, parse_duration};
use crate::domain::audit::{self, Caller};
use crate::domain::error::ApiError;
use crate::domain::oauth::clients as oauth_clients;
use crate::store::audit::Filter;
use crate::store::{clients, reports};

pub use crate::store::audit::{AuditRow, Party};
pub use crate::store::clients::ClientRow;
pub use crate::store::reports::ReportRow;

/// Every registered client, oldest first.
pub fn clients(core: &Core) -> Result<Vec<ClientRow>, ApiError> {
    Ok(core.db.read(clients::list)?)
}

/// Removes client `id` (its grants and sessions go with it). 404 when there is none.
pub fn remove_client(
    core: &Core,
    admin: &Admin,
    id: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<(), ApiError> {
    if oauth_clients::remove(&core.db, id, &admin.acting(caller), now)? {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// The newest reports first.
pub fn reports(core: &Core, limit: u32) -> Result<Vec<ReportRow>, ApiError> {
    Ok(core.db.read(|c| reports::list_recent(c, limit))?)
}

/// Report `id` with the audit rows of the request it names. 404 when there is none.
pub fn report(core: &Core, id: &str) -> Result<(ReportRow, Vec<AuditRow>), ApiError> {
    let report = core
        .db
        .read(|c| reports::find(c, id))?
        .ok_or(ApiError::NotFound)?;
    let rows = match &report.request_id {
        Some(rid) => audit::list(
            &core.db,
            &Filter {
                request_id: Some(rid.clone()),
                ..Filter::default()
            },
        )?,
        None => Vec::new(),
    };
    Ok((report, rows))
}

/// The audit page's filters, as typed.
#[derive(Debug, Default)]
pub struct AuditQuery<'a> {
    /// A span back from now (`24h`, `7d`); empty: the last 7 days.
    pub since: &'a str,
    pub user: &'a str,
    pub event: &'a str,
    pub request_id: &'a str,
}

/// The most rows the page shows.
pub const AUDIT_PAGE_ROWS: u32 = 500;

/// The newest rows matching `q`, newest first. 422 `invalid_field` for a span that does not
/// parse or a handle that names no user.
pub fn audit_rows(
    core: &Core,
    q: &AuditQuery<'_>,
    now: Timestamp,
) -> Result<Vec<AuditRow>, ApiError> {
    let since = match q.since.trim() {
        "" => 7 * 86_400,
        text => parse_duration(text).map_err(|e| ApiError::invalid_field("since", e))?,
    };
    let user_id = match q.user.trim() {
        "" => None,
        handle => Some(
            audit::user_id_of(&core.db, handle)?
                .ok_or_else(|| ApiError::invalid_field("user", format!("no user {handle}")))?,
        ),
    };
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(audit::list(
        &core.db,
        &Filter {
            since: Some(now - since),
            user_id,
            event: text(q.event),
            request_id: text(q.request_id),
            newest: Some(AUDIT_PAGE_ROWS),
        },
    )?)
}
