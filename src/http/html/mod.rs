//! Server-rendered pages (API.md, Pages): one layout with a small embedded stylesheet, readable
//! on a 375 px screen and usable without JavaScript; the security headers every HTML response
//! sends; the browser-session and CSRF cookies (a signed double-submit token, OWASP); and
//! `PageError`, the errors that are answered with a page that shows its request ID.

pub mod account;
pub mod admin;
pub mod demo;
pub mod forms;
pub mod mfa;
pub mod qr;
pub mod views;

use rouille::Response;

use crate::core::Core;
use crate::core::token::opaque::{b64url, ct_eq, hmac_sha256};
use crate::domain::error::PageError;
use crate::domain::oauth::authorize::Refusal;

pub const SESSION_COOKIE: &str = "gharart_session";
pub const CSRF_COOKIE: &str = "gharart_csrf";

pub const STYLESHEET: &str = include_str!("style.css");
/// The one script: it shows the copy buttons (the pages work without it).
pub const COPY_SCRIPT: &str = include_str!("copy.js");
/// The WebAuthn calls of `/login` and `/account` (the only script a flow needs).
pub const PASSKEY_SCRIPT: &str = include_str!("passkey.js");

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body` (already escaped HTML).
pub fn layout(title: &str, body: &str) -> String {
    layout_with(title, body, "", "")
}

/// A page whose `<main>` has `class` (`wide` for the console's tables) and whose head has
/// `head` besides the usual (a refresh while an import runs).
pub fn layout_with(title: &str, body: &str, class: &str, head: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{head}\
         <title>{} · gharart-id</title><link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
         <body><main{}>{body}</main></body></html>\n",
        escape(title),
        if class.is_empty() {
            String::new()
        } else {
            format!(" class=\"{class}\"")
        }
    )
}

/// An HTML response with the headers every page sends (API.md, Pages); `Cache-Control: no-store`
/// comes from the dispatcher, for every response.
pub fn html(status: u16, page: String) -> Response {
    Response::html(page)
        .with_status_code(status)
        .with_unique_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        .with_unique_header("X-Frame-Options", "DENY")
        .with_unique_header("Referrer-Policy", "no-referrer")
}

/// The value of cookie `name` in the request's `Cookie` header.
pub fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, and Secure when the issuer is https.
pub fn set_cookie(core: &Core, name: &str, value: &str, max_age: i64) -> String {
    let secure = if core.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

/// The form token for a CSRF cookie: an HMAC under the key file's pepper.
pub fn csrf_token(core: &Core, csrf_cookie: &str) -> String {
    b64url(&hmac_sha256(
        core.keys().code_pepper(),
        &[b"csrf", csrf_cookie.as_bytes()],
    ))
}

/// Whether a submitted form token belongs to the request's CSRF cookie.
pub fn csrf_ok(core: &Core, csrf_cookie: Option<&str>, submitted: Option<&str>) -> bool {
    match (csrf_cookie, submitted) {
        (Some(c), Some(s)) => ct_eq(csrf_token(core, c).as_bytes(), s.as_bytes()),
        _ => false,
    }
}

/// The page of a page route's error, with `request_id` shown.
pub fn error_page(e: &PageError, request_id: &str) -> Response {
    let list = |items: &[String]| -> String {
        items
            .iter()
            .map(|i| format!("<li><code>{}</code></li>", escape(i)))
            .collect::<String>()
    };
    let (title, body) = match e {
        PageError::BadRequest(why) | PageError::Authorize(Refusal::BadRequest(why)) => {
            ("Bad request".to_owned(), format!("<p>{}</p>", escape(why)))
        }
        PageError::Authorize(Refusal::MissingClient) => (
            "No client".to_owned(),
            "<p>The request names no <code>client_id</code>. The application that sent you here is misconfigured.</p>".to_owned(),
        ),
        PageError::Authorize(Refusal::UnknownClient(id)) => (
            "Unknown application".to_owned(),
            format!("<p>No application is registered with client_id <code>{}</code>. Nothing was sent back to it.</p>", escape(id)),
        ),
        PageError::Authorize(Refusal::RedirectRequired { registered }) => (
            "Which redirect URI?".to_owned(),
            format!(
                "<p>The request has no <code>redirect_uri</code>, and this application registered several. Send one of:</p><ul>{}</ul>",
                list(registered)
            ),
        ),
        PageError::Authorize(Refusal::RedirectMismatch { sent, registered, closest, differences }) => (
            "Redirect URI not registered".to_owned(),
            format!(
                "<p>The <code>redirect_uri</code> of this request matches none that the application registered, so you were not sent back to it.</p>\
                 <p>Sent: <code>{}</code><br>Closest registered: <code>{}</code></p><p>How they differ:</p><ul>{}</ul>\
                 <p>Registered redirect URIs:</p><ul>{}</ul>",
                escape(sent),
                escape(closest),
                list(differences),
                list(registered)
            ),
        ),
        PageError::Authorize(Refusal::Loop { client_name, redirect_uri, request_ids }) => (
            "Sign-in loop stopped".to_owned(),
            format!(
                "<p><strong>{}</strong> started {} sign-ins from this browser in the last minute without using any of them, \
                 so this one was not sent back, to stop the loop.</p><p>Redirect URI in use: <code>{}</code></p>\
                 <p>This usually means the application does not finish the sign-in: its callback fails to exchange the code, \
                 or it ignores the <code>error</code> it receives and starts again. Request IDs involved:</p><ul>{}</ul>",
                escape(client_name),
                request_ids.len(),
                escape(redirect_uri),
                list(request_ids)
            ),
        ),
        PageError::Csrf => (
            "Form expired".to_owned(),
            "<p>This form could not be verified (its security token is missing or wrong), so nothing was changed. \
             Go back, reload the page and try again.</p>"
                .to_owned(),
        ),
        PageError::Stale => (
            "This request is no longer valid".to_owned(),
            "<p>This authorization request has expired, was already answered and used, or belongs to another sign-in. \
             Nothing was sent to the application. Start again from the application.</p>"
                .to_owned(),
        ),
        PageError::Forbidden { message, .. } => ("Not allowed here".to_owned(), format!("<p>{}</p>", escape(message))),
        PageError::Failed { message, .. } => ("Something went wrong".to_owned(), format!("<p>{}</p>", escape(message))),
    };
    let body = format!(
        "<h1>{}</h1>{body}<p class=\"rid\">Request ID: <code>{}</code></p>",
        escape(&title),
        escape(request_id)
    );
    html(e.status(), layout(&title, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn cookies() {
        let h = Some("a=1; gharart_session=abc; b=");
        assert_eq!(cookie(h, "gharart_session"), Some("abc"));
        assert_eq!(cookie(h, "b"), None);
        assert_eq!(cookie(None, "a"), None);
    }
}
