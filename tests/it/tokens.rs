//! Personal access tokens (API.md, Tokens: PAT; /v2/auth/tokens).

use serde_json::{Value, json};

use crate::common::*;

fn create(s: &TestServer, at: &str, body: Value) -> Resp {
    s.post_auth("/v2/auth/tokens", body, at)
}

fn delete(s: &TestServer, token: &str, id: &str) -> Resp {
    request(
        s.addr,
        "DELETE",
        &format!("/v2/auth/tokens/{id}"),
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    )
}

#[test]
fn pat_lifecycle() {
    let s = TestServer::start();
    let session = s.ready_user("ci-bot");
    let at = session["accessToken"].as_str().unwrap();
    let r = create(
        &s,
        at,
        json!({"name": "deploy", "scopes": ["profile"], "expiresInDays": 30}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let pat = r.json();
    let token = pat["token"].as_str().unwrap();
    assert!(
        token.starts_with("gha_pat_") && token.len() >= 8 + 32,
        "{token}"
    );
    assert!(
        token[8..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(pat["name"], "deploy");
    assert_eq!(pat["scopes"], json!(["profile"]));
    assert_eq!(pat["expiresAt"], "2026-12-28T12:00:00Z");

    let db = std::fs::read(s.db_path()).unwrap();
    let wal = std::fs::read(s.dir.path().join("id.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "only a hash is stored"
        );
    }

    s.clock.advance(120);
    let me = s.get_auth("/v2/auth/me", token);
    assert_eq!(me.status, 200, "{}", me.text());
    let me = me.json();
    assert_eq!(me["user"]["handle"], "ci-bot");
    assert_eq!(me["session"], Value::Null);
    assert_eq!(
        me["credential"],
        json!({"type": "pat", "scopes": ["profile"], "expiresAt": "2026-12-28T12:00:00Z", "amr": []})
    );

    let list = s.get_auth("/v2/auth/tokens", at).json();
    let listed = &list["tokens"][0];
    assert_eq!(listed["id"], pat["id"]);
    assert_eq!(listed["lastUsedAt"], "2026-11-28T12:02:00Z");
    assert_eq!(listed["createdAt"], "2026-11-28T12:00:00Z");
    assert!(
        listed.get("token").is_none() && !list.to_string().contains(token),
        "never the secret"
    );

    let r = delete(&s, at, pat["id"].as_str().unwrap());
    assert_eq!(r.status, 204);
    let r = s.get_auth("/v2/auth/me", token);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "invalid_token"),
        "revoking is immediate"
    );
    assert_eq!(
        s.get_auth("/v2/auth/tokens", at).json()["tokens"],
        json!([])
    );
    assert_eq!(
        delete(&s, at, pat["id"].as_str().unwrap()).status,
        404,
        "already revoked"
    );
}

#[test]
fn a_pat_cannot_manage_pats_or_log_out() {
    let s = TestServer::start();
    let at = s.access_token("owner");
    let pat = create(
        &s,
        &at,
        json!({"name": "n", "scopes": ["profile", "email"], "expiresInDays": 1}),
    )
    .json();
    let token = pat["token"].as_str().unwrap();
    let attempts = [
        create(
            &s,
            token,
            json!({"name": "n2", "scopes": ["profile"], "expiresInDays": 1}),
        ),
        s.get_auth("/v2/auth/tokens", token),
        delete(&s, token, pat["id"].as_str().unwrap()),
        s.post_auth("/v2/auth/logout", json!({}), token),
    ];
    for r in attempts {
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (403, "insufficient_scope")
        );
    }
    assert_eq!(
        s.get_auth("/v2/auth/me", token).status,
        200,
        "nothing was revoked"
    );
}

#[test]
fn scopes_are_enforced_and_validated() {
    let s = TestServer::start_with(&["--scopes", "campaigns:read"]);
    let at = s.access_token("scoper");
    let r = create(
        &s,
        &at,
        json!({"name": "c", "scopes": ["campaigns:read"], "expiresInDays": 365}),
    );
    assert_eq!(r.status, 201, "an operator scope: {}", r.text());
    let r = s.get_auth("/v2/auth/me", r.json()["token"].as_str().unwrap());
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (403, "insufficient_scope"),
        "me needs profile"
    );

    let bad = [
        (
            json!({"name": "x", "scopes": ["admin"], "expiresInDays": 1}),
            "scopes",
        ),
        (
            json!({"name": "x", "scopes": [], "expiresInDays": 1}),
            "scopes",
        ),
        (
            json!({"name": "x", "scopes": "profile", "expiresInDays": 1}),
            "scopes",
        ),
        (
            json!({"name": "x", "scopes": ["profile"], "expiresInDays": 0}),
            "expiresInDays",
        ),
        (
            json!({"name": "x", "scopes": ["profile"], "expiresInDays": 366}),
            "expiresInDays",
        ),
        (
            json!({"name": "x", "scopes": ["profile"], "expiresInDays": 1.5}),
            "expiresInDays",
        ),
        (
            json!({"name": " ", "scopes": ["profile"], "expiresInDays": 1}),
            "name",
        ),
        (json!({"scopes": ["profile"], "expiresInDays": 1}), "name"),
    ];
    for (body, field) in bad {
        let r = create(&s, &at, body.clone());
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (422, "invalid_field"),
            "{body}"
        );
        assert_eq!(r.json()["error"]["field"], field, "{body}");
    }
    assert_eq!(
        s.get_auth("/v2/auth/tokens", &at).json()["tokens"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "bad input created nothing"
    );
}

#[test]
fn other_users_tokens_are_not_found_and_expiry_and_reset_end_tokens() {
    let s = TestServer::start();
    let a = s.access_token("alpha");
    let b = s.access_token("bravo");
    let pat_a = create(
        &s,
        &a,
        json!({"name": "a", "scopes": ["profile"], "expiresInDays": 2}),
    )
    .json();
    assert_eq!(
        delete(&s, &b, pat_a["id"].as_str().unwrap()).status,
        404,
        "another user's token id"
    );
    assert_eq!(delete(&s, &b, "pat_nonexistent").status, 404);
    let token_a = pat_a["token"].as_str().unwrap();
    assert_eq!(s.get_auth("/v2/auth/me", token_a).status, 200);
    s.clock.advance(2 * 86_400);
    let r = s.get_auth("/v2/auth/me", token_a);
    assert_eq!(r.error_code(), "invalid_token");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    let pat_b = create(
        &s,
        s.login("bravo")["accessToken"].as_str().unwrap(),
        json!({"name": "b", "scopes": ["profile"], "expiresInDays": 5}),
    )
    .json();
    let token_b = pat_b["token"].as_str().unwrap();
    assert_eq!(s.get_auth("/v2/auth/me", token_b).status, 200);
    assert_eq!(
        s.post(
            "/v2/auth/password/forgot",
            json!({"email": email_of("bravo")})
        )
        .status,
        202
    );
    let code = wait_for_codes(&s.mail_dir(), &email_of("bravo"), 2)
        .pop()
        .unwrap();
    let r = s.post(
        "/v2/auth/password/forgot/confirm",
        json!({"email": email_of("bravo"), "code": code, "newPassword": "new-garland-77"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        s.get_auth("/v2/auth/me", token_b).error_code(),
        "invalid_token",
        "a password reset revokes PATs"
    );
}
