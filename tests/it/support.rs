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
        let r = s.post("/v2/support/report", body);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (422, "invalid_field"),
            "{field}"
        );
        assert_eq!(r.json()["error"]["field"], field);
    }
    let listed = cli_ok(&s, &["reports", "list"]);
    assert_eq!(
        listed.lines().count(),
        1,
        "refused reports stored nothing: {listed}"
    );
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
