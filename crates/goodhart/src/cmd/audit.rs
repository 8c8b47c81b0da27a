//! `goodhart audit`: which tasks and grader profiles fall to which known exploit.

use anyhow::Context;
use goodhart_core::Profile;
use goodhart_exploits::audit::{self, Plan, Summary};
use goodhart_grade::Grader;
use goodhart_sandbox::{Sandbox, SandboxConfig};
use goodhart_store::{AuditResult, RunKind, Store};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// Command-line options of `goodhart audit`.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// Tasks to audit: a built-in source (`bundled`, `humaneval`, `mbpp`; see `goodhart tasks`) or a file
    /// (native JSONL, HumanEval .jsonl[.gz], MBPP JSONL/JSON, verl ground truth).
    #[arg(long, default_value = "bundled", value_name = "PATH")]
    tasks: String,
    /// Grader profiles to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "assert,pytest,hardened")]
    profiles: Vec<Profile>,
    /// Exploits to run, comma-separated names (default: the whole library; see --list-exploits).
    #[arg(long, value_delimiter = ',')]
    exploits: Vec<String>,
    /// Print one JSON object instead of the human report.
    #[arg(long)]
    json: bool,
    /// The store to record the run in (default: $GOODHART_HOME/goodhart.db).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Grading threads and sandbox workers (default: one per core).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Audit only the first N tasks.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Also run each exploit's neutralised twin and check every exploit passes exactly the proxy profiles
    /// it declares (deviations make the exit code 1).
    #[arg(long)]
    cross_check: bool,
    /// List the exploit library (name, kinds, profiles it is designed to fool, description) and exit.
    #[arg(long)]
    list_exploits: bool,
}

/// Cells buffered before one store transaction.
const BATCH: usize = 512;

/// Runs the audit and prints the report; exit 1 when a reference fails or the ground truth breaks.
pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let exploits = goodhart_exploits::select(&args.exploits)?;
    if args.list_exploits {
        print_library(&exploits, args.json);
        return Ok(ExitCode::SUCCESS);
    }
    let mut profiles = args.profiles.clone();
    profiles.dedup();
    let mut tasks = goodhart_tasks::load(&args.tasks)
        .with_context(|| format!("loading tasks from `{}`", args.tasks))?;
    if let Some(limit) = args.limit {
        tasks.truncate(limit);
    }
    anyhow::ensure!(!tasks.is_empty(), "no tasks to audit in `{}`", args.tasks);

    let db = match &args.db {
        Some(path) => path.clone(),
        None => Store::default_path()?,
    };
    let store = Store::open(&db)?;
    let mut config = SandboxConfig::discover().context("preparing the sandbox")?;
    if let Some(jobs) = args.jobs {
        anyhow::ensure!(jobs > 0, "--jobs must be at least 1");
        config.pool_size = jobs;
    }
    let jobs = config.pool_size;
    let plan = Plan {
        profiles: profiles.clone(),
        exploits: exploits.clone(),
        neutralised: args.cross_check,
        jobs,
    };
    let run_config = serde_json::json!({
        "tasks": args.tasks, "profiles": profiles, "exploits": exploits.iter().map(|e| e.name).collect::<Vec<_>>(),
        "jobs": jobs, "limit": args.limit, "cross_check": args.cross_check,
    });
    let run_id = store.create_run(RunKind::Audit, &run_config)?;
    store.insert_tasks(&run_id, &args.tasks, &tasks)?;
    let sandbox = Sandbox::new(config).context("starting the sandbox")?;
    let grader = Grader::new(Arc::new(sandbox));

    let bar = progress_bar(audit::cell_count(&tasks, &plan) as u64, args.json);
    let started = Instant::now();
    let mut pending: Vec<AuditResult> = Vec::with_capacity(BATCH);
    let mut store_error = None;
    let cells = audit::run(&grader, &tasks, &plan, |cell| {
        bar.inc(1);
        pending.push(cell.to_stored(&tasks));
        if pending.len() >= BATCH && store_error.is_none() {
            store_error = store.insert_audit_results(&run_id, &pending).err();
            pending.clear();
        }
    });
    bar.finish_and_clear();
    if let Some(err) = store_error {
        store.finish_run(&run_id, "failed")?;
        return Err(err).context("recording audit results");
    }
    store.insert_audit_results(&run_id, &pending)?;
    let wall = started.elapsed();
    store.finish_run(&run_id, "done")?;

    let summary = Summary::of(&tasks, &profiles, &exploits, &cells);
    if args.json {
        let mut value = summary.to_json();
        value["run_id"] = run_id.clone().into();
        value["db"] = db.display().to_string().into();
        value["wall_seconds"] = wall.as_secs_f64().into();
        println!("{value}");
    } else {
        print!("{}", summary.render());
        println!(
            "\n{} graded runs in {:.1} s on {jobs} workers; stored as run {run_id} in {}",
            cells.len(),
            wall.as_secs_f64(),
            db.display()
        );
    }
    Ok(if summary.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn progress_bar(len: u64, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} graded runs  {elapsed} (eta {eta})")
    {
        bar.set_style(style);
    }
    bar
}

fn print_library(exploits: &[&'static goodhart_exploits::Exploit], json: bool) {
    let names = |ps: &[Profile]| ps.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",");
    if json {
        let list: Vec<_> = exploits
            .iter()
            .map(|e| {
                serde_json::json!({"name": e.name, "kinds": e.kinds, "fools": e.fools, "description": e.description})
            })
            .collect();
        println!("{}", serde_json::Value::from(list));
        return;
    }
    let width = exploits.iter().map(|e| e.name.len()).max().unwrap_or(0);
    for e in exploits {
        let kinds = e
            .kinds
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let fools = if e.fools.is_empty() {
            "-".to_string()
        } else {
            names(e.fools)
        };
        println!(
            "{:width$}  {kinds:34} fools {fools:13} {}",
            e.name, e.description
        );
    }
}
