//! The "Two-step sign-in" section of the account page: set up an authenticator app (a QR code and
//! the secret as text, then a code to confirm), the recovery codes shown once, a fresh set, and
//! turning it off; the passkeys, listed, added (the one use of JavaScript: the WebAuthn call) and
//! removed. Every other form works without JavaScript.

use super::forms::form;
use super::{escape, qr};
use crate::domain::auth::mfa::{Enrolment, Status};

/// What the section shows once, after an action: a set-up to confirm, or new recovery codes.
pub enum Shown {
    Totp(Enrolment),
    RecoveryCodes(Vec<String>),
}

const EITHER_CODE: &str = "Code from your authenticator app, or a recovery code";

/// The `code` field of a form, labelled, with its own `id` (the section has three such forms).
fn code_input(label: &str, id: &str) -> String {
    format!(
        "<label for=\"{id}\">{}</label><input type=\"text\" id=\"{id}\" name=\"code\" \
         autocomplete=\"one-time-code\" autocapitalize=\"none\" spellcheck=\"false\" required>",
        escape(label)
    )
}

/// The section: `pending` is a set-up still waiting for its code (shown again until confirmed).
pub fn section(
    status: &Status,
    pending: Option<&Enrolment>,
    shown: Option<&Shown>,
    csrf: &str,
) -> String {
    let mut out = String::from("<h2 id=\"two-step\">Two-step sign-in</h2>");
    let setup = match shown {
        Some(Shown::Totp(e)) => Some(e),
        _ => pending,
    };
    if let Some(e) = setup {
        let picture =
            qr::svg(&e.otpauth_uri, "QR code of the authenticator set-up").unwrap_or_default();
        out.push_str(&format!(
                "<section class=\"secret\" aria-live=\"polite\"><p>Scan this with your authenticator app, or enter the secret by hand.</p>\
                 {picture}<label for=\"totp_secret\">Secret</label><input type=\"text\" id=\"totp_secret\" readonly value=\"{}\">\
                 <p>Then enter the code it shows to finish.</p>{}</section>",
                escape(&e.secret),
                form("/account/mfa/totp/confirm", csrf, &code_input("Code from your authenticator app", "code"), "Turn on two-step sign-in")
            ));
        out.push_str(&form(
            "/account/mfa/totp",
            csrf,
            "",
            "Start again with a new secret",
        ));
    }
    if let Some(Shown::RecoveryCodes(codes)) = shown {
        let items: String = codes
            .iter()
            .map(|c| format!("<li><code>{}</code></li>", escape(c)))
            .collect();
        out.push_str(&format!(
            "<section class=\"secret\" aria-live=\"polite\"><h3>Your recovery codes</h3>\
             <p>Keep them somewhere safe: each signs you in once without your phone. They are shown this once.</p>\
             <ul class=\"codes\" id=\"recovery_codes\">{items}</ul></section>"
        ));
    }
    match &status.totp {
        Some(t) if t.enabled => {
            out.push_str(&format!(
                "<p>On since {}: signing in asks for a code from your authenticator app. {} recovery codes left.</p>",
                escape(&t.created_at),
                status.recovery_codes_left
            ));
            out.push_str(&form(
                "/account/mfa/recovery-codes",
                csrf,
                &code_input(EITHER_CODE, "code_recovery"),
                "New recovery codes",
            ));
            out.push_str(&form(
                "/account/mfa/totp/remove",
                csrf,
                &code_input(EITHER_CODE, "code_off"),
                "Turn off two-step sign-in",
            ));
        }
        _ if setup.is_some() => {}
        _ => {
            out.push_str("<p>Off: your password alone signs you in.</p>");
            out.push_str(&form(
                "/account/mfa/totp",
                csrf,
                "",
                "Set up an authenticator app",
            ));
        }
    }
    out.push_str(&passkeys(status, csrf));
    out
}

/// The passkeys: each with its remove form, and the form that adds one (through passkey.js).
fn passkeys(status: &Status, csrf: &str) -> String {
    let mut out = String::from(
        "<h3 id=\"passkeys\">Passkeys</h3><p>A passkey signs you in with this device's screen lock or a security key, without the password.</p>",
    );
    if status.passkeys.is_empty() {
        out.push_str("<p id=\"passkey_none\">No passkeys yet.</p>");
    } else {
        out.push_str("<ul class=\"rows\" id=\"passkey_list\">");
        for p in &status.passkeys {
            let used = match &p.last_used_at {
                Some(Some(at)) => format!("last used {}", escape(at)),
                _ => "never used".into(),
            };
            out.push_str(&format!(
                "<li><strong>{}</strong> · added {} · {used}{}</li>",
                escape(&p.name),
                escape(&p.created_at),
                form(
                    "/account/passkeys/remove",
                    csrf,
                    &format!(
                        "<input type=\"hidden\" name=\"id\" value=\"{}\">",
                        escape(&p.id)
                    ),
                    &format!("Remove {}", p.name),
                )
            ));
        }
        out.push_str("</ul>");
    }
    out.push_str(&format!(
        "<form method=\"post\" action=\"/account/passkeys\" data-passkey=\"register\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
         <label for=\"passkey_name\">Name of the new passkey</label>\
         <input type=\"text\" id=\"passkey_name\" name=\"name\" maxlength=\"64\" placeholder=\"Work laptop\" required>\
         <input type=\"hidden\" name=\"challenge_id\"><input type=\"hidden\" name=\"credential\">\
         <div class=\"actions\"><button type=\"submit\">Add a passkey</button></div></form>\
         <script src=\"/assets/passkey.js\"></script>",
        escape(csrf)
    ));
    out
}
