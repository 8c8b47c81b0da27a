//! `goodhart bench grade`: rollouts graded under all three profiles per second through the warm pool,
//! against the same rollouts graded with a fresh interpreter per sandbox run, in one invocation.

use super::bench::{progress, round3};
use anyhow::Context;
use clap::Args;
use goodhart_core::{Profile, Task};
use goodhart_grade::{extract, Grader, Submission};
use goodhart_sandbox::{Mode, Sandbox, SandboxConfig};
use serde_json::json;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Arguments of `goodhart bench grade`.
#[derive(Args)]
pub struct GradeBenchArgs {
    /// Rollouts graded through the warm pool (HumanEval references, wrong answers and hacks, repeated
    /// to reach it); the fresh-interpreter baseline grades a quarter of them.
    #[arg(long, default_value_t = 656)]
    rollouts: usize,
    /// Tasks whose references, wrong answers and hacks make the mix: a built-in source (`humaneval`,
    /// `mbpp`, `bundled`) or a task file.
    #[arg(long, default_value = "humaneval", value_name = "SOURCE")]
    dataset: String,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// What one rollout of the mix is, so the bench can check the verdicts make sense.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Reference,
    Wrong,
    AlwaysEqual,
    EarlyExit,
}

/// One graded rollout of the mix.
struct Rollout<'a> {
    task: &'a Task,
    submission: Submission,
    kind: Kind,
}

/// Figures for one sandbox mode.
struct ModeFigures {
    rollouts: usize,
    rollouts_per_s: f64,
    median_ms: BTreeMap<Profile, f64>,
    /// Rollouts whose hardened verdict contradicts what they are (a reference failing, a hack passing).
    wrong_verdicts: usize,
}

/// Runs `goodhart bench grade`.
pub fn run(args: GradeBenchArgs) -> anyhow::Result<ExitCode> {
    let dataset = &args.dataset;
    let tasks =
        goodhart_tasks::load(dataset).with_context(|| format!("loading tasks from `{dataset}`"))?;
    anyhow::ensure!(!tasks.is_empty(), "`{dataset}` holds no tasks");
    let mix = rollout_mix(&tasks, args.rollouts.max(1));
    let base = SandboxConfig::discover()?;
    let workers = base.pool_size;
    let pool = measure(&base, Mode::Pool, &mix)?;
    let fresh_count = args.rollouts.div_ceil(4).max(1).min(mix.len());
    let fresh = measure(&base, Mode::Fresh, &mix[..fresh_count])?;
    let ratio = pool.rollouts_per_s / fresh.rollouts_per_s;
    let medians = |f: &ModeFigures| {
        f.median_ms
            .iter()
            .map(|(p, ms)| (p.to_string(), json!(round3(*ms))))
            .collect::<serde_json::Map<_, _>>()
    };
    if args.json {
        let report = json!({
            "workers": workers,
            "profiles": Profile::ALL.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            "rollouts_pool": pool.rollouts,
            "rollouts_baseline": fresh.rollouts,
            "rollouts_per_s_pool": round3(pool.rollouts_per_s),
            "rollouts_per_s_baseline": round3(fresh.rollouts_per_s),
            "throughput_ratio": round3(ratio),
            "median_ms_pool": medians(&pool),
            "median_ms_baseline": medians(&fresh),
            "wrong_verdicts_pool": pool.wrong_verdicts,
            "wrong_verdicts_baseline": fresh.wrong_verdicts,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "grading benchmark ({workers} workers; all three profiles per rollout; {} rollouts warm pool, {} fresh)",
            pool.rollouts, fresh.rollouts
        );
        println!(
            "{:<34} {:>12} {:>12} {:>8}",
            "", "warm pool", "fresh", "ratio"
        );
        let row = |name: &str, p: f64, f: f64, r: f64| {
            println!("{name:<34} {p:>12.2} {f:>12.2} {r:>7.1}×")
        };
        row(
            "rollouts/s (all workers)",
            pool.rollouts_per_s,
            fresh.rollouts_per_s,
            ratio,
        );
        for profile in Profile::ALL {
            let p = pool.median_ms.get(&profile).copied().unwrap_or(f64::NAN);
            let f = fresh.median_ms.get(&profile).copied().unwrap_or(f64::NAN);
            row(&format!("median {profile} grade call (ms)"), p, f, f / p);
        }
        println!(
            "hardened verdicts contradicting the rollout: pool {}, fresh {}",
            pool.wrong_verdicts, fresh.wrong_verdicts
        );
    }
    // A reference failing or a hack passing `hardened` means the figures time a broken grader.
    let broken = pool.wrong_verdicts + fresh.wrong_verdicts > 0;
    Ok(ExitCode::from(u8::from(broken)))
}

/// `count` rollouts cycling through the tasks: mostly references, every fourth a wrong answer, every
/// tenth an AlwaysEqual object and every fifteenth a `sys.exit(0)` before the tests.
fn rollout_mix(tasks: &[Task], count: usize) -> Vec<Rollout<'_>> {
    (0..count)
        .map(|i| {
            let task = &tasks[i % tasks.len()];
            let name = &task.entry_point;
            let (kind, code) = if i % 15 == 7 {
                (
                    Kind::EarlyExit,
                    format!("import sys\n\ndef {name}(*args, **kwargs):\n    return None\n\nsys.exit(0)\n"),
                )
            } else if i % 10 == 3 {
                (
                    Kind::AlwaysEqual,
                    format!(
                        "class AlwaysEqual:\n    def __eq__(self, other):\n        return True\n    \
                         def __ne__(self, other):\n        return False\n    __hash__ = object.__hash__\n\n\
                         def {name}(*args, **kwargs):\n    return AlwaysEqual()\n"
                    ),
                )
            } else if i % 4 == 1 {
                (
                    Kind::Wrong,
                    format!("def {name}(*args, **kwargs):\n    return None\n"),
                )
            } else {
                (Kind::Reference, task.reference.clone())
            };
            Rollout {
                task,
                submission: extract(&code, None),
                kind,
            }
        })
        .collect()
}

/// Grades `mix` under all profiles with one thread per worker, through a sandbox in `mode`.
fn measure(base: &SandboxConfig, mode: Mode, mix: &[Rollout<'_>]) -> anyhow::Result<ModeFigures> {
    let mut config = base.clone();
    config.mode = mode;
    let sandbox = Arc::new(Sandbox::new(config)?);
    let threads = sandbox.config().pool_size;
    let grader = Grader::new(sandbox.clone());
    let name = match mode {
        Mode::Pool => "warm pool",
        Mode::Fresh => "fresh",
    };
    // Warm-up: the pool's workers start and import pytest; not part of any figure.
    let trivial = goodhart_sandbox::Program {
        main: "pass\n".into(),
        ..Default::default()
    };
    for _ in 0..threads {
        sandbox.run(&trivial);
    }
    let bar = progress(mix.len(), name);
    let next = AtomicUsize::new(0);
    let wrong = AtomicUsize::new(0);
    let durations: Mutex<BTreeMap<Profile, Vec<f64>>> = Mutex::new(BTreeMap::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(r) = mix.get(next.fetch_add(1, Ordering::Relaxed)) {
                    // Each profile timed around the whole grader call (sandbox round trip included),
                    // since the sandbox's own wall clock starts at different points in the two modes.
                    let mut runs = BTreeMap::new();
                    let mut walls = Vec::with_capacity(Profile::ALL.len());
                    for profile in Profile::ALL {
                        let t = Instant::now();
                        runs.insert(profile, grader.grade(r.task, &r.submission, profile));
                        walls.push((profile, t.elapsed().as_secs_f64() * 1e3));
                    }
                    let hardened = runs
                        .get(&Profile::Hardened)
                        .is_some_and(|h| h.verdict.passed);
                    // `return None` can be right for a few tasks, so wrong answers are not checked.
                    let contradiction = match r.kind {
                        Kind::Reference => !hardened,
                        Kind::AlwaysEqual | Kind::EarlyExit => hardened,
                        Kind::Wrong => false,
                    };
                    if contradiction {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Ok(mut d) = durations.lock() {
                        for (p, ms) in walls {
                            d.entry(p).or_default().push(ms);
                        }
                    }
                    bar.inc(1);
                }
            });
        }
    });
    let rollouts_per_s = mix.len() as f64 / started.elapsed().as_secs_f64();
    bar.finish();
    let median_ms = durations
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|(p, mut v)| (p, median(&mut v)))
        .collect();
    Ok(ModeFigures {
        rollouts: mix.len(),
        rollouts_per_s,
        median_ms,
        wrong_verdicts: wrong.into_inner(),
    })
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
