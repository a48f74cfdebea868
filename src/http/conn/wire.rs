//! A response as it goes on the wire: rouille's response put into one buffer, head and body, for
//! one write (a response in two writes left in two TCP segments, and the client woke twice).

use std::io::{Read, Write};

use super::head::is_token;
use crate::core::clock::{self, Timestamp};

/// The response as it goes on the wire, in HTTP/1.`minor`: status line, `Date`, the response's
/// own headers (any that could break the head, with a byte outside visible ASCII, are left out),
/// `Connection` when it differs from the version's default, `Content-Length` from the body
/// itself, and the body unless `head_only` or the status forbids one.
pub fn serialize(
    response: rouille::Response,
    minor: u8,
    head_only: bool,
    keep_alive: bool,
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
    let _ = write!(
        out,
        "HTTP/1.{minor} {status} {}\r\nDate: {}\r\n",
        reason_phrase(status),
        clock::http_date(now)
    );
    match (keep_alive, minor) {
        (false, 1) => out.extend_from_slice(b"Connection: close\r\n"),
        (true, 0) => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        _ => {}
    }
    for (name, value) in &response.headers {
        if ["Content-Length", "Date", "Connection", "Transfer-Encoding"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
        {
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

/// The reason phrase of the statuses this server answers with (RFC 9110 §15).
fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
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
        String::from_utf8(serialize(response, 1, head_only, true, 1_795_909_922)).unwrap()
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
            String::from_utf8(serialize(rouille::Response::text(""), 0, false, false, 0)).unwrap();
        assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
        assert!(!text.contains("Connection"), "{text}");
    }

    #[test]
    fn a_closing_answer_says_so() {
        let text =
            String::from_utf8(serialize(rouille::Response::text(""), 1, false, false, 0)).unwrap();
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
    }
}
