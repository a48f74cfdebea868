//! The SMTP relay of `--smtp-url`: the URL's forms (plain, `?tls=required` for STARTTLS,
//! `smtps://` for implicit TLS), AUTH from the URL or `--smtp-password-file`, a private CA from
//! `--smtp-ca-file`, and one pooled lettre transport (rustls, system roots) that reuses its
//! connection across a burst. A reply is sorted into sent, transient, permanent or "too fast".
//! The password never leaves this module: the URL prints without it.

use std::fmt;
use std::time::Duration;

use lettre::Transport;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::{PoolConfig, SmtpTransport};

use crate::urlenc;

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
        write!(f, "{}:{}", self.host, self.port)?;
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
            urlenc::decode(s).map_err(|_| format!("the {what} is not valid percent-encoding"))
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

    /// Whether the URL carries a password.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
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

/// The relay, with its pooled connection.
pub struct Relay {
    transport: SmtpTransport,
    url: SmtpUrl,
}

impl Relay {
    /// Builds the transport (no connection is made until the first message). `password`
    /// (from `--smtp-password-file`) overrides the URL's; `ca_pem` is trusted besides the
    /// system roots.
    pub fn new(
        url: SmtpUrl,
        password: Option<String>,
        ca_pem: Option<&[u8]>,
    ) -> Result<Relay, String> {
        let mut builder = SmtpTransport::builder_dangerous(url.host.clone())
            .port(url.port)
            .timeout(Some(TIMEOUT))
            .pool_config(
                PoolConfig::new()
                    .max_size(2)
                    .idle_timeout(Duration::from_secs(30)),
            );
        if url.security != Security::Plain {
            let mut params = TlsParameters::builder(url.host.clone());
            if let Some(pem) = ca_pem {
                let cert = Certificate::from_pem(pem)
                    .map_err(|e| format!("--smtp-ca-file: not a PEM certificate ({e})"))?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build_rustls()
                .map_err(|e| format!("--smtp-url: TLS set-up failed ({e})"))?;
            builder = builder.tls(match url.security {
                Security::Implicit => Tls::Wrapper(params),
                _ => Tls::Required(params),
            });
        } else if ca_pem.is_some() {
            return Err("--smtp-ca-file needs a TLS relay (?tls=required or smtps://)".into());
        }
        if let Some(user) = &url.user {
            let secret = password.or_else(|| url.password.clone()).ok_or(
                "--smtp-url names a user but no password: add it to the URL or use --smtp-password-file",
            )?;
            builder = builder.credentials(Credentials::new(user.clone(), secret));
        } else if password.is_some() {
            return Err(
                "--smtp-password-file needs a user in --smtp-url (smtp://USER@HOST)".into(),
            );
        }
        Ok(Relay {
            transport: builder.build(),
            url,
        })
    }

    /// The URL without its password.
    pub fn describe(&self) -> String {
        self.url.to_string()
    }

    /// Sends one formatted message.
    pub fn send(&self, envelope: &Envelope, message: &[u8]) -> Attempt {
        match self.transport.send_raw(envelope, message) {
            Ok(reply) => {
                let text = reply.message().collect::<Vec<_>>().join(" ");
                Attempt::Sent(format!("{} {}", reply.code(), text).trim_end().to_owned())
            }
            Err(e) => {
                let text = one_line(&e.to_string());
                match e.status().map(u16::from) {
                    Some(421 | 451) if says_too_fast(&text) => Attempt::TooFast(text),
                    _ if e.is_permanent() => Attempt::Permanent(text),
                    _ => Attempt::Transient(text),
                }
            }
        }
    }
}

/// Whether a 421/451 reply's text says the sender goes too fast (rate limits, throttling).
pub fn says_too_fast(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "too fast",
        "too many",
        "rate",
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
        let u = SmtpUrl::parse("smtps://[::1]:2465").unwrap();
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
    fn too_fast_replies() {
        assert!(says_too_fast(
            "transient error (451): 4.7.1 Rate limit exceeded, slow down"
        ));
        assert!(says_too_fast("421 Too many messages, try later"));
        assert!(!says_too_fast("451 4.3.0 mailbox temporarily unavailable"));
    }
}
