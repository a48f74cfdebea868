//! Operations (API.md, Operations; issue 5): the OpenAPI document against the live routes and a
//! standard validator, Prometheus metrics through a standard parser, and graceful shutdown.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

/// Fails the test, naming the fix, when python3 cannot import `module` (a tool `tests/run.sh`
/// installs).
fn require_python(module: &str) {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 cannot import {module}: run tests/run.sh, or \
         python3 -m pip install openapi-spec-validator prometheus-client"
    );
}

fn python(script: &str, stdin: &str) -> (bool, String) {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    verdict(&out)
}

/// Whether a tool succeeded, and all it printed.
fn verdict(out: &std::process::Output) -> (bool, String) {
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_openapi_document_matches_the_routes_served() {
    let s = TestServer::start();
    let r = request(s.addr, "GET", "/openapi.json", &[], b"");
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], format!("http://{}", s.addr));
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = gharart_id::http::routes::all()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(
        documented, served,
        "the document and the route table describe the same routes"
    );
    for route in &served {
        let probe = request(s.addr, &route.0, &route.1.replace("{id}", "x"), &[], b"");
        // /demo/* answers only under `gharart-id demo` (tests/it/pages.rs probes it there).
        let exempt = route.1.contains("{id}") || route.1.starts_with("/demo/");
        assert!(probe.status != 404 || exempt, "{route:?} is really served");
    }
    let codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
        ["enum"]
        .as_array()
        .unwrap();
    for code in [
        "code_expired",
        "refresh_token_reused",
        "idempotency_key_mismatch",
        "daily_limit_reached",
        "login_backoff",
    ] {
        assert!(codes.iter().any(|c| c == code), "{code} is documented");
    }
    require_python("openapi_spec_validator");
    let script = "import json,sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(sys.stdin))\nprint('valid')";
    let (ok, out) = python(script, &r.text());
    assert!(ok && out.contains("valid"), "openapi-spec-validator: {out}");
}

#[test]
fn metrics_parse_with_the_prometheus_parser() {
    let s = TestServer::start();
    s.ready_user("metric");
    assert_eq!(
        s.post(
            "/v2/auth/login",
            json!({"login": "metric", "password": "wrong-password"})
        )
        .status,
        401
    );
    let session = s.login("metric");
    assert_eq!(
        s.post(
            "/v2/auth/refresh",
            json!({"refreshToken": session["refreshToken"]})
        )
        .status,
        200
    );
    // Malformed refreshes count too (issue 16): a token that is not ours, and no token at all.
    for body in [json!({"refreshToken": "gha_rt_not-a-token"}), json!({})] {
        let r = s.post("/v2/auth/refresh", body);
        assert!(r.status == 401 || r.status == 422, "{}", r.text());
    }
    let r = request(s.addr, "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200);
    assert!(
        r.header("Content-Type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text();
    for needle in [
        "gharart_http_requests_total{route=\"/v2/auth/login\",method=\"POST\",status=\"401\"} 1",
        "gharart_logins_total{result=\"ok\"} 2",
        "gharart_logins_total{result=\"failed\"} 1",
        "gharart_refreshes_total{result=\"ok\"} 1",
        "gharart_refreshes_total{result=\"invalid\"} 2",
        "gharart_codes_sent_total{purpose=\"confirm\"} 1",
        "gharart_active_sessions 2",
        "gharart_http_request_duration_seconds_count{route=\"/v2/auth/signup\"} 1",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
    require_python("prometheus_client");
    let script = "import sys\nfrom prometheus_client.parser import text_string_to_metric_families\nfams = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}\nprint(sorted(fams))\nassert fams['gharart_http_request_duration_seconds'].type == 'histogram'\nassert fams['gharart_db_size_bytes'].samples[0].value > 0";
    let (ok, out) = python(script, &text);
    assert!(ok, "prometheus_client parser: {out}");
    assert!(
        out.contains("gharart_http_requests") && out.contains("gharart_refreshes"),
        "{out}"
    );
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("term.db");
    // A slow hash keeps a login in flight when the signal arrives.
    let mut cmd = Command::new(BIN);
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--throttle",
        "off",
        "--pbkdf2-iterations",
        "400000",
        "--db",
    ])
    .arg(&db)
    .env("RUST_LOG", "info")
    .stderr(Stdio::piped());
    let (mut child, addr) = serve_child(cmd);
    let (status, elapsed) = std::thread::scope(|scope| {
        let in_flight = scope.spawn(move || {
            let started = Instant::now();
            let r = post(
                addr,
                "/v2/auth/login",
                &json!({"login": "nobody", "password": "whatever-1"}),
                None,
            );
            (r.status, started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(300));
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        in_flight.join().unwrap()
    });
    assert_eq!(status, 401, "the request in flight got its whole answer");
    assert!(
        elapsed > Duration::from_millis(300),
        "it was still running when the signal came ({elapsed:?})"
    );
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "a graceful stop exits 0");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("stopped cleanly"), "{stderr}");
    let wal = std::fs::metadata(dir.path().join("term.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(wal, 0, "the WAL was checkpointed into the database");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "no longer accepting"
    );
}

/// Whether `needle` occurs in `haystack` with no letter or digit right before or after it (a
/// 6-digit code may occur by chance inside a random request ID, which is not a leak).
fn occurs_as_word(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// Every secret a flow handles (passwords, right and wrong; access, refresh and personal access
/// tokens; a client secret; confirmation and reset codes) stays out of the server's log at its
/// most verbose, while the log does carry each request's ID. Mail goes to files here; mail to the
/// log (the default for local runs) prints codes by design.
#[test]
fn secrets_never_reach_the_log() {
    use crate::oauth_support::{basic, form_post, register};
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--throttle", "off"])
        .args(["--pbkdf2-iterations", &TEST_ITERATIONS.to_string()])
        .arg("--db")
        .arg(dir.path().join("id.db"))
        .arg("--mail-dir")
        .arg(dir.path().join("mail"))
        .env("RUST_LOG", "trace")
        .stderr(std::fs::File::create(&log_path).unwrap());
    let (child, addr) = serve_child(cmd);
    let s = TestServer {
        addr,
        clock: gharart_id::core::clock::Clock::System,
        dir,
        running: None,
    };
    let mut secrets: Vec<(&str, String)> = vec![("password", PASSWORD.to_owned())];
    let session = s.ready_user("prancer");
    secrets.push((
        "confirmation code",
        codes_in(&s.mail_dir(), &email_of("prancer")).remove(0),
    ));
    let access = session["accessToken"].as_str().unwrap().to_owned();
    let refresh = session["refreshToken"].as_str().unwrap().to_owned();
    let rotated = s
        .post("/v2/auth/refresh", json!({"refreshToken": refresh}))
        .json();
    let pat = s.post_auth(
        "/v2/auth/tokens",
        json!({"name": "ci", "scopes": ["profile"], "expiresInDays": 7}),
        &access,
    );
    assert_eq!(pat.status, 201, "{}", pat.text());
    let client = register(&s, &access, json!({"grant_types": ["client_credentials"]}));
    let client_token = form_post(
        &s,
        "/oauth/token",
        &[("grant_type", "client_credentials")],
        Some(&basic(&client)),
    );
    assert_eq!(client_token.status, 200, "{}", client_token.text());
    let wrong = s.post(
        "/v2/auth/login",
        json!({"login": "prancer", "password": "wrong-horse-battery"}),
    );
    assert_eq!(wrong.status, 401);
    let forgot = s.post(
        "/v2/auth/password/forgot",
        json!({"email": email_of("prancer")}),
    );
    assert_eq!(forgot.status, 202);
    let reset_code = wait_for_codes(&s.mail_dir(), &email_of("prancer"), 2).remove(1);
    let reset = s.post(
        "/v2/auth/password/forgot/confirm",
        json!({"email": email_of("prancer"), "code": reset_code, "newPassword": "mistletoe-lantern-7"}),
    );
    assert_eq!(reset.status, 200, "{}", reset.text());
    secrets.extend([
        ("access token", access.clone()),
        (
            "access token signature",
            access.rsplit('.').next().unwrap().to_owned(),
        ),
        ("refresh token", refresh),
        (
            "rotated refresh token",
            rotated["refreshToken"].as_str().unwrap().to_owned(),
        ),
        (
            "personal access token",
            pat.json()["token"].as_str().unwrap().to_owned(),
        ),
        (
            "client secret",
            client["client_secret"].as_str().unwrap().to_owned(),
        ),
        (
            "client's access token",
            client_token.json()["access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        ),
        ("wrong password", "wrong-horse-battery".to_owned()),
        ("reset code", reset_code),
        ("new password", "mistletoe-lantern-7".to_owned()),
    ]);
    stop_gracefully(child);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let id = reset.header("X-Request-Id").unwrap();
    assert!(log.contains(id), "the log names each request: {id} missing");
    for (what, secret) in &secrets {
        assert!(
            !occurs_as_word(&log, secret),
            "the {what} is in the server log"
        );
    }
}

/// Runs schemathesis's status-code check against `base`'s own OpenAPI document; its output.
fn schemathesis(base: &str, extra: &[&str]) -> (bool, String) {
    // schemathesis keeps a cache in the working directory: a temporary one, not the checkout.
    let scratch = tempfile::tempdir().unwrap();
    let out = Command::new("st")
        .current_dir(scratch.path())
        .args(["run", &format!("{base}/openapi.json")])
        .args([
            "--checks",
            "status_code_conformance",
            "--max-examples",
            "25",
        ])
        .args(["--seed", "16", "--no-color"])
        .args(extra)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "schemathesis (`st`) did not start ({e}): install it with \
                 `python3 -m pip install schemathesis` (.ci/run does)"
            )
        });
    verdict(&out)
}

#[test]
fn schemathesis_finds_no_undocumented_status_on_any_operation() {
    // A plain server (the /demo routes answer 404 there), with a user's token for the routes
    // that need one, and a demo server (where they answer).
    let s = TestServer::start();
    let token = s.access_token("schema");
    let bearer = format!("Authorization: Bearer {token}");
    let (ok, out) = schemathesis(&format!("http://{}", s.addr), &["-H", &bearer]);
    assert!(ok, "undocumented statuses on the plain server:\n{out}");
    let (demo, _) = TestServer::start_demo();
    let (ok, out) = schemathesis(&format!("http://{}", demo.addr), &[]);
    assert!(ok, "undocumented statuses on the demo server:\n{out}");
}
