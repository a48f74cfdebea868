//! OAuth server metadata (RFC 8414) and dynamic client registration (RFC 7591) over HTTP.

use serde_json::json;

use crate::common::*;
use crate::oauth_support::*;

#[test]
fn metadata_names_every_endpoint_and_only_s256() {
    let s = TestServer::start();
    let r = request(
        s.addr,
        "GET",
        "/.well-known/oauth-authorization-server",
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(
        r.header("Content-Type")
            .unwrap()
            .starts_with("application/json")
    );
    let m = r.json();
    let issuer = format!("http://{}", s.addr);
    assert_eq!(
        m["issuer"], issuer,
        "RFC 8414 §3.3: identical to the issuer"
    );
    for (field, path) in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("registration_endpoint", "/oauth/register"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("introspection_endpoint", "/oauth/introspect"),
        ("userinfo_endpoint", "/oauth/userinfo"),
        ("jwks_uri", "/oauth/jwks"),
        ("end_session_endpoint", "/oauth/logout"),
    ] {
        assert_eq!(m[field], format!("{issuer}{path}"));
    }
    assert_eq!(m["response_types_supported"], json!(["code"]));
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        m["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(
        m["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        m["scopes_supported"],
        json!(["profile", "email", "offline_access", "openid"])
    );
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
}

#[test]
fn registration_applies_rfc7591_defaults_and_refuses_bad_metadata() {
    let s = TestServer::start();
    let at = s.access_token("dev");
    let r = s.post("/oauth/register", json!({"redirect_uris": [CALLBACK]}));
    assert_eq!(
        (r.status, oauth_error(&r).as_str()),
        (401, "invalid_token"),
        "registration needs a signed-in user"
    );
    assert!(r.header("WWW-Authenticate").unwrap().starts_with("Bearer"));

    let r = s.post_auth(
        "/oauth/register",
        json!({"redirect_uris": [CALLBACK], "client_name": "Dash"}),
        &at,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    let c = r.json();
    assert!(
        c["client_id"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    );
    assert!(c["client_secret"].as_str().unwrap().starts_with("gha_cs_"));
    assert_eq!(c["client_secret_expires_at"], 0);
    assert!(c["client_id_issued_at"].is_i64());
    assert_eq!(c["grant_types"], json!(["authorization_code"]));
    assert_eq!(c["response_types"], json!(["code"]));
    assert_eq!(c["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(c["redirect_uris"], json!([CALLBACK]));
    assert_eq!(c["client_name"], "Dash");

    let public = register(
        &s,
        &at,
        json!({"token_endpoint_auth_method": "none", "redirect_uris": ["com.gharart.app:/oauth", "http://[::1]/cb"]}),
    );
    assert!(
        public.get("client_secret").is_none(),
        "a public client has no secret"
    );

    let cc = register(
        &s,
        &at,
        json!({"grant_types": ["client_credentials"], "redirect_uris": []}),
    );
    assert_eq!(
        cc["response_types"],
        json!([]),
        "no redirect URI needed without the code grant"
    );

    let bad = [
        (
            json!({"redirect_uris": ["http://app.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb#frag"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["/relative"]}),
            "invalid_redirect_uri",
        ),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": [CALLBACK], "grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [CALLBACK], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [CALLBACK], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [CALLBACK], "scope": "admin"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": "https://app.example/cb"}),
            "invalid_client_metadata",
        ),
    ];
    for (body, code) in bad {
        let r = s.post_auth("/oauth/register", body.clone(), &at);
        assert_eq!((r.status, oauth_error(&r).as_str()), (400, code), "{body}");
    }
    let pat = s
        .post_auth(
            "/v2/auth/tokens",
            json!({"name": "p", "scopes": ["profile"], "expiresInDays": 1}),
            &at,
        )
        .json();
    let r = s.post_auth(
        "/oauth/register",
        json!({"redirect_uris": [CALLBACK]}),
        pat["token"].as_str().unwrap(),
    );
    assert_eq!(
        (r.status, oauth_error(&r).as_str()),
        (403, "insufficient_scope"),
        "a PAT cannot register clients"
    );

    let open = TestServer::start_with(&["--open-registration"]);
    let r = open.post("/oauth/register", json!({"redirect_uris": [CALLBACK]}));
    assert_eq!(r.status, 201, "--open-registration needs no token");
}
