//! The local places a message goes besides the relay: `.eml` files in `--mail-dir` (temp file,
//! then rename, so a reader never sees half a message), the demo's in-memory mailbox page, and,
//! when nothing else takes mail, the log (local development).

use std::collections::VecDeque;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::core::clock::Timestamp;

/// A message as the demo mailbox shows it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub at: Timestamp,
}

/// The demo's mailbox: the newest messages in memory, shown at `/demo/mailbox`.
#[derive(Default)]
pub struct Mailbox {
    messages: Mutex<VecDeque<Delivered>>,
}

/// How many messages the demo mailbox keeps.
const MAILBOX_SIZE: usize = 200;

impl Mailbox {
    fn push(&self, msg: Delivered) {
        let mut m = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        if m.len() == MAILBOX_SIZE {
            m.pop_back();
        }
        m.push_front(msg);
    }

    /// The messages, newest first.
    pub fn newest_first(&self) -> Vec<Delivered> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// The local sinks: `.eml` files in a directory, the demo mailbox, or both.
#[derive(Clone, Default)]
pub struct Sink {
    pub dir: Option<PathBuf>,
    pub mailbox: Option<Arc<Mailbox>>,
}

impl Sink {
    /// Whether any local sink takes mail.
    pub fn is_empty(&self) -> bool {
        self.dir.is_none() && self.mailbox.is_none()
    }

    /// Writes message `id` (its RFC 5322 bytes) as `NNNNNNNNNNNN-MESSAGEID.eml`; a second
    /// attempt of the same message replaces the file.
    pub fn write_eml(&self, id: i64, message_id: &str, formatted: &[u8]) -> std::io::Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let name = format!("{id:012}-{message_id}.eml");
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(formatted)?;
        file.sync_all()?;
        fs::rename(&tmp, dir.join(name))
    }

    /// Shows the message in the demo mailbox, if there is one.
    pub fn show(&self, msg: Delivered) {
        if let Some(mailbox) = &self.mailbox {
            mailbox.push(msg);
        }
    }
}

/// Writes a message to the log, for when no relay, directory or mailbox takes mail.
pub fn log(msg: &Delivered) {
    log::info!(target: "mail", "to {} | {} |\n{}", msg.to_addr, msg.subject, msg.body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eml_file_is_written_atomically_and_replaced_on_a_second_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink {
            dir: Some(dir.path().to_owned()),
            mailbox: None,
        };
        sink.write_eml(7, "msg_1", b"To: a@x.io\r\n\r\nfirst\r\n")
            .unwrap();
        sink.write_eml(7, "msg_1", b"To: a@x.io\r\n\r\n    123456\r\n")
            .unwrap();
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["000000000007-msg_1.eml".to_string()]);
        let text = fs::read_to_string(dir.path().join(&names[0])).unwrap();
        assert!(text.contains("\r\n    123456\r\n"));
    }

    #[test]
    fn the_mailbox_keeps_the_newest() {
        let m = Mailbox::default();
        for i in 0..(MAILBOX_SIZE as i64 + 5) {
            m.push(Delivered {
                to_addr: "a@x.io".into(),
                subject: i.to_string(),
                body: String::new(),
                at: i,
            });
        }
        let all = m.newest_first();
        assert_eq!(all.len(), MAILBOX_SIZE);
        assert_eq!(all[0].at, MAILBOX_SIZE as i64 + 4);
    }
}
