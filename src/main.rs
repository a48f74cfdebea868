//! The `gharart-id` binary: parse the command line, run the subcommand, map failure to exit 1
//! (clap exits 2 on a usage error).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use gharart_id::cli::{Cli, Command};
use gharart_id::clock::Clock;
use gharart_id::config::Config;
use gharart_id::server;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gharart-id: {message}");
            ExitCode::from(1)
        }
    }
}

fn serve(args: gharart_id::cli::ServeArgs) -> Result<(), String> {
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
