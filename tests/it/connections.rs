//! Issue 14, findings 2 to 4 and the hostile-client soak, through the real binary: HTTP/2.0
//! prefaces, slow heads and bodies, connection caps, a failed thread creation. Threads and
//! descriptors are read from the server's /proc entry, so "holds nothing" is measured.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

/// The binary serving on a fresh database in `dir`, with `extra` flags.
fn serve(dir: &Path, extra: &[&str]) -> (Reaper, SocketAddr) {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .args(["--listen", "127.0.0.1:0", "--throttle", "off"])
        .args(extra)
        .arg("--db")
        .arg(dir.join("conn.db"))
        .arg("--mail-dir")
        .arg(dir.join("mail"))
        .env("GHARART_PBKDF2_ITERATIONS", TEST_ITERATIONS.to_string())
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null());
    serve_child(cmd)
}

/// Signs `handle` up on the binary at `addr` and returns an access token.
fn access_token(addr: SocketAddr, dir: &Path, handle: &str) -> String {
    let email = email_of(handle);
    let body = json!({"handle": handle, "email": email, "password": PASSWORD});
    assert_eq!(post(addr, "/v2/auth/signup", &body, None).status, 201);
    let code = wait_for_codes(&dir.join("mail"), &email, 1).pop().unwrap();
    let confirm = json!({"email": email, "code": code});
    assert_eq!(
        post(addr, "/v2/auth/signup/confirm", &confirm, None).status,
        200
    );
    let login = json!({"login": handle, "password": PASSWORD});
    post(addr, "/v2/auth/login", &login, None).json()["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The server's threads and open sockets (its other descriptors are database files, which the
/// reader pool opens as it grows).
fn held(pid: u32) -> (usize, usize) {
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count();
    let sockets = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count();
    (threads, sockets)
}

/// Waits until the server holds no more threads and descriptors than `baseline`; the last
/// reading otherwise.
fn settles_to(pid: u32, baseline: (usize, usize), secs: u64) -> Result<(), (usize, usize)> {
    let mut now = held(pid);
    let until = Instant::now() + Duration::from_secs(secs);
    while now.0 > baseline.0 || now.1 > baseline.1 {
        if Instant::now() > until {
            return Err(now);
        }
        std::thread::sleep(Duration::from_millis(100));
        now = held(pid);
    }
    Ok(())
}

/// `/healthz` and `/v2/auth/me` each answered 200 within `limit`.
fn answers_within(addr: SocketAddr, token: &str, limit: Duration) {
    for (path, auth) in [("/healthz", None), ("/v2/auth/me", Some(token))] {
        let started = Instant::now();
        let bearer = auth.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("Authorization", b.as_str()))
            .collect();
        let r = request(addr, "GET", path, &headers, b"");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(
            started.elapsed() < limit,
            "{path} took {:?} beside the hostile clients",
            started.elapsed()
        );
    }
}

/// Whether `/healthz` answers 200 on a new connection within 5 s.
fn serves_again(addr: SocketAddr) -> bool {
    eventually(5, || {
        try_send_raw(
            addr,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .is_ok_and(|r| r.status == 200)
    })
}

/// Everything the connection sends until it closes (or `secs` of silence).
fn read_until_closed(c: &mut TcpStream, secs: u64) -> (String, bool) {
    c.set_read_timeout(Some(Duration::from_secs(secs))).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match c.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// What `curl --http2-prior-knowledge` sends first: the connection preface and a SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64\x00\x04\x02\x00\x00\x00\x00\x02\x00\x00\x00\x00";

#[test]
fn http2_prefaces_get_505_and_hold_no_thread_or_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let (child, addr) = serve(dir.path(), &[]);
    assert_eq!(request(addr, "GET", "/healthz", &[], b"").status, 200);
    let baseline = held(child.id());
    let mut waiting = Vec::new();
    for _ in 0..40 {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(H2_PREFACE).unwrap();
        waiting.push(c);
    }
    for c in &mut waiting {
        let (answer, closed) = read_until_closed(c, 5);
        assert!(answer.starts_with("HTTP/1.1 505 "), "{answer}");
        assert!(
            answer.contains("\"code\":\"http_version_not_supported\""),
            "{answer}"
        );
        assert!(closed, "the server closed the connection itself");
    }
    settles_to(child.id(), baseline, 5).unwrap_or_else(|now| {
        panic!("threads and descriptors {now:?} stayed above {baseline:?} with the clients still connected")
    });
    // Another version, on a request line of its own.
    let r = send_raw(addr, b"GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 505);
}

#[test]
fn slow_heads_and_bodies_hold_no_worker_and_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    // Four workers: forty slow bodies would have taken them all ten times over.
    let (child, addr) = serve(dir.path(), &["--workers", "4"]);
    let token = access_token(addr, dir.path(), "sleigh");
    let baseline = held(child.id());
    let mut slow: Vec<TcpStream> = (0..40)
        .map(|i| {
            let mut c = connect_from(other_client(i % 4), addr).unwrap();
            c.write_all(b"POST /v2/support/report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{")
                .unwrap();
            c
        })
        .collect();
    let mut trickling_head = connect_from(other_client(5), addr).unwrap();
    let head_started = Instant::now();
    let trickler = std::thread::spawn(move || {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaa" {
            if trickling_head.write_all(&[*byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        trickling_head
    });
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        answers_within(addr, &token, Duration::from_secs(1));
    }
    for c in &mut slow {
        let (answer, closed) = read_until_closed(c, 15);
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
        assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
        assert!(closed);
    }
    let mut trickling_head = trickler.join().unwrap();
    let (answer, _) = read_until_closed(&mut trickling_head, 15);
    assert!(
        answer.starts_with("HTTP/1.1 408 "),
        "a head sent a byte at a time: {answer}"
    );
    let took = head_started.elapsed();
    assert!(
        took < Duration::from_secs(14),
        "the head's 10 s ran {took:?}"
    );
    drop(slow);
    drop(trickling_head);
    settles_to(child.id(), baseline, 5)
        .unwrap_or_else(|now| panic!("{now:?} stayed above {baseline:?}"));
}

#[test]
fn connections_past_the_caps_are_refused_at_once_and_others_still_served() {
    let dir = tempfile::tempdir().unwrap();
    let (child, addr) = serve(
        dir.path(),
        &["--max-connections", "12", "--max-connections-per-ip", "4"],
    );
    // Five from one address: which one the accept loop takes last is the kernel's order, so the
    // refusal is counted over all five.
    let hog = other_client(0);
    let mut held_open: Vec<TcpStream> = (0..5).map(|_| connect_from(hog, addr).unwrap()).collect();
    // Refused at once: each connection is given half a second to answer.
    let refused = refusals(&mut held_open);
    assert_eq!(
        refused.len(),
        1,
        "one of five past a cap of four per address"
    );
    let answer = &refused[0];
    assert!(
        answer.contains("\"reason\":\"overloaded\"") && answer.contains("X-Request-Id: req_"),
        "{answer}"
    );
    assert_eq!(
        request(addr, "GET", "/healthz", &[], b"").status,
        200,
        "another address is served"
    );
    let scrape = || request(addr, "GET", "/metrics", &[], b"").text();
    assert!(
        eventually(5, || scrape().contains("\ngharart_connections_open 5\n")),
        "the four held and the scrape's own: {}",
        scrape()
    );

    // Nine more from other addresses against a cap of twelve in all: at most twelve are held.
    let mut more: Vec<TcpStream> = (1..10)
        .map(|n| connect_from(other_client(n), addr).unwrap())
        .collect();
    let refused = refusals(&mut more);
    assert!(
        !refused.is_empty() && 4 + more.len() - refused.len() <= 12,
        "{} of 9 refused with 4 held and a cap of 12",
        refused.len()
    );
    held_open.extend(more);
    drop(held_open);
    assert!(
        serves_again(addr),
        "served again once the connections closed"
    );
    assert!(
        eventually(5, || scrape().contains("\ngharart_connections_open 1\n")),
        "only the scrape's own once the clients left: {}",
        scrape()
    );
    let metrics = scrape();
    assert!(
        metrics.contains("gharart_connections_refused_total{reason=\"max_connections_per_ip\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gharart_connections_refused_total{reason=\"max_connections\"}"),
        "{metrics}"
    );
    drop(child);
}

/// The answers of the connections that the server refused (a 503, then closed); the others
/// stay silent for the half second each is given.
fn refusals(connections: &mut [TcpStream]) -> Vec<String> {
    let mut refused = Vec::new();
    for c in connections {
        c.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut answer = Vec::new();
        let _ = c.read_to_end(&mut answer);
        if !answer.is_empty() {
            let text = String::from_utf8_lossy(&answer).into_owned();
            assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
            refused.push(text);
        }
    }
    refused
}

/// A pids cgroup (v1, as this machine mounts it) that lets the server start only a few more
/// threads; removed when dropped.
struct PidsCgroup(std::path::PathBuf);

impl PidsCgroup {
    fn new() -> PidsCgroup {
        let path = std::path::PathBuf::from(format!(
            "/sys/fs/cgroup/pids/gharart-test-{}",
            std::process::id()
        ));
        std::fs::create_dir(&path).unwrap_or_else(|e| {
            panic!("this test needs root and the pids cgroup at /sys/fs/cgroup/pids: {e}")
        });
        PidsCgroup(path)
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_failed_thread_creation_refuses_one_connection_never_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (child, addr) = serve(dir.path(), &[]);
    assert_eq!(request(addr, "GET", "/healthz", &[], b"").status, 200);
    let cgroup = PidsCgroup::new();
    std::fs::write(cgroup.0.join("cgroup.procs"), child.id().to_string()).unwrap();
    let (threads, _) = held(child.id());
    std::fs::write(cgroup.0.join("pids.max"), (threads + 3).to_string()).unwrap();
    let mut open: Vec<TcpStream> = (0..10)
        .map(|i| connect_from(other_client(i), addr).unwrap())
        .collect();
    let mut refused = 0;
    for c in &mut open {
        c.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut buf = [0u8; 512];
        if let Ok(n) = c.read(&mut buf) {
            let answer = String::from_utf8_lossy(&buf[..n]);
            assert!(
                answer.starts_with("HTTP/1.1 503 ") && answer.contains("overloaded"),
                "{answer}"
            );
            refused += 1;
        }
    }
    assert!(
        refused >= 6,
        "only {refused} of 10 refused under a limit of 3 more threads"
    );
    drop(open);
    std::fs::write(cgroup.0.join("pids.max"), "max").unwrap();
    assert!(serves_again(addr), "the server takes connections again");
    for _ in 0..20 {
        assert_eq!(request(addr, "GET", "/healthz", &[], b"").status, 200);
    }
    let metrics = request(addr, "GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains(&format!(
            "gharart_connections_refused_total{{reason=\"thread\"}} {refused}"
        )),
        "{metrics}"
    );
    // Out of the cgroup before it is removed.
    drop(child);
}

#[test]
fn hostile_clients_at_once_do_not_delay_health_or_me_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (child, addr) = serve(dir.path(), &["--max-connections", "2000"]);
    let token = access_token(addr, dir.path(), "rudolph");
    answers_within(addr, &token, Duration::from_secs(1));
    let baseline = held(child.id());
    let soak_started = Instant::now();
    // 1,000 idle connections and 300 slow bodies, from 25 addresses (52 each, under the cap of
    // 64 per address), 200 HTTP/2.0 prefaces, and a pipelining client.
    let mut hostile: Vec<TcpStream> = Vec::new();
    for i in 0..1000 {
        hostile.push(connect_from(other_client(i % 25), addr).unwrap());
    }
    for i in 0..300 {
        let mut c = connect_from(other_client(i % 25), addr).unwrap();
        c.write_all(b"POST /v2/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{").unwrap();
        hostile.push(c);
    }
    let prefaces = std::thread::spawn(move || {
        for i in 0..200 {
            if let Ok(mut c) = connect_from(other_client(100 + i % 10), addr) {
                let _ = c.write_all(H2_PREFACE);
                let (answer, _) = read_until_closed(&mut c, 5);
                assert!(answer.starts_with("HTTP/1.1 505 "), "{answer}");
            }
        }
    });
    let pipelining = std::thread::spawn(move || {
        let mut answered = 0;
        while soak_started.elapsed() < Duration::from_secs(6) {
            let mut c = connect_from(other_client(120), addr).unwrap();
            let burst = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(50);
            c.write_all(&burst).unwrap();
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let (answer, _) = read_until_closed(&mut c, 5);
            assert_eq!(
                answer.matches("HTTP/1.1 200 ").count(),
                51,
                "in order, every one"
            );
            answered += 51;
        }
        answered
    });
    while soak_started.elapsed() < Duration::from_secs(8) {
        answers_within(addr, &token, Duration::from_secs(1));
    }
    prefaces.join().unwrap();
    assert!(pipelining.join().unwrap() >= 51);
    drop(hostile);
    settles_to(child.id(), baseline, 5).unwrap_or_else(|now| {
        panic!(
            "threads and descriptors {now:?} did not return to {baseline:?} after the clients left"
        )
    });
    answers_within(addr, &token, Duration::from_secs(1));
    assert!(
        soak_started.elapsed() < Duration::from_secs(60),
        "the soak is bounded: {:?}",
        soak_started.elapsed()
    );
}
