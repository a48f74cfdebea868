//! The operator command line (issue 5): users, keys, token inspect, backup, and exit codes.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn importing_a_thousand_rows_twice() {
    let s = TestServer::start_now(&[]);
    let mut csv = String::from("handle,email,displayName\n");
    for i in 0..1000 {
        csv.push_str(&format!(
            "crew{i:04},crew{i:04}@gharart.com,\"Crew {i}, Holiday\"\n"
        ));
    }
    csv.push_str("bad handle,x@gharart.com\ncrew0001,someone-else@gharart.com\n");
    let file = s.dir.path().join("crew.csv");
    std::fs::write(&file, &csv).unwrap();

    let dry = cli(
        &s,
        &["users", "import", file.to_str().unwrap(), "--dry-run"],
    );
    assert!(
        stdout(&dry).contains("1000 would be invited, 0 already existed, 2 invalid (dry run"),
        "{}",
        stdout(&dry)
    );
    assert_eq!(
        stdout(&cli(&s, &["users", "list"])).lines().count(),
        0,
        "a dry run writes nothing"
    );

    let started = Instant::now();
    let first = cli(&s, &["users", "import", file.to_str().unwrap()]);
    let took = started.elapsed();
    let out = stdout(&first);
    assert_eq!(
        first.status.code(),
        Some(1),
        "invalid rows make the run fail, after the valid ones"
    );
    assert!(
        out.contains("1000 invited, 0 already existed, 2 invalid"),
        "{out}"
    );
    assert!(out.contains("row 2: created crew0000 <crew0000@gharart.com>"));
    assert!(out.contains("row 1002: invalid: handle must be"), "{out}");
    assert!(out.contains("row 1003: invalid: handle crew0001 belongs to another email"));
    assert!(
        took < Duration::from_secs(30),
        "1,000 rows in seconds, not minutes: {took:?}"
    );
    eprintln!("imported 1000 rows in {took:?}");

    let second = cli(&s, &["users", "import", file.to_str().unwrap()]);
    assert!(
        stdout(&second).contains("0 invited, 1000 already existed, 2 invalid"),
        "safe to run twice"
    );
    let list = stdout(&cli(&s, &["users", "list"]));
    assert_eq!(list.lines().count(), 1000);
    assert!(list.lines().next().unwrap().contains(" invited "));

    // The running server delivers the queued invitations; a teammate confirms, choosing a password.
    let email = "crew0042@gharart.com";
    let code = wait_for_codes(&s.mail_dir(), email, 1).pop().unwrap();
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": email, "code": code}),
    );
    assert_eq!(
        (r.status, r.json()["error"]["field"].as_str()),
        (422, Some("password")),
        "an invited account must choose a password"
    );
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": email, "code": code, "password": "password"}),
    );
    assert_eq!(r.error_code(), "weak_password");
    let r = s.post(
        "/v2/auth/signup/confirm",
        json!({"email": email, "code": code, "password": PASSWORD}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["user"]["displayName"], "Crew 42, Holiday");
    assert_eq!(s.login("crew0042")["user"]["emailConfirmed"], true);
}

#[test]
fn users_add_and_disable() {
    let s = TestServer::start_now(&[]);
    let add = cli(
        &s,
        &[
            "users",
            "add",
            "Nutcracker",
            "nut@gharart.com",
            "--display-name",
            "Nut",
        ],
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    assert!(stdout(&add).contains("created Nutcracker"));
    let again = cli(&s, &["users", "add", "nutcracker", "NUT@gharart.com"]);
    assert!(again.status.success() && stdout(&again).contains("already exists"));
    let clash = cli(&s, &["users", "add", "other", "nut@gharart.com"]);
    assert_eq!(clash.status.code(), Some(1));

    let session = s.ready_user("grinch");
    let pat = s
        .post_auth(
            "/v2/auth/tokens",
            json!({"name": "p", "scopes": ["profile"], "expiresInDays": 1}),
            session["accessToken"].as_str().unwrap(),
        )
        .json();
    // Checked once before, so that the server holds these tokens' rows in its cache.
    for token in [&session["accessToken"], &pat["token"]] {
        assert_eq!(
            s.get_auth("/v2/auth/me", token.as_str().unwrap()).status,
            200
        );
    }
    let off = cli(&s, &["users", "disable", "grinch"]);
    assert!(
        off.status.success(),
        "{}",
        String::from_utf8_lossy(&off.stderr)
    );
    assert_eq!(
        s.get_auth("/v2/auth/me", session["accessToken"].as_str().unwrap())
            .error_code(),
        "session_revoked"
    );
    assert_eq!(
        s.get_auth("/v2/auth/me", pat["token"].as_str().unwrap())
            .error_code(),
        "invalid_token"
    );
    let r = s.post(
        "/v2/auth/login",
        json!({"login": "grinch", "password": PASSWORD}),
    );
    assert_eq!(r.error_code(), "account_disabled");
    assert_eq!(
        cli(&s, &["users", "disable", "nobody"]).status.code(),
        Some(1)
    );
    assert!(
        stdout(&cli(&s, &["users", "list"]))
            .lines()
            .any(|l| l.starts_with("grinch") && l.contains("disabled"))
    );
}

#[test]
fn key_rotation_with_live_tokens() {
    let s = TestServer::start_now(&[]);
    let old = s.access_token("prancer");
    let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let first_kid = kid(&old);

    let rotate = cli(&s, &["keys", "rotate"]);
    assert!(
        rotate.status.success(),
        "{}",
        String::from_utf8_lossy(&rotate.stderr)
    );
    let new_kid = stdout(&rotate)
        .lines()
        .next()
        .unwrap()
        .strip_prefix("new current key ")
        .unwrap()
        .to_owned();
    assert!(
        eventually(5, || kid(s.login("prancer")["accessToken"]
            .as_str()
            .unwrap())
            == new_kid),
        "the server picks it up within 5 s"
    );
    assert_eq!(
        s.get_auth("/v2/auth/me", &old).status,
        200,
        "tokens of the old key stay valid until they expire"
    );
    let list = stdout(&cli(&s, &["keys", "list"]));
    assert!(
        list.contains(&format!("{new_kid}  HS256  created")) && list.contains("current"),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with(&first_kid) && l.contains("superseded")),
        "{list}"
    );
    let export = stdout(&cli(&s, &["keys", "export"]));
    assert_eq!(export.lines().count(), 2, "both keys verify: {export}");
    assert!(
        export
            .lines()
            .all(|l| l.split(' ').nth(1).is_some_and(|k| k.len() == 43))
    );

    // The asymmetric pair rotated with it: both pairs are in the JWKS, the new one current.
    let published = |s: &TestServer| -> Vec<String> {
        request(s.addr, "GET", "/oauth/jwks", &[], b"").json()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        eventually(5, || published(&s).len() == 4),
        "{:?}",
        published(&s)
    );
    for alg in ["RS256", "ES256"] {
        assert_eq!(
            list.lines()
                .filter(|l| l.contains(&format!("  {alg}  ")))
                .count(),
            2,
            "{list}"
        );
    }
    let exported: Value =
        serde_json::from_str(&stdout(&cli(&s, &["keys", "export", "--jwks"]))).unwrap();
    let exported_kids: Vec<&str> = exported["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(exported_kids.len(), 4);
    assert!(
        exported["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("d").is_none()),
        "public halves only: {exported}"
    );

    std::thread::sleep(Duration::from_millis(1100));
    let retire = cli(&s, &["keys", "rotate", "--retire-after", "0s"]);
    assert!(
        stdout(&retire).contains(&format!("retired {first_kid}")),
        "{}",
        stdout(&retire)
    );
    assert!(
        eventually(5, || s.get_auth("/v2/auth/me", &old).status == 401),
        "a retired key verifies nothing"
    );
    assert_eq!(stdout(&cli(&s, &["keys", "export"])).lines().count(), 2);
    assert!(
        eventually(5, || {
            let now = published(&s);
            now.len() == 4 && !exported_kids.iter().all(|k| now.iter().any(|n| n == k))
        }),
        "the first pair retired from the JWKS, the newest pair joined it"
    );
}

#[test]
fn token_inspect_explains_why() {
    let s = TestServer::start_now(&[]);
    let session = s.ready_user("vixen");
    let at = session["accessToken"].as_str().unwrap();
    let ok = cli(&s, &["token", "inspect", at]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let out = stdout(&ok);
    assert!(
        out.contains("access token (JWT)")
            && out.contains("(vixen)")
            && out.contains("VALID")
            && out.contains("(in 15m")
            || out.contains("(in 14m"),
        "{out}"
    );

    // Refresh reuse: rotate, wait past the interval, reuse; inspect names the cause and time.
    let rt = session["refreshToken"].as_str().unwrap();
    assert_eq!(
        s.post("/v2/auth/refresh", json!({"refreshToken": rt}))
            .status,
        200
    );
    s.clock.advance(11);
    assert_eq!(
        s.post("/v2/auth/refresh", json!({"refreshToken": rt}))
            .error_code(),
        "refresh_token_reused"
    );
    let reused = cli(&s, &["token", "inspect", rt]);
    assert_eq!(reused.status.code(), Some(1));
    let out = stdout(&reused);
    assert!(
        out.contains("refresh token")
            && out.contains("detected at")
            && out.contains("generation 0 was presented"),
        "{out}"
    );
    let out = stdout(&cli(&s, &["token", "inspect", at]));
    assert!(
        out.contains("NOT VALID") && out.contains("refresh token reuse detected"),
        "the access token's session: {out}"
    );

    let fresh = s.login("vixen");
    let pat = s
        .post_auth(
            "/v2/auth/tokens",
            json!({"name": "ci", "scopes": ["profile"], "expiresInDays": 1}),
            fresh["accessToken"].as_str().unwrap(),
        )
        .json();
    assert_eq!(
        cli(&s, &["token", "inspect", pat["token"].as_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    let del = request(
        s.addr,
        "DELETE",
        &format!("/v2/auth/tokens/{}", pat["id"].as_str().unwrap()),
        &[(
            "Authorization",
            &format!("Bearer {}", fresh["accessToken"].as_str().unwrap()),
        )],
        b"",
    );
    assert_eq!(del.status, 204);
    let out = stdout(&cli(
        &s,
        &["token", "inspect", pat["token"].as_str().unwrap()],
    ));
    assert!(
        out.contains("personal access token") && out.contains("it was revoked"),
        "{out}"
    );
    let out = stdout(&cli(&s, &["token", "inspect", "garbage"]));
    assert!(out.contains("NOT VALID"));

    let early = TestServer::start_at_offset(-3600);
    let stale = early.access_token("comet");
    let expired = Command::new(BIN)
        .args(["token", "inspect", &stale, "--db"])
        .arg(early.db_path())
        .output()
        .unwrap();
    assert_eq!(expired.status.code(), Some(1));
    assert!(
        stdout(&expired).contains("it expired 45m"),
        "{}",
        stdout(&expired)
    );
}

#[test]
fn backup_under_write_load_holds_every_acknowledged_write() {
    let s = TestServer::start_now(&[]);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let acked = std::sync::Mutex::new(Vec::<(Instant, String)>::new());
    let copy = s.dir.path().join("copy.db");
    let (began, out) = std::thread::scope(|scope| {
        for t in 0..3 {
            let (stop, acked, addr) = (&stop, &acked, s.addr);
            scope.spawn(move || {
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        return;
                    }
                    let h = format!("bk{t}x{i}");
                    let r = post(
                        addr,
                        "/v2/auth/signup",
                        &json!({"handle": h, "email": email_of(&h), "password": PASSWORD}),
                        None,
                    );
                    if r.status == 201 {
                        acked.lock().unwrap().push((Instant::now(), h));
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(500));
        let began = Instant::now();
        let out = cli(&s, &["backup", copy.to_str().unwrap()]);
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        (began, out)
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("key file"),
        "reminds that the key file is backed up apart"
    );
    assert_eq!(integrity_of(&copy), "ok");
    let c = rusqlite::Connection::open(&copy).unwrap();
    let before: Vec<String> = acked
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| *t < began)
        .map(|(_, h)| h.clone())
        .collect();
    assert!(
        before.len() >= 5,
        "writes ran before the backup: {}",
        before.len()
    );
    for h in &before {
        assert_eq!(
            users_with_handle(&c, h),
            1,
            "{h} was acknowledged before the backup began"
        );
    }
    let again = cli(&s, &["backup", copy.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "never overwrites");
}

#[test]
fn usage_errors_exit_2_and_failures_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["users"][..],
        &["token", "inspect"],
        &["keys", "rotate", "--bogus"],
        &["nonsense"],
    ] {
        let o = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
    let missing = Command::new(BIN)
        .args(["keys", "list", "--db"])
        .arg(dir.path().join("none.db"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let help = Command::new(BIN)
        .args(["users", "import", "--help"])
        .output()
        .unwrap();
    let help = stdout(&help).to_lowercase();
    assert!(
        help.contains("safe to run twice") && help.contains("--dry-run"),
        "help a newcomer understands: {help}"
    );
}
