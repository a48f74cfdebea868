//! Resource indicators (RFC 8707) and protected resource metadata (RFC 9728) through the real
//! server: tokens for another resource are RFC 9068 JWTs signed ES256 that a resource server
//! verifies with the JWKS alone, the appliance's own API refuses them, `invalid_target` for
//! every malformed or unknown resource, and the `resource_metadata` hint of a 401.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use crate::common::*;
use crate::oauth_support::*;

const MCP: &str = "https://mcp.gharart.com";
const WIKI: &str = "https://wiki.gharart.com/api";

fn server() -> TestServer {
    TestServer::start_with(&["--resource", MCP, "--resource", WIKI])
}

fn machine_client(s: &TestServer) -> Value {
    let at = s.access_token("tinsel");
    register(
        s,
        &at,
        json!({"grant_types": ["client_credentials"], "redirect_uris": [], "scope": "profile"}),
    )
}

fn client_token(s: &TestServer, client: &Value, resources: &[&str]) -> Resp {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend(resources.iter().map(|r| ("resource", *r)));
    form_post(s, "/oauth/token", &form, Some(&basic(client)))
}

/// What a resource server does: the JWKS, the signature, `iss`, `aud`; no secret of ours.
fn verified_at(s: &TestServer, token: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1");
    let set: JwkSet =
        serde_json::from_str(&request(s.addr, "GET", "/oauth/jwks", &[], b"").text()).unwrap();
    let jwk = set.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[format!("http://{}", s.addr)]);
    validation.set_audience(&[audience]);
    validation.validate_exp = false; // the server's clock is the test's manual clock
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims
}

#[test]
fn a_token_for_another_resource_verifies_with_the_jwks_and_not_at_the_appliance() {
    let s = server();
    let client = machine_client(&s);
    let r = client_token(&s, &client, &[MCP]);
    assert_eq!(r.status, 200, "{}", r.text());
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    let c = verified_at(&s, &token, MCP);
    assert_eq!(c["aud"], MCP);
    assert_eq!(c["client_id"], client["client_id"]);
    assert_eq!(c["sub"], client["client_id"]);
    for claim in ["exp", "iat", "jti", "scope"] {
        assert!(c.get(claim).is_some(), "RFC 9068 §2.2: {claim}");
    }
    let me = s.get_auth("/v2/auth/me", &token);
    assert_eq!(me.status, 401);
    assert_eq!(me.error_code(), "invalid_token");
    assert!(me.text().contains("another audience"), "{}", me.text());

    // Two resources: an aud that lists both.
    let both = client_token(&s, &client, &[MCP, WIKI]).json();
    let c = verified_at(&s, both["access_token"].as_str().unwrap(), WIKI);
    assert_eq!(c["aud"], json!([MCP, WIKI]));

    // The appliance itself as the resource: the HS256 token of before.
    let own = client_token(&s, &client, &[&format!("http://{}", s.addr)]).json();
    let header = jsonwebtoken::decode_header(own["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);

    // Introspection reports the audience.
    let i = form_post(
        &s,
        "/oauth/introspect",
        &[("token", &token)],
        Some(&basic(&client)),
    )
    .json();
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["aud"], MCP);
    // Revoked (RFC 7009), it introspects inactive.
    let r = form_post(
        &s,
        "/oauth/revoke",
        &[("token", &token)],
        Some(&basic(&client)),
    );
    assert_eq!(r.status, 200);
    let i = form_post(
        &s,
        "/oauth/introspect",
        &[("token", &token)],
        Some(&basic(&client)),
    )
    .json();
    assert_eq!(i, json!({"active": false}));
}

#[test]
fn malformed_and_unknown_resources_are_invalid_target_and_issue_nothing() {
    let s = server();
    let client = machine_client(&s);
    for bad in [
        "/relative/api",
        "mcp.gharart.com",
        "https://mcp.gharart.com#fragment",
        "https://evil.example",
        "",
    ] {
        let r = client_token(&s, &client, &[bad]);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert_eq!(oauth_error(&r), "invalid_target", "{bad}");
    }
    let mixed = client_token(&s, &client, &[MCP, "https://evil.example"]);
    assert_eq!(oauth_error(&mixed), "invalid_target");

    // At the authorization endpoint, an error redirect before anyone signs in.
    let at = s.access_token("garland");
    let web = register(&s, &at, json!({}));
    let (_, challenge) = pkce();
    let url = authorize_url(&web, &challenge, &[("resource", "https://evil.example")]);
    let r = Browser::default().get(&s, &url);
    assert_eq!(r.status, 303);
    let q = query_of(r.header("Location").unwrap());
    assert_eq!(q["error"], "invalid_target");
}

#[test]
fn the_code_flow_and_its_refresh_stay_within_the_authorized_resources() {
    let s = server();
    let at = s.access_token("holly");
    let web = register(&s, &at, json!({}));
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let code = code_via_pages_with(&s, &mut b, &web, &challenge, "holly", &[("resource", MCP)]);
    // The token request names a resource the authorization did not: refused, code unspent.
    let wrong = form_post(
        &s,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &verifier),
            ("resource", WIKI),
        ],
        Some(&basic(&web)),
    );
    assert_eq!(oauth_error(&wrong), "invalid_target");
    let tokens = exchange(&s, &web, &code, &verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let body = tokens.json();
    let c = verified_at(&s, body["access_token"].as_str().unwrap(), MCP);
    assert_eq!(
        c["aud"], MCP,
        "the authorization's resource, named at authorize only"
    );
    assert_eq!(c["amr"], json!(["pwd"]));
    let refresh = body["refresh_token"].as_str().unwrap();
    let outside = form_post(
        &s,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("resource", WIKI),
        ],
        Some(&basic(&web)),
    );
    assert_eq!(oauth_error(&outside), "invalid_target");
    let again = refresh_grant(&s, &web, refresh, None).json();
    assert_eq!(
        verified_at(&s, again["access_token"].as_str().unwrap(), MCP)["aud"],
        MCP
    );
}

#[test]
fn protected_resource_metadata_and_the_401_hint() {
    let s = server();
    let issuer = format!("http://{}", s.addr);
    let m = request(
        s.addr,
        "GET",
        "/.well-known/oauth-protected-resource",
        &[],
        b"",
    )
    .json();
    assert_eq!(m["resource"], issuer);
    assert_eq!(m["authorization_servers"], json!([issuer]));
    assert_eq!(m["bearer_methods_supported"], json!(["header"]));
    assert!(
        m["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("profile"))
    );
    let r = request(s.addr, "GET", "/v2/auth/me", &[], b"");
    assert_eq!(r.status, 401);
    let challenge = r.header("WWW-Authenticate").unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{issuer}/.well-known/oauth-protected-resource\""
        )),
        "{challenge}"
    );
}

#[test]
fn a_bad_resource_flag_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["/api", "https://x.example#f"] {
        let err = gharart_id::commands::flags::config(args(dir.path(), &["--resource", bad]))
            .unwrap_err();
        assert!(err.contains("--resource"), "{err}");
    }
}
