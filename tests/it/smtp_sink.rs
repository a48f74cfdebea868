//! The mail tests' real SMTP server: `tests/smtp/sink.py` (Python's aiosmtpd) started on a free
//! loopback port, with optional STARTTLS or implicit TLS (a test CA from trustme) and AUTH, a
//! reply chosen on demand, and what it received read back as files and events. A missing
//! aiosmtpd fails the test with the command that installs it; it never skips.

use std::io::BufRead;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::*;

/// A running aiosmtpd on a loopback port.
pub struct SmtpSink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpSink {
    pub fn start(args: &[&str]) -> SmtpSink {
        SmtpSink::start_on(0, args)
    }

    /// A sink on `port` (0: a free one), with sink.py's flags.
    pub fn start_on(port: u16, args: &[&str]) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--dir")
            .arg(dir.path())
            .args(["--port", &port.to_string()])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs tests/smtp/sink.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "the SMTP sink did not start ({line:?}): the mail tests need a real SMTP server; \
                     install it with `python3 -m pip install aiosmtpd trustme` (.ci/run does)"
                )
            });
        SmtpSink { port, dir, child }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Makes the sink answer `reply` at RCPT (`accept` for 250).
    pub fn set_mode(&self, reply: &str) {
        std::fs::write(self.dir.path().join("mode"), reply).unwrap();
    }

    /// The messages received, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Events of `kind` (`ehlo`, `rcpt`, `mail`, `auth`), oldest first.
    pub fn events(&self, kind: &str) -> Vec<Value> {
        let text =
            std::fs::read_to_string(self.dir.path().join("events.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["event"] == kind)
            .collect()
    }

    /// Waits up to `secs` for at least `n` messages.
    pub fn wait_for(&self, n: usize, secs: u64) -> Vec<String> {
        assert!(
            eventually(secs, || self.messages().len() >= n),
            "expected {n} messages at the sink, got {}",
            self.messages().len()
        );
        self.messages()
    }
}

/// A loopback port with nothing listening on it (a relay that is down).
pub fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value of header `name` in a raw message.
pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

pub fn body(message: &str) -> &str {
    message.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// The standalone 6-digit code of a message.
pub fn code_of(message: &str) -> String {
    body(message)
        .split_whitespace()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {message}"))
        .to_owned()
}

pub fn to_of(message: &str) -> String {
    let to = header(message, "To").unwrap();
    to.rsplit_once('<')
        .map_or(to, |(_, a)| a.trim_end_matches('>'))
        .to_owned()
}

pub fn healthz(s: &TestServer) -> Value {
    let r = request(s.addr, "GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

pub fn metric(s: &TestServer, line_start: &str) -> f64 {
    let text = request(s.addr, "GET", "/metrics", &[], b"").text();
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in the metrics"))
}

pub fn mail_rows(s: &TestServer, state: &str) -> Vec<String> {
    cli_ok(s, &["mail", "list", "--state", state])
        .lines()
        .map(str::to_owned)
        .collect()
}

pub fn onboarding_of(s: &TestServer, handle: &str) -> String {
    let list = cli_ok(s, &["users", "list"]);
    let line = list
        .lines()
        .find(|l| l.split_whitespace().next() == Some(handle))
        .unwrap_or_else(|| panic!("{handle} not in {list}"));
    line.split_whitespace().nth(2).unwrap().to_owned()
}

pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    assert!(eventually(secs, &mut f), "{what}");
}
