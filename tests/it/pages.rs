//! The self-service pages and the demo over HTTP (API.md, Pages; issue 8). The same pages in a
//! real browser are in `browser.rs`.

use serde_json::json;

use crate::common::*;
use crate::oauth_support::{Browser, hidden, query_of};

fn assert_page_headers(r: &Resp) {
    let csp = r
        .header("Content-Security-Policy")
        .unwrap_or_else(|| panic!("no CSP: {}", r.text()));
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("form-action"),
        "{csp}"
    );
    assert_eq!(r.header("X-Frame-Options"), Some("DENY"));
    assert_eq!(r.header("Referrer-Policy"), Some("no-referrer"));
    assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert!(r.text().contains("<meta name=\"viewport\""));
}

#[test]
fn every_page_sends_its_headers_and_labels() {
    let s = TestServer::start();
    let mut b = Browser::default();
    for path in [
        "/",
        "/signup",
        "/signup/confirm?email=a%40b.co",
        "/login",
        "/password/forgot",
        "/password/reset?email=a%40b.co",
        "/logout",
    ] {
        let r = b.get(&s, path);
        assert_eq!(r.status, 200, "{path}");
        assert_page_headers(&r);
        let html = r.text();
        let inputs = html.matches("<input type=\"text\"").count()
            + html.matches("<input type=\"email\"").count()
            + html.matches("<input type=\"password\"").count();
        assert!(
            html.matches("<label").count() >= inputs,
            "{path}: every input has a label"
        );
    }
    let r = b.get(&s, "/account");
    assert_eq!(
        (r.status, r.header("Location")),
        (303, Some("/login?return_to=/account")),
        "the account needs a sign-in"
    );
    for path in ["/demo/mailbox", "/demo/start", "/demo/callback"] {
        let r = b.get(&s, path);
        assert_eq!(r.status, 404, "{path} only under gharart-id demo");
        assert_page_headers(&r);
        assert!(
            r.text().contains(r.header("X-Request-Id").unwrap()),
            "the error page shows its request ID"
        );
    }
}

#[test]
fn every_form_is_refused_without_its_csrf_token() {
    let s = TestServer::start();
    let session = s.ready_user("guarded");
    let mut b = Browser::default();
    let back = b.sign_in_at(&s, "/login?return_to=/account", "guarded");
    assert_eq!(back, "/account");
    let forms: [(&str, &[(&str, &str)]); 13] = [
        (
            "/signup",
            &[
                ("handle", "sneaky"),
                ("email", "sneaky@example.com"),
                ("password", PASSWORD),
            ],
        ),
        (
            "/signup/confirm",
            &[("email", "guarded@example.com"), ("code", "123456")],
        ),
        ("/signup/resend", &[("email", "guarded@example.com")]),
        ("/login", &[("login", "guarded"), ("password", PASSWORD)]),
        ("/password/forgot", &[("email", "guarded@example.com")]),
        (
            "/password/reset",
            &[
                ("email", "guarded@example.com"),
                ("code", "123456"),
                ("new_password", "new-garland-77"),
            ],
        ),
        ("/logout", &[]),
        (
            "/account/tokens",
            &[
                ("name", "t"),
                ("scopes", "profile"),
                ("expires_in_days", "3"),
            ],
        ),
        ("/account/tokens/revoke", &[("token_id", "pat_x")]),
        ("/account/sessions/revoke", &[("session_id", "ses_x")]),
        ("/account/sessions/revoke-others", &[]),
        ("/account/apps/revoke", &[("client_id", "cli_x")]),
        (
            "/oauth/authorize/decision",
            &[("request_id", "azr_x"), ("decision", "approve")],
        ),
    ];
    for (path, fields) in forms {
        let r = b.post(&s, path, fields);
        assert_eq!(r.status, 403, "{path} without csrf_token: {}", r.text());
        assert_page_headers(&r);
        assert!(r.text().contains(r.header("X-Request-Id").unwrap()));
    }
    assert_eq!(
        s.post(
            "/v2/auth/login",
            json!({"login": "sneaky", "password": PASSWORD})
        )
        .error_code(),
        "invalid_credentials",
        "nothing was created"
    );
    assert_eq!(
        s.get_auth("/v2/auth/me", session["accessToken"].as_str().unwrap())
            .status,
        200,
        "nothing was revoked"
    );
    assert_eq!(b.get(&s, "/account").status, 200, "still signed in");
}

#[test]
fn sign_up_confirm_and_reset_through_the_pages() {
    let (s, _) = TestServer::start_demo();
    let mut b = Browser::default();
    let page = b.get(&s, "/signup");
    let csrf = hidden(&page.text(), "csrf_token");
    let r = b.post(
        &s,
        "/signup",
        &[
            ("csrf_token", &csrf),
            ("handle", "Wreath"),
            ("email", "wreath@example.com"),
            ("password", "short"),
        ],
    );
    assert_eq!(r.status, 422, "a weak password re-renders the form");
    assert!(
        r.text().contains("at least 8 characters")
            && r.text().contains(r.header("X-Request-Id").unwrap())
    );
    assert!(
        r.text().contains("value=\"Wreath\""),
        "what was typed is kept"
    );
    let r = b.post(
        &s,
        "/signup",
        &[
            ("csrf_token", &csrf),
            ("handle", "Wreath"),
            ("email", "wreath@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(
        (r.status, r.header("Location")),
        (303, Some("/signup/confirm?email=wreath%40example.com"))
    );
    let code = wait_for_mailbox_code(&s, "wreath@example.com", 1);
    let confirm = b.get(&s, "/signup/confirm?email=wreath%40example.com");
    assert!(confirm.text().contains("Send a new code"));
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let r = b.post(
        &s,
        "/signup/confirm",
        &[
            ("csrf_token", &csrf),
            ("email", "wreath@example.com"),
            ("code", wrong),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("wrong, used, or unknown"));
    let r = b.post(
        &s,
        "/signup/resend",
        &[("csrf_token", &csrf), ("email", "wreath@example.com")],
    );
    assert!(r.text().contains("a new code is on its way"));
    let r = b.post(
        &s,
        "/signup/confirm",
        &[
            ("csrf_token", &csrf),
            ("email", "wreath@example.com"),
            ("code", &code),
        ],
    );
    assert_eq!(r.status, 200, "an earlier code still works: {}", r.text());
    assert!(r.text().contains("Email confirmed"));
    assert_eq!(
        s.login("wreath")["user"]["emailConfirmed"],
        true,
        "the API agrees"
    );

    let r = b.post(
        &s,
        "/password/forgot",
        &[("csrf_token", &csrf), ("email", "wreath@example.com")],
    );
    assert_eq!(
        r.header("Location"),
        Some("/password/reset?email=wreath%40example.com")
    );
    let reset_code = wait_for_mailbox_code(&s, "wreath@example.com", 3);
    let r = b.post(
        &s,
        "/password/reset",
        &[
            ("csrf_token", &csrf),
            ("email", "wreath@example.com"),
            ("code", &reset_code),
            ("new_password", "new-garland-77"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("1 sessions were signed out"));
    assert_eq!(
        s.post(
            "/v2/auth/login",
            json!({"login": "wreath", "password": "new-garland-77"})
        )
        .status,
        200
    );
}

/// The code of the newest message to `to` in the demo mailbox, once it holds `count` of them.
fn wait_for_mailbox_code(s: &TestServer, to: &str, count: usize) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let html = request(s.addr, "GET", "/demo/mailbox", &[], b"").text();
        let mine: Vec<&str> = html
            .split("<li>")
            .skip(1)
            .filter(|li| li.contains(&format!("To {to}")))
            .collect();
        if mine.len() >= count {
            return mine[0]
                .split("<code class=\"code\">")
                .nth(1)
                .and_then(|r| r.split('<').next())
                .unwrap_or("")
                .to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "expected {count} messages to {to}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn the_account_page_and_the_api_agree() {
    let s = TestServer::start();
    let api = s.ready_user("ivy-acct");
    let mut b = Browser::default();
    b.sign_in_at(&s, "/login?return_to=/account", "ivy-acct");
    let page = b.get(&s, "/account");
    assert_eq!(page.status, 200);
    assert_page_headers(&page);
    let html = page.text();
    let api_sid = api["sessionId"].as_str().unwrap();
    assert!(html.contains(api_sid), "API logins are listed");
    assert!(html.contains("this browser"));
    let csrf = hidden(&html, "csrf_token");

    let r = b.post(
        &s,
        "/account/tokens",
        &[
            ("csrf_token", &csrf),
            ("name", "deploy-bot"),
            ("scopes", "profile"),
            ("scopes", "email"),
            ("expires_in_days", "30"),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let token = r
        .text()
        .split("id=\"new_token\" readonly value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("gha_pat_"));
    let me = s.get_auth("/v2/auth/me", &token);
    assert_eq!(
        me.json()["credential"]["scopes"],
        json!(["profile", "email"]),
        "the page's token works on the API"
    );
    let listed = s
        .get_auth("/v2/auth/tokens", api["accessToken"].as_str().unwrap())
        .json();
    let pat_id = listed["tokens"][0]["id"].as_str().unwrap().to_owned();
    assert!(!b.get(&s, "/account").text().contains(&token), "shown once");
    let r = b.post(
        &s,
        "/account/tokens/revoke",
        &[("csrf_token", &csrf), ("token_id", &pat_id)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        s.get_auth("/v2/auth/me", &token).status,
        401,
        "revoked on the page, refused by the API"
    );

    let r = b.post(
        &s,
        "/account/sessions/revoke",
        &[("csrf_token", &csrf), ("session_id", api_sid)],
    );
    assert!(r.text().contains("The session is revoked"));
    assert_eq!(
        s.get_auth("/v2/auth/me", api["accessToken"].as_str().unwrap())
            .error_code(),
        "session_revoked"
    );
    let r = b.post(
        &s,
        "/account/sessions/revoke",
        &[("csrf_token", &csrf), ("session_id", "ses_not_mine")],
    );
    assert_eq!(r.status, 404, "another session id is not found");

    let html = b.get(&s, "/account").text();
    assert!(
        html.contains("Your recent requests") && html.contains("/account/sessions/revoke"),
        "the debug panel lists recent request IDs"
    );
    let bearer = html
        .split("id=\"access_token\" readonly value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(
        s.get_auth("/v2/auth/me", bearer).status,
        200,
        "the debug panel's token is this session's"
    );

    let other = s.login("ivy-acct");
    let r = b.post(
        &s,
        "/account/sessions/revoke-others",
        &[("csrf_token", &csrf)],
    );
    assert!(
        r.text().contains("Signed out everywhere else (1 sessions)"),
        "{}",
        r.text()
    );
    assert_eq!(
        s.get_auth("/v2/auth/me", other["accessToken"].as_str().unwrap())
            .status,
        401
    );
    assert_eq!(
        b.get(&s, "/account").status,
        200,
        "this browser stays signed in"
    );

    let logout = b.get(&s, "/logout");
    assert_eq!(
        b.get(&s, "/account").status,
        200,
        "a GET of /logout signs nothing out"
    );
    let r = b.post(
        &s,
        "/logout",
        &[("csrf_token", &hidden(&logout.text(), "csrf_token"))],
    );
    assert!(r.text().contains("signed out"));
    assert_eq!(b.get(&s, "/account").status, 303);
}

#[test]
fn the_demo_seeds_a_team_and_runs_its_own_oauth_app() {
    let (s, members) = TestServer::start_demo();
    assert_eq!(members.len(), 3);
    let (holly, password) = &members[0];
    let r = s.post(
        "/v2/auth/login",
        json!({"login": holly, "password": password}),
    );
    assert_eq!(r.status, 200, "the printed credentials work");
    // The pending invitation's code is in the mailbox (mail is delivered after its commit, by
    // the background thread, so it is waited for).
    let code = wait_for_mailbox_code(&s, "tinsel@campaign.example", 1);
    assert!(!code.is_empty(), "the invitation carries its code");

    let mut b = Browser::default();
    let start = b.get(&s, "/demo/start");
    let location = start.header("Location").unwrap().to_owned();
    assert!(
        location.starts_with("/oauth/authorize?")
            && location.contains("code_challenge_method=S256")
    );
    let back = {
        let page = b.get(&s, &location);
        let csrf = hidden(&page.text(), "csrf_token");
        let r = b.post(
            &s,
            "/login",
            &[
                ("csrf_token", &csrf),
                ("return_to", &hidden(&page.text(), "return_to")),
                ("login", holly),
                ("password", password),
            ],
        );
        r.header("Location").unwrap().to_owned()
    };
    let consent = b.get(&s, &back);
    assert!(consent.text().contains("Campaign Planner (demo)"));
    let html = consent.text();
    let r = b.post(
        &s,
        "/oauth/authorize/decision",
        &[
            ("csrf_token", &hidden(&html, "csrf_token")),
            ("request_id", &hidden(&html, "request_id")),
            ("decision", "approve"),
        ],
    );
    let to = r.header("Location").unwrap().to_owned();
    assert!(
        to.starts_with(&format!("http://{}/demo/callback?", s.addr)),
        "{to}"
    );
    let path = to.split_once(&s.addr.to_string()).unwrap().1.to_owned();
    let cb = b.get(&s, &path);
    assert_eq!(cb.status, 200, "{}", cb.text());
    let page = cb.text();
    assert!(
        page.contains("&quot;sub&quot;")
            && page.contains("&quot;client_id&quot;")
            && page.contains("refresh_token"),
        "{page}"
    );
    assert!(query_of(&to).contains_key("iss"));
    let again = b.get(&s, &path);
    assert!(
        again.status == 400,
        "the demo app's state is used up: {}",
        again.status
    );
}

#[test]
fn the_demo_command_prints_its_credentials_and_stays_on_loopback() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let bin = env!("CARGO_BIN_EXE_gharart-id");
    let refused = Command::new(bin)
        .args(["demo", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("loopback"));

    let mut child = Command::new(bin)
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--pbkdf2-iterations",
            "1000",
        ])
        .env_remove("GHARART_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split("demo on ")
        .nth(1)
        .unwrap()
        .split('/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/");
    let db = first
        .split("(database ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    assert!(
        db.contains("gharart-demo-"),
        "a fresh database in a temporary directory: {db}"
    );
    let creds: Vec<(String, String)> = lines
        .by_ref()
        .take(3)
        .map(|l| {
            let l = l.unwrap();
            let rest = l.strip_prefix("login: ").unwrap_or_else(|| panic!("{l}"));
            let (h, p) = rest.split_once(" password: ").unwrap();
            (h.to_owned(), p.to_owned())
        })
        .collect();
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    for (h, p) in &creds {
        let r = post(
            addr,
            "/v2/auth/login",
            &json!({"login": h, "password": p}),
            None,
        );
        assert_eq!(r.status, 200, "{h}");
    }
    let home = request(addr, "GET", "/", &[], b"").text();
    assert!(home.contains("Try the OAuth flow") && home.contains("/demo/mailbox"));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(
        !std::path::Path::new(&db).exists(),
        "the temporary database is gone"
    );
}
