//! What each message says and how it is framed: per kind (signup, invitation, resend, reset) a
//! subject and a plain-text body with the code as a standalone 6-digit number, the page that
//! takes it, until when it works and what to do if it expired; then the RFC 5322 message
//! (`From`, `To`, `Subject`, `Date`, `Message-ID`, `MIME-Version`, `text/plain; charset=utf-8`)
//! that the relay, the `.eml` files and the demo mailbox all get.

use std::time::{Duration, UNIX_EPOCH};

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, SinglePart};
use lettre::{Address, Message};

use crate::core::clock::rfc3339;
use crate::core::urlenc;
use crate::store::outbox::{Kind, OutboxRow};

/// Who sends, and where the pages are.
#[derive(Debug, Clone)]
pub struct Site {
    /// `--issuer`: the base of every link.
    pub issuer: String,
    /// The issuer's host, which names the service in the text.
    pub host: String,
    /// `--mail-from`.
    pub from: Mailbox,
}

impl Site {
    /// The site of `issuer`, sending as `mail_from` (default `gharart-id <no-reply@HOST>`).
    pub fn new(issuer: &str, host: &str, mail_from: Option<&str>) -> Result<Site, String> {
        let from = match mail_from {
            Some(text) => text.parse::<Mailbox>().map_err(|e| {
                format!("--mail-from: not an address such as `Team <no-reply@example.com>` ({e})")
            })?,
            None => {
                // An IP issuer (local runs) has no domain; lettre cannot read back an address
                // literal, so such a sender is `no-reply@localhost` (set --mail-from for a relay).
                let ip = host
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok();
                let domain = if ip { "localhost" } else { host };
                let address = Address::new("no-reply", domain).map_err(|e| {
                    format!("--issuer: its host makes no sender address ({e}); set --mail-from")
                })?;
                Mailbox::new(Some("gharart-id".into()), address)
            }
        };
        Ok(Site {
            issuer: issuer.trim_end_matches('/').to_owned(),
            host: host.to_owned(),
            from,
        })
    }
}

/// A message's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub text: String,
}

/// The subject and body of `row`, carrying `code`.
pub fn compose(row: &OutboxRow, code: &str, site: &Site) -> Letter {
    let host = &site.host;
    let handle = &row.handle;
    let email = urlenc::encode(&row.to_addr);
    let expires = row.expires_at.unwrap_or(row.ready_at);
    let until = format!(
        "{} UTC",
        rfc3339(expires).replace('T', " ").trim_end_matches('Z')
    );
    let lifetime = human_duration(expires - row.ready_at);
    let confirm = format!("{}/signup/confirm?email={email}", site.issuer);
    let reset = format!("{}/password/reset?email={email}", site.issuer);
    let code_block = format!("    {code}");
    match row.kind {
        Kind::Invitation => {
            let who = row.inviter.as_deref().map_or_else(
                || format!("The team at {host}"),
                |name| format!("{name} (via {host})"),
            );
            Letter {
                subject: format!("You are invited to {host}: your code is {code}"),
                text: format!(
                    "Hello {handle},\n\n{who} invited you to sign in\n\
                     at {host} as {handle}.\n\n\
                     Your invitation code:\n\n{code_block}\n\n\
                     Type it, and choose your password, on this page:\n\n    {confirm}\n\n\
                     The code works once, until {until} ({lifetime}).\n\
                     If it has expired, open the same page and choose \"Send a new\n\
                     code\", or ask whoever invited you to send the invitation again.\n\n\
                     If you did not expect this invitation, ignore this message:\n\
                     nothing happens without the code.\n"
                ),
            }
        }
        Kind::Signup => Letter {
            subject: format!("Your {host} confirmation code: {code}"),
            text: format!(
                "Hello {handle},\n\nConfirm your email for {host} with this code:\n\n{code_block}\n\n\
                 Type it on this page:\n\n    {confirm}\n\n\
                 The code works once, until {until} ({lifetime}).\n\
                 If it has expired, open the same page and choose \"Send a new\n\
                 code\".\n\n\
                 If you did not sign up at {host}, ignore this message.\n"
            ),
        },
        Kind::Resend => Letter {
            subject: format!("Your new {host} code: {code}"),
            text: format!(
                "Hello {handle},\n\nHere is a new code for your account {handle} at {host}:\n\n{code_block}\n\n\
                 Type it on this page:\n\n    {confirm}\n\n\
                 It works once, until {until} ({lifetime}).\n\
                 Codes sent earlier keep working until they expire. If this one\n\
                 expires too, open the same page and choose \"Send a new code\".\n\n\
                 If you did not ask for a code, ignore this message.\n"
            ),
        },
        Kind::Reset => Letter {
            subject: format!("Reset your {host} password: code {code}"),
            text: format!(
                "Hello {handle},\n\nSomeone (we hope you) asked to reset the password of {handle}\n\
                 at {host}. Your reset code:\n\n{code_block}\n\n\
                 Type it, with your new password, on this page:\n\n    {reset}\n\n\
                 It works once, until {until} ({lifetime}).\n\
                 Using it signs out every session of your account. If it has\n\
                 expired, ask for a new one on the \"Forgot your password?\" page.\n\n\
                 If you did not ask for this, ignore this message: your password\n\
                 stays as it is.\n"
            ),
        },
        Kind::Stored => Letter {
            subject: row.subject.clone(),
            text: row.body.clone(),
        },
    }
}

/// `72 hours`, `1 hour`, `30 minutes`.
fn human_duration(secs: i64) -> String {
    let (n, unit) = match secs.max(0) {
        s if s >= 86_400 && s % 86_400 == 0 && s / 86_400 > 3 => (s / 86_400, "day"),
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The RFC 5322 message of `letter` for `row`, dated when the row was ready to go.
pub fn frame(row: &OutboxRow, letter: &Letter, site: &Site) -> Result<Message, String> {
    let to = row
        .to_addr
        .parse::<lettre::Address>()
        .map_err(|e| format!("the recipient address cannot be used ({e})"))?;
    let domain = site.from.email.domain().to_owned();
    let date = UNIX_EPOCH + Duration::from_secs(u64::try_from(row.ready_at).unwrap_or(0));
    Message::builder()
        .from(site.from.clone())
        .to(Mailbox::new(
            (!row.handle.is_empty()).then(|| row.handle.clone()),
            to,
        ))
        .subject(letter.subject.clone())
        .date(date)
        .message_id(Some(format!("<{}@{domain}>", row.message_id)))
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(plain_body(&letter.text)),
        )
        .map_err(|e| format!("the message cannot be built ({e})"))
}

/// The text, always 7-bit on the wire so any relay takes it (8BITMIME is not everywhere): as it
/// reads when it is ASCII, so the code and the link stay whole in the raw message;
/// quoted-printable when it is not (a name such as Zoë) or when a line is too long.
fn plain_body(text: &str) -> Body {
    let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
    Body::new_with_encoding(text.clone(), ContentTransferEncoding::SevenBit).unwrap_or_else(|_| {
        Body::new_with_encoding(text.clone(), ContentTransferEncoding::QuotedPrintable)
            .unwrap_or_else(|_| Body::new(text))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::outbox::State;

    fn row(kind: Kind) -> OutboxRow {
        OutboxRow {
            id: 1,
            message_id: "msg_abc".into(),
            to_addr: "ana+elf@x.io".into(),
            kind,
            state: State::Pending,
            handle: "ana".into(),
            inviter: Some("Maya Chen".into()),
            sealed_code: None,
            subject: String::new(),
            body: String::new(),
            created_at: 1_795_887_920,
            ready_at: 1_795_887_920,
            next_at: 1_795_887_920,
            expires_at: Some(1_795_887_920 + 72 * 3600),
            attempts: 0,
            last_error: None,
            sent_at: None,
        }
    }

    fn site() -> Site {
        Site::new("https://id.gharart.com/", "id.gharart.com", None).unwrap()
    }

    #[test]
    fn each_kind_names_its_page_expiry_and_code() {
        for (kind, page) in [
            (
                Kind::Invitation,
                "https://id.gharart.com/signup/confirm?email=ana%2Belf%40x.io",
            ),
            (
                Kind::Signup,
                "https://id.gharart.com/signup/confirm?email=ana%2Belf%40x.io",
            ),
            (
                Kind::Resend,
                "https://id.gharart.com/signup/confirm?email=ana%2Belf%40x.io",
            ),
            (
                Kind::Reset,
                "https://id.gharart.com/password/reset?email=ana%2Belf%40x.io",
            ),
        ] {
            let l = compose(&row(kind), "012345", &site());
            assert!(l.text.contains("\n    012345\n"), "{kind:?}");
            assert!(l.text.contains(page), "{kind:?}: {}", l.text);
            assert!(
                l.text.contains("until 2026-12-01 17:45:20 UTC (72 hours)"),
                "{}",
                l.text
            );
            assert!(l.subject.contains("012345"));
        }
        let invite = compose(&row(Kind::Invitation), "012345", &site());
        assert!(
            invite
                .text
                .contains("Maya Chen (via id.gharart.com) invited you")
        );
    }

    #[test]
    fn the_frame_has_the_contract_headers() {
        let r = row(Kind::Signup);
        let msg = frame(&r, &compose(&r, "012345", &site()), &site()).unwrap();
        let text = String::from_utf8(msg.formatted()).unwrap();
        for header in [
            "From: gharart-id <no-reply@id.gharart.com>\r\n",
            "To: ana <ana+elf@x.io>\r\n",
            "Date: Sat, 28 Nov 2026 17:45:20 +0000\r\n",
            "Message-ID: <msg_abc@id.gharart.com>\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
        ] {
            assert!(text.contains(header), "{header}: {text}");
        }
        assert!(text.contains("Subject: Your id.gharart.com confirmation code: 012345\r\n"));
        assert!(
            text.contains("Content-Transfer-Encoding: 7bit\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\n    012345\r\n"));
        assert!(text.contains("https://id.gharart.com/signup/confirm?email=ana%2Belf%40x.io\r\n"));
    }

    #[test]
    fn a_name_past_ascii_goes_as_quoted_printable_so_any_relay_takes_it() {
        let mut r = row(Kind::Invitation);
        r.inviter = Some("Zoë Åberg".into());
        let msg = frame(&r, &compose(&r, "012345", &site()), &site()).unwrap();
        let raw = msg.formatted();
        assert!(raw.is_ascii(), "7-bit on the wire");
        let text = String::from_utf8(raw).unwrap();
        assert!(text.contains("Content-Transfer-Encoding: quoted-printable"));
        assert!(text.contains("\r\n    012345\r\n"), "the code stays whole");
    }

    #[test]
    fn an_ip_issuer_gets_a_literal_sender_and_a_bad_from_is_refused() {
        let s = Site::new("http://127.0.0.1:8080", "127.0.0.1", None).unwrap();
        assert_eq!(s.from.email.to_string(), "no-reply@localhost");
        let r = row(Kind::Signup);
        assert!(frame(&r, &compose(&r, "012345", &s), &s).is_ok());
        assert!(Site::new("http://x", "x", Some("not an address")).is_err());
        let s = Site::new("http://x", "x", Some("Growth team <growth@gharart.com>")).unwrap();
        assert_eq!(s.from.name.as_deref(), Some("Growth team"));
    }

    #[test]
    fn lifetimes_read_naturally() {
        assert_eq!(human_duration(3600), "1 hour");
        assert_eq!(human_duration(72 * 3600), "72 hours");
        assert_eq!(human_duration(30 * 86_400), "30 days");
        assert_eq!(human_duration(90), "1 minute");
    }
}
