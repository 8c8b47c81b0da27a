//! `goodhart bench TARGET`: performance figures, always as ratios against a baseline measured in the same
//! invocation on the same machine (never absolute timings compared with another day's).

use anyhow::Context;
use clap::{Args, Subcommand};
use goodhart_sandbox::{Mode, Program, Sandbox, SandboxConfig, Status};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::BufRead;
use std::path::{Path, PathBuf};
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
    /// HumanEval.jsonl.gz (default: shared/datasets/openai_human-eval/ beside or above the repository).
    #[arg(long)]
    dataset: Option<PathBuf>,
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
    }
}

/// Figures for one mode.
struct ModeFigures {
    overhead_ms_median: f64,
    trivial_runs_per_s: f64,
    humaneval_runs_per_s: f64,
    humaneval_failed: usize,
}

fn bench_sandbox(args: SandboxBenchArgs) -> anyhow::Result<ExitCode> {
    let dataset = match args.dataset {
        Some(path) => path,
        None => default_dataset().context(
            "HumanEval.jsonl.gz not found under shared/datasets/openai_human-eval/ near the current directory or the binary; pass --dataset",
        )?,
    };
    let problems = load_humaneval(&dataset)?;
    let repeat = args.humaneval_runs.div_ceil(problems.len()).max(1);
    // Each repetition differs by a comment, so no run is a repeat that the pool's compile cache (which
    // serves sources it has seen before, like a grader's harness) could serve: every run pays its compile.
    let programs: Vec<Program> = (0..repeat)
        .flat_map(|r| {
            problems.iter().map(move |p| Program {
                main: format!("{}# repetition {r}\n", p.main),
                ..p.clone()
            })
        })
        .collect();
    let mut base = SandboxConfig::discover()?;
    if let Some(workers) = args.workers {
        base.pool_size = workers.max(1);
    }
    let threads = base.pool_size;
    let pool = measure(&base, Mode::Pool, args.runs, &programs, args.json)?;
    let fresh = measure(
        &base,
        Mode::Fresh,
        args.runs.div_ceil(4).max(10),
        &programs,
        args.json,
    )?;
    let ratio = pool.humaneval_runs_per_s / fresh.humaneval_runs_per_s;
    let report = json!({
        "workers": threads,
        "humaneval_runs": programs.len(),
        "pool_overhead_ms_median": round3(pool.overhead_ms_median),
        "baseline_overhead_ms_median": round3(fresh.overhead_ms_median),
        "pool_trivial_runs_per_s": round3(pool.trivial_runs_per_s),
        "baseline_trivial_runs_per_s": round3(fresh.trivial_runs_per_s),
        "humaneval_runs_per_s_pool": round3(pool.humaneval_runs_per_s),
        "humaneval_runs_per_s_baseline": round3(fresh.humaneval_runs_per_s),
        "humaneval_throughput_ratio": round3(ratio),
        "humaneval_failed_pool": pool.humaneval_failed,
        "humaneval_failed_baseline": fresh.humaneval_failed,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "sandbox benchmark ({threads} workers, {} HumanEval runs per mode)",
            programs.len()
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

/// Overhead (sequential trivial runs) and HumanEval throughput (all workers busy) for one mode.
fn measure(
    base: &SandboxConfig,
    mode: Mode,
    runs: usize,
    programs: &[Program],
    quiet: bool,
) -> anyhow::Result<ModeFigures> {
    let mut config = base.clone();
    config.mode = mode;
    let sandbox = Sandbox::new(config)?;
    let name = match mode {
        Mode::Pool => "warm pool",
        Mode::Fresh => "fresh",
    };
    let trivial = Program {
        main: "pass\n".into(),
        ..Program::default()
    };
    // Warm-up: the pool's workers start and import pytest; not part of any figure.
    for _ in 0..sandbox.config().pool_size {
        check_ok(&sandbox.run(&trivial).status)?;
    }
    let bar = progress(
        runs + programs.len(),
        &format!("{name}: trivial runs"),
        quiet,
    );
    let mut walls = Vec::with_capacity(runs);
    let started = Instant::now();
    for _ in 0..runs {
        let t = Instant::now();
        let outcome = sandbox.run(&trivial);
        walls.push(t.elapsed());
        check_ok(&outcome.status)?;
        bar.inc(1);
    }
    let trivial_runs_per_s = runs as f64 / started.elapsed().as_secs_f64();
    bar.set_message(format!("{name}: HumanEval"));
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let started = Instant::now();
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
    let humaneval_runs_per_s = programs.len() as f64 / started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    Ok(ModeFigures {
        overhead_ms_median: median_ms(&mut walls),
        trivial_runs_per_s,
        humaneval_runs_per_s,
        humaneval_failed: failed.into_inner(),
    })
}

fn check_ok(status: &Status) -> anyhow::Result<()> {
    match status {
        Status::Ok => Ok(()),
        other => anyhow::bail!("a trivial program did not run cleanly in the sandbox: {other:?}"),
    }
}

/// A progress bar on stderr (hidden under `--json`), shared by the bench targets.
pub(crate) fn progress(len: usize, message: &str, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:<28} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_string());
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

/// Looks for the shared datasets folder beside the repository (CI) or inside the current tree.
pub(crate) fn default_dataset() -> Option<PathBuf> {
    const REL: &str = "shared/datasets/openai_human-eval/HumanEval.jsonl.gz";
    let mut bases: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        bases.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Ok(exe) = std::env::current_exe() {
        bases.extend(exe.ancestors().map(Path::to_path_buf));
    }
    bases
        .into_iter()
        .flat_map(|b| [b.join(REL), b.join("..").join(REL)])
        .find(|p| p.is_file())
}

/// Each HumanEval problem as one run: prompt + canonical solution + its tests + `check(entry_point)`.
fn load_humaneval(path: &Path) -> anyhow::Result<Vec<Program>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
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
