//! Issue 14, findings 5 and 7: framing after RFC 9112, so that no request hides in another's
//! body; header bytes past ASCII; HEAD wherever GET. Each smuggling attempt sends a second
//! request behind the first: exactly one answer, the refusal, may come back.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::contract::statuses_after;

const HIDDEN: &str = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

/// A report whose `Content-Length` (as `length` says it) would end before `HIDDEN`.
fn with_length(length: &str) -> Vec<u8> {
    format!(
        "POST /v2/support/report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{HIDDEN}"
    )
    .into_bytes()
}

#[test]
fn lax_framing_is_refused_and_nothing_hidden_runs() {
    let s = TestServer::start();
    for length in ["0x25", "25a", "+25", "-0", "2 5", "0, 34"] {
        assert_eq!(
            statuses_after(s.addr, &with_length(length), b""),
            [400],
            "Content-Length: {length}"
        );
    }
    // Each head, then the hidden request where its body would be.
    let cases: [(&str, String, u16); 9] = [
        ("conflicting duplicates", format!("POST /v2/support/report HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: {}\r\n\r\n", HIDDEN.len()), 400),
        ("obs-fold", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n Content-Length: 34\r\n\r\n".into(), 400),
        ("an unknown coding", "POST /v2/support/report HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".into(), 501),
        ("both framings", "POST /v2/support/report HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n".into(), 400),
        ("chunked in HTTP/1.0", "POST /v2/support/report HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400),
        ("no Host", "GET /healthz HTTP/1.1\r\n\r\n".into(), 400),
        ("two Hosts", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".into(), 400),
        ("a chunk size that is not hex", "POST /v2/support/report HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".into(), 400),
        ("a bare LF in a chunk extension", "POST /v2/support/report HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;\nxx\r\n45\r\n0\r\n\r\n".into(), 400),
    ];
    for (what, head, status) in cases {
        let raw = format!("{head}{HIDDEN}");
        assert_eq!(
            statuses_after(s.addr, raw.as_bytes(), b""),
            [status],
            "{what}"
        );
    }
}

#[test]
fn a_refusal_is_the_error_envelope_and_closes_the_connection() {
    let s = TestServer::start();
    let r = send_raw(s.addr, &with_length("+25"));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "malformed_request")
    );
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Content-Length")
    );
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(
        r.header("X-Request-Id")
            .is_some_and(|id| id.starts_with("req_"))
    );
    let r = send_raw(
        s.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: br\r\n\r\n",
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (501, "unsupported_transfer_coding")
    );
}

#[test]
fn chunked_bodies_and_pipelined_requests_are_framed_exactly() {
    let s = TestServer::start();
    let body = r#"{"summary":"Chunked report","details":"sent in two chunks"}"#;
    let (a, b) = body.split_at(20);
    let chunked = format!(
        "POST /v2/support/report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x};ext=1\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\nX-Trailer: t\r\n\r\n{HIDDEN}",
        a.len(),
        b.len()
    );
    assert_eq!(
        statuses_after(s.addr, chunked.as_bytes(), b""),
        [201, 200],
        "the report, then the request after it"
    );
    let pipelined = HIDDEN.repeat(3);
    assert_eq!(
        statuses_after(s.addr, pipelined.as_bytes(), b""),
        [200, 200, 200]
    );
}

#[test]
fn bare_line_feeds_absolute_targets_and_empty_lines_are_answered_at_once() {
    let s = TestServer::start();
    let started = Instant::now();
    let r = send_raw(
        s.addr,
        b"GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n",
    );
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no stall: {:?}",
        started.elapsed()
    );
    let r = send_raw(
        s.addr,
        b"GET http://id.gharart.test/healthz HTTP/1.1\r\nHost: id.gharart.test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200, "absolute form");
    let r = send_raw(
        s.addr,
        b"\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        r.status, 200,
        "empty lines before a request line are skipped"
    );
    let r = send_raw(s.addr, b"GET /healthz HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200, "HTTP/1.0 needs no Host, and closes");
}

#[test]
fn a_header_byte_past_ascii_is_answered() {
    let s = TestServer::start();
    for value in [&b"caf\xc3\xa9"[..], b"\xff\xfe"] {
        let mut raw =
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Campaign: ".to_vec();
        raw.extend_from_slice(value);
        raw.extend_from_slice(b"\r\n\r\n");
        assert_eq!(send_raw(s.addr, &raw).status, 200, "{value:?}");
    }
    let mut raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Campaign: a\x1b[2Jb\r\n\r\n".to_vec();
    raw.extend_from_slice(b"");
    let r = send_raw(s.addr, &raw);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "malformed_request"),
        "a control character"
    );
}

#[test]
fn head_works_wherever_get_does() {
    let s = TestServer::start();
    let token = s.access_token("tinsel");
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let head = format!(
        "HEAD /v2/auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    c.write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let second_at = 1 + answer[1..]
        .find("HTTP/1.1 200 OK\r\n")
        .expect("the request after HEAD is answered");
    let first = &answer[..second_at];
    let length: usize = first
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(length > 10, "HEAD tells the length of the GET body");
    assert!(
        first.ends_with("\r\n\r\n") && !first.contains("\"user\""),
        "and no body went with the HEAD answer: {answer}"
    );
    for (path, status) in [("/v2/auth/me", "401"), ("/signup", "200")] {
        let mut c = TcpStream::connect(s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(
            format!("HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{path}: {answer}"
        );
        assert!(
            answer.ends_with("\r\n\r\n"),
            "{path}: a head and no body: {answer}"
        );
    }
}
