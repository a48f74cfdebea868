//! Issue 14, finding 1: every route that takes a bearer credential, against every kind of
//! credential. Account management (PATs, client registration, logout of every session) takes
//! only a first-party session's access token; an OAuth app's token does exactly what its scopes
//! allow; a client's own token has no user; a refresh token, an expired or a revoked credential
//! is no credential. A refusal changes nothing.

use serde_json::{Value, json};

use crate::common::*;
use crate::oauth_support::*;

/// What each route answers a credential, as statuses: me, PAT create, PAT list, PAT delete,
/// client registration.
type Row = [u16; 5];

fn statuses(s: &TestServer, bearer: &str, pat_id: &str) -> Row {
    let pat =
        json!({"name": "escape", "scopes": ["profile", "campaigns:read"], "expiresInDays": 30});
    [
        s.get_auth("/v2/auth/me", bearer).status,
        s.post_auth("/v2/auth/tokens", pat, bearer).status,
        s.get_auth("/v2/auth/tokens", bearer).status,
        request(
            s.addr,
            "DELETE",
            &format!("/v2/auth/tokens/{pat_id}"),
            &[("Authorization", &format!("Bearer {bearer}"))],
            b"",
        )
        .status,
        s.post_auth(
            "/oauth/register",
            json!({"client_name": "Escape", "redirect_uris": [CALLBACK]}),
            bearer,
        )
        .status,
    ]
}

fn pat(s: &TestServer, at: &str, scopes: &[&str]) -> Value {
    let r = s.post_auth(
        "/v2/auth/tokens",
        json!({"name": format!("pat {scopes:?}"), "scopes": scopes, "expiresInDays": 30}),
        at,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// A code-flow access token (and its refresh token) for `client`, granted `scope`.
fn code_flow(s: &TestServer, client: &Value, login: &str, scope: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut b = Browser::default();
    let code = code_via_pages_with(s, &mut b, client, &challenge, login, &[("scope", scope)]);
    let r = exchange(s, client, &code, &verifier);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["scope"], scope);
    (
        v["access_token"].as_str().unwrap().to_owned(),
        v["refresh_token"].as_str().unwrap_or_default().to_owned(),
    )
}

fn count_pats(s: &TestServer, at: &str) -> usize {
    s.get_auth("/v2/auth/tokens", at).json()["tokens"]
        .as_array()
        .unwrap()
        .len()
}

fn count_clients(s: &TestServer) -> usize {
    cli_ok(s, &["clients", "list"]).lines().count()
}

#[test]
fn every_bearer_route_against_every_credential_kind() {
    // Throttles off: five sign-ins through the pages from one address in a minute is the test,
    // not an attack.
    let s = TestServer::start_with(&["--scopes", "campaigns:read", "--throttle", "off"]);
    let first_party = s.access_token("tinsel");
    let victim_pat = pat(&s, &first_party, &["profile"]);
    let victim_id = victim_pat["id"].as_str().unwrap().to_owned();
    let pat_profile = victim_pat["token"].as_str().unwrap().to_owned();
    let pat_email = pat(&s, &first_party, &["email"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cc = register(
        &s,
        &first_party,
        json!({"grant_types": ["client_credentials"], "redirect_uris": [], "scope": "profile campaigns:read"}),
    );
    let client_token = form_post(
        &s,
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "profile campaigns:read"),
        ],
        Some(&basic(&cc)),
    );
    assert_eq!(client_token.status, 200, "{}", client_token.text());
    let client_token = client_token.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh_token = s.login("tinsel")["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let pats_before = count_pats(&s, &first_party);
    let clients_before = count_clients(&s);

    const DENIED: Row = [403, 403, 403, 403, 403];
    for (scope, me) in [
        ("profile", 200),
        ("email", 403),
        ("offline_access", 403),
        ("campaigns:read", 403),
        ("profile email offline_access campaigns:read", 200),
    ] {
        // A client per flow: the sign-in loop breaker counts starts per client.
        let client = register(
            &s,
            &first_party,
            json!({"scope": "profile email offline_access campaigns:read"}),
        );
        let (oauth, _) = code_flow(&s, &client, "tinsel", scope);
        assert_eq!(
            statuses(&s, &oauth, &victim_id),
            [me, 403, 403, 403, 403],
            "a code-flow token granted {scope:?}"
        );
    }
    assert_eq!(
        statuses(&s, &pat_profile, &victim_id),
        [200, 403, 403, 403, 403],
        "PAT with profile"
    );
    assert_eq!(
        statuses(&s, &pat_email, &victim_id),
        DENIED,
        "PAT without profile"
    );
    assert_eq!(
        statuses(&s, &client_token, &victim_id),
        DENIED,
        "client_credentials token"
    );
    let r = s.get_auth("/v2/auth/me", &client_token);
    assert_eq!(
        r.error_code(),
        "insufficient_scope",
        "no user behind it: {}",
        r.text()
    );
    assert_eq!(
        statuses(&s, &refresh_token, &victim_id),
        [401; 5],
        "a refresh token is no bearer credential"
    );
    assert_eq!(
        count_pats(&s, &first_party),
        pats_before,
        "no refusal made a PAT"
    );
    assert_eq!(
        count_clients(&s),
        clients_before + 5,
        "no refusal registered a client (the five are the test's own)"
    );
    let r = s.get_auth("/v2/auth/me", &pat_profile);
    assert_eq!(
        r.status, 200,
        "the PAT a refusal would have deleted still works"
    );

    // The first-party session does all of it (its DELETE removes the PAT above).
    assert_eq!(
        statuses(&s, &first_party, &victim_id),
        [200, 201, 200, 204, 201]
    );
    assert_eq!(
        s.get_auth("/v2/auth/me", &pat_profile).status,
        401,
        "deleted"
    );
}

#[test]
fn logout_of_every_session_is_first_party_only() {
    let s = TestServer::start();
    let first_party = s.access_token("garland");
    let other_session = s.login("garland")["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = register(&s, &first_party, json!({}));
    let (oauth, oauth_refresh) = code_flow(&s, &client, "garland", "profile email");
    let pat_token = pat(&s, &first_party, &["profile"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let all = json!({"allSessions": true});
    for (bearer, what) in [(&oauth, "code-flow token"), (&pat_token, "PAT")] {
        let r = s.post_auth("/v2/auth/logout", all.clone(), bearer);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (403, "insufficient_scope"),
            "{what}: {}",
            r.text()
        );
    }
    assert_eq!(
        s.get_auth("/v2/auth/me", &other_session).status,
        200,
        "no session ended"
    );
    assert_eq!(
        s.post_auth("/v2/auth/logout", json!({}), &pat_token).status,
        403
    );

    // An OAuth app may end its own grant's session, and nothing else.
    assert_eq!(
        s.post_auth("/v2/auth/logout", json!({}), &oauth).status,
        204
    );
    assert_eq!(s.get_auth("/v2/auth/me", &oauth).status, 401, "revoked");
    assert_eq!(
        refresh_grant(&s, &client, &oauth_refresh, None).status,
        400,
        "its refresh token ended with it"
    );
    assert_eq!(s.get_auth("/v2/auth/me", &first_party).status, 200);
    assert_eq!(statuses(&s, &oauth, "pat_x"), [401; 5], "a revoked token");

    assert_eq!(
        s.post_auth("/v2/auth/logout", all, &first_party).status,
        204
    );
    assert_eq!(s.get_auth("/v2/auth/me", &other_session).status, 401);
}

#[test]
fn an_expired_token_is_refused_everywhere() {
    let s = TestServer::start();
    let first_party = s.access_token("bauble");
    let client = register(&s, &first_party, json!({}));
    let (oauth, _) = code_flow(&s, &client, "bauble", "profile");
    s.clock.advance(900 + 31);
    for bearer in [&first_party, &oauth] {
        assert_eq!(statuses(&s, bearer, "pat_x"), [401; 5]);
        let r = s.get_auth("/v2/auth/me", bearer);
        assert_eq!(r.error_code(), "invalid_token");
    }
}
