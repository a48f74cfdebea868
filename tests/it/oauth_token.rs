//! The OAuth 2.1 token side over HTTP (API.md, OAuth; RFC 6749, 7636, 7009, 7662): code
//! exchange and its errors, client authentication, client_credentials, revocation,
//! introspection and the `clients` command.

use serde_json::{Value, json};

use crate::common::*;
use crate::oauth_support::*;

#[test]
fn token_endpoint_errors_and_code_reuse() {
    let s = TestServer::start();
    let at = s.access_token("rowan");
    let client = register(&s, &at, json!({}));
    let other = register(&s, &at, json!({}));
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let code = code_via_pages(&s, &mut b, &client, &challenge, "rowan");

    let r = exchange(&s, &other, &code, &verifier);
    assert_eq!(oauth_error(&r), "invalid_grant", "bound to its client");
    let r = exchange(
        &s,
        &client,
        &code,
        "wrong-verifier-wrong-verifier-wrong-verifier-x",
    );
    assert_eq!(oauth_error(&r), "invalid_grant", "PKCE");
    let r = form_post(
        &s,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9999/other"),
            ("code_verifier", &verifier),
        ],
        Some(&basic(&client)),
    );
    assert_eq!(
        oauth_error(&r),
        "invalid_grant",
        "bound to its redirect URI"
    );
    let r = form_post(
        &s,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
        Some(&basic(&client)),
    );
    assert_eq!(oauth_error(&r), "invalid_grant", "a missing verifier");

    let first = exchange(&s, &client, &code, &verifier);
    assert_eq!(
        first.status,
        200,
        "bad tries did not burn the code: {}",
        first.text()
    );
    let access = first.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(s.get_auth("/v2/auth/me", &access).status, 200);
    let second = exchange(&s, &client, &code, &verifier);
    assert_eq!(
        (second.status, oauth_error(&second).as_str()),
        (400, "invalid_grant")
    );
    assert_eq!(
        s.get_auth("/v2/auth/me", &access).error_code(),
        "session_revoked",
        "a reused code revokes what it issued"
    );
    let r = refresh_grant(
        &s,
        &client,
        first.json()["refresh_token"].as_str().unwrap(),
        None,
    );
    assert_eq!(oauth_error(&r), "invalid_grant");

    let (verifier, challenge) = pkce();
    let code = code_via_pages(&s, &mut b, &client, &challenge, "rowan");
    s.clock.advance(60);
    assert_eq!(
        oauth_error(&exchange(&s, &client, &code, &verifier)),
        "invalid_grant",
        "codes live 60 s"
    );

    let wrong = form_post(
        &s,
        "/oauth/token",
        &[("grant_type", "authorization_code"), ("code", "x")],
        Some("Basic Y2xpX3g6bm9wZQ=="),
    );
    assert_eq!(
        (wrong.status, oauth_error(&wrong).as_str()),
        (401, "invalid_client")
    );
    assert!(
        wrong
            .header("WWW-Authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    let r = form_post(
        &s,
        "/oauth/token",
        &[("grant_type", "password"), ("username", "rowan")],
        Some(&basic(&client)),
    );
    assert_eq!(oauth_error(&r), "unsupported_grant_type");
    let r = form_post(
        &s,
        "/oauth/token",
        &[("grant_type", "client_credentials")],
        Some(&basic(&client)),
    );
    assert_eq!(oauth_error(&r), "unauthorized_client");
    let r = form_post(
        &s,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("grant_type", "refresh_token"),
        ],
        Some(&basic(&client)),
    );
    assert_eq!(oauth_error(&r), "invalid_request", "repeated parameters");
    let r = request(
        s.addr,
        "POST",
        "/oauth/token",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &basic(&client)),
        ],
        b"{}",
    );
    assert_eq!(oauth_error(&r), "invalid_request", "form-encoded only");
    let r = form_post(
        &s,
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client["client_id"].as_str().unwrap()),
            ("client_secret", client["client_secret"].as_str().unwrap()),
        ],
        Some(&basic(&client)),
    );
    assert_eq!(
        oauth_error(&r),
        "invalid_request",
        "one authentication method only"
    );
}

#[test]
fn client_authentication_methods_and_client_credentials() {
    let s = TestServer::start();
    let at = s.access_token("cedar");
    let cc = register(
        &s,
        &at,
        json!({"grant_types": ["client_credentials"], "redirect_uris": [], "scope": "profile"}),
    );
    let id = cc["client_id"].as_str().unwrap();
    let secret = cc["client_secret"].as_str().unwrap();

    let post = form_post(
        &s,
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ],
        None,
    );
    assert_eq!(post.status, 200, "client_secret_post: {}", post.text());
    let t = post.json();
    assert!(
        t.get("refresh_token").is_none(),
        "no refresh token for client_credentials"
    );
    assert_eq!(t["scope"], "profile");
    // Basic with every character form-urlencoded, as strict clients send it (RFC 6749 §2.3.1).
    let encoded = |v: &str| v.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let basic_encoded = {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                encoded(id),
                encoded(secret)
            ))
        )
    };
    let r = form_post(
        &s,
        "/oauth/token",
        &[("grant_type", "client_credentials")],
        Some(&basic_encoded),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let intro = form_post(
        &s,
        "/oauth/introspect",
        &[("token", t["access_token"].as_str().unwrap())],
        Some(&basic(&cc)),
    )
    .json();
    assert_eq!(intro["active"], true);
    assert_eq!(
        intro["sub"], id,
        "client_credentials tokens are the client's"
    );
    assert_eq!(intro["client_id"], id);
    assert!(intro.get("sid").is_none());
    let r = form_post(
        &s,
        "/oauth/token",
        &[("grant_type", "client_credentials"), ("scope", "email")],
        Some(&basic(&cc)),
    );
    assert_eq!(oauth_error(&r), "invalid_scope");
    let r = form_post(
        &s,
        "/oauth/token",
        &[("grant_type", "client_credentials"), ("client_id", id)],
        None,
    );
    assert_eq!(
        (r.status, oauth_error(&r).as_str()),
        (401, "invalid_client"),
        "a confidential client must send its secret"
    );
    assert!(
        r.header("WWW-Authenticate").is_none(),
        "no Basic challenge when Basic was not tried"
    );

    let public = register(&s, &at, json!({"token_endpoint_auth_method": "none"}));
    let (verifier, challenge) = pkce();
    let mut b = Browser::default();
    let code = code_via_pages(&s, &mut b, &public, &challenge, "cedar");
    let r = form_post(
        &s,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &verifier),
            ("client_id", public["client_id"].as_str().unwrap()),
        ],
        None,
    );
    assert_eq!(r.status, 200, "a public client with PKCE: {}", r.text());
    assert!(r.json().get("refresh_token").is_some());
    let r = form_post(
        &s,
        "/oauth/introspect",
        &[
            ("token", "x"),
            ("client_id", public["client_id"].as_str().unwrap()),
        ],
        None,
    );
    assert_eq!(
        oauth_error(&r),
        "invalid_client",
        "introspection needs a confidential client"
    );
}

#[test]
fn revocation_and_introspection() {
    let s = TestServer::start();
    let at = s.access_token("spruce");
    let client = register(&s, &at, json!({}));
    let rs = register(
        &s,
        &at,
        json!({"grant_types": ["client_credentials"], "redirect_uris": []}),
    );
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let code = code_via_pages(&s, &mut b, &client, &challenge, "spruce");
    let tokens = exchange(&s, &client, &code, &verifier).json();
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let intro = |token: &str| {
        form_post(
            &s,
            "/oauth/introspect",
            &[("token", token)],
            Some(&basic(&rs)),
        )
        .json()
    };
    let a = intro(access);
    for field in [
        "active",
        "scope",
        "client_id",
        "sub",
        "exp",
        "iat",
        "iss",
        "token_type",
    ] {
        assert!(a.get(field).is_some(), "{field} in {a}");
    }
    assert_eq!(a["client_id"], client["client_id"]);
    assert_eq!(intro(refresh)["active"], true);
    assert_eq!(intro(&at)["active"], true, "first-party tokens too");
    for junk in ["garbage", "gha_rt_x.1.y", "gha_pat_nothing", "a.b.c"] {
        assert_eq!(intro(junk), json!({"active": false}), "{junk:?}");
    }
    let r = form_post(&s, "/oauth/introspect", &[("token", access)], None);
    assert_eq!(r.status, 401, "introspection needs client authentication");

    // Revoking the access JWT: refused with invalid_token until it expires; the grant lives on.
    let r = form_post(
        &s,
        "/oauth/revoke",
        &[("token", access), ("token_type_hint", "access_token")],
        Some(&basic(&client)),
    );
    assert_eq!(r.status, 200);
    let me = s.get_auth("/v2/auth/me", access);
    assert_eq!(me.error_code(), "invalid_token");
    assert_eq!(intro(access), json!({"active": false}));
    assert_eq!(intro(refresh)["active"], true);

    // Another client's revocation changes nothing; the owner's revokes the whole grant.
    let revoke = |token: &str, by: &Value| {
        form_post(&s, "/oauth/revoke", &[("token", token)], Some(&basic(by))).status
    };
    assert_eq!(revoke(refresh, &rs), 200);
    assert_eq!(intro(refresh)["active"], true);
    assert_eq!(revoke(refresh, &client), 200);
    assert_eq!(intro(refresh), json!({"active": false}));
    let r = refresh_grant(&s, &client, refresh, None);
    assert_eq!(oauth_error(&r), "invalid_grant");
    assert_eq!(revoke("unknown", &client), 200, "RFC 7009 §2.2");
}

#[test]
fn clients_cli_adds_lists_and_removes() {
    let s = TestServer::start();
    let text = cli_ok(
        &s,
        &[
            "clients",
            "add",
            "--name",
            "Reporting job",
            "--grant",
            "client_credentials",
            "--scope",
            "profile",
        ],
    );
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_owned()
    };
    let (id, secret) = (field("client_id"), field("client_secret"));
    let client_credentials = || {
        form_post(
            &s,
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
            None,
        )
    };
    let r = client_credentials();
    assert_eq!(
        r.status,
        200,
        "the running server uses the new client: {}",
        r.text()
    );

    let listed = cli_ok(&s, &["clients", "list"]);
    assert!(
        listed.contains(&id) && listed.contains("Reporting job"),
        "{listed}"
    );
    let bad = cli(
        &s,
        &[
            "clients",
            "add",
            "--name",
            "x",
            "--redirect-uri",
            "http://app.example/cb",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid_redirect_uri"));

    assert!(cli(&s, &["clients", "remove", &id]).status.success());
    let r = client_credentials();
    assert_eq!(oauth_error(&r), "invalid_client");
    assert_eq!(
        cli(&s, &["clients", "remove", &id]).status.code(),
        Some(1),
        "already gone"
    );
}

#[test]
fn a_clients_own_token_cannot_act_as_a_user() {
    let s = TestServer::start();
    let at = s.access_token("fir-owner");
    let cc = register(
        &s,
        &at,
        json!({"grant_types": ["client_credentials"], "redirect_uris": []}),
    );
    let token = form_post(
        &s,
        "/oauth/token",
        &[("grant_type", "client_credentials")],
        Some(&basic(&cc)),
    )
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s.post_auth(
        "/v2/auth/tokens",
        json!({"name": "x", "scopes": ["profile"], "expiresInDays": 1}),
        &token,
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (403, "insufficient_scope"),
        "not a 500: {}",
        r.text()
    );
    assert_eq!(s.get_auth("/v2/auth/tokens", &token).status, 403);
    assert_eq!(
        s.post_auth("/v2/auth/logout", json!({}), &token).status,
        403
    );
    assert_eq!(
        s.get_auth("/v2/auth/me", &token).error_code(),
        "insufficient_scope",
        "no user behind it, and no credential trouble either"
    );
    let r = s.post_auth(
        "/oauth/register",
        json!({"redirect_uris": [CALLBACK]}),
        &token,
    );
    assert_eq!(r.status, 403);
}
