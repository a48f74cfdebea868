//! Password reset (API.md, Identity routes: password/forgot and password/forgot/confirm).

use serde_json::json;

use crate::common::*;

#[test]
fn reset_revokes_every_session_and_changes_the_password() {
    let s = TestServer::start();
    let a = s.ready_user("elfie");
    let b = s.login("elfie");
    let email = email_of("elfie");
    let r = s.post(
        "/v2/auth/password/forgot",
        json!({"email": "ELFIE@example.com"}),
    );
    assert_eq!((r.status, r.json()), (202, json!({"accepted": true})));
    let code = wait_for_codes(&s.mail_dir(), &email, 2).pop().unwrap();

    let r = s.post(
        "/v2/auth/password/forgot/confirm",
        json!({"email": email, "code": code, "newPassword": "short"}),
    );
    assert_eq!((r.status, r.error_code().as_str()), (422, "weak_password"));
    assert_eq!(r.json()["error"]["field"], "newPassword");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let r = s.post(
        "/v2/auth/password/forgot/confirm",
        json!({"email": email, "code": wrong, "newPassword": "new-garland-77"}),
    );
    assert_eq!(r.error_code(), "code_invalid");

    let r = s.post(
        "/v2/auth/password/forgot/confirm",
        json!({"email": email, "code": code, "newPassword": "new-garland-77"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"passwordReset": true, "sessionsRevoked": 2})
    );
    for session in [&a, &b] {
        let r = s.get_auth("/v2/auth/me", session["accessToken"].as_str().unwrap());
        assert_eq!(r.error_code(), "session_revoked");
        let r = s.post(
            "/v2/auth/refresh",
            json!({"refreshToken": session["refreshToken"]}),
        );
        assert_eq!(r.error_code(), "session_revoked");
    }
    let r = s.post(
        "/v2/auth/login",
        json!({"login": "elfie", "password": PASSWORD}),
    );
    assert_eq!(
        r.error_code(),
        "invalid_credentials",
        "the old password is gone"
    );
    let r = s.post(
        "/v2/auth/login",
        json!({"login": "elfie", "password": "new-garland-77"}),
    );
    assert_eq!(r.status, 200);
    let r = s.post(
        "/v2/auth/password/forgot/confirm",
        json!({"email": email, "code": code, "newPassword": "another-one-88"}),
    );
    assert_eq!(r.error_code(), "code_invalid", "single use");
}

#[test]
fn forgot_answers_alike_and_reset_codes_live_one_hour() {
    let s = TestServer::start();
    s.ready_user("noel");
    let unknown = s.post(
        "/v2/auth/password/forgot",
        json!({"email": "nobody@example.com"}),
    );
    let known = s.post(
        "/v2/auth/password/forgot",
        json!({"email": "noel@example.com"}),
    );
    assert_eq!(
        (unknown.status, unknown.json()),
        (known.status, known.json())
    );
    let code = wait_for_codes(&s.mail_dir(), "noel@example.com", 2)
        .pop()
        .unwrap();
    assert!(codes_in(&s.mail_dir(), "nobody@example.com").is_empty());
    s.clock.advance(3600);
    let r = s.post(
        "/v2/auth/password/forgot/confirm",
        json!({"email": "noel@example.com", "code": code, "newPassword": "new-garland-77"}),
    );
    assert_eq!((r.status, r.error_code().as_str()), (400, "code_expired"));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v2/auth/password/forgot")
    );
    let r = s.post(
        "/v2/auth/password/forgot/confirm",
        json!({"email": "nobody@example.com", "code": code, "newPassword": "new-garland-77"}),
    );
    assert_eq!(r.error_code(), "code_invalid");
}
