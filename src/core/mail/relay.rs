//! The SMTP relay of `--smtp-url`: the URL's forms (plain, `?tls=required` for STARTTLS,
//! `smtps://` for implicit TLS), AUTH from the URL or `--smtp-password-file`, a private CA from
//! `--smtp-ca-file`, and one pooled lettre transport (rustls, system roots) that reuses its
//! connection across a burst. A reply is sorted into sent, transient, permanent or "too fast".
//! The password never leaves this module: the URL prints without it.

use std::fmt;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;

use crate::core::urlenc;

/// How long one read or write to the relay may stall before the attempt counts as failed.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: no TLS.
    Plain,
    /// `smtp://…?tls=required`: STARTTLS, refused if the relay does not offer it.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// A parsed `--smtp-url`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub security: Security,
    pub user: Option<String>,
    password: Option<String>,
    pub host: String,
    pub port: u16,
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// The URL without its password, for the log.
impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.security == Security::Implicit {
            "smtps"
        } else {
            "smtp"
        };
        write!(f, "{scheme}://")?;
        if let Some(user) = &self.user {
            write!(f, "{}@", urlenc::encode(user))?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)?;
        } else {
            write!(f, "{}:{}", self.host, self.port)?;
        }
        if self.security == Security::StartTls {
            f.write_str("?tls=required")?;
        }
        Ok(())
    }
}

impl SmtpUrl {
    /// Parses `smtp://[USER[:PASSWORD]@]HOST[:PORT][?tls=required]` or `smtps://…`. The error
    /// never repeats the URL (it may hold a password).
    pub fn parse(text: &str) -> Result<SmtpUrl, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or("expected smtp://HOST[:PORT] or smtps://HOST[:PORT]")?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let security = match (scheme.to_ascii_lowercase().as_str(), query) {
            ("smtp", None) => Security::Plain,
            ("smtp", Some("tls=required")) => Security::StartTls,
            ("smtp", Some(_)) => return Err("the only query smtp:// takes is ?tls=required".into()),
            ("smtps", None) => Security::Implicit,
            ("smtps", Some(_)) => return Err("smtps:// takes no query (it is TLS already)".into()),
            _ => return Err("the scheme must be smtp or smtps".into()),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '#']) {
            return Err("an SMTP URL has no path".into());
        }
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let decode = |s: &str, what: &str| {
            urlenc::percent_decode(s)
                .map_err(|_| format!("the {what} is not valid percent-encoding"))
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((name, pass)) => {
                    (Some(decode(name, "user")?), Some(decode(pass, "password")?))
                }
                None => (Some(decode(u, "user")?), None),
            },
        };
        if user.as_deref() == Some("") {
            return Err("the user name is empty".into());
        }
        let (host, port) = split_host_port(hostport)?;
        let port = port.unwrap_or(match security {
            Security::Plain => 25,
            Security::StartTls => 587,
            Security::Implicit => 465,
        });
        Ok(SmtpUrl {
            security,
            user,
            password,
            host,
            port,
        })
    }
}

fn split_host_port(text: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(inner) = text.strip_prefix('[') {
        let (h, after) = inner
            .split_once(']')
            .ok_or("an IPv6 host needs its closing ]")?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or("expected :PORT after the IPv6 host")?,
            ),
        };
        (h, port)
    } else {
        match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':');
    if host.is_empty() || !host.chars().all(valid) {
        return Err("the host is missing or has characters a host name cannot have".into());
    }
    let port = port
        .map(|p| match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
            _ => Err("the port must be a number from 1 to 65535".to_string()),
        })
        .transpose()?;
    Ok((host.to_owned(), port))
}

/// What one attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The relay took the message (its reply).
    Sent(String),
    /// Try again later: refused, reset, timed out, TLS trouble, or a 4xx reply.
    Transient(String),
    /// A 421 or 451 that says we send too fast: the whole queue backs off.
    TooFast(String),
    /// A 5xx reply, or a message that cannot be sent at all.
    Permanent(String),
}

/// The relay, with the connection it keeps open between messages of a burst.
///
/// The SMTP exchange runs on lettre's `SmtpConnection` (its commands, reply parsing, STARTTLS
/// and AUTH) rather than its `SmtpTransport`: the transport writes a message's final
/// `CRLF.CRLF` in a write of its own on a socket with Nagle on, so each message waited for the
/// relay's delayed ACK, 40 ms (22 messages/s; lettre#1159, merged upstream, not released in
/// 0.11.23). Here the dot-stuffed message and its terminator go in one write, as smtplib does.
pub struct Relay {
    url: SmtpUrl,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    open: Option<(SmtpConnection, Instant)>,
}

/// A connection unused this long is closed rather than reused (relays drop idle sessions).
const IDLE: Duration = Duration::from_secs(30);

impl Relay {
    /// Checks the settings (no connection is made until the first message). `password` (from
    /// `--smtp-password-file`) overrides the URL's; `ca_pem` is trusted besides the system roots.
    pub fn new(
        url: SmtpUrl,
        password: Option<String>,
        ca_pem: Option<&[u8]>,
    ) -> Result<Relay, String> {
        let tls = if url.security == Security::Plain {
            if ca_pem.is_some() {
                return Err("--smtp-ca-file needs a TLS relay (?tls=required or smtps://)".into());
            }
            None
        } else {
            let mut params = TlsParameters::builder(url.host.clone());
            if let Some(pem) = ca_pem {
                let cert = Certificate::from_pem(pem)
                    .map_err(|e| format!("--smtp-ca-file: not a PEM certificate ({e})"))?;
                params = params.add_root_certificate(cert);
            }
            Some(
                params
                    .build_rustls()
                    .map_err(|e| format!("--smtp-url: TLS set-up failed ({e})"))?,
            )
        };
        let credentials = match &url.user {
            Some(user) => {
                let secret = password.or_else(|| url.password.clone()).ok_or(
                    "--smtp-url names a user but no password: add it to the URL or use --smtp-password-file",
                )?;
                Some(Credentials::new(user.clone(), secret))
            }
            None if password.is_some() => {
                return Err(
                    "--smtp-password-file needs a user in --smtp-url (smtp://USER@HOST)".into(),
                );
            }
            None => None,
        };
        Ok(Relay {
            url,
            tls,
            credentials,
            hello: ClientId::default(),
            open: None,
        })
    }

    /// The URL without its password.
    pub fn describe(&self) -> String {
        self.url.to_string()
    }

    fn connect(&self) -> Result<SmtpConnection, lettre::transport::smtp::Error> {
        let wrapper = match self.url.security {
            Security::Implicit => self.tls.as_ref(),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (self.url.host.as_str(), self.url.port),
            Some(TIMEOUT),
            &self.hello,
            wrapper,
            None,
        )?;
        if let (Security::StartTls, Some(tls)) = (self.url.security, &self.tls) {
            conn.starttls(tls, &self.hello)?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials)?;
        }
        Ok(conn)
    }

    /// Sends one formatted message (7-bit: see `message::frame`), on the open connection when
    /// there is one. A kept connection that the relay closed meanwhile (no reply, or a 421,
    /// before the message was handed over) is replaced once.
    pub fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Attempt {
        let kept = self
            .open
            .take()
            .filter(|(_, used)| used.elapsed() < IDLE)
            .map(|(conn, _)| conn);
        let reused = kept.is_some();
        let mut conn = match kept.map_or_else(|| self.connect(), Ok) {
            Ok(c) => c,
            Err(e) => return set_up_failed(&e),
        };
        let mut result = transaction(&mut conn, envelope, message);
        if reused && matches!(&result, Err(f) if f.stale_connection()) {
            conn.abort();
            conn = match self.connect() {
                Ok(c) => c,
                Err(e) => return set_up_failed(&e),
            };
            result = transaction(&mut conn, envelope, message);
        }
        match result {
            Ok(reply) => {
                self.open = Some((conn, Instant::now()));
                let text = reply.message().collect::<Vec<_>>().join(" ");
                Attempt::Sent(one_line(format!("{} {text}", reply.code()).trim_end()))
            }
            Err(f) => {
                conn.abort();
                classify(&f.error)
            }
        }
    }
}

/// A failed transaction, and whether the message had been handed over (after DATA) when it did.
struct Failure {
    error: lettre::transport::smtp::Error,
    handed_over: bool,
}

impl Failure {
    /// A kept connection the relay closed: no reply or a 421, before the message went.
    fn stale_connection(&self) -> bool {
        !self.handed_over && self.error.status().is_none_or(|c| u16::from(c) == 421)
    }
}

/// MAIL, RCPT, DATA and the message with its terminator in one write.
fn transaction(
    conn: &mut SmtpConnection,
    envelope: &Envelope,
    message: &[u8],
) -> Result<Response, Failure> {
    let before = |error| Failure {
        error,
        handed_over: false,
    };
    conn.command(Mail::new(envelope.from().cloned(), Vec::new()))
        .map_err(before)?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new()))
            .map_err(before)?;
    }
    conn.command(Data).map_err(before)?;
    conn.command(DataBlock(&dot_stuffed(message)))
        .map_err(|error| Failure {
            error,
            handed_over: true,
        })
}

/// The message as DATA carries it: a `.` starting a line doubled (RFC 5321 §4.5.2), CRLF line
/// ends, and the final `CRLF.CRLF`.
fn dot_stuffed(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let mut out = String::with_capacity(text.len() + 16);
    if text.starts_with('.') {
        out.push('.');
    }
    out.push_str(&text.replace("\r\n.", "\r\n.."));
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

/// A ready DATA block, written as it is.
struct DataBlock<'a>(&'a str);

impl fmt::Display for DataBlock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A failure to connect, greet, start TLS or authenticate is the relay's set-up (a wrong password's
/// 535, a 530 asking for STARTTLS), not the message's: transient, whatever its code, so fixing
/// the setting delivers the queue without `mail retry`.
fn set_up_failed(e: &lettre::transport::smtp::Error) -> Attempt {
    match classify(e) {
        Attempt::Permanent(text) => {
            Attempt::Transient(format!("setting up the relay session: {text}"))
        }
        other => other,
    }
}

/// Sorts a failed attempt: a too-fast 421/451, another 4xx or no reply at all (refused, reset,
/// timed out, TLS), or a 5xx.
fn classify(e: &lettre::transport::smtp::Error) -> Attempt {
    let text = one_line(&e.to_string());
    match e.status().map(u16::from) {
        Some(421 | 451) if says_too_fast(&text) => Attempt::TooFast(text),
        _ if e.is_permanent() => Attempt::Permanent(text),
        _ => Attempt::Transient(text),
    }
}

/// Whether a 421/451 reply's text says the sender goes too fast (rate limits, throttling).
pub fn says_too_fast(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "too fast",
        "too many",
        "rate limit",
        "rate-limit",
        "ratelimit",
        "sending rate",
        "throttl",
        "slow down",
        "limit exceeded",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// At most one line of 500 characters, so a reply cannot forge rows of `mail list`.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms_and_defaults() {
        let u = SmtpUrl::parse("smtp://relay.local").unwrap();
        assert_eq!(
            (u.security, u.port, u.user.as_deref()),
            (Security::Plain, 25, None)
        );
        let u = SmtpUrl::parse("smtp://ana%40x.io:p%3Ass@relay.local?tls=required").unwrap();
        assert_eq!((u.security, u.port), (Security::StartTls, 587));
        assert_eq!(u.user.as_deref(), Some("ana@x.io"));
        assert_eq!(u.password.as_deref(), Some("p:ss"));
        let u = SmtpUrl::parse("smtp://ana+relay%40x.io:p+ss@relay").unwrap();
        assert_eq!(
            (u.user.as_deref(), u.password.as_deref()),
            (Some("ana+relay@x.io"), Some("p+ss"))
        );
        let u = SmtpUrl::parse("smtps://[::1]:2465").unwrap();
        assert_eq!(u.to_string(), "smtps://[::1]:2465");
        assert_eq!(
            (u.security, u.host.as_str(), u.port),
            (Security::Implicit, "::1", 2465)
        );
        assert_eq!(SmtpUrl::parse("SMTPS://mx").unwrap().port, 465);
    }

    #[test]
    fn the_password_never_prints() {
        let u = SmtpUrl::parse("smtp://bot:hunter2@relay:2525?tls=required").unwrap();
        assert_eq!(u.to_string(), "smtp://bot@relay:2525?tls=required");
        assert!(!format!("{u:?}").contains("hunter2"));
        for bad in [
            "smtp://bot:hunter2@",
            "smtp://bot:hunter2@relay:0",
            "smtp://bot:hunter2@relay:x",
        ] {
            let e = SmtpUrl::parse(bad).unwrap_err();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn malformed_urls_are_refused() {
        for bad in [
            "relay.local",
            "http://relay",
            "smtp://",
            "smtp://relay:99999",
            "smtp://relay/path",
            "smtp://relay?tls=maybe",
            "smtps://relay?tls=required",
            "smtp://re lay",
            "smtp://@relay",
            "smtp://[::1",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn data_is_dot_stuffed_and_terminated_once() {
        assert_eq!(dot_stuffed(b"a\r\n.b\r\n"), "a\r\n..b\r\n.\r\n");
        assert_eq!(dot_stuffed(b".x"), "..x\r\n.\r\n");
    }

    #[test]
    fn too_fast_replies() {
        assert!(says_too_fast(
            "transient error (451): 4.7.1 Rate limit exceeded, slow down"
        ));
        assert!(says_too_fast("421 Too many messages, try later"));
        assert!(!says_too_fast("451 4.3.0 mailbox temporarily unavailable"));
        assert!(!says_too_fast(
            "451 4.3.0 the operator must regenerate the separate index"
        ));
    }
}
