//! Faults of the file and the disk (issue 7): a database locked by another process, a filesystem
//! that is read-only when the server starts, and a full disk. Each answers 503 `unavailable` with a
//! stable `reason` and `Retry-After`, changes nothing, passes by itself when the fault goes, and
//! leaves the file intact. The disk faults run on a small tmpfs the test mounts, which needs root
//! (`tests/run.sh` runs as root in CI; without root the tests fail saying so, never skip).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;
use crate::crash::spawn_binary_with;

/// A tmpfs of a fixed size, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            mounted,
            "mounting a tmpfs failed: the disk fault tests need root (run tests/run.sh as root, as CI does)"
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, mode: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(self.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "remount {mode}: {out:?}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

/// Asserts a 503 `unavailable` with `reason` and a `Retry-After`.
fn assert_unavailable(r: &Resp, reason: &str, what: &str) {
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (503, "unavailable"),
        "{what}: {}",
        r.text()
    );
    assert_eq!(r.json()["error"]["reason"], reason, "{what}");
    assert!(r.header("Retry-After").is_some(), "{what}: Retry-After");
}

/// Polls `probe` until it holds, for up to 5 s (a fault is retried every half second).
fn within_seconds(what: &str, probe: impl FnMut() -> bool) {
    assert!(eventually(5, probe), "did not recover by itself: {what}");
}

#[test]
fn a_database_locked_by_another_process_answers_503_and_recovers() {
    let s = TestServer::start();
    let holder = rusqlite::Connection::open(s.db_path()).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = Instant::now();
    let r = s.signup("blocked");
    assert_unavailable(&r, "database_busy", "a stable code, not a 500");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "gave up after the busy timeout"
    );
    assert_eq!(
        request(s.addr, "GET", "/healthz", &[], b"").status,
        200,
        "reads go on beside the lock (WAL)"
    );
    holder.execute_batch("COMMIT").unwrap();
    assert_eq!(
        s.signup("blocked").status,
        201,
        "recovers by itself when the lock goes"
    );
    assert_eq!(integrity_of(&s.db_path()), "ok");
}

fn login(addr: SocketAddr, handle: &str) -> Resp {
    post(
        addr,
        "/v2/auth/login",
        &json!({"login": handle, "password": PASSWORD}),
        None,
    )
}

fn me(addr: SocketAddr, token: &str) -> Resp {
    request(
        addr,
        "GET",
        "/v2/auth/me",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    )
}

/// A fixed issuer, so that tokens outlive a restart on another port.
const ISSUER: &[&str] = &["--issuer", "http://gharart.test"];

/// A volume that comes up read-only (a host's filesystem check, a read-only mount by mistake):
/// the server starts anyway and says so on every route, then heals once it is writable again.
#[test]
fn a_read_only_filesystem_at_start_answers_503_and_recovers_when_writable() {
    let fs = Tmpfs::mount("32m");
    let (child, addr) = spawn_binary_with(fs.path(), ISSUER);
    let handle = "holly";
    assert_eq!(
        try_post(
            addr,
            "/v2/auth/signup",
            &json!({"handle": handle, "email": email_of(handle), "password": PASSWORD}),
            None
        )
        .unwrap()
        .status,
        201
    );
    let code = wait_for_codes(&fs.path().join("mail"), &email_of(handle), 1)
        .pop()
        .unwrap();
    let confirmed = post(
        addr,
        "/v2/auth/signup/confirm",
        &json!({"email": email_of(handle), "code": code}),
        None,
    );
    assert_eq!(confirmed.status, 200, "{}", confirmed.text());
    let session = login(addr, handle).json();
    let token = session["accessToken"].as_str().unwrap().to_owned();
    stop_gracefully(child);
    let db = fs.path().join("crash.db");
    let users_before = count_users(&db);

    fs.remount("ro");
    let (child, addr) = spawn_binary_with(fs.path(), ISSUER);
    let health = request(addr, "GET", "/healthz", &[], b"");
    assert_unavailable(&health, "read_only", "/healthz");
    assert_unavailable(&login(addr, handle), "read_only", "sign-in");
    assert_unavailable(&me(addr, &token), "read_only", "/v2/auth/me");
    let signup = post(
        addr,
        "/v2/auth/signup",
        &json!({"handle": "ivy", "email": email_of("ivy"), "password": PASSWORD}),
        None,
    );
    assert_unavailable(&signup, "read_only", "sign-up");

    fs.remount("rw");
    within_seconds("/healthz", || {
        request(addr, "GET", "/healthz", &[], b"").status == 200
    });
    assert_eq!(me(addr, &token).status, 200, "the old session is intact");
    assert_eq!(login(addr, handle).status, 200, "sign-in works again");
    stop_gracefully(child);
    assert_eq!(integrity_of(&db), "ok");
    assert_eq!(
        count_users(&db),
        users_before,
        "the refused sign-up left nothing"
    );
}

fn count_users(db: &Path) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap()
}

/// Fills the filesystem at `dir` with one file, to the last byte it takes.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    while f.write_all(&[0]).is_ok() {}
    path
}

#[test]
fn a_full_disk_answers_503_changes_nothing_and_recovers_when_space_returns() {
    let fs = Tmpfs::mount("16m");
    let db = fs.path().join("id.db");
    let s = TestServer::start_with(&["--db", db.to_str().unwrap()]);
    let token = s.access_token("holly");
    let filler = fill(fs.path());

    // The WAL may still have room for a few writes; the disk is full once one is refused.
    let mut acknowledged: Vec<String> = Vec::new();
    let mut refused: Option<(String, Resp)> = None;
    for n in 0..500 {
        let handle = format!("elf{n}");
        let r = s.signup(&handle);
        match r.status {
            201 => acknowledged.push(handle),
            _ => {
                refused = Some((handle, r));
                break;
            }
        }
    }
    let (refused_handle, r) = refused.expect("a write is refused on a full disk");
    assert_unavailable(&r, "disk_full", "sign-up on a full disk");
    assert_unavailable(
        &s.post(
            "/v2/auth/login",
            json!({"login": "holly", "password": PASSWORD}),
        ),
        "disk_full",
        "sign-in (it writes a session)",
    );
    assert_eq!(me(s.addr, &token).status, 200, "reads go on");

    std::fs::remove_file(&filler).unwrap();
    within_seconds("a sign-up", || s.signup("snowdrop").status == 201);
    assert_eq!(
        s.post(
            "/v2/auth/login",
            json!({"login": "holly", "password": PASSWORD})
        )
        .status,
        200
    );
    let c = rusqlite::Connection::open(&db).unwrap();
    let has = |handle: &str| users_with_handle(&c, handle) == 1;
    for handle in &acknowledged {
        assert!(has(handle), "acknowledged sign-up {handle} is there");
    }
    assert!(!has(&refused_handle), "the refused sign-up left nothing");
    let refused_id = r.header("X-Request-Id").unwrap().to_owned();
    within_seconds("the refused request's record", || {
        c.query_row(
            "SELECT count(*) FROM request_log WHERE request_id = ?1 AND status = 503",
            [&refused_id],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    });
    drop(c);
    assert_eq!(integrity_of(&db), "ok");
}
