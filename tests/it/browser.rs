//! The OAuth pages in a real headless browser (Debian's `chromium`, driven by playwright-core
//! from `tests/browser/`): sign in and consent by keyboard on a 375 px screen, then the code
//! exchange over HTTP. `tests/run.sh` installs both; without them the tests fail with the command
//! that installs them (a test that did not run never counts as passed).

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::*;
use crate::oauth_support::*;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Fails the test, naming the fix, when the browser tooling is missing.
pub fn require_browser() {
    let script_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        Path::new(CHROMIUM).exists() && script_dir.join("node_modules/playwright-core").exists(),
        "{CHROMIUM} or tests/browser/node_modules is missing: run tests/run.sh (it installs \
         chromium and runs npm ci --prefix tests/browser), or install them yourself"
    );
}

fn drive(
    s: &TestServer,
    client: &Value,
    challenge: &str,
    extra: &[(&str, &str)],
    decision: &str,
    shots: &Path,
) -> Value {
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/oauth_flow.mjs"))
        .env(
            "AUTHORIZE_URL",
            format!(
                "http://{}{}",
                s.addr,
                authorize_url(client, challenge, extra)
            ),
        )
        .env("LOGIN", "mistletoe")
        .env("PASSWORD", PASSWORD)
        .env("CALLBACK", CALLBACK)
        .env("DECISION", decision)
        .env("SHOTS", shots)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn oauth_sign_in_and_consent_in_chromium() {
    require_browser();
    let s = TestServer::start();
    let at = s.access_token("mistletoe");
    let client = register(&s, &at, json!({}));
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-shots");
    std::fs::create_dir_all(&shots).unwrap();
    let (verifier, challenge) = pkce();

    let run = drive(&s, &client, &challenge, &[], "approve", &shots);
    assert_eq!(run["signInTitle"], "Sign in · gharart-id");
    assert_eq!(
        run["signInLabels"],
        json!(["Handle or email", "Password"]),
        "every input has a visible label"
    );
    assert!(
        run["signInWidth"].as_i64().unwrap() <= 375,
        "no sideways scrolling on a phone: {run}"
    );
    assert!(run["consentWidth"].as_i64().unwrap() <= 375);
    assert_eq!(run["consentTitle"], "Allow access · gharart-id");
    let text = run["consentText"].as_str().unwrap();
    assert!(
        text.contains("Campaign Dashboard")
            && text.contains("127.0.0.1:9")
            && text.contains("mistletoe"),
        "{text}"
    );
    assert_eq!(run["reachedButtonByKeyboard"], true);
    let q = query_of(run["callbackUrl"].as_str().unwrap());
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], format!("http://{}", s.addr));
    let tokens = exchange(&s, &client, &q["code"], &verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let me = s.get_auth(
        "/v2/auth/me",
        tokens.json()["access_token"].as_str().unwrap(),
    );
    assert_eq!(me.json()["user"]["handle"], "mistletoe");
    assert!(shots.join("signin.png").exists() && shots.join("consent.png").exists());

    // Consent is remembered now, so ask again explicitly, and refuse.
    let denied = drive(
        &s,
        &client,
        &pkce().1,
        &[("prompt", "consent")],
        "deny",
        &shots,
    );
    let q = query_of(denied["callbackUrl"].as_str().unwrap());
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("access_denied", "st-123")
    );
}

/// Runs `tests/browser/SCRIPT` with `envs` and screenshots into `shots`; returns the JSON line
/// it prints last.
pub fn run_script(script: &str, envs: &[(&str, &str)], shots: &Path) -> Value {
    let mut cmd = Command::new("node");
    cmd.arg(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser")
            .join(script),
    )
    .env("SHOTS", shots);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn self_service_pages_and_the_demo_in_chromium() {
    require_browser();
    let (s, _) = TestServer::start_demo();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-shots");
    std::fs::create_dir_all(&shots).unwrap();
    let run = run_script(
        "self_service.mjs",
        &[
            ("BASE_URL", &format!("http://{}", s.addr)),
            ("HANDLE", "bauble"),
            ("PASSWORD", PASSWORD),
        ],
        &shots,
    );
    assert_eq!(run["afterSignup"], "/signup/confirm", "{run}");
    assert_eq!(
        run["codeFound"], true,
        "the code is readable in the demo mailbox"
    );
    assert_eq!(run["confirmedTitle"], "Email confirmed · gharart-id");
    assert_eq!(run["accountPath"], "/account");
    assert!(run["patToken"].as_str().unwrap().starts_with("gha_pat_"));
    assert_eq!(
        run["copyButtonVisible"], true,
        "with JavaScript the copy button appears"
    );
    assert_eq!(run["patWorks"], 200);
    assert_eq!(run["afterPatRevoke"], true);
    assert_eq!(
        run["patAfterRevoke"], 401,
        "revoked on the page, refused by the API"
    );
    assert_eq!(
        (
            run["revokedSessionStatus"].as_i64(),
            run["revokedSessionCode"].as_str()
        ),
        (Some(401), Some("session_revoked"))
    );
    assert_eq!(run["consentShown"], true);
    assert_eq!(run["callbackPath"], "/demo/callback");
    let user = s.login("bauble");
    assert_eq!(
        run["claims"]["sub"], user["user"]["id"],
        "the demo app got the user's token"
    );
    assert!(
        run["claims"]["client_id"]
            .as_str()
            .unwrap()
            .starts_with("cli_")
    );
    for (page, w) in run["widths"].as_object().unwrap() {
        assert!(
            w.as_i64().unwrap() <= 375,
            "{page} fits a 375 px screen ({w})"
        );
    }
    for name in [
        "home",
        "confirm",
        "mailbox",
        "account",
        "token",
        "demo-consent",
        "demo-callback",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
}

#[test]
fn two_step_sign_in_set_up_and_used_in_chromium() {
    require_browser();
    let s = TestServer::start();
    s.ready_user("wreath");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-shots");
    std::fs::create_dir_all(&shots).unwrap();
    let run = run_script(
        "two_step.mjs",
        &[
            ("BASE_URL", &format!("http://{}", s.addr)),
            ("HANDLE", "wreath"),
            ("PASSWORD", PASSWORD),
            ("NOW", &s.clock.now().to_string()),
        ],
        &shots,
    );
    assert!(run["offText"].as_str().unwrap().starts_with("Off"), "{run}");
    assert_eq!(run["qrVisible"], true, "{run}");
    assert!(run["qrWidth"].as_i64().unwrap() >= 150, "{run}");
    assert_eq!(run["secretLength"], 32);
    assert!(
        run["wrongCodeAlert"].as_str().unwrap().contains("code"),
        "{run}"
    );
    assert_eq!(
        (
            run["sameSecretAfterWrongCode"].as_bool(),
            run["sameSecretAfterReload"].as_bool()
        ),
        (Some(true), Some(true)),
        "a mistyped code or a reload keeps the set-up the user scanned: {run}"
    );
    assert_eq!(run["recoveryCodes"], 10, "{run}");
    assert!(
        run["onText"]
            .as_str()
            .unwrap()
            .contains("10 recovery codes left"),
        "{run}"
    );
    assert_eq!(run["secondStepShown"], true, "{run}");
    assert_eq!(run["secondStepTitle"], "Two-step sign-in · gharart-id");
    assert_eq!(run["afterSecondStep"], "/account", "{run}");
    for (page, w) in run["widths"].as_object().unwrap() {
        assert!(
            w.as_i64().unwrap() <= 375,
            "{page} scrolls sideways at 375 px: {w}"
        );
    }
    // What the page set up is what the API sees.
    let session = s.post(
        "/v2/auth/login",
        json!({"login": "wreath", "password": PASSWORD}),
    );
    assert_eq!(session.json()["mfaRequired"], true);
    let mfa_token = session.json()["mfaToken"].as_str().unwrap().to_owned();
    let secret = run["secret"].as_str().unwrap();
    let code = crate::mfa::authenticator(secret, s.clock.now() - 30);
    let replayed = s.post(
        "/v2/auth/login/mfa",
        json!({"mfaToken": mfa_token, "code": code}),
    );
    assert_eq!(
        replayed.error_code(),
        "code_invalid",
        "a step before the spent one"
    );
}
