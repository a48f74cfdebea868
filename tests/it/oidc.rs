//! OpenID Connect through the real server: discovery, the code flow with `openid` and a `nonce`,
//! the id_token verified with the JWKS by a standard JWT library (no shared secret), userinfo,
//! a refreshed id_token, ES256 clients, `max_age`, `login_hint`, and the refusals of hostile
//! parameters.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::*;
use crate::oauth_support::*;

/// An id_token checked with the server's JWKS only, as a relying party does.
fn verified(s: &TestServer, token: &str, client_id: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let set: JwkSet =
        serde_json::from_str(&request(s.addr, "GET", "/oauth/jwks", &[], b"").text()).unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("the kid is in the JWKS");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[format!("http://{}", s.addr)]);
    validation.set_audience(&[client_id]);
    validation.validate_exp = false; // the server's clock is the test's manual clock
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims
}

fn at_hash(access_token: &str) -> String {
    use base64::Engine;
    let digest = Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[test]
fn discovery_names_the_openid_endpoints() {
    let s = TestServer::start();
    let d = request(s.addr, "GET", "/.well-known/openid-configuration", &[], b"").json();
    let issuer = format!("http://{}", s.addr);
    assert_eq!(d["issuer"], issuer);
    assert_eq!(d["userinfo_endpoint"], format!("{issuer}/oauth/userinfo"));
    assert_eq!(d["jwks_uri"], format!("{issuer}/oauth/jwks"));
    assert_eq!(d["subject_types_supported"], json!(["public"]));
    assert!(
        d["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("RS256"))
    );
    assert!(
        d["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid"))
    );
    for claim in [
        "sub",
        "nonce",
        "auth_time",
        "amr",
        "sid",
        "at_hash",
        "email",
    ] {
        assert!(
            d["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(claim)),
            "{claim}"
        );
    }
    let jwks = request(s.addr, "GET", "/oauth/jwks", &[], b"").json();
    let kinds: Vec<(&str, &str)> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kty"].as_str().unwrap(), k["alg"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("RSA", "RS256"), ("EC", "ES256")]);
    let rsa = &jwks["keys"][0];
    assert_eq!(rsa["use"], "sig");
    assert!(rsa["n"].as_str().unwrap().len() >= 342, "2048 bits or more");
    assert!(rsa.get("d").is_none(), "no private half");
}

#[test]
fn the_code_flow_with_openid_gives_an_id_token_a_relying_party_verifies() {
    let s = TestServer::start();
    let at = s.access_token("garland");
    let client = register(&s, &at, json!({}));
    let client_id = client["client_id"].as_str().unwrap();
    assert_eq!(client["id_token_signed_response_alg"], "RS256");
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let code = code_via_pages_with(
        &s,
        &mut b,
        &client,
        &challenge,
        "garland",
        &[
            ("scope", "openid profile email offline_access"),
            ("nonce", "n-0S6_WzA2Mj"),
        ],
    );
    let tokens = exchange(&s, &client, &code, &verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let body = tokens.json();
    let access = body["access_token"].as_str().unwrap();
    let id_token = body["id_token"].as_str().expect("an id_token");
    assert_eq!(
        jsonwebtoken::decode_header(id_token).unwrap().alg,
        Algorithm::RS256
    );
    let c = verified(&s, id_token, client_id);
    let me = s.get_auth("/v2/auth/me", &at).json();
    assert_eq!(c["sub"], me["user"]["id"]);
    assert_eq!(c["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(c["amr"], json!(["pwd"]));
    assert_eq!(
        c["auth_time"], T0,
        "the browser signed in at the server's T0"
    );
    assert_eq!(c["at_hash"], at_hash(access));
    assert_eq!(c["preferred_username"], "garland");
    assert_eq!(c["email"], email_of("garland"));
    assert_eq!(c["email_verified"], true);
    let access_claims = crate::mfa::claims_of(access);
    assert_eq!(c["sid"], access_claims["sid"], "the session of the grant");

    // userinfo, GET and POST, answers for the same user.
    for method in ["GET", "POST"] {
        let r = request(
            s.addr,
            method,
            "/oauth/userinfo",
            &[("Authorization", &format!("Bearer {access}"))],
            b"",
        );
        assert_eq!(r.status, 200, "{method}: {}", r.text());
        let u = r.json();
        assert_eq!(u["sub"], c["sub"]);
        assert_eq!(u["preferred_username"], "garland");
        assert_eq!(u["email"], email_of("garland"));
    }

    // A refresh gives a new id_token, without the nonce, for the same sign-in.
    s.clock.advance(60);
    let refreshed = refresh_grant(&s, &client, body["refresh_token"].as_str().unwrap(), None);
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    let again = refreshed.json();
    let c2 = verified(&s, again["id_token"].as_str().unwrap(), client_id);
    assert!(c2.get("nonce").is_none(), "{c2}");
    assert_eq!(c2["auth_time"], T0);
    assert_eq!(c2["sub"], c["sub"]);
    assert_eq!(
        c2["at_hash"],
        at_hash(again["access_token"].as_str().unwrap())
    );
    assert_eq!(c2["iat"], T0 + 60);
    // Narrowed to profile alone, the refresh has no openid: no id_token.
    let narrowed = refresh_grant(
        &s,
        &client,
        again["refresh_token"].as_str().unwrap(),
        Some("profile"),
    )
    .json();
    assert!(narrowed.get("id_token").is_none(), "{narrowed}");
}

#[test]
fn without_openid_there_is_no_id_token_and_userinfo_refuses() {
    let s = TestServer::start();
    let at = s.access_token("holly");
    let client = register(&s, &at, json!({}));
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let code = code_via_pages(&s, &mut b, &client, &challenge, "holly");
    let body = exchange(&s, &client, &code, &verifier).json();
    assert!(body.get("id_token").is_none(), "{body}");
    let r = s.get_auth("/oauth/userinfo", body["access_token"].as_str().unwrap());
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "insufficient_scope");
    assert!(
        r.header("WWW-Authenticate")
            .unwrap()
            .contains("scope=\"openid\""),
        "RFC 6750 §3"
    );
    let r = s.get_auth("/oauth/userinfo", "not-a-token");
    assert_eq!(r.status, 401);
    assert!(
        r.header("WWW-Authenticate")
            .unwrap()
            .contains("invalid_token")
    );
}

#[test]
fn a_client_registered_for_es256_gets_es256_and_an_unknown_alg_is_refused() {
    let s = TestServer::start();
    let at = s.access_token("ivy");
    let bad = s.post_auth(
        "/oauth/register",
        json!({"redirect_uris": [CALLBACK], "id_token_signed_response_alg": "none"}),
        &at,
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"], "invalid_client_metadata");
    let before = s.count("SELECT count(*) FROM oauth_clients");
    let bad = s.post_auth(
        "/oauth/register",
        json!({"redirect_uris": [CALLBACK], "id_token_signed_response_alg": "HS256"}),
        &at,
    );
    assert_eq!(bad.json()["error"], "invalid_client_metadata");
    assert_eq!(s.count("SELECT count(*) FROM oauth_clients"), before);

    let client = register(&s, &at, json!({"id_token_signed_response_alg": "ES256"}));
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let code = code_via_pages_with(
        &s,
        &mut b,
        &client,
        &challenge,
        "ivy",
        &[("scope", "openid")],
    );
    let body = exchange(&s, &client, &code, &verifier).json();
    let id_token = body["id_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(id_token).unwrap().alg,
        Algorithm::ES256
    );
    let c = verified(&s, id_token, client["client_id"].as_str().unwrap());
    assert!(
        c.get("email").is_none(),
        "no email scope, no email claim: {c}"
    );
}

#[test]
fn max_age_login_hint_and_hostile_parameters() {
    let s = TestServer::start();
    let at = s.access_token("juniper");
    let client = register(&s, &at, json!({}));
    let (_, challenge) = pkce();
    let mut b = Browser::default();
    // Sign the browser in, then ask with max_age below the sign-in's age: the form again.
    code_via_pages_with(
        &s,
        &mut b,
        &client,
        &challenge,
        "juniper",
        &[("scope", "openid")],
    );
    s.clock.advance(120);
    let url = authorize_url(
        &client,
        &challenge,
        &[("scope", "openid"), ("max_age", "60")],
    );
    let page = b.get(&s, &url);
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("name=\"password\""),
        "signed in too long ago"
    );
    let url = authorize_url(
        &client,
        &challenge,
        &[("scope", "openid"), ("max_age", "600")],
    );
    assert_eq!(
        b.get(&s, &url).status,
        303,
        "a recent enough sign-in goes on"
    );
    let url = authorize_url(
        &client,
        &challenge,
        &[("scope", "openid"), ("max_age", "60"), ("prompt", "none")],
    );
    let r = b.get(&s, &url);
    assert_eq!(
        query_of(r.header("Location").unwrap())["error"],
        "login_required"
    );

    // login_hint prefills a fresh browser's form.
    let url = authorize_url(&client, &challenge, &[("login_hint", "juniper")]);
    let html = Browser::default().get(&s, &url).text();
    assert!(html.contains("name=\"login\" value=\"juniper\""), "{html}");

    for (name, value) in [
        ("nonce", "n".repeat(10 * 1024)),
        ("max_age", "-1".to_owned()),
        ("max_age", "ten".to_owned()),
    ] {
        let url = authorize_url(&client, &challenge, &[("scope", "openid"), (name, &value)]);
        let r = b.get(&s, &url);
        assert_eq!(r.status, 303, "{name}");
        let q = query_of(r.header("Location").unwrap());
        assert_eq!(
            q["error"],
            "invalid_request",
            "{name}={}",
            &value[..value.len().min(8)]
        );
        assert!(q["error_description"].contains(name), "{q:?}");
    }
}

#[test]
fn rp_initiated_logout_confirms_signs_out_and_returns_only_to_a_registered_uri() {
    let s = TestServer::start();
    let at = s.access_token("laurel");
    let signed_out = "http://127.0.0.1:9999/signed-out";
    let bad = s.post_auth(
        "/oauth/register",
        json!({"redirect_uris": [CALLBACK], "post_logout_redirect_uris": ["https://x.example/#f"]}),
        &at,
    );
    assert_eq!(bad.json()["error"], "invalid_client_metadata");
    let client = register(&s, &at, json!({"post_logout_redirect_uris": [signed_out]}));
    assert_eq!(client["post_logout_redirect_uris"], json!([signed_out]));
    let d = request(s.addr, "GET", "/.well-known/openid-configuration", &[], b"").json();
    assert_eq!(
        d["end_session_endpoint"],
        format!("http://{}/oauth/logout", s.addr)
    );

    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let code = code_via_pages_with(
        &s,
        &mut b,
        &client,
        &challenge,
        "laurel",
        &[("scope", "openid")],
    );
    let hint = exchange(&s, &client, &code, &verifier).json()["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let logout = |extra: &str| format!("/oauth/logout?id_token_hint={hint}{extra}");

    // A redirect URI the client did not register: a page naming the registered one.
    let r = b.get(
        &s,
        &logout("&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F"),
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains(signed_out), "{}", r.text());
    assert!(r.header("Location").is_none());
    // A hint this server did not sign.
    let mut forged = hint.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let r = b.get(&s, &format!("/oauth/logout?id_token_hint={forged}"));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("id_token_hint"), "{}", r.text());

    // The confirmation page; a GET signs nobody out.
    let page = b.get(
        &s,
        &logout(&format!(
            "&post_logout_redirect_uri={}&state=bye-1",
            enc(signed_out)
        )),
    );
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("Campaign Dashboard"), "{html}");
    assert_eq!(
        b.get(&s, "/account").status,
        200,
        "still signed in after the GET"
    );
    let r = b.post(
        &s,
        "/oauth/logout",
        &[
            ("csrf_token", &hidden(&html, "csrf_token")),
            ("client_id", &hidden(&html, "client_id")),
            (
                "post_logout_redirect_uri",
                &hidden(&html, "post_logout_redirect_uri"),
            ),
            ("state", &hidden(&html, "state")),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        r.header("Location").unwrap(),
        format!("{signed_out}?state=bye-1")
    );
    let account = b.get(&s, "/account");
    assert_eq!(
        account.status, 303,
        "signed out: /account sends to the sign-in page"
    );
    // Without a CSRF token nothing happens.
    let r = b.post(
        &s,
        "/oauth/logout",
        &[("client_id", client["client_id"].as_str().unwrap())],
    );
    assert_eq!(r.status, 403);
}
