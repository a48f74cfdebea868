//! The `gharart-id` binary: parse the command line, run the subcommand, map failure to exit 1
//! (clap exits 2 on a usage error).

use std::process::ExitCode;

use clap::Parser;
use gharart_id::commands;
use gharart_id::commands::args::{Cli, Command};

fn main() -> ExitCode {
    gharart_id::core::logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => commands::serve::run(*args),
        Command::Demo(args) => commands::demo::run(*args),
        Command::Clients(cmd) => commands::clients::run(cmd),
        Command::Users(cmd) => commands::users::run(cmd),
        Command::Keys(cmd) => commands::keys::run(cmd),
        Command::Token(cmd) => commands::token::run(cmd),
        Command::Backup { db, file } => commands::backup::run(&db.db, &file),
        Command::Reports(cmd) => commands::reports::run(cmd),
        Command::Mail(cmd) => commands::mail::run(cmd),
        Command::Audit {
            db,
            since,
            user,
            event,
            json,
        } => commands::audit::run(
            &db.db,
            since.as_deref(),
            user.as_deref(),
            event.as_deref(),
            json,
        ),
    };
    gharart_id::core::logging::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gharart-id: {message}");
            ExitCode::from(1)
        }
    }
}
