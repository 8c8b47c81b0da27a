//! `goodhart report`: reading stored runs back as tables, JSON and one self-contained HTML file.
//!
//! Reports open the store read-only: a wrong `--db` is an error naming the path, never a new empty store.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use goodhart_report::{select, training, Selection};
use goodhart_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// `goodhart report [RUN...] --html FILE | --json`, or one of the text reports.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: Option<ReportCommand>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Write the report (training, framings, evals, audit, rollouts) as one self-contained HTML file:
    /// inline CSS, SVG and a small script for the table filters, nothing fetched, so it opens from disk
    /// anywhere. `goodhart view` serves the same pages live.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the report's numbers as JSON on stdout (the same numbers the HTML shows).
    #[arg(long)]
    pub json: bool,
}

/// Which runs to read, and from where.
#[derive(Args, Debug)]
pub struct SelectArgs {
    /// Run ids to report on (default: every run that matches the filters).
    #[arg(value_name = "RUN")]
    pub runs: Vec<String>,
    /// The store to read: a SQLite file, or a postgres:// URL shared by many processes (default: $GOODHART_HOME/goodhart.db); it must exist.
    #[arg(long, value_name = "PATH|URL", env = "GOODHART_DB", value_parser = super::DbLocation)]
    pub db: Option<PathBuf>,
    /// Only runs of this kind (audit, grade, sample, eval, serve); repeatable.
    #[arg(long, value_name = "KIND")]
    pub kind: Vec<String>,
    /// Only rollouts of this model (audit runs, which have none, are left out).
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Only runs created at or after this UTC time: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS].
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only runs tagged with this training run (`goodhart eval|sample --checkpoint NAME`).
    #[arg(long, value_name = "NAME")]
    pub checkpoint: Option<String>,
    /// Only the `serve` runs of this service (`goodhart serve --service NAME`): every replica that
    /// shared the store, read as one reward service.
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
}

/// Which text report to print.
#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Pass and hack rates per training step, framing and kind with 95% Wilson intervals (default: runs of
    /// `goodhart serve`; `--kind grade` for graded files that carry `step`).
    Training(TrainingArgs),
}

/// Options of `goodhart report training`.
#[derive(Args, Debug)]
pub struct TrainingArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Print the rows as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl SelectArgs {
    fn open(&self) -> anyhow::Result<Store> {
        let path = match &self.db {
            Some(path) => path.clone(),
            None => Store::default_path()?,
        };
        Ok(Store::open_read_only(&path)?)
    }

    fn selection(&self, default_kind: Option<&str>) -> anyhow::Result<Selection> {
        let kinds: Vec<&str> = if self.kind.is_empty() {
            default_kind.into_iter().collect()
        } else {
            self.kind.iter().map(String::as_str).collect()
        };
        Ok(Selection {
            runs: self.runs.clone(),
            kinds: kinds
                .into_iter()
                .map(select::parse_kind)
                .collect::<Result<_, _>>()?,
            model: self.model.clone(),
            since: self.since.clone(),
            checkpoint: self.checkpoint.clone(),
            service: self.service.clone(),
        })
    }
}

/// Runs `goodhart report`.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(ReportCommand::Training(t)) => training_report(t),
        None => full_report(args.select, args.html, args.json),
    }
}

fn full_report(select: SelectArgs, html: Option<PathBuf>, json: bool) -> anyhow::Result<ExitCode> {
    if html.is_none() && !json {
        anyhow::bail!(
            "say what to write: --html FILE (one self-contained page) and/or --json (numbers on stdout), \
             or use `goodhart report training`"
        );
    }
    let store = select.open()?;
    let report = goodhart_report::build(&store, &select.selection(None)?)?;
    if let Some(path) = &html {
        let page = goodhart_report::html::render(&report, goodhart_report::html::Links::File)?;
        std::fs::write(path, &page)
            .with_context(|| format!("writing the report to {}", path.display()))?;
        eprintln!(
            "wrote {} ({} runs, {} KB)",
            path.display(),
            report.runs.len(),
            page.len() / 1024
        );
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn training_report(t: TrainingArgs) -> anyhow::Result<ExitCode> {
    let store = t.select.open()?;
    let sel = t.select.selection(Some("serve"))?;
    let mut table = training::StepTable::new();
    for run in select::select(&store, &sel)? {
        training::merge(
            &mut table,
            &store.cell_counts(&run.id, sel.model.as_deref())?,
        );
    }
    if t.json {
        println!("{}", serde_json::to_string_pretty(&training::rows(&table))?);
    } else {
        print!("{}", training::render(&table));
    }
    Ok(ExitCode::SUCCESS)
}
