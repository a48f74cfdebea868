//! `gharart-id serve`: validate the flags, start the server, print where it listens, and serve
//! until SIGTERM or SIGINT, then stop gracefully and exit 0.

use crate::commands::args::ServeArgs;
use crate::commands::flags;
use crate::core::clock::Clock;
use crate::http::server;
use std::io::Write;

pub fn run(args: ServeArgs) -> Result<(), String> {
    let config = flags::config(args)?;
    let db_path = config.db_path.clone();
    let running = server::start(config, Clock::System)?;
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "gharart-id listening on http://{} (issuer {}, database {})",
        running.addr,
        running.core.issuer,
        db_path.display()
    );
    let _ = out.flush();
    super::serve_until_signalled(running)?;
    log::info!("stopped cleanly");
    Ok(())
}
