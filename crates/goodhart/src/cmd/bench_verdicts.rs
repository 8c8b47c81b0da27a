//! `goodhart bench verdicts`: the load check. Verdicts must not depend on how busy the machine is: the
//! references of HumanEval and MBPP are graded under every profile on a quiet machine, then again with
//! other `goodhart audit` runs beside them, and every verdict must be the same; a program that needs
//! 1.5 s of CPU must pass a 3 s limit in both conditions. Exit 1 when anything differs or fails.

use super::bench::round3;
use anyhow::Context;
use clap::Args;
use goodhart_core::{Profile, Task};
use goodhart_grade::{extract, Grader};
use goodhart_sandbox::{Limits, Outcome, Program, Sandbox, SandboxConfig, Status};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Arguments of `goodhart bench verdicts`.
#[derive(Args)]
pub struct VerdictsBenchArgs {
    /// Task sources whose references are graded, comma-separated (built-in names or files).
    #[arg(long, value_delimiter = ',', default_value = "humaneval,mbpp")]
    tasks: Vec<String>,
    /// Profiles the references are graded under.
    #[arg(long, value_delimiter = ',', default_value = "assert,pytest,hardened")]
    profiles: Vec<Profile>,
    /// `goodhart audit` runs started beside the loaded pass (each audits one of --tasks, in turn,
    /// against the whole exploit library, and starts again when it finishes).
    #[arg(long, default_value_t = 2, value_name = "N")]
    neighbours: usize,
    /// Grading threads and sandbox workers (default: one per core).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Grade only the first N tasks of each source (for a quick look; the check is over all of them).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// CPU seconds the CPU-bound program needs, and its limit (it must pass in both conditions).
    #[arg(long, default_value_t = 1.5, value_name = "SECONDS")]
    cpu_program: f64,
    /// The CPU-bound program's CPU limit in seconds.
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    cpu_limit: f64,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

/// What a reference's verdict is, in the terms that must not change with load.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Seen {
    passed: bool,
    status: String,
    tests_passed: u32,
    tests_total: u32,
}

/// One pass over the references: its verdicts, how long it took, and the CPU-bound program's run.
struct Pass {
    verdicts: BTreeMap<(String, Profile), Seen>,
    /// Why each reference that failed failed (the verdict's reason), for the report.
    details: BTreeMap<(String, Profile), String>,
    wall: Duration,
    cpu_program: Outcome,
}

/// Runs `goodhart bench verdicts`.
pub fn run(args: VerdictsBenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(!args.tasks.is_empty(), "--tasks names no source");
    anyhow::ensure!(
        args.cpu_program > 0.0 && args.cpu_limit > args.cpu_program && args.cpu_limit <= 3600.0,
        "--cpu-program must be more than 0 and less than --cpu-limit (at most 3600)"
    );
    let mut tasks: Vec<Task> = Vec::new();
    for source in &args.tasks {
        let mut loaded = goodhart_tasks::load(source)
            .with_context(|| format!("loading tasks from `{source}`"))?;
        if let Some(limit) = args.limit {
            loaded.truncate(limit);
        }
        tasks.extend(loaded);
    }
    let mut config = SandboxConfig::discover().context("preparing the sandbox")?;
    if let Some(jobs) = args.jobs {
        anyhow::ensure!(jobs > 0, "--jobs must be at least 1");
        config.pool_size = jobs;
    }
    let jobs = config.pool_size;
    let sandbox = Arc::new(Sandbox::new(config).context("starting the sandbox")?);
    let cpu_program = CpuProgram {
        needs: args.cpu_program,
        limits: Limits::default().with_cpu(Duration::from_secs_f64(args.cpu_limit)),
    };
    say(
        args.json,
        &format!(
            "quiet pass: {} references under {} profiles on {jobs} workers",
            tasks.len(),
            args.profiles.len()
        ),
    );
    let quiet = pass(&sandbox, &tasks, &args.profiles, jobs, &cpu_program);
    say(
        args.json,
        &format!(
            "quiet pass took {:.1} s; starting {} neighbour audits",
            quiet.wall.as_secs_f64(),
            args.neighbours
        ),
    );
    let scratch =
        std::env::temp_dir().join(format!("goodhart-bench-verdicts-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let mut neighbours = Neighbours::start(args.neighbours, &args.tasks, &scratch)?;
    // Let them start their sandboxes and reach their grading before the measured pass begins.
    std::thread::sleep(Duration::from_secs(3));
    let done = std::sync::atomic::AtomicBool::new(false);
    let loaded = std::thread::scope(|scope| {
        let neighbours = &mut neighbours;
        let done = &done;
        scope.spawn(move || {
            while !done.load(Ordering::Relaxed) {
                neighbours.restart_finished();
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        let p = pass(&sandbox, &tasks, &args.profiles, jobs, &cpu_program);
        done.store(true, Ordering::Relaxed);
        p
    });
    let audits_beside = neighbours.started;
    neighbours.stop();
    let _ = std::fs::remove_dir_all(&scratch);

    let differences = differences(&quiet.verdicts, &loaded.verdicts);
    let cpu_ok = |o: &Outcome| o.status == Status::Ok;
    let ok = differences.is_empty() && cpu_ok(&quiet.cpu_program) && cpu_ok(&loaded.cpu_program);
    let report = json!({
        "tasks": args.tasks,
        "references": tasks.len(),
        "profiles": args.profiles,
        "workers": jobs,
        "neighbours": args.neighbours,
        "neighbour_audits_started": audits_beside,
        "quiet": pass_json(&quiet, &cpu_program),
        "loaded": pass_json(&loaded, &cpu_program),
        "verdicts_compared": quiet.verdicts.len(),
        "differences": differences.iter().map(|(task, profile, q, l)| json!({
            "task": task, "profile": profile, "quiet": q, "loaded": l,
            "quiet_reason": quiet.details.get(&(task.clone(), *profile)),
            "loaded_reason": loaded.details.get(&(task.clone(), *profile)),
        })).collect::<Vec<_>>(),
        "identical": differences.is_empty(),
        "ok": ok,
    });
    if args.json {
        println!("{report}");
    } else {
        print_report(&report, &quiet, &loaded);
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn say(json: bool, text: &str) {
    if !json {
        eprintln!("bench verdicts: {text}");
    } else {
        eprintln!("{text}");
    }
}

/// The CPU-bound program: it burns `needs` CPU seconds (as it measures them itself) under `limits`.
struct CpuProgram {
    needs: f64,
    limits: Limits,
}

impl CpuProgram {
    fn program(&self) -> Program {
        Program {
            main: format!(
                "import time\nt = time.process_time()\nwhile time.process_time() - t < {}:\n    pass\n\
                 print('burned', round(time.process_time() - t, 3))\n",
                self.needs
            ),
            limits: Some(self.limits.clone()),
            ..Program::default()
        }
    }
}

/// Grades every reference under every profile on `jobs` threads, with the CPU-bound program run once
/// while the grading goes on (a fresh grader, so expected values are evaluated again in this pass).
fn pass(
    sandbox: &Arc<Sandbox>,
    tasks: &[Task],
    profiles: &[Profile],
    jobs: usize,
    cpu_program: &CpuProgram,
) -> Pass {
    let grader = Grader::new(sandbox.clone());
    let next = AtomicUsize::new(0);
    let verdicts = Mutex::new(BTreeMap::new());
    let details = Mutex::new(BTreeMap::new());
    let started = Instant::now();
    let program = cpu_program.program();
    let cpu_outcome = std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(task) = tasks.get(i) else { break };
                let submission = extract(
                    &goodhart_exploits::Attack::solution(task.reference.clone()).completion(),
                    None,
                );
                for (profile, run) in grader.grade_all(task, &submission, profiles) {
                    let v = run.verdict;
                    if let Some(reason) = &v.reason {
                        if let Ok(mut d) = details.lock() {
                            d.insert((task.id.clone(), profile), reason.detail.clone());
                        }
                    }
                    if let Ok(mut all) = verdicts.lock() {
                        all.insert(
                            (task.id.clone(), profile),
                            Seen {
                                passed: v.passed,
                                status: v.status.as_str().to_string(),
                                tests_passed: v.tests_passed,
                                tests_total: v.tests_total,
                            },
                        );
                    }
                }
            });
        }
        // Once the graders are busy, the program runs beside them.
        std::thread::sleep(Duration::from_secs(2));
        sandbox.run(&program)
    });
    Pass {
        verdicts: verdicts.into_inner().unwrap_or_default(),
        details: details.into_inner().unwrap_or_default(),
        wall: started.elapsed(),
        cpu_program: cpu_outcome,
    }
}

/// Every (task, profile) whose verdict differs between the two passes (or is missing from one).
pub(crate) fn differences(
    quiet: &BTreeMap<(String, Profile), Seen>,
    loaded: &BTreeMap<(String, Profile), Seen>,
) -> Vec<(String, Profile, Option<Seen>, Option<Seen>)> {
    let mut keys: Vec<&(String, Profile)> = quiet.keys().chain(loaded.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let (q, l) = (quiet.get(key), loaded.get(key));
            (q != l).then(|| (key.0.clone(), key.1, q.cloned(), l.cloned()))
        })
        .collect()
}

fn pass_json(pass: &Pass, cpu_program: &CpuProgram) -> Value {
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for seen in pass.verdicts.values() {
        *by_status.entry(seen.status.as_str()).or_default() += 1;
    }
    let o = &pass.cpu_program;
    json!({
        "wall_seconds": round3(pass.wall.as_secs_f64()),
        "verdicts": pass.verdicts.len(),
        "passed": pass.verdicts.values().filter(|s| s.passed).count(),
        "by_status": by_status,
        "failed_references": pass.details.iter()
            .map(|((t, p), d)| json!({"task": t, "profile": p, "detail": d})).collect::<Vec<_>>(),
        "cpu_program": {
            "needs_cpu_seconds": cpu_program.needs,
            "cpu_limit_seconds": cpu_program.limits.cpu.as_secs_f64(),
            "wall_cap_seconds": cpu_program.limits.wall.as_secs_f64(),
            "status": o.status.name(),
            "cpu_seconds": round3(o.cpu.as_secs_f64()),
            "wall_seconds": round3(o.wall.as_secs_f64()),
        },
    })
}

fn print_report(report: &Value, quiet: &Pass, loaded: &Pass) {
    for (name, pass) in [("quiet", quiet), ("loaded", loaded)] {
        let p = &report[name];
        let c = &p["cpu_program"];
        println!(
            "{name:6}  {} verdicts ({} passed) in {:.1} s; CPU program ({} s of CPU under a {} s limit): {} after {:.2} s CPU, {:.2} s wall",
            p["verdicts"], p["passed"], p["wall_seconds"].as_f64().unwrap_or(0.0),
            c["needs_cpu_seconds"], c["cpu_limit_seconds"], c["status"].as_str().unwrap_or("?"),
            c["cpu_seconds"].as_f64().unwrap_or(0.0), c["wall_seconds"].as_f64().unwrap_or(0.0),
        );
        for ((task, profile), detail) in &pass.details {
            println!("        reference fails: {task} ({profile}): {detail}");
        }
    }
    println!(
        "neighbours: {} `goodhart audit` runs at once ({} started during the loaded pass)",
        report["neighbours"], report["neighbour_audits_started"]
    );
    match report["differences"].as_array().map(Vec::len).unwrap_or(0) {
        0 => println!("verdicts: all {} identical", report["verdicts_compared"]),
        n => {
            println!("verdicts: {n} DIFFER between the quiet and the loaded pass:");
            for d in report["differences"].as_array().into_iter().flatten() {
                println!(
                    "  {} ({}): quiet {} / loaded {}",
                    d["task"], d["profile"], d["quiet"], d["loaded"]
                );
            }
        }
    }
}

/// `goodhart audit` processes run beside the loaded pass, each on its own scratch store.
struct Neighbours {
    children: Vec<Child>,
    sources: Vec<String>,
    scratch: PathBuf,
    started: usize,
}

impl Neighbours {
    fn start(n: usize, sources: &[String], scratch: &Path) -> anyhow::Result<Neighbours> {
        let mut neighbours = Neighbours {
            children: Vec::new(),
            sources: sources.to_vec(),
            scratch: scratch.to_path_buf(),
            started: 0,
        };
        for _ in 0..n {
            let child = neighbours.spawn()?;
            neighbours.children.push(child);
        }
        Ok(neighbours)
    }

    fn spawn(&mut self) -> anyhow::Result<Child> {
        let source = &self.sources[self.started % self.sources.len()];
        let db = self.scratch.join(format!("neighbour-{}.db", self.started));
        self.started += 1;
        let exe = std::env::current_exe().context("finding the goodhart binary")?;
        Command::new(exe)
            .args(["audit", "--tasks", source, "--json", "--db"])
            .arg(db)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting a neighbour `goodhart audit`")
    }

    /// Starts a new audit in place of each one that finished, so the load lasts the whole pass.
    fn restart_finished(&mut self) {
        for i in 0..self.children.len() {
            if matches!(self.children[i].try_wait(), Ok(Some(_))) {
                if let Ok(child) = self.spawn() {
                    self.children[i] = child;
                }
            }
        }
    }

    /// Ends the audits this bench started (each by its own pid) and reaps them.
    fn stop(mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(passed: bool, status: &str) -> Seen {
        Seen {
            passed,
            status: status.into(),
            tests_passed: u32::from(passed),
            tests_total: 1,
        }
    }

    #[test]
    fn any_changed_or_missing_verdict_is_a_difference() {
        let key = |t: &str, p| (t.to_string(), p);
        let quiet = BTreeMap::from([
            (key("a", Profile::Assert), seen(true, "passed")),
            (key("b", Profile::Hardened), seen(true, "passed")),
            (key("c", Profile::Pytest), seen(true, "passed")),
        ]);
        let mut loaded = quiet.clone();
        assert!(differences(&quiet, &loaded).is_empty());
        loaded.insert(key("b", Profile::Hardened), seen(false, "timeout"));
        loaded.remove(&key("c", Profile::Pytest));
        let d = differences(&quiet, &loaded);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!((d[0].0.as_str(), d[0].1), ("b", Profile::Hardened));
        assert_eq!(d[1].3, None);
    }
}
