//! Roles and groups (issue 19, first part) through the real server and the command line: the
//! CLI sets them, `users import` reads a fourth column of groups, and `/v2/auth/me`, access
//! tokens, id_tokens and userinfo carry them. Bad names and roles change nothing.

use serde_json::json;

use crate::common::*;
use crate::mfa::claims_of;
use crate::oauth_support::*;

fn out(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_cli_sets_roles_and_groups_and_tokens_carry_them() {
    let s = TestServer::start_now(&[]);
    let session = s.ready_user("garland");
    assert_eq!(session["user"]["role"], "member", "the default role");
    assert_eq!(session["user"]["groups"], json!([]));
    assert_eq!(
        claims_of(session["accessToken"].as_str().unwrap())["role"],
        "member"
    );

    assert!(cli_ok(&s, &["users", "role", "garland", "admin"]).contains("role admin"));
    let groups = cli_ok(
        &s,
        &[
            "users",
            "groups",
            "garland",
            "--add",
            "design",
            "--add",
            "holiday-crew",
            "--add",
            "design",
        ],
    );
    assert!(groups.contains("groups design holiday-crew"), "{groups}");
    let groups = cli_ok(&s, &["users", "groups", "garland", "--remove", "design"]);
    assert!(groups.contains("groups holiday-crew"), "{groups}");

    for (args, why) in [
        (vec!["users", "role", "garland", "owner"], "member or admin"),
        (
            vec!["users", "groups", "garland", "--add", "Bad Group"],
            "a-z, 0-9",
        ),
        (
            vec!["users", "groups", "garland", "--add", &"g".repeat(65)],
            "1 to 64",
        ),
        (
            vec!["users", "role", "nobody-here", "admin"],
            "no such user",
        ),
    ] {
        let o = cli(&s, &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", out(&o));
        assert!(out(&o).contains(why), "{args:?}: {}", out(&o));
    }

    let fresh = s.login("garland");
    let access = fresh["accessToken"].as_str().unwrap();
    let c = claims_of(access);
    assert_eq!(c["role"], "admin");
    assert_eq!(c["groups"], json!(["holiday-crew"]));
    let me = s.get_auth("/v2/auth/me", access).json();
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["user"]["groups"], json!(["holiday-crew"]));

    // An OAuth app's tokens and id_token carry them too, and userinfo answers them.
    let client = register(&s, access, json!({}));
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let code = code_via_pages_with(
        &s,
        &mut b,
        &client,
        &challenge,
        "garland",
        &[("scope", "openid profile")],
    );
    let tokens = exchange(&s, &client, &code, &verifier).json();
    let app_access = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims_of(app_access)["groups"], json!(["holiday-crew"]));
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        (id["role"].clone(), id["groups"].clone()),
        (json!("admin"), json!(["holiday-crew"]))
    );
    let info = s.get_auth("/oauth/userinfo", app_access).json();
    assert_eq!(info["role"], "admin");
    assert_eq!(info["groups"], json!(["holiday-crew"]));
}

#[test]
fn users_add_admin_and_import_with_groups() {
    let s = TestServer::start_now(&[]);
    let added = cli_ok(&s, &["users", "add", "ivy", "ivy@gharart.com", "--admin"]);
    assert!(added.contains("ivy is an admin"), "{added}");
    let file = s.dir.path().join("crew.csv");
    std::fs::write(
        &file,
        "handle,email,displayName,groups\n\
         holly,holly@gharart.com,Holly,design;holiday-crew\n\
         noel,noel@gharart.com,,\n\
         bad,bad@gharart.com,Bad,Not A Group\n",
    )
    .unwrap();
    let o = cli(&s, &["users", "import", file.to_str().unwrap()]);
    let text = out(&o);
    assert!(
        text.contains("2 invited") || text.contains("2 were invited"),
        "{text}"
    );
    assert!(text.contains("a-z, 0-9"), "the bad row names why: {text}");
    let read = |handle: &str| -> (String, String) {
        let c = rusqlite::Connection::open(s.db_path()).unwrap();
        c.query_row(
            "SELECT role, groups FROM users WHERE handle = ?1",
            [handle],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    assert_eq!(read("ivy"), ("admin".into(), String::new()));
    assert_eq!(
        read("holly"),
        ("member".into(), "design holiday-crew".into())
    );
    assert_eq!(read("noel"), ("member".into(), String::new()));
    assert_eq!(
        s.count("SELECT count(*) FROM users WHERE handle = 'bad'"),
        0,
        "an invalid row writes nothing"
    );
}
