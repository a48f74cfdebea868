//! The test harness: a real server (in process, on port 0, on a real SQLite file in a temp dir,
//! with a manual clock the tests move instead of sleeping), a small HTTP/1.1 client, and helpers
//! that read codes from the mail directory.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gharart_id::commands::args::ServeArgs;
use gharart_id::commands::flags;
use gharart_id::core::clock::Clock;
use gharart_id::http::server::{self, Running};
use serde_json::{Value, json};

/// Low, for speed: tests check behaviour, the benchmark checks cost.
pub const TEST_ITERATIONS: u32 = 1000;
pub const PASSWORD: &str = "tinsel-sleigh-42";
/// 2026-11-28T12:00:00Z
pub const T0: i64 = 1_795_867_200;

pub struct TestServer {
    pub addr: SocketAddr,
    pub clock: Clock,
    pub dir: tempfile::TempDir,
    pub running: Option<Running>,
}

/// `serve` flags for a server in `dir`, with the test iteration count and the mail directory.
pub fn args(dir: &Path, extra: &[&str]) -> ServeArgs {
    use clap::Parser;
    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: ServeArgs,
    }
    let db = dir.join("id.db");
    let mail = dir.join("mail");
    let iterations = TEST_ITERATIONS.to_string();
    let defaults = [
        ("--db", db.to_str().unwrap()),
        ("--listen", "127.0.0.1:0"),
        ("--mail-dir", mail.to_str().unwrap()),
        ("--pbkdf2-iterations", iterations.as_str()),
        // Most tests make many requests from one address; the throttle tests turn this on.
        ("--throttle", "off"),
    ];
    let mut argv = vec!["serve"];
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            argv.extend([flag, value]);
        }
    }
    argv.extend_from_slice(extra);
    Wrap::try_parse_from(argv).unwrap().args
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    /// A server whose manual clock starts at the real time, for tests that mix it with the
    /// command line (which reads the system clock).
    pub fn start_now(extra: &[&str]) -> TestServer {
        TestServer::start_at(Clock::System.now(), extra)
    }

    /// A server in demo mode (mailbox page, /demo/* routes), seeded like `gharart-id demo`;
    /// returns it with the ready members' logins and passwords.
    pub fn start_demo() -> (TestServer, Vec<(String, String)>) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::manual(T0);
        let mut config = flags::config(args(dir.path(), &[])).unwrap();
        config.demo = true;
        let running = server::start(config, clock.clone()).unwrap();
        let seeded = gharart_id::domain::demo::seed(&running.core).unwrap();
        (
            TestServer {
                addr: running.addr,
                clock,
                dir,
                running: Some(running),
            },
            seeded.members,
        )
    }

    /// A server whose clock runs `offset` seconds from the real time.
    pub fn start_at_offset(offset: i64) -> TestServer {
        TestServer::start_at(Clock::System.now() + offset, &[])
    }

    /// A server whose issuer is `http://localhost:PORT`: passkeys take the issuer's host as
    /// their RP ID, and browsers refuse an IP address there.
    pub fn start_localhost() -> TestServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let issuer = format!("http://localhost:{port}");
        TestServer::start_with(&["--listen", &listen, "--issuer", &issuer])
    }

    pub fn start_with(extra: &[&str]) -> TestServer {
        TestServer::start_at(T0, extra)
    }

    fn start_at(start: i64, extra: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::manual(start);
        let config = flags::config(args(dir.path(), extra)).unwrap();
        let running = server::start(config, clock.clone()).unwrap();
        TestServer {
            addr: running.addr,
            clock,
            dir,
            running: Some(running),
        }
    }

    /// Stops the server and starts a new one on the same files and clock, with `extra` flags.
    pub fn restart_with(&mut self, extra: &[&str]) {
        if let Some(r) = self.running.take() {
            r.stop();
        }
        let config = flags::config(args(self.dir.path(), extra)).unwrap();
        let running = server::start(config, self.clock.clone()).unwrap();
        self.addr = running.addr;
        self.running = Some(running);
    }

    /// Runs SQL on the database file behind the server's back (for states no route makes yet).
    pub fn sql(&self, sql: &str) {
        let c = rusqlite::Connection::open(self.db_path()).unwrap();
        c.busy_timeout(Duration::from_secs(5)).unwrap();
        c.execute_batch(sql).unwrap();
    }

    /// A number from the database file (`SELECT count(*) …`), read behind the server's back.
    pub fn count(&self, sql: &str) -> i64 {
        let c = rusqlite::Connection::open(self.db_path()).unwrap();
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("id.db")
    }

    pub fn post(&self, path: &str, body: Value) -> Resp {
        post(self.addr, path, &body, None)
    }

    pub fn post_auth(&self, path: &str, body: Value, token: &str) -> Resp {
        post(self.addr, path, &body, Some(token))
    }

    pub fn delete_auth(&self, path: &str, body: Value, token: &str) -> Resp {
        request(
            self.addr,
            "DELETE",
            path,
            &[
                ("Authorization", &format!("Bearer {token}")),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
    }

    pub fn get_auth(&self, path: &str, token: &str) -> Resp {
        request(
            self.addr,
            "GET",
            path,
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        )
    }

    /// Signs up `handle` (`handle@example.com`) and returns the response.
    pub fn signup(&self, handle: &str) -> Resp {
        self.post(
            "/v2/auth/signup",
            json!({"handle": handle, "email": email_of(handle), "password": PASSWORD}),
        )
    }

    /// Signs up and confirms `handle`, then logs in; returns the session body.
    pub fn ready_user(&self, handle: &str) -> Value {
        assert_eq!(self.signup(handle).status, 201);
        let code = wait_for_codes(&self.mail_dir(), &email_of(handle), 1)
            .pop()
            .unwrap();
        let r = self.post(
            "/v2/auth/signup/confirm",
            json!({"email": email_of(handle), "code": code}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        self.login(handle)
    }

    /// As [`TestServer::ready_user`], keeping only the access token.
    pub fn access_token(&self, handle: &str) -> String {
        self.ready_user(handle)["accessToken"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn login(&self, login: &str) -> Value {
        let r = self.post(
            "/v2/auth/login",
            json!({"login": login, "password": PASSWORD}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }
}

pub fn email_of(handle: &str) -> String {
    format!("{handle}@example.com")
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `error.code` of an error envelope, after checking the envelope's shape.
    pub fn error_code(&self) -> String {
        let v = self.json();
        let err = &v["error"];
        assert!(err["message"].is_string(), "no message: {v}");
        // A replayed response names, in its body, the request that did the work.
        if self.header("Idempotent-Replayed").is_none() {
            assert_eq!(
                err["requestId"].as_str(),
                self.header("X-Request-Id"),
                "requestId matches the header"
            );
        }
        err["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no code: {v}"))
            .to_owned()
    }
}

pub fn post(addr: SocketAddr, path: &str, body: &Value, token: Option<&str>) -> Resp {
    try_post(addr, path, body, token).unwrap_or_else(|e| panic!("{e}"))
}

/// As [`post`], but a dead server is an `Err`, not a panic.
pub fn try_post(
    addr: SocketAddr,
    path: &str,
    body: &Value,
    token: Option<&str>,
) -> Result<Resp, String> {
    let bytes = serde_json::to_vec(body).unwrap();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    try_send_raw(addr, &raw_request("POST", path, &headers, &bytes))
}

/// One request on a fresh connection (`Connection: close`).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    send_raw(addr, &raw_request(method, path, headers, body))
}

fn raw_request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: gharart.test\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// A connection to `addr` from the loopback address `from` (any of 127.0.0.0/8 on Linux), so
/// that a test can be many clients as the per-address connection cap sees them.
pub fn connect_from(from: std::net::Ipv4Addr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((from, 0)).into())?;
    socket.connect_timeout(&addr.into(), Duration::from_secs(5))?;
    Ok(socket.into())
}

/// The `n`th of the loopback addresses 127.0.1.1, 127.0.1.2, … that tests use as other clients.
pub fn other_client(n: usize) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(127, 0, 1 + (n / 250) as u8, 1 + (n % 250) as u8)
}

/// Sends bytes as they are and parses the answer.
pub fn send_raw(addr: SocketAddr, raw: &[u8]) -> Resp {
    try_send_raw(addr, raw).unwrap_or_else(|e| panic!("{e}"))
}

/// As [`send_raw`], but a dead server is an `Err`, not a panic.
pub fn try_send_raw(addr: SocketAddr, raw: &[u8]) -> Result<Resp, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    stream.write_all(raw).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> Result<Resp, String> {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no header end: {:?}", String::from_utf8_lossy(buf)))?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("Transfer-Encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let mut body = if chunked {
        dechunk(&buf[split + 4..])?
    } else {
        buf[split + 4..].to_vec()
    };
    if let Some(len) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        if body.len() < len {
            // The connection closed mid-body (a killed server): not an answer.
            return Err(format!(
                "the body was cut short: {} of {len} bytes",
                body.len()
            ));
        }
        body.truncate(len);
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}

/// Decodes a chunked body (RFC 9112 §7.1).
fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line is cut")?;
        let size_text = std::str::from_utf8(&raw[..line_end]).map_err(|e| e.to_string())?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| e.to_string())?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(raw.get(..size).ok_or("a chunk is cut")?);
        raw = raw.get(size + 2..).ok_or("a chunk end is cut")?;
    }
}

/// Waits (up to 10 s) until `count` messages to `to` are in `dir`, and returns their codes,
/// oldest first.
pub fn wait_for_codes(dir: &Path, to: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let codes = codes_in(dir, to);
        if codes.len() >= count {
            return codes;
        }
        assert!(
            Instant::now() < deadline,
            "expected {count} messages to {to}, found {}",
            codes.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The codes of every message to `to` in `dir`, oldest first.
pub fn codes_in(dir: &Path, to: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    names.sort();
    let address = format!("<{}>", to.to_lowercase());
    names
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter(|text| {
            text.lines()
                .map(str::to_lowercase)
                .any(|l| l.starts_with("to: ") && l.ends_with(&address))
        })
        .filter_map(|text| {
            let body = text.split_once("\r\n\r\n")?.1.to_owned();
            body.split_whitespace()
                .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned)
        })
        .collect()
}

/// Whether `f` holds within `secs` seconds, asked every 100 ms.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// `PRAGMA integrity_check` of the database file at `db`: "ok" when it is sound.
pub fn integrity_of(db: &Path) -> String {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// How many users hold `handle` (a sign-up that was answered 201 holds it once).
pub fn users_with_handle(c: &rusqlite::Connection, handle: &str) -> i64 {
    c.query_row(
        "SELECT count(*) FROM users WHERE handle = ?1",
        [handle],
        |r| r.get(0),
    )
    .unwrap()
}

/// The gharart-id binary that cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_gharart-id");

/// Runs a command-line subcommand against the server's database. The command reads the system
/// clock: a server started at the real time (`start_now`) has its manual clock brought up to it
/// after the command, so that what the command queued "now" is due for the server too.
pub fn cli(s: &TestServer, args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(s.db_path())
        .output()
        .unwrap();
    let lag = Clock::System.now() - s.clock.now();
    if (1..120).contains(&lag) {
        s.clock.advance(lag);
    }
    out
}

/// [`cli`], which must succeed; its standard output.
pub fn cli_ok(s: &TestServer, args: &[&str]) -> String {
    let out = cli(s, args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A started binary that is killed when the test ends, also when an assertion fails first.
pub struct Reaper(pub Child);

impl std::ops::Deref for Reaper {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaper {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` as built in `cmd` (its stdout is taken) and returns it with the address it
/// printed.
pub fn serve_child(mut cmd: Command) -> (Reaper, SocketAddr) {
    let mut child = Reaper(cmd.stdout(Stdio::piped()).spawn().unwrap());
    let addr = printed_address(&mut child);
    (child, addr)
}

/// Reads the first line a started `serve` prints on stdout and returns the address in it.
pub fn printed_address(child: &mut Child) -> SocketAddr {
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    addr.parse().unwrap()
}

/// Stops a started binary with SIGTERM and checks that it exits cleanly.
pub fn stop_gracefully(mut child: Reaper) {
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(child.wait().unwrap().success(), "a clean stop");
}
