//! Crash safety (issue 2): the binary killed with SIGKILL while signups run, then restarted on the
//! same file: every signup answered 201 is there and can be confirmed, and the file is intact.
//! Also the binary's command line: environment variables and exit codes.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_gharart-id");

/// Starts the binary on `dir` with its settings from the environment (as an operator would),
/// and returns it with the address it printed.
pub fn spawn_binary(dir: &Path) -> (Child, SocketAddr) {
    spawn_binary_with(dir, &[])
}

/// As [`spawn_binary`], with extra `serve` flags.
pub fn spawn_binary_with(dir: &Path, extra: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(extra)
        .env("GHARART_DB", dir.join("crash.db"))
        .env("GHARART_LISTEN", "127.0.0.1:0")
        .env("GHARART_MAIL_DIR", dir.join("mail"))
        .env("GHARART_PBKDF2_ITERATIONS", TEST_ITERATIONS.to_string())
        .env("GHARART_THROTTLE", "off")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (child, addr.parse().unwrap())
}

#[test]
fn sigkill_during_signups_loses_no_acknowledged_signup() {
    let dir = tempfile::tempdir().unwrap();
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    for round in 0..3 {
        let (mut child, addr) = spawn_binary(dir.path());
        let stop = Arc::new(AtomicBool::new(false));
        std::thread::scope(|scope| {
            for t in 0..4 {
                let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
                scope.spawn(move || {
                    for i in 0.. {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        let handle = format!("r{round}t{t}n{i}");
                        let body = json!({"handle": handle, "email": email_of(&handle), "password": PASSWORD});
                        let Ok(r) = try_post(addr, "/v2/auth/signup", &body, None) else {
                            return; // the server died mid-request: that signup was never acknowledged
                        };
                        if r.status == 201 {
                            acknowledged.lock().unwrap().push(handle);
                        }
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(400 + 150 * round));
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            stop.store(true, Ordering::SeqCst);
        });
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 20,
        "enough signups ran to mean something: {}",
        acknowledged.len()
    );

    let (mut child, addr) = spawn_binary(dir.path());
    let c = rusqlite::Connection::open(dir.path().join("crash.db")).unwrap();
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    for handle in &acknowledged {
        // Mail queued before the kill is delivered by the restarted server's outbox.
        let code = wait_for_codes(&dir.path().join("mail"), &email_of(handle), 1)
            .pop()
            .unwrap();
        let r = post(
            addr,
            "/v2/auth/signup/confirm",
            &json!({"email": email_of(handle), "code": code}),
            None,
        );
        assert_eq!(r.status, 200, "{handle}: {}", r.text());
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn command_line_exit_codes() {
    let usage = Command::new(BIN)
        .args(["serve", "--durability", "sometimes"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2), "a usage error exits 2");
    let dir = tempfile::tempdir().unwrap();
    let bad = Command::new(BIN)
        .args(["serve", "--access-ttl", "5x", "--db"])
        .arg(dir.path().join("x.db"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--access-ttl"),
        "the message names the flag"
    );
    let taken = Command::new(BIN)
        .args(["serve", "--db"])
        .arg(dir.path().join("x.db"))
        .env("GHARART_LISTEN", "256.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(
        taken.status.code(),
        Some(1),
        "an address that cannot be bound fails cleanly"
    );
    assert!(String::from_utf8_lossy(&taken.stderr).contains("--listen"));
}
