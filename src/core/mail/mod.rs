//! Mail: every message is written to the outbox in the transaction that creates it
//! (`domain::auth::codes`), and the courier thread delivers it after the commit: through the SMTP relay
//! of `--smtp-url` (`relay`), to `--mail-dir` and the demo mailbox (`sink`), or to the log. What
//! a message says is `message`; when to try again is `schedule`.

pub mod courier;
pub mod message;
pub mod relay;
pub mod schedule;
pub mod sink;

pub use courier::{Courier, Nudger};
pub use sink::{Delivered, Mailbox, Sink};
