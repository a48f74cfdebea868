//! The audit log through the real server and the command line: a scripted stretch of a day
//! (sign-ins that work and fail, a role and groups change, a disable, a key rotation) read back
//! with `audit --json`, its filters, and no secret in any row.

use serde_json::Value;

use crate::common::*;

fn lines(s: &TestServer, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["audit", "--json"];
    all.extend_from_slice(args);
    cli_ok(s, &all)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn a_scripted_day_reads_back_from_audit_json_without_a_secret() {
    let s = TestServer::start_now(&[]);
    let session = s.ready_user("garland");
    let wrong = s.post(
        "/v2/auth/login",
        serde_json::json!({"login": "garland", "password": "not-the-password-1"}),
    );
    assert_eq!(wrong.status, 401);
    let wrong_rid = wrong.header("X-Request-Id").unwrap().to_owned();
    let unknown = s.post(
        "/v2/auth/login",
        serde_json::json!({"login": "nobody-here", "password": "whatever-secret-9"}),
    );
    assert_eq!(unknown.status, 401);
    cli_ok(&s, &["users", "role", "garland", "admin"]);
    cli_ok(&s, &["users", "groups", "garland", "--add", "holiday-crew"]);
    cli_ok(&s, &["users", "add", "tinsel", "tinsel@gharart.com"]);
    cli_ok(&s, &["users", "disable", "tinsel"]);
    cli_ok(&s, &["keys", "rotate"]);

    let rows = lines(&s, &[]);
    let events: Vec<&str> = rows.iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        [
            "login_succeeded",
            "login_failed",
            "login_failed",
            "role_changed",
            "groups_changed",
            "user_invited",
            "user_disabled",
            "keys_rotated"
        ],
        "{rows:?}"
    );
    let user_id = session["user"]["id"].as_str().unwrap();
    let ok = &rows[0];
    assert_eq!(ok["actor"]["type"], "user");
    assert_eq!(ok["actor"]["id"], user_id);
    assert_eq!(ok["details"]["via"], "api");
    assert_eq!(ok["ip"], "127.0.0.1");
    assert!(ok["time"].as_str().unwrap().ends_with('Z'));
    let failed = &rows[1];
    assert_eq!(failed["actor"]["type"], "anonymous");
    assert_eq!(failed["target"]["handle"], "garland");
    assert_eq!(
        failed["requestId"],
        wrong_rid.as_str(),
        "the request ID of the 401"
    );
    assert_eq!(
        rows[2]["target"],
        Value::Null,
        "an unknown login names no target"
    );
    assert_eq!(rows[2]["details"]["knownAccount"], false);
    assert_eq!(rows[3]["actor"]["type"], "operator");
    assert_eq!(rows[3]["details"]["to"], "admin");
    assert_eq!(rows[7]["target"]["type"], "key");

    // Filters.
    assert_eq!(lines(&s, &["--event", "login_failed"]).len(), 2);
    let garland = lines(&s, &["--user", "garland"]);
    assert_eq!(garland.len(), 4, "{garland:?}");
    assert_eq!(lines(&s, &["--since", "1h"]).len(), rows.len());

    // No secret anywhere: not the password, not the wrong ones, not a token.
    let text = cli_ok(&s, &["audit", "--json"]) + &cli_ok(&s, &["audit"]);
    for secret in [
        PASSWORD,
        "not-the-password-1",
        "whatever-secret-9",
        session["accessToken"].as_str().unwrap(),
        session["refreshToken"].as_str().unwrap(),
    ] {
        assert!(
            !text.contains(secret),
            "a secret in the audit log: {secret}"
        );
    }
    assert!(
        !text.contains("nobody-here"),
        "a typed login name is not kept"
    );

    // A support report naming the failed sign-in's request shows its audit row.
    let report = s.post(
        "/v2/support/report",
        serde_json::json!({"summary": "cannot sign in", "details": "", "requestId": wrong_rid}),
    );
    assert_eq!(report.status, 201, "{}", report.text());
    let shown = cli_ok(
        &s,
        &[
            "reports",
            "show",
            report.json()["reportId"].as_str().unwrap(),
        ],
    );
    assert!(
        shown.contains("audit rows of that request:") && shown.contains("\"login_failed\""),
        "{shown}"
    );

    // Append-only.
    let c = rusqlite::Connection::open(s.db_path()).unwrap();
    assert!(c.execute("UPDATE audit_log SET event = 'x'", []).is_err());
}
