//! The mail queue through a real SMTP server (`smtp_sink`): a relay that is down then up, a 550
//! then `mail retry`, a code that expires in the queue and `users resend`, `--smtp-rate` measured
//! at the sink, a too-fast reply pausing the queue, `--send-after`, and a SIGKILL in the middle
//! of a burst.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;
use crate::smtp_sink::*;

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
    let got = sink.wait_for(1, 10);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(sink.messages().len(), 1, "run twice, sent once");
    assert!(header(&got[0], "Subject").unwrap().contains("new"));
    // One person named always gets a new code; a handle that matches nobody is an error.
    let named = cli(&s, &["users", "resend", "late", "nobody-here"]);
    assert_eq!(named.status.code(), Some(1), "a handle matched no user");
    let named = String::from_utf8_lossy(&named.stdout);
    assert!(named.contains("late: new code queued"), "{named}");
    assert!(named.contains("nobody-here: no such user"), "{named}");
    sink.wait_for(2, 10);
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
    // The upper bound leaves room for a loaded CI machine (the sink is Python, sharing 2 cores).
    assert!(span < 10.0, "but not much longer: {span:.2} s");
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
    let later =
        gharart_id::core::clock::rfc3339(gharart_id::core::clock::Clock::System.now() + 7200);
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
    let send_at = gharart_id::core::clock::parse_rfc3339(&later).unwrap();
    let until = gharart_id::core::clock::rfc3339(send_at + 72 * 3600)
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
        got.len() <= 300 + 17,
        "at most the unrecorded sends (16) and the one in flight went twice: {}",
        got.len()
    );
}
