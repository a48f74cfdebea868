//! The second step of sign-in on the pages (issue 17): `/login` asks for the code on a second
//! page, inside an OAuth authorization too, and the tokens that authorization issues carry
//! `amr`.

use serde_json::json;

use crate::common::*;
use crate::mfa::{authenticator, claims_of, enrolled};
use crate::oauth_support::*;

#[test]
fn an_authorization_asks_for_the_second_step_and_its_tokens_carry_amr() {
    let s = TestServer::start();
    let (session, secret, _) = enrolled(&s, "mistletoe");
    let at = session["accessToken"].as_str().unwrap().to_owned();
    let client = register(&s, &at, json!({}));
    let (verifier, challenge) = pkce();
    let url = authorize_url(&client, &challenge, &[]);
    let mut b = Browser::default();
    let page = b.get(&s, &url).text();
    let password_step = b.post(
        &s,
        "/login",
        &[
            ("csrf_token", &hidden(&page, "csrf_token")),
            ("return_to", &hidden(&page, "return_to")),
            ("login", "mistletoe"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(password_step.status, 200, "{}", password_step.text());
    let html = password_step.text();
    assert!(
        html.contains("name=\"code\"") && html.contains("action=\"/login/mfa\""),
        "{html}"
    );
    assert!(
        !b.cookies.contains_key("gharart_session"),
        "no session before the second step"
    );
    let mfa_token = hidden(&html, "mfa_token");
    let csrf = hidden(&html, "csrf_token");
    let return_to = hidden(&html, "return_to");

    let wrong = b.post(
        &s,
        "/login/mfa",
        &[
            ("csrf_token", &csrf),
            ("mfa_token", &mfa_token),
            ("return_to", &return_to),
            ("code", "000000"),
        ],
    );
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    assert!(wrong.text().contains("role=\"alert\"") && wrong.text().contains("name=\"code\""));
    let forged = b.post(
        &s,
        "/login/mfa",
        &[
            ("csrf_token", "forged"),
            ("mfa_token", &mfa_token),
            ("code", "000000"),
        ],
    );
    assert_eq!(
        forged.status, 403,
        "a forged form is refused before any check"
    );

    s.clock.advance(30);
    let code = authenticator(&secret, s.clock.now());
    let done = b.post(
        &s,
        "/login/mfa",
        &[
            ("csrf_token", &csrf),
            ("mfa_token", &mfa_token),
            ("return_to", &return_to),
            ("code", &code),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.text());
    let back = done.header("Location").unwrap().to_owned();
    assert!(back.starts_with("/oauth/authorize?"), "{back}");
    let consent = b.get(&s, &back);
    assert_eq!(consent.status, 200, "{}", consent.text());
    let html = consent.text();
    let decided = b.post(
        &s,
        "/oauth/authorize/decision",
        &[
            ("csrf_token", &hidden(&html, "csrf_token")),
            ("request_id", &hidden(&html, "request_id")),
            ("decision", "approve"),
        ],
    );
    assert_eq!(decided.status, 303, "{}", decided.text());
    let code = query_of(decided.header("Location").unwrap())["code"].clone();
    let tokens = exchange(&s, &client, &code, &verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let tokens = tokens.json();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims_of(access)["amr"], json!(["pwd", "otp", "mfa"]));
    let refreshed = refresh_grant(&s, &client, tokens["refresh_token"].as_str().unwrap(), None);
    assert_eq!(
        claims_of(refreshed.json()["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );

    // The used mfa_token on the page: back to the sign-in form, 401.
    let again = b.post(
        &s,
        "/login/mfa",
        &[
            ("csrf_token", &csrf),
            ("mfa_token", &mfa_token),
            ("code", "123456"),
        ],
    );
    assert_eq!(again.status, 401);
    assert!(
        again.text().contains("name=\"password\""),
        "{}",
        again.text()
    );
}

#[test]
fn without_a_factor_the_page_signs_in_at_once_with_amr_pwd() {
    let s = TestServer::start();
    let at = s.access_token("snowdrop");
    let client = register(&s, &at, json!({}));
    let (verifier, challenge) = pkce();
    let mut b = Browser::default();
    let code = code_via_pages(&s, &mut b, &client, &challenge, "snowdrop");
    let tokens = exchange(&s, &client, &code, &verifier).json();
    assert_eq!(
        claims_of(tokens["access_token"].as_str().unwrap())["amr"],
        json!(["pwd"])
    );
}
