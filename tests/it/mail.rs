//! Mail delivery through a real SMTP server (Python's aiosmtpd, `tests/smtp/sink.py`): each
//! message kind and its headers, AUTH, STARTTLS and implicit TLS with a test CA, a relay that is
//! down then up, 550 then `mail retry`, expiry while the relay is down, `--smtp-rate` measured at
//! the sink, a too-fast reply pausing the queue, `--send-after`, a relay that stalls, the
//! operator's commands, and a SIGKILL in the middle of a burst.

use std::io::BufRead;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

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
            .expect("python3 runs tests/smtp/sink.py (.ci/run installs aiosmtpd and trustme)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| {
                panic!("the SMTP sink did not start ({line:?}): is aiosmtpd installed? .ci/run installs it")
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
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} messages at the sink, got {}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A loopback port with nothing listening on it (a relay that is down).
fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value of header `name` in a raw message.
fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn body(message: &str) -> &str {
    message.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// The standalone 6-digit code of a message.
fn code_of(message: &str) -> String {
    body(message)
        .split_whitespace()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {message}"))
        .to_owned()
}

fn to_of(message: &str) -> String {
    let to = header(message, "To").unwrap();
    to.rsplit_once('<')
        .map_or(to, |(_, a)| a.trim_end_matches('>'))
        .to_owned()
}

fn healthz(s: &TestServer) -> Value {
    let r = request(s.addr, "GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn metric(s: &TestServer, line_start: &str) -> f64 {
    let text = request(s.addr, "GET", "/metrics", &[], b"").text();
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in the metrics"))
}

fn mail_rows(s: &TestServer, state: &str) -> Vec<String> {
    cli_ok(s, &["mail", "list", "--state", state])
        .lines()
        .map(str::to_owned)
        .collect()
}

fn onboarding_of(s: &TestServer, handle: &str) -> String {
    let list = cli_ok(s, &["users", "list"]);
    let line = list
        .lines()
        .find(|l| l.split_whitespace().next() == Some(handle))
        .unwrap_or_else(|| panic!("{handle} not in {list}"));
    line.split_whitespace().nth(2).unwrap().to_owned()
}

fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    assert!(eventually(secs, &mut f), "{what}");
}

#[test]
fn every_kind_of_message_arrives_with_the_contract_headers_and_a_working_code() {
    let sink = SmtpSink::start(&[]);
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let s = TestServer::start_now(&["--smtp-url", &url, "--issuer", "http://id.test:8080"]);
    assert_eq!(s.signup("holly").status, 201);
    let signup = sink.wait_for(1, 10).remove(0);
    for h in ["From", "To", "Subject", "Date", "Message-ID"] {
        assert!(header(&signup, h).is_some(), "{h} in {signup}");
    }
    assert_eq!(header(&signup, "MIME-Version"), Some("1.0"));
    assert_eq!(
        header(&signup, "Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        header(&signup, "From"),
        Some("gharart-id <no-reply@id.test>")
    );
    assert_eq!(to_of(&signup), email_of("holly"));
    let link = format!(
        "http://id.test:8080/signup/confirm?email={}",
        email_of("holly").replace('@', "%40")
    );
    assert!(body(&signup).contains(&link), "{signup}");
    assert!(body(&signup).contains("UTC (24 hours)"), "{signup}");
    // The same message went to --mail-dir too.
    assert_eq!(
        codes_in(&s.mail_dir(), &email_of("holly")),
        vec![code_of(&signup)]
    );

    let resend = s.post(
        "/v2/auth/signup/resend",
        json!({"email": email_of("holly")}),
    );
    assert_eq!(resend.status, 202, "{}", resend.text());
    let again = sink.wait_for(2, 10).remove(1);
    assert!(
        header(&again, "Subject")
            .unwrap()
            .starts_with("Your new id.test code")
    );
    assert_ne!(header(&again, "Message-ID"), header(&signup, "Message-ID"));
    let confirm = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": email_of("holly"), "code": code_of(&again)}),
    );
    assert_eq!(confirm.status, 200, "{}", confirm.text());

    let forgot = s.post(
        "/v2/auth/password/forgot",
        json!({"email": email_of("holly")}),
    );
    assert_eq!(forgot.status, 202);
    let reset = sink.wait_for(3, 10).remove(2);
    assert!(body(&reset).contains("http://id.test:8080/password/reset?email="));
    assert!(body(&reset).contains("UTC (1 hour)"));

    let csv = s.dir.path().join("crew.csv");
    std::fs::write(&csv, "handle,email\nelfie,elfie@gharart.com\n").unwrap();
    cli_ok(
        &s,
        &[
            "users",
            "import",
            csv.to_str().unwrap(),
            "--invited-by",
            "Maya Chen",
        ],
    );
    let invite = sink.wait_for(4, 10).remove(3);
    assert_eq!(to_of(&invite), "elfie@gharart.com");
    assert!(
        body(&invite).contains("Maya Chen (via id.test) invited you"),
        "{invite}"
    );
    assert!(body(&invite).contains("UTC (72 hours)"));
    let confirm = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": "elfie@gharart.com", "code": code_of(&invite), "password": PASSWORD}),
    );
    assert_eq!(confirm.status, 200, "{}", confirm.text());
    assert_eq!(mail_rows(&s, "sent").len(), 4);
    // Python's email package reads every message as the contract says.
    for (parsed, raw) in sink.events("mail").iter().zip(sink.messages()) {
        assert_eq!(parsed["content_type"], "text/plain");
        assert_eq!(parsed["charset"], "utf-8");
        assert_eq!(parsed["date_ok"], true);
        assert_eq!(parsed["defects"], json!([]));
        assert_eq!(parsed["subject"].as_str(), header(&raw, "Subject"));
        let text = parsed["text"].as_str().unwrap().replace("\r\n", "\n");
        assert!(
            text.contains(&format!("\n    {}\n", code_of(&raw))),
            "{text}"
        );
        assert!(text.contains("http://id.test:8080/"), "{text}");
    }
    assert_eq!(
        metric(&s, "gharart_mail_deliveries_total{result=\"sent\"}"),
        4.0
    );
    assert!(mail_rows(&s, "sent")[0].contains("250 2.0.0 queued as"));
}

#[test]
fn starttls_with_auth_from_a_password_file_and_a_private_ca() {
    let sink = SmtpSink::start(&["--tls", "starttls", "--auth", "bot:s3cret-relay"]);
    let password = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(password.path(), "s3cret-relay\n").unwrap();
    let url = format!("smtp://bot@localhost:{}?tls=required", sink.port);
    let s = TestServer::start_now(&[
        "--smtp-url",
        &url,
        "--smtp-password-file",
        password.path().to_str().unwrap(),
        "--smtp-ca-file",
        sink.ca().to_str().unwrap(),
    ]);
    assert_eq!(s.signup("tls").status, 201);
    sink.wait_for(1, 10);
    let mail = sink.events("mail");
    assert_eq!(
        (mail[0]["tls"].clone(), mail[0]["auth"].clone()),
        (json!(true), json!(true))
    );
    assert!(sink.events("auth").iter().all(|a| a["ok"] == true));
}

#[test]
fn implicit_tls_and_an_unknown_ca_is_refused_until_trusted() {
    let sink = SmtpSink::start(&["--tls", "implicit"]);
    let url = format!("smtps://localhost:{}", sink.port);
    let mut s = TestServer::start_now(&["--smtp-url", &url]);
    assert_eq!(s.signup("wrap").status, 201);
    wait_until(10, "a refused certificate is a transient failure", || {
        mail_rows(&s, "pending").iter().any(|r| {
            let r = r.to_lowercase();
            r.contains("tls") || r.contains("certificate")
        })
    });
    assert!(
        sink.messages().is_empty(),
        "nothing sent to an untrusted relay"
    );
    s.restart_with(&[
        "--smtp-url",
        &url,
        "--smtp-ca-file",
        sink.ca().to_str().unwrap(),
    ]);
    s.clock.advance(6);
    let got = sink.wait_for(1, 10);
    assert_eq!(to_of(&got[0]), email_of("wrap"));
}

#[test]
fn a_relay_that_is_down_then_up_gets_the_message_on_the_retry_schedule() {
    let port = dead_port();
    let s = TestServer::start_now(&["--smtp-url", &format!("smtp://127.0.0.1:{port}")]);
    let started = Instant::now();
    assert_eq!(
        s.signup("patient").status,
        201,
        "signup answers with the relay down"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    wait_until(10, "the first attempt failed and is pending", || {
        mail_rows(&s, "pending")
            .iter()
            .any(|r| r.to_lowercase().contains("connection"))
    });
    let health = healthz(&s);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["mail"]["pending"], 1);
    assert_eq!(metric(&s, "gharart_mail_queue{state=\"pending\"}"), 1.0);
    let sink = SmtpSink::start_on(port, &[]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        sink.messages().is_empty(),
        "the next try waits for its time"
    );
    s.clock.advance(5);
    let got = sink.wait_for(1, 10);
    assert_eq!(to_of(&got[0]), email_of("patient"));
    wait_until(5, "the row is sent", || mail_rows(&s, "sent").len() == 1);
    // The code waited in the outbox for a while, sealed: no byte of the database or its WAL
    // holds it in plain text.
    let code = code_of(&got[0]);
    for file in ["id.db", "id.db-wal"] {
        let bytes = std::fs::read(s.dir.path().join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(6).any(|w| w == code.as_bytes()),
            "{file} holds the code in plain text"
        );
    }
    assert!(metric(&s, "gharart_mail_deliveries_total{result=\"retry\"}") >= 1.0);
    assert_eq!(healthz(&s)["mail"]["pending"], 0);
}

#[test]
fn a_550_fails_for_good_shows_in_users_list_and_mail_retry_delivers_after_the_fix() {
    let sink = SmtpSink::start(&[]);
    sink.set_mode("550 5.1.1 <typo@gharart.com>: no such user");
    let s = TestServer::start_now(&["--smtp-url", &format!("smtp://127.0.0.1:{}", sink.port)]);
    cli_ok(&s, &["users", "add", "typo", "typo@gharart.com"]);
    wait_until(10, "the 550 marks the message failed", || {
        mail_rows(&s, "failed").len() == 1
    });
    assert!(
        mail_rows(&s, "failed")[0].contains("550"),
        "the relay's word is shown"
    );
    assert_eq!(onboarding_of(&s, "typo"), "delivery_failed");
    assert_eq!(metric(&s, "gharart_mail_queue{state=\"failed\"}"), 1.0);
    assert_eq!(
        metric(&s, "gharart_mail_deliveries_total{result=\"failed\"}"),
        1.0
    );
    s.clock.advance(3600);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        sink.events("rcpt").len(),
        1,
        "a permanent failure is not retried"
    );

    sink.set_mode("accept");
    let out = cli_ok(&s, &["mail", "retry", "--failed"]);
    assert!(out.contains("1 queued again"), "{out}");
    let got = sink.wait_for(1, 10);
    assert_eq!(to_of(&got[0]), "typo@gharart.com");
    assert_eq!(onboarding_of(&s, "typo"), "invited");
    let again = cli(&s, &["mail", "retry", "--failed"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 queued again"));
}

#[test]
fn a_code_that_expires_while_the_relay_is_down_is_dropped_and_resend_twice_sends_once() {
    let port = dead_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let s = TestServer::start_now(&["--smtp-url", &url]);
    cli_ok(
        &s,
        &[
            "users",
            "add",
            "late",
            "late@gharart.com",
            "--invite-code-ttl",
            "60s",
        ],
    );
    wait_until(10, "tried once", || {
        mail_rows(&s, "pending")
            .iter()
            .any(|r| r.to_lowercase().contains("connection"))
    });
    s.clock.advance(61);
    wait_until(10, "dropped as expired", || {
        mail_rows(&s, "expired").len() == 1
    });
    assert_eq!(
        metric(&s, "gharart_mail_deliveries_total{result=\"expired\"}"),
        1.0
    );
    let sink = SmtpSink::start_on(port, &[]);
    s.clock.advance(600);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        sink.messages().is_empty(),
        "an expired code is never sent late"
    );
    // The operator's CLI reads the system clock: move the code's expiry there too.
    s.sql("UPDATE codes SET expires_at = 1 WHERE purpose = 'confirm'");
    assert_eq!(onboarding_of(&s, "late"), "code_expired");

    let first = cli_ok(&s, &["users", "resend", "--expired"]);
    assert!(first.contains("1 sent, 0 skipped"), "{first}");
    let second = cli_ok(&s, &["users", "resend", "--expired"]);
    assert!(
        second.contains("0 sent"),
        "its code is live again: {second}"
    );
    let named = cli(&s, &["users", "resend", "late", "nobody-here"]);
    assert_eq!(named.status.code(), Some(1), "a handle matched no user");
    let named = String::from_utf8_lossy(&named.stdout);
    assert!(
        named.contains("late: skipped") && named.contains("less than a minute ago"),
        "{named}"
    );
    assert!(named.contains("nobody-here: no such user"), "{named}");
    let got = sink.wait_for(1, 10);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(sink.messages().len(), 1, "run twice, sent once");
    assert!(header(&got[0], "Subject").unwrap().contains("new"));
    let confirm = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": "late@gharart.com", "code": code_of(&got[0]), "password": PASSWORD}),
    );
    assert_eq!(confirm.status, 200, "{}", confirm.text());
    assert_eq!(onboarding_of(&s, "late"), "confirmed");
}

#[test]
fn smtp_rate_spreads_a_burst_over_one_reused_connection() {
    let sink = SmtpSink::start(&[]);
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let s = TestServer::start_now(&["--smtp-url", &url, "--smtp-rate", "5/1s"]);
    let csv = s.dir.path().join("crew.csv");
    let rows: String = (0..10)
        .map(|i| format!("pace{i},pace{i}@gharart.com\n"))
        .collect();
    std::fs::write(&csv, rows).unwrap();
    cli_ok(&s, &["users", "import", csv.to_str().unwrap()]);
    sink.wait_for(10, 20);
    let times: Vec<f64> = sink
        .events("mail")
        .iter()
        .map(|e| e["t"].as_f64().unwrap())
        .collect();
    let span = times[9] - times[0];
    assert!(
        span >= 1.6,
        "10 messages at 5/s take about 1.8 s, took {span:.2} s"
    );
    assert!(span < 6.0, "but not much longer: {span:.2} s");
    assert!(
        sink.events("ehlo").len() <= 2,
        "one connection reused, not one per message: {} sessions",
        sink.events("ehlo").len()
    );
}

#[test]
fn a_too_fast_reply_pauses_the_whole_queue() {
    let sink = SmtpSink::start(&[]);
    sink.set_mode("451 4.7.1 Rate limit exceeded, slow down");
    let s = TestServer::start_now(&["--smtp-url", &format!("smtp://127.0.0.1:{}", sink.port)]);
    let csv = s.dir.path().join("crew.csv");
    std::fs::write(
        &csv,
        "fast1,fast1@gharart.com\nfast2,fast2@gharart.com\nfast3,fast3@gharart.com\n",
    )
    .unwrap();
    cli_ok(&s, &["users", "import", csv.to_str().unwrap()]);
    wait_until(10, "the first message heard 451", || {
        !sink.events("rcpt").is_empty()
    });
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        sink.events("rcpt").len(),
        1,
        "the other two wait with the queue, not only the first"
    );
    sink.set_mode("accept");
    s.clock.advance(11);
    sink.wait_for(3, 15);
}

#[test]
fn send_after_holds_the_invitations_and_counts_their_lifetime_from_then() {
    let sink = SmtpSink::start(&[]);
    let s = TestServer::start_now(&["--smtp-url", &format!("smtp://127.0.0.1:{}", sink.port)]);
    let csv = s.dir.path().join("crew.csv");
    std::fs::write(&csv, "night,night@gharart.com\n").unwrap();
    let later = gharart_id::clock::rfc3339(gharart_id::clock::Clock::System.now() + 7200);
    let out = cli_ok(
        &s,
        &[
            "users",
            "import",
            csv.to_str().unwrap(),
            "--send-after",
            &later,
        ],
    );
    assert!(out.contains(&format!("held until {later}")), "{out}");
    std::thread::sleep(Duration::from_millis(2000));
    assert!(sink.messages().is_empty(), "held");
    assert_eq!(onboarding_of(&s, "night"), "invited");
    s.clock.advance(7200);
    let got = sink.wait_for(1, 10);
    let send_at = gharart_id::clock::parse_rfc3339(&later).unwrap();
    let until = gharart_id::clock::rfc3339(send_at + 72 * 3600)
        .replace('T', " ")
        .replace('Z', " UTC");
    assert!(
        body(&got[0]).contains(&until),
        "expiry counted from the send: {until}"
    );
    let bad = cli(
        &s,
        &[
            "users",
            "import",
            csv.to_str().unwrap(),
            "--send-after",
            "25:00",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--send-after"));
}

#[test]
fn a_relay_that_stalls_holds_no_request_and_times_out() {
    let stall = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = stall.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let (conn, _) = stall.accept().unwrap();
        std::thread::sleep(Duration::from_secs(25));
        drop(conn);
    });
    let s = TestServer::start_now(&["--smtp-url", &format!("smtp://127.0.0.1:{port}")]);
    let t = Instant::now();
    assert_eq!(s.signup("stuck").status, 201);
    assert_eq!(s.signup("stuck2").status, 201);
    assert_eq!(healthz(&s)["mail"]["pending"], 2);
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "requests never wait on the relay"
    );
    wait_until(25, "the stalled attempt times out and is retried", || {
        mail_rows(&s, "pending")
            .iter()
            .any(|r| r.split_whitespace().nth(4) == Some("1"))
    });
    assert!(t.elapsed() < Duration::from_secs(25), "within the timeout");
    held.join().unwrap();
}

#[test]
fn bad_relay_settings_stop_serve_at_start_naming_the_flag_and_never_print_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("id.db");
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(&db)
            .args(extra)
            .output()
            .unwrap()
    };
    for (extra, flag) in [
        (
            vec!["--smtp-url", "smtp://bot:hunter2@relay:99999"],
            "--smtp-url",
        ),
        (vec!["--smtp-url", "mailto:bot:hunter2@relay"], "--smtp-url"),
        (
            vec![
                "--smtp-url",
                "smtp://bot@relay",
                "--smtp-password-file",
                "/nonexistent/pw",
            ],
            "--smtp-password-file",
        ),
        (
            vec![
                "--smtp-url",
                "smtps://relay",
                "--smtp-ca-file",
                "/nonexistent/ca.pem",
            ],
            "--smtp-ca-file",
        ),
        (
            vec!["--smtp-url", "smtp://relay", "--smtp-rate", "fast"],
            "--smtp-rate",
        ),
        (vec!["--mail-from", "not an address"], "--mail-from"),
    ] {
        let out = run(&extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {stderr}");
        assert!(stderr.contains(flag), "{extra:?} names {flag}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    // A running server with a password in its URL logs the relay without it.
    let (mut child, addr) = serve_child({
        let mut c = Command::new(BIN);
        c.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--pbkdf2-iterations",
            "1000",
            "--db",
        ])
        .arg(&db)
        .args([
            "--smtp-url",
            &format!("smtp://bot:hunter2@127.0.0.1:{}", dead_port()),
        ])
        .stderr(Stdio::piped());
        c
    });
    let r = post(
        addr,
        "/v2/auth/signup",
        &json!({"handle": "pwtest", "email": "pwtest@gharart.com", "password": PASSWORD}),
        None,
    );
    assert_eq!(r.status, 201);
    std::thread::sleep(Duration::from_millis(1500));
    let _ = child.kill();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("smtp://bot@127.0.0.1:"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn sigkill_in_the_middle_of_a_burst_loses_no_message() {
    let sink = SmtpSink::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("id.db");
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let serve = || {
        let mut c = Command::new(BIN);
        c.args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(&db)
            .args(["--smtp-url", &url, "--smtp-rate", "200/1s"]);
        c
    };
    let (first, _) = serve_child(serve());
    let csv = dir.path().join("crew.csv");
    let rows: String = (0..300)
        .map(|i| format!("burst{i},burst{i}@gharart.com\n"))
        .collect();
    std::fs::write(&csv, rows).unwrap();
    let import = Command::new(BIN)
        .args(["users", "import"])
        .arg(&csv)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(import.status.success());
    sink.wait_for(40, 20);
    let mut first = first;
    first.kill().unwrap();
    first.wait().unwrap();
    let before = sink.messages().len();
    assert!(before < 300, "killed in the middle ({before} delivered)");
    let (_second, _) = serve_child(serve());
    let distinct = || {
        let got = sink.messages();
        let to: std::collections::BTreeSet<String> = got.iter().map(|m| to_of(m)).collect();
        to.len()
    };
    wait_until(
        60,
        "every teammate gets an invitation after the restart",
        || distinct() == 300,
    );
    let got = sink.messages();
    let ids: std::collections::BTreeSet<String> = got
        .iter()
        .map(|m| header(m, "Message-ID").unwrap().to_owned())
        .collect();
    let recipients: std::collections::BTreeSet<String> = got.iter().map(|m| to_of(m)).collect();
    assert_eq!(recipients.len(), 300, "every teammate got an invitation");
    assert_eq!(ids.len(), 300, "a message sent twice kept its Message-ID");
    assert!(
        got.len() <= 302,
        "at most the message in flight went twice: {}",
        got.len()
    );
}
