//! The body of every POST route, through the real dispatcher on a real database in a temporary
//! directory. An input is a seed's shape (see `fuzz/seeds/bodies/`): a first line `PATH json|form`,
//! then the body, whose placeholders (`$TOKEN`, `$REFRESH`, `$CLIENT`, `$HANDLE`, `$EMAIL`,
//! `$PASSWORD`, and the live passkey ceremonies `$PASSKEY_REGISTER`, `$PASSKEY_LOGIN`) are filled
//! with live values so that inputs reach past authentication. The body is
//! also sent as the bearer credential of `GET /v2/auth/me` (JWT, refresh-token-shaped and PAT
//! parsing, then the lookups behind them). No input may answer 5xx; a panic in a handler would
//! (the dispatcher turns it into a 500).
#![no_main]
use std::sync::{Arc, OnceLock};

use clap::Parser;
use gharart_id::core::Core;
use gharart_id::http::dispatch;
use gharart_id::http::routes::ROUTES;
use gharart_id::commands::args::ServeArgs;
use gharart_id::core::clock::Clock;
use gharart_id::commands::flags;
use gharart_id::http::server::{self, Running};
use libfuzzer_sys::fuzz_target;
use rouille::Request;

struct Fixture {
    core: Arc<Core>,
    /// The demo members: the first signs in for each input, the second is the target.
    members: Vec<(String, String)>,
    client_id: String,
    _running: Running,
    _dir: tempfile::TempDir,
}

#[derive(Parser)]
struct Wrap {
    #[command(flatten)]
    args: ServeArgs,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp dir");
        let db = dir.path().join("fuzz.db");
        let mail = dir.path().join("mail");
        let args = Wrap::try_parse_from([
            "serve",
            "--db",
            db.to_str().expect("a UTF-8 path"),
            "--mail-dir",
            mail.to_str().expect("a UTF-8 path"),
            "--listen",
            "127.0.0.1:0",
            "--pbkdf2-iterations",
            "1000",
            "--throttle",
            "off",
        ])
        .expect("serve flags")
        .args;
        let mut config = flags::config(args).expect("a config");
        config.demo = true;
        let running = server::start(config, Clock::System).expect("a server");
        let seeded = gharart_id::domain::demo::seed(&running.core).expect("a seeded team");
        Fixture {
            core: running.core.clone(),
            members: seeded.members,
            client_id: seeded.client_id,
            _running: running,
            _dir: dir,
        }
    })
}

fn post(core: &Core, path: &str, kind: &str, bearer: Option<&str>, body: Vec<u8>) -> (u16, Vec<u8>) {
    send(core, "POST", path, kind, bearer, body)
}

fn send(
    core: &Core,
    method: &str,
    path: &str,
    kind: &str,
    bearer: Option<&str>,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let mut headers = vec![("Content-Type".to_owned(), kind.to_owned())];
    if let Some(token) = bearer {
        headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
    }
    let req = Request::fake_http(method, path, headers, body);
    let resp = dispatch::handle(core, &req);
    let (mut reader, _) = resp.data.into_reader_and_size();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut out).expect("a body");
    (resp.status_code, out)
}

/// A fresh session of the first member: (access token, refresh token).
fn session(f: &Fixture) -> (String, String) {
    let (login, password) = &f.members[0];
    let body = serde_json::json!({"login": login, "password": password}).to_string();
    let (status, out) = post(&f.core, "/v2/auth/login", "application/json", None, body.into_bytes());
    assert_eq!(status, 200, "the fixture signs in");
    let v: serde_json::Value = serde_json::from_slice(&out).expect("a session");
    let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    (field("accessToken"), field("refreshToken"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((head, body)) = text.split_once('\n') else {
        return;
    };
    let Some((path, kind)) = head.split_once(' ') else {
        return;
    };
    let post_routes = ROUTES.iter().filter(|r| r.method == "POST");
    if !path.starts_with('/') || !post_routes.into_iter().any(|r| r.path == path) {
        return;
    }
    let f = fixture();
    let (token, refresh) = session(f);
    let (handle, password) = &f.members[1];
    // A live passkey ceremony, so that a mutated WebAuthn answer reaches the parser and the
    // checks behind its challenge.
    let ceremony = |path: &str, bearer: Option<&str>| {
        let (_, out) = post(&f.core, path, "application/json", bearer, b"{}".to_vec());
        serde_json::from_slice::<serde_json::Value>(&out)
            .ok()
            .and_then(|v| v["challengeId"].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let mut body = body.to_owned();
    if body.contains("$PASSKEY_REGISTER") {
        body = body.replace(
            "$PASSKEY_REGISTER",
            &ceremony("/v2/auth/passkeys/register/start", Some(&token)),
        );
    }
    if body.contains("$PASSKEY_LOGIN") {
        body = body.replace("$PASSKEY_LOGIN", &ceremony("/v2/auth/passkeys/login/start", None));
    }
    let body = body
        .replace("$TOKEN", &token)
        .replace("$REFRESH", &refresh)
        .replace("$CLIENT", &f.client_id)
        .replace("$HANDLE", handle)
        .replace("$EMAIL", &format!("{handle}@campaign.example"))
        .replace("$PASSWORD", password);
    let kind = if kind == "form" {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    let bearer = (path.starts_with("/v2/") || path == "/oauth/register").then_some(token.as_str());
    let as_bearer = body.trim().to_owned();
    let (status, out) = post(&f.core, path, kind, bearer, body.into_bytes());
    assert!(
        status < 500,
        "{path} answered {status}: {}",
        String::from_utf8_lossy(&out)
    );
    if !as_bearer.contains(['\r', '\n']) {
        let (status, out) = send(&f.core, "GET", "/v2/auth/me", kind, Some(&as_bearer), Vec::new());
        assert!(
            status < 500,
            "/v2/auth/me with that bearer answered {status}: {}",
            String::from_utf8_lossy(&out)
        );
    }
});
