//! Mutated bodies on every POST route that takes one, and mutated bearer credentials (the
//! `bearer-*` seeds, sent as `GET /v2/auth/me`'s credential) (issue 7): for each seed in
//! `fuzz/seeds/bodies/` (the same seeds `fuzz/run.sh` gives the `bodies` fuzz target), thousands of
//! deterministic mutants go to the real server over keep-alive connections. None may answer 5xx,
//! and every refusal has its route's error shape. The seeds name live values as placeholders
//! (`$TOKEN`, `$REFRESH`, `$CLIENT`, `$HANDLE`, `$EMAIL`, `$PASSWORD`, and the live ceremonies
//! `$PASSKEY_REGISTER`, `$PASSKEY_LOGIN`), so that mutants reach past authentication into each
//! route's own checks.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

/// Mutants per seed (24 seeds: 21 route bodies, and 3 bearer credentials).
const MUTANTS: usize = 2000;

/// A seed: the route, whether the body is a form, and the body with its placeholders filled.
struct Seed {
    name: String,
    path: String,
    form: bool,
    body: Vec<u8>,
}

/// The inputs in `fuzz/<dir>/bodies/` (a missing folder has none), placeholders filled.
fn inputs(dir: &str, values: &[(&str, String)]) -> Vec<Seed> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(dir)
        .join("bodies");
    let mut seeds: Vec<Seed> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let text = String::from_utf8(std::fs::read(&path).ok()?).ok()?;
            let (head, body) = text.split_once('\n')?;
            let (route, kind) = head.split_once(' ')?;
            let mut body = body.to_owned();
            for (name, value) in values {
                body = body.replace(name, value);
            }
            Some(Seed {
                name: path.file_name()?.to_string_lossy().into_owned(),
                path: route.to_owned(),
                form: kind == "form",
                body: body.into_bytes(),
            })
        })
        .collect();
    seeds.sort_by(|a, b| a.name.cmp(&b.name));
    seeds
}

/// xorshift64*: the same mutants on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

const PIECES: &[&str] = &[
    "null",
    "true",
    "-0",
    "1e999",
    "99999999999999999999",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "%",
    "%00",
    "%zz",
    "%ff",
    "&",
    "=",
    "+",
    "\n",
    "\0",
    "é",
    "\u{202e}",
    "gha_rt_",
    "gha_pat_",
    "eyJhbGciOiJub25lIn0.",
    "'; DROP TABLE users; --",
    "../../",
];

fn odd_value(rng: &mut Rng, others: &serde_json::Map<String, Value>) -> Option<Value> {
    Some(match rng.below(14) {
        0 => Value::Null,
        1 => json!(0),
        2 => json!(-1),
        3 => json!(1.5),
        4 => json!(1e300),
        5 => json!(true),
        6 => json!([]),
        7 => json!({}),
        8 => json!(""),
        9 => json!("a".repeat(5000)),
        10 => json!("\u{0}\u{7f}\u{202e}é"),
        // Past serde_json's recursion limit (128).
        11 => serde_json::from_str(&format!("{}1{}", "[".repeat(200), "]".repeat(200))).ok()?,
        12 => others.values().nth(rng.below(others.len()))?.clone(),
        _ => return None,
    })
}

/// One to three mutations of `seed`: byte-level (flip, cut, splice, repeat, truncate) or, while
/// the body still parses, structural (a field's value swapped for an odd one, removed or added).
fn mutate(rng: &mut Rng, seed: &Seed) -> Vec<u8> {
    let mut b = seed.body.clone();
    for _ in 0..1 + rng.below(3) {
        let len = b.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                let j = (i + 1 + rng.below(16)).min(len);
                b.drain(i..j);
            }
            2 => {
                let piece = PIECES[rng.below(PIECES.len())].as_bytes();
                let i = rng.below(len + 1);
                b.splice(i..i, piece.iter().copied());
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let j = (i + 1 + rng.below(32)).min(len);
                let run = b[i..j].repeat(1 + rng.below(50));
                b.splice(i..i, run);
            }
            4 => b.truncate(rng.below(len + 1)),
            _ if seed.form => {
                let text = String::from_utf8_lossy(&b).into_owned();
                let mut pairs: Vec<String> = text.split('&').map(str::to_owned).collect();
                let i = rng.below(pairs.len());
                let key = pairs[i].split('=').next().unwrap_or("").to_owned();
                match rng.below(3) {
                    0 => pairs[i] = format!("{key}={}", PIECES[rng.below(PIECES.len())]),
                    1 => pairs.push(pairs[i].clone()),
                    _ => drop(pairs.remove(i)),
                }
                b = pairs.join("&").into_bytes();
            }
            _ => {
                if let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(&b) {
                    let keys: Vec<String> = obj.keys().cloned().collect();
                    let key = keys
                        .get(rng.below(keys.len()))
                        .cloned()
                        .unwrap_or_else(|| "extra".into());
                    match odd_value(rng, &obj) {
                        Some(v) => drop(obj.insert(key, v)),
                        None => drop(obj.remove(&key)),
                    }
                    b = serde_json::to_vec(&obj).unwrap();
                }
            }
        }
    }
    b
}

/// One keep-alive connection; reconnects when the server closes it.
struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    fn send(&mut self, raw: &[u8]) -> (u16, Vec<u8>) {
        for _ in 0..3 {
            if let Some(answer) = self.try_send(raw) {
                return answer;
            }
            self.conn = None;
        }
        panic!(
            "the server stopped answering {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(300)])
        );
    }

    fn try_send(&mut self, raw: &[u8]) -> Option<(u16, Vec<u8>)> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(self.addr).ok()?;
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .ok()?;
            self.conn = Some(BufReader::new(stream));
        }
        let conn = self.conn.as_mut()?;
        conn.get_mut().write_all(raw).ok()?;
        let mut line = String::new();
        conn.read_line(&mut line).ok()?;
        let status: u16 = line.split(' ').nth(1)?.parse().ok()?;
        let (mut length, mut close) = (None, false);
        loop {
            let mut header = String::new();
            conn.read_line(&mut header).ok()?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (k, v) = header.split_once(':')?;
            match k.to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse::<usize>().ok(),
                "connection" => close = v.trim().eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut body = vec![0; length?];
        conn.read_exact(&mut body).ok()?;
        if close {
            self.conn = None;
        }
        Some((status, body))
    }
}

fn raw(seed: &Seed, body: &[u8], bearer: &str) -> Vec<u8> {
    if seed.name.starts_with("bearer-") {
        // The mutant is the credential: JWT, refresh-token-shaped and PAT parsing, and lookups.
        // It is kept on one line; any other byte goes as it is (a control character is refused
        // with the error envelope, bytes past ASCII are taken as opaque text).
        let credential: Vec<u8> = body
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        let mut raw =
            b"GET /v2/auth/me HTTP/1.1\r\nHost: gharart.test\r\nAuthorization: Bearer ".to_vec();
        raw.extend_from_slice(&credential);
        raw.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        return raw;
    }
    let kind = if seed.form {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    let auth = if seed.path.starts_with("/v2/") || seed.path == "/oauth/register" {
        format!("Authorization: Bearer {bearer}\r\n")
    } else {
        String::new()
    };
    let mut raw = format!(
        "POST {} HTTP/1.1\r\nHost: gharart.test\r\nContent-Type: {kind}\r\n{auth}Content-Length: {}\r\n\r\n",
        seed.path,
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// The refusal has the shape of its route: API.md's envelope on `/v2`, RFC 6749's on `/oauth`.
fn assert_error_shape(seed: &Seed, status: u16, body: &[u8], mutant: &[u8]) {
    let v: Value = serde_json::from_slice(body).unwrap_or_else(|_| {
        panic!(
            "{} {status} is not JSON for {:?}",
            seed.name,
            String::from_utf8_lossy(mutant)
        )
    });
    let ok = if seed.path.starts_with("/v2/") {
        v["error"]["code"].is_string() && v["error"]["requestId"].is_string()
    } else {
        v["error"].is_string()
    };
    assert!(ok, "{} {status}: unexpected error shape {v}", seed.name);
}

#[test]
fn thousands_of_mutated_bodies_per_route_never_get_a_5xx() {
    let (s, members) = TestServer::start_demo();
    let (holly, noel) = (&members[0], &members[2]);
    let target = &members[1];
    let client: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT id FROM oauth_clients LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let session = |(login, password): &(String, String)| {
        let r = s.post(
            "/v2/auth/login",
            json!({"login": login, "password": password}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        (
            v["accessToken"].as_str().unwrap().to_owned(),
            v["refreshToken"].as_str().unwrap().to_owned(),
        )
    };
    // Each seed gets its own session (a logout mutant revokes only its own; noel's are for it).
    let all = inputs("seeds", &[]);
    assert!(all.len() >= 24, "the seeds are there");
    let jobs: Vec<(Seed, String)> = all
        .iter()
        .map(|seed| {
            let (token, refresh) = session(if seed.name.starts_with("logout") {
                noel
            } else {
                holly
            });
            // Live ceremonies, so that mutated WebAuthn answers reach the parser and the checks
            // behind their challenge (a mutant that does not parse spends nothing).
            let ceremony = |path: &str, bearer: Option<&str>| {
                let r = post(s.addr, path, &json!({}), bearer);
                assert_eq!(r.status, 200, "{path}: {}", r.text());
                r.json()["challengeId"].as_str().unwrap().to_owned()
            };
            let values = [
                (
                    "$PASSKEY_REGISTER",
                    ceremony("/v2/auth/passkeys/register/start", Some(&token)),
                ),
                (
                    "$PASSKEY_LOGIN",
                    ceremony("/v2/auth/passkeys/login/start", None),
                ),
                ("$TOKEN", token.clone()),
                ("$REFRESH", refresh),
                ("$CLIENT", client.clone()),
                ("$HANDLE", target.0.clone()),
                ("$EMAIL", format!("{}@campaign.example", target.0)),
                ("$PASSWORD", target.1.clone()),
            ];
            let seed = inputs("seeds", &values)
                .into_iter()
                .find(|x| x.name == seed.name)
                .unwrap();
            (seed, token)
        })
        .collect();
    let addr = s.addr;
    let mut tally: Vec<(String, [usize; 5])> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(jobs.len().div_ceil(2))
            .map(|chunk| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    let mut client = Client { addr, conn: None };
                    for (seed, token) in chunk {
                        // Seeded by the seed's name (FNV-1a), so each seed gets its own mutants.
                        let mut rng = Rng(seed.name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
                            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                        }));
                        let mut by_class = [0usize; 5];

                        for _ in 0..MUTANTS {
                            let mutant = mutate(&mut rng, seed);
                            let (status, body) = client.send(&raw(seed, &mutant, token));
                            assert!(
                                status < 500,
                                "{} → {status} {} for {:?}",
                                seed.name,
                                String::from_utf8_lossy(&body),
                                String::from_utf8_lossy(&mutant)
                            );
                            if status >= 400 {
                                assert_error_shape(seed, status, &body, &mutant);
                            }
                            by_class[usize::from(status / 100) - 1] += 1;
                        }
                        out.push((seed.name.clone(), by_class));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    tally.sort();
    for (name, by_class) in &tally {
        assert_eq!(by_class.iter().sum::<usize>(), MUTANTS, "{name}");
        assert!(by_class[3] > 0, "{name}: some mutants are refused");
    }
    let accepted: usize = tally.iter().map(|(_, c)| c[1]).sum();
    assert!(
        accepted > 0,
        "some mutants stay valid and go all the way through: {tally:?}"
    );
}

/// The seeds as they are, and any input a fuzzing run kept in `fuzz/regressions/bodies/`.
#[test]
fn seeds_and_fuzz_regressions_replay_without_a_5xx() {
    let (s, members) = TestServer::start_demo();
    let r = s.post(
        "/v2/auth/login",
        json!({"login": members[0].0, "password": members[0].1}),
    );
    let session = r.json();
    let values = [
        (
            "$TOKEN",
            session["accessToken"].as_str().unwrap().to_owned(),
        ),
        (
            "$REFRESH",
            session["refreshToken"].as_str().unwrap().to_owned(),
        ),
        ("$CLIENT", "unknown-client".to_owned()),
        ("$HANDLE", members[1].0.clone()),
        ("$EMAIL", format!("{}@campaign.example", members[1].0)),
        ("$PASSWORD", members[1].1.clone()),
    ];
    let token = values[0].1.clone();
    let mut client = Client {
        addr: s.addr,
        conn: None,
    };
    let mut sent = 0;
    for dir in ["seeds", "regressions"] {
        for input in inputs(dir, &values) {
            let (status, body) = client.send(&raw(&input, &input.body, &token));
            assert!(status < 500, "{dir}/{} → {status}", input.name);
            if status >= 400 {
                assert_error_shape(&input, status, &body, &input.body);
            }
            sent += 1;
        }
    }
    assert!(sent >= 16);
}
