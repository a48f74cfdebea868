//! Second factors (API.md, "Second factors"; issue 17): TOTP set-up with codes from a real
//! authenticator library (Python's pyotp), the two-step login, replay, drift, the mfaToken's
//! wrong-code limit and expiry, recovery codes, removal, a password reset and `users mfa-reset`.

use base64::Engine;
use serde_json::{Value, json};

use crate::common::*;

/// The code an authenticator app shows for `secret` at `at` (pyotp, installed by tests/run.sh).
pub fn authenticator(secret: &str, at: i64) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))",
            secret,
            &at.to_string(),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pyotp is missing: run tests/run.sh, or python3 -m pip install pyotp ({})",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Sets up and confirms TOTP for `handle` at the server's time; returns the session body, the
/// secret and the recovery codes.
pub fn enrolled(s: &TestServer, handle: &str) -> (Value, String, Vec<String>) {
    let session = s.ready_user(handle);
    let token = session["accessToken"].as_str().unwrap().to_owned();
    let started = s.post_auth("/v2/auth/mfa/totp", json!({}), &token);
    assert_eq!(started.status, 201, "{}", started.text());
    let secret = started.json()["secret"].as_str().unwrap().to_owned();
    let code = authenticator(&secret, s.clock.now());
    let confirmed = s.post_auth("/v2/auth/mfa/totp/confirm", json!({"code": code}), &token);
    assert_eq!(confirmed.status, 200, "{}", confirmed.text());
    let codes = confirmed.json()["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (session, secret, codes)
}

fn password_step(s: &TestServer, handle: &str) -> String {
    let r = s.post(
        "/v2/auth/login",
        json!({"login": handle, "password": PASSWORD}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["mfaRequired"], true, "{body}");
    assert!(
        body.get("accessToken").is_none(),
        "no tokens before the second step"
    );
    assert_eq!(body["methods"], json!(["totp", "recovery"]));
    body["mfaToken"].as_str().unwrap().to_owned()
}

fn second_step(s: &TestServer, mfa_token: &str, code: &str) -> Resp {
    s.post(
        "/v2/auth/login/mfa",
        json!({"mfaToken": mfa_token, "code": code}),
    )
}

pub fn claims_of(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn totp_set_up_confirmation_and_the_two_step_login() {
    let s = TestServer::start();
    let session = s.ready_user("holly");
    let token = session["accessToken"].as_str().unwrap();
    assert_eq!(claims_of(token)["amr"], json!(["pwd"]));
    let before = s.get_auth("/v2/auth/mfa", token).json();
    assert_eq!(
        before,
        json!({"totp": null, "passkeys": [], "recoveryCodesLeft": 0})
    );

    let started = s.post_auth("/v2/auth/mfa/totp", json!({}), token).json();
    let secret = started["secret"].as_str().unwrap();
    let uri = started["otpauthUri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(
        uri.contains(&format!("secret={secret}")) && uri.contains(":holly?"),
        "{uri}"
    );
    let pending = s.get_auth("/v2/auth/mfa", token).json();
    assert_eq!(pending["totp"]["enabled"], false);
    // A pending set-up does not guard sign-in yet.
    assert!(s.login("holly").get("accessToken").is_some());

    let wrong = s.post_auth(
        "/v2/auth/mfa/totp/confirm",
        json!({"code": "000000"}),
        token,
    );
    assert_eq!(
        (wrong.status, wrong.error_code().as_str()),
        (400, "code_invalid")
    );
    let now = s.clock.now();
    let confirmed = s.post_auth(
        "/v2/auth/mfa/totp/confirm",
        json!({"code": authenticator(secret, now)}),
        token,
    );
    assert_eq!(confirmed.status, 200, "{}", confirmed.text());
    let codes = confirmed.json()["recoveryCodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::BTreeSet<&str> =
        codes.iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 10);
    assert!(
        distinct.iter().all(|c| c.len() == 11 && &c[5..6] == "-"),
        "{distinct:?}"
    );
    let active = s.get_auth("/v2/auth/mfa", token).json();
    assert_eq!(active["totp"]["enabled"], true);
    assert_eq!(active["recoveryCodesLeft"], 10);
    let again = s.post_auth("/v2/auth/mfa/totp", json!({}), token);
    assert_eq!(
        (again.status, again.error_code().as_str()),
        (409, "mfa_already_enabled")
    );

    // The password alone now gives a challenge, and the confirming code was spent.
    let mfa_token = password_step(&s, "holly");
    let replay = second_step(&s, &mfa_token, &authenticator(secret, now));
    assert_eq!(
        (replay.status, replay.error_code().as_str()),
        (401, "code_invalid")
    );
    s.clock.advance(30);
    let next = authenticator(secret, s.clock.now());
    let signed_in = second_step(&s, &mfa_token, &next);
    assert_eq!(signed_in.status, 200, "{}", signed_in.text());
    let access = signed_in.json()["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&access)["amr"], json!(["pwd", "otp", "mfa"]));
    let me = s.get_auth("/v2/auth/me", &access).json();
    assert_eq!(me["credential"]["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(me["user"]["mfa"], true);
    assert_eq!(me["user"]["handle"], "holly");
    // A refreshed token keeps how the session signed in.
    let refresh = signed_in.json()["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let refreshed = s.post("/v2/auth/refresh", json!({"refreshToken": refresh}));
    assert_eq!(
        claims_of(refreshed.json()["accessToken"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );

    // The token gave its session: it is dead. And the same code never works twice.
    let used = second_step(&s, &mfa_token, &next);
    assert_eq!(
        (used.status, used.error_code().as_str()),
        (401, "mfa_token_invalid")
    );
    let fresh = password_step(&s, "holly");
    let replayed = second_step(&s, &fresh, &next);
    assert_eq!(
        (replayed.status, replayed.error_code().as_str()),
        (401, "code_invalid")
    );
}

#[test]
fn one_step_of_drift_either_way_and_no_step_twice_or_backwards() {
    let s = TestServer::start();
    let (_, secret, _) = enrolled(&s, "tinsel");
    s.clock.advance(300);
    let now = s.clock.now();
    let token = password_step(&s, "tinsel");
    let two_behind = second_step(&s, &token, &authenticator(&secret, now - 60));
    assert_eq!(two_behind.error_code(), "code_invalid");
    let two_ahead = second_step(&s, &token, &authenticator(&secret, now + 60));
    assert_eq!(two_ahead.error_code(), "code_invalid");
    assert_eq!(
        second_step(&s, &token, &authenticator(&secret, now - 30)).status,
        200
    );
    let token = password_step(&s, "tinsel");
    assert_eq!(
        second_step(&s, &token, &authenticator(&secret, now + 30)).status,
        200
    );
    // The step after now's was spent: now's (an earlier step) is refused.
    let token = password_step(&s, "tinsel");
    let backwards = second_step(&s, &token, &authenticator(&secret, now));
    assert_eq!(backwards.error_code(), "code_invalid");
}

#[test]
fn five_wrong_codes_end_the_token_and_it_expires_after_five_minutes() {
    let s = TestServer::start();
    let (_, secret, _) = enrolled(&s, "garland");
    s.clock.advance(30);
    let token = password_step(&s, "garland");
    for _ in 0..5 {
        let wrong = second_step(&s, &token, "123456");
        assert_eq!(
            (wrong.status, wrong.error_code().as_str()),
            (401, "code_invalid")
        );
    }
    let right = authenticator(&secret, s.clock.now());
    let dead = second_step(&s, &token, &right);
    assert_eq!(
        (dead.status, dead.error_code().as_str()),
        (401, "mfa_token_invalid")
    );
    // The ended token spent nothing: the same code still finishes a new sign-in.
    let token = password_step(&s, "garland");
    assert_eq!(second_step(&s, &token, &right).status, 200);
    s.clock.advance(30);

    let token = password_step(&s, "garland");
    s.clock.advance(301);
    let late = second_step(&s, &token, &authenticator(&secret, s.clock.now()));
    assert_eq!(
        (late.status, late.error_code().as_str()),
        (401, "mfa_token_expired")
    );
    let unknown = second_step(&s, "mfa_not-a-token", &right);
    assert_eq!(
        (unknown.status, unknown.error_code().as_str()),
        (401, "mfa_token_invalid")
    );
}

#[test]
fn recovery_codes_are_single_use_regenerate_and_turn_totp_off() {
    let s = TestServer::start();
    let (session, secret, codes) = enrolled(&s, "sleigh");
    let access = session["accessToken"].as_str().unwrap().to_owned();
    let token = password_step(&s, "sleigh");
    // Typed in capitals and without the dash, it still reads.
    let typed = codes[0].replace('-', "").to_uppercase();
    let signed_in = second_step(&s, &token, &typed);
    assert_eq!(signed_in.status, 200, "{}", signed_in.text());
    let mfa_access = signed_in.json()["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&mfa_access)["amr"], json!(["pwd", "mfa"]));
    let token = password_step(&s, "sleigh");
    let reused = second_step(&s, &token, &codes[0]);
    assert_eq!(reused.error_code(), "code_invalid");
    assert_eq!(
        s.get_auth("/v2/auth/mfa", &access).json()["recoveryCodesLeft"],
        9
    );

    s.clock.advance(30);
    let fresh = s.post_auth(
        "/v2/auth/mfa/recovery-codes",
        json!({"code": authenticator(&secret, s.clock.now())}),
        &access,
    );
    assert_eq!(fresh.status, 200, "{}", fresh.text());
    let new_codes = fresh.json()["recoveryCodes"].as_array().unwrap().clone();
    assert_eq!(new_codes.len(), 10);
    let token = password_step(&s, "sleigh");
    assert_eq!(
        second_step(&s, &token, &codes[1]).error_code(),
        "code_invalid",
        "the old set died"
    );

    let wrong = s.delete_auth("/v2/auth/mfa/totp", json!({"code": "999999"}), &access);
    assert_eq!(
        (wrong.status, wrong.error_code().as_str()),
        (400, "code_invalid")
    );
    let off = s.delete_auth(
        "/v2/auth/mfa/totp",
        json!({"code": new_codes[3].as_str().unwrap()}),
        &access,
    );
    assert_eq!(off.status, 204, "{}", off.text());
    let plain = s.login("sleigh");
    assert_eq!(
        claims_of(plain["accessToken"].as_str().unwrap())["amr"],
        json!(["pwd"])
    );
    let none = s.delete_auth("/v2/auth/mfa/totp", json!({"code": "123456"}), &access);
    assert_eq!(
        (none.status, none.error_code().as_str()),
        (409, "mfa_not_enabled")
    );
}

#[test]
fn wrong_codes_on_the_factor_itself_meet_the_same_back_off() {
    let s = TestServer::start_with(&["--throttle", "on"]);
    let (session, secret, _) = enrolled(&s, "candle");
    let access = session["accessToken"].as_str().unwrap().to_owned();
    for _ in 0..10 {
        let wrong = s.delete_auth("/v2/auth/mfa/totp", json!({"code": "000000"}), &access);
        assert_eq!(wrong.error_code(), "code_invalid");
    }
    // The next step's code (one step of drift): right, but the back-off comes first.
    let right = authenticator(&secret, s.clock.now() + 30);
    let blocked = s.delete_auth("/v2/auth/mfa/totp", json!({"code": right}), &access);
    assert_eq!(
        (blocked.status, blocked.error_code().as_str()),
        (429, "login_backoff")
    );
    assert!(blocked.header("Retry-After").is_some());
    assert_eq!(
        s.get_auth("/v2/auth/mfa", &access).json()["totp"]["enabled"],
        true
    );
    // The same user's second step waits too; a login name is counted apart (see the unit test).
    let token = password_step(&s, "candle");
    let step = second_step(&s, &token, &right);
    assert_eq!(step.error_code(), "login_backoff");
    s.clock.advance(31);
    let later = authenticator(&secret, s.clock.now());
    assert_eq!(
        second_step(&s, &token, &later).status,
        200,
        "after the back-off"
    );
}

#[test]
fn a_pat_cannot_manage_factors_and_bad_bodies_change_nothing() {
    let s = TestServer::start();
    let (session, _, _) = enrolled(&s, "bauble");
    let access = session["accessToken"].as_str().unwrap().to_owned();
    let pat = s
        .post_auth(
            "/v2/auth/tokens",
            json!({"name": "ci", "scopes": ["profile"], "expiresInDays": 1}),
            &access,
        )
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let status_by_pat = s.get_auth("/v2/auth/mfa", &pat);
    assert_eq!(
        status_by_pat.status, 403,
        "a PAT does not learn how the account is guarded"
    );
    let by_pat = s.post_auth("/v2/auth/mfa/totp/confirm", json!({"code": "123456"}), &pat);
    assert_eq!(
        (by_pat.status, by_pat.error_code().as_str()),
        (403, "insufficient_scope")
    );
    let off_by_pat = s.delete_auth("/v2/auth/mfa/totp", json!({"code": "123456"}), &pat);
    assert_eq!(off_by_pat.status, 403);
    for body in [
        json!({}),
        json!({"code": 123456}),
        json!({"code": null}),
        json!([1]),
    ] {
        let r = s.post_auth("/v2/auth/mfa/recovery-codes", body.clone(), &access);
        assert!(matches!(r.status, 400 | 422), "{body}: {}", r.text());
        let step = s.post("/v2/auth/login/mfa", body.clone());
        assert!(matches!(step.status, 400 | 422), "{body}: {}", step.text());
    }
    let garbage = request(
        s.addr,
        "POST",
        "/v2/auth/login/mfa",
        &[("Content-Type", "application/json")],
        b"{\"mfaToken\": ",
    );
    assert_eq!(garbage.error_code(), "malformed_json");
    // Still on: every refusal above changed nothing.
    assert_eq!(
        s.get_auth("/v2/auth/mfa", &access).json()["recoveryCodesLeft"],
        10
    );
    password_step(&s, "bauble");
}

#[test]
fn the_secret_is_sealed_at_rest_and_codes_are_stored_as_macs() {
    let s = TestServer::start();
    let (_, secret, codes) = enrolled(&s, "frost");
    let raw = decode_base32(&secret);
    let c = rusqlite::Connection::open(s.db_path()).unwrap();
    let sealed: Vec<u8> = c
        .query_row("SELECT sealed_secret FROM totp", [], |r| r.get(0))
        .unwrap();
    assert!(!sealed.windows(raw.len()).any(|w| w == raw.as_slice()));
    drop(c);
    let file = std::fs::read(s.db_path()).unwrap();
    let wal = std::fs::read(s.db_path().with_extension("db-wal")).unwrap_or_default();
    for bytes in [&file, &wal] {
        assert!(
            !bytes.windows(raw.len()).any(|w| w == raw.as_slice()),
            "the raw secret"
        );
        for needle in std::iter::once(secret.as_str()).chain(codes.iter().map(String::as_str)) {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} is stored in plain text"
            );
        }
    }
}

#[test]
fn a_password_reset_keeps_the_factor_and_mfa_reset_removes_it() {
    let s = TestServer::start_now(&[]);
    let (session, secret, _) = enrolled(&s, "nutmeg");
    let access = session["accessToken"].as_str().unwrap().to_owned();
    let before_reset = password_step(&s, "nutmeg");
    assert_eq!(
        s.post(
            "/v2/auth/password/forgot",
            json!({"email": email_of("nutmeg")})
        )
        .status,
        202
    );
    let code = wait_for_codes(&s.mail_dir(), &email_of("nutmeg"), 2)
        .pop()
        .unwrap();
    let reset = s.post(
        "/v2/auth/password/forgot/confirm",
        json!({"email": email_of("nutmeg"), "code": code, "newPassword": PASSWORD}),
    );
    assert_eq!(reset.status, 200, "{}", reset.text());
    let old = second_step(&s, &before_reset, "123456");
    assert_eq!(
        old.error_code(),
        "mfa_token_invalid",
        "a second step begun with the old password ended"
    );
    let token = password_step(&s, "nutmeg");
    s.clock.advance(30);
    assert_eq!(
        second_step(&s, &token, &authenticator(&secret, s.clock.now())).status,
        200
    );

    let listed = cli_ok(&s, &["users", "list"]);
    let line = listed.lines().find(|l| l.starts_with("nutmeg ")).unwrap();
    assert!(line.contains(" mfa "), "{line}");
    let out = cli_ok(&s, &["users", "mfa-reset", "nutmeg"]);
    assert!(out.contains("second factors removed"), "{out}");
    let me = s.get_auth("/v2/auth/me", &access);
    assert_eq!(me.error_code(), "session_revoked");
    let plain = s.login("nutmeg");
    assert!(
        plain.get("accessToken").is_some(),
        "the password signs in alone"
    );
    let listed = cli_ok(&s, &["users", "list"]);
    let line = listed.lines().find(|l| l.starts_with("nutmeg ")).unwrap();
    assert!(!line.contains(" mfa "), "{line}");
    let missing = cli(&s, &["users", "mfa-reset", "nobody"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn verifications_are_counted_by_method_and_result() {
    let s = TestServer::start();
    let (_, secret, codes) = enrolled(&s, "cocoa");
    let token = password_step(&s, "cocoa");
    second_step(&s, &token, "000000");
    second_step(&s, &token, &codes[0]);
    let _ = secret;
    let text = request(s.addr, "GET", "/metrics", &[], b"").text();
    for line in [
        "gharart_mfa_verifications_total{method=\"totp\",result=\"ok\"} 1",
        "gharart_mfa_verifications_total{method=\"totp\",result=\"invalid\"} 1",
        "gharart_mfa_verifications_total{method=\"recovery\",result=\"ok\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
}

fn decode_base32(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u64, Vec::new());
    for c in text.bytes() {
        let index = alphabet.iter().position(|&a| a == c).unwrap() as u64;
        value = (value << 5) | index;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}
