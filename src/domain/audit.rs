//! The audit log (API.md, "Team administration and audit"): security events, each written in
//! the transaction of the change it records, with who did it (a user, the operator's command
//! line, or nobody signed in), what it was done to, the client's address and request ID, and
//! details that never hold a secret. `gharart-id audit` reads it back, as text or JSON lines.

use serde_json::{Value, json};

use crate::core::clock::{Timestamp, rfc3339};
use crate::store::audit::{self, AuditRow, Filter, Party};
use crate::store::users::UserRow;
use crate::store::{Db, StoreError, Tx};

/// Where a request came from: what the audit log records beside the event, and the user agent a
/// session keeps. The command line is a caller without an address.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

/// A user as a row names them.
pub fn user(u: &UserRow) -> Party {
    Party {
        kind: "user".into(),
        id: Some(u.id.clone()),
        handle: Some(u.handle.clone()),
    }
}

/// A user known by id only.
pub fn user_id(id: &str) -> Party {
    Party {
        kind: "user".into(),
        id: Some(id.to_owned()),
        handle: None,
    }
}

/// An OAuth client.
pub fn client(id: &str, name: Option<&str>) -> Party {
    Party {
        kind: "client".into(),
        id: Some(id.to_owned()),
        handle: name.map(str::to_owned),
    }
}

/// The operator at the command line.
pub fn operator() -> Party {
    Party {
        kind: "operator".into(),
        ..Party::default()
    }
}

/// Nobody signed in (a failed sign-in).
pub fn anonymous() -> Party {
    Party {
        kind: "anonymous".into(),
        ..Party::default()
    }
}

/// Who makes a change and from where: the actor and caller of the audit rows it writes. The
/// command line acts as [`Acting::operator`]; a page or API call as the signed-in user.
#[derive(Debug, Clone)]
pub struct Acting<'a> {
    pub actor: Party,
    pub caller: Option<&'a Caller>,
}

impl Acting<'static> {
    /// The operator at the command line.
    pub fn operator() -> Self {
        Acting {
            actor: operator(),
            caller: None,
        }
    }
}

impl<'a> Acting<'a> {
    /// `user` acting from `caller`.
    pub fn user(u: &UserRow, caller: &'a Caller) -> Self {
        Acting {
            actor: user(u),
            caller: Some(caller),
        }
    }

    /// Nobody signed in, from `caller` (a signup, a confirmation, a reset by code).
    pub fn anonymous(caller: &'a Caller) -> Self {
        Acting {
            actor: anonymous(),
            caller: Some(caller),
        }
    }

    /// Appends the event `name` by this actor on `target`.
    pub fn record(
        &self,
        tx: &Tx<'_>,
        now: Timestamp,
        name: &'static str,
        target: Option<Party>,
        details: Value,
    ) -> Result<(), StoreError> {
        record(
            tx,
            now,
            Event {
                name,
                actor: self.actor.clone(),
                target,
                caller: self.caller,
                details,
            },
        )
    }
}

/// One event, to write in `tx` beside the change it records.
pub struct Event<'a> {
    /// snake_case: `login_succeeded`, `role_changed`, …
    pub name: &'static str,
    pub actor: Party,
    pub target: Option<Party>,
    pub caller: Option<&'a Caller>,
    /// A JSON object without any secret.
    pub details: Value,
}

/// Appends `event` at `now`.
pub fn record(tx: &Tx<'_>, now: Timestamp, event: Event<'_>) -> Result<(), StoreError> {
    audit::insert(
        tx,
        &AuditRow {
            at: now,
            event: event.name.to_owned(),
            actor: event.actor,
            target: event.target,
            ip: event.caller.and_then(|c| c.ip.clone()),
            request_id: event.caller.and_then(|c| c.request_id.clone()),
            details: event.details.to_string(),
        },
    )
}

/// The id of the user `handle` names, for the `user` filter: `None` when there is no such user.
pub fn user_id_of(db: &Db, handle: &str) -> Result<Option<String>, StoreError> {
    Ok(db
        .read(|c| crate::store::users::find_by_handle(c, &handle.to_lowercase()))?
        .map(|u| u.id))
}

/// Rows matching `filter`, oldest first.
pub fn list(db: &Db, filter: &Filter) -> Result<Vec<AuditRow>, StoreError> {
    db.read(|c| audit::query(c, filter))
}

fn party(p: &Party) -> Value {
    let mut v = json!({ "type": p.kind });
    if let (Some(id), Some(obj)) = (&p.id, v.as_object_mut()) {
        obj.insert("id".into(), json!(id));
    }
    if let (Some(h), Some(obj)) = (&p.handle, v.as_object_mut()) {
        obj.insert("handle".into(), json!(h));
    }
    v
}

/// A row as `audit --json` prints it (one object per line, for a SIEM).
pub fn json_line(r: &AuditRow) -> Value {
    json!({
        "time": rfc3339(r.at),
        "event": r.event,
        "actor": party(&r.actor),
        "target": r.target.as_ref().map(party),
        "ip": r.ip,
        "requestId": r.request_id,
        "details": serde_json::from_str::<Value>(&r.details).unwrap_or(Value::Null),
    })
}
