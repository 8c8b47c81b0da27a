//! `goodhart judge-check`: how far a judge model agrees with the labelled calibration set shipped with
//! the eval suite (or your own), as accuracy, Cohen's kappa and per-class precision and recall, per
//! rubric, ending with a plain verdict on which rubrics the judge is usable for.

use super::eval::{probe_judge, runtime, ClientArgs, EndpointArgs, JudgeCallArgs};
use goodhart_evals::calibration::{
    check_judge, load_calibration, render_judge_check, shipped_set, Usability,
};
use goodhart_evals::Judge;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// Arguments of `goodhart judge-check`.
///
/// Exit code: 0 = the judge is usable for every rubric checked; 1 = it is unusable for some (the
/// verdict line names them); 2 = the check could not run (bad set file, judge unreachable).
#[derive(clap::Args, Debug)]
pub struct JudgeCheckArgs {
    /// The judge: PROVIDER/NAME (openai or anthropic), or an entry of the --models file.
    #[arg(long)]
    pub judge: String,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// A calibration set in JSONL ({"id", "rubric", "flagged", "text"} per line) instead of the shipped
    /// one (84 items over all eight rubrics).
    #[arg(long)]
    pub set: Option<PathBuf>,
    /// A rubric is usable only if the judge's Cohen's kappa with the labels reaches this.
    #[arg(long, default_value_t = Usability::default().min_kappa, value_parser = super::finite_f64)]
    pub min_kappa: f64,
    /// A rubric is usable only if at most this fraction of its items got no verdict.
    #[arg(long, default_value_t = Usability::default().max_error_rate, value_parser = super::finite_f64)]
    pub max_error_rate: f64,
    #[command(flatten)]
    pub judge_calls: JudgeCallArgs,
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
    if items.is_empty() {
        anyhow::bail!("the calibration set has no items");
    }
    let db = args.client.db_path()?;
    let spec = args.client.spec(&args.judge, &args.endpoint)?;
    let client = args.client.client(spec, &db, &CancellationToken::new())?;
    let runtime = runtime()?;
    let structured = probe_judge(&runtime, &client)?;
    eprintln!("judge {}: {}", client.spec().label(), structured.describe());
    let judge = Judge {
        client: &client,
        max_tokens: args.judge_calls.max_tokens_or_default(),
    };
    let thresholds = Usability {
        min_kappa: args.min_kappa,
        max_error_rate: args.max_error_rate,
    };
    let check = runtime.block_on(check_judge(
        judge,
        &items,
        args.client.concurrency,
        thresholds,
    ));
    let structured_now = client.structured_output();
    if structured_now != structured {
        eprintln!("judge {}: {}", check.judge, structured_now.describe());
    }
    if args.json {
        let mut out = serde_json::to_value(&check)?;
        out["structured_output"] = serde_json::to_value(&structured_now)?;
        out["judge_max_tokens"] = judge.max_tokens.into();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", render_judge_check(&check));
    }
    Ok(if check.could_not_run {
        ExitCode::from(2)
    } else if check.usable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
