//! `goodhart report`: reading stored runs back as tables.

use clap::{Args, Subcommand};
use goodhart_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// Which report to print.
#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Hack rate per training step, framing and kind, from rollouts graded by `goodhart serve`.
    Training(TrainingArgs),
}

/// Options of `goodhart report training`.
#[derive(Args, Debug)]
pub struct TrainingArgs {
    /// SQLite store to read (default: $GOODHART_HOME/goodhart.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// Prints the chosen report.
pub fn run(command: ReportCommand) -> anyhow::Result<ExitCode> {
    match command {
        ReportCommand::Training(args) => {
            let path = match args.db {
                Some(path) => path,
                None => Store::default_path()?,
            };
            // A report reads: a mistyped --db must be an error, never a new empty store.
            let store = Store::open_existing(&path)?;
            let table = goodhart_server::telemetry::from_store(&store)?;
            print!("{}", goodhart_server::telemetry::render(&table));
            Ok(ExitCode::SUCCESS)
        }
    }
}
