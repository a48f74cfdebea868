//! Idempotency-Key on the write routes (API.md, Conventions; IETF httpapi idempotency draft).

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

fn post_key(s: &TestServer, path: &str, body: &Value, key: &str, token: Option<&str>) -> Resp {
    let bytes = serde_json::to_vec(body).unwrap();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Idempotency-Key", key),
    ];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    request(s.addr, "POST", path, &headers, &bytes)
}

#[test]
fn same_key_same_body_replays_the_first_response() {
    let s = TestServer::start();
    let body = json!({"handle": "replay", "email": "replay@example.com", "password": PASSWORD});
    let first = post_key(&s, "/v2/auth/signup", &body, "signup-replay-1", None);
    assert_eq!(first.status, 201);
    assert_eq!(first.header("Idempotent-Replayed"), None);
    let again = post_key(&s, "/v2/auth/signup", &body, "signup-replay-1", None);
    assert_eq!(again.status, 201, "not handle_taken: the stored response");
    assert_eq!(again.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
    assert_ne!(
        again.header("X-Request-Id"),
        first.header("X-Request-Id"),
        "each request has its own id"
    );
    wait_for_codes(&s.mail_dir(), "replay@example.com", 1);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        codes_in(&s.mail_dir(), "replay@example.com").len(),
        1,
        "the signup ran once"
    );

    let other = json!({"handle": "replay2", "email": "replay2@example.com", "password": PASSWORD});
    let r = post_key(&s, "/v2/auth/signup", &other, "signup-replay-1", None);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "idempotency_key_mismatch")
    );
}

#[test]
fn replayed_failures_do_not_count_again() {
    let s = TestServer::start();
    assert_eq!(s.signup("careful").status, 201);
    let code = wait_for_codes(&s.mail_dir(), "careful@example.com", 1)
        .pop()
        .unwrap();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let body = json!({"email": "careful@example.com", "code": wrong});
    let mut first_id = None;
    for i in 0..8 {
        let r = post_key(&s, "/v2/auth/signup/confirm", &body, "confirm-retry", None);
        assert_eq!(r.error_code(), "code_invalid");
        assert_eq!(r.header("Idempotent-Replayed").is_some(), i > 0);
        let body_id = r.json()["error"]["requestId"].as_str().unwrap().to_owned();
        assert_eq!(
            &body_id,
            first_id.get_or_insert_with(|| body_id.clone()),
            "the body names the first request"
        );
    }
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": "careful@example.com", "code": code}),
    );
    assert_eq!(
        r.status,
        200,
        "eight retries of one wrong try are one wrong try: {}",
        r.text()
    );
}

#[test]
fn keys_are_scoped_to_the_caller() {
    let s = TestServer::start();
    let a = s.access_token("scope-a");
    let b = s.access_token("scope-b");
    for token in [&a, &b] {
        let r = post_key(&s, "/v2/auth/logout", &json!({}), "logout-1", Some(token));
        assert_eq!(r.status, 204);
        assert_eq!(
            r.header("Idempotent-Replayed"),
            None,
            "another caller's key is another key"
        );
    }
    let r = post_key(&s, "/v2/auth/logout", &json!({}), "logout-1", Some(&a));
    assert_eq!(
        (r.status, r.header("Idempotent-Replayed")),
        (204, Some("true"))
    );
}

#[test]
fn a_key_in_flight_answers_409() {
    // Slow hashing keeps the first signup running while the second arrives.
    let s = TestServer::start_with(&["--pbkdf2-iterations", "300000"]);
    let body = json!({"handle": "slowpoke", "email": "slow@example.com", "password": PASSWORD});
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| post_key(&s, "/v2/auth/signup", &body, "in-flight-1", None));
        std::thread::sleep(Duration::from_millis(150));
        let second = post_key(&s, "/v2/auth/signup", &body, "in-flight-1", None);
        (first.join().unwrap(), second)
    });
    assert_eq!(first.status, 201);
    assert_eq!(
        (second.status, second.error_code().as_str()),
        (409, "idempotency_in_progress")
    );
    let third = post_key(&s, "/v2/auth/signup", &body, "in-flight-1", None);
    assert_eq!(
        (third.status, third.header("Idempotent-Replayed")),
        (201, Some("true"))
    );
}

#[test]
fn keys_expire_after_a_day_and_bad_keys_are_refused() {
    let s = TestServer::start();
    let body = json!({"email": "later@example.com"});
    assert_eq!(
        post_key(&s, "/v2/auth/signup/resend", &body, "resend-day", None)
            .header("Idempotent-Replayed"),
        None
    );
    s.clock.advance(24 * 3600 - 1);
    assert_eq!(
        post_key(&s, "/v2/auth/signup/resend", &body, "resend-day", None)
            .header("Idempotent-Replayed"),
        Some("true")
    );
    s.clock.advance(1);
    assert_eq!(
        post_key(&s, "/v2/auth/signup/resend", &body, "resend-day", None)
            .header("Idempotent-Replayed"),
        None,
        "24 h later it runs anew"
    );

    let long = "k".repeat(256);
    for bad in [long.as_str(), "tab\tkey"] {
        let r = post_key(&s, "/v2/auth/signup/resend", &body, bad, None);
        assert_eq!((r.status, r.error_code().as_str()), (422, "invalid_field"));
        assert_eq!(r.json()["error"]["field"], "Idempotency-Key");
    }
}

#[test]
fn routes_whose_answers_hold_secrets_ignore_the_key() {
    let s = TestServer::start();
    s.ready_user("secretive");
    let body = json!({"login": "secretive", "password": PASSWORD});
    let a = post_key(&s, "/v2/auth/login", &body, "login-key", None);
    let b = post_key(&s, "/v2/auth/login", &body, "login-key", None);
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!(b.header("Idempotent-Replayed"), None);
    assert_ne!(
        a.json()["sessionId"],
        b.json()["sessionId"],
        "tokens are never stored for replay"
    );
}
