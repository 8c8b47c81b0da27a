//! `goodhart grade`: verdicts, rewards and hack labels with evidence for a file of rollouts.
//!
//! Streams: one reader thread parses lines into a bounded queue, grading threads drain it, and this
//! thread writes each graded record (flushed) and stores it, so memory stays flat however long the input
//! is and a killed run loses nothing it had already written. `--output` doubles as the resume ledger.

use anyhow::Context;
use goodhart_core::{GradedRollout, HackKind, Profile, Rollout, Task};
use goodhart_grade::Grader;
use goodhart_report::stats::wilson95;
use goodhart_sandbox::Sandbox;
use goodhart_server::reward::{reward, RewardPolicy};
use goodhart_server::GraderJudge;
use goodhart_store::{RunKind, Store};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Command-line options of `goodhart grade`.
#[derive(clap::Args, Debug)]
pub struct GradeArgs {
    /// Tasks the rollouts answer: a built-in source (`bundled`, `humaneval`, `mbpp`) or a file (native
    /// JSONL, HumanEval, MBPP, verl).
    #[arg(long, default_value = "bundled", value_name = "SRC")]
    tasks: String,
    /// Rollout records, one JSON object per line (`-` for standard input).
    #[arg(long, value_name = "PATH")]
    input: PathBuf,
    /// Where graded records go, one per line. When it already holds some ids, those are skipped
    /// (resume) and new records are appended.
    #[arg(long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Grader profiles to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "assert,pytest,hardened")]
    profiles: Vec<Profile>,
    /// The proxy profile whose pass becomes the reward (default: the first proxy profile given).
    #[arg(long, value_name = "P")]
    reward_profile: Option<Profile>,
    /// How verdicts and hack labels become `reward`, as `goodhart serve` pays it: `proxy` (the proxy
    /// profile's pass), `hardened` (the ground truth), `penalty` (proxy minus --penalty when a hack is
    /// detected) or `screen` (null for flagged rollouts).
    #[arg(long, default_value = "proxy", value_name = "POLICY")]
    reward: RewardPolicy,
    /// What the `penalty` policy subtracts (a finite number).
    #[arg(long, default_value_t = 1.0, value_parser = super::finite_f64)]
    penalty: f64,
    /// The store to record the run in (default: $GOODHART_HOME/goodhart.db).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
    /// Grading threads and sandbox workers (default: one per core).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Completions longer than this many bytes are reported and skipped.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    max_completion_bytes: usize,
}

/// One input line that could not be graded, with where it was.
struct Problem {
    line: u64,
    message: String,
}

/// A rollout ready to grade, with its line for error messages.
struct Job {
    rollout: Rollout,
}

/// Runs the grading and prints the summary; exit 1 when some input lines could not be graded.
pub fn run(args: GradeArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let tasks: HashMap<String, Arc<Task>> = goodhart_tasks::load(&args.tasks)
        .with_context(|| format!("loading tasks from `{}`", args.tasks))?
        .into_iter()
        .map(|t| (t.id.clone(), Arc::new(t)))
        .collect();
    if args.profiles.is_empty() {
        anyhow::bail!("--profiles is empty: name at least one of assert, pytest, hardened");
    }
    let reward_profile = args
        .reward_profile
        .or_else(|| args.profiles.iter().copied().find(|p| p.is_proxy()))
        .unwrap_or(Profile::Hardened);
    if !args.profiles.contains(&reward_profile) {
        anyhow::bail!("--reward-profile {reward_profile} is not among --profiles");
    }
    let (policy, penalty) = (args.reward, args.penalty);

    let done = match &args.output {
        Some(path) => resume_ledger(path)?,
        None => HashSet::new(),
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {} for appending", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };

    let db = match &args.db {
        Some(p) => p.clone(),
        None => Store::default_path()?,
    };
    let store = Store::open(&db)?;
    let config = json!({
        "tasks": args.tasks, "input": args.input, "output": args.output,
        "profiles": args.profiles, "reward_profile": reward_profile, "reward": policy, "penalty": penalty,
        "resumed": done.len(),
    });
    let run_id = store.create_run(RunKind::Grade, &config)?;

    let mut sandbox_config = goodhart_sandbox::SandboxConfig::discover()?;
    if let Some(jobs) = args.jobs {
        sandbox_config.pool_size = jobs.max(1);
    }
    let workers = sandbox_config.pool_size.max(1);
    let judge = Arc::new(GraderJudge::new(Grader::new(Arc::new(Sandbox::new(
        sandbox_config,
    )?))));

    let total_lines = count_lines(&args.input);
    let bar = progress_bar(total_lines, args.json || args.output.is_none());
    let (job_tx, job_rx) = crossbeam_channel::bounded::<Job>(workers * 4);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<GradedRollout>(workers * 4);
    let (problem_tx, problem_rx) = crossbeam_channel::unbounded::<Problem>();

    let reader = {
        let input = args.input.clone();
        let tasks = tasks.clone();
        let max = args.max_completion_bytes;
        let bar = bar.clone();
        std::thread::spawn(move || {
            read_rollouts(&input, &tasks, &done, max, &job_tx, &problem_tx, &bar)
        })
    };
    let mut graders = Vec::new();
    for _ in 0..workers {
        let rx = job_rx.clone();
        let tx = done_tx.clone();
        let judge = judge.clone();
        let tasks = tasks.clone();
        let profiles = args.profiles.clone();
        graders.push(std::thread::spawn(move || {
            for job in rx {
                let Some(task) = tasks.get(&job.rollout.task_id) else {
                    continue;
                };
                let judged = judge.judge_under(task, &job.rollout, &profiles);
                let graded = GradedRollout {
                    reward: reward(
                        policy,
                        reward_profile,
                        penalty,
                        &judged.verdicts,
                        &judged.hack,
                    ),
                    rollout: job.rollout,
                    verdicts: judged.verdicts,
                    hack: judged.hack,
                };
                if tx.send(graded).is_err() {
                    break;
                }
            }
        }));
    }
    drop(job_rx);
    drop(done_tx);

    let mut summary = Summary::default();
    let mut batch: Vec<GradedRollout> = Vec::new();
    let mut last_flush = Instant::now();
    for graded in done_rx {
        let line = serde_json::to_string(&graded).context("serialising a graded record")?;
        writeln!(out, "{line}").context("writing a graded record")?;
        out.flush().context("flushing the output")?;
        summary.add(&graded);
        batch.push(graded);
        bar.inc(1);
        if batch.len() >= 64 || last_flush.elapsed() > Duration::from_millis(250) {
            store.insert_graded_batch(&run_id, &batch)?;
            batch.clear();
            last_flush = Instant::now();
        }
        summary.problems += report_problems(&problem_rx, &args.input, &bar);
    }
    store.insert_graded_batch(&run_id, &batch)?;
    for handle in graders {
        let _ = handle.join();
    }
    let read = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the input reader thread panicked"))??;
    summary.problems += report_problems(&problem_rx, &args.input, &bar);
    bar.finish_and_clear();
    summary.skipped_done = read.skipped_done;
    store.finish_run(
        &run_id,
        if summary.problems == 0 {
            "done"
        } else {
            "done_with_errors"
        },
    )?;

    // Records own standard output when there is no --output; the summary then goes to stderr.
    let text = if args.json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&summary.to_json(&run_id))?
        )
    } else {
        summary.render(&run_id, started.elapsed())
    };
    if args.output.is_some() {
        print!("{text}");
    } else {
        eprint!("{text}");
    }
    Ok(if summary.problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Prints the bad lines found so far as `FILE:LINE: message` (above the progress bar); returns how many.
fn report_problems(
    problems: &crossbeam_channel::Receiver<Problem>,
    input: &Path,
    bar: &ProgressBar,
) -> u64 {
    let mut count = 0;
    for p in problems.try_iter() {
        bar.suspend(|| eprintln!("{}:{}: {}", input.display(), p.line, p.message));
        count += 1;
    }
    count
}

/// Ids already in the output file; a torn last line (the process was killed mid-write) is cut off.
fn resume_ledger(path: &Path) -> anyhow::Result<HashSet<String>> {
    let mut ids = HashSet::new();
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let mut reader = BufReader::new(&mut file);
    let mut buf = Vec::new();
    let mut good_end: u64 = 0;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            break; // torn write
        }
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&buf) {
            if let Some(id) = v.get("id").and_then(|i| i.as_str()) {
                ids.insert(id.to_string());
            }
        }
        good_end += n as u64;
    }
    drop(reader);
    if file.seek(SeekFrom::End(0))? != good_end {
        file.set_len(good_end)
            .with_context(|| format!("cutting a torn last line off {}", path.display()))?;
    }
    Ok(ids)
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
    bar: &ProgressBar,
) -> anyhow::Result<ReadStats> {
    let source: Box<dyn Read> = if input == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(input).with_context(|| format!("opening {}", input.display()))?)
    };
    let mut reader = BufReader::new(source);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut seen: HashSet<String> = HashSet::new();
    let mut warned: HashSet<String> = HashSet::new();
    let mut stats = ReadStats { skipped_done: 0 };
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading {}", input.display()))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let problem = |message: String| Problem {
            line: line_no,
            message,
        };
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim(),
            Err(e) => {
                let _ = problems.send(problem(format!("not UTF-8 (byte {})", e.valid_up_to())));
                bar.inc(1);
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        let rollout = match Rollout::from_json(text) {
            Ok(r) => r,
            Err(e) => {
                let _ = problems.send(problem(format!("not a rollout record: {e}")));
                bar.inc(1);
                continue;
            }
        };
        for (field, known) in rollout.near_misses() {
            // Unknown fields are carried through (docs/contract.md), but a near-miss of a field
            // Goodhart reads is probably a typo whose value would be lost: say so, once per name.
            if warned.insert(field.to_string()) {
                bar.suspend(|| {
                    eprintln!(
                        "warning: line {line_no}: field `{field}` is not one Goodhart reads (did you mean \
                         `{known}`?); it is carried through untouched"
                    )
                });
            }
        }
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
        if let Some(message) = reject {
            let _ = problems.send(problem(message));
            bar.inc(1);
            continue;
        }
        if done.contains(&rollout.id) {
            stats.skipped_done += 1;
            bar.inc(1);
            continue;
        }
        if jobs.send(Job { rollout }).is_err() {
            break;
        }
    }
    Ok(stats)
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

fn progress_bar(len: Option<u64>, quiet: bool) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    if quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template(
        "{spinner} grading [{bar:40}] {pos}/{len} rollouts ({per_sec}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar
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
    skipped_done: u64,
}

impl Summary {
    fn add(&mut self, g: &GradedRollout) {
        self.all.add(g);
        if let Some(f) = &g.rollout.framing {
            self.by_framing.entry(f.clone()).or_default().add(g);
        }
        if let Some(s) = g.rollout.step {
            self.by_step.entry(s).or_default().add(g);
        }
    }

    fn to_json(&self, run_id: &str) -> serde_json::Value {
        json!({
            "run_id": run_id,
            "graded": self.all.rollouts,
            "skipped_already_graded": self.skipped_done,
            "bad_lines": self.problems,
            "overall": self.all.to_json(),
            "by_framing": self.by_framing.iter().map(|(f, t)| (f.clone(), t.to_json())).collect::<BTreeMap<_, _>>(),
            "by_step": self.by_step.iter().map(|(s, t)| (s.to_string(), t.to_json())).collect::<BTreeMap<_, _>>(),
        })
    }

    fn render(&self, run_id: &str, elapsed: Duration) -> String {
        let mut s = String::new();
        let secs = elapsed.as_secs_f64().max(1e-9);
        s.push_str(&format!(
            "graded {} rollouts in {:.1}s ({:.1}/s); {} already graded, {} bad lines; run {run_id}\n",
            self.all.rollouts,
            secs,
            self.all.rollouts as f64 / secs,
            self.skipped_done,
            self.problems
        ));
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
