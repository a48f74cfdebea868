//! The examples work as documented: `examples/walkthrough.sh` and the playbook scripts of
//! `docs/PLAYBOOKS.md`, each against the real binary.

use std::process::Command;

use crate::common::*;

#[test]
fn walkthrough_script_runs_the_whole_flow() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = crate::crash::spawn_binary(dir.path());
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/walkthrough.sh"
        ))
        .env("BASE_URL", format!("http://{addr}"))
        .env("MAIL_DIR", dir.path().join("mail"))
        .env("PASSWORD", PASSWORD)
        .output()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "signup   201",
        "confirm  200",
        "login    200",
        "me       200",
        "refresh  200",
        "logout   204",
        "me       401",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(step))
            .unwrap_or_else(|| panic!("no {step:?} in {stdout}"));
        assert!(
            line.contains("request req_"),
            "each step prints its request ID: {line}"
        );
    }
    assert!(stdout.contains("refused: session_revoked"));
}

/// Runs an example script against a fresh binary started with `flags`; returns its stdout.
fn run_playbook(script: &str, flags: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = crate::crash::spawn_binary_with(dir.path(), flags);
    let out = Command::new("bash")
        .arg(format!("{}/examples/{script}", env!("CARGO_MANIFEST_DIR")))
        .env("BASE_URL", format!("http://{addr}"))
        .env("MAIL_DIR", dir.path().join("mail"))
        .env("GHARART_DB", dir.path().join("crash.db"))
        .env("GHARART_BIN", env!("CARGO_BIN_EXE_gharart-id"))
        .env("PASSWORD", PASSWORD)
        .output()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script}:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn playbook_expired_code_reproduces_and_fixes() {
    let out = run_playbook("playbook_expired_code.sh", &["--signup-code-ttl", "2s"]);
    assert!(
        out.contains("code_expired") && out.contains("/v2/auth/signup/resend"),
        "{out}"
    );
    assert!(out.contains("fixed:"));
    assert!(
        out.contains("users list:") && out.contains(" code_expired "),
        "{out}"
    );
    assert!(out.contains("1 sent, 0 skipped"), "{out}");
}

#[test]
fn playbook_refresh_failure_diagnoses_both_causes() {
    let out = run_playbook(
        "playbook_refresh_failure.sh",
        &["--refresh-reuse-interval", "1s", "--refresh-idle-ttl", "5s"],
    );
    assert!(
        out.contains("refresh_token_reused") && out.contains("detected at"),
        "{out}"
    );
    assert!(
        out.contains("refresh_token_expired") && out.contains("idle too long"),
        "{out}"
    );
}

#[test]
fn playbook_authorize_loop_shows_the_difference_and_the_loop() {
    let out = run_playbook("playbook_authorize_loop.sh", &[]);
    assert!(out.contains("trailing slash"), "{out}");
    assert!(
        out.contains("authorize #6") && out.contains(" 429 "),
        "{out}"
    );
    assert!(
        out.matches("    req_").count() >= 6,
        "the request IDs involved: {out}"
    );
}

#[test]
fn playbook_lost_second_factor_shows_the_codes_and_the_way_back() {
    let out = run_playbook("playbook_lost_second_factor.sh", &[]);
    let wrong = out
        .lines()
        .filter(|l| l.starts_with("wrong code") && l.contains(" 401 code_invalid "))
        .count();
    assert_eq!(wrong, 5, "{out}");
    assert!(out.contains("mfa_token_invalid"), "{out}");
    assert!(out.contains(" mfa "), "users list shows the factor: {out}");
    assert!(out.contains("second factors removed"), "{out}");
    assert!(
        out.contains("old session") && out.contains("session_revoked"),
        "{out}"
    );
    assert!(out.contains("fixed:"), "{out}");
}

#[test]
fn playbook_resource_token_shows_invalid_target_the_audience_and_the_jwks_check() {
    let out = run_playbook(
        "playbook_resource_token.sh",
        &["--resource", "https://mcp.example.test"],
    );
    assert!(out.contains("400 invalid_target"), "{out}");
    assert!(
        out.contains("that token at /v2") && out.contains(" 401 invalid_token "),
        "{out}"
    );
    assert!(
        out.contains("fixed: the resource server verified it with the JWKS alone: aud https://mcp.example.test"),
        "{out}"
    );
}
