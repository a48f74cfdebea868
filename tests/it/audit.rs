//! The audit log through the real server and the command line: a scripted stretch of a day
//! (signup and confirmation, sign-ins that work and fail, a PAT made and revoked, a role and
//! groups change, a disable, a key rotation, a refresh token replayed) read back
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
    let token = session["accessToken"].as_str().unwrap();
    let pat = s.post_auth(
        "/v2/auth/tokens",
        serde_json::json!({"name": "ci", "scopes": ["profile"], "expiresInDays": 7}),
        token,
    );
    assert_eq!(pat.status, 201, "{}", pat.text());
    let pat_id = pat.json()["id"].as_str().unwrap().to_owned();
    let revoked = s.delete_auth(
        &format!("/v2/auth/tokens/{pat_id}"),
        serde_json::json!({}),
        token,
    );
    assert_eq!(revoked.status, 204, "{}", revoked.text());
    cli_ok(&s, &["users", "role", "garland", "admin"]);
    cli_ok(&s, &["users", "groups", "garland", "--add", "holiday-crew"]);
    cli_ok(&s, &["users", "add", "tinsel", "tinsel@gharart.com"]);
    cli_ok(&s, &["users", "disable", "tinsel"]);
    cli_ok(&s, &["keys", "rotate"]);
    let refresh = session["refreshToken"].as_str().unwrap();
    let rotated = s.post(
        "/v2/auth/refresh",
        serde_json::json!({"refreshToken": refresh}),
    );
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    s.clock.advance(120);
    let reused = s.post(
        "/v2/auth/refresh",
        serde_json::json!({"refreshToken": refresh}),
    );
    assert_eq!(
        reused.error_code(),
        "refresh_token_reused",
        "{}",
        reused.text()
    );

    let rows = lines(&s, &[]);
    let events: Vec<&str> = rows.iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        [
            "signup",
            "signup_confirmed",
            "login_succeeded",
            "login_failed",
            "login_failed",
            "pat_created",
            "pat_revoked",
            "role_changed",
            "groups_changed",
            "user_invited",
            "user_disabled",
            "keys_rotated",
            "refresh_token_reuse_detected",
        ],
        "{rows:?}"
    );
    let user_id = session["user"]["id"].as_str().unwrap();
    assert_eq!(rows[0]["actor"]["type"], "anonymous");
    assert_eq!(rows[0]["target"]["handle"], "garland");
    assert_eq!(rows[1]["target"]["id"], user_id);
    let ok = &rows[2];
    assert_eq!(ok["actor"]["type"], "user");
    assert_eq!(ok["actor"]["id"], user_id);
    assert_eq!(ok["details"]["via"], "api");
    assert_eq!(ok["ip"], "127.0.0.1");
    assert!(ok["time"].as_str().unwrap().ends_with('Z'));
    let failed = &rows[3];
    assert_eq!(failed["actor"]["type"], "anonymous");
    assert_eq!(failed["target"]["handle"], "garland");
    assert_eq!(
        failed["requestId"],
        wrong_rid.as_str(),
        "the request ID of the 401"
    );
    assert_eq!(
        rows[4]["target"],
        Value::Null,
        "an unknown login names no target"
    );
    assert_eq!(rows[4]["details"]["knownAccount"], false);
    assert_eq!(rows[5]["actor"]["handle"], "garland");
    assert_eq!(rows[5]["details"]["patId"], pat_id.as_str());
    assert_eq!(rows[6]["details"]["patId"], pat_id.as_str());
    assert_eq!(rows[7]["actor"]["type"], "operator");
    assert_eq!(rows[7]["details"]["to"], "admin");
    assert_eq!(rows[11]["target"]["type"], "key");
    assert_eq!(rows[12]["target"]["handle"], "garland");
    assert_eq!(rows[12]["details"]["sessionId"], session["sessionId"]);

    // Filters.
    assert_eq!(lines(&s, &["--event", "login_failed"]).len(), 2);
    let garland = lines(&s, &["--user", "garland"]);
    assert_eq!(garland.len(), 9, "{garland:?}");
    assert_eq!(lines(&s, &["--since", "1h"]).len(), rows.len());

    // No secret anywhere: not the password, not the wrong ones, not a token.
    let text = cli_ok(&s, &["audit", "--json"]) + &cli_ok(&s, &["audit"]);
    for secret in [
        PASSWORD,
        "not-the-password-1",
        "whatever-secret-9",
        session["accessToken"].as_str().unwrap(),
        session["refreshToken"].as_str().unwrap(),
        rotated.json()["refreshToken"].as_str().unwrap(),
        pat.json()["token"].as_str().unwrap(),
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
