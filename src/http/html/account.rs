//! The account page: profile, live sessions, personal access tokens (the new one shown once),
//! authorized apps, and the debug panel (this session's access-token window, its id, and the
//! user's recent request IDs).

use super::forms::{form, input, message};
use super::{escape, layout, mfa};
use crate::core::clock::{Timestamp, rfc3339, span};
use crate::domain::auth::account::Overview;
use crate::domain::auth::pats::CreatedPat;

fn ago(t: Timestamp, now: Timestamp) -> String {
    span(now - t)
}

/// What the page shows on top of the account: a token just made (shown once), a notice or an error.
#[derive(Default, Clone, Copy)]
pub struct Extras<'a> {
    pub created: Option<&'a CreatedPat>,
    /// A TOTP set-up to confirm, or recovery codes to show once.
    pub mfa: Option<&'a mfa::Shown>,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// The page.
pub fn page(
    o: &Overview,
    scopes: &[String],
    csrf: &str,
    this_session: &str,
    now: Timestamp,
    extras: &Extras<'_>,
) -> String {
    let Extras {
        created,
        mfa: shown,
        notice,
        error,
    } = *extras;
    let u = &o.user;
    let mut body = format!(
        "<h1>Your account</h1>{}<dl class=\"profile\"><dt>Handle</dt><dd>{}</dd><dt>Email</dt><dd>{}</dd><dt>Display name</dt><dd>{}</dd><dt>Member since</dt><dd>{}</dd></dl>",
        message(error, notice),
        escape(&u.handle),
        escape(&u.email),
        escape(u.display_name.as_deref().unwrap_or("—")),
        rfc3339(u.created_at)
    );
    if let Some(c) = created {
        body.push_str(&format!(
            "<section class=\"secret\" aria-live=\"polite\"><h2>Your new token</h2><p>Copy it now: it is shown this once.</p>\
             <label for=\"new_token\">Token {}</label><input type=\"text\" id=\"new_token\" readonly value=\"{}\" data-copy>\
             <button type=\"button\" class=\"secondary\" data-copy-target=\"new_token\" hidden>Copy</button>\
             <p class=\"rid\">Without JavaScript: select the field and copy.</p></section>",
            escape(&c.name),
            escape(&c.token)
        ));
    }
    body.push_str(&mfa::section(&o.mfa, o.pending_totp.as_ref(), shown, csrf));
    body.push_str("<h2>Sessions</h2><ul class=\"rows\">");
    for s in &o.sessions {
        let label = match (&s.client_id, s.id == this_session) {
            (_, true) => "this browser".to_owned(),
            (Some(c), false) => format!("app {c}"),
            (None, false) => s.user_agent.clone().unwrap_or_else(|| "API client".into()),
        };
        body.push_str(&format!(
            "<li><strong>{}</strong> <code>{}</code><br>created {} ago, last used {} ago, ends {}{}</li>",
            escape(&label),
            escape(&s.id),
            ago(s.created_at, now),
            ago(s.last_used_at, now),
            rfc3339(s.expires_at),
            if s.id == this_session {
                String::new()
            } else {
                form("/account/sessions/revoke", csrf, &format!("<input type=\"hidden\" name=\"session_id\" value=\"{}\">", escape(&s.id)), "Revoke")
            }
        ));
    }
    body.push_str("</ul>");
    body.push_str(&form(
        "/account/sessions/revoke-others",
        csrf,
        "",
        "Sign out everywhere else",
    ));

    body.push_str("<h2>Personal access tokens</h2><ul class=\"rows\">");
    if o.tokens.is_empty() {
        body.push_str("<li>None yet.</li>");
    }
    for t in &o.tokens {
        body.push_str(&format!(
            "<li><strong>{}</strong> <code>{}</code><br>scopes {}; expires {}; last used {}{}</li>",
            escape(&t.name),
            escape(&t.id),
            escape(&t.scopes.join(" ")),
            escape(&t.expires_at),
            escape(t.last_used_at.as_deref().unwrap_or("never")),
            form(
                "/account/tokens/revoke",
                csrf,
                &format!(
                    "<input type=\"hidden\" name=\"token_id\" value=\"{}\">",
                    escape(&t.id)
                ),
                "Revoke"
            )
        ));
    }
    body.push_str("</ul>");
    let checkboxes: String = scopes
        .iter()
        .map(|s| {
            let checked = if s == "profile" { " checked" } else { "" };
            format!("<label class=\"check\"><input type=\"checkbox\" name=\"scopes\" value=\"{0}\"{checked}> {0}</label>", escape(s))
        })
        .collect();
    let new_token = format!(
        "{}<fieldset><legend>Scopes</legend>{checkboxes}</fieldset>{}",
        input("Name", "name", "text", "", "required maxlength=\"100\""),
        input(
            "Expires in (days, 1 to 365)",
            "expires_in_days",
            "number",
            "30",
            "min=\"1\" max=\"365\" required"
        )
    );
    body.push_str(&form("/account/tokens", csrf, &new_token, "Create token"));

    body.push_str("<h2>Authorized apps</h2><ul class=\"rows\">");
    if o.apps.is_empty() {
        body.push_str("<li>None.</li>");
    }
    for a in &o.apps {
        body.push_str(&format!(
            "<li><strong>{}</strong> <code>{}</code><br>allowed {} on {}{}</li>",
            escape(a.client_name.as_deref().unwrap_or(&a.client_id)),
            escape(&a.client_id),
            escape(&a.scope),
            rfc3339(a.granted_at),
            form(
                "/account/apps/revoke",
                csrf,
                &format!(
                    "<input type=\"hidden\" name=\"client_id\" value=\"{}\">",
                    escape(&a.client_id)
                ),
                "Revoke access"
            )
        ));
    }
    body.push_str("</ul>");

    body.push_str(&format!(
        "<h2>Debug</h2><dl class=\"profile\"><dt>Session</dt><dd><code>{}</code></dd>\
         <dt>Access token</dt><dd>issued {} · expires {} ({} window)</dd></dl>\
         <details><summary>This session's access token (for trying the API)</summary>\
         <label for=\"access_token\">Bearer token</label><input type=\"text\" id=\"access_token\" readonly value=\"{}\"></details>\
         <h3>Your recent requests</h3><ul class=\"rows\">",
        escape(this_session),
        rfc3339(now),
        rfc3339(o.access_expires_at),
        span(o.access_expires_at - now),
        escape(&o.access_token)
    ));
    if o.recent.is_empty() {
        body.push_str("<li>None recorded yet.</li>");
    }
    for r in &o.recent {
        body.push_str(&format!(
            "<li><code>{}</code> {} {} → {} {} ({} ago)</li>",
            escape(&r.request_id),
            escape(&r.method),
            escape(&r.route),
            r.status,
            escape(r.error_code.as_deref().unwrap_or("")),
            ago(r.at, now)
        ));
    }
    body.push_str(
        "</ul><p><a href=\"/logout\">Sign out</a></p><script src=\"/assets/copy.js\"></script>",
    );
    layout("Your account", &body)
}
