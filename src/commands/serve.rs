//! `gharart-id serve`: validate the flags, start the server, print where it listens, and wait.

use std::io::Write;

use crate::cli::ServeArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::server;

pub fn run(args: ServeArgs) -> Result<(), String> {
    let config = Config::from_args(args)?;
    let db_path = config.db_path.clone();
    let running = server::start(config, Clock::System)?;
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "gharart-id listening on http://{} (issuer {}, database {})",
        running.addr,
        running.app.issuer,
        db_path.display()
    );
    let _ = out.flush();
    running.wait();
    Ok(())
}
