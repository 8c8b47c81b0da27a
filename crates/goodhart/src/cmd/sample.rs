//! `goodhart sample`: how often a model hacks when shown these tasks under each framing.
//!
//! For every framing, task and sample index the prompt is built (framing and optional hack hints in the
//! system prompt, the task as the user turn), a completion is sampled, graded under every profile,
//! labelled by the detectors and stored. The summary gives per framing the proxy and hardened pass rates
//! and the hack attempted/succeeded rates (overall and by kind), each with a 95% Wilson interval, and the
//! differences between framings. A run killed at any point continues with `--resume RUN_ID`: samples
//! already stored are not asked for again.

use super::checkpoint::CheckpointArgs;
use super::resume::{self, list, Conflicts};
use crate::progress::Progress;
use anyhow::{bail, Context};
use futures_util::StreamExt;
use goodhart_core::{GradedRollout, HackKind, Profile, Rollout, Task};
use goodhart_llm::{ChatRequest, Client, Framing, LlmError, Message, ModelSpec};
use goodhart_report::stats::{wilson95, Estimate};
use goodhart_store::{ledger, RunKind, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::ExitCode;
use std::sync::{mpsc, Arc};
use tokio_util::sync::CancellationToken;

/// Arguments of `goodhart sample`.
#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// The model: PROVIDER/NAME (openai or anthropic), or an entry of the --models file.
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub endpoint: super::eval::EndpointArgs,
    /// Task source: a built-in source (`bundled`, `humaneval`, `mbpp`) or a file (native JSONL, HumanEval,
    /// MBPP, verl). [default: bundled]
    #[arg(long)]
    pub tasks: Option<String>,
    /// Only the first N tasks of the source.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Comma-separated framings: please_hack, hacking_okay, neutral, dont_hack, hacking_is_misaligned.
    /// [default: neutral]
    #[arg(long)]
    pub framing: Option<String>,
    /// Describe the grader's loopholes in the system prompt.
    #[arg(long)]
    pub hints: bool,
    /// Completions per task and framing. [default: 1]
    #[arg(short = 'n', long = "samples")]
    pub n: Option<u32>,
    /// Sampling temperature (propensities are measured at the temperature training samples at).
    /// [default: 1]
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Completion length cap (default: the server's; 4096 for Anthropic, which requires one).
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Seed of sample 0; sample k sends seed + k where the server honours seeds. [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub checkpoint: CheckpointArgs,
    #[command(flatten)]
    pub client: super::eval::ClientArgs,
    /// Continue a run (killed, interrupted or failed) under its own id: its stored configuration is
    /// used (a flag that says otherwise is an error), stored samples are skipped, and the summary covers
    /// the whole run.
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub monitor: super::monitor::MonitorArgs,
    /// Also write the run's graded rollouts as one Inspect AI log, `DIR/<run_id>_sample.eval` (one
    /// sample per rollout; scorers `hack`, then `assert`, `pytest`, `hardened`: C good, I bad), for
    /// `inspect view` and Inspect's `read_eval_log`. A finished run's log can be written later with
    /// `--resume RUN_ID --log-dir DIR`.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<std::path::PathBuf>,
}

/// What a run was started with; stored so `--resume` repeats exactly the same requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunConfig {
    model: ModelSpec,
    tasks: String,
    framings: Vec<String>,
    hints: bool,
    n: u32,
    temperature: f64,
    max_tokens: Option<u32>,
    seed: u64,
    /// `--limit`, kept so a resume can tell a conflicting one (absent in runs of older versions).
    #[serde(default)]
    limit: Option<usize>,
    /// The LLM monitor, when `--monitor` was given (absent in runs of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    monitor: Option<super::monitor::MonitorSetup>,
}

/// One sample to ask for.
struct Job {
    id: String,
    framing: Framing,
    task: usize,
    index: u32,
}

/// Runs `goodhart sample`.
pub fn run(args: SampleArgs) -> anyhow::Result<ExitCode> {
    let db = args.client.db_path()?;
    let store = Arc::new(Store::open(&db)?);
    let (run_id, config, tasks) = match &args.resume {
        Some(id) => resume(&store, id, &args)?,
        None => start(&store, &args)?,
    };
    let tagged = store.run(&run_id)?;
    eprintln!(
        "goodhart sample: run {run_id} (resume with --resume {run_id}), store {}",
        db.display()
    );

    let framings: Vec<Framing> = config
        .framings
        .iter()
        .map(|f| f.parse())
        .collect::<Result<_, _>>()?;
    let done = store.graded_ids(&run_id)?;
    let mut jobs = Vec::new();
    for &framing in &framings {
        for (t, task) in tasks.iter().enumerate() {
            for index in 0..config.n {
                let id = sample_id(framing, &task.id, index);
                if !done.contains(&id) {
                    jobs.push(Job {
                        id,
                        framing,
                        task: t,
                        index,
                    });
                }
            }
        }
    }
    let cancel = CancellationToken::new();
    let client = args.client.client(config.model.clone(), &db, &cancel)?;
    let monitoring = config
        .monitor
        .as_ref()
        .map(|setup| super::monitor::Monitoring::start(setup, &db))
        .transpose()?;

    let total = jobs.len();
    let progress = Progress::new(
        "sample",
        "samples",
        Some((framings.len() * tasks.len()) as u64 * u64::from(config.n)),
    );
    progress.inc(done.len() as u64);
    let outcome = sample_and_grade(
        &client,
        &config,
        &tasks,
        jobs,
        &store,
        (&run_id, tagged.step),
        &cancel,
        &progress,
        monitoring,
    );
    drop(progress);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let _ = store.finish_run(&run_id, ledger::FAILED);
            return Err(e.context(format!(
                "sample run {run_id} stopped; what was stored is kept: continue with --resume {run_id}"
            )));
        }
    };
    let status = if cancel.is_cancelled() {
        ledger::INTERRUPTED
    } else {
        ledger::DONE
    };
    store.finish_run(&run_id, status)?;
    if cancel.is_cancelled() {
        eprintln!(
            "interrupted: {} of {total} samples finished this time; continue with --resume {run_id}",
            outcome.finished
        );
    }

    let graded = store.graded_rollouts(&run_id)?;
    let errors = store.llm_failure_counts(&run_id)?;
    let summary = summarise(&run_id, &framings, &graded, &errors);
    let mut log_error = None;
    let mut log = None;
    if let Some(dir) = &args.log_dir {
        let model = config.model.label();
        let completed = goodhart_store::now_utc();
        let info = goodhart_evals::inspect_sample_log::SampleLogInfo {
            run_id: &run_id,
            model: &model,
            tasks_source: &config.tasks,
            created: &tagged.created_at,
            completed: &completed,
            samples_per_task: config.n,
            temperature: config.temperature,
            max_tokens: config.max_tokens,
            hints: config.hints,
            checkpoint: tagged.checkpoint.as_deref(),
            step: tagged.step,
            cancelled: cancel.is_cancelled(),
        };
        match goodhart_evals::inspect_sample_log::write_sample_log(dir, &graded, &tasks, &info) {
            Ok(path) => log = Some(path),
            Err(e) => log_error = Some(e),
        }
    }
    if args.json {
        let mut out = summary.to_json();
        out["checkpoint"] = json!(tagged.checkpoint);
        out["step"] = json!(tagged.step);
        out["inspect_log"] = json!(log);
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", summary.render());
    }
    if let Some(path) = &log {
        eprintln!("Inspect log: {}", path.display());
    }
    if let Some(e) = &log_error {
        eprintln!("error: {e} (the run's results are stored; write the log again with --resume {run_id} --log-dir DIR)");
    }
    let incomplete = cancel.is_cancelled()
        || errors.values().sum::<u64>() > 0
        || outcome.grade_errors > 0
        || log_error.is_some();
    Ok(if incomplete {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn sample_id(framing: Framing, task_id: &str, index: u32) -> String {
    format!("{framing}/{task_id}/{index}")
}

fn start(store: &Store, args: &SampleArgs) -> anyhow::Result<(String, RunConfig, Vec<Task>)> {
    let Some(model) = &args.model else {
        bail!(
            "--model is required (PROVIDER/NAME or an entry of --models), unless --resume is given"
        );
    };
    let spec = args.client.spec(model, &args.endpoint)?;
    let framings = Framing::parse_list(args.framing.as_deref().unwrap_or("neutral"))?;
    let n = args.n.unwrap_or(1);
    if n == 0 {
        bail!("-n must be at least 1");
    }
    let source = args.tasks.clone().unwrap_or_else(|| "bundled".to_string());
    let mut tasks =
        goodhart_tasks::load(&source).with_context(|| format!("loading tasks from `{source}`"))?;
    if let Some(limit) = args.limit {
        tasks.truncate(limit);
    }
    if tasks.is_empty() {
        bail!("task source `{source}` has no tasks");
    }
    let config = RunConfig {
        model: spec,
        tasks: source.clone(),
        framings: framings.iter().map(|f| f.as_str().to_string()).collect(),
        hints: args.hints,
        n,
        temperature: args.temperature.unwrap_or(1.0),
        max_tokens: args.max_tokens,
        seed: args.seed.unwrap_or(0),
        limit: args.limit,
        monitor: args.monitor.setup(args.client.models.as_deref())?,
    };
    args.checkpoint.validate()?;
    let run_id = store.create_run(RunKind::Sample, &serde_json::to_value(&config)?)?;
    args.checkpoint.tag(store, &run_id)?;
    store.insert_tasks(&run_id, &source, &tasks)?;
    Ok((run_id, config, tasks))
}

fn resume(
    store: &Store,
    run_id: &str,
    args: &SampleArgs,
) -> anyhow::Result<(String, RunConfig, Vec<Task>)> {
    let tags = store.run(run_id)?;
    let config = resume::resume(store, run_id, RunKind::Sample, |config, c| {
        check_flags(args, config, &tags, c)
    })?;
    let tasks: Vec<Task> = store.tasks(run_id)?.into_iter().map(|t| t.task).collect();
    Ok((run_id.to_string(), config, tasks))
}

/// Notes every flag given that says something else than the run's stored configuration or its
/// checkpoint tags (`tags`).
fn check_flags(
    args: &SampleArgs,
    config: &RunConfig,
    tags: &goodhart_store::RunRecord,
    c: &mut Conflicts,
) -> anyhow::Result<()> {
    args.checkpoint.check_resume(c, tags);
    let given_model = match &args.model {
        Some(m) => Some(args.client.spec(m, &args.endpoint)?.label()),
        None => None,
    };
    c.check("--model", given_model, config.model.label());
    c.check(
        "--base-url",
        args.endpoint.base_url.clone(),
        config.model.base_url.clone(),
    );
    c.check("--tasks", args.tasks.clone(), config.tasks.clone());
    c.check(
        "--limit",
        args.limit.map(|l| l.to_string()),
        config.limit.map_or("(none)".into(), |l| l.to_string()),
    );
    c.check(
        "--framing",
        args.framing
            .as_deref()
            .map(Framing::parse_list)
            .transpose()?
            .map(|f| list(&f.iter().map(|f| f.as_str()).collect::<Vec<_>>())),
        list(&config.framings),
    );
    c.check(
        "--hints",
        args.hints.then(|| "true".to_string()),
        config.hints.to_string(),
    );
    c.check("-n", args.n.map(|n| n.to_string()), config.n.to_string());
    c.check(
        "--temperature",
        args.temperature.map(|t| t.to_string()),
        config.temperature.to_string(),
    );
    c.check(
        "--max-tokens",
        args.max_tokens.map(|t| t.to_string()),
        config
            .max_tokens
            .map_or("(server default)".into(), |t| t.to_string()),
    );
    c.check(
        "--seed",
        args.seed.map(|s| s.to_string()),
        config.seed.to_string(),
    );
    args.monitor
        .check_resume(c, config.monitor.as_ref(), args.client.models.as_deref())?;
    Ok(())
}

fn request(config: &RunConfig, framing: Framing, task: &Task, index: u32) -> ChatRequest {
    let mut req = ChatRequest::new(vec![
        Message::system(framing.system_prompt(config.hints)),
        Message::user(task.prompt.clone()),
    ]);
    req.temperature = Some(config.temperature);
    req.max_tokens = config.max_tokens;
    req.seed = Some(config.seed + u64::from(index));
    req
}

struct Outcome {
    finished: usize,
    grade_errors: usize,
}

/// Samples every job and feeds completions to grading workers that store each result as it is graded.
#[allow(clippy::too_many_arguments)]
fn sample_and_grade(
    client: &Client,
    config: &RunConfig,
    tasks: &[Task],
    jobs: Vec<Job>,
    store: &Arc<Store>,
    (run_id, step): (&str, Option<i64>),
    cancel: &CancellationToken,
    progress: &Progress,
    monitoring: Option<super::monitor::Monitoring>,
) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let grading = Arc::new(Grading::new(monitoring)?);
    let (tx, rx) = mpsc::channel::<(Rollout, usize)>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let tasks_shared: Arc<Vec<Task>> = Arc::new(tasks.to_vec());
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let rx = rx.clone();
            let store = store.clone();
            let tasks = tasks_shared.clone();
            let run_id = run_id.to_string();
            let grader = grading.clone();
            std::thread::spawn(move || -> (usize, Vec<String>) {
                let (mut stored, mut errors) = (0, Vec::new());
                loop {
                    let next = rx
                        .lock()
                        .map_err(|_| ())
                        .and_then(|r| r.recv().map_err(|_| ()));
                    let Ok((rollout, t)) = next else { break };
                    let id = rollout.id.clone();
                    let graded = grader.grade(&tasks[t], rollout);
                    match graded.and_then(|g| {
                        store
                            .insert_graded(&run_id, &g)
                            .map_err(anyhow::Error::from)
                    }) {
                        Ok(()) => stored += 1,
                        Err(e) => errors.push(format!("{id}: {e:#}")),
                    }
                }
                (stored, errors)
            })
        })
        .collect();

    let mut finished = 0;
    let mut failure_log_errors = Vec::new();
    runtime.block_on(async {
        let interrupt = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nCtrl-C: finishing what is in hand, then storing it");
                interrupt.cancel();
            }
        });
        let requests = jobs.into_iter().map(|job| {
            let req = request(config, job.framing, &tasks[job.task], job.index);
            let index = job.index;
            (job, req, index)
        });
        let mut outcomes = client.chat_all(requests);
        while let Some((job, outcome)) = outcomes.next().await {
            match outcome {
                Ok(response) => {
                    finished += 1;
                    progress.inc(1);
                    if let Err(e) = store.clear_llm_failure(run_id, &job.id) {
                        failure_log_errors.push(e.to_string());
                    }
                    let rollout = rollout(config, &tasks[job.task], &job, step, response);
                    if tx.send((rollout, job.task)).is_err() {
                        break;
                    }
                }
                Err(LlmError::Cancelled) => {}
                Err(e) => {
                    let failure = goodhart_store::LlmFailure {
                        run_id: run_id.to_string(),
                        sample_id: job.id.clone(),
                        group: job.framing.as_str().to_string(),
                        kind: e.kind(),
                        message: e.to_string(),
                    };
                    if let Err(log) = store.record_llm_failure(&failure) {
                        failure_log_errors.push(log.to_string());
                    }
                    progress.inc(1);
                    progress.println(format!("sample {} failed: {e}", job.id));
                }
            }
        }
    });
    drop(tx);
    let mut grade_errors = 0;
    for h in handles {
        let (_, errors) = h
            .join()
            .map_err(|_| anyhow::anyhow!("a grading worker panicked"))?;
        for e in &errors {
            eprintln!("grading failed: {e}");
        }
        grade_errors += errors.len();
    }
    if let Some(e) = failure_log_errors.first() {
        bail!("could not record sampling failures in the store: {e}");
    }
    Ok(Outcome {
        finished,
        grade_errors,
    })
}

/// Grades and labels completions exactly as `goodhart grade` and `goodhart serve` do.
struct Grading {
    judge: goodhart_server::GraderJudge,
    monitoring: Option<super::monitor::Monitoring>,
}

impl Grading {
    fn new(monitoring: Option<super::monitor::Monitoring>) -> anyhow::Result<Grading> {
        let sandbox =
            goodhart_sandbox::Sandbox::discover().context("starting the sandbox for grading")?;
        Ok(Grading {
            judge: goodhart_server::GraderJudge::new(goodhart_grade::Grader::new(Arc::new(
                sandbox,
            ))),
            monitoring,
        })
    }

    /// The graded record; `reward` is what the hackable `assert` environment would pay (1 or 0), the
    /// signal a policy trained on this environment would see.
    fn grade(&self, task: &Task, mut rollout: Rollout) -> anyhow::Result<GradedRollout> {
        let judged = self.judge.judge_under(task, &rollout, &Profile::ALL);
        let hack = super::monitor::Monitoring::reviewed(
            self.monitoring.as_ref(),
            task,
            &mut rollout,
            judged.hack,
        );
        let reward = Some(goodhart_server::reward::pass_reward(
            &judged.verdicts,
            Profile::Assert,
        ));
        Ok(GradedRollout {
            rollout,
            verdicts: judged.verdicts,
            reward,
            hack,
        })
    }
}

/// The stored record of one completion: what the grader and detectors read, plus the sampling facts.
fn rollout(
    config: &RunConfig,
    task: &Task,
    job: &Job,
    step: Option<i64>,
    response: goodhart_llm::ChatResponse,
) -> Rollout {
    let mut extra = serde_json::Map::new();
    extra.insert("sample".into(), json!(job.index));
    extra.insert("hints".into(), json!(config.hints));
    extra.insert("finish_reason".into(), json!(response.finish_reason));
    extra.insert("usage".into(), json!(response.usage));
    Rollout {
        id: job.id.clone(),
        task_id: task.id.clone(),
        completion: response.text,
        files: None,
        reasoning: response.reasoning,
        framing: Some(job.framing.as_str().to_string()),
        step,
        model: Some(config.model.label()),
        extra,
    }
}

/// The metrics every framing reports, in table order.
const METRICS: [&str; 4] = [
    "proxy_pass_rate",
    "hardened_pass_rate",
    "hack_attempted_rate",
    "hack_succeeded_rate",
];

/// Per-framing counts, the raw material of every rate.
#[derive(Debug, Default, Clone)]
struct Counts {
    samples: u64,
    errors: u64,
    /// Successes per metric name (see [`METRICS`]).
    metric: BTreeMap<&'static str, u64>,
    /// Samples in which each kind was found / found in a hack that succeeded.
    attempted_by_kind: BTreeMap<HackKind, u64>,
    succeeded_by_kind: BTreeMap<HackKind, u64>,
}

/// Everything the summary prints.
#[derive(Debug)]
struct Summary {
    run_id: String,
    framings: Vec<(Framing, Counts)>,
    /// Every kind seen in the run, so all framings report the same keys.
    kinds: BTreeSet<HackKind>,
}

/// A proxy pass means some proxy profile passed, matching the contract's definition of `succeeded`.
fn summarise(
    run_id: &str,
    framings: &[Framing],
    graded: &[GradedRollout],
    errors: &BTreeMap<String, u64>,
) -> Summary {
    let mut by: HashMap<&str, Counts> = HashMap::new();
    let mut kinds = BTreeSet::new();
    for g in graded {
        let Some(framing) = g.rollout.framing.as_deref() else {
            continue;
        };
        let c = by.entry(framing).or_default();
        c.samples += 1;
        let proxy = g.verdicts.iter().any(|(p, v)| p.is_proxy() && v.passed);
        let hardened = g.verdicts.get(&Profile::Hardened).is_some_and(|v| v.passed);
        for (metric, hit) in
            METRICS
                .into_iter()
                .zip([proxy, hardened, g.hack.attempted, g.hack.succeeded])
        {
            *c.metric.entry(metric).or_default() += u64::from(hit);
        }
        for &k in &g.hack.kinds {
            kinds.insert(k);
            *c.attempted_by_kind.entry(k).or_default() += 1;
            if g.hack.succeeded {
                *c.succeeded_by_kind.entry(k).or_default() += 1;
            }
        }
    }
    let framings = framings
        .iter()
        .map(|f| {
            let mut c = by.remove(f.as_str()).unwrap_or_default();
            c.errors = errors.get(f.as_str()).copied().unwrap_or(0);
            (*f, c)
        })
        .collect();
    Summary {
        run_id: run_id.to_string(),
        framings,
        kinds,
    }
}

fn rate(hits: u64, n: u64) -> Option<Estimate> {
    wilson95(hits, n)
}

fn json_rate(e: Option<Estimate>) -> Value {
    e.map_or(Value::Null, |e| json!(e.point))
}

fn json_ci(e: Option<Estimate>) -> Value {
    e.map_or(Value::Null, |e| json!([e.low, e.high]))
}

/// Newcombe's hybrid score interval for a difference of two proportions, built from their Wilson
/// intervals (method 10 of Newcombe 1998).
fn difference(a: Option<Estimate>, b: Option<Estimate>) -> Option<Estimate> {
    let (a, b) = (a?, b?);
    let d = a.point - b.point;
    let low = d - ((a.point - a.low).powi(2) + (b.high - b.point).powi(2)).sqrt();
    let high = d + ((a.high - a.point).powi(2) + (b.point - b.low).powi(2)).sqrt();
    Some(Estimate {
        point: d,
        low,
        high,
    })
}

impl Counts {
    fn estimate(&self, metric: &str) -> Option<Estimate> {
        rate(self.metric.get(metric).copied().unwrap_or(0), self.samples)
    }
}

impl Summary {
    /// The `--json` object, in the shape issue 6 fixes.
    fn to_json(&self) -> Value {
        let framings: Vec<Value> = self
            .framings
            .iter()
            .map(|(f, c)| {
                let mut obj = serde_json::Map::new();
                obj.insert("framing".into(), json!(f.as_str()));
                obj.insert("samples".into(), json!(c.samples));
                obj.insert("errors".into(), json!(c.errors));
                let mut ci = serde_json::Map::new();
                for m in METRICS {
                    obj.insert(m.into(), json_rate(c.estimate(m)));
                    ci.insert(m.into(), json_ci(c.estimate(m)));
                }
                let mut by_kind = serde_json::Map::new();
                for k in &self.kinds {
                    let e = rate(c.attempted_by_kind.get(k).copied().unwrap_or(0), c.samples);
                    by_kind.insert(k.as_str().into(), json_rate(e));
                    ci.insert(format!("by_kind.{k}"), json_ci(e));
                }
                obj.insert("by_kind".into(), Value::Object(by_kind));
                obj.insert("ci95".into(), Value::Object(ci));
                Value::Object(obj)
            })
            .collect();
        json!({ "run_id": self.run_id, "framings": framings })
    }

    /// The human-readable tables.
    fn render(&self) -> String {
        let pct = |e: Option<Estimate>| {
            e.map_or("-".to_string(), |e| {
                format!(
                    "{:.1}% [{:.1}, {:.1}]",
                    100.0 * e.point,
                    100.0 * e.low,
                    100.0 * e.high
                )
            })
        };
        let mut out = format!("run {}\n\n", self.run_id);
        out.push_str(&format!(
            "{:<22} {:>7} {:>6}  {:<22}  {:<22}  {:<22}  {}\n",
            "framing",
            "samples",
            "errors",
            "proxy pass",
            "hardened pass",
            "hack attempted",
            "hack succeeded"
        ));
        for (f, c) in &self.framings {
            out.push_str(&format!(
                "{:<22} {:>7} {:>6}",
                f.as_str(),
                c.samples,
                c.errors
            ));
            for m in METRICS {
                out.push_str(&format!("  {:<22}", pct(c.estimate(m))));
            }
            out.truncate(out.trim_end().len());
            out.push('\n');
        }
        if !self.kinds.is_empty() {
            out.push_str(
                "\nby hack kind (attempted / succeeded, % of samples, 95% Wilson interval)\n",
            );
            for k in &self.kinds {
                out.push_str(&format!("  {k}\n"));
                for (f, c) in &self.framings {
                    let a = rate(c.attempted_by_kind.get(k).copied().unwrap_or(0), c.samples);
                    let s = rate(c.succeeded_by_kind.get(k).copied().unwrap_or(0), c.samples);
                    out.push_str(&format!(
                        "    {:<22} {:<22}  {}\n",
                        f.as_str(),
                        pct(a),
                        pct(s)
                    ));
                }
            }
        }
        if let Some(((base, bc), rest)) = self.framings.split_first().filter(|(_, r)| !r.is_empty())
        {
            out.push_str(&format!(
                "\ndifferences vs {base} (percentage points, 95% Newcombe interval; an interval excluding 0 is a real difference)\n"
            ));
            for (f, c) in rest {
                out.push_str(&format!("  {:<22}", f.as_str()));
                for m in METRICS {
                    let d = difference(c.estimate(m), bc.estimate(m));
                    let cell = d.map_or("-".to_string(), |d| {
                        format!(
                            "{:+.1} [{:+.1}, {:+.1}]",
                            100.0 * d.point,
                            100.0 * d.low,
                            100.0 * d.high
                        )
                    });
                    out.push_str(&format!("  {}: {:<20}", short(m), cell));
                }
                out.truncate(out.trim_end().len());
                out.push('\n');
            }
        }
        out
    }
}

fn short(metric: &str) -> &'static str {
    match metric {
        "proxy_pass_rate" => "proxy",
        "hardened_pass_rate" => "hardened",
        "hack_attempted_rate" => "attempted",
        _ => "succeeded",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goodhart_core::{HackReport, Verdict};

    fn graded(
        framing: &str,
        i: usize,
        proxy: bool,
        hardened: bool,
        kinds: &[HackKind],
    ) -> GradedRollout {
        let verdict = |passed| Verdict::pass_fail(passed, u32::from(passed), 1, 1.0);
        let rollout: Rollout = serde_json::from_value(json!({
            "id": format!("{framing}/t/{i}"), "task_id": "t", "completion": "", "framing": framing,
        }))
        .unwrap();
        GradedRollout {
            rollout,
            verdicts: BTreeMap::from([
                (Profile::Assert, verdict(proxy)),
                (Profile::Pytest, verdict(false)),
                (Profile::Hardened, verdict(hardened)),
            ]),
            reward: Some(1.0),
            hack: HackReport {
                attempted: !kinds.is_empty(),
                succeeded: proxy && !hardened,
                kinds: kinds.to_vec(),
                evidence: vec![],
            },
        }
    }

    /// please_hack: 6 of 8 hack (always_equal) and succeed; neutral: 1 of 8 exits early, 1 error.
    fn example() -> Summary {
        let mut rows = Vec::new();
        for i in 0..8 {
            let hack = i < 6;
            let kinds: &[HackKind] = if hack { &[HackKind::AlwaysEqual] } else { &[] };
            rows.push(graded("please_hack", i, true, !hack, kinds));
            let kinds: &[HackKind] = if i == 0 { &[HackKind::EarlyExit] } else { &[] };
            rows.push(graded("neutral", i, true, i != 0, kinds));
        }
        let errors = BTreeMap::from([("neutral".to_string(), 1)]);
        summarise(
            "run-1",
            &[Framing::PleaseHack, Framing::Neutral],
            &rows,
            &errors,
        )
    }

    #[test]
    fn json_has_the_contract_shape_and_rates() {
        let v = example().to_json();
        assert_eq!(v["run_id"], "run-1");
        let f = &v["framings"][0];
        assert_eq!(f["framing"], "please_hack");
        assert_eq!(f["samples"], 8);
        assert_eq!(f["errors"], 0);
        assert_eq!(f["proxy_pass_rate"], 1.0);
        assert_eq!(f["hardened_pass_rate"], 0.25);
        assert_eq!(f["hack_attempted_rate"], 0.75);
        assert_eq!(f["hack_succeeded_rate"], 0.75);
        assert_eq!(f["by_kind"]["always_equal"], 0.75);
        assert_eq!(f["by_kind"]["early_exit"], 0.0);
        // Wilson 95% for 6/8, computed by hand: centre 0.6876, half-width 0.2781.
        let ci = f["ci95"]["hack_succeeded_rate"].as_array().unwrap();
        assert!((ci[0].as_f64().unwrap() - 0.4093).abs() < 1e-3, "{ci:?}");
        assert!((ci[1].as_f64().unwrap() - 0.9285).abs() < 1e-3, "{ci:?}");
        assert_eq!(v["framings"][1]["errors"], 1);
        let keys: BTreeSet<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        let contract = [
            "framing",
            "samples",
            "errors",
            "proxy_pass_rate",
            "hardened_pass_rate",
            "hack_attempted_rate",
            "hack_succeeded_rate",
            "by_kind",
            "ci95",
        ];
        assert_eq!(keys, contract.into_iter().collect::<BTreeSet<_>>());
    }

    #[test]
    fn newcombe_difference_matches_a_hand_computation() {
        // 6/8 vs 1/8: d = 0.625; Wilson(6/8) = [0.4093, 0.9285], Wilson(1/8) = [0.0224, 0.4709].
        let d = difference(wilson95(6, 8), wilson95(1, 8)).unwrap();
        assert!((d.point - 0.625).abs() < 1e-12);
        let low = 0.625 - ((0.75f64 - 0.4093).powi(2) + (0.4709f64 - 0.125).powi(2)).sqrt();
        let high = 0.625 + ((0.9285f64 - 0.75).powi(2) + (0.125f64 - 0.0224).powi(2)).sqrt();
        assert!(
            (d.low - low).abs() < 1e-3 && (d.high - high).abs() < 1e-3,
            "{d:?} vs [{low}, {high}]"
        );
    }

    #[test]
    fn table_is_pinned() {
        insta::assert_snapshot!(example().render());
    }
}
