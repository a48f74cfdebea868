//! `gharart-id demo`: the offline demo. A fresh database in a temporary directory (or `--db`),
//! a seeded campaign team and OAuth app, mail shown at `/demo/mailbox`; loopback only.

use crate::commands::args::ServeArgs;
use crate::commands::flags;
use crate::core::clock::Clock;
use crate::domain::demo;
use crate::http::server;
use std::io::Write;

pub fn run(mut args: ServeArgs) -> Result<(), String> {
    let temp = match &args.db {
        Some(_) => None,
        None => {
            let dir = std::env::temp_dir().join(format!("gharart-demo-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            args.db = Some(dir.join("demo.db"));
            Some(dir)
        }
    };
    let mut config = flags::config(args)?;
    let loopback = config
        .listen
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback())
        || config.listen.starts_with("localhost:");
    if !loopback {
        return Err(format!(
            "--listen {}: the demo listens on loopback only (127.0.0.1 or [::1])",
            config.listen
        ));
    }
    config.demo = true;
    let db_path = config.db_path.clone();
    let running = server::start(config, Clock::System)?;
    let seeded = demo::seed(&running.core)?;
    let mut out = std::io::stdout();
    let url = running.core.issuer.clone();
    let _ = writeln!(
        out,
        "gharart-id demo on {url}/ (database {})",
        db_path.display()
    );
    for (handle, password) in &seeded.members {
        let _ = writeln!(out, "login: {handle} password: {password}");
    }
    if seeded.members.is_empty() {
        let _ = writeln!(
            out,
            "(an existing database: its members keep the passwords they had)"
        );
    }
    let _ = writeln!(
        out,
        "pending invitation: {} (its code is in {url}/demo/mailbox)",
        seeded.invited
    );
    let _ = writeln!(
        out,
        "try the OAuth flow: {url}/demo/start   mailbox: {url}/demo/mailbox   stop: Ctrl-C"
    );
    let _ = out.flush();
    super::serve_until_signalled(running)?;
    if let Some(dir) = temp {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}
