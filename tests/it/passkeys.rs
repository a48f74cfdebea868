//! Passkeys through the real server: the ceremonies end to end in Debian's Chromium with the
//! DevTools virtual authenticator (add on /account, sign in on /login, through the API and in an
//! OAuth authorization, a clone and a removed passkey refused), and every refusal the API gives without a browser
//! (malformed answers, unknown or spent challenges, another account's ceremony, expiry).

use std::path::Path;

use serde_json::{Value, json};

use crate::browser::{require_browser, run_script};
use crate::common::*;
use crate::mfa::claims_of;
use crate::oauth_support::*;

#[test]
fn passkeys_added_used_cloned_and_removed_in_chromium() {
    require_browser();
    let s = TestServer::start_localhost();
    let at = s.access_token("garland");
    let client = register(&s, &at, json!({}));
    let (verifier, challenge) = pkce();
    let authorize = authorize_url(&client, &challenge, &[]);
    let base = format!("http://localhost:{}", s.addr.port());
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-shots");
    std::fs::create_dir_all(&shots).unwrap();
    let run = run_script(
        "passkeys.mjs",
        &[
            ("BASE_URL", &base),
            ("HANDLE", "garland"),
            ("PASSWORD", PASSWORD),
            ("AUTHORIZE_PATH", &authorize),
            ("CALLBACK", CALLBACK),
        ],
        &shots,
    );
    assert_eq!(run["noneBefore"], true, "{run}");
    assert_eq!(run["addedNotice"], "Passkey Work laptop added.", "{run}");
    assert!(
        run["listed"].as_str().unwrap().contains("Work laptop"),
        "{run}"
    );
    assert_eq!(run["resident"], true, "a discoverable credential: {run}");
    assert_eq!(
        run["rpId"], "localhost",
        "the RP ID is the issuer's host: {run}"
    );
    assert_eq!(run["passkeyButtonVisible"], true, "{run}");
    assert_eq!(run["afterPasskey"], "/account", "{run}");
    let page_claims = claims_of(run["pageToken"].as_str().unwrap());
    assert_eq!(page_claims["amr"], json!(["hwk", "user"]), "{run}");

    let api = &run["api"];
    assert_eq!(
        api["listed"], 1,
        "a login lists its account's passkeys: {run}"
    );
    assert_eq!(api["status"], 200, "{run}");
    let access = api["body"]["accessToken"].as_str().unwrap();
    assert_eq!(claims_of(access)["amr"], json!(["hwk", "user"]));
    let me = s.get_auth("/v2/auth/me", access).json();
    assert_eq!(me["credential"]["amr"], json!(["hwk", "user"]));
    assert_eq!(me["user"]["handle"], "garland");
    assert_eq!(
        me["user"]["mfa"], false,
        "user.mfa means TOTP, which a passkey does not turn on"
    );
    assert!(
        api["body"]["refreshToken"].as_str().is_some(),
        "a whole session: {run}"
    );
    assert_eq!(api["replayStatus"], 401, "{run}");
    assert_eq!(api["replay"]["error"]["code"], "passkey_invalid");
    assert!(
        api["replay"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{run}"
    );

    // The OAuth authorization signed in with the passkey: the app's tokens carry its amr.
    assert_eq!(
        run["oauthConsentTitle"], "Allow access · gharart-id",
        "{run}"
    );
    let q = query_of(run["oauthCallback"].as_str().unwrap());
    let tokens = exchange(&s, &client, &q["code"], &verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let app_access = tokens.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&app_access)["amr"], json!(["hwk", "user"]));

    assert_eq!(run["cloneStatus"], "/login/passkey", "{run}");
    assert!(
        run["cloneAlert"].as_str().unwrap().contains("counter"),
        "the clone is refused by its signature counter: {run}"
    );
    assert_eq!(run["removedNotice"], "Passkey removed.", "{run}");
    assert_eq!(run["noneAfter"], true, "{run}");
    assert!(
        run["removedAlert"]
            .as_str()
            .unwrap()
            .contains("not registered"),
        "{run}"
    );
    for (page, w) in run["widths"].as_object().unwrap() {
        assert!(
            w.as_i64().unwrap() <= 375,
            "{page} scrolls sideways at 375 px: {w}"
        );
    }
    // The metric counted the ceremonies: one registration, three sign-ins, two refusals.
    let metrics = request(s.addr, "GET", "/metrics", &[], b"").text();
    for (result, n) in [("registered", 1), ("ok", 3), ("failed", 2)] {
        let line = format!(
            "gharart_mfa_verifications_total{{method=\"passkey\",result=\"{result}\"}} {n}"
        );
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
}

fn registration_start(s: &TestServer, token: &str) -> Value {
    let r = s.post_auth("/v2/auth/passkeys/register/start", json!({}), token);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[test]
fn the_ceremonies_options_follow_the_contract() {
    let s = TestServer::start_localhost();
    let token = s.access_token("holly");
    let started = registration_start(&s, &token);
    let options = &started["publicKey"];
    assert!(started["challengeId"].as_str().unwrap().starts_with("pkc_"));
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["user"]["name"], "holly");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(options["timeout"], 300_000);
    let handle = options["user"]["id"].as_str().unwrap().to_owned();
    assert!(
        !handle.contains("usr_"),
        "the user handle is random, not the user id"
    );
    assert_eq!(
        registration_start(&s, &token)["publicKey"]["user"]["id"],
        handle.as_str(),
        "one handle per user"
    );

    let discoverable = s.post("/v2/auth/passkeys/login/start", json!({}));
    assert_eq!(discoverable.status, 200);
    assert_eq!(
        discoverable.json()["publicKey"]["userVerification"],
        "required"
    );
    assert!(
        discoverable.json()["publicKey"]
            .get("allowCredentials")
            .is_none()
            || discoverable.json()["publicKey"]["allowCredentials"] == json!([])
    );
    let empty = request(s.addr, "POST", "/v2/auth/passkeys/login/start", &[], b"");
    assert_eq!(empty.status, 200, "an empty body is a discoverable sign-in");

    // A login with no passkey looks like one with a passkey: one credential listed, stable.
    let unknown = |login: &str| {
        let r = s.post("/v2/auth/passkeys/login/start", json!({"login": login}));
        assert_eq!(r.status, 200);
        r.json()["publicKey"]["allowCredentials"].clone()
    };
    let nobody = unknown("nobody-here");
    assert_eq!(nobody.as_array().unwrap().len(), 1);
    assert_eq!(nobody, unknown("nobody-here"), "the same decoy each time");
    assert_eq!(unknown("holly").as_array().unwrap().len(), 1);
    assert_ne!(unknown("holly"), nobody);
}

#[test]
fn malformed_answers_are_refused_and_spend_nothing() {
    let s = TestServer::start_localhost();
    let token = s.access_token("ivy");
    let started = registration_start(&s, &token);
    let id = started["challengeId"].as_str().unwrap();
    let finish = |body: Value| s.post_auth("/v2/auth/passkeys/register/finish", body, &token);

    let r = finish(json!({"challengeId": id, "name": "key"}));
    assert_eq!((r.status, r.error_code()), (422, "invalid_field".into()));
    let r = finish(json!({"challengeId": id, "name": "key", "credential": "text"}));
    assert_eq!((r.status, r.error_code()), (422, "invalid_field".into()));
    let r = finish(json!({"challengeId": id, "name": "", "credential": {}}));
    assert_eq!(r.error_code(), "invalid_field", "a name is required");
    let r = finish(json!({"challengeId": id, "name": "x".repeat(65), "credential": {}}));
    assert_eq!(
        r.error_code(),
        "invalid_field",
        "a name of 64 characters at most"
    );
    // An answer that is not a RegistrationResponseJSON: 401 naming the check, and the
    // challenge is still there for the real answer.
    for credential in [
        json!({}),
        json!({"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {"clientDataJSON": "e30", "attestationObject": "oA"}}),
        json!({"id": 1, "response": null}),
    ] {
        let r = finish(json!({"challengeId": id, "name": "key", "credential": credential}));
        assert_eq!(r.status, 401, "{}", r.text());
        assert_eq!(r.error_code(), "passkey_invalid");
        assert!(
            r.text().contains("RegistrationResponseJSON"),
            "{}",
            r.text()
        );
    }
    assert_eq!(
        s.count("SELECT count(*) FROM passkey_challenges WHERE ceremony = 'register'"),
        1,
        "a malformed answer does not spend the challenge"
    );
    assert_eq!(s.count("SELECT count(*) FROM passkeys"), 0);

    // Sign-in answers alike, and an unknown challenge.
    let r = s.post(
        "/v2/auth/passkeys/login/finish",
        json!({"challengeId": "pkc_unknown", "credential": {"id": "x"}}),
    );
    assert_eq!((r.status, r.error_code()), (401, "passkey_invalid".into()));
    let r = s.post(
        "/v2/auth/passkeys/login/finish",
        json!({"challengeId": "pkc_x"}),
    );
    assert_eq!((r.status, r.error_code()), (422, "invalid_field".into()));
}

#[test]
fn a_ceremony_is_its_accounts_and_dies_after_five_minutes() {
    let s = TestServer::start_localhost();
    let ivy = s.access_token("ivy");
    let rowan = s.access_token("rowan");
    let started = registration_start(&s, &ivy);
    let id = started["challengeId"].as_str().unwrap();
    let r = s.post_auth(
        "/v2/auth/passkeys/register/finish",
        json!({"challengeId": id, "name": "key", "credential": {}}),
        &rowan,
    );
    assert_eq!(r.error_code(), "passkey_invalid");
    assert!(r.text().contains("not this account's"), "{}", r.text());

    let started = registration_start(&s, &ivy);
    s.clock.advance(301);
    let r = s.post_auth(
        "/v2/auth/passkeys/register/finish",
        json!({"challengeId": started["challengeId"], "name": "key", "credential": {}}),
        &ivy,
    );
    assert_eq!(r.error_code(), "passkey_invalid");
    assert!(r.text().contains("expired"), "{}", r.text());
}

#[test]
fn only_a_signed_in_session_manages_passkeys() {
    let s = TestServer::start_localhost();
    let token = s.access_token("juniper");
    let pat = s
        .post_auth(
            "/v2/auth/tokens",
            json!({"name": "ci", "scopes": ["profile"], "expiresInDays": 1}),
            &token,
        )
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s.post_auth("/v2/auth/passkeys/register/start", json!({}), &pat);
    assert_eq!(
        (r.status, r.error_code()),
        (403, "insufficient_scope".into())
    );
    let r = s.delete_auth("/v2/auth/passkeys/pk_x", json!({}), &pat);
    assert_eq!(r.status, 403);
    let r = s.delete_auth("/v2/auth/passkeys/pk_nope", json!({}), &token);
    assert_eq!((r.status, r.error_code()), (404, "not_found".into()));
    let r = s.post("/v2/auth/passkeys/register/start", json!({}));
    assert_eq!(r.status, 401);
    let mfa = s.get_auth("/v2/auth/mfa", &token).json();
    assert_eq!(mfa["passkeys"], json!([]));
}

#[test]
fn users_list_shows_a_passkey_and_mfa_reset_removes_it() {
    let s = TestServer::start_now(&[]);
    let token = s.access_token("laurel");
    // A registration started gives the user a handle; the passkey row stands for a finished one.
    registration_start(&s, &token);
    s.sql(
        "INSERT INTO passkeys (id, user_id, credential_id, public_key, state, transports, synced, name, created_at)
         SELECT 'pk_1', id, X'0102', X'00', X'00000000000000', 0, 0, 'Key', 1 FROM users WHERE handle = 'laurel'",
    );
    let mfa = s.get_auth("/v2/auth/mfa", &token).json();
    assert_eq!(mfa["passkeys"][0]["name"], "Key", "{mfa}");
    assert_eq!(mfa["passkeys"][0]["lastUsedAt"], Value::Null, "{mfa}");
    let line = |s: &TestServer| {
        cli_ok(s, &["users", "list"])
            .lines()
            .find(|l| l.starts_with("laurel "))
            .unwrap()
            .to_owned()
    };
    assert!(line(&s).contains(" mfa "), "{}", line(&s));
    cli_ok(&s, &["users", "mfa-reset", "laurel"]);
    assert_eq!(s.count("SELECT count(*) FROM passkeys"), 0);
    assert_eq!(s.count("SELECT count(*) FROM passkey_challenges"), 0);
    assert!(!line(&s).contains(" mfa "), "{}", line(&s));
    assert_eq!(
        s.get_auth("/v2/auth/mfa", &token).error_code(),
        "session_revoked"
    );
}
