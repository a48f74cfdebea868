//! Signup, confirmation and resend (API.md, Identity routes; Tokens: codes).

use serde_json::json;

use crate::common::*;

#[test]
fn happy_path_signup_confirm_login_me_refresh_logout() {
    let s = TestServer::start();
    let r = s.post(
        "/v2/auth/signup",
        json!({"handle": "Ana_Elf", "email": "Ana@Example.com", "password": PASSWORD, "displayName": " Ana "}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(v["user"]["handle"], "ana_elf", "handle folded to lowercase");
    assert_eq!(v["user"]["email"], "Ana@Example.com");
    assert_eq!(v["user"]["emailConfirmed"], false);
    assert_eq!(v["user"]["displayName"], "Ana");
    assert!(v["user"]["id"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(v["confirmation"]["sentTo"], "Ana@Example.com");
    assert_eq!(
        v["confirmation"]["expiresAt"], "2026-11-29T12:00:00Z",
        "self-signup codes live 24 h"
    );

    let code = wait_for_codes(&s.mail_dir(), "ana@example.com", 1)
        .pop()
        .unwrap();
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": "ANA@example.COM", "code": code}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["user"]["emailConfirmed"], true);

    let session = s.login("ana@example.com");
    for field in [
        "accessToken",
        "expiresAt",
        "refreshToken",
        "refreshExpiresAt",
        "sessionId",
    ] {
        assert!(session[field].is_string(), "{field} in {session}");
    }
    assert_eq!(session["tokenType"], "Bearer");
    assert_eq!(session["expiresIn"], 900);
    assert_eq!(session["user"]["handle"], "ana_elf");
    let at = session["accessToken"].as_str().unwrap();

    let me = s.get_auth("/v2/auth/me", at);
    assert_eq!(me.status, 200, "{}", me.text());
    let me = me.json();
    assert_eq!(me["user"]["id"], session["user"]["id"]);
    assert_eq!(me["session"]["id"], session["sessionId"]);
    assert_eq!(
        me["session"]["expiresAt"], "2027-02-26T12:00:00Z",
        "absolute lifetime 90 d"
    );
    assert_eq!(
        me["session"]["idleExpiresAt"], "2026-12-28T12:00:00Z",
        "idle lifetime 30 d"
    );
    assert_eq!(me["credential"]["type"], "jwt");
    assert_eq!(
        me["credential"]["scopes"],
        json!(["profile", "email", "offline_access", "openid"])
    );

    let r = s.post(
        "/v2/auth/refresh",
        json!({"refreshToken": session["refreshToken"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let refreshed = r.json();
    assert_ne!(
        refreshed["refreshToken"], session["refreshToken"],
        "rotated"
    );
    assert_eq!(refreshed["sessionId"], session["sessionId"]);
    let at2 = refreshed["accessToken"].as_str().unwrap();
    assert_eq!(s.get_auth("/v2/auth/me", at2).status, 200);

    let r = s.post_auth("/v2/auth/logout", json!({}), at2);
    assert_eq!(r.status, 204);
    for token in [at, at2] {
        let r = s.get_auth("/v2/auth/me", token);
        assert_eq!(r.status, 401);
        assert_eq!(r.error_code(), "session_revoked");
    }
    let r = s.post(
        "/v2/auth/refresh",
        json!({"refreshToken": refreshed["refreshToken"]}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "session_revoked")
    );
}

#[test]
fn taken_handle_and_email() {
    let s = TestServer::start();
    assert_eq!(s.signup("holly").status, 201);
    let r = s.post(
        "/v2/auth/signup",
        json!({"handle": "HOLLY", "email": "other@example.com", "password": PASSWORD}),
    );
    assert_eq!((r.status, r.error_code().as_str()), (409, "handle_taken"));
    let r = s.post(
        "/v2/auth/signup",
        json!({"handle": "ivy", "email": "Holly@Example.com", "password": PASSWORD}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (409, "email_taken"),
        "emails compare case-insensitively"
    );
}

#[test]
fn unconfirmed_account_holds_its_identity_until_its_code_lifetime_passes() {
    let s = TestServer::start();
    assert_eq!(s.signup("mistle").status, 201);
    s.clock.advance(24 * 3600 - 1);
    assert_eq!(s.signup("mistle").error_code(), "handle_taken");
    s.clock.advance(2);
    let r = s.post(
        "/v2/auth/signup",
        json!({"handle": "mistle", "email": "new@example.com", "password": PASSWORD}),
    );
    assert_eq!(
        r.status,
        201,
        "a stale unconfirmed signup is replaced: {}",
        r.text()
    );
    let old_code = codes_in(&s.mail_dir(), "mistle@example.com").pop().unwrap();
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": "mistle@example.com", "code": old_code}),
    );
    assert_eq!(
        r.error_code(),
        "code_invalid",
        "the replaced account is gone"
    );
}

#[test]
fn weak_passwords_are_refused_with_the_field() {
    let s = TestServer::start();
    let long = "x".repeat(1025);
    for (password, why) in [
        ("short7!", "under 8"),
        ("password123", "common"),
        ("garland", "short"),
        ("garland-elf", "equals handle"),
        (long.as_str(), "over 1024 bytes"),
    ] {
        let r = s.post(
            "/v2/auth/signup",
            json!({"handle": "garland-elf", "email": "g@example.com", "password": password}),
        );
        assert_eq!(r.status, 422, "{why}");
        assert_eq!(r.error_code(), "weak_password", "{why}");
        assert_eq!(r.json()["error"]["field"], "password");
    }
    let r = s.post(
        "/v2/auth/signup",
        json!({"handle": "garland", "email": "g@example.com", "password": "G@example.com"}),
    );
    assert_eq!(r.error_code(), "weak_password", "equal to the email");
}

#[test]
fn invalid_fields_name_the_field() {
    let s = TestServer::start();
    let cases = [
        (
            json!({"email": "a@example.com", "password": PASSWORD}),
            "handle",
        ),
        (
            json!({"handle": "ab", "email": "a@example.com", "password": PASSWORD}),
            "handle",
        ),
        (
            json!({"handle": "a b c", "email": "a@example.com", "password": PASSWORD}),
            "handle",
        ),
        (
            json!({"handle": "abc", "email": "not-an-email", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"handle": "abc", "email": "a@example.com\r\nBcc: x@evil.io", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"handle": "abc", "email": "a@example.com", "password": 12345678}),
            "password",
        ),
        (
            json!({"handle": "abc", "email": "a@example.com", "password": PASSWORD, "displayName": 5}),
            "displayName",
        ),
        (
            json!({"handle": 7, "email": "a@example.com", "password": PASSWORD}),
            "handle",
        ),
    ];
    for (body, field) in cases {
        let r = s.post("/v2/auth/signup", body.clone());
        assert_eq!(r.status, 422, "{body}");
        assert_eq!(r.error_code(), "invalid_field");
        assert_eq!(r.json()["error"]["field"], field, "{body}");
    }
    assert!(
        codes_in(&s.mail_dir(), "a@example.com").is_empty(),
        "bad input sends nothing"
    );
}

#[test]
fn wrong_expired_and_exhausted_codes() {
    let s = TestServer::start();
    assert_eq!(s.signup("jolly").status, 201);
    let email = email_of("jolly");
    let code = wait_for_codes(&s.mail_dir(), &email, 1).pop().unwrap();
    let wrong = if code == "000000" { "000001" } else { "000000" };

    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": email, "code": wrong}),
    );
    assert_eq!((r.status, r.error_code().as_str()), (400, "code_invalid"));
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": "nobody@example.com", "code": code}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "code_invalid"),
        "unknown email looks like a wrong code"
    );

    s.clock.advance(24 * 3600);
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": email, "code": code}),
    );
    assert_eq!((r.status, r.error_code().as_str()), (400, "code_expired"));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v2/auth/signup/resend"),
        "names the resend route"
    );

    // A resend works even after expiry, and the new code is fresh.
    assert_eq!(
        s.post("/v2/auth/signup/resend", json!({"email": email}))
            .status,
        202
    );
    let fresh = wait_for_codes(&s.mail_dir(), &email, 2).pop().unwrap();
    let wrong = if fresh == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..5 {
        let r = s.post(
            "/v2/auth/signup/confirm",
            json!({"email": email, "code": wrong}),
        );
        assert_eq!(r.error_code(), "code_invalid");
    }
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": email, "code": fresh}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "code_exhausted"),
        "5 wrong tries kill the code"
    );
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v2/auth/signup/resend")
    );

    assert_eq!(
        s.post("/v2/auth/signup/resend", json!({"email": email}))
            .status,
        202
    );
    let third = wait_for_codes(&s.mail_dir(), &email, 3).pop().unwrap();
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": email, "code": third}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": email, "code": third}),
    );
    assert_eq!(r.error_code(), "code_invalid", "single use");
}

#[test]
fn resend_keeps_older_codes_valid_up_to_three() {
    let s = TestServer::start();
    assert_eq!(s.signup("tinsel").status, 201);
    let email = email_of("tinsel");
    for n in 2..=4 {
        s.clock.advance(60);
        let r = s.post("/v2/auth/signup/resend", json!({"email": email}));
        assert_eq!(r.status, 202);
        assert_eq!(r.json(), json!({"accepted": true}));
        wait_for_codes(&s.mail_dir(), &email, n);
    }
    let codes = codes_in(&s.mail_dir(), &email);
    assert_eq!(codes.len(), 4);
    // The first code fell out (at most the 3 newest live); the second still works.
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": email, "code": codes[0]}),
    );
    assert_eq!(r.error_code(), "code_invalid");
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": email, "code": codes[1]}),
    );
    assert_eq!(
        r.status,
        200,
        "an older code still gets the teammate in: {}",
        r.text()
    );
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": email, "code": codes[3]}),
    );
    assert_eq!(
        r.error_code(),
        "code_invalid",
        "a successful confirmation kills them all"
    );
}

#[test]
fn resend_answers_alike_for_unknown_confirmed_and_pending() {
    let s = TestServer::start();
    s.ready_user("known");
    assert_eq!(s.signup("pending").status, 201);
    let bodies: Vec<_> = [
        "nobody@example.com",
        "known@example.com",
        "pending@example.com",
    ]
    .iter()
    .map(|e| {
        let r = s.post("/v2/auth/signup/resend", json!({"email": e}));
        (r.status, r.json())
    })
    .collect();
    assert!(
        bodies
            .iter()
            .all(|b| *b == (202, json!({"accepted": true}))),
        "{bodies:?}"
    );
    wait_for_codes(&s.mail_dir(), "pending@example.com", 2);
    assert_eq!(
        codes_in(&s.mail_dir(), "known@example.com").len(),
        1,
        "a confirmed account gets no new code"
    );
}
