//! The examples work as documented: `examples/walkthrough.sh` against the real binary.

use std::process::Command;

use crate::common::*;

#[test]
fn walkthrough_script_runs_the_whole_flow() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = crate::crash::spawn_binary(dir.path());
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/walkthrough.sh"
        ))
        .env("BASE_URL", format!("http://{addr}"))
        .env("MAIL_DIR", dir.path().join("mail"))
        .env("PASSWORD", PASSWORD)
        .output()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "signup   201",
        "confirm  200",
        "login    200",
        "me       200",
        "refresh  200",
        "logout   204",
        "me       401",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(step))
            .unwrap_or_else(|| panic!("no {step:?} in {stdout}"));
        assert!(
            line.contains("request req_"),
            "each step prints its request ID: {line}"
        );
    }
    assert!(stdout.contains("refused: session_revoked"));
}
