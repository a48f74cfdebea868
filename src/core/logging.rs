//! The process's log: env_logger's filter and its usual line (`[time LEVEL target] message`),
//! written to stderr through an in-memory buffer instead of one `write` per line. The buffer goes
//! out when it holds 32 KiB, at once after a warning or an error, every 200 ms from a small
//! thread, and at exit ([`flush`]). The access log writes a line per request; a system call and
//! the stderr lock per line were a measurable share of a cheap request. A SIGKILL can lose the
//! last 200 ms of lines.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

const FLUSH_EVERY: Duration = Duration::from_millis(200);
const FLUSH_AT: usize = 32 * 1024;

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Set by a warning or an error, so that its line is not held back.
static URGENT: AtomicBool = AtomicBool::new(false);

/// Installs the logger (default filter `info`, `RUST_LOG` overrides) and its flushing thread.
pub fn init() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|out, record| {
            if record.level() <= log::Level::Warn {
                URGENT.store(true, Ordering::Relaxed);
            }
            writeln!(
                out,
                "[{} {:<5} {}] {}",
                out.timestamp_seconds(),
                record.level(),
                record.target(),
                record.args()
            )
        })
        .target(env_logger::Target::Pipe(Box::new(Buffered)))
        .init();
    let _ = std::thread::Builder::new()
        .name("log-flush".into())
        .spawn(|| {
            loop {
                std::thread::sleep(FLUSH_EVERY);
                flush();
            }
        });
}

/// Writes out whatever the buffer holds.
pub fn flush() {
    let mut buffer = BUFFER.lock().unwrap_or_else(PoisonError::into_inner);
    write_out(&mut buffer);
}

fn write_out(buffer: &mut Vec<u8>) {
    if buffer.is_empty() {
        return;
    }
    let mut stderr = std::io::stderr().lock();
    // Nowhere to report a failure to write the log; the lines are dropped rather than kept forever.
    let _ = stderr.write_all(buffer).and_then(|()| stderr.flush());
    buffer.clear();
}

/// env_logger's target: appends to [`BUFFER`]; its `flush` (called after every line) writes out
/// only when the buffer is full or the line was urgent.
struct Buffered;

impl Write for Buffered {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        BUFFER
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let mut buffer = BUFFER.lock().unwrap_or_else(PoisonError::into_inner);
        if URGENT.swap(false, Ordering::Relaxed) || buffer.len() >= FLUSH_AT {
            write_out(&mut buffer);
        }
        Ok(())
    }
}
