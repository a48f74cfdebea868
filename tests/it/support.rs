//! Support reports and the request record (issue 4; `gharart-id reports list|show`).

use std::process::Command;

use serde_json::json;

use crate::common::*;

#[test]
fn a_report_naming_a_failed_login_shows_that_failure() {
    let s = TestServer::start();
    s.ready_user("locked-out");
    let failed = s.post(
        "/v2/auth/login",
        json!({"login": "locked-out", "password": "not-my-password"}),
    );
    assert_eq!(failed.status, 401);
    let rid = failed.header("X-Request-Id").unwrap().to_owned();

    let r = s.post(
        "/v2/support/report",
        json!({"summary": "cannot sign in", "details": "it says my password is wrong", "handle": "locked-out", "requestId": rid, "reproArtifact": "curl -X POST /v2/auth/login ..."}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    let report_id = v["reportId"].as_str().unwrap().to_owned();
    assert!(report_id.starts_with("rpt_"));
    assert_eq!(v["receivedAt"], "2026-11-28T12:00:00Z");
    assert_eq!(v["requestRecordAttached"], true);

    let shown = cli_ok(&s, &["reports", "show", &report_id]);
    assert!(
        shown.contains("POST /v2/auth/login -> 401 invalid_credentials"),
        "{shown}"
    );
    assert!(shown.contains("cannot sign in") && shown.contains("it says my password is wrong"));
    assert!(shown.contains("reporter   (not signed in)"));
    assert!(shown.contains("curl -X POST"));
    assert!(
        !shown.contains("not-my-password"),
        "no request body is ever recorded"
    );
    let listed = cli_ok(&s, &["reports", "list"]);
    assert!(
        listed.contains(&report_id) && listed.contains(&rid),
        "{listed}"
    );
}

#[test]
fn bearer_is_optional_and_an_invalid_one_does_not_block_the_report() {
    let s = TestServer::start();
    let at = s.access_token("reporter");
    let body = json!({"summary": "s", "details": "", "requestId": "req_doesnotexist"});
    let r = s.post_auth("/v2/support/report", body.clone(), &at);
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["requestRecordAttached"], false);
    let shown = cli_ok(
        &s,
        &["reports", "show", r.json()["reportId"].as_str().unwrap()],
    );
    assert!(shown.contains("reporter   usr_"), "{shown}");
    assert!(shown.contains("no record of that request"));

    s.clock.advance(3600);
    let r = s.post_auth("/v2/support/report", body, &at);
    assert_eq!(r.status, 201, "an expired token still reaches support");
}

#[test]
fn report_fields_are_validated() {
    let s = TestServer::start();
    let big = "a".repeat(64 * 1024);
    let ok = s.post(
        "/v2/support/report",
        json!({"summary": "big artifact", "details": "d", "reproArtifact": big}),
    );
    assert_eq!(
        ok.status, 201,
        "a 64 KiB artifact fits, beyond the usual 64 KiB body cap"
    );
    let cases = [
        (json!({"summary": "", "details": "d"}), "summary"),
        (
            json!({"summary": "x".repeat(201), "details": "d"}),
            "summary",
        ),
        (json!({"summary": "s"}), "details"),
        (
            json!({"summary": "s", "details": "d".repeat(10_001)}),
            "details",
        ),
        (
            json!({"summary": "s", "details": "d", "reproArtifact": format!("{big}a")}),
            "reproArtifact",
        ),
        (
            json!({"summary": "s", "details": "d", "requestId": 5}),
            "requestId",
        ),
        (
            json!({"summary": "s", "details": "d", "sessionId": "s".repeat(201)}),
            "sessionId",
        ),
    ];
    for (body, field) in cases {
        refused_for(&s, body, field);
    }
    let listed = cli_ok(&s, &["reports", "list"]);
    assert_eq!(
        listed.lines().count(),
        1,
        "refused reports stored nothing: {listed}"
    );
}

/// A report that `field` makes invalid: 422 `invalid_field` naming it.
fn refused_for(s: &TestServer, body: serde_json::Value, field: &str) {
    let r = s.post("/v2/support/report", body);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "invalid_field"),
        "{field}"
    );
    assert_eq!(r.json()["error"]["field"], field);
}

#[test]
fn reports_cli_refuses_a_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["reports", "list", "--db"])
        .arg(dir.path().join("none.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database"));
    assert!(!dir.path().join("none.db").exists(), "nothing was created");
}

/// Issue 14, finding 6: one-line fields refuse control characters, and what the CLI prints of a
/// report is escaped, so a report cannot rewrite the operator's terminal or fake its lines.
#[test]
fn reports_cannot_drive_the_operators_terminal() {
    let s = TestServer::start();
    for field in ["summary", "handle", "sessionId", "requestId"] {
        let mut body = json!({"summary": "fine", "details": ""});
        body[field] = json!("looks fine\u{1b}[2J\nreport rpt_fake");
        refused_for(&s, body, field);
    }
    let listed = cli_ok(&s, &["reports", "list"]);
    assert!(
        listed.contains("no support reports"),
        "nothing was stored: {listed}"
    );

    let r = s.post(
        "/v2/support/report",
        json!({"summary": "title \u{202e}gnp.exe", "details": "step one\u{1b}[2J\u{1b}[H\nreport     rpt_fake\u{7}", "reproArtifact": "\u{1b}]0;owned\u{7}curl"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["reportId"].as_str().unwrap().to_owned();
    let shown = cli_ok(&s, &["reports", "show", &id]);
    assert!(
        !shown.contains(['\u{1b}', '\u{7}', '\u{202e}']),
        "{shown:?}"
    );
    assert!(shown.contains("step one\\u{1b}[2J\\u{1b}[H"), "{shown}");
    assert!(
        shown.contains("\n  report     rpt_fake\\u{7}"),
        "a fake line stays indented: {shown}"
    );
    assert!(shown.contains("\\u{1b}]0;owned\\u{7}curl"), "{shown}");
    assert!(shown.contains("title \\u{202e}gnp.exe"), "{shown}");
    let listed = cli_ok(&s, &["reports", "list"]);
    assert!(
        listed.contains(&id) && !listed.contains('\u{202e}'),
        "{listed:?}"
    );
}

/// Issue 14, finding 7: `users list | head` ends quietly when `head` has read its line.
#[test]
fn a_listing_into_a_closed_pipe_exits_quietly() {
    let s = TestServer::start();
    {
        let c = rusqlite::Connection::open(s.db_path()).unwrap();
        let tx = c.unchecked_transaction().unwrap();
        for i in 0..3000 {
            tx.execute(
                "INSERT INTO users (id, handle, email, email_key, password_hash, email_confirmed, created_at, updated_at) VALUES (?1, ?2, ?3, ?3, 'x', 1, 0, 0)",
                rusqlite::params![format!("usr_{i}"), format!("crew-{i}"), format!("crew-{i}@gharart.test")],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let out = Command::new("bash")
        .args([
            "-c",
            "set -o pipefail; \"$0\" users list --db \"$1\" | head -n 1",
            BIN,
        ])
        .arg(s.db_path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}
