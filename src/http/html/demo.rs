//! The demo's pages: the mailbox and the built-in app's callback.

use super::{escape, layout};
use crate::core::clock::rfc3339;
use crate::core::mail::Delivered;

/// Every message, newest first, with its code set apart.
pub fn mailbox(messages: &[Delivered]) -> String {
    let mut body = String::from(
        "<h1>Demo mailbox</h1><p>Every message the demo sent, newest first. <a href=\"/\">Home</a></p><ul class=\"rows\">",
    );
    if messages.is_empty() {
        body.push_str("<li>No messages yet.</li>");
    }
    for m in messages {
        let code = m
            .body
            .split_whitespace()
            .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or("");
        body.push_str(&format!(
            "<li><strong>To {}</strong> · {}<br>{}<br>Code: <code class=\"code\">{}</code><details><summary>Full message</summary><pre>{}</pre></details></li>",
            escape(&m.to_addr),
            rfc3339(m.at),
            escape(&m.subject),
            escape(code),
            escape(&m.body)
        ));
    }
    body.push_str("</ul>");
    layout("Demo mailbox", &body)
}

/// What the built-in app got: the token response and the access token's decoded parts.
pub fn callback(token_json: &str, header_json: &str, claims_json: &str) -> String {
    let body = format!(
        "<h1>The demo app is signed in</h1><p>The authorization code was exchanged with PKCE at <code>/oauth/token</code>. \
         This is what the app received.</p><h2>Access token claims</h2><pre id=\"claims\">{}</pre>\
         <h2>Access token header</h2><pre>{}</pre><h2>Token response</h2><pre>{}</pre>\
         <p><a href=\"/account\">Your account</a> lists this app under authorized apps. <a href=\"/\">Home</a></p>",
        escape(claims_json),
        escape(header_json),
        escape(token_json)
    );
    layout("Demo app", &body)
}

/// The app was refused (the user denied, or the flow broke): what came back.
pub fn refused(error: &str, description: &str) -> String {
    let body = format!(
        "<h1>The demo app was not signed in</h1><p>It received <code>{}</code>: {}</p><p><a href=\"/demo/start\">Try again</a> · <a href=\"/\">Home</a></p>",
        escape(error),
        escape(description)
    );
    layout("Demo app", &body)
}
