//! Mail delivery from the outbox table: each message is written to the log (the default, for
//! local development) or, with `--mail-dir`, as an RFC 5322 `.eml` file (temp file, then
//! rename), and in the demo also to the in-memory mailbox page. The background thread
//! (`background.rs`) delivers right after each commit and retries what failed, so request
//! latency never depends on mail and a crash loses no message.

use std::collections::VecDeque;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::clock::{Timestamp, rfc3339};
use crate::store::outbox::{self, OutboxRow};
use crate::store::{Db, StoreError};

/// The demo's mailbox: the newest messages in memory, shown at `/demo/mailbox`.
#[derive(Default)]
pub struct Mailbox {
    messages: Mutex<VecDeque<OutboxRow>>,
}

/// How many messages the demo mailbox keeps.
const MAILBOX_SIZE: usize = 200;

impl Mailbox {
    fn push(&self, msg: &OutboxRow) {
        let mut m = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        if m.len() == MAILBOX_SIZE {
            m.pop_back();
        }
        m.push_front(msg.clone());
    }

    /// The messages, newest first.
    pub fn newest_first(&self) -> Vec<OutboxRow> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// Where messages go: `.eml` files in a directory, the demo mailbox, or both; with neither, the log.
#[derive(Clone, Default)]
pub struct Sink {
    pub dir: Option<PathBuf>,
    pub mailbox: Option<Arc<Mailbox>>,
}

impl Sink {
    /// Delivers one message. `from_host` names the sender's domain.
    pub fn deliver(&self, msg: &OutboxRow, from_host: &str) -> std::io::Result<()> {
        if let Some(dir) = &self.dir {
            let name = format!("{:012}-{}.eml", msg.id, msg.message_id);
            let tmp = dir.join(format!(".{name}.tmp"));
            let mut file = fs::File::create(&tmp)?;
            file.write_all(render_eml(msg, from_host).as_bytes())?;
            file.sync_all()?;
            fs::rename(&tmp, dir.join(name))?;
        }
        if let Some(mailbox) = &self.mailbox {
            mailbox.push(msg);
        }
        if self.dir.is_none() && self.mailbox.is_none() {
            log::info!(target: "mail", "to {} | {} |\n{}", msg.to_addr, msg.subject, msg.body);
        }
        Ok(())
    }
}

/// The message as an RFC 5322 text with CRLF line ends.
fn render_eml(msg: &OutboxRow, from_host: &str) -> String {
    let body = msg.body.replace("\r\n", "\n").replace('\n', "\r\n");
    format!(
        "From: gharart-id <no-reply@{from_host}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{mid}@{from_host}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        to = msg.to_addr,
        subject = msg.subject,
        date = rfc5322_date(msg.created_at),
        mid = msg.message_id,
    )
}

/// `Sat, 28 Nov 2026 17:45:20 +0000` (RFC 5322 §3.3).
fn rfc5322_date(ts: Timestamp) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let iso = rfc3339(ts); // YYYY-MM-DDTHH:MM:SSZ
    let month = iso[5..7].parse::<usize>().unwrap_or(1).clamp(1, 12);
    let weekday = DAYS[ts.div_euclid(86_400).rem_euclid(7) as usize];
    format!(
        "{weekday}, {} {} {} {} +0000",
        &iso[8..10],
        MONTHS[month - 1],
        &iso[0..4],
        &iso[11..19]
    )
}

/// Delivers every pending message; failures stay queued for the next round.
pub fn flush(db: &Db, sink: &Sink, from_host: &str, now: Timestamp) -> Result<usize, StoreError> {
    let mut delivered = 0;
    loop {
        let batch = db.read(|c| outbox::pending(c, 64))?;
        if batch.is_empty() {
            return Ok(delivered);
        }
        let mut failed = 0;
        for msg in &batch {
            match sink.deliver(msg, from_host) {
                Ok(()) => {
                    db.write(|tx| outbox::mark_sent(tx, msg.id, now))?;
                    delivered += 1;
                }
                Err(e) => {
                    log::warn!("mail to {} not delivered yet: {e}", msg.to_addr);
                    db.write(|tx| outbox::mark_failed(tx, msg.id, &e.to_string()))?;
                    failed += 1;
                }
            }
        }
        if failed > 0 {
            return Ok(delivered);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_format() {
        assert_eq!(
            rfc5322_date(1_795_887_920),
            "Sat, 28 Nov 2026 17:45:20 +0000"
        );
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
    }

    #[test]
    fn eml_file_is_written_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let msg = OutboxRow {
            id: 7,
            message_id: "msg_1".into(),
            to_addr: "a@x.io".into(),
            subject: "Your code".into(),
            body: "Code:\n\n    123456\n".into(),
            created_at: 0,
        };
        Sink {
            dir: Some(dir.path().to_owned()),
            mailbox: None,
        }
        .deliver(&msg, "id.test")
        .unwrap();
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["000000000007-msg_1.eml".to_string()]);
        let text = fs::read_to_string(dir.path().join(&names[0])).unwrap();
        assert!(text.contains("To: <a@x.io>\r\n"));
        assert!(text.contains("\r\n    123456\r\n"));
    }
}
