//! The OAuth 2.1 authorization server over HTTP, up to the code (API.md, OAuth; RFC 6749, 7636,
//! 9207): authorize, consent and the sign-in page. Metadata and registration are in
//! `oauth_register.rs`; the token, revocation and introspection endpoints in `oauth_token.rs`; the
//! flow in a real browser in `browser.rs`.

use serde_json::json;

use crate::common::*;
use crate::oauth_support::*;

#[test]
fn code_flow_with_pkce_refresh_and_remembered_consent() {
    let s = TestServer::start();
    let at = s.access_token("holly");
    let client = register(&s, &at, json!({}));
    let (verifier, challenge) = pkce();
    let mut b = Browser::default();

    let url = authorize_url(&client, &challenge, &[]);
    let back = b.sign_in_at(&s, &url, "holly");
    assert!(back.starts_with("/oauth/authorize?"), "{back}");
    let session_cookie = b.cookies.get("gharart_session").cloned().unwrap();
    let consent = b.get(&s, &back);
    let html = consent.text();
    assert_eq!(consent.status, 200);
    assert!(
        html.contains("Campaign Dashboard") && html.contains("127.0.0.1:9"),
        "names the client and the redirect host"
    );
    assert!(
        html.contains("name=\"decision\" value=\"approve\"")
            && html.contains("name=\"decision\" value=\"deny\"")
    );
    assert_eq!(consent.header("X-Frame-Options"), Some("DENY"));
    assert!(
        consent
            .header("Content-Security-Policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(
        !consent
            .header("Content-Security-Policy")
            .unwrap()
            .contains("form-action")
    );
    assert_eq!(consent.header("Referrer-Policy"), Some("no-referrer"));

    let r = b.post(
        &s,
        "/oauth/authorize/decision",
        &[
            ("csrf_token", &hidden(&html, "csrf_token")),
            ("request_id", &hidden(&html, "request_id")),
            ("decision", "approve"),
        ],
    );
    assert_eq!(r.status, 303);
    let location = r.header("Location").unwrap().to_owned();
    assert!(location.starts_with(CALLBACK));
    let q = query_of(&location);
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], format!("http://{}", s.addr), "RFC 9207");

    let t = exchange(&s, &client, &q["code"], &verifier);
    assert_eq!(t.status, 200, "{}", t.text());
    assert_eq!(t.header("Cache-Control"), Some("no-store"));
    assert_eq!(t.header("Pragma"), Some("no-cache"));
    let tokens = t.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert_eq!(tokens["scope"], "profile email");
    let access = tokens["access_token"].as_str().unwrap();
    let me = s.get_auth("/v2/auth/me", access);
    assert_eq!(
        me.status,
        200,
        "OAuth access tokens work at /v2/auth/me with profile: {}",
        me.text()
    );
    assert_eq!(me.json()["user"]["handle"], "holly");
    assert_eq!(
        me.json()["credential"]["scopes"],
        json!(["profile", "email"])
    );

    let refreshed = refresh_grant(
        &s,
        &client,
        tokens["refresh_token"].as_str().unwrap(),
        Some("profile"),
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    assert_eq!(refreshed.json()["scope"], "profile", "scope can narrow");
    let widen = refresh_grant(
        &s,
        &client,
        refreshed.json()["refresh_token"].as_str().unwrap(),
        Some("profile offline_access"),
    );
    assert_eq!(
        (widen.status, oauth_error(&widen).as_str()),
        (400, "invalid_scope"),
        "never widen"
    );
    let first_party = s.post(
        "/v2/auth/refresh",
        json!({"refreshToken": refreshed.json()["refresh_token"]}),
    );
    assert_eq!(
        first_party.error_code(),
        "refresh_token_invalid",
        "a client's refresh token is not a first-party one"
    );

    // Remembered consent: straight back with a code; prompt=consent asks again; prompt=none answers silently.
    let (_, challenge2) = pkce();
    let r = b.get(&s, &authorize_url(&client, &challenge2, &[]));
    assert_eq!(r.status, 303, "consent is remembered: {}", r.text());
    assert!(query_of(r.header("Location").unwrap()).contains_key("code"));
    let r = b.get(
        &s,
        &authorize_url(&client, &challenge2, &[("prompt", "consent")]),
    );
    assert_eq!(r.status, 200);
    assert!(r.text().contains("value=\"approve\""));
    let r = b.get(
        &s,
        &authorize_url(&client, &challenge2, &[("prompt", "none")]),
    );
    assert!(query_of(r.header("Location").unwrap()).contains_key("code"));
    let r = b.get(
        &s,
        &authorize_url(
            &client,
            &challenge2,
            &[("prompt", "none"), ("scope", "profile offline_access")],
        ),
    );
    assert_eq!(
        query_of(r.header("Location").unwrap())["error"],
        "consent_required"
    );
    let mut stranger = Browser::default();
    let r = stranger.get(
        &s,
        &authorize_url(&client, &challenge2, &[("prompt", "none")]),
    );
    let q = query_of(r.header("Location").unwrap());
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("login_required", "st-123")
    );
    // prompt=login shows the sign-in form even with a session.
    let r = b.get(
        &s,
        &authorize_url(&client, &challenge2, &[("prompt", "login")]),
    );
    assert!(r.text().contains("name=\"password\""));
    assert!(
        !hidden(&r.text(), "return_to").contains("prompt=login"),
        "no loop back into prompt=login"
    );
    assert_eq!(b.cookies.get("gharart_session"), Some(&session_cookie));
}

#[test]
fn client_and_redirect_errors_never_redirect() {
    let s = TestServer::start();
    let at = s.access_token("ivy");
    let client = register(
        &s,
        &at,
        json!({"redirect_uris": ["https://dash.gharart.com/oauth/callback", CALLBACK]}),
    );
    let (_, challenge) = pkce();
    let mut b = Browser::default();

    let r = b.get(
        &s,
        &authorize_url(&client, &challenge, &[("client_id", "cli_nope")]),
    );
    assert_eq!(r.status, 400);
    assert!(r.header("Location").is_none());
    let rid = r.header("X-Request-Id").unwrap().to_owned();
    assert!(r.text().contains(&rid), "the page shows its request ID");
    assert!(r.text().contains("cli_nope"));

    let r = b.get(
        &s,
        &authorize_url(
            &client,
            &challenge,
            &[("redirect_uri", "https://dash.gharart.com/oauth/callback/")],
        ),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.header("Location").is_none(),
        "a mismatched redirect_uri never redirects"
    );
    let html = r.text();
    assert!(html.contains("trailing slash"), "{html}");
    assert!(
        html.contains("https://dash.gharart.com/oauth/callback"),
        "names the closest registered URI"
    );
    assert!(html.contains(r.header("X-Request-Id").unwrap()));

    let r = b.get(
        &s,
        &authorize_url(
            &client,
            &challenge,
            &[("redirect_uri", "http://dash.gharart.com/oauth/callback")],
        ),
    );
    assert!(r.text().contains("scheme"));
    let r = b.get(
        &s,
        &authorize_url(&client, &challenge, &[("redirect_uri", "")]),
    );
    assert_eq!(r.status, 400, "two registered URIs and none sent");
    let loopback = authorize_url(
        &client,
        &challenge,
        &[("redirect_uri", "http://127.0.0.1:51234/callback")],
    );
    assert_eq!(
        b.get(&s, &loopback).status,
        200,
        "loopback ports may differ (RFC 8252 §7.3)"
    );
    let r = b.get(
        &s,
        &format!(
            "{}&client_id=again",
            authorize_url(&client, &challenge, &[])
        ),
    );
    assert_eq!(
        r.status, 400,
        "a repeated parameter is refused (RFC 6749 §3.1)"
    );
}

#[test]
fn other_errors_redirect_back_before_any_sign_in() {
    let s = TestServer::start();
    let at = s.access_token("juniper");
    let client = register(&s, &at, json!({}));
    let (_, challenge) = pkce();
    let mut b = Browser::default();
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("code_challenge", "")], "invalid_request"),
        (&[("code_challenge_method", "plain")], "invalid_request"),
        (&[("code_challenge_method", "")], "invalid_request"),
        (&[("scope", "profile admin")], "invalid_scope"),
        (&[("prompt", "select_account")], "invalid_request"),
    ];
    for (extra, code) in cases {
        let r = b.get(&s, &authorize_url(&client, &challenge, extra));
        assert_eq!(r.status, 303, "{extra:?}: {}", r.text());
        let q = query_of(r.header("Location").unwrap());
        assert_eq!(q["error"], code, "{extra:?}");
        assert_eq!(q["state"], "st-123");
        assert_eq!(q["iss"], format!("http://{}", s.addr));
        assert!(q.contains_key("error_description"));
    }
    assert!(
        !b.cookies.contains_key("gharart_session"),
        "no one signed in"
    );
}

#[test]
fn deny_csrf_and_replayed_decisions() {
    let s = TestServer::start();
    let at = s.access_token("laurel");
    let client = register(&s, &at, json!({}));
    let (verifier, challenge) = pkce();
    let mut b = Browser::default();
    let back = b.sign_in_at(&s, &authorize_url(&client, &challenge, &[]), "laurel");
    let html = b.get(&s, &back).text();
    let (csrf, rid) = (hidden(&html, "csrf_token"), hidden(&html, "request_id"));

    let r = b.post(
        &s,
        "/oauth/authorize/decision",
        &[("request_id", &rid), ("decision", "approve")],
    );
    assert_eq!(r.status, 403, "no CSRF token");
    assert!(r.text().contains(r.header("X-Request-Id").unwrap()));
    let r = b.post(
        &s,
        "/oauth/authorize/decision",
        &[
            ("csrf_token", "forged"),
            ("request_id", &rid),
            ("decision", "approve"),
        ],
    );
    assert_eq!(r.status, 403, "a wrong CSRF token");

    let approve = [
        ("csrf_token", csrf.as_str()),
        ("request_id", rid.as_str()),
        ("decision", "approve"),
    ];
    let first = b.post(&s, "/oauth/authorize/decision", &approve);
    let again = b.post(&s, "/oauth/authorize/decision", &approve);
    assert_eq!(
        first.header("Location"),
        again.header("Location"),
        "a replayed decision gives the same redirect"
    );
    let code = query_of(first.header("Location").unwrap())["code"].clone();
    assert_eq!(exchange(&s, &client, &code, &verifier).status, 200);
    let stale = b.post(&s, "/oauth/authorize/decision", &approve);
    assert_eq!(
        stale.status, 400,
        "once the code is used the decision is stale, not a redirect"
    );
    assert!(stale.header("Location").is_none());
    let r = b.post(
        &s,
        "/oauth/authorize/decision",
        &[
            ("csrf_token", &csrf),
            ("request_id", "azr_unknown"),
            ("decision", "approve"),
        ],
    );
    assert_eq!(r.status, 400);

    let (_, challenge) = pkce();
    let r = b.get(
        &s,
        &authorize_url(&client, &challenge, &[("prompt", "consent")]),
    );
    let html = r.text();
    let r = b.post(
        &s,
        "/oauth/authorize/decision",
        &[
            ("csrf_token", &hidden(&html, "csrf_token")),
            ("request_id", &hidden(&html, "request_id")),
            ("decision", "deny"),
        ],
    );
    let q = query_of(r.header("Location").unwrap());
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("access_denied", "st-123")
    );
}

#[test]
fn the_loop_breaker_stops_the_sixth_unredeemed_start() {
    let s = TestServer::start();
    let at = s.access_token("loopy");
    let client = register(&s, &at, json!({}));
    let (verifier, challenge) = pkce();
    let mut b = Browser::default();
    let code = code_via_pages(&s, &mut b, &client, &challenge, "loopy");
    let mut ids = Vec::new();
    for _ in 0..4 {
        let r = b.get(&s, &authorize_url(&client, &challenge, &[]));
        assert_eq!(r.status, 303);
        ids.push(r.header("X-Request-Id").unwrap().to_owned());
    }
    let r = b.get(&s, &authorize_url(&client, &challenge, &[]));
    assert_eq!(r.status, 429, "six starts, none redeemed: {}", r.text());
    assert!(r.header("Location").is_none());
    let html = r.text();
    assert!(html.contains(CALLBACK), "names the redirect URI");
    for id in &ids {
        assert!(html.contains(id), "lists the request IDs involved");
    }
    assert!(html.contains(r.header("X-Request-Id").unwrap()));
    assert_eq!(exchange(&s, &client, &code, &verifier).status, 200);
    assert_eq!(
        b.get(&s, &authorize_url(&client, &challenge, &[])).status,
        303,
        "a redeemed code resets the breaker"
    );
}

#[test]
fn the_sign_in_page_refuses_bad_credentials_and_forged_forms() {
    let s = TestServer::start();
    s.ready_user("fir");
    let mut b = Browser::default();
    let page = b.get(&s, "/login");
    assert_eq!(page.status, 200);
    let csrf_cookie = page
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Set-Cookie"))
        .unwrap()
        .1
        .clone();
    assert!(
        csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"),
        "{csrf_cookie}"
    );
    let csrf = hidden(&page.text(), "csrf_token");
    let r = b.post(
        &s,
        "/login",
        &[
            ("csrf_token", &csrf),
            ("login", "fir"),
            ("password", "wrong-password"),
        ],
    );
    assert_eq!(
        r.status, 401,
        "a failed sign-in re-renders the form with 401"
    );
    assert!(r.text().contains("name=\"password\"") && r.text().contains("wrong"));
    assert_eq!(s.signup("unconfirmed-fir").status, 201);
    let r = b.post(
        &s,
        "/login",
        &[
            ("csrf_token", &csrf),
            ("login", "unconfirmed-fir"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(
        (r.status, r.text().contains("confirm the email first")),
        (403, true),
        "an unconfirmed account gets the API's 403 and its message on the form"
    );
    let r = b.post(&s, "/login", &[("login", "fir"), ("password", PASSWORD)]);
    assert_eq!(r.status, 403, "no CSRF token, no sign-in");
    assert!(!b.cookies.contains_key("gharart_session"));
    let r = b.post(
        &s,
        "/login",
        &[
            ("csrf_token", &csrf),
            ("login", "fir"),
            ("password", PASSWORD),
            ("return_to", "https://evil.example/"),
        ],
    );
    assert_eq!(
        r.status, 200,
        "an outside return_to is ignored, not followed"
    );
    assert!(r.header("Location").is_none());
    let cookie = r
        .headers
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case("Set-Cookie") && v.starts_with("gharart_session="))
        .unwrap()
        .1
        .clone();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
}
