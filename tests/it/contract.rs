//! The conventions every route shares (API.md, Conventions): request ids, the error envelope,
//! 404/405/413/415/400/422, bearer errors (RFC 6750 §3), and /healthz; and what the connection
//! layer refuses: oversized heads (431), bodies past the cap, the rest of an unread body taken for
//! a request (smuggling).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

#[test]
fn request_ids_are_echoed_when_valid_and_made_otherwise() {
    let s = TestServer::start();
    let r = request(
        s.addr,
        "GET",
        "/healthz",
        &[("X-Request-Id", "support.case-1234_ab")],
        b"",
    );
    assert_eq!(r.header("X-Request-Id"), Some("support.case-1234_ab"));
    for bad in ["short", "has space in it", "semi;colon;;;", &"x".repeat(65)] {
        let r = request(s.addr, "GET", "/healthz", &[("X-Request-Id", bad)], b"");
        let id = r.header("X-Request-Id").unwrap();
        assert!(id.starts_with("req_") && id.len() == 30, "{bad:?} → {id}");
        assert!(
            id[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        );
    }
    let r = request(s.addr, "GET", "/healthz", &[], b"");
    assert_eq!(
        (r.status, r.json()),
        (
            200,
            json!({"status": "ok", "mail": {"pending": 0, "oldestPendingSeconds": 0}})
        )
    );
}

#[test]
fn routing_errors() {
    let s = TestServer::start();
    for path in [
        "/nope",
        "/v2/operator/users",
        "/v2/public/x",
        "/v2/auth/signup/extra",
    ] {
        let r = request(s.addr, "GET", path, &[], b"");
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (404, "not_found"),
            "{path}"
        );
    }
    let r = request(s.addr, "GET", "/v2/auth/login", &[], b"");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (405, "method_not_allowed")
    );
    assert_eq!(r.header("Allow"), Some("POST"));
}

#[test]
fn body_errors() {
    let s = TestServer::start();
    let r = request(
        s.addr,
        "POST",
        "/v2/auth/login",
        &[("Content-Type", "text/plain")],
        b"{}",
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (415, "unsupported_media_type")
    );
    let r = request(s.addr, "POST", "/v2/auth/login", &[], b"{}");
    assert_eq!(r.status, 415, "no content type");
    let r = request(
        s.addr,
        "POST",
        "/v2/auth/login",
        &[("Content-Type", "application/json")],
        b"{\"login\": ",
    );
    assert_eq!((r.status, r.error_code().as_str()), (400, "malformed_json"));
    let r = request(
        s.addr,
        "POST",
        "/v2/auth/login",
        &[("Content-Type", "application/json")],
        b"\xff\xfe{}",
    );
    assert_eq!(r.error_code(), "malformed_json", "not UTF-8");
    let r = request(
        s.addr,
        "POST",
        "/v2/auth/login",
        &[("Content-Type", "application/json; charset=utf-8")],
        b"[1,2]",
    );
    assert_eq!((r.status, r.error_code().as_str()), (422, "invalid_field"));
    let big = format!("{{\"login\": \"{}\"}}", "a".repeat(70 * 1024));
    let r = request(
        s.addr,
        "POST",
        "/v2/auth/login",
        &[("Content-Type", "application/json")],
        big.as_bytes(),
    );
    assert_eq!((r.status, r.error_code().as_str()), (413, "body_too_large"));
    let r = request(
        s.addr,
        "POST",
        "/v2/auth/login",
        &[("Content-Type", "application/json")],
        b"{\"login\": \"a\"}",
    );
    assert_eq!((r.status, r.error_code().as_str()), (422, "invalid_field"));
    assert_eq!(r.json()["error"]["field"], "password");
}

#[test]
fn chunked_body_over_the_limit_is_refused() {
    let s = TestServer::start();
    let chunk = "a".repeat(16 * 1024);
    let mut raw = String::from(
        "POST /v2/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for _ in 0..5 {
        raw.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    raw.push_str("0\r\n\r\n");
    let r = send_raw(s.addr, raw.as_bytes());
    assert_eq!((r.status, r.error_code().as_str()), (413, "body_too_large"));
}

/// tiny_http once drained an unread body into one buffer of the declared length: this request
/// aborted the process. It is refused from its header, at once (the client is still sending),
/// the connection closes, and the server goes on.
#[test]
fn a_body_declared_larger_than_memory_is_refused_at_once() {
    let s = TestServer::start();
    let started = Instant::now();
    let r = send_raw(
        s.addr,
        b"POST /v2/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000000000\r\n\r\n{\"login\":",
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered and closed before the body was sent"
    );
    assert_eq!((r.status, r.error_code().as_str()), (413, "body_too_large"));
    assert!(
        r.header("X-Request-Id")
            .is_some_and(|id| id.starts_with("req_"))
    );
    let r = request(s.addr, "GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200, "the server goes on");
}

/// What a keep-alive connection answers to `first`, then to `then` sent after it: the status of
/// every response received until the server closes or goes quiet for 3 s (found anywhere in the
/// bytes: a response right after a JSON body shares its line).
pub fn statuses_after(addr: std::net::SocketAddr, first: &[u8], then: &[u8]) -> Vec<u16> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    // The server may answer and close before all of it is written.
    let _ = stream.write_all(first);
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // The first answer comes before the rest is sent.
    while !String::from_utf8_lossy(&answer).contains("\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let _ = stream.write_all(then);
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    answer
        .match_indices("HTTP/1.1 ")
        .filter_map(|(at, head)| {
            answer
                .get(at + head.len()..at + head.len() + 3)?
                .parse()
                .ok()
        })
        .collect()
}

const SMUGGLED: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

/// A body length well past what any route takes (`MAX_BODY`): such a body is never read, and
/// its connection closes after the 413.
const FAR_PAST_ANY_ROUTE: usize = 1024 * 1024;

/// A chunked body past the cap is read only up to the cap, and nothing drains the rest: it must
/// not be taken for a request on the same connection (request smuggling behind a proxy).
#[test]
fn the_rest_of_a_refused_chunked_body_is_never_a_request() {
    let s = TestServer::start();
    let mut first = format!(
        "POST /v2/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        gharart_id::http::routes::MAX_BODY + 1 + SMUGGLED.len()
    )
    .into_bytes();
    first.resize(first.len() + gharart_id::http::routes::MAX_BODY + 1, b'a');
    assert_eq!(statuses_after(s.addr, &first, SMUGGLED), [413]);
}

/// A body declared past what the server takes is not read at all: the bytes sent after its
/// head must not be taken for a request either.
#[test]
fn the_rest_of_an_undrained_body_is_never_a_request() {
    let s = TestServer::start();
    let head = format!(
        "POST /v2/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        4 * FAR_PAST_ANY_ROUTE
    );
    let mut first = head.into_bytes();
    first.resize(first.len() + FAR_PAST_ANY_ROUTE, b'a');
    assert_eq!(statuses_after(s.addr, &first, SMUGGLED), [413]);
}

/// Head lines and their number have limits (tiny_http once buffered any length): 431, then the
/// connection closes.
#[test]
fn an_endless_header_line_gets_431() {
    let s = TestServer::start();
    let mut raw = b"GET /healthz HTTP/1.1\r\nX-Long: ".to_vec();
    raw.resize(raw.len() + 64 * 1024, b'a');
    raw.extend_from_slice(b"\r\n\r\n");
    assert_eq!(statuses_after(s.addr, &raw, b""), [431]);
    let mut raw = b"GET /healthz HTTP/1.1\r\n".to_vec();
    for i in 0..200 {
        raw.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    assert_eq!(statuses_after(s.addr, &raw, b""), [431]);
}

/// An upgrade request carries no body to wait for: it is answered as the HTTP/1.1 request it
/// also is (no `101`), at once (tiny_http once read the raw connection as its body and waited out
/// the socket timeout).
#[test]
fn an_upgrade_request_is_answered_at_once() {
    let s = TestServer::start();
    let started = Instant::now();
    let r = send_raw(
        s.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered and closed without waiting for a body"
    );
    assert_eq!(r.status, 200);
}

#[test]
fn bearer_errors() {
    let s = TestServer::start();
    let session = s.ready_user("tokenized");
    let at = session["accessToken"].as_str().unwrap();
    let r = request(s.addr, "GET", "/v2/auth/me", &[], b"");
    assert_eq!((r.status, r.error_code().as_str()), (401, "invalid_token"));
    assert!(
        r.header("WWW-Authenticate")
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );

    let (head, rest) = at.split_once('.').unwrap();
    let none_header = base64_url(br#"{"alg":"none","typ":"at+jwt"}"#);
    let (claims, _sig) = rest.split_once('.').unwrap();
    let forged_claims = base64_url(br#"{"iss":"x","sub":"usr_x","aud":"x","exp":9999999999,"iat":0,"jti":"j","scope":"profile"}"#);
    let cases = [
        format!("{none_header}.{claims}."),
        format!("{head}.{forged_claims}.{}", rest.split_once('.').unwrap().1),
        format!("{}x", at),
        "gha_pat_nothing".to_owned(),
        "a.b.c".to_owned(),
    ];
    for token in &cases {
        let r = s.get_auth("/v2/auth/me", token);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (401, "invalid_token"),
            "{token}"
        );
    }
    let r = request(
        s.addr,
        "GET",
        "/v2/auth/me",
        &[("Authorization", &format!("bearer {at}"))],
        b"",
    );
    assert_eq!(r.status, 200, "the scheme is case-insensitive");
    let r = request(
        s.addr,
        "GET",
        "/v2/auth/me",
        &[("Authorization", &format!("Basic {at}"))],
        b"",
    );
    assert_eq!(r.status, 401);

    s.clock.advance(900 + 30);
    let r = s.get_auth("/v2/auth/me", at);
    assert_eq!(
        r.error_code(),
        "invalid_token",
        "expired after exp + 30 s leeway"
    );
    assert!(r.header("WWW-Authenticate").unwrap().contains("expired"));
}

#[test]
fn logout_takes_an_empty_body_but_not_a_bad_one() {
    let s = TestServer::start();
    let session = s.ready_user("quiet");
    let at = session["accessToken"].as_str().unwrap();
    let auth = format!("Bearer {at}");
    let r = request(
        s.addr,
        "POST",
        "/v2/auth/logout",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        b"{\"allSessions\": \"yes\"}",
    );
    assert_eq!((r.status, r.error_code().as_str()), (422, "invalid_field"));
    assert_eq!(
        s.get_auth("/v2/auth/me", at).status,
        200,
        "a refused logout changed nothing"
    );
    let r = request(
        s.addr,
        "POST",
        "/v2/auth/logout",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 204);
    assert_eq!(s.get_auth("/v2/auth/me", at).status, 401);
}

#[test]
fn garbage_never_gets_a_500() {
    let s = TestServer::start();
    let routes = [
        "/v2/auth/signup",
        "/v2/auth/signup/confirm",
        "/v2/auth/signup/resend",
        "/v2/auth/login",
        "/v2/auth/refresh",
        "/v2/auth/logout",
        "/v2/auth/password/forgot",
        "/v2/auth/password/forgot/confirm",
    ];
    let bodies: [&[u8]; 9] = [
        b"",
        b"null",
        b"{}",
        b"\"str\"",
        b"{\"email\": null}",
        b"{\"email\": {\"$gt\": \"\"}}",
        b"{\"code\": 123456, \"email\": \"a@b.co\"}",
        b"{\"handle\": \"\\u0000\", \"email\": \"a@b.co\", \"password\": \"\\ud800xxxxxxxx\"}",
        b"{\"login\": [], \"password\": true}",
    ];
    for route in routes {
        for body in bodies {
            let r = request(
                s.addr,
                "POST",
                route,
                &[("Content-Type", "application/json")],
                body,
            );
            assert!(
                r.status < 500,
                "{route} {:?} → {} {}",
                String::from_utf8_lossy(body),
                r.status,
                r.text()
            );
            if r.status >= 400 {
                r.error_code();
            }
        }
    }
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
