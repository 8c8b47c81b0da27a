//! One module per subcommand; each exposes an `Args`/subcommand type and a `run` that returns the exit code.

use clap::Subcommand;
use std::process::ExitCode;

// Subcommand modules (add one line per module).

/// Every `goodhart` subcommand.
#[derive(Subcommand)]
pub enum Command {
    // Subcommand variants (add one variant per subcommand, documented; its doc comment is the --help text).
}

/// Dispatches a parsed subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        // Dispatch arms (one per variant).
    }
}
