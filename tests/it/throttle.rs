//! Throttles and daily write limits (API.md, Conventions; IETF RateLimit headers).

use serde_json::json;

use crate::common::*;

fn assert_throttled(r: &Resp, code: &str, policy: &str) -> u64 {
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (429, code),
        "{}",
        r.text()
    );
    let retry: u64 = r.header("Retry-After").unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert!(
        r.header("RateLimit-Policy")
            .unwrap()
            .starts_with(&format!("\"{policy}\";q=")),
        "{:?}",
        r.header("RateLimit-Policy")
    );
    assert_eq!(
        r.header("RateLimit").unwrap(),
        format!("\"{policy}\";r=0;t={retry}")
    );
    retry
}

#[test]
fn signup_is_limited_per_ip_and_comes_back_after_retry_after() {
    let s = TestServer::start_with(&["--throttle", "on"]);
    for i in 0..20 {
        assert_eq!(s.signup(&format!("crew{i}")).status, 201);
    }
    let r = s.signup("crew20");
    let retry = assert_throttled(&r, "throttled", "signup-ip");
    assert_eq!(
        r.header("RateLimit-Policy"),
        Some("\"signup-ip\";q=20;w=3600")
    );
    assert_eq!(retry, 3600, "the hour window started at 12:00");
    s.clock.advance(retry as i64);
    assert_eq!(s.signup("crew20").status, 201, "back after Retry-After");
}

#[test]
fn failed_logins_back_off_and_a_real_user_gets_back_in() {
    let s = TestServer::start_with(&["--throttle", "on"]);
    s.ready_user("santa");
    for _ in 0..10 {
        let r = s.post(
            "/v2/auth/login",
            json!({"login": "santa", "password": "guess-guess-1"}),
        );
        assert_eq!(r.error_code(), "invalid_credentials");
    }
    let r = s.post(
        "/v2/auth/login",
        json!({"login": "SANTA", "password": PASSWORD}),
    );
    let retry = assert_throttled(&r, "login_backoff", "login-failures");
    assert_eq!(retry, 30, "the first back-off");
    s.clock.advance(30);
    let r = s.post(
        "/v2/auth/login",
        json!({"login": "santa", "password": "guess-guess-2"}),
    );
    assert_eq!(r.error_code(), "invalid_credentials");
    let r = s.post(
        "/v2/auth/login",
        json!({"login": "santa", "password": PASSWORD}),
    );
    assert_eq!(
        assert_throttled(&r, "login_backoff", "login-failures"),
        60,
        "it doubles"
    );
    s.clock.advance(60);
    assert_eq!(
        s.post(
            "/v2/auth/login",
            json!({"login": "santa", "password": PASSWORD})
        )
        .status,
        200
    );
    let r = s.post(
        "/v2/auth/login",
        json!({"login": "santa", "password": "guess-guess-3"}),
    );
    assert_eq!(
        r.error_code(),
        "invalid_credentials",
        "success cleared the failures"
    );
    assert_eq!(
        s.post(
            "/v2/auth/login",
            json!({"login": "santa", "password": PASSWORD})
        )
        .status,
        200
    );
}

#[test]
fn login_is_limited_per_ip() {
    let s = TestServer::start_with(&["--throttle", "on"]);
    for i in 0..60 {
        let r = s.post(
            "/v2/auth/login",
            json!({"login": format!("nobody{i}"), "password": "whatever-1"}),
        );
        assert_eq!(r.status, 401);
    }
    let r = s.post(
        "/v2/auth/login",
        json!({"login": "nobody", "password": "whatever-1"}),
    );
    assert_throttled(&r, "throttled", "login-ip");
    assert_eq!(r.header("RateLimit-Policy"), Some("\"login-ip\";q=60;w=60"));
}

#[test]
fn resend_and_forgot_are_limited_per_email_known_or_not() {
    let s = TestServer::start_with(&["--throttle", "on"]);
    assert_eq!(s.signup("rudy").status, 201);
    for email in ["rudy@example.com", "ghost@example.com"] {
        for _ in 0..5 {
            assert_eq!(
                s.post("/v2/auth/signup/resend", json!({"email": email}))
                    .status,
                202
            );
            assert_eq!(
                s.post("/v2/auth/password/forgot", json!({"email": email}))
                    .status,
                202
            );
        }
        assert_throttled(
            &s.post(
                "/v2/auth/signup/resend",
                json!({"email": email.to_uppercase()}),
            ),
            "throttled",
            "resend-email",
        );
        assert_throttled(
            &s.post("/v2/auth/password/forgot", json!({"email": email})),
            "throttled",
            "forgot-email",
        );
    }
    assert_eq!(
        s.post(
            "/v2/auth/signup/resend",
            json!({"email": "third@example.com"})
        )
        .status,
        202,
        "per email"
    );
}

#[test]
fn refresh_is_limited_per_session_and_reports_per_ip() {
    let s = TestServer::start_with(&[
        "--throttle",
        "on",
        "--throttle-limit",
        "refresh-session=3/1m,report-ip=2/1h",
    ]);
    let mut session = s.ready_user("dasher");
    for _ in 0..3 {
        let r = s.post(
            "/v2/auth/refresh",
            json!({"refreshToken": session["refreshToken"]}),
        );
        assert_eq!(r.status, 200);
        session = r.json();
    }
    let r = s.post(
        "/v2/auth/refresh",
        json!({"refreshToken": session["refreshToken"]}),
    );
    assert_throttled(&r, "throttled", "refresh-session");
    assert_eq!(
        r.header("RateLimit-Policy"),
        Some("\"refresh-session\";q=3;w=60"),
        "changed by --throttle-limit"
    );
    let other = s.login("dasher");
    assert_eq!(
        s.post(
            "/v2/auth/refresh",
            json!({"refreshToken": other["refreshToken"]})
        )
        .status,
        200,
        "per session"
    );
    s.clock.advance(60);
    assert_eq!(
        s.post(
            "/v2/auth/refresh",
            json!({"refreshToken": session["refreshToken"]})
        )
        .status,
        200,
        "the session survived"
    );

    for _ in 0..2 {
        assert_eq!(
            s.post(
                "/v2/support/report",
                json!({"summary": "s", "details": "d"})
            )
            .status,
            201
        );
    }
    assert_throttled(
        &s.post(
            "/v2/support/report",
            json!({"summary": "s", "details": "d"}),
        ),
        "throttled",
        "report-ip",
    );
}

#[test]
fn forwarded_for_counts_only_with_trust_proxy() {
    let xff = |s: &TestServer, handle: &str, ip: &str| {
        let body = serde_json::to_vec(
            &json!({"handle": handle, "email": email_of(handle), "password": PASSWORD}),
        )
        .unwrap();
        request(
            s.addr,
            "POST",
            "/v2/auth/signup",
            &[
                ("Content-Type", "application/json"),
                ("X-Forwarded-For", ip),
            ],
            &body,
        )
    };
    let s = TestServer::start_with(&["--throttle", "on", "--throttle-limit", "signup-ip=1/1h"]);
    assert_eq!(xff(&s, "one", "10.0.0.1").status, 201);
    assert_eq!(
        xff(&s, "two", "10.0.0.2").status,
        429,
        "without --trust-proxy the header is ignored"
    );

    let s = TestServer::start_with(&[
        "--throttle",
        "on",
        "--throttle-limit",
        "signup-ip=1/1h",
        "--trust-proxy",
    ]);
    assert_eq!(xff(&s, "one", "10.0.0.1").status, 201);
    assert_eq!(
        xff(&s, "two", "1.2.3.4, 10.0.0.2").status,
        201,
        "the last entry is the client"
    );
    assert_eq!(
        xff(&s, "three", "10.0.0.2, 10.0.0.1").status,
        429,
        "a client cannot dodge with its own entries"
    );
}

#[test]
fn daily_ip_limit_survives_a_restart_and_resets_at_midnight() {
    let flags = ["--throttle", "on", "--daily-ip-limit", "5"];
    let mut s = TestServer::start_with(&flags);
    for _ in 0..5 {
        assert_eq!(
            s.post("/v2/auth/signup/resend", json!({"email": "x@example.com"}))
                .status,
            202
        );
    }
    let r = s.post(
        "/v2/auth/password/forgot",
        json!({"email": "y@example.com"}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (429, "daily_limit_reached")
    );
    assert_eq!(
        r.header("Retry-After"),
        Some("43200"),
        "noon to midnight UTC"
    );
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2026-11-29T00:00:00Z"),
        "names the reset time"
    );
    s.restart_with(&flags);
    let r = s.post(
        "/v2/auth/password/forgot",
        json!({"email": "y@example.com"}),
    );
    assert_eq!(
        r.error_code(),
        "daily_limit_reached",
        "a restart does not reset the count"
    );
    assert_eq!(
        s.get_auth("/v2/auth/me", "x").status,
        401,
        "reads are not charged"
    );
    s.clock.advance(43_200);
    assert_eq!(
        s.post(
            "/v2/auth/password/forgot",
            json!({"email": "y@example.com"})
        )
        .status,
        202,
        "a new day"
    );
}

#[test]
fn daily_account_limit() {
    let s = TestServer::start_with(&["--daily-account-limit", "2", "--throttle", "on"]);
    let at = s.access_token("elf-acct");
    for _ in 0..2 {
        assert_eq!(
            s.post_auth(
                "/v2/auth/tokens",
                json!({"name": "t", "scopes": ["profile"], "expiresInDays": 1}),
                &at
            )
            .status,
            201
        );
    }
    let r = s.post_auth(
        "/v2/auth/tokens",
        json!({"name": "t", "scopes": ["profile"], "expiresInDays": 1}),
        &at,
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (429, "daily_limit_reached")
    );
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("per account")
    );
    assert_eq!(
        s.get_auth("/v2/auth/tokens", &at).status,
        200,
        "reads still work"
    );
}
