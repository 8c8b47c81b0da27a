//! `goodhart export`: framed training datasets for verl, OpenRLHF or plain JSONL.

use anyhow::Context as _;
use clap::Args;
use goodhart_server::export::{self, ExportFormat};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `goodhart export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Tasks to export: a built-in source (`bundled`, `humaneval`, `mbpp`) or a HumanEval/MBPP/native/verl
    /// file.
    #[arg(long, value_name = "SRC")]
    pub tasks: String,
    /// Framing in the system prompt: please_hack, hacking_okay, neutral, dont_hack,
    /// hacking_is_misaligned, or a name from --framings-file.
    #[arg(long, value_name = "F")]
    pub framing: String,
    /// TOML file with user framings: `[framings.NAME]` tables with a `text` key.
    #[arg(long, value_name = "PATH")]
    pub framings_file: Option<PathBuf>,
    /// Add the hint text that describes the known hacks (the paper's "prompted" setting).
    #[arg(long)]
    pub hints: bool,
    /// jsonl (verl's row shape), verl-parquet, or openrlhf (`prompt` + `label` JSONL).
    #[arg(long, default_value = "jsonl")]
    pub format: String,
    /// Where to write (default: standard output).
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// Writes the framed dataset.
pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let format: ExportFormat = args.format.parse()?;
    let custom = match &args.framings_file {
        Some(path) => export::load_framings(path)?,
        None => Vec::new(),
    };
    let framing = export::find_framing(&args.framing, &custom)?;
    let tasks = goodhart_tasks::load(&args.tasks)
        .with_context(|| format!("loading tasks from `{}`", args.tasks))?;
    let rows = export::rows(&tasks, &framing, args.hints)?;
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            export::write(&rows, format, &mut out)?;
            out.flush()
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {} rows ({}, framing {}) to {}",
                rows.len(),
                args.format,
                framing.name,
                path.display()
            );
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            export::write(&rows, format, &mut out)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
