//! Mail delivery through a real SMTP server (`smtp_sink`): each message kind, its headers and how
//! a standard parser reads it, AUTH, STARTTLS and implicit TLS with a test CA, a relay that
//! stalls, and bad relay settings at start. The queue's behaviour (retries, failures, expiry,
//! pacing, scheduling, crashes) is `mail_queue`.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;
use crate::smtp_sink::*;

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
