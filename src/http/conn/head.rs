//! The request head (request line and header fields) parsed strictly after RFC 9112, so that
//! this server and any proxy in front of it agree on where a request ends: only `HTTP/1.0` and
//! `HTTP/1.1`; `Content-Length` digits only and never two different values; no obs-fold; no
//! transfer coding but one final `chunked`; exactly one `Host` in HTTP/1.1. Every refusal ends the
//! connection, since after a framing error nothing on it can be trusted to start a request.

/// The longest line of a head, and the most header fields one may have.
pub const MAX_LINE: usize = 16 * 1024;
pub const MAX_FIELDS: usize = 128;
/// The largest head as a whole.
pub const MAX_HEAD: usize = 64 * 1024;

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Neither `Content-Length` nor `Transfer-Encoding`: a request without a body.
    Empty,
    Length(u64),
    Chunked,
}

impl Framing {
    /// Whether a body is read under this framing when at most `max` bytes of one are taken (a
    /// body declared longer is refused from its head and never read).
    pub fn reads_body(self, max: usize) -> bool {
        match self {
            Framing::Empty => false,
            Framing::Length(n) => n > 0 && n <= max as u64,
            Framing::Chunked => true,
        }
    }
}

/// A request head that parsed.
#[derive(Debug)]
pub struct Head {
    pub method: String,
    /// In origin form (`/path?query`); an absolute-form target is reduced to it. `*` stays.
    pub target: String,
    /// The minor version: 0 or 1 (of HTTP/1.x).
    pub minor: u8,
    pub headers: Vec<(String, String)>,
    pub framing: Framing,
    /// The client wants the connection kept after the response.
    pub keep_alive: bool,
    /// `Expect: 100-continue`: the client waits for a `100 Continue` before sending its body.
    pub expect_continue: bool,
}

use super::refusal::Refusal;

const fn bad(why: &'static str) -> Refusal {
    Refusal::Malformed(why)
}

/// Where the head that starts `buf` ends (the index just past its empty line), if it is all
/// there. Lines end in CRLF or a bare LF.
pub fn end_of_head(buf: &[u8]) -> Option<usize> {
    let mut scan = Scan::default();
    scan.advance(buf)
}

/// A head being scanned as it arrives: each call looks only at the bytes that came since the
/// last (a head sent a byte at a time is not scanned over again each time).
#[derive(Debug, Default)]
pub struct Scan {
    /// How much of the buffer has been looked at.
    scanned: usize,
    /// Where the line being received starts.
    line_start: usize,
}

impl Scan {
    /// The end of the head in `buf` (which holds what the last call saw, and more), if it came.
    pub fn advance(&mut self, buf: &[u8]) -> Option<usize> {
        while let Some(offset) = buf[self.scanned.min(buf.len())..]
            .iter()
            .position(|&b| b == b'\n')
        {
            let at = self.scanned + offset;
            let line = &buf[self.line_start..at];
            if line.is_empty() || line == b"\r" {
                return Some(at + 1);
            }
            self.line_start = at + 1;
            self.scanned = at + 1;
        }
        self.scanned = buf.len();
        None
    }

    /// Whether the head still arriving in `buf` is already past a limit.
    pub fn too_large(&self, buf: &[u8]) -> bool {
        buf.len() > MAX_HEAD || buf.len() - self.line_start.min(buf.len()) > MAX_LINE
    }
}

/// How many leading empty lines `buf` starts with, in bytes (RFC 9112 §2.2: a server ignores
/// empty lines before a request line, which some clients send after a body).
pub fn leading_empty_lines(buf: &[u8]) -> usize {
    let mut at = 0;
    loop {
        match (buf.get(at), buf.get(at + 1)) {
            (Some(b'\n'), _) => at += 1,
            (Some(b'\r'), Some(b'\n')) => at += 2,
            _ => return at,
        }
    }
}

/// Parses a complete head, `buf` up to [`end_of_head`].
pub fn parse(buf: &[u8]) -> Result<Head, Refusal> {
    if buf.len() > MAX_HEAD {
        return Err(Refusal::HeadTooLarge);
    }
    let mut lines = buf
        .strip_suffix(b"\n")
        .unwrap_or(buf)
        .split(|&b| b == b'\n')
        .map(checked_line);
    let request_line = lines.next().transpose()?.unwrap_or_default();
    let (method, target, minor) = request_line_parts(request_line)?;
    let mut headers = Vec::new();
    for line in lines {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        if headers.len() == MAX_FIELDS {
            return Err(Refusal::HeadTooLarge);
        }
        headers.push(field(line)?);
    }
    let framing = framing(&headers, minor)?;
    let hosts = headers.iter().filter(|(n, _)| is(n, "host")).count();
    if minor == 1 && hosts != 1 {
        return Err(bad("an HTTP/1.1 request needs exactly one Host header"));
    }
    let target = match absolute_form(target) {
        Some((authority, path)) => {
            for (name, value) in headers.iter_mut().filter(|(n, _)| is(n, "host")) {
                name.clear();
                name.push_str("Host");
                value.clear();
                value.push_str(authority);
            }
            path
        }
        None if target.starts_with('/') || (target == "*" && method == "OPTIONS") => {
            target.to_owned()
        }
        None => return Err(bad("the request target must be a path or an absolute URL")),
    };
    let keep_alive = !has_token(&headers, "connection", "close")
        && (minor == 1 || has_token(&headers, "connection", "keep-alive"));
    let expect_continue = minor == 1 && has_token(&headers, "expect", "100-continue");
    Ok(Head {
        method: method.to_owned(),
        target,
        minor,
        headers,
        framing,
        keep_alive,
        expect_continue,
    })
}

/// A line of the head without its line end. A CR anywhere but before the LF is refused.
fn checked_line(raw: &[u8]) -> Result<&[u8], Refusal> {
    let line = raw.strip_suffix(b"\r").unwrap_or(raw);
    if line.contains(&b'\r') {
        return Err(bad("a bare CR in the request head"));
    }
    if line.len() > MAX_LINE {
        return Err(Refusal::HeadTooLarge);
    }
    Ok(line)
}

/// `method SP request-target SP HTTP-version`: the method, the target and the minor version.
fn request_line_parts(line: &[u8]) -> Result<(&str, &str, u8), Refusal> {
    let text = std::str::from_utf8(line).map_err(|_| bad("the request line is not ASCII"))?;
    let mut parts = text.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the request line must be METHOD SP TARGET SP HTTP/1.1"));
    };
    if !is_token(method) {
        return Err(bad("the request method is not a token"));
    }
    if target.is_empty() || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("the request target holds a character it may not"));
    }
    match version.as_bytes() {
        b"HTTP/1.1" => Ok((method, target, 1)),
        b"HTTP/1.0" => Ok((method, target, 0)),
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Err(Refusal::Version)
        }
        _ => Err(bad("the request line's HTTP version is malformed")),
    }
}

/// One `name: value` field line. Obs-fold, a space before the colon, a name that is not a token
/// and a control character in the value are refused. Bytes past ASCII are taken as opaque text.
fn field(line: &[u8]) -> Result<(String, String), Refusal> {
    if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
        return Err(bad(
            "obsolete line folding (a header line that starts with a space)",
        ));
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(bad("a header line without a colon"))?;
    let name =
        std::str::from_utf8(&line[..colon]).map_err(|_| bad("a header name is not a token"))?;
    if !is_token(name) {
        return Err(bad(
            "a header name is not a token (no space before the colon)",
        ));
    }
    let value = trim_ows(&line[colon + 1..]);
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(bad("a header value holds a control character"));
    }
    let value = match std::str::from_utf8(value) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            log::debug!(
                "header {name}: bytes past ASCII that are not UTF-8, kept as replacement characters"
            );
            String::from_utf8_lossy(value).into_owned()
        }
    };
    Ok((name.to_owned(), value))
}

/// How the body is delimited, after RFC 9112 §6.
fn framing(headers: &[(String, String)], minor: u8) -> Result<Framing, Refusal> {
    let mut length: Option<u64> = None;
    for (_, value) in headers.iter().filter(|(n, _)| is(n, "content-length")) {
        for item in value.split(',').map(trim_sp_ht) {
            if item.is_empty() || item.len() > 18 || !item.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("Content-Length must be digits only"));
            }
            let n = item
                .parse::<u64>()
                .map_err(|_| bad("Content-Length must be digits only"))?;
            if length.is_some_and(|seen| seen != n) {
                return Err(bad("conflicting Content-Length values"));
            }
            length = Some(n);
        }
    }
    let codings = tokens(headers, "transfer-encoding");
    let has_transfer_encoding = headers.iter().any(|(n, _)| is(n, "transfer-encoding"));
    if !has_transfer_encoding {
        return Ok(length.map_or(Framing::Empty, Framing::Length));
    }
    if minor == 0 {
        return Err(bad("Transfer-Encoding is not HTTP/1.0"));
    }
    if length.is_some() {
        return Err(bad("both Content-Length and Transfer-Encoding"));
    }
    if codings.iter().any(|c| c != "chunked") {
        return Err(Refusal::UnsupportedCoding);
    }
    if codings.len() != 1 {
        return Err(bad(
            "chunked may be applied once, as the final transfer coding",
        ));
    }
    Ok(Framing::Chunked)
}

/// Whether an item of the comma-separated `name` fields is `token` (case-insensitively).
fn has_token(headers: &[(String, String)], name: &str, token: &str) -> bool {
    headers
        .iter()
        .filter(|(n, _)| is(n, name))
        .flat_map(|(_, v)| v.split(','))
        .any(|t| trim_sp_ht(t).eq_ignore_ascii_case(token))
}

/// The comma-separated items of every `name` field, lowercased.
fn tokens(headers: &[(String, String)], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(n, _)| is(n, name))
        .flat_map(|(_, v)| v.split(','))
        .map(|t| trim_sp_ht(t).to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// `http://authority/path?query` as its authority and origin-form target.
fn absolute_form(target: &str) -> Option<(&str, String)> {
    let scheme_end = target.find("://")?;
    let scheme = &target[..scheme_end];
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let rest = &target[scheme_end + 3..];
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.is_empty() {
        return None;
    }
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    Some((authority, path))
}

fn is(name: &str, wanted: &str) -> bool {
    name.eq_ignore_ascii_case(wanted)
}

/// A list item without the spaces and tabs around it (RFC 9110's OWS): only those, since
/// `str::trim` would also take Unicode spaces, and `Content-Length: \u{a0}5` is not digits.
fn trim_sp_ht(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

fn trim_ows(bytes: &[u8]) -> &[u8] {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !ows(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// RFC 9110's `token`.
pub fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Result<Head, Refusal> {
        let bytes = text.as_bytes();
        let end = end_of_head(bytes).expect("a complete head");
        parse(&bytes[..end])
    }

    fn status(text: &str) -> u16 {
        head(text).map_or_else(Refusal::status, |_| 200)
    }

    #[test]
    fn an_ordinary_request() {
        let h = head("GET /v2/auth/me?x=1 HTTP/1.1\r\nHost: a\r\nAccept:  */* \r\n\r\n").unwrap();
        assert_eq!(
            (h.method.as_str(), h.target.as_str(), h.minor),
            ("GET", "/v2/auth/me?x=1", 1)
        );
        assert_eq!(h.headers[1], ("Accept".into(), "*/*".into()));
        assert_eq!(h.framing, Framing::Empty);
        assert!(h.keep_alive && !h.expect_continue);
    }

    #[test]
    fn bare_line_feeds_end_lines_too() {
        let h = head("POST / HTTP/1.1\nHost: a\nContent-Length: 3\n\nabc").unwrap();
        assert_eq!(h.framing, Framing::Length(3));
    }

    #[test]
    fn versions_other_than_1_0_and_1_1_get_505() {
        assert_eq!(status("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
        assert_eq!(status("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505);
        assert_eq!(status("GET / HTTP/11\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status("GET /\r\n\r\n"), 400);
    }

    #[test]
    fn content_length_is_digits_only_and_never_two_values() {
        for bad in ["+25", "0x25", "25a", "-1", "", "2 5", "1234567890123456789"] {
            let text = format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(status(&text), 400, "{bad}");
        }
        let two = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 25\r\n\r\n";
        assert_eq!(status(two), 400);
        let same =
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5, 5\r\n\r\n";
        assert_eq!(head(same).unwrap().framing, Framing::Length(5));
    }

    #[test]
    fn transfer_codings() {
        let te = |v: &str| {
            status(&format!(
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {v}\r\n\r\n"
            ))
        };
        assert_eq!(te("chunked"), 200);
        assert_eq!(te("Chunked"), 200);
        assert_eq!(te("gzip, chunked"), 501);
        assert_eq!(te("chunked, chunked"), 400);
        assert_eq!(te("identity"), 501);
        let both =
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(status(both), 400);
        assert_eq!(
            status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            400
        );
    }

    #[test]
    fn obs_fold_bad_names_and_control_characters_are_refused() {
        assert_eq!(
            status("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n"),
            400
        );
        assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n"), 400);
        assert_eq!(
            status("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\x1b[2J\r\n\r\n"),
            400
        );
        assert_eq!(
            status("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\rX\r\n\r\n"),
            400
        );
    }

    #[test]
    fn bytes_past_ascii_are_kept_as_text() {
        let mut text = b"GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf".to_vec();
        text.extend_from_slice(&[
            0xc3, 0xa9, b'\r', b'\n', b'X', b'-', b'B', b':', 0xff, b'\r', b'\n', b'\r', b'\n',
        ]);
        let h = parse(&text).unwrap();
        assert_eq!(h.headers[1].1, "caf\u{e9}");
        assert_eq!(h.headers[2].1, "\u{fffd}");
    }

    #[test]
    fn http_1_1_needs_exactly_one_host() {
        assert_eq!(status("GET / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.0\r\n\r\n"), 200);
    }

    #[test]
    fn absolute_form_targets_become_paths_and_name_the_host() {
        let h =
            head("GET http://id.example:8080/healthz?x HTTP/1.1\r\nHost: other\r\n\r\n").unwrap();
        assert_eq!(h.target, "/healthz?x");
        assert_eq!(h.headers[0], ("Host".into(), "id.example:8080".into()));
        assert_eq!(
            head("GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n")
                .unwrap()
                .target,
            "/"
        );
        assert_eq!(status("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
        assert_eq!(status("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    }

    #[test]
    fn connection_and_expect() {
        assert!(
            !head("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(!head("GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive);
        assert!(
            head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        let h =
            head("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
        assert!(h.unwrap().expect_continue);
    }

    #[test]
    fn limits() {
        let many: String = (0..=MAX_FIELDS).map(|i| format!("X-{i}: v\r\n")).collect();
        assert_eq!(
            status(&format!("GET / HTTP/1.1\r\nHost: a\r\n{many}\r\n")),
            431
        );
        let mut scan = Scan::default();
        let long = vec![b'a'; MAX_LINE + 1];
        assert_eq!(scan.advance(&long), None);
        assert!(scan.too_large(&long));
        let mut scan = Scan::default();
        let fine = b"GET / HTTP/1.1\r\nHost: a\r\n";
        assert_eq!(scan.advance(fine), None);
        assert!(!scan.too_large(fine));
        assert_eq!(
            parse(&vec![b'a'; MAX_HEAD + 1]).unwrap_err(),
            Refusal::HeadTooLarge
        );
    }

    #[test]
    fn a_head_arriving_a_byte_at_a_time_is_found_where_it_ends() {
        let text = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET";
        let mut scan = Scan::default();
        let found: Vec<Option<usize>> =
            (1..=text.len()).map(|n| scan.advance(&text[..n])).collect();
        assert_eq!(found.iter().position(Option::is_some), Some(26));
        assert_eq!(found[26], Some(27));
        assert_eq!(end_of_head(b"GET / HTTP/1.1\nHost: a\n\n"), Some(24));
    }

    #[test]
    fn unicode_spaces_are_not_list_whitespace() {
        let cl = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \u{a0}5\r\n\r\n";
        assert_eq!(status(cl), 400);
        let te = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\u{3000}\r\n\r\n";
        assert_eq!(status(te), 501);
    }

    #[test]
    fn empty_lines_before_a_request_are_skipped() {
        assert_eq!(leading_empty_lines(b"\r\n\nGET"), 3);
        assert_eq!(leading_empty_lines(b"\r"), 0);
        assert_eq!(end_of_head(b"GET / HTTP/1.1\r\nHost: a\r\n"), None);
    }
}
