//! The page bodies: sign-in, consent, and the signed-in notice.

use super::forms::message;
use super::{escape, layout};
use crate::domain::oauth::authorize::ConsentView;

/// Where to go back after sign-in, carried by the form.
fn hidden_return_to(return_to: Option<&str>) -> String {
    return_to
        .map(|r| {
            format!(
                "<input type=\"hidden\" name=\"return_to\" value=\"{}\">",
                escape(r)
            )
        })
        .unwrap_or_default()
}

/// What each scope lets an application do, in plain words.
fn describe_scope(scope: &str) -> String {
    match scope {
        "profile" => "see your handle, display name and account id".into(),
        "email" => "see your email address".into(),
        "offline_access" => "stay signed in when you are away (refresh tokens)".into(),
        "openid" => "confirm who you are (sign you in with your Gharart account)".into(),
        other => format!("use the {other} permission"),
    }
}

/// The sign-in form (inputs `login` and `password`), posting to `/login`.
pub fn sign_in(
    csrf: &str,
    return_to: Option<&str>,
    for_client: Option<&str>,
    error: Option<&str>,
    login: &str,
) -> String {
    let lead = match for_client {
        Some(name) => format!(
            "<p>Sign in to continue to <strong>{}</strong>.</p>",
            escape(name)
        ),
        None => String::new(),
    };
    let error = message(error, None);
    let return_to = hidden_return_to(return_to);
    let body = format!(
        "<h1>Sign in</h1>{lead}{error}<form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">{return_to}\
         <label for=\"login\">Handle or email</label>\
         <input type=\"text\" id=\"login\" name=\"login\" value=\"{}\" autocomplete=\"username\" autocapitalize=\"none\" required autofocus>\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <div class=\"actions\"><button type=\"submit\">Sign in</button></div></form>\
         <section hidden><form method=\"post\" action=\"/login/passkey\" data-passkey=\"sign-in\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">{return_to}\
         <input type=\"hidden\" name=\"challenge_id\"><input type=\"hidden\" name=\"credential\">\
         <div class=\"actions\"><button type=\"submit\" id=\"passkey_sign_in\">Sign in with a passkey</button></div></form></section>\
         <script src=\"/assets/passkey.js\"></script>",
        escape(csrf),
        escape(login),
        escape(csrf)
    );
    layout("Sign in", &body)
}

/// The second step of sign-in: a code from the authenticator app, or a recovery code.
pub fn second_step(
    csrf: &str,
    mfa_token: &str,
    return_to: Option<&str>,
    error: Option<&str>,
) -> String {
    let error = message(error, None);
    let return_to = hidden_return_to(return_to);
    let body = format!(
        "<h1>Two-step sign-in</h1>{error}<p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>\
         <form method=\"post\" action=\"/login/mfa\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\"><input type=\"hidden\" name=\"mfa_token\" value=\"{}\">{return_to}\
         <label for=\"code\">Code</label>\
         <input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"one-time-code\" autocapitalize=\"none\" spellcheck=\"false\" required autofocus>\
         <div class=\"actions\"><button type=\"submit\">Verify</button></div></form>\
         <p><a href=\"/login\">Start again</a></p>",
        escape(csrf),
        escape(mfa_token)
    );
    layout("Two-step sign-in", &body)
}

/// The consent page: the client, where it will send you back, and what it asks for.
pub fn consent(view: &ConsentView, csrf: &str, signed_in_as: &str) -> String {
    let scopes: String = view
        .scopes
        .iter()
        .map(|s| {
            format!(
                "<li><code>{}</code>: {}</li>",
                escape(s),
                escape(&describe_scope(s))
            )
        })
        .collect();
    let body = format!(
        "<h1>Allow {name}?</h1>\
         <p><strong>{name}</strong> (<code>{id}</code>) asks to use your account <strong>{who}</strong>. \
         After you answer you will be sent to <strong>{host}</strong>.</p>\
         <p>It will be able to:</p><ul class=\"scopes\">{scopes}</ul>\
         <form method=\"post\" action=\"/oauth/authorize/decision\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"request_id\" value=\"{rid}\">\
         <div class=\"actions\"><button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button></div></form>",
        name = escape(&view.client_name),
        id = escape(&view.client_id),
        who = escape(signed_in_as),
        host = escape(&view.redirect_host),
        csrf = escape(csrf),
        rid = escape(&view.request_id),
    );
    layout("Allow access", &body)
}

/// Shown after a sign-in that had nowhere to return to.
pub fn signed_in(handle: &str) -> String {
    layout(
        "Signed in",
        &format!(
            "<h1>Signed in</h1><p>You are signed in as <strong>{}</strong>.</p>",
            escape(handle)
        ),
    )
}
