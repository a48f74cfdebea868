//! Refresh-token rotation, the reuse interval, family revocation and lifetimes
//! (API.md, Tokens: refresh token; LESSONS.md failure mode A; RFC 9700 §4.14.2).

use serde_json::{Value, json};

use crate::common::*;

fn refresh(s: &TestServer, token: &Value) -> crate::common::Resp {
    s.post("/v2/auth/refresh", json!({"refreshToken": token}))
}

#[test]
fn a_retry_inside_the_reuse_interval_gets_the_same_successor() {
    let s = TestServer::start();
    let first = s.ready_user("rudolph");
    let a = refresh(&s, &first["refreshToken"]);
    assert_eq!(a.status, 200);
    s.clock.advance(9);
    let b = refresh(&s, &first["refreshToken"]);
    assert_eq!(
        b.status,
        200,
        "a lost response can be retried: {}",
        b.text()
    );
    assert_eq!(
        a.json()["refreshToken"],
        b.json()["refreshToken"],
        "the same successor"
    );
    let c = refresh(&s, &b.json()["refreshToken"]);
    assert_eq!(c.status, 200, "the successor stays valid");
}

#[test]
fn reuse_after_the_interval_revokes_the_family() {
    let s = TestServer::start();
    let first = s.ready_user("donner");
    let at = first["accessToken"].as_str().unwrap().to_owned();
    let second = refresh(&s, &first["refreshToken"]).json();
    s.clock.advance(11);
    let r = refresh(&s, &first["refreshToken"]);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "refresh_token_reused")
    );
    let r = refresh(&s, &first["refreshToken"]);
    assert_eq!(
        r.error_code(),
        "refresh_token_reused",
        "again on every later try"
    );
    let r = refresh(&s, &second["refreshToken"]);
    assert_eq!(
        r.error_code(),
        "session_revoked",
        "every other token of the session"
    );
    let r = s.get_auth("/v2/auth/me", &at);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "session_revoked")
    );
    // Another session of the same user is untouched.
    let other = s.login("donner");
    assert_eq!(refresh(&s, &other["refreshToken"]).status, 200);
}

#[test]
fn an_older_token_rotated_out_within_the_interval_still_succeeds() {
    let s = TestServer::start();
    let t0 = s.ready_user("comet2");
    let t1 = refresh(&s, &t0["refreshToken"]).json();
    s.clock.advance(2);
    let t2 = refresh(&s, &t1["refreshToken"]).json();
    s.clock.advance(2);
    let late = refresh(&s, &t0["refreshToken"]);
    assert_eq!(late.status, 200, "{}", late.text());
    assert_eq!(
        late.json()["refreshToken"],
        t2["refreshToken"],
        "the current token, not a new branch"
    );
}

#[test]
fn idle_and_absolute_lifetimes() {
    let s = TestServer::start();
    let first = s.ready_user("sleigh");
    s.clock.advance(30 * 86_400);
    let r = refresh(&s, &first["refreshToken"]);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "refresh_token_expired"),
        "idle 30 d"
    );

    let mut current = s.login("sleigh");
    for _ in 0..4 {
        s.clock.advance(20 * 86_400);
        let r = refresh(&s, &current["refreshToken"]);
        assert_eq!(
            r.status,
            200,
            "used every 20 days, the idle window slides: {}",
            r.text()
        );
        current = r.json();
    }
    s.clock.advance(10 * 86_400);
    let r = refresh(&s, &current["refreshToken"]);
    assert_eq!(r.error_code(), "refresh_token_expired", "absolute 90 d");
}

#[test]
fn forged_and_malformed_refresh_tokens() {
    let s = TestServer::start();
    let session = s.ready_user("frosty");
    let real = session["refreshToken"].as_str().unwrap();
    let bumped = real.replacen(".0.", ".1.", 1);
    for bad in [
        "",
        "nonsense",
        "gha_rt_x.0.y",
        bumped.as_str(),
        &real[..real.len() - 2],
    ] {
        let r = refresh(&s, &json!(bad));
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (401, "refresh_token_invalid"),
            "{bad}"
        );
    }
    let r = s.post("/v2/auth/refresh", json!({"refreshToken": 5}));
    assert_eq!(r.error_code(), "invalid_field");
    assert_eq!(
        refresh(&s, &session["refreshToken"]).status,
        200,
        "bad tries harm nothing"
    );
}

#[test]
fn logout_all_sessions() {
    let s = TestServer::start();
    let a = s.ready_user("nick");
    let b = s.login("nick");
    // Checked before, so that the server's cache holds b's rows when a logs out.
    assert_eq!(
        s.get_auth("/v2/auth/me", b["accessToken"].as_str().unwrap())
            .status,
        200
    );
    let r = s.post_auth(
        "/v2/auth/logout",
        json!({"allSessions": true}),
        a["accessToken"].as_str().unwrap(),
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        s.get_auth("/v2/auth/me", b["accessToken"].as_str().unwrap())
            .error_code(),
        "session_revoked"
    );
    assert_eq!(
        refresh(&s, &b["refreshToken"]).error_code(),
        "session_revoked"
    );
}

/// The server keeps a checked token's rows while nothing commits; a write by another connection
/// (here plain SQL, as the command line or an operator's sqlite3 shell would) is seen within
/// `OUTSIDE_COMMIT_LAG` (a millisecond).
#[test]
fn a_revocation_written_by_another_process_stops_a_checked_token_within_the_lag() {
    let lag = gharart_id::store::OUTSIDE_COMMIT_LAG * 2;
    let s = TestServer::start();
    let token = s.access_token("tinsel");
    for _ in 0..3 {
        assert_eq!(s.get_auth("/v2/auth/me", &token).status, 200);
    }
    s.sql("UPDATE users SET display_name = 'Tinsel Renamed' WHERE handle = 'tinsel'");
    std::thread::sleep(lag);
    assert_eq!(
        s.get_auth("/v2/auth/me", &token).json()["user"]["displayName"],
        "Tinsel Renamed",
        "a changed row is read again"
    );
    s.sql("UPDATE sessions SET revoked_at = 1, revoke_reason = 'logout'");
    std::thread::sleep(lag);
    assert_eq!(
        s.get_auth("/v2/auth/me", &token).error_code(),
        "session_revoked"
    );
}
