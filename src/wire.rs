//! What crosses the connection for one request: tiny_http's parsed request turned into rouille's,
//! and rouille's response written back. The response's head and body are put into one buffer and
//! handed to the connection in one write. tiny_http's own `respond` writes the head line by line
//! into a 1 KiB buffer and the body after it, so any response over 1 KiB (a token response is)
//! left in two TCP segments, and the client woke twice to read it.
//!
//! A body declared longer than any route takes is not read at all: the app refuses it from its
//! `Content-Length` (413), and the answer goes out before tiny_http drains what it can of the body
//! (at most 1 MiB, then the connection closes: see src/vendor/tiny_http/PATCHED.md).

use std::io::{Read, Write};
use std::net::SocketAddr;

use crate::app::MAX_BODY;
use crate::clock::{self, Timestamp};

/// The rouille request for `request`. Reads at most one byte past the largest body any route
/// takes: the route's own cap (413) sees the excess, and a flood of bytes is never buffered.
/// Reads nothing of a body declared longer than that (refused from the header), nor of an
/// upgrade request without a declared length (tiny_http hands over the raw connection then).
pub fn request_of(request: &mut tiny_http::Request) -> rouille::Request {
    let upgrade = request.headers().iter().any(|h| {
        h.field.equiv("Connection")
            && h.value
                .as_bytes()
                .windows(b"upgrade".len())
                .any(|w| w.eq_ignore_ascii_case(b"upgrade"))
    });
    let read_at_most = match request.body_length() {
        _ if refused_from_header(request) => 0,
        Some(n) => n,
        None if upgrade => 0,
        None => MAX_BODY + 1,
    };
    let mut body = Vec::new();
    // Not even asked for when refused: `as_reader` would send `100 Continue` to a client that
    // waits for it.
    if read_at_most > 0 {
        let _ = request
            .as_reader()
            .take(read_at_most as u64)
            .read_to_end(&mut body);
    }
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_owned(),
                h.value.as_str().to_owned(),
            )
        })
        .collect();
    let remote = request
        .remote_addr()
        .copied()
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    rouille::Request::fake_http_from(
        remote,
        request.method().as_str(),
        request.url(),
        headers,
        body,
    )
}

/// Writes `response` as the answer to `request`, dated `now`, in one write. A client that has
/// gone away is not an error worth reporting: there is no one left to tell.
pub fn respond(request: tiny_http::Request, response: rouille::Response, now: Timestamp) {
    if refused_from_header(&request) {
        respond_before_draining(request, response);
        return;
    }
    let head_only = *request.method() == tiny_http::Method::Head;
    let version = request.http_version().clone();
    let bytes = serialize(response, (version.0, version.1), head_only, now);
    let mut writer = request.into_writer();
    let _ = writer.write_all(&bytes).and_then(|()| writer.flush());
}

/// Whether the request declares a body longer than any route takes: it is refused from that
/// (413) and never read.
fn refused_from_header(request: &tiny_http::Request) -> bool {
    request.body_length().is_some_and(|n| n > MAX_BODY)
}

/// Answers through tiny_http's own `respond`, which writes the answer before the request (and
/// with it the drain of its unread body) is dropped. `into_writer` drops it first: a client that
/// waits for the answer before sending the rest of its body would wait in vain.
fn respond_before_draining(request: tiny_http::Request, response: rouille::Response) {
    let (data, size) = response.data.into_reader_and_size();
    let mut out = tiny_http::Response::empty(response.status_code).with_data(data, size);
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("Content-Length") || !is_token(name) || !is_field_value(value)
        {
            continue;
        }
        if let Ok(h) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            out.add_header(h);
        }
    }
    let _ = request.respond(out);
}

/// The response as it goes on the wire: status line, `Date`, the response's own headers (any
/// that could break the head, with a byte outside visible ASCII, are left out), `Content-Length`
/// from the body itself, and the body unless `head_only` or the status forbids one.
fn serialize(
    response: rouille::Response,
    version: (u8, u8),
    head_only: bool,
    now: Timestamp,
) -> Vec<u8> {
    let status = response.status_code;
    let (mut reader, size) = response.data.into_reader_and_size();
    let mut body = Vec::with_capacity(size.unwrap_or(0));
    // The body is in memory (rouille's bodies are buffers); a failing reader ends it early and
    // Content-Length below counts what was read.
    let _ = reader.read_to_end(&mut body);
    let bodiless = matches!(status, 100..=199 | 204 | 304);
    let mut out = Vec::with_capacity(256 + body.len());
    let reason = tiny_http::StatusCode(status).default_reason_phrase();
    let _ = write!(
        out,
        "HTTP/{}.{} {status} {reason}\r\nDate: {}\r\n",
        version.0,
        version.1,
        clock::http_date(now)
    );
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("Date") {
            continue;
        }
        if is_token(name) && is_field_value(value) {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    if !bodiless {
        let _ = write!(out, "Content-Length: {}\r\n", body.len());
    }
    out.extend_from_slice(b"\r\n");
    if !bodiless && !head_only {
        out.extend_from_slice(&body);
    }
    out
}

/// A header name: RFC 9110's `token`.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A header value this server will send: visible ASCII, spaces and tabs, nothing that could end
/// the line.
fn is_field_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(response: rouille::Response, head_only: bool) -> String {
        String::from_utf8(serialize(response, (1, 1), head_only, 1_795_909_922)).unwrap()
    }

    #[test]
    fn one_buffer_holds_status_headers_length_and_body() {
        let text = wire(
            rouille::Response::text("hello").with_unique_header("X-Request-Id", "req_1"),
            false,
        );
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\nDate: Sat, 28 Nov 2026 23:52:02 GMT\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nX-Request-Id: req_1\r\n"), "{text}");
        assert!(
            text.ends_with("\r\nContent-Length: 5\r\n\r\nhello"),
            "{text}"
        );
    }

    #[test]
    fn head_keeps_the_length_and_drops_the_body() {
        let text = wire(rouille::Response::text("hello"), true);
        assert!(text.ends_with("Content-Length: 5\r\n\r\n"), "{text}");
    }

    #[test]
    fn no_content_has_neither_length_nor_body() {
        let text = wire(
            rouille::Response::text("ignored").with_status_code(204),
            false,
        );
        assert!(text.starts_with("HTTP/1.1 204 No Content\r\n"), "{text}");
        assert!(!text.contains("Content-Length"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "{text}");
    }

    #[test]
    fn a_header_that_could_split_the_head_is_left_out() {
        let text = wire(
            rouille::Response::text("x")
                .with_unique_header("Location", "/a\r\nSet-Cookie: evil=1")
                .with_unique_header("X-Name", "caf\u{e9}")
                .with_unique_header("Bad Name", "v")
                .with_unique_header("X-Fine", "a\tb c"),
            false,
        );
        assert!(!text.contains("evil"), "{text}");
        assert!(!text.contains("X-Name"), "{text}");
        assert!(!text.contains("Bad Name"), "{text}");
        assert!(text.contains("\r\nX-Fine: a\tb c\r\n"), "{text}");
    }

    #[test]
    fn the_request_version_is_answered_in_kind() {
        let text =
            String::from_utf8(serialize(rouille::Response::text(""), (1, 0), false, 0)).unwrap();
        assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    }
}
