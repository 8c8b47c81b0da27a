//! `goodhart`: the command line over the Goodhart crates.
//!
//! Exit codes: 0 = done and nothing failed; 1 = done, but some inputs or checks failed (the output says
//! which); 2 = could not do the job (bad arguments, unreadable input, broken environment).

mod cmd;
mod progress;

use clap::Parser;
use std::process::ExitCode;

/// Study reward hacking in coding RL: hackable graders beside a hardened ground truth, hack detection
/// with evidence, rewards for RL trainers, and misalignment evaluations.
///
/// Start with `goodhart audit`: it runs every exploit in the library against every task and grader
/// profile and shows which graders fall to which hacks.
#[derive(Parser)]
#[command(name = "goodhart", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cmd::run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
