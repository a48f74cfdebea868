//! The team console's pages: the team (a card per person, a checkbox for the bulk form and the
//! row's own buttons, all in one form so that it works without JavaScript), the import (upload,
//! preview, progress), the OAuth clients, the support reports and the audit log.

use super::forms::{form, input, message};
use super::{escape, layout_with};
use crate::core::clock::{Timestamp, rfc3339, span};
use crate::core::urlenc::encode;
use crate::domain::admin::actions::Done;
use crate::domain::admin::import::{ImportRow, Preview};
use crate::domain::admin::records::{AuditQuery, AuditRow, ClientRow, Party, ReportRow};
use crate::domain::admin::roster::{Member, STATES};
use crate::domain::auth::invite::Outcome;
use crate::domain::auth::onboarding::Onboarding;

/// The console's sections, for its navigation.
const SECTIONS: [(&str, &str); 5] = [
    ("/admin", "Team"),
    ("/admin/import", "Import"),
    ("/admin/clients", "OAuth clients"),
    ("/admin/reports", "Support reports"),
    ("/admin/audit", "Audit log"),
];

/// A console page: the navigation with `current` marked, then `body`.
pub fn page(title: &str, current: &str, body: &str, head: &str) -> String {
    let mut nav = String::from("<nav class=\"admin\" aria-label=\"Team console\">");
    for (href, label) in SECTIONS {
        let mark = if href == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        nav.push_str(&format!("<a href=\"{href}\"{mark}>{label}</a>"));
    }
    nav.push_str("<a href=\"/account\">Your account</a></nav>");
    layout_with(title, &format!("{nav}{body}"), "wide", head)
}

/// What the team page shows above the table, and who is looking.
#[derive(Default)]
pub struct TeamExtras<'a> {
    /// The admin's own handle: their row has no button that would lock them out.
    pub me: &'a str,
    pub done: Option<&'a [Done]>,
    pub error: Option<&'a str>,
}

/// The team, filtered by `filter`.
pub fn team(
    members: &[Member],
    filter: Option<Onboarding>,
    csrf: &str,
    now: Timestamp,
    extras: &TeamExtras<'_>,
) -> String {
    let mut body = format!("<h1>Team</h1>{}", message(extras.error, None));
    if let Some(done) = extras.done {
        body.push_str("<section class=\"notice\" aria-live=\"polite\"><ul>");
        for d in done {
            let (mark, text) = match &d.outcome {
                Ok(t) => ("done", t),
                Err(t) => ("not done", t),
            };
            body.push_str(&format!(
                "<li><strong>{}</strong> ({mark}): {}</li>",
                escape(&d.handle),
                escape(text)
            ));
        }
        body.push_str("</ul></section>");
    }
    body.push_str("<form method=\"get\" action=\"/admin\" class=\"bulk\"><div><label for=\"state\">Onboarding state</label><select id=\"state\" name=\"state\"><option value=\"\">everyone</option>");
    for s in STATES {
        let selected = if filter == Some(s) { " selected" } else { "" };
        body.push_str(&format!(
            "<option value=\"{0}\"{selected}>{0}</option>",
            s.as_str()
        ));
    }
    body.push_str(
        "</select></div><button type=\"submit\" class=\"secondary\">Filter</button></form>",
    );
    body.push_str(&format!(
        "<form method=\"post\" action=\"/admin/team\"><input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
         <input type=\"hidden\" name=\"state\" value=\"{}\">\
         <fieldset class=\"bulk\"><legend>For every checked person</legend>\
         <div><label for=\"bulk_action\">Action</label><select id=\"bulk_action\" name=\"action\">\
         <option value=\"resend\">Resend the invitation</option><option value=\"disable\">Disable</option>\
         <option value=\"enable\">Enable</option><option value=\"revoke_sessions\">Revoke sessions</option>\
         <option value=\"reset_second_factors\">Reset second factors</option><option value=\"set_role\">Set the role to</option>\
         <option value=\"add_group\">Add to the group</option><option value=\"remove_group\">Remove from the group</option></select></div>\
         <div><label for=\"bulk_value\">Role or group</label><input type=\"text\" id=\"bulk_value\" name=\"value\" placeholder=\"admin, member, or a group\"></div>\
         <button type=\"submit\" name=\"bulk\" value=\"1\">Apply to checked</button></fieldset>\
         <p class=\"rid\">{} people{}</p><ul class=\"rows\">",
        escape(csrf),
        filter.map_or("", Onboarding::as_str),
        members.len(),
        filter.map_or(String::new(), |f| format!(" in state {}", f.as_str()))
    ));
    for m in members {
        body.push_str(&member(m, m.user.handle == extras.me, now));
    }
    body.push_str("</ul></form>");
    page("Team", "/admin", &body, "")
}

fn member(m: &Member, mine: bool, now: Timestamp) -> String {
    let u = &m.user;
    let h = escape(&u.handle);
    let button = |action: &str, label: &str| {
        format!(
            "<button type=\"submit\" class=\"secondary\" name=\"row\" value=\"{action}:{h}\">{label}</button>"
        )
    };
    let mut actions = String::new();
    if matches!(
        m.state,
        Onboarding::Invited | Onboarding::DeliveryFailed | Onboarding::CodeExpired
    ) {
        actions.push_str(&button("resend", "Resend invitation"));
    }
    if mine {
        actions.push_str("<span class=\"rid\">Your own account: manage it on <a href=\"/account\">your account page</a>.</span>");
    } else {
        actions.push_str(&if u.disabled {
            button("enable", "Enable")
        } else {
            button("disable", "Disable")
        });
        actions.push_str(&if u.role == "admin" {
            button("set_role=member", "Make member")
        } else {
            button("set_role=admin", "Make admin")
        });
        actions.push_str(&button("revoke_sessions", "Revoke sessions"));
        if m.second_factor {
            actions.push_str(&button("reset_second_factors", "Reset second factors"));
        }
    }
    let groups_id = format!("groups_{h}");
    format!(
        "<li><label class=\"check\"><input type=\"checkbox\" name=\"handle\" value=\"{h}\"> <strong>{h}</strong></label> \
         <span class=\"badge {state}\">{state}</span> <span class=\"badge\">{role}</span>{factor}<br>{email}<br>\
         <span class=\"rid\">last sign-in {last} · {live} live sessions · joined {joined}</span>\
         <div class=\"bulk\"><div><label for=\"{groups_id}\">Groups of {h}</label>\
         <input type=\"text\" id=\"{groups_id}\" name=\"groups:{h}\" value=\"{groups}\"></div>{save}</div>\
         <div class=\"row-actions\">{actions}</div></li>",
        state = m.state.as_str(),
        role = escape(&u.role),
        factor = if m.second_factor {
            " <span class=\"badge\">second factor</span>"
        } else {
            ""
        },
        email = escape(&u.email),
        last = m
            .last_sign_in
            .map_or("never".to_owned(), |t| format!("{} ago", span(now - t))),
        live = m.live_sessions,
        joined = rfc3339(u.created_at),
        groups = escape(&u.groups.join(" ")),
        save = button("set_groups", "Save groups"),
    )
}

/// The upload form.
pub fn import_form(csrf: &str, error: Option<&str>) -> String {
    let body = format!(
        "<h1>Import a team</h1>{}<p>A CSV file of <code>handle,email[,displayName[,groups]]</code> rows (groups separated by \
         <code>;</code>; a header row is skipped; UTF-8, with or without a byte order mark). You see every row's outcome \
         before anything is written.</p>\
         <form method=\"post\" action=\"/admin/import\" enctype=\"multipart/form-data\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
         <label for=\"file\">CSV file</label><input type=\"file\" id=\"file\" name=\"file\" accept=\".csv,text/csv\" required>\
         <div class=\"actions\"><button type=\"submit\">Preview</button></div></form>",
        message(error, None),
        escape(csrf)
    );
    page("Import", "/admin/import", &body, "")
}

/// The most rows of each kind a preview lists.
const PREVIEW_ROWS: usize = 1000;

/// Every row's outcome, and the form that applies the file.
pub fn preview(p: &Preview, csrf: &str) -> String {
    let [new, existing, invalid] = p.counts();
    let mut body = format!(
        "<h1>Preview of {}</h1><p><strong>{new}</strong> to invite, <strong>{existing}</strong> already there, \
         <strong>{invalid}</strong> invalid. Nothing is written until you apply.</p>{}",
        escape(&p.file_name),
        form(
            &format!("/admin/import/{}/apply", p.id),
            csrf,
            "",
            &format!("Apply: invite {new}")
        )
    );
    for (title, class, wanted) in [
        ("Invalid rows", "invalid", 2),
        ("To invite", "new", 0),
        ("Already there", "existing", 1),
    ] {
        let rows: Vec<_> = p
            .rows
            .iter()
            .filter(|r| r.outcome.slot() == wanted)
            .collect();
        if rows.is_empty() {
            continue;
        }
        body.push_str(&format!(
            "<h2>{title} ({})</h2><ul class=\"rows\">",
            rows.len()
        ));
        for r in rows.iter().take(PREVIEW_ROWS) {
            let why = match &r.outcome {
                Outcome::Invalid(why) => format!(": {}", escape(why)),
                _ => String::new(),
            };
            body.push_str(&format!(
                "<li><span class=\"badge {class}\">line {}</span> {} &lt;{}&gt;{why}</li>",
                r.line,
                escape(&r.handle),
                escape(&r.email)
            ));
        }
        if rows.len() > PREVIEW_ROWS {
            body.push_str(&format!(
                "<li>… and {} more</li>",
                rows.len() - PREVIEW_ROWS
            ));
        }
        body.push_str("</ul>");
    }
    page("Import preview", "/admin/import", &body, "")
}

/// An upload's progress (refreshing while it applies) or outcome.
pub fn import_status(row: &ImportRow, notice: Option<&str>) -> String {
    let applying = row.state == "applying";
    let mut body = format!(
        "<h1>Import of {}</h1>{}<p>State: <strong>{}</strong></p>\
         <label for=\"progress\">Rows done</label><progress id=\"progress\" max=\"{}\" value=\"{}\">{} of {}</progress>\
         <p>{} of {} rows</p>",
        escape(&row.file_name),
        message(None, notice),
        escape(&row.state),
        row.total,
        row.done,
        row.done,
        row.total,
        row.done,
        row.total
    );
    if row.state == "applied" {
        body.push_str(&format!(
            "<p class=\"notice\">{} invited, {} already there, {} invalid.</p><p><a href=\"/admin?state=invited\">See who is invited</a></p>",
            row.created, row.existed, row.invalid
        ));
    } else if applying {
        body.push_str("<p class=\"rid\">This page reloads by itself every 2 seconds.</p>");
    }
    let head = if applying {
        "<meta http-equiv=\"refresh\" content=\"2\">"
    } else {
        ""
    };
    page("Import", "/admin/import", &body, head)
}

/// The registered clients, each with its remove form.
pub fn clients(rows: &[ClientRow], csrf: &str, notice: Option<&str>) -> String {
    let mut body = format!(
        "<h1>OAuth clients</h1>{}<ul class=\"rows\">",
        message(None, notice)
    );
    if rows.is_empty() {
        body.push_str("<li>No client is registered.</li>");
    }
    for c in rows {
        let hidden = format!(
            "<input type=\"hidden\" name=\"client_id\" value=\"{}\">",
            escape(&c.id)
        );
        body.push_str(&format!(
            "<li><strong>{}</strong> <code>{}</code><br>{} · grants {} · since {}<br>redirect URIs: {}{}</li>",
            escape(c.name.as_deref().unwrap_or("(unnamed)")),
            escape(&c.id),
            escape(&c.auth_method),
            escape(&c.grant_types.join(", ")),
            rfc3339(c.created_at),
            if c.redirect_uris.is_empty() {
                "none".to_owned()
            } else {
                c.redirect_uris
                    .iter()
                    .map(|u| format!("<code>{}</code>", escape(u)))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
            form("/admin/clients/remove", csrf, &hidden, "Remove")
        ));
    }
    body.push_str("</ul>");
    page("OAuth clients", "/admin/clients", &body, "")
}

/// The newest support reports.
pub fn reports(rows: &[ReportRow]) -> String {
    let mut body = String::from("<h1>Support reports</h1><ul class=\"rows\">");
    if rows.is_empty() {
        body.push_str("<li>No report yet.</li>");
    }
    for r in rows {
        body.push_str(&format!(
            "<li><a href=\"/admin/reports/{}\">{}</a><br><span class=\"rid\">{} · from {} · request {}</span></li>",
            escape(&r.id),
            escape(&r.summary),
            rfc3339(r.received_at),
            escape(r.handle.as_deref().unwrap_or("someone signed out")),
            escape(r.request_id.as_deref().unwrap_or("-"))
        ));
    }
    body.push_str("</ul>");
    page("Support reports", "/admin/reports", &body, "")
}

/// One report with the server's record of its request and that request's audit rows.
pub fn report(r: &ReportRow, audit_rows: &[AuditRow]) -> String {
    let field = |v: Option<&str>| escape(v.unwrap_or("—"));
    let mut body = format!(
        "<h1>{}</h1><dl class=\"profile\"><dt>Report</dt><dd><code>{}</code></dd><dt>Received</dt><dd>{}</dd>\
         <dt>From</dt><dd>{}</dd><dt>Session</dt><dd>{}</dd><dt>Request ID</dt><dd>{}</dd><dt>Address</dt><dd>{}</dd></dl>\
         <h2>What they wrote</h2><pre>{}</pre>",
        escape(&r.summary),
        escape(&r.id),
        rfc3339(r.received_at),
        field(r.handle.as_deref()),
        field(r.session_id.as_deref()),
        field(r.request_id.as_deref()),
        escape(&r.ip),
        escape(&r.details)
    );
    if let Some(artifact) = &r.repro_artifact {
        body.push_str(&format!("<h2>Attached</h2><pre>{}</pre>", escape(artifact)));
    }
    body.push_str(&format!(
        "<h2>The server's record of the request</h2>{}",
        match &r.request_record {
            Some(record) => format!("<pre>{}</pre>", escape(record)),
            None => "<p>The server kept no record of that request (none was named, or it was older than the request log).</p>".to_owned(),
        }
    ));
    body.push_str("<h2>Audit rows of the request</h2>");
    body.push_str(&audit_list(audit_rows));
    page("Support report", "/admin/reports", &body, "")
}

/// The audit log with its filters.
pub fn audit(rows: &[AuditRow], q: &AuditQuery<'_>, error: Option<&str>) -> String {
    let body = format!(
        "<h1>Audit log</h1>{}<form method=\"get\" action=\"/admin/audit\" class=\"bulk\"><div>{}</div><div>{}</div><div>{}</div><div>{}</div>\
         <button type=\"submit\" class=\"secondary\">Filter</button></form><p class=\"rid\">{} rows, newest first (at most 500)</p>{}",
        message(error, None),
        input(
            "Since (e.g. 24h, 7d)",
            "since",
            "text",
            q.since,
            "placeholder=\"7d\""
        ),
        input("User (handle)", "user", "text", q.user, ""),
        input(
            "Event",
            "event",
            "text",
            q.event,
            "placeholder=\"login_failed\""
        ),
        input("Request ID", "request_id", "text", q.request_id, ""),
        rows.len(),
        audit_list(rows)
    );
    page("Audit log", "/admin/audit", &body, "")
}

fn audit_list(rows: &[AuditRow]) -> String {
    if rows.is_empty() {
        return "<p>No rows.</p>".to_owned();
    }
    let who = |p: &Party| match (&p.handle, &p.id) {
        (Some(h), _) => format!("{} {}", p.kind, escape(h)),
        (None, Some(id)) => format!("{} <code>{}</code>", p.kind, escape(id)),
        (None, None) => escape(&p.kind),
    };
    let mut out = String::from("<ul class=\"rows\">");
    for r in rows {
        out.push_str(&format!(
            "<li><strong>{}</strong> · {}<br>by {}{} · from {} · request <a href=\"/admin/audit?request_id={}&amp;since=3650d\"><code>{}</code></a><br><code>{}</code></li>",
            escape(&r.event),
            rfc3339(r.at),
            who(&r.actor),
            r.target.as_ref().map_or(String::new(), |t| format!(", on {}", who(t))),
            escape(r.ip.as_deref().unwrap_or("-")),
            escape(&encode(r.request_id.as_deref().unwrap_or(""))),
            escape(r.request_id.as_deref().unwrap_or("-")),
            escape(&r.details)
        ));
    }
    out.push_str("</ul>");
    out
}
