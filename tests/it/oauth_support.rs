//! Helpers for the OAuth tests: client registration, PKCE pairs, a cookie-keeping browser
//! stand-in that does not follow redirects, and form posts.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::*;

pub const CALLBACK: &str = "http://127.0.0.1:9999/callback";

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = format!("v{}", "x".repeat(20) + &rand_text());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn rand_text() -> String {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).unwrap();
    URL_SAFE_NO_PAD.encode(b)
}

/// Registers a client with the signed-in `at` and returns the registration answer.
pub fn register(s: &TestServer, at: &str, extra: Value) -> Value {
    let mut body = json!({"client_name": "Campaign Dashboard", "redirect_uris": [CALLBACK], "grant_types": ["authorization_code", "refresh_token"]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = s.post_auth("/oauth/register", body, at);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// `Authorization: Basic` with form-urlencoded id and secret (RFC 6749 §2.3.1).
pub fn basic(client: &Value) -> String {
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

pub fn enc(s: &str) -> String {
    gharart_id::core::urlenc::encode(s)
}

/// POSTs a form to an OAuth endpoint.
pub fn form_post(
    s: &TestServer,
    path: &str,
    pairs: &[(&str, &str)],
    authorization: Option<&str>,
) -> Resp {
    let body = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(a) = authorization {
        headers.push(("Authorization", a));
    }
    request(s.addr, "POST", path, &headers, body.as_bytes())
}

/// The authorize URL for `client` with PKCE `challenge`, plus `extra` parameters.
pub fn authorize_url(client: &Value, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        (
            "client_id".into(),
            client["client_id"].as_str().unwrap().into(),
        ),
        ("redirect_uri".into(), CALLBACK.into()),
        ("scope".into(), "profile email".into()),
        ("state".into(), "st-123".into()),
        ("code_challenge".into(), challenge.into()),
        ("code_challenge_method".into(), "S256".into()),
    ];
    for (k, v) in extra {
        pairs.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            pairs.push(((*k).into(), (*v).into()));
        }
    }
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    format!("/oauth/authorize?{}", q.join("&"))
}

/// The query parameters of a redirect target.
pub fn query_of(location: &str) -> BTreeMap<String, String> {
    let q = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    gharart_id::core::urlenc::parse(q)
        .unwrap()
        .into_iter()
        .collect()
}

/// A browser stand-in: keeps cookies, never follows redirects.
#[derive(Default)]
pub struct Browser {
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    /// The `Cookie` header this browser sends.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, r: &Resp) {
        for (k, v) in &r.headers {
            if k.eq_ignore_ascii_case("Set-Cookie") {
                let pair = v.split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub fn get(&mut self, s: &TestServer, path: &str) -> Resp {
        let cookie = self.cookie_header();
        let r = request(
            s.addr,
            "GET",
            path,
            &[("Cookie", &cookie), ("User-Agent", "test-browser")],
            b"",
        );
        self.keep(&r);
        r
    }

    pub fn post(&mut self, s: &TestServer, path: &str, pairs: &[(&str, &str)]) -> Resp {
        let cookie = self.cookie_header();
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let r = request(
            s.addr,
            "POST",
            path,
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("User-Agent", "test-browser"),
            ],
            body.as_bytes(),
        );
        self.keep(&r);
        r
    }

    /// Signs in through the sign-in page shown at `authorize` and returns where it sends the browser.
    pub fn sign_in_at(&mut self, s: &TestServer, authorize: &str, login: &str) -> String {
        let page = self.get(s, authorize);
        assert_eq!(page.status, 200, "{}", page.text());
        let html = page.text();
        assert!(
            html.contains("name=\"login\"") && html.contains("name=\"password\""),
            "{html}"
        );
        let csrf = hidden(&html, "csrf_token");
        let return_to = hidden(&html, "return_to");
        let r = self.post(
            s,
            "/login",
            &[
                ("csrf_token", &csrf),
                ("return_to", &return_to),
                ("login", login),
                ("password", PASSWORD),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        r.header("Location").unwrap().to_owned()
    }
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    let value = &html[start..start + html[start..].find('"').unwrap()];
    value
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// Runs the browser part of the flow (signing in and consenting when asked) and returns the code.
pub fn code_via_pages(
    s: &TestServer,
    b: &mut Browser,
    client: &Value,
    challenge: &str,
    login: &str,
) -> String {
    code_via_pages_with(s, b, client, challenge, login, &[])
}

/// [`code_via_pages`] with `extra` authorize parameters (a `scope`, say).
pub fn code_via_pages_with(
    s: &TestServer,
    b: &mut Browser,
    client: &Value,
    challenge: &str,
    login: &str,
    extra: &[(&str, &str)],
) -> String {
    let url = authorize_url(client, challenge, extra);
    let mut r = b.get(s, &url);
    if r.status == 200 && r.text().contains("name=\"password\"") {
        let back = b.sign_in_at(s, &url, login);
        r = b.get(s, &back);
    }
    if r.status == 200 {
        let html = r.text();
        assert!(html.contains("value=\"approve\""), "{html}");
        r = b.post(
            s,
            "/oauth/authorize/decision",
            &[
                ("csrf_token", &hidden(&html, "csrf_token")),
                ("request_id", &hidden(&html, "request_id")),
                ("decision", "approve"),
            ],
        );
    }
    assert_eq!(r.status, 303, "{}", r.text());
    query_of(r.header("Location").unwrap())["code"].clone()
}

/// Exchanges a code at the token endpoint with Basic client authentication.
pub fn exchange(s: &TestServer, client: &Value, code: &str, verifier: &str) -> Resp {
    form_post(
        s,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
        Some(&basic(client)),
    )
}

/// The token endpoint's refresh grant for `client`, narrowed to `scope` when one is given.
pub fn refresh_grant(s: &TestServer, client: &Value, refresh: &str, scope: Option<&str>) -> Resp {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
    form.extend(scope.map(|scope| ("scope", scope)));
    form_post(s, "/oauth/token", &form, Some(&basic(client)))
}

/// The error and description of an OAuth error body.
pub fn oauth_error(r: &Resp) -> String {
    let v = r.json();
    assert!(v["error_description"].is_string(), "{v}");
    v["error"].as_str().unwrap().to_owned()
}
