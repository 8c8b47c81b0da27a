//! `goodhart bench TARGET`: performance figures, always as ratios against a baseline measured in the same
//! invocation on the same machine (never absolute timings compared with another day's).

use crate::progress::Progress;
use anyhow::Context;
use clap::{Args, Subcommand};
use goodhart_sandbox::{Mode, Program, Sandbox, SandboxConfig, Status};
use serde_json::json;
use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Arguments of `goodhart bench`.
#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    target: BenchTarget,
}

/// What can be benchmarked (one variant per target).
#[derive(Subcommand)]
pub enum BenchTarget {
    /// Sandbox: median per-run overhead and HumanEval throughput of the warm pool vs a fresh interpreter
    /// per run under the same isolation (targets: pool overhead ≤ 5 ms, pool throughput ≥ 10× fresh).
    /// The modes are measured in turns, one round per repetition of the 164 problems, so that the
    /// machine's drift falls on both; each round's ratio is reported.
    Sandbox(SandboxBenchArgs),
    /// Reward service: 10,000 verl-shaped `/run_code` requests at 256 concurrency against an in-process
    /// server on loopback (0 errors and 0 lost records required), with requests/s and p50/p99 latency,
    /// against the direct sandbox and `/v1/ping` measured in the same run.
    Serve(super::bench_serve::ServeBenchArgs),
    /// Detectors: precision, recall and false-positive rate of `attempted` per kind and overall on the
    /// labelled corpus, the right-kind rate, and static-analysis MB/s per core against a parse-only
    /// baseline (targets: precision >= 0.98, recall >= 0.95, FP <= 1%, right kind >= 90%, >= 20 MB/s).
    Detect(super::bench_detect::DetectBenchArgs),
    /// Model client: requests/s with 1,000 in flight against an in-process zero-latency fake server, and
    /// peak RSS, against raw reqwest calls in the same run (targets: >= 2,000 req/s, <= 200 MB).
    Llm(super::bench_llm::LlmArgs),
    /// Grading: rollouts/s under all three profiles (HumanEval references, wrong answers, hacks) through
    /// the warm pool against a fresh interpreter per sandbox run, and per-profile median ms (target:
    /// >= 100 rollouts/s on 2 cores).
    Grade(super::bench_grade::GradeBenchArgs),
    /// The load check: the references of HumanEval and MBPP under every profile on a quiet machine, then
    /// with `--neighbours` other `goodhart audit` runs beside them; every verdict must be identical, and a
    /// program needing 1.5 s of CPU must pass a 3 s CPU limit in both conditions (exit 1 otherwise).
    Verdicts(super::bench_verdicts::VerdictsBenchArgs),
    /// Report: fills a temporary store with 100,000 graded rollouts and times `goodhart report --html`
    /// over it against a plain SQL scan of the same rows (targets: <= 2 s, HTML <= 5 MB).
    Report(super::bench_report::ReportBenchArgs),
}

/// Arguments of `goodhart bench sandbox`.
#[derive(Args)]
pub struct SandboxBenchArgs {
    /// Sequential trivial runs per mode for the overhead medians.
    #[arg(long, default_value_t = 200)]
    runs: usize,
    /// Minimum HumanEval runs per mode (the 164 problems are repeated to reach it).
    #[arg(long, default_value_t = 800)]
    humaneval_runs: usize,
    /// HumanEval problems to run: `humaneval` (the copy built into the binary) or a HumanEval-format
    /// `.jsonl[.gz]` file.
    #[arg(long, default_value = "humaneval", value_name = "SOURCE")]
    dataset: String,
    /// Workers (and concurrent runs) in both modes (default: the sandbox's default pool size).
    #[arg(long)]
    workers: Option<usize>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `goodhart bench ...`.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.target {
        BenchTarget::Sandbox(args) => bench_sandbox(args),
        BenchTarget::Serve(args) => super::bench_serve::run(args),
        BenchTarget::Detect(args) => super::bench_detect::run(args),
        BenchTarget::Llm(args) => super::bench_llm::run(args),
        BenchTarget::Grade(args) => super::bench_grade::run(args),
        BenchTarget::Verdicts(args) => super::bench_verdicts::run(args),
        BenchTarget::Report(args) => super::bench_report::run(args),
    }
}

/// Figures for one mode, summed over the rounds.
struct ModeFigures {
    overhead_ms_median: f64,
    trivial_runs_per_s: f64,
    humaneval_runs_per_s: f64,
    humaneval_failed: usize,
}

fn bench_sandbox(args: SandboxBenchArgs) -> anyhow::Result<ExitCode> {
    let problems = load_humaneval(&args.dataset)?;
    let repeat = args.humaneval_runs.div_ceil(problems.len()).max(1);
    // Each repetition differs by a comment, so no run is a repeat that the pool's compile cache (which
    // serves sources it has seen before, like a grader's harness) could serve: every run pays its compile.
    let rounds: Vec<Vec<Program>> = (0..repeat)
        .map(|r| {
            problems
                .iter()
                .map(|p| Program {
                    main: format!("{}# repetition {r}\n", p.main),
                    ..p.clone()
                })
                .collect()
        })
        .collect();
    let humaneval_runs = repeat * problems.len();
    let mut base = SandboxConfig::discover()?;
    if let Some(workers) = args.workers {
        base.pool_size = workers.max(1);
    }
    let threads = base.pool_size;
    let (pool, fresh, ratios) = measure(&base, args.runs, args.runs.div_ceil(4).max(10), &rounds)?;
    let ratio = pool.humaneval_runs_per_s / fresh.humaneval_runs_per_s;
    let report = json!({
        "workers": threads,
        "humaneval_runs": humaneval_runs,
        "pool_overhead_ms_median": round3(pool.overhead_ms_median),
        "baseline_overhead_ms_median": round3(fresh.overhead_ms_median),
        "pool_trivial_runs_per_s": round3(pool.trivial_runs_per_s),
        "baseline_trivial_runs_per_s": round3(fresh.trivial_runs_per_s),
        "humaneval_runs_per_s_pool": round3(pool.humaneval_runs_per_s),
        "humaneval_runs_per_s_baseline": round3(fresh.humaneval_runs_per_s),
        "humaneval_throughput_ratio": round3(ratio),
        "humaneval_throughput_ratio_rounds": ratios.iter().map(|&r| round3(r)).collect::<Vec<_>>(),
        "humaneval_failed_pool": pool.humaneval_failed,
        "humaneval_failed_baseline": fresh.humaneval_failed,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "sandbox benchmark ({threads} workers, {} HumanEval runs per mode)",
            humaneval_runs
        );
        println!(
            "{:<34} {:>12} {:>12} {:>8}",
            "", "warm pool", "fresh", "ratio"
        );
        let row = |name: &str, p: f64, f: f64, r: f64| {
            println!("{name:<34} {p:>12.2} {f:>12.2} {r:>7.1}×")
        };
        row(
            "median per-run overhead (ms)",
            pool.overhead_ms_median,
            fresh.overhead_ms_median,
            fresh.overhead_ms_median / pool.overhead_ms_median,
        );
        row(
            "trivial runs/s (sequential)",
            pool.trivial_runs_per_s,
            fresh.trivial_runs_per_s,
            pool.trivial_runs_per_s / fresh.trivial_runs_per_s,
        );
        row(
            "HumanEval runs/s (all workers)",
            pool.humaneval_runs_per_s,
            fresh.humaneval_runs_per_s,
            ratio,
        );
        if let (Some(low), Some(high)) = (
            ratios.iter().copied().reduce(f64::min),
            ratios.iter().copied().reduce(f64::max),
        ) {
            println!(
                "HumanEval ratio per round ({} rounds, modes in turns): {low:.1}× to {high:.1}×",
                ratios.len()
            );
        }
        println!(
            "HumanEval canonical solutions not passing: pool {}, fresh {}",
            pool.humaneval_failed, fresh.humaneval_failed
        );
    }
    // Canonical solutions must pass; if they do not, the figures measure a broken sandbox.
    Ok(if pool.humaneval_failed + fresh.humaneval_failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One mode's sandbox and what has been measured of it so far.
struct Side {
    name: &'static str,
    sandbox: Sandbox,
    walls: Vec<Duration>,
    trivial_time: Duration,
    humaneval_runs: usize,
    humaneval_time: Duration,
    failed: usize,
}

impl Side {
    /// Starts the mode's sandbox and warms it (workers start and import pytest; not part of any figure).
    fn start(base: &SandboxConfig, mode: Mode) -> anyhow::Result<Side> {
        let mut config = base.clone();
        config.mode = mode;
        let sandbox = Sandbox::new(config)?;
        // As many runs at once as there are workers, so that every worker has started.
        let warm = &sandbox;
        std::thread::scope(|scope| {
            let runs: Vec<_> = (0..warm.config().pool_size)
                .map(|_| scope.spawn(move || warm.run(&trivial()).status))
                .collect();
            runs.into_iter().try_for_each(|run| match run.join() {
                Ok(status) => check_ok(&status),
                Err(_) => anyhow::bail!("a warm-up run's thread panicked"),
            })
        })?;
        Ok(Side {
            name: match mode {
                Mode::Pool => "warm pool",
                Mode::Fresh => "fresh",
            },
            sandbox,
            walls: Vec::new(),
            trivial_time: Duration::ZERO,
            humaneval_runs: 0,
            humaneval_time: Duration::ZERO,
            failed: 0,
        })
    }

    /// One round: `runs` sequential trivial runs, then `programs` on all workers at once; returns this
    /// round's HumanEval runs/s.
    fn round(&mut self, runs: usize, programs: &[Program], bar: &Progress) -> anyhow::Result<f64> {
        bar.set_message(format!("{}: trivial runs", self.name));
        let trivial = trivial();
        let started = Instant::now();
        for _ in 0..runs {
            let t = Instant::now();
            let outcome = self.sandbox.run(&trivial);
            self.walls.push(t.elapsed());
            check_ok(&outcome.status)?;
            bar.inc(1);
        }
        self.trivial_time += started.elapsed();
        bar.set_message(format!("{}: HumanEval", self.name));
        let started = Instant::now();
        let failed = run_all(&self.sandbox, programs, bar);
        let took = started.elapsed();
        self.humaneval_time += took;
        self.humaneval_runs += programs.len();
        self.failed += failed;
        Ok(programs.len() as f64 / took.as_secs_f64())
    }

    fn figures(mut self) -> ModeFigures {
        ModeFigures {
            overhead_ms_median: median_ms(&mut self.walls),
            trivial_runs_per_s: self.walls.len() as f64 / self.trivial_time.as_secs_f64(),
            humaneval_runs_per_s: self.humaneval_runs as f64 / self.humaneval_time.as_secs_f64(),
            humaneval_failed: self.failed,
        }
    }
}

/// Runs the programs on all of the sandbox's workers at once; returns how many did not end `ok`.
fn run_all(sandbox: &Sandbox, programs: &[Program], bar: &Progress) -> usize {
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..sandbox.config().pool_size {
            scope.spawn(|| {
                while let Some(program) = programs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if sandbox.run(program).status != Status::Ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    bar.inc(1);
                }
            });
        }
    });
    failed.into_inner()
}

/// Both modes, measured in turns, one round per repetition of the HumanEval problems: each round runs a
/// share of the trivial runs and every problem once, in each mode (which mode goes first alternates). A
/// drift in the machine's speed (this VM's swings by a fifth within minutes) then falls on both modes
/// alike instead of on whichever ran during it, and the rounds' ratios, all of the same work, show the
/// spread. Returns both modes' figures and each round's HumanEval throughput ratio (pool over fresh).
fn measure(
    base: &SandboxConfig,
    pool_runs: usize,
    fresh_runs: usize,
    rounds: &[Vec<Program>],
) -> anyhow::Result<(ModeFigures, ModeFigures, Vec<f64>)> {
    let mut pool = Side::start(base, Mode::Pool)?;
    let mut fresh = Side::start(base, Mode::Fresh)?;
    let programs: usize = rounds.iter().map(Vec::len).sum();
    // Warm-up, not timed: one pass over the problems, so that the files they import are in the page
    // cache for both modes (this VM pages out files left untouched for a minute). Marked apart from every
    // round, so that no timed run is a source the pool's compile cache has seen before.
    let warm_up: Vec<Program> = rounds
        .first()
        .into_iter()
        .flatten()
        .map(|p| Program {
            main: format!("{}# warm-up\n", p.main),
            ..p.clone()
        })
        .collect();
    let bar = progress(warm_up.len() + pool_runs + fresh_runs + 2 * programs, "");
    bar.set_message("warm-up: HumanEval");
    run_all(&pool.sandbox, &warm_up, &bar);
    let n = rounds.len().max(1);
    let share = |total: usize, round: usize| total * (round + 1) / n - total * round / n;
    let mut ratios = Vec::with_capacity(n);
    for (round, chunk) in rounds.iter().enumerate() {
        let (pool_rate, fresh_rate) = if round % 2 == 0 {
            let p = pool.round(share(pool_runs, round), chunk, &bar)?;
            (p, fresh.round(share(fresh_runs, round), chunk, &bar)?)
        } else {
            let f = fresh.round(share(fresh_runs, round), chunk, &bar)?;
            (pool.round(share(pool_runs, round), chunk, &bar)?, f)
        };
        if !chunk.is_empty() {
            ratios.push(pool_rate / fresh_rate);
        }
    }
    bar.finish();
    Ok((pool.figures(), fresh.figures(), ratios))
}

fn trivial() -> Program {
    Program {
        main: "pass\n".into(),
        ..Program::default()
    }
}

fn check_ok(status: &Status) -> anyhow::Result<()> {
    match status {
        Status::Ok => Ok(()),
        other => anyhow::bail!("a trivial program did not run cleanly in the sandbox: {other:?}"),
    }
}

/// Progress on stderr (a bar on a terminal, plain lines elsewhere), shared by the bench targets.
pub(crate) fn progress(len: usize, message: &str) -> Progress {
    let bar = Progress::new("bench", "runs", Some(len as u64));
    bar.set_message(message);
    bar
}

fn median_ms(walls: &mut [Duration]) -> f64 {
    if walls.is_empty() {
        return f64::NAN;
    }
    walls.sort();
    walls[walls.len() / 2].as_secs_f64() * 1e3
}

/// Three decimals, enough for figures read by humans and diffed as JSON.
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

/// Each HumanEval problem as one run: prompt + canonical solution + its tests + `check(entry_point)`.
fn load_humaneval(source: &str) -> anyhow::Result<Vec<Program>> {
    let bytes: std::borrow::Cow<[u8]> = match goodhart_tasks::builtin::builtin(source) {
        Some(b) if b.name == "humaneval" => b.bytes.into(),
        Some(b) => anyhow::bail!(
            "--dataset {}: bench sandbox runs HumanEval-format problems; use `humaneval` or a HumanEval file",
            b.name
        ),
        None => std::fs::read(source)
            .with_context(|| format!("reading {source}"))?
            .into(),
    };
    let path = Path::new(source);
    let reader: Box<dyn BufRead> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(std::io::BufReader::new(flate2::read::GzDecoder::new(
            &bytes[..],
        )))
    } else {
        Box::new(&bytes[..])
    };
    let mut programs = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line =
            line.with_context(|| format!("{}: reading line {}", path.display(), index + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {} is not JSON", path.display(), index + 1))?;
        let field = |name: &str| {
            record[name].as_str().with_context(|| {
                format!(
                    "{}: line {} has no string field `{name}`",
                    path.display(),
                    index + 1
                )
            })
        };
        let main = format!(
            "{}{}\n\n{}\n\ncheck({})\n",
            field("prompt")?,
            field("canonical_solution")?,
            field("test")?,
            field("entry_point")?
        );
        programs.push(Program {
            main,
            ..Program::default()
        });
    }
    anyhow::ensure!(!programs.is_empty(), "{} holds no problems", path.display());
    Ok(programs)
}
