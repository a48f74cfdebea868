//! The self-service pages' bodies: home, sign-up, confirm (with "send a new code"), forgot and
//! reset password, sign-out, and a plain notice. Every form carries its CSRF token, every input a
//! visible label.

use super::{escape, layout};
use crate::domain::oauth::logout::Logout;

/// A labelled input.
pub fn input(label: &str, name: &str, kind: &str, value: &str, attrs: &str) -> String {
    format!(
        "<label for=\"{name}\">{}</label><input type=\"{kind}\" id=\"{name}\" name=\"{name}\" value=\"{}\" {attrs}>",
        escape(label),
        escape(value)
    )
}

/// A labelled input for a password being chosen (the NIST minimum checked in the browser too).
fn new_password(label: &str, name: &str) -> String {
    input(
        label,
        name,
        "password",
        "",
        "autocomplete=\"new-password\" required minlength=\"8\"",
    )
}

/// A POST form with its CSRF token, `inner` fields and one submit button.
pub fn form(action: &str, csrf: &str, inner: &str, button: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf_token\" value=\"{}\">{inner}\
         <div class=\"actions\"><button type=\"submit\">{}</button></div></form>",
        escape(action),
        escape(csrf),
        escape(button)
    )
}

/// A message above a form: an error (role=alert) or a notice.
pub fn message(error: Option<&str>, notice: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(e) = error {
        out.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(e)
        ));
    }
    if let Some(n) = notice {
        out.push_str(&format!(
            "<p class=\"notice\" role=\"status\">{}</p>",
            escape(n)
        ));
    }
    out
}

pub fn home(signed_in_as: Option<&str>, demo: bool) -> String {
    let who = match signed_in_as {
        Some(h) => format!("<p>Signed in as <strong>{}</strong>. <a href=\"/account\">Your account</a> · <a href=\"/logout\">Sign out</a></p>", escape(h)),
        None => "<p><a href=\"/signup\">Sign up</a> · <a href=\"/login?return_to=/account\">Sign in</a> · <a href=\"/password/forgot\">Forgot your password?</a></p>".to_owned(),
    };
    let demo = if demo {
        "<h2>Demo</h2><p><a href=\"/demo/start\">Try the OAuth flow</a>: a built-in app asks for your consent and shows the tokens it gets. \
         <a href=\"/demo/mailbox\">The demo mailbox</a> holds every code sent.</p>"
    } else {
        ""
    };
    let body = format!(
        "<h1>gharart-id</h1><p>The identity service of this team: accounts confirmed by email, sign-in for apps \
         (OAuth 2.1 with PKCE), personal access tokens for scripts, and a support desk that sees the request IDs you send it.</p>\
         {who}{demo}<p class=\"rid\"><a href=\"/openapi.json\">API reference (OpenAPI)</a> · \
         <a href=\"/.well-known/oauth-authorization-server\">OAuth metadata</a></p>"
    );
    layout("Welcome", &body)
}

pub fn signup(
    csrf: &str,
    error: Option<&str>,
    handle: &str,
    email: &str,
    display_name: &str,
) -> String {
    let fields = [
        input(
            "Handle (3 to 32 of a-z, 0-9, _ and -)",
            "handle",
            "text",
            handle,
            "autocomplete=\"username\" autocapitalize=\"none\" required",
        ),
        input(
            "Email",
            "email",
            "email",
            email,
            "autocomplete=\"email\" required",
        ),
        input(
            "Display name (optional)",
            "display_name",
            "text",
            display_name,
            "autocomplete=\"name\"",
        ),
        new_password("Password (at least 8 characters)", "password"),
    ]
    .concat();
    let body = format!(
        "<h1>Sign up</h1>{}{}<p>Already have an account? <a href=\"/login?return_to=/account\">Sign in</a></p>",
        message(error, None),
        form("/signup", csrf, &fields, "Sign up")
    );
    layout("Sign up", &body)
}

pub fn confirm(
    csrf: &str,
    email: &str,
    error: Option<&str>,
    notice: Option<&str>,
    invited: bool,
) -> String {
    let password = if invited {
        input(
            "Choose a password (your account was created by invitation)",
            "password",
            "password",
            "",
            "autocomplete=\"new-password\"",
        )
    } else {
        String::new()
    };
    let fields = format!(
        "{}{}{password}",
        input(
            "Email",
            "email",
            "email",
            email,
            "autocomplete=\"email\" required"
        ),
        input(
            "The 6-digit code from the email",
            "code",
            "text",
            "",
            "inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{6}\" required"
        )
    );
    let resend = form(
        "/signup/resend",
        csrf,
        &format!(
            "<input type=\"hidden\" name=\"email\" value=\"{}\">",
            escape(email)
        ),
        "Send a new code",
    );
    let body = format!(
        "<h1>Confirm your email</h1>{}<p>We sent a code to <strong>{}</strong>.</p>{}<h2>No code, or it expired?</h2>{resend}",
        message(error, notice),
        escape(email),
        form("/signup/confirm", csrf, &fields, "Confirm")
    );
    layout("Confirm your email", &body)
}

pub fn forgot(csrf: &str, error: Option<&str>) -> String {
    let body = format!(
        "<h1>Forgot your password?</h1>{}<p>We will email you a code to set a new one.</p>{}",
        message(error, None),
        form(
            "/password/forgot",
            csrf,
            &input(
                "Email",
                "email",
                "email",
                "",
                "autocomplete=\"email\" required"
            ),
            "Send the code"
        )
    );
    layout("Forgot password", &body)
}

pub fn reset(csrf: &str, email: &str, error: Option<&str>) -> String {
    let fields = [
        input(
            "Email",
            "email",
            "email",
            email,
            "autocomplete=\"email\" required",
        ),
        input(
            "The 6-digit code from the email",
            "code",
            "text",
            "",
            "inputmode=\"numeric\" autocomplete=\"one-time-code\" required",
        ),
        new_password("New password (at least 8 characters)", "new_password"),
    ]
    .concat();
    let body = format!(
        "<h1>Set a new password</h1>{}<p>Setting it signs you out everywhere and revokes your personal access tokens.</p>{}",
        message(error, None),
        form("/password/reset", csrf, &fields, "Set the password")
    );
    layout("Reset password", &body)
}

pub fn logout(csrf: &str) -> String {
    layout(
        "Sign out",
        &format!(
            "<h1>Sign out</h1><p>Sign this browser out?</p>{}",
            form("/logout", csrf, "", "Sign out")
        ),
    )
}

/// RP-initiated logout's confirmation: who asks, where the browser goes next, and the form.
pub fn end_session(csrf: &str, l: &Logout) -> String {
    let who = match &l.client_name {
        Some(name) => format!(
            "<p><strong>{}</strong> asks to sign you out.</p>",
            escape(name)
        ),
        None => String::new(),
    };
    let mut hidden = String::new();
    for (name, value) in [
        ("client_id", &l.client_id),
        ("post_logout_redirect_uri", &l.post_logout_redirect_uri),
        ("state", &l.state),
    ] {
        if let Some(v) = value {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(v)
            ));
        }
    }
    layout(
        "Sign out",
        &format!(
            "<h1>Sign out</h1>{who}<p>Sign this browser out of gharart-id?</p>{}",
            form("/oauth/logout", csrf, &hidden, "Sign out")
        ),
    )
}

/// A plain page with a title, a message and one link onward.
pub fn notice(title: &str, text: &str, link: (&str, &str)) -> String {
    layout(
        title,
        &format!(
            "<h1>{}</h1><p>{}</p><p><a href=\"{}\">{}</a></p>",
            escape(title),
            escape(text),
            escape(link.0),
            escape(link.1)
        ),
    )
}
