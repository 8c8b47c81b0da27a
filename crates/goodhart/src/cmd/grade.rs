//! `goodhart grade`: verdicts, rewards and hack labels with evidence for a file of rollouts.
//!
//! Streams: one reader thread parses lines into a bounded queue, grading threads drain it, and this
//! thread commits each batch of graded records to the store and only then writes them (flushed) to
//! `--output`, so memory stays flat however long the input is. The store is the run's ledger: a run
//! killed in any way continues with `--resume RUN_ID`, which grades only the rollouts the store lacks,
//! rebuilds `--output` from the store (so it ends with exactly the store's records, none twice, none
//! missing) and prints a summary of the whole run.

use super::resume::{self, list, Conflicts};
use crate::progress::Progress;
use anyhow::Context;
use goodhart_core::{GradedRollout, HackKind, Profile, Rollout, Task};
use goodhart_grade::Grader;
use goodhart_report::stats::wilson95;
use goodhart_sandbox::Sandbox;
use goodhart_server::reward::{reward, RewardPolicy};
use goodhart_server::GraderJudge;
use goodhart_store::{ledger, NewItem, RunKind, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Command-line options of `goodhart grade`.
#[derive(clap::Args, Debug)]
pub struct GradeArgs {
    /// Tasks the rollouts answer: a built-in source (`bundled`, `humaneval`, `mbpp`) or a file (native
    /// JSONL, HumanEval, MBPP, verl). [default: bundled]
    #[arg(long, value_name = "SRC")]
    tasks: Option<String>,
    /// Rollout records, one JSON object per line (`-` for standard input): `id`, `task_id`,
    /// `completion`, optional `files`, `reasoning`, `framing`, `step`, `model` and `metadata` (any
    /// object, carried through), and the fields `goodhart sample` and the trainer shims add; any other
    /// field is an error naming it and the line (docs/contract.md). Graded records are accepted too.
    /// Required unless --resume. With --join, a file every worker reads at the same path (a shared
    /// volume); the first worker queues one item per gradeable line and reports the bad ones.
    #[arg(long, value_name = "PATH")]
    input: Option<PathBuf>,
    /// Where graded records go, one per line (default: standard output). It must not exist yet (or be
    /// empty): to continue a run that was writing it, use --resume RUN_ID, which rebuilds it from the
    /// store. Required with --join: written once, from the store, by the worker that sees the last
    /// rollout stored (never partly by several), so give a path every worker can reach.
    #[arg(long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Grader profiles to run, comma-separated. [default: assert,pytest,hardened]
    #[arg(long, value_delimiter = ',')]
    profiles: Option<Vec<Profile>>,
    /// The proxy profile whose pass becomes the reward (default: the first proxy profile given).
    #[arg(long, value_name = "P")]
    reward_profile: Option<Profile>,
    /// How verdicts and hack labels become `reward`, as `goodhart serve` pays it: `proxy` (the proxy
    /// profile's pass), `hardened` (the ground truth), `penalty` (proxy minus --penalty when a hack is
    /// detected) or `screen` (null for flagged rollouts). [default: proxy]
    #[arg(long, value_name = "POLICY")]
    reward: Option<RewardPolicy>,
    /// What the `penalty` policy subtracts (a finite number). [default: 1]
    #[arg(long, value_parser = super::finite_f64)]
    penalty: Option<f64>,
    /// The store to record the run in: a SQLite file, or a postgres:// URL shared by many processes (default: $GOODHART_HOME/goodhart.db).
    #[arg(long, value_name = "PATH|URL", env = "GOODHART_DB", value_parser = super::DbLocation)]
    db: Option<PathBuf>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
    /// Grading threads and sandbox workers (default: one per core).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Completions longer than this many bytes are reported and skipped. [default: 1048576]
    #[arg(long, value_name = "BYTES")]
    max_completion_bytes: Option<usize>,
    /// Continue run RUN_ID (killed, interrupted or failed) from the store: its stored options are used
    /// (a flag that says otherwise is an error), only rollouts the store lacks are graded, --output is
    /// rebuilt from the store, and the summary covers the whole run.
    #[arg(long, value_name = "RUN_ID")]
    resume: Option<String>,
    #[command(flatten)]
    monitor: super::monitor::MonitorArgs,
    /// A models TOML file naming endpoints, for --monitor NAME.
    #[arg(long, env = "GOODHART_MODELS", value_name = "PATH")]
    models: Option<PathBuf>,
    // --join RUN_ID and --lease: see --input and --output for what grade workers share.
    #[command(flatten)]
    queue: super::join::JoinArgs,
}

/// What a grade run was started with; stored, so `--resume` grades the rest exactly the same way.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct GradeConfig {
    tasks: String,
    /// Absolute path, or `-` for standard input.
    input: PathBuf,
    /// Absolute path; `None` for standard output.
    output: Option<PathBuf>,
    profiles: Vec<Profile>,
    reward_profile: Profile,
    reward: RewardPolicy,
    penalty: f64,
    max_completion_bytes: usize,
    /// The LLM monitor, when `--monitor` was given (absent in runs of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    monitor: Option<super::monitor::MonitorSetup>,
    /// For a `--join` run: what the worker that queued it found in the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    queue: Option<QueuedInput>,
}

/// The input of a queued run as its first worker read it: later workers check they read the same file,
/// and every worker's summary counts the same bad lines.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct QueuedInput {
    rollouts: u64,
    bad_lines: u64,
    input_bytes: u64,
}

/// Where a queued rollout's line is in the input (a queue item's payload).
#[derive(Debug, Serialize, Deserialize)]
struct LineAt {
    line: u64,
    offset: u64,
    len: u64,
}

/// The queue item of a `--join` grade run whose worker writes `--output` (a barrier: it runs once every
/// rollout is graded). Rollout items are `rollout:<id>`.
const OUTPUT_ITEM: &str = "output";

/// One input line that could not be graded, with where it was.
struct Problem {
    line: u64,
    message: String,
}

/// A rollout ready to grade, with its line for error messages.
struct Job {
    rollout: Rollout,
}

/// Graded records committed before they are written; at most this many wait in memory.
const BATCH: usize = 64;
/// ... or for at most this long.
const BATCH_WAIT: Duration = Duration::from_millis(250);

/// `path` made absolute (so a run is found again from another directory); `-` stays `-`.
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path == Path::new("-") {
        return Ok(path.to_path_buf());
    }
    std::path::absolute(path).with_context(|| format!("resolving the path {}", path.display()))
}

/// Whether two paths name the same file (the same inode when both exist).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => a == b,
    }
}

/// The configuration of a new run from the flags, refusing outputs that would clobber or mix files.
fn new_config(args: &GradeArgs, store: &Store) -> anyhow::Result<GradeConfig> {
    let config = config_from_flags(args)?;
    if let Some(out) = &config.output {
        refuse_clobber(store, out)?;
    }
    Ok(config)
}

/// The configuration the flags ask for (defaults filled in, paths made absolute).
fn config_from_flags(args: &GradeArgs) -> anyhow::Result<GradeConfig> {
    let input = args
        .input
        .as_deref()
        .context("--input is required (a rollouts JSONL file, or - for standard input), unless --resume is given")?;
    let profiles = args
        .profiles
        .clone()
        .unwrap_or_else(|| vec![Profile::Assert, Profile::Pytest, Profile::Hardened]);
    if profiles.is_empty() {
        anyhow::bail!("--profiles is empty: name at least one of assert, pytest, hardened");
    }
    let reward_profile = args
        .reward_profile
        .or_else(|| profiles.iter().copied().find(|p| p.is_proxy()))
        .unwrap_or(Profile::Hardened);
    let input = absolute(input)?;
    let output = args.output.as_deref().map(absolute).transpose()?;
    if let Some(out) = &output {
        if input != Path::new("-") && same_file(&input, out) {
            anyhow::bail!(
                "--input and --output are the same file ({}): grading would overwrite the rollouts; \
                 write the graded records elsewhere",
                out.display()
            );
        }
    }
    Ok(GradeConfig {
        tasks: args.tasks.clone().unwrap_or_else(|| "bundled".to_string()),
        input,
        output,
        profiles,
        reward_profile,
        reward: args.reward.unwrap_or(RewardPolicy::Proxy),
        penalty: args.penalty.unwrap_or(1.0),
        max_completion_bytes: args.max_completion_bytes.unwrap_or(1 << 20),
        monitor: args.monitor.setup(args.models.as_deref())?,
        queue: None,
    })
}

/// Refuses an `--output` that exists and is not empty, saying which run wrote it if any.
fn refuse_clobber(store: &Store, out: &Path) -> anyhow::Result<()> {
    let len = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Ok(());
    }
    let owner = store
        .runs(Some(RunKind::Grade))?
        .into_iter()
        .find(|r| r.config.get("output").and_then(|o| o.as_str()) == out.to_str());
    let hint = match owner {
        Some(run) => format!(
            "it is the output of grade run {} (status {}): continue that run with \
             `goodhart grade --resume {}`",
            run.id, run.status, run.id
        ),
        None => "it is not the output of any grade run in this store".to_string(),
    };
    anyhow::bail!(
        "--output {} already exists and is not empty; {hint}, or choose a new --output \
         (goodhart never appends to a file it did not start)",
        out.display()
    )
}

/// The stored configuration of run `id`, after checking that no flag given contradicts it.
fn resumed_config(args: &GradeArgs, store: &Store, id: &str) -> anyhow::Result<GradeConfig> {
    resume::stored_config(store, id, RunKind::Grade, |config: &GradeConfig, c| {
        check_flags(args, config, c)
    })
}

/// The options that decide how a run grades, each with its flag, as a user would read them.
fn shown(config: &GradeConfig) -> [(&'static str, String); 8] {
    let path = |p: &Path| p.display().to_string();
    [
        ("--tasks", config.tasks.clone()),
        ("--input", path(&config.input)),
        (
            "--output",
            config
                .output
                .as_deref()
                .map_or("(standard output)".into(), path),
        ),
        ("--profiles", list(&config.profiles)),
        ("--reward-profile", config.reward_profile.to_string()),
        ("--reward", config.reward.to_string()),
        ("--penalty", config.penalty.to_string()),
        (
            "--max-completion-bytes",
            config.max_completion_bytes.to_string(),
        ),
    ]
}

/// Notes every flag given that says something else than the run's stored configuration.
fn check_flags(args: &GradeArgs, config: &GradeConfig, c: &mut Conflicts) -> anyhow::Result<()> {
    let path = |p: Option<&Path>| -> anyhow::Result<Option<String>> {
        Ok(p.map(absolute)
            .transpose()?
            .map(|p| p.display().to_string()))
    };
    let given = [
        args.tasks.clone(),
        path(args.input.as_deref())?,
        path(args.output.as_deref())?,
        args.profiles.as_deref().map(list),
        args.reward_profile.map(|p| p.to_string()),
        args.reward.map(|r| r.to_string()),
        args.penalty.map(|p| p.to_string()),
        args.max_completion_bytes.map(|b| b.to_string()),
    ];
    for (given, (flag, stored)) in given.into_iter().zip(shown(config)) {
        c.check(flag, given, stored);
    }
    args.monitor
        .check_resume(c, config.monitor.as_ref(), args.models.as_deref())?;
    Ok(())
}

/// Where graded records go: the output file rebuilt from the store (written beside it, then renamed
/// over it, so a kill never leaves it half-rebuilt), or standard output after the stored records.
fn open_output(
    config: &GradeConfig,
    store: &Store,
    run_id: &str,
) -> anyhow::Result<Box<dyn Write>> {
    let write_stored = |w: &mut dyn Write| -> anyhow::Result<()> {
        let mut failed = None;
        store.for_each_graded_json(run_id, |json| {
            if let Err(e) = writeln!(w, "{json}") {
                failed.get_or_insert(e);
            }
            Ok(())
        })?;
        match failed {
            Some(e) => Err(e).context("writing the stored graded records"),
            None => Ok(()),
        }
    };
    let Some(path) = &config.output else {
        let mut out: Box<dyn Write> = Box::new(BufWriter::new(std::io::stdout().lock()));
        write_stored(&mut out)?;
        out.flush()?;
        return Ok(out);
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".goodhart-rebuild");
    let tmp = path.with_file_name(tmp_name);
    {
        let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut w = BufWriter::new(file);
        write_stored(&mut w)?;
        let file = w.into_inner().context("writing the rebuilt output")?;
        file.sync_all().context("syncing the rebuilt output")?;
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("moving the rebuilt output to {}", path.display()))?;
    let file = OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("opening {} for appending", path.display()))?;
    Ok(Box::new(BufWriter::new(file)))
}

/// Commits `batch` to the store, then writes it to the output: a record is never shown before it is
/// stored, and one stored but not written is written by the next `--resume`.
fn commit(
    store: &Store,
    run_id: &str,
    batch: &mut Vec<GradedRollout>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    store.insert_graded_batch(run_id, batch)?;
    for graded in batch.iter() {
        let line = serde_json::to_string(graded).context("serialising a graded record")?;
        writeln!(out, "{line}").context("writing a graded record")?;
    }
    out.flush().context("flushing the output")?;
    batch.clear();
    Ok(())
}

/// Runs the grading and prints the summary; exit 1 when some input lines could not be graded.
pub fn run(args: GradeArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let db = match &args.db {
        Some(p) => p.clone(),
        None => Store::default_path()?,
    };
    let store = Store::open(&db)?;
    if let Some(id) = &args.queue.join {
        return run_joined(&args, &store, &db, id, started);
    }
    let config = match &args.resume {
        Some(id) => resumed_config(&args, &store, id)?,
        None => new_config(&args, &store)?,
    };
    let tasks = load_tasks(&config)?;
    let run_id = match &args.resume {
        Some(id) => {
            store.claim_run(id, RunKind::Grade)?;
            eprintln!("goodhart grade: continuing run {id}");
            id.clone()
        }
        None => store.create_run(RunKind::Grade, &serde_json::to_value(&config)?)?,
    };
    let monitoring = config
        .monitor
        .as_ref()
        .map(|setup| super::monitor::Monitoring::start(setup, &db))
        .transpose()?
        .map(Arc::new);
    match run_claimed(&args, &store, &run_id, &config, tasks, monitoring, started) {
        Ok(code) => Ok(code),
        Err(e) => {
            let _ = store.finish_run(&run_id, ledger::FAILED);
            Err(e.context(format!(
                "grade run {run_id} stopped; what was stored is kept: continue with \
                 `goodhart grade --resume {run_id}`"
            )))
        }
    }
}

/// The tasks a run grades against, by id, after checking the reward profile is among the profiles.
fn load_tasks(config: &GradeConfig) -> anyhow::Result<HashMap<String, Arc<Task>>> {
    if !config.profiles.contains(&config.reward_profile) {
        anyhow::bail!(
            "--reward-profile {} is not among --profiles",
            config.reward_profile
        );
    }
    Ok(goodhart_tasks::load(&config.tasks)
        .with_context(|| format!("loading tasks from `{}`", config.tasks))?
        .into_iter()
        .map(|t| (t.id.clone(), Arc::new(t)))
        .collect())
}

/// The grading threads' judge: sandbox pool as wide as `--jobs` (default one per core); returns the
/// number of threads with it.
fn start_judge(args: &GradeArgs) -> anyhow::Result<(Arc<GraderJudge>, usize)> {
    let mut sandbox_config = goodhart_sandbox::SandboxConfig::discover()?;
    if let Some(jobs) = args.jobs {
        sandbox_config.pool_size = jobs.max(1);
    }
    let workers = sandbox_config.pool_size.max(1);
    let judge = Arc::new(GraderJudge::new(Grader::new(Arc::new(Sandbox::new(
        sandbox_config,
    )?))));
    Ok((judge, workers))
}

/// Everything grading one rollout needs, shared by the grading threads.
#[derive(Clone)]
struct Grading {
    judge: Arc<GraderJudge>,
    tasks: HashMap<String, Arc<Task>>,
    profiles: Vec<Profile>,
    monitoring: Option<Arc<super::monitor::Monitoring>>,
    policy: RewardPolicy,
    reward_profile: Profile,
    penalty: f64,
}

impl Grading {
    /// Verdicts, hack labels (and the monitor's review) and reward of one rollout; `None` when its task
    /// is unknown (the reader reports those lines).
    fn grade(&self, rollout: Rollout) -> Option<GradedRollout> {
        let task = self.tasks.get(&rollout.task_id)?;
        let judged = self.judge.judge_under(task, &rollout, &self.profiles);
        let mut rollout = rollout;
        let hack = super::monitor::Monitoring::reviewed(
            self.monitoring.as_deref(),
            task,
            &mut rollout,
            judged.hack,
        );
        Some(GradedRollout {
            reward: reward(
                self.policy,
                self.reward_profile,
                self.penalty,
                &judged.verdicts,
                &hack,
            ),
            rollout,
            verdicts: judged.verdicts,
            hack,
        })
    }
}

fn run_claimed(
    args: &GradeArgs,
    store: &Store,
    run_id: &str,
    config: &GradeConfig,
    tasks: HashMap<String, Arc<Task>>,
    monitoring: Option<Arc<super::monitor::Monitoring>>,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let done = store.graded_ids(run_id)?;
    let mut out = open_output(config, store, run_id)?;
    let (judge, workers) = start_judge(args)?;
    let grading = Grading {
        judge,
        tasks: tasks.clone(),
        profiles: config.profiles.clone(),
        monitoring,
        policy: config.reward,
        reward_profile: config.reward_profile,
        penalty: config.penalty,
    };

    let progress = Arc::new(Progress::new(
        "grade",
        "rollouts",
        count_lines(&config.input),
    ));
    let (job_tx, job_rx) = crossbeam_channel::bounded::<Job>(workers * 4);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<GradedRollout>(workers * 4);
    let (problem_tx, problem_rx) = crossbeam_channel::unbounded::<Problem>();

    let reader = {
        let input = config.input.clone();
        let tasks = tasks.clone();
        let max = config.max_completion_bytes;
        let progress = progress.clone();
        std::thread::spawn(move || {
            read_rollouts(&input, &tasks, &done, max, &job_tx, &problem_tx, &progress)
        })
    };
    let mut graders = Vec::new();
    for _ in 0..workers {
        let rx = job_rx.clone();
        let tx = done_tx.clone();
        let grading = grading.clone();
        graders.push(std::thread::spawn(move || {
            for job in rx {
                let Some(graded) = grading.grade(job.rollout) else {
                    continue;
                };
                if tx.send(graded).is_err() {
                    break;
                }
            }
        }));
    }
    drop(job_rx);
    drop(done_tx);

    let mut problems = 0u64;
    let mut graded_now = 0u64;
    let mut batch: Vec<GradedRollout> = Vec::new();
    let mut oldest = Instant::now();
    loop {
        match done_rx.recv_timeout(BATCH_WAIT) {
            Ok(graded) => {
                if batch.is_empty() {
                    oldest = Instant::now();
                }
                batch.push(graded);
                graded_now += 1;
                progress.inc(1);
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        if batch.len() >= BATCH || (!batch.is_empty() && oldest.elapsed() >= BATCH_WAIT) {
            commit(store, run_id, &mut batch, &mut out)?;
        }
        problems += report_problems(&problem_rx, &config.input, &progress);
    }
    commit(store, run_id, &mut batch, &mut out)?;
    for handle in graders {
        let _ = handle.join();
    }
    let read = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the input reader thread panicked"))??;
    problems += report_problems(&problem_rx, &config.input, &progress);
    drop(progress);
    drop(out);

    let summary = Summary {
        problems,
        skipped_done: read.skipped_done,
        graded_now,
        ..Summary::default()
    };
    finish(args, store, config, run_id, summary, started)
}

/// Marks the run done and prints the summary, the whole run's, read back from the store however many
/// invocations or workers it took; exit 1 when some input lines could not be graded.
fn finish(
    args: &GradeArgs,
    store: &Store,
    config: &GradeConfig,
    run_id: &str,
    mut summary: Summary,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    store.for_each_graded_json(run_id, |json| {
        let graded: GradedRollout =
            serde_json::from_str(json).map_err(|cause| goodhart_store::StoreError::Json {
                what: "graded rollout".to_string(),
                cause,
            })?;
        summary.add(&graded);
        Ok(())
    })?;
    store.finish_run(run_id, ledger::DONE)?;
    summary.invocations = store.run(run_id)?.invocations;

    // Records own standard output when there is no --output; the summary then goes to stderr.
    let text = if args.json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&summary.to_json(run_id))?
        )
    } else {
        summary.render(run_id, started.elapsed())
    };
    if config.output.is_some() {
        print!("{text}");
    } else {
        eprint!("{text}");
    }
    Ok(if summary.problems == 0 && summary.monitor_errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Prints the bad lines found so far as `FILE:LINE: message` (above the progress bar); returns how many.
fn report_problems(
    problems: &crossbeam_channel::Receiver<Problem>,
    input: &Path,
    progress: &Progress,
) -> u64 {
    let mut count = 0;
    for p in problems.try_iter() {
        progress.println(format!("{}:{}: {}", input.display(), p.line, p.message));
        count += 1;
    }
    count
}

/// What the reader saw, for the summary.
struct ReadStats {
    skipped_done: u64,
}

/// Parses input lines and queues the gradeable ones; every bad line becomes a [`Problem`].
fn read_rollouts(
    input: &Path,
    tasks: &HashMap<String, Arc<Task>>,
    done: &HashSet<String>,
    max_bytes: usize,
    jobs: &crossbeam_channel::Sender<Job>,
    problems: &crossbeam_channel::Sender<Problem>,
    progress: &Progress,
) -> anyhow::Result<ReadStats> {
    let mut stats = ReadStats { skipped_done: 0 };
    scan_rollouts(input, tasks, max_bytes, |line| match line {
        Line::Problem(p) => {
            let _ = problems.send(p);
            progress.inc(1);
            true
        }
        Line::Rollout { rollout, .. } if done.contains(&rollout.id) => {
            stats.skipped_done += 1;
            progress.inc(1);
            true
        }
        Line::Rollout { rollout, .. } => jobs.send(Job { rollout: *rollout }).is_ok(),
    })?;
    Ok(stats)
}

/// One non-empty input line as the reader found it.
enum Line {
    /// A rollout to grade, with where its line is in the input.
    Rollout { rollout: Box<Rollout>, at: LineAt },
    /// A line that cannot be graded (not UTF-8, not a rollout, unknown task, too long, a repeated id).
    Problem(Problem),
}

/// Reads `input` line by line and calls `visit` with each non-empty line, checked, until it returns
/// `false`; the one reader of rollout files, for a single process and for the queue alike.
fn scan_rollouts(
    input: &Path,
    tasks: &HashMap<String, Arc<Task>>,
    max_bytes: usize,
    mut visit: impl FnMut(Line) -> bool,
) -> anyhow::Result<()> {
    let source: Box<dyn Read> = if input == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(input).with_context(|| format!("opening {}", input.display()))?)
    };
    let mut reader = BufReader::new(source);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut offset = 0u64;
    let mut seen: HashSet<String> = HashSet::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading {}", input.display()))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let at = LineAt {
            line: line_no,
            offset,
            len: n as u64,
        };
        offset += n as u64;
        let problem = |message: String| {
            Line::Problem(Problem {
                line: line_no,
                message,
            })
        };
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim(),
            Err(e) => {
                if !visit(problem(format!("not UTF-8 (byte {})", e.valid_up_to()))) {
                    break;
                }
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        let rollout = match Rollout::from_json(text) {
            Ok(r) => r,
            Err(e) => {
                if !visit(problem(format!("not a rollout record: {e}"))) {
                    break;
                }
                continue;
            }
        };
        let reject = if rollout.completion.len() > max_bytes {
            Some(format!(
                "rollout `{}`: field `completion` has {} bytes, over --max-completion-bytes {max_bytes}",
                rollout.id,
                rollout.completion.len()
            ))
        } else if !tasks.contains_key(&rollout.task_id) {
            Some(format!(
                "rollout `{}`: field `task_id` names unknown task `{}`",
                rollout.id, rollout.task_id
            ))
        } else if !seen.insert(rollout.id.clone()) {
            Some(format!(
                "rollout `{}`: duplicate id in the input",
                rollout.id
            ))
        } else {
            None
        };
        let line = match reject {
            Some(message) => problem(message),
            None => Line::Rollout {
                rollout: Box::new(rollout),
                at,
            },
        };
        if !visit(line) {
            break;
        }
    }
    Ok(())
}

/// The rollout a queue item names, read from its line of `input`; an error names the line when it no
/// longer holds that rollout (the file changed after the run was queued, or this machine has another
/// file at that path).
fn read_queued(input: &Path, at: &LineAt, key: &str) -> anyhow::Result<Rollout> {
    use std::io::{Seek, SeekFrom};
    let place = format!("{}:{}", input.display(), at.line);
    let mut file = File::open(input).with_context(|| format!("opening {}", input.display()))?;
    file.seek(SeekFrom::Start(at.offset))
        .with_context(|| format!("seeking to {place}"))?;
    let len = usize::try_from(at.len).context("a queued line longer than memory")?;
    let mut buf = vec![0; len];
    file.read_exact(&mut buf).with_context(|| {
        format!("reading {place}: the file is shorter than when the run was queued")
    })?;
    let rollout = std::str::from_utf8(&buf)
        .ok()
        .and_then(|text| Rollout::from_json(text.trim()).ok())
        .filter(|r| format!("rollout:{}", r.id) == key);
    rollout.with_context(|| {
        format!(
            "{place} no longer holds the queued {key}: the input changed after the run was queued, \
             or this machine has another file at that path"
        )
    })
}

/// `goodhart grade --join RUN_ID`: creates or joins queued run `id` (one item per gradeable input line,
/// keyed `rollout:<id>`, plus the [`OUTPUT_ITEM`] barrier), grades items until the queue is drained,
/// and prints the whole run's summary. `--output` is written once, from the store, by whichever worker
/// claims the barrier, which only becomes claimable when every rollout is stored.
fn run_joined(
    args: &GradeArgs,
    store: &Store,
    db: &Path,
    id: &str,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.input.as_deref().is_some_and(|p| p != Path::new("-")),
        "--join needs --input FILE, a file every worker reads at the same path (not standard input)"
    );
    anyhow::ensure!(
        args.output.is_some(),
        "--join needs --output FILE: the graded records are written there once, from the store, by \
         the worker that finishes the run (so give a path every worker can reach, like a shared volume)"
    );
    let mine = config_from_flags(args)?;
    let tasks = load_tasks(&mine)?;
    let exists = match store.run(id) {
        Ok(_) => true,
        Err(goodhart_store::StoreError::NoSuchRun(_)) => false,
        Err(e) => return Err(e.into()),
    };
    let mut created = None;
    if !exists {
        if let Some(out) = &mine.output {
            refuse_clobber(store, out)?;
        }
        let (items, queued) = queue_input(&mine, &tasks)?;
        let config = GradeConfig {
            queue: Some(queued),
            ..mine.clone()
        };
        let value = serde_json::to_value(&config)?;
        // `Some` when another worker created the run meanwhile: then this one joins it.
        if store
            .create_queued_run(id, RunKind::Grade, &value, None, &items)?
            .is_none()
        {
            eprintln!(
                "goodhart grade: created run {id} and queued its {} rollouts",
                queued.rollouts
            );
            created = Some(config);
        }
    }
    let config = match created {
        Some(config) => config,
        None => {
            let stored =
                resume::stored_config(store, id, RunKind::Grade, |_: &GradeConfig, _| Ok(()))?;
            let mut c = Conflicts::joining(id);
            c.check_all(shown(&mine), shown(&stored));
            args.monitor
                .check_resume(&mut c, stored.monitor.as_ref(), args.models.as_deref())?;
            c.finish()?;
            let bytes = std::fs::metadata(&stored.input)
                .with_context(|| format!("reading {}", stored.input.display()))?
                .len();
            let queued = stored
                .queue
                .with_context(|| {
                    format!(
                        "run {id} is a grade run started without --join, so it has no queue to \
                         join; continue it with `goodhart grade --resume {id}`"
                    )
                })?
                .input_bytes;
            anyhow::ensure!(
                bytes == queued,
                "--join {id}: {} has {bytes} bytes here, but had {queued} when the run was queued: \
                 every worker must read the same file",
                stored.input.display()
            );
            store.join_queued_run(id)?;
            eprintln!("goodhart grade: joined run {id}");
            stored
        }
    };
    let queued = config
        .queue
        .context("a queued grade run carries what its first worker read")?;

    let monitoring = config
        .monitor
        .as_ref()
        .map(|setup| super::monitor::Monitoring::start(setup, db))
        .transpose()?
        .map(Arc::new);
    let (judge, threads) = start_judge(args)?;
    let grading = Grading {
        judge,
        tasks,
        profiles: config.profiles.clone(),
        monitoring,
        policy: config.reward,
        reward_profile: config.reward_profile,
        penalty: config.penalty,
    };
    let progress = Progress::new("grade", "rollouts", Some(queued.rollouts));
    progress.inc(store.queue_counts(id)?.done);
    let graded_now = std::sync::atomic::AtomicU64::new(0);
    let worker = super::join::Worker::new(store, id, &args.queue);
    worker.work(db, threads, |item| {
        let key = std::slice::from_ref(&item.key);
        if item.key == OUTPUT_ITEM {
            drop(open_output(&config, store, id)?);
            store.complete_items(id, &worker.id, key)?;
            return Ok(());
        }
        let at: LineAt = serde_json::from_str(&item.payload)
            .with_context(|| format!("run {id}: queued item {} has no line", item.key))?;
        let rollout = read_queued(&config.input, &at, &item.key)?;
        let graded = grading.grade(rollout).with_context(|| {
            format!(
                "{}:{}: the task of {} is not among --tasks here",
                config.input.display(),
                at.line,
                item.key
            )
        })?;
        store.complete_graded_items(id, &worker.id, key, &[graded])?;
        graded_now.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        progress.inc(1);
        Ok(())
    })?;
    drop(progress);
    let summary = Summary {
        problems: queued.bad_lines,
        graded_now: graded_now.into_inner(),
        ..Summary::default()
    };
    finish(args, store, &config, id, summary, started)
}

/// Reads the input once to queue it: one item per gradeable line (bad lines are reported here, by the
/// worker that queues the run, and counted in every worker's summary), then the output barrier.
fn queue_input(
    config: &GradeConfig,
    tasks: &HashMap<String, Arc<Task>>,
) -> anyhow::Result<(Vec<NewItem>, QueuedInput)> {
    let input_bytes = std::fs::metadata(&config.input)
        .with_context(|| format!("reading {}", config.input.display()))?
        .len();
    let mut items = Vec::new();
    let mut bad_lines = 0;
    let mut failed = None;
    scan_rollouts(
        &config.input,
        tasks,
        config.max_completion_bytes,
        |line| match line {
            Line::Problem(p) => {
                eprintln!("{}:{}: {}", config.input.display(), p.line, p.message);
                bad_lines += 1;
                true
            }
            Line::Rollout { rollout, at } => match serde_json::to_string(&at) {
                Ok(payload) => {
                    items.push(NewItem {
                        key: format!("rollout:{}", rollout.id),
                        payload,
                        barrier: false,
                    });
                    true
                }
                Err(e) => {
                    failed = Some(e);
                    false
                }
            },
        },
    )?;
    if let Some(e) = failed {
        return Err(e).context("recording where a rollout's line is");
    }
    let queued = QueuedInput {
        rollouts: items.len() as u64,
        bad_lines,
        input_bytes,
    };
    items.push(NewItem {
        key: OUTPUT_ITEM.to_string(),
        payload: String::new(),
        barrier: true,
    });
    Ok((items, queued))
}

/// Counts lines of a regular file for the progress bar; `None` for pipes.
fn count_lines(path: &Path) -> Option<u64> {
    if path == Path::new("-") {
        return None;
    }
    let mut file = File::open(path).ok()?;
    let mut buf = vec![0u8; 1 << 16];
    let mut count = 0u64;
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        count += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    Some(count)
}

/// Counts for one group of rollouts (all, one framing, one step).
#[derive(Default, Clone)]
struct Tally {
    rollouts: u64,
    passed: BTreeMap<Profile, u64>,
    attempted: u64,
    succeeded: u64,
    attempted_by_kind: BTreeMap<HackKind, u64>,
    succeeded_by_kind: BTreeMap<HackKind, u64>,
}

impl Tally {
    fn add(&mut self, g: &GradedRollout) {
        self.rollouts += 1;
        for (p, v) in &g.verdicts {
            *self.passed.entry(*p).or_default() += u64::from(v.passed);
        }
        self.attempted += u64::from(g.hack.attempted);
        self.succeeded += u64::from(g.hack.succeeded);
        for k in &g.hack.kinds {
            *self.attempted_by_kind.entry(*k).or_default() += 1;
            if g.hack.succeeded {
                *self.succeeded_by_kind.entry(*k).or_default() += 1;
            }
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let rate = |k: u64| {
            let est = wilson95(k, self.rollouts);
            json!({
                "count": k,
                "rate": est.as_ref().map(|e| e.point),
                "ci95": est.as_ref().map(|e| [e.low, e.high]),
            })
        };
        json!({
            "rollouts": self.rollouts,
            "pass": self.passed.iter().map(|(p, k)| (p.as_str(), rate(*k))).collect::<BTreeMap<_, _>>(),
            "hack_attempted": rate(self.attempted),
            "hack_succeeded": rate(self.succeeded),
            "attempted_by_kind": self.attempted_by_kind.iter().map(|(h, k)| (h.as_str(), rate(*k))).collect::<BTreeMap<_, _>>(),
            "succeeded_by_kind": self.succeeded_by_kind.iter().map(|(h, k)| (h.as_str(), rate(*k))).collect::<BTreeMap<_, _>>(),
        })
    }
}

/// Totals over the whole run, and split by framing and by step when records carry them.
#[derive(Default)]
struct Summary {
    all: Tally,
    by_framing: BTreeMap<String, Tally>,
    by_step: BTreeMap<i64, Tally>,
    problems: u64,
    /// Rollouts this invocation found already stored (graded by an earlier invocation of the run).
    skipped_done: u64,
    /// Rollouts this invocation graded.
    graded_now: u64,
    /// Processes that worked on the run, this one included.
    invocations: u32,
    /// Rollouts the LLM monitor reviewed, and of those how many gave no verdict (the record's
    /// `monitor.status` is `error`, with the reason).
    monitor_reviewed: u64,
    monitor_errors: u64,
}

impl Summary {
    fn add(&mut self, g: &GradedRollout) {
        self.all.add(g);
        if let Some(m) = g.rollout.extra.get("monitor") {
            self.monitor_reviewed += 1;
            self.monitor_errors +=
                u64::from(m.get("status").and_then(|s| s.as_str()) == Some("error"));
        }
        if let Some(f) = &g.rollout.framing {
            self.by_framing.entry(f.clone()).or_default().add(g);
        }
        if let Some(s) = g.rollout.step {
            self.by_step.entry(s).or_default().add(g);
        }
    }

    fn to_json(&self, run_id: &str) -> serde_json::Value {
        let mut v = json!({
            "run_id": run_id,
            "graded": self.all.rollouts,
            "bad_lines": self.problems,
            "invocation": {
                "graded": self.graded_now,
                "already_stored": self.skipped_done,
                "invocations": self.invocations,
            },
            "overall": self.all.to_json(),
            "by_framing": self.by_framing.iter().map(|(f, t)| (f.clone(), t.to_json())).collect::<BTreeMap<_, _>>(),
            "by_step": self.by_step.iter().map(|(s, t)| (s.to_string(), t.to_json())).collect::<BTreeMap<_, _>>(),
        });
        if self.monitor_reviewed > 0 {
            v["monitor"] =
                json!({"reviewed": self.monitor_reviewed, "errors": self.monitor_errors});
        }
        v
    }

    fn render(&self, run_id: &str, elapsed: Duration) -> String {
        let mut s = String::new();
        let secs = elapsed.as_secs_f64().max(1e-9);
        s.push_str(&format!(
            "run {run_id}: {} rollouts graded, {} bad lines; this invocation graded {} in {:.1}s ({:.1}/s), {} were already stored\n",
            self.all.rollouts,
            self.problems,
            self.graded_now,
            secs,
            self.graded_now as f64 / secs,
            self.skipped_done,
        ));
        if self.monitor_reviewed > 0 {
            s.push_str(&format!(
                "monitor: {} rollouts reviewed, {} without a verdict (see each record's `monitor.error`)\n",
                self.monitor_reviewed, self.monitor_errors
            ));
        }
        s.push_str(&render_tally("all rollouts", &self.all));
        for (f, t) in &self.by_framing {
            s.push_str(&render_tally(&format!("framing {f}"), t));
        }
        for (step, t) in &self.by_step {
            s.push_str(&render_tally(&format!("step {step}"), t));
        }
        s
    }
}

/// One block of the human summary: pass rates per profile and hack rates per kind, with 95% intervals.
fn render_tally(title: &str, t: &Tally) -> String {
    let fmt = |k: u64| match wilson95(k, t.rollouts) {
        Some(e) => format!(
            "{:>6.1}%  [{:>5.1}, {:>5.1}]  ({k}/{})",
            e.point * 100.0,
            e.low * 100.0,
            e.high * 100.0,
            t.rollouts
        ),
        None => "     -".to_string(),
    };
    let mut s = format!("\n{title} (n = {})\n", t.rollouts);
    for (p, k) in &t.passed {
        s.push_str(&format!("  pass {:<24} {}\n", p.as_str(), fmt(*k)));
    }
    s.push_str(&format!(
        "  hack attempted {:<14} {}\n",
        "",
        fmt(t.attempted)
    ));
    s.push_str(&format!(
        "  hack succeeded {:<14} {}\n",
        "",
        fmt(t.succeeded)
    ));
    for (kind, k) in &t.attempted_by_kind {
        let won = t.succeeded_by_kind.get(kind).copied().unwrap_or(0);
        s.push_str(&format!(
            "    {:<26} {}  succeeded {won}\n",
            kind.as_str(),
            fmt(*k)
        ));
    }
    s
}
