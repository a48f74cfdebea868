//! The team console (`/admin`, issue 19) through the real server, with a cookie-keeping client:
//! the team table and its actions per row and in bulk (each the CLI's domain call, each with its
//! audit row), who never gets in (a member, a PAT, an OAuth app's token, even an admin's), CSRF
//! on every form, `--require-mfa-for admin`, and the CSV import: a preview of a 100,000-row file
//! with a BOM, CRLF, quotes, a repeated row and a bad email on row 5,000 that writes nothing,
//! then an apply (of a 5,000-row file), with progress, that writes the good rows once however
//! often it is asked. The same console in Chromium
//! is `browser::the_team_console_in_chromium`.

use serde_json::{Value, json};

use crate::common::*;
use crate::mfa::{authenticator, enrolled};
use crate::oauth_support::*;

/// A browser signed in as `handle` through `/login?return_to=/admin`.
pub fn signed_in(s: &TestServer, handle: &str) -> Browser {
    let mut b = Browser::default();
    let back = b.sign_in_at(s, "/login?return_to=/admin", handle);
    assert_eq!(back, "/admin");
    b
}

/// The CSRF token of a page's forms.
fn csrf(s: &TestServer, b: &mut Browser, page: &str) -> String {
    let r = b.get(s, page);
    assert_eq!(r.status, 200, "{}", r.text());
    hidden(&r.text(), "csrf_token")
}

fn act(s: &TestServer, b: &mut Browser, pairs: &[(&str, &str)]) -> Resp {
    let token = csrf(s, b, "/admin");
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(pairs);
    b.post(s, "/admin/team", &all)
}

fn column(s: &TestServer, handle: &str, column: &str) -> String {
    let c = rusqlite::Connection::open(s.db_path()).unwrap();
    c.query_row(
        &format!("SELECT {column} FROM users WHERE handle = ?1"),
        [handle],
        |r| r.get::<_, rusqlite::types::Value>(0),
    )
    .map(|v| match v {
        rusqlite::types::Value::Integer(i) => i.to_string(),
        rusqlite::types::Value::Text(t) => t,
        other => format!("{other:?}"),
    })
    .unwrap()
}

fn audit_lines(s: &TestServer, event: &str) -> Vec<Value> {
    cli_ok(s, &["audit", "--json", "--event", event])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// An admin `holly`, a member `ivy` (signed in: her session body), and two invited people.
fn team(s: &TestServer) -> Value {
    s.ready_user("holly");
    cli_ok(s, &["users", "role", "holly", "admin"]);
    let ivy = s.ready_user("ivy");
    cli_ok(s, &["users", "add", "tinsel", "tinsel@example.com"]);
    cli_ok(s, &["users", "add", "garland", "garland@example.com"]);
    ivy
}

#[test]
fn the_team_table_and_its_actions_per_row_and_in_bulk() {
    let s = TestServer::start_now(&[]);
    let ivy = team(&s);
    let ivy_token = ivy["accessToken"].as_str().unwrap().to_owned();
    let mut b = signed_in(&s, "holly");

    let all = b.get(&s, "/admin").text();
    for handle in ["holly", "ivy", "tinsel", "garland"] {
        assert!(all.contains(&format!("<strong>{handle}</strong>")), "{all}");
    }
    assert!(all.contains("value=\"disable:ivy\""));
    assert!(
        !all.contains("value=\"disable:holly\"") && all.contains("Your own account"),
        "the admin's own row offers nothing that would lock them out"
    );
    let invited = b.get(&s, "/admin?state=invited").text();
    assert!(
        invited.contains("<strong>tinsel</strong>") && invited.contains("<strong>garland</strong>")
    );
    assert!(
        !invited.contains("<strong>ivy</strong>"),
        "a filter shows only its state"
    );
    assert!(invited.contains("2 people in state invited"), "{invited}");
    let bad_state = b.get(&s, "/admin?state=lost");
    assert_eq!(bad_state.status, 400, "{}", bad_state.text());

    // A bulk resend sends each a new code; run again at once, it sends nothing twice.
    let bulk = [
        ("action", "resend"),
        ("handle", "tinsel"),
        ("handle", "garland"),
        ("bulk", "1"),
    ];
    let first = act(&s, &mut b, &bulk);
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(
        first.text().matches("new code queued").count(),
        2,
        "{}",
        first.text()
    );
    assert_eq!(
        wait_for_codes(&s.mail_dir(), "tinsel@example.com", 2).len(),
        2
    );
    assert_eq!(
        wait_for_codes(&s.mail_dir(), "garland@example.com", 2).len(),
        2
    );
    let outbox = s.count("SELECT COUNT(*) FROM outbox");
    let again = act(&s, &mut b, &bulk).text();
    assert_eq!(
        again.matches("skipped: a resend queued mail").count(),
        2,
        "{again}"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM outbox"),
        outbox,
        "nothing queued twice"
    );
    // A row's own resend always sends.
    let row = act(&s, &mut b, &[("row", "resend:tinsel")]).text();
    assert!(row.contains("new code queued"), "{row}");
    assert_eq!(
        wait_for_codes(&s.mail_dir(), "tinsel@example.com", 3).len(),
        3
    );

    // Disable and enable, role, groups, sessions: each reaches the account.
    assert!(
        act(&s, &mut b, &[("row", "disable:ivy")])
            .text()
            .contains("disabled")
    );
    assert_eq!(column(&s, "ivy", "disabled"), "1");
    assert_eq!(s.get_auth("/v2/auth/me", &ivy_token).status, 401);
    act(&s, &mut b, &[("row", "enable:ivy")]);
    assert_eq!(column(&s, "ivy", "disabled"), "0");
    let ivy_again = s.login("ivy");
    act(&s, &mut b, &[("row", "set_role=admin:ivy")]);
    assert_eq!(column(&s, "ivy", "role"), "admin");
    act(&s, &mut b, &[("row", "set_role=member:ivy")]);
    assert_eq!(column(&s, "ivy", "role"), "member");
    let saved = act(
        &s,
        &mut b,
        &[("row", "set_groups:ivy"), ("groups:ivy", "elves, crew")],
    );
    assert!(
        saved.text().contains("groups crew elves"),
        "{}",
        saved.text()
    );
    assert_eq!(column(&s, "ivy", "groups"), "crew elves");
    act(
        &s,
        &mut b,
        &[
            ("action", "add_group"),
            ("value", "night-shift"),
            ("handle", "ivy"),
            ("handle", "tinsel"),
            ("bulk", "1"),
        ],
    );
    assert_eq!(column(&s, "ivy", "groups"), "crew elves night-shift");
    assert_eq!(column(&s, "tinsel", "groups"), "night-shift");
    let revoked = act(&s, &mut b, &[("row", "revoke_sessions:ivy")]).text();
    assert!(revoked.contains("1 sessions revoked"), "{revoked}");
    let me = s.get_auth("/v2/auth/me", ivy_again["accessToken"].as_str().unwrap());
    assert_eq!(me.error_code(), "session_revoked");

    // What would lock the admin out is refused for their own row; nonsense is a 422.
    let own = act(&s, &mut b, &[("row", "disable:holly")]).text();
    assert!(own.contains("not your own account"), "{own}");
    assert_eq!(column(&s, "holly", "disabled"), "0");
    let nonsense = act(
        &s,
        &mut b,
        &[("action", "explode"), ("handle", "ivy"), ("bulk", "1")],
    );
    assert_eq!(nonsense.status, 422, "{}", nonsense.text());
    assert!(nonsense.text().contains("choose one of resend"));
    let bad_group = act(
        &s,
        &mut b,
        &[
            ("action", "add_group"),
            ("value", "Not A Group!"),
            ("handle", "ivy"),
            ("bulk", "1"),
        ],
    );
    assert_eq!(bad_group.status, 422);
    assert_eq!(
        column(&s, "ivy", "groups"),
        "crew elves night-shift",
        "nothing changed"
    );

    // Each action is in the audit log, by the admin, from the browser's address.
    let disabled = audit_lines(&s, "user_disabled");
    assert_eq!(disabled.len(), 1, "{disabled:?}");
    assert_eq!(disabled[0]["actor"]["handle"], "holly");
    assert_eq!(disabled[0]["target"]["handle"], "ivy");
    assert_eq!(disabled[0]["ip"], "127.0.0.1");
    assert!(
        disabled[0]["requestId"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    assert_eq!(audit_lines(&s, "invitation_resent").len(), 3);
    assert_eq!(audit_lines(&s, "user_enabled").len(), 1);
    assert_eq!(audit_lines(&s, "groups_changed").len(), 3);
    let sessions = audit_lines(&s, "session_revoked");
    assert!(
        sessions
            .iter()
            .any(|r| r["actor"]["handle"] == "holly" && r["target"]["handle"] == "ivy")
    );
}

#[test]
fn members_bearer_tokens_and_strangers_never_reach_an_admin_action() {
    let s = TestServer::start_now(&[]);
    team(&s);
    let changes = "SELECT COUNT(*) FROM audit_log WHERE event NOT IN ('login_succeeded', 'pat_created', 'oauth_client_registered')";
    let before = s.count(changes);

    let stranger = request(s.addr, "GET", "/admin/audit", &[], b"");
    assert_eq!(stranger.status, 303);
    assert_eq!(
        stranger.header("Location"),
        Some("/login?return_to=%2Fadmin%2Faudit")
    );

    let mut member = signed_in(&s, "ivy");
    for page in [
        "/admin",
        "/admin/import",
        "/admin/clients",
        "/admin/reports",
        "/admin/audit",
    ] {
        let r = member.get(&s, page);
        assert_eq!(r.status, 403, "{page}");
        assert!(
            r.text().contains("for admins, and ivy is a member"),
            "{}",
            r.text()
        );
    }
    let token = csrf(&s, &mut member, "/account");
    let r = member.post(
        &s,
        "/admin/team",
        &[("csrf_token", &token), ("row", "disable:tinsel")],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(column(&s, "tinsel", "disabled"), "0");

    // A bearer token never gets in, not even an admin's own PAT or an OAuth app's token.
    let holly = s.login("holly");
    let session_token = holly["accessToken"].as_str().unwrap();
    let pat = s.post_auth(
        "/v2/auth/tokens",
        json!({"name": "console?", "scopes": ["profile", "email"], "expiresInDays": 1}),
        session_token,
    );
    let pat = pat.json()["token"].as_str().unwrap().to_owned();
    let client = register(&s, session_token, json!({}));
    let (verifier, challenge) = pkce();
    let mut app_browser = Browser::default();
    let code = code_via_pages(&s, &mut app_browser, &client, &challenge, "holly");
    let app_token = exchange(&s, &client, &code, &verifier).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let console: Vec<_> = gharart_id::http::routes::all()
        .filter(|r| r.path.starts_with("/admin"))
        .collect();
    assert_eq!(console.len(), 11);
    for bearer in [pat.as_str(), app_token.as_str(), session_token] {
        let auth = format!("Bearer {bearer}");
        for route in &console {
            let r = request(
                s.addr,
                route.method,
                &route.path.replace("{id}", "x"),
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                b"row=disable:tinsel&client_id=x",
            );
            assert_eq!(
                r.status,
                403,
                "{} {}: {}",
                route.method,
                route.path,
                r.text()
            );
        }
    }
    assert_eq!(column(&s, "tinsel", "disabled"), "0");
    assert_eq!(
        s.count(changes),
        before,
        "no refused attempt wrote anything"
    );
}

#[test]
fn every_console_form_checks_its_csrf_token() {
    let s = TestServer::start_now(&[]);
    team(&s);
    let mut b = signed_in(&s, "holly");
    let client = register(
        &s,
        s.login("holly")["accessToken"].as_str().unwrap(),
        json!({}),
    );
    let client_id = client["client_id"].as_str().unwrap();
    for (path, pairs) in [
        ("/admin/team", vec![("row", "disable:tinsel")]),
        ("/admin/clients/remove", vec![("client_id", client_id)]),
        ("/admin/import/imp_x/apply", vec![]),
    ] {
        let mut all = vec![("csrf_token", "forged")];
        all.extend(pairs);
        let r = b.post(&s, path, &all);
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert!(r.text().contains("Form expired"), "{path}");
    }
    let upload = multipart_upload(&s, &mut b, "forged", b"a,a@example.com\n");
    assert_eq!(upload.status, 403);
    assert_eq!(column(&s, "tinsel", "disabled"), "0");
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM oauth_clients WHERE id = '{client_id}'"
        )),
        1
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM imports"), 0);

    // With the page's token the same removal works, and is audited.
    let token = csrf(&s, &mut b, "/admin/clients");
    let removed = b.post(
        &s,
        "/admin/clients/remove",
        &[("csrf_token", &token), ("client_id", client_id)],
    );
    assert_eq!(removed.status, 200, "{}", removed.text());
    assert_eq!(s.count("SELECT COUNT(*) FROM oauth_clients"), 0);
    let rows = audit_lines(&s, "oauth_client_removed");
    assert_eq!(rows[0]["actor"]["handle"], "holly");
    assert_eq!(rows[0]["target"]["id"], client_id);
}

#[test]
fn require_mfa_for_admin_takes_only_a_second_factor_session() {
    let s = TestServer::start_now(&["--require-mfa-for", "admin"]);
    s.ready_user("mistletoe");
    cli_ok(&s, &["users", "role", "mistletoe", "admin"]);
    let mut password_only = signed_in(&s, "mistletoe");
    let refused = password_only.get(&s, "/admin");
    assert_eq!(refused.status, 403);
    assert!(
        refused.text().contains("second factor"),
        "{}",
        refused.text()
    );

    let (_, secret, _) = enrolled(&s, "holly");
    cli_ok(&s, &["users", "role", "holly", "admin"]);
    s.clock.advance(30);
    let mut b = Browser::default();
    let login = b.get(&s, "/login?return_to=/admin").text();
    let step = b.post(
        &s,
        "/login",
        &[
            ("csrf_token", &hidden(&login, "csrf_token")),
            ("return_to", "/admin"),
            ("login", "holly"),
            ("password", PASSWORD),
        ],
    );
    let html = step.text();
    let done = b.post(
        &s,
        "/login/mfa",
        &[
            ("csrf_token", &hidden(&html, "csrf_token")),
            ("mfa_token", &hidden(&html, "mfa_token")),
            ("return_to", "/admin"),
            ("code", &authenticator(&secret, s.clock.now())),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(b.get(&s, "/admin").status, 200);
}

/// Posts `file` to `/admin/import` as a browser's form does (multipart/form-data).
fn multipart_upload(s: &TestServer, b: &mut Browser, token: &str, file: &[u8]) -> Resp {
    let boundary = "----gharart-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"crew.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let cookie = b.cookie_header();
    request(
        s.addr,
        "POST",
        "/admin/import",
        &[
            ("Cookie", &cookie),
            (
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            ),
        ],
        &body,
    )
}

/// A spreadsheet's export of `rows` people and one repeat (`rows + 1` rows): a BOM, a header, CRLF, quoted names with commas,
/// groups; row 5,000 has a bad email and the last row repeats the first.
fn crew_file(rows: usize) -> Vec<u8> {
    let mut text = String::from("\u{feff}handle,email,displayName,groups\r\n");
    for i in 1..=rows {
        let email = if i == 5000 {
            "not-an-email".to_owned()
        } else {
            format!("elf{i}@example.com")
        };
        text.push_str(&format!(
            "elf{i},{email},\"Elf {i}, Workshop\",crew;night-shift\r\n"
        ));
    }
    text.push_str("elf1,elf1@example.com,\"Elf 1, Workshop\",crew\r\n");
    text.into_bytes()
}

#[test]
fn an_import_is_previewed_in_full_then_applied_once() {
    let s = TestServer::start_now(&[]);
    team(&s);
    let mut b = signed_in(&s, "holly");
    let users_before = s.count("SELECT COUNT(*) FROM users");
    let outbox_before = s.count("SELECT COUNT(*) FROM outbox");

    let token = csrf(&s, &mut b, "/admin/import");
    let big = multipart_upload(&s, &mut b, &token, &crew_file(99_999));
    assert_eq!(big.status, 200, "{}", big.text());
    let page = big.text();
    assert!(
        page.contains("<strong>99998</strong> to invite"),
        "{}",
        &page[..2000.min(page.len())]
    );
    assert!(page.contains("<strong>1</strong> already there"));
    assert!(page.contains("<strong>1</strong> invalid"));
    assert!(
        page.contains("line 5001</span> elf5000 &lt;not-an-email&gt;: "),
        "the bad row named by its line"
    );
    assert!(
        page.contains("… and 98998 more"),
        "a preview lists at most 1000 rows of a kind"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM users"),
        users_before,
        "a preview writes no user"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM outbox"),
        outbox_before,
        "nor a message"
    );

    // The apply is of a 5,000-row file of the same shape: 100,000 rows take about 40 s of a
    // debug build's CPU and disk, which slowed the timing-sensitive mail tests running beside it.
    let file = crew_file(5_000);
    let token = csrf(&s, &mut b, "/admin/import");
    let preview = multipart_upload(&s, &mut b, &token, &file).text();
    assert!(
        preview.contains("<strong>4999</strong> to invite"),
        "{}",
        &preview[..1500.min(preview.len())]
    );
    let id = preview
        .split("/admin/import/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let apply = |b: &mut Browser| {
        let token = csrf(&s, b, "/admin/import");
        b.post(
            &s,
            &format!("/admin/import/{id}/apply"),
            &[("csrf_token", &token)],
        )
    };
    let started = apply(&mut b);
    assert_eq!(started.status, 303, "{}", started.text());
    assert_eq!(
        started.header("Location"),
        Some(format!("/admin/import/{id}").as_str())
    );
    let twice = apply(&mut b);
    assert_eq!(
        twice.header("Location"),
        Some(format!("/admin/import/{id}?already=1").as_str())
    );
    let mut last = String::new();
    assert!(
        eventually(120, || {
            last = b.get(&s, &format!("/admin/import/{id}")).text();
            last.contains("4999 invited, 1 already there, 1 invalid")
        }),
        "{last}"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM users"), users_before + 4_999);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM users WHERE groups = 'crew night-shift'"),
        4_999
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM users WHERE display_name = 'Elf 7, Workshop'"),
        1
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM imports WHERE state = 'applied' AND body = ''"),
        1
    );
    let third = apply(&mut b);
    assert!(third.header("Location").unwrap().ends_with("already=1"));

    // The same file again: every good row is there already, and nothing is written twice.
    let token = csrf(&s, &mut b, "/admin/import");
    let again = multipart_upload(&s, &mut b, &token, &file).text();
    assert!(
        again.contains("<strong>0</strong> to invite, <strong>5000</strong> already there"),
        "{}",
        &again[..1500.min(again.len())]
    );
    let invited = audit_lines(&s, "user_invited");
    assert_eq!(
        invited
            .iter()
            .filter(|r| r["actor"]["handle"] == "holly")
            .count(),
        4_999
    );

    // Not CSV at all, or nothing in it: the form again with the reason.
    let token = csrf(&s, &mut b, "/admin/import");
    let binary = multipart_upload(&s, &mut b, &token, &[0xff, 0xfe, 0x00, 0x41]);
    assert_eq!(binary.status, 422);
    assert!(binary.text().contains("not UTF-8"));
    let empty = multipart_upload(&s, &mut b, &token, b"\r\n\r\n");
    assert_eq!(empty.status, 422);
}

#[test]
fn the_team_console_in_chromium() {
    crate::browser::require_browser();
    let s = TestServer::start_now(&[]);
    let ivy = team(&s);
    let ivy_token = ivy["accessToken"].as_str().unwrap();
    let started = s.post_auth("/v2/auth/mfa/totp", json!({}), ivy_token);
    let secret = started.json()["secret"].as_str().unwrap().to_owned();
    let confirmed = s.post_auth(
        "/v2/auth/mfa/totp/confirm",
        json!({"code": authenticator(&secret, s.clock.now())}),
        ivy_token,
    );
    assert_eq!(confirmed.status, 200, "{}", confirmed.text());
    let client = register(&s, ivy_token, json!({}));
    let wrong = s.post(
        "/v2/auth/login",
        json!({"login": "ivy", "password": "not-it-at-all-1"}),
    );
    let wrong_rid = wrong.header("X-Request-Id").unwrap().to_owned();
    let report = s.post(
        "/v2/support/report",
        json!({"summary": "ivy cannot sign in", "details": "it says wrong password", "requestId": wrong_rid}),
    );
    assert_eq!(report.status, 201, "{}", report.text());
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("crew.csv");
    std::fs::write(
        &csv,
        "\u{feff}handle,email,displayName,groups\r\nsnow,snow@example.com,\"Snow, Flake\",crew\r\nsleet,not-an-email\r\n",
    )
    .unwrap();
    let shots = dir.path().join("shots");
    std::fs::create_dir_all(&shots).unwrap();
    let base = format!("http://{}", s.addr);
    let r = crate::browser::run_script(
        "admin.mjs",
        &[
            ("BASE_URL", &base),
            ("ADMIN", "holly"),
            ("MEMBER", "ivy"),
            ("PASSWORD", PASSWORD),
            ("CSV", csv.to_str().unwrap()),
        ],
        &shots,
    );

    assert_eq!(
        r["signInPath"], "/login",
        "a browser without a session signs in first"
    );
    assert_eq!(r["afterSignIn"], "/admin", "and comes back to the console");
    for (page, w) in r["widths"].as_object().unwrap() {
        assert!(w.as_i64().unwrap() <= 375, "{page} is {w} px wide at 375");
    }
    assert!(
        r["filteredUrl"]
            .as_str()
            .unwrap()
            .ends_with("state=invited")
    );
    assert_eq!(r["filtered"], 2, "{r}");
    assert_eq!(
        r["bulkNotice"]
            .as_str()
            .unwrap()
            .matches("new code queued")
            .count(),
        2,
        "{r}"
    );
    assert_eq!(
        wait_for_codes(&s.mail_dir(), "tinsel@example.com", 2).len(),
        2,
        "a new code in the mail sink"
    );
    assert_eq!(
        wait_for_codes(&s.mail_dir(), "garland@example.com", 2).len(),
        2
    );
    assert!(
        r["disableNotice"]
            .as_str()
            .unwrap()
            .contains("ivy (done): disabled"),
        "{r}"
    );
    assert!(
        r["groupsNotice"]
            .as_str()
            .unwrap()
            .contains("groups crew elves"),
        "{r}"
    );
    assert_eq!(column(&s, "ivy", "disabled"), "0", "enabled again");
    assert!(
        r["promoted"].as_str().unwrap().contains("role admin"),
        "{r}"
    );
    assert!(
        r["demoted"].as_str().unwrap().contains("role member"),
        "{r}"
    );
    assert_eq!(column(&s, "ivy", "role"), "member");
    assert!(
        r["revoked"].as_str().unwrap().contains("sessions revoked"),
        "{r}"
    );
    assert_eq!(
        s.get_auth("/v2/auth/me", ivy_token).error_code(),
        "session_revoked"
    );
    assert!(
        r["reset"]
            .as_str()
            .unwrap()
            .contains("second factors removed"),
        "{r}"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM totp"),
        0,
        "ivy's TOTP is gone"
    );
    assert_eq!(
        r["bulkAdd"]
            .as_str()
            .unwrap()
            .matches("night-shift")
            .count(),
        2,
        "{r}"
    );
    assert!(
        r["bulkRemove"]
            .as_str()
            .unwrap()
            .contains("tinsel (done): in no group"),
        "{r}"
    );
    assert_eq!(column(&s, "ivy", "groups"), "crew elves night-shift");
    assert_eq!(column(&s, "tinsel", "groups"), "");
    for event in [
        "role_changed",
        "session_revoked",
        "second_factors_reset",
        "groups_changed",
    ] {
        assert!(
            audit_lines(&s, event)
                .iter()
                .any(|row| row["actor"]["handle"] == "holly"),
            "{event} by holly"
        );
    }
    let preview = r["preview"].as_str().unwrap();
    assert!(
        preview.contains("1 to invite, 0 already there, 1 invalid"),
        "{preview}"
    );
    assert!(
        preview.contains("line 3") && preview.contains("sleet"),
        "{preview}"
    );
    assert!(
        r["progressPath"]
            .as_str()
            .unwrap()
            .starts_with("/admin/import/imp_")
    );
    assert!(
        r["applied"]
            .as_str()
            .unwrap()
            .contains("1 invited, 0 already there, 1 invalid"),
        "{r}"
    );
    assert_eq!(column(&s, "snow", "display_name"), "Snow, Flake");
    assert_eq!(
        wait_for_codes(&s.mail_dir(), "snow@example.com", 1).len(),
        1
    );
    assert_eq!(
        (r["clientsBefore"].as_i64(), r["clientsAfter"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM oauth_clients WHERE id = '{}'",
            client["client_id"].as_str().unwrap()
        )),
        0
    );
    let report = r["report"].as_str().unwrap();
    assert!(
        report.contains("ivy cannot sign in") && report.contains(&wrong_rid),
        "{report}"
    );
    assert!(
        report.contains("\"status\":401") || report.contains("\"status\": 401"),
        "the request record: {report}"
    );
    assert!(
        report.contains("login_failed"),
        "the request's audit row: {report}"
    );
    let audit = r["audit"].as_str().unwrap();
    assert!(
        audit.contains("user_disabled") && audit.contains("by user holly, on user ivy"),
        "{audit}"
    );
    assert!(!audit.contains("groups_changed"), "the filter holds");
    assert_eq!(r["forgedStatus"], 403);
    assert_eq!(r["memberStatus"], 403);
    assert!(
        r["memberText"]
            .as_str()
            .unwrap()
            .contains("ivy is a member")
    );
    assert_eq!(
        audit_lines(&s, "user_disabled").len(),
        1,
        "the forged form disabled nobody"
    );
}

#[test]
fn require_mfa_for_all_keeps_password_only_sessions_from_minting_for_others() {
    let s = TestServer::start_now(&["--require-mfa-for", "all"]);
    let ivy = s.ready_user("ivy");
    let token = ivy["accessToken"].as_str().unwrap();
    let pat_body = json!({"name": "ci", "scopes": ["profile"], "expiresInDays": 1});
    let refused = s.post_auth("/v2/auth/tokens", pat_body.clone(), token);
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(refused.error_code(), "second_factor_required");
    assert!(
        refused.text().contains("account page"),
        "says how to get there"
    );
    assert_eq!(
        s.get_auth("/v2/auth/me", token).status,
        200,
        "the session itself works"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM pats"), 0);

    let client = register(&s, token, json!({}));
    let (_, challenge) = pkce();
    let url = authorize_url(&client, &challenge, &[]);
    let mut b = Browser::default();
    let back = b.sign_in_at(&s, &url, "ivy");
    let r = b.get(&s, &back);
    assert_eq!(r.status, 303, "{}", r.text());
    let to = query_of(r.header("Location").unwrap());
    assert_eq!(to["error"], "access_denied");
    assert!(to["error_description"].contains("second factor"), "{to:?}");

    // With a second factor, the same session kind mints again.
    let (_, secret, _) = enrolled(&s, "holly");
    s.clock.advance(30);
    let step = s.post(
        "/v2/auth/login",
        json!({"login": "holly", "password": PASSWORD}),
    );
    let two = s.post(
        "/v2/auth/login/mfa",
        json!({"mfaToken": step.json()["mfaToken"], "code": authenticator(&secret, s.clock.now())}),
    );
    assert_eq!(two.status, 200, "{}", two.text());
    let made = s.post_auth(
        "/v2/auth/tokens",
        pat_body,
        two.json()["accessToken"].as_str().unwrap(),
    );
    assert_eq!(made.status, 201, "{}", made.text());
}
