//! `goodhart compare`: two eval runs over the same prompts (two models, checkpoints or framings), as
//! paired differences in misaligned rate per eval and for MGS, with bootstrap intervals.

use super::eval::ClientArgs;
use anyhow::bail;
use goodhart_evals::metrics::{compare, render_comparison};
use goodhart_evals::EvalStore;
use goodhart_report::stats::Bootstrap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `goodhart compare`.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// The baseline run (A).
    pub run_a: String,
    /// The run compared against it (B); differences are B − A.
    pub run_b: String,
    /// The store (default $GOODHART_HOME/goodhart.db).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 10_000)]
    pub resamples: usize,
    /// Bootstrap seed (intervals are reproducible from it).
    #[arg(long, default_value_t = Bootstrap::default().seed)]
    pub seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `goodhart compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let db = ClientArgs::db_or_default(args.db.clone())?;
    let store = EvalStore::open_existing(&db)?;
    let a = store.records(&args.run_a)?;
    let b = store.records(&args.run_b)?;
    let opts = Bootstrap {
        resamples: args.resamples.max(1),
        seed: args.seed,
        ..Bootstrap::default()
    };
    let c = compare(&a, &b, opts);
    if c.evals.is_empty() {
        bail!(
            "runs {} and {} have no labelled (eval, sample, epoch) in common; compare runs of the same evals",
            args.run_a,
            args.run_b
        );
    }
    if args.json {
        let out = serde_json::json!({"run_a": args.run_a, "run_b": args.run_b, "evals": c.evals, "mgs": c.mgs});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", render_comparison(&c, &args.run_a, &args.run_b));
    }
    Ok(ExitCode::SUCCESS)
}
