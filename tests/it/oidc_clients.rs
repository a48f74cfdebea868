//! OpenID Connect with relying-party libraries nobody here wrote. In Python
//! (tests/oidc/relying_party.py): authlib's client runs discovery, the code flow with PKCE and a
//! nonce, validates the id_token by its own rules, calls userinfo and refreshes; PyJWT's
//! PyJWKClient verifies the id_token and a resource-bound access token with the JWKS alone. In
//! JavaScript (tests/browser/openid_client.mjs): panva's openid-client, an OpenID Certified
//! relying party, does the same flow with state, iss and signature checks, then RP-initiated
//! logout. `tests/run.sh` installs them; without them the tests fail with the command that
//! installs them.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::*;
use crate::oauth_support::*;

const RESOURCE: &str = "https://mcp.gharart.com";

#[test]
fn authlib_and_pyjwt_sign_in_validate_refresh_and_verify_a_resource_token() {
    let probe = Command::new("python3")
        .args(["-c", "import authlib, jwt, requests, cryptography"])
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "authlib or PyJWT is missing: run tests/run.sh (it installs them), or \
         pip install authlib 'pyjwt[crypto]' requests"
    );
    // Real time: the libraries check exp and iat against their own clock.
    let s = TestServer::start_now(&["--resource", RESOURCE]);
    let at = s.access_token("garland");
    let web = register(
        &s,
        &at,
        json!({"grant_types": ["authorization_code", "refresh_token"]}),
    );
    let machine = register(
        &s,
        &at,
        json!({"grant_types": ["client_credentials"], "redirect_uris": [], "scope": "profile"}),
    );
    let issuer = format!("http://{}", s.addr);
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/relying_party.py"))
        .env("ISSUER", &issuer)
        .env("CLIENT_ID", web["client_id"].as_str().unwrap())
        .env("CLIENT_SECRET", web["client_secret"].as_str().unwrap())
        .env("MACHINE_ID", machine["client_id"].as_str().unwrap())
        .env("MACHINE_SECRET", machine["client_secret"].as_str().unwrap())
        .env("REDIRECT_URI", CALLBACK)
        .env("LOGIN", "garland")
        .env("PASSWORD", PASSWORD)
        .env("RESOURCE", RESOURCE)
        // authlib refuses plain http unless told this is a test.
        .env("AUTHLIB_INSECURE_TRANSPORT", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let me = s.get_auth("/v2/auth/me", &at).json();
    let user_id = me["user"]["id"].clone();
    assert_eq!(run["discovered"], true, "{run}");
    assert_eq!(run["id_token"]["sub"], user_id, "{run}");
    assert_eq!(run["id_token"]["amr"], json!(["pwd"]));
    assert_eq!(run["id_token"]["preferred_username"], "garland");
    assert_eq!(run["id_token"]["email"], email_of("garland"));
    assert!(
        run["id_token"]["nonce"]
            .as_str()
            .is_some_and(|n| n.len() == 20)
    );
    assert_eq!(run["userinfo"]["sub"], user_id);
    assert_eq!(run["refreshed_sub"], user_id);
    assert_eq!(run["refreshed_nonce"], Value::Null);
    assert_eq!(run["pyjwt_id_token_sub"], user_id);
    assert_eq!(run["resource_claims"]["aud"], RESOURCE);
    assert_eq!(run["resource_claims"]["client_id"], machine["client_id"]);
    assert_eq!(run["resource_header"]["alg"], "ES256");
    assert_eq!(run["resource_header"]["typ"], "at+jwt");
    assert_eq!(run["wrong_audience_refused"], true);
}

#[test]
fn panvas_openid_client_signs_in_refreshes_and_signs_out() {
    let script_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        script_dir.join("node_modules/openid-client").exists(),
        "tests/browser/node_modules is missing openid-client: run tests/run.sh (npm ci)"
    );
    let s = TestServer::start_now(&[]);
    let at = s.access_token("holly");
    let logout_uri = "http://127.0.0.1:9999/signed-out";
    let web = register(
        &s,
        &at,
        json!({"grant_types": ["authorization_code", "refresh_token"], "post_logout_redirect_uris": [logout_uri]}),
    );
    let issuer = format!("http://{}", s.addr);
    let out = Command::new("node")
        .arg(script_dir.join("openid_client.mjs"))
        .env("ISSUER", &issuer)
        .env("CLIENT_ID", web["client_id"].as_str().unwrap())
        .env("CLIENT_SECRET", web["client_secret"].as_str().unwrap())
        .env("REDIRECT_URI", CALLBACK)
        .env("LOGOUT_URI", logout_uri)
        .env("LOGIN", "holly")
        .env("PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let user_id = s.get_auth("/v2/auth/me", &at).json()["user"]["id"].clone();
    assert_eq!(run["endSessionEndpoint"], format!("{issuer}/oauth/logout"));
    assert_eq!(run["claims"]["sub"], user_id, "{run}");
    assert_eq!(run["claims"]["amr"], json!(["pwd"]));
    assert_eq!(run["claims"]["email"], email_of("holly"));
    assert!(
        run["claims"]["sid"]
            .as_str()
            .is_some_and(|s| s.starts_with("ses_"))
    );
    assert_eq!(run["userinfo"]["sub"], user_id);
    assert_eq!(run["refreshedSub"], user_id);
    assert_eq!(run["confirmStatus"], 200);
    assert_eq!(run["logoutLocation"], format!("{logout_uri}?state=bye-2"));
    assert_eq!(run["afterLogout"], 303, "the browser is signed out");
}
