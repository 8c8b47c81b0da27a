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
    /// Compare runs made under different `--protocol`s anyway (each side is labelled with its
    /// protocol). Without it such runs are refused: their rates count different things.
    #[arg(long)]
    pub mixed_protocols: bool,
}

/// The protocol a stored eval run was made under; `legacy` for runs stored before protocols existed.
fn protocol_of(store: &EvalStore, run: &str) -> anyhow::Result<String> {
    let config = store.run(run)?.config;
    Ok(config
        .get("protocol")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("legacy")
        .to_string())
}

/// Runs `goodhart compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let db = ClientArgs::db_or_default(args.db.clone())?;
    let store = EvalStore::open_existing(&db)?;
    let a = store.records(&args.run_a)?;
    let b = store.records(&args.run_b)?;
    let (pa, pb) = (
        protocol_of(&store, &args.run_a)?,
        protocol_of(&store, &args.run_b)?,
    );
    if pa != pb && !args.mixed_protocols {
        bail!(
            "run {} was made under protocol {pa} and run {} under {pb}: their rates count different \
             things, so they are not compared (pass --mixed-protocols to compare them anyway, labelled)",
            args.run_a,
            args.run_b
        );
    }
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
        let out = serde_json::json!({
            "run_a": args.run_a,
            "run_b": args.run_b,
            "protocol_a": pa,
            "protocol_b": pb,
            "evals": c.evals,
            "mgs": c.mgs,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let label = |run: &str, p: &str| format!("{run} [protocol {p}]");
        print!(
            "{}",
            render_comparison(&c, &label(&args.run_a, &pa), &label(&args.run_b, &pb))
        );
        if pa != pb {
            println!("warning: the two runs follow different protocols ({pa}, {pb}); their rates count different things");
        }
    }
    Ok(ExitCode::SUCCESS)
}
