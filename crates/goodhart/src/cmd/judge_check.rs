//! `goodhart judge-check`: how far a judge model agrees with the labelled calibration set shipped with
//! the eval suite (or your own), as accuracy, Cohen's kappa and per-class precision and recall.

use super::eval::{ClientArgs, EndpointArgs};
use anyhow::Context;
use goodhart_evals::calibration::{check_judge, load_calibration, render_judge_check, shipped_set};
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// Arguments of `goodhart judge-check`.
#[derive(clap::Args, Debug)]
pub struct JudgeCheckArgs {
    /// The judge: PROVIDER/NAME (openai or anthropic), or an entry of the --models file.
    #[arg(long)]
    pub judge: String,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// A calibration set in JSONL ({"id", "rubric", "flagged", "text"} per line) instead of the shipped one.
    #[arg(long)]
    pub set: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `goodhart judge-check`.
pub fn run(args: JudgeCheckArgs) -> anyhow::Result<ExitCode> {
    let items = match &args.set {
        Some(path) => load_calibration(path)?,
        None => shipped_set()?,
    };
    let db = args.client.db_path()?;
    let spec = args.client.spec(&args.judge, &args.endpoint)?;
    let judge = args.client.client(spec, &db, &CancellationToken::new())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let check = runtime.block_on(check_judge(&judge, &items, args.client.concurrency));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&check)?);
    } else {
        print!("{}", render_judge_check(&check));
    }
    Ok(if check.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
