//! A small synchronous load generator and the baselines of `examples/bench.sh` (issue 6).
//!
//!     loadgen bare --listen 127.0.0.1:0 --workers 32        a bare handler on our connection layer
//!     loadgen upstream --listen 127.0.0.1:0 --pool 8         the same body on upstream rouille's server
//!     loadgen hash-rate --iterations 600000 --secs 5        PBKDF2-HMAC-SHA256 hashes/s on every core
//!     loadgen rotation-rate --sync full --secs 5            raw SQLite rotations/s (SELECT + INSERT + UPDATE)
//!     loadgen seed --db X --users 100000 --password P       confirmed users written straight to a database
//!     loadgen run --addr A --scenario me --threads 64 --secs 10 [--token T] [--basic B] [--password P]
//!
//! Against the bare handler, `bare` sends `GET /`; `bare-me` and `bare-token` send byte for byte
//! the requests of `me` and `token` (headers and body), so that the framework's work on the same
//! request is in the ceiling the scenario is held to.
//!
//! `run` keeps one keep-alive connection per thread and prints one line:
//! `scenario <name> req/s <n> p50_ms <x> p99_ms <y> p999_ms <z> errors <e>`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn num(args: &[String], name: &str, default: u64) -> u64 {
    arg(args, name)
        .map(|v| v.parse().expect(name))
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("bare") => bare(&args),
        Some("upstream") => upstream(&args),
        Some("hash-rate") => hash_rate(&args),
        Some("rotation-rate") => rotation_rate(&args),
        Some("seed") => seed(&args),
        Some("run") => run(&args),
        _ => {
            eprintln!(
                "usage: loadgen bare|upstream|hash-rate|rotation-rate|seed|run … (see the file's header)"
            );
            std::process::exit(2);
        }
    }
}

/// A small JSON body and nothing else, on the server's own connection layer.
struct Bare;

impl gharart_id::http::conn::Service for Bare {
    fn handle(&self, _request: &rouille::Request) -> rouille::Response {
        rouille::Response::json(&json!({"status": "ok"}))
    }

    fn refused(&self, _ip: IpAddr, _why: gharart_id::http::conn::Refused) -> rouille::Response {
        rouille::Response::text("refused").with_status_code(503)
    }

    fn now(&self) -> gharart_id::core::clock::Timestamp {
        gharart_id::core::clock::Clock::System.now()
    }
}

/// The framework ceiling: the server's own serving loop (its connection layer on a TCP_NODELAY
/// listener, `--workers` requests at once, rouille's response type) answering a small JSON body
/// and nothing else.
fn bare(args: &[String]) {
    let listen = arg(args, "--listen").unwrap_or_else(|| "127.0.0.1:0".into());
    let workers = num(args, "--workers", 32) as usize;
    let listener = gharart_id::http::server::bind(&listen).unwrap();
    println!(
        "bare listening on http://{}",
        listener.local_addr().unwrap()
    );
    std::io::stdout().flush().unwrap();
    let limits = gharart_id::http::conn::Limits {
        max_connections: 1024,
        max_per_ip: 1024,
        workers,
        max_body: gharart_id::http::routes::MAX_BODY,
        large_bodies: &[],
        open: Default::default(),
    };
    let _serving =
        gharart_id::http::conn::Connections::start(listener, std::sync::Arc::new(Bare), limits)
            .unwrap();
    loop {
        std::thread::park();
    }
}

/// The upstream ceiling: rouille 3.6's own server (tiny_http from crates.io, a pool of `--pool`
/// threads) answering the same small JSON body.
fn upstream(args: &[String]) {
    let listen = arg(args, "--listen").unwrap_or_else(|| "127.0.0.1:0".into());
    let pool = num(args, "--pool", 8) as usize;
    let server = rouille::Server::new(listen, |_request| {
        rouille::Response::json(&json!({"status": "ok"}))
    })
    .unwrap()
    .pool_size(pool);
    println!("upstream listening on http://{}", server.server_addr());
    std::io::stdout().flush().unwrap();
    server.run();
}

/// PBKDF2 hashes per second with one thread per core.
fn hash_rate(args: &[String]) {
    let iterations = num(args, "--iterations", 600_000) as u32;
    let secs = num(args, "--secs", 5);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let done = AtomicU64::new(0);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    std::thread::scope(|s| {
        for _ in 0..cores {
            s.spawn(|| {
                while Instant::now() < deadline {
                    let mut out = [0u8; 32];
                    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
                        b"correct horse battery",
                        b"0123456789abcdef",
                        iterations,
                        &mut out,
                    );
                    std::hint::black_box(out);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!("hash-rate {rate:.1} per_s cores {cores} iterations {iterations}");
}

/// Raw SQLite rotation transactions per second: the refresh's storage work and nothing else.
fn rotation_rate(args: &[String]) {
    let sync = arg(args, "--sync").unwrap_or_else(|| "full".into());
    let secs = num(args, "--secs", 5);
    let dir = tempfile::tempdir().unwrap();
    let c = rusqlite::Connection::open(dir.path().join("rot.db")).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", sync.to_uppercase())
        .unwrap();
    c.execute_batch(
        "CREATE TABLE s (id TEXT PRIMARY KEY, generation INTEGER, last_used INTEGER);
         CREATE TABLE r (sid TEXT, generation INTEGER, at INTEGER, PRIMARY KEY (sid, generation)) WITHOUT ROWID;",
    )
    .unwrap();
    for i in 0..1000 {
        c.execute("INSERT INTO s VALUES (?1, 0, 0)", [format!("ses_{i}")])
            .unwrap();
    }
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < Duration::from_secs(secs) {
        let sid = format!("ses_{}", n % 1000);
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        let g: i64 = c
            .prepare_cached("SELECT generation FROM s WHERE id = ?1")
            .unwrap()
            .query_row([&sid], |r| r.get(0))
            .unwrap();
        c.prepare_cached("INSERT INTO r VALUES (?1, ?2, ?3)")
            .unwrap()
            .execute(rusqlite::params![sid, g, n as i64])
            .unwrap();
        c.prepare_cached("UPDATE s SET generation = generation + 1, last_used = ?2 WHERE id = ?1")
            .unwrap()
            .execute(rusqlite::params![sid, n as i64])
            .unwrap();
        c.execute_batch("COMMIT").unwrap();
        n += 1;
    }
    println!(
        "rotation-rate {:.1} per_s sync {sync}",
        n as f64 / start.elapsed().as_secs_f64()
    );
}

/// Writes `--users` confirmed users with one shared password hash, straight into a database that a
/// server has created (the benchmark needs many accounts, not many hashes).
fn seed(args: &[String]) {
    let db = arg(args, "--db").expect("--db");
    let users = num(args, "--users", 1000);
    let password = arg(args, "--password").expect("--password");
    let iterations = num(args, "--iterations", 600_000) as u32;
    let hash = gharart_id::core::password::hash(&password, iterations).unwrap();
    let mut c = rusqlite::Connection::open(db).unwrap();
    let tx = c.transaction().unwrap();
    {
        let mut stmt = tx
            .prepare("INSERT INTO users (id, handle, email, email_key, password_hash, email_confirmed, created_at, updated_at) VALUES (?1, ?2, ?3, ?3, ?4, 1, 0, 0)")
            .unwrap();
        for i in 0..users {
            stmt.execute(rusqlite::params![
                format!("usr_bench{i:021}"),
                format!("bench{i}"),
                format!("bench{i}@bench.example"),
                hash
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    println!("seeded {users} users");
}

/// One keep-alive HTTP/1.1 connection. Its buffers are reused from request to request, so that
/// the load generator, which shares the machine's cores with the server, spends as little of
/// them as it can (no allocation per request, no JSON tree for a response).
struct Conn {
    reader: BufReader<TcpStream>,
    addr: String,
    /// The request being sent.
    out: Vec<u8>,
    /// The line being read.
    line: Vec<u8>,
    /// The last response's body.
    body: Vec<u8>,
}

impl Conn {
    fn open(addr: &str) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(s),
            addr: addr.to_owned(),
            out: Vec::with_capacity(2048),
            line: Vec::with_capacity(256),
            body: Vec::with_capacity(2048),
        }
    }

    /// Sends a request and returns its status, the body in `self.body`; reconnects once if the
    /// server closed.
    fn call(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
        for attempt in 0..2 {
            match self.try_call(method, path, headers, body) {
                Ok(status) => return status,
                Err(_) if attempt == 0 => {
                    let reopened = Conn::open(&self.addr);
                    self.reader = reopened.reader;
                }
                Err(e) => panic!("{e}"),
            }
        }
        unreachable!()
    }

    fn try_call(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<u16> {
        self.out.clear();
        write!(
            self.out,
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\n",
            body.len()
        )?;
        for (k, v) in headers {
            for part in [k.as_bytes(), b": ", v.as_bytes(), b"\r\n"] {
                self.out.extend_from_slice(part);
            }
        }
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(body);
        self.reader.get_mut().write_all(&self.out)?;
        if self.next_line()? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed",
            ));
        }
        let status: u16 = self
            .line
            .split(|&b| b == b' ')
            .nth(1)
            .and_then(|s| std::str::from_utf8(s).ok()?.parse().ok())
            .unwrap_or(0);
        let (mut len, mut chunked) = (0usize, false);
        loop {
            self.next_line()?;
            let l = self.line.trim_ascii_end();
            if l.is_empty() {
                break;
            }
            let Some(colon) = l.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = (&l[..colon], l[colon + 1..].trim_ascii());
            if name.eq_ignore_ascii_case(b"content-length") {
                len = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
            }
            if name.eq_ignore_ascii_case(b"transfer-encoding")
                && value.eq_ignore_ascii_case(b"chunked")
            {
                chunked = true;
            }
        }
        self.body.clear();
        if chunked {
            loop {
                self.next_line()?;
                let size = std::str::from_utf8(self.line.trim_ascii())
                    .ok()
                    .and_then(|l| usize::from_str_radix(l, 16).ok())
                    .unwrap_or(0);
                let at = self.body.len();
                self.body.resize(at + size + 2, 0);
                self.reader.read_exact(&mut self.body[at..])?;
                self.body.truncate(at + size);
                if size == 0 {
                    break;
                }
            }
        } else {
            self.body.resize(len, 0);
            self.reader.read_exact(&mut self.body)?;
        }
        Ok(status)
    }

    fn next_line(&mut self) -> std::io::Result<usize> {
        self.line.clear();
        self.reader.read_until(b'\n', &mut self.line)
    }
}

/// The string value of `"name":"…"` in a JSON body whose strings carry no escapes (tokens do
/// not): found by search, without building a JSON tree.
fn string_field<'a>(body: &'a [u8], name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":\"");
    let at = body.windows(key.len()).position(|w| w == key.as_bytes())? + key.len();
    let len = body[at..].iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&body[at..at + len]).ok()
}

/// What one thread does, request by request.
struct Worker {
    conn: Conn,
    index: usize,
    password: String,
    /// `Bearer <access token>`, rendered once per token.
    bearer: String,
    refresh: String,
    /// The refresh request's body, rendered once per token.
    refresh_body: Vec<u8>,
    rng: u64,
}

impl Worker {
    fn login(&mut self, password_ok: bool) -> u16 {
        let pw = if password_ok {
            self.password.clone()
        } else {
            "wrong-password-1".into()
        };
        let body =
            serde_json::to_vec(&json!({"login": format!("bench{}", self.index), "password": pw}))
                .unwrap();
        let st = self.conn.call(
            "POST",
            "/v2/auth/login",
            &[("Content-Type", "application/json")],
            &body,
        );
        self.keep_session(st)
    }

    /// Takes the tokens of a 200 session body; returns the status.
    fn keep_session(&mut self, status: u16) -> u16 {
        if status == 200 {
            let body = &self.conn.body;
            let access = string_field(body, "accessToken").expect("accessToken");
            let refresh = string_field(body, "refreshToken").expect("refreshToken");
            self.bearer.clear();
            self.bearer.push_str("Bearer ");
            self.bearer.push_str(access);
            self.refresh_body.clear();
            // A refresh token is base64url and dots: nothing to escape in JSON.
            write!(self.refresh_body, "{{\"refreshToken\":\"{refresh}\"}}").unwrap();
            self.refresh.clear();
            self.refresh.push_str(refresh);
        }
        status
    }

    /// `GET /v2/auth/me` with the worker's own access token (or the fixed one it was given).
    fn me(&mut self) -> u16 {
        self.conn.call(
            "GET",
            "/v2/auth/me",
            &[("Authorization", &self.bearer)],
            b"",
        )
    }

    fn refresh(&mut self) -> u16 {
        let body = std::mem::take(&mut self.refresh_body);
        let st = self.conn.call(
            "POST",
            "/v2/auth/refresh",
            &[("Content-Type", "application/json")],
            &body,
        );
        self.refresh_body = body;
        self.keep_session(st)
    }

    fn roll(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % 100
    }
}

fn run(args: &[String]) {
    let addr = arg(args, "--addr").expect("--addr");
    let scenario = arg(args, "--scenario").expect("--scenario");
    let threads = num(args, "--threads", 64) as usize;
    let secs = num(args, "--secs", 10);
    let token = arg(args, "--token").unwrap_or_default();
    let basic = arg(args, "--basic").unwrap_or_default();
    let password = arg(args, "--password").unwrap_or_default();
    let flooders = if scenario == "flood" { threads / 2 } else { 0 };
    let errors = AtomicU64::new(0);
    // Every thread gets ready (logs in where it needs a session) before the clock starts.
    let ready = std::sync::Barrier::new(threads);
    let start = std::sync::OnceLock::new();
    let latencies: Vec<Vec<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (addr, scenario, token, basic, password, errors, ready, start) = (
                    &addr, &scenario, &token, &basic, &password, &errors, &ready, &start,
                );
                s.spawn(move || {
                    // Connect one by one: tiny_http hands each connection a thread from a pool
                    // that grows one thread per connection only when none is idle, and a burst
                    // can queue new connections behind busy ones (see docs/PERFORMANCE.md).
                    std::thread::sleep(Duration::from_millis(15 * i as u64));
                    let mut w = Worker {
                        conn: Conn::open(addr),
                        index: i,
                        password: password.clone(),
                        bearer: format!("Bearer {token}"),
                        refresh: String::new(),
                        refresh_body: Vec::new(),
                        rng: 0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1),
                    };
                    if matches!(scenario.as_str(), "refresh" | "mixed") {
                        // Many threads logging in at once meet the hash queue's 503: wait and retry.
                        let mut status = w.login(true);
                        for _ in 0..200 {
                            if status != 503 {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(50));
                            status = w.login(true);
                        }
                        assert_eq!(status, 200, "bench{i} could not log in");
                    }
                    ready.wait();
                    let began: &Instant = start.get_or_init(Instant::now);
                    let deadline = *began + Duration::from_secs(secs);
                    let flooder = i < flooders;
                    let mut lat = Vec::with_capacity(100_000);
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let status = match scenario.as_str() {
                            // `bare-me` and `bare-token` send the very request of `me` and `token`
                            // to the bare handler: the framework's ceiling for that request.
                            "me" | "me-pat" | "bare-me" => w.me(),
                            "login" => w.login(true),
                            "refresh" => w.refresh(),
                            "token" | "bare-token" => w.conn.call(
                                "POST",
                                "/oauth/token",
                                &[
                                    ("Content-Type", "application/x-www-form-urlencoded"),
                                    ("Authorization", basic),
                                ],
                                b"grant_type=client_credentials",
                            ),
                            // The same grant for another resource (RFC 8707): an ES256 token.
                            "token-resource" => w.conn.call(
                                "POST",
                                "/oauth/token",
                                &[
                                    ("Content-Type", "application/x-www-form-urlencoded"),
                                    ("Authorization", basic),
                                ],
                                b"grant_type=client_credentials&resource=https%3A%2F%2Fmcp.bench.example",
                            ),
                            "bare" => w.conn.call("GET", "/", &[], b""),
                            "flood" if flooder => w.login(false),
                            "flood" => w.me(),
                            "mixed" => match w.roll() {
                                0..=89 => w.me(),
                                90..=97 => w.refresh(),
                                _ => w.login(true),
                            },
                            other => panic!("unknown scenario {other}"),
                        };
                        let ok = matches!(status, 200 | 201)
                            || (scenario == "flood" && flooder && status == 401);
                        if !ok {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        if !flooder {
                            lat.push(t.elapsed().as_micros() as u32);
                        }
                    }
                    lat
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = start
        .get()
        .map(|s| s.elapsed().as_secs_f64())
        .unwrap_or(secs as f64)
        .max(secs as f64);
    let mut all: Vec<u32> = latencies.into_iter().flatten().collect();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "scenario {scenario} req/s {:.1} p50_ms {:.2} p99_ms {:.2} p999_ms {:.2} errors {}",
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        pct(0.999),
        errors.load(Ordering::Relaxed)
    );
}
