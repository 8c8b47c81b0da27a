//! Distributed audit and grade (issue 21): several `goodhart audit --join RUN_ID` (and `grade --join`)
//! worker processes on one store pull items from the run's queue and must end with exactly what a
//! single process computes; a worker SIGKILLed while it holds an item leaves that item to the others
//! (its lease runs out) and the run still completes, with nothing lost and nothing stored twice.
//!
//! The PostgreSQL tests need `GOODHART_TEST_PG_URL` (`.ci/postgres.sh start` prints one); without it
//! they are skipped with a note, except under `CI=true`, where they fail. The SQLite test always runs.

mod common;

use common::PgSchema as Schema;
use goodhart_store::Store;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_goodhart");
/// The lease the workers run with: short, so a killed worker's items come back within the test.
const LEASE_SECS: &str = "3";
/// Longer than any run here can take on a loaded machine; a worker still running then is stuck.
const PATIENCE: Duration = Duration::from_secs(240);

/// `goodhart ARGS... --db DB`, output captured.
fn goodhart(args: &[&str], db: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .args(["--db", db])
        .env_remove("GOODHART_DB")
        .env_remove("GOODHART_LEASE_SECS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A worker of run `run` (`--join run --lease LEASE_SECS`).
fn worker(args: &[&str], run: &str, db: &str) -> Child {
    let mut cmd = goodhart(args, db);
    cmd.args(["--join", run, "--lease", LEASE_SECS]);
    cmd.spawn().unwrap()
}

/// Waits for `child` (killing it and failing after [`PATIENCE`]) and returns what it printed.
fn finish(mut child: Child, what: &str) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > PATIENCE {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} was still running after {PATIENCE:?} (stuck on items nobody finishes?)\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// The JSON a command printed on stdout, with what names the run or the process removed.
fn result_json(out: &Output, what: &str) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: {e}\nstatus {:?}\nstdout: {stdout}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    if let Some(o) = v.as_object_mut() {
        for k in ["run_id", "db", "wall_seconds", "invocation"] {
            o.remove(k);
        }
    }
    v
}

/// The process id in a worker id (`HOST BOOT_ID PID START`).
fn pid_of(worker: &str) -> Option<u32> {
    worker.split(' ').nth(2)?.parse().ok()
}

/// Waits until the worker with process id `pid` has finished at least one item and holds another,
/// then SIGKILLs it; returns the keys of the items it held when it died.
fn kill_while_holding(mut victim: Child, db: &str, run: &str) -> Vec<String> {
    let pid = victim.id();
    let start = Instant::now();
    let mut store = None;
    loop {
        assert!(
            victim.try_wait().unwrap().is_none(),
            "the worker to kill ended before it held an item: {:?}",
            finish(victim, "victim").stderr.len()
        );
        assert!(
            start.elapsed() < PATIENCE,
            "the worker never claimed an item"
        );
        if store.is_none() {
            store = Store::open_existing(db).ok();
        }
        let items = store
            .as_ref()
            .and_then(|s| s.work_items(run).ok())
            .unwrap_or_default();
        let mine = |i: &&goodhart_store::ItemState, state: &str| {
            i.state == state && i.claimed_by.as_deref().and_then(pid_of) == Some(pid)
        };
        let finished = items.iter().filter(|i| mine(i, "done")).count();
        let held = items.iter().filter(|i| mine(i, "claimed")).count();
        if finished >= 1 && held >= 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    let items = store.unwrap().work_items(run).unwrap();
    let held: Vec<String> = items
        .into_iter()
        .filter(|i| i.state == "claimed" && i.claimed_by.as_deref().and_then(pid_of) == Some(pid))
        .map(|i| i.key)
        .collect();
    assert!(!held.is_empty(), "the killed worker held no item");
    held
}

/// Checks the queue of `run` after a kill: every item done, each of `held` finished by another
/// process after a second claim.
fn check_taken_over(db: &str, run: &str, held: &[String], victim: u32) {
    let items = Store::open_existing(db).unwrap().work_items(run).unwrap();
    assert!(items.iter().all(|i| i.state == "done"), "{items:?}");
    for key in held {
        let item = items.iter().find(|i| &i.key == key).unwrap();
        let by = item.finished_by.as_deref().and_then(pid_of);
        assert!(
            by.is_some() && by != Some(victim) && item.attempts >= 2,
            "{key}, held by the killed worker, was not taken over: {item:?}"
        );
    }
}

/// Checks that run `run` has `n` items, all done, and that each of the two worker processes finished
/// some of them.
fn check_both_worked(db: &str, run: &str, n: usize, workers: [u32; 2]) {
    let items = Store::open_existing(db).unwrap().work_items(run).unwrap();
    assert_eq!(items.len(), n, "{items:?}");
    assert!(items.iter().all(|i| i.state == "done"), "{items:?}");
    let by: BTreeSet<u32> = items
        .iter()
        .filter_map(|i| i.finished_by.as_deref().and_then(pid_of))
        .collect();
    assert_eq!(
        by,
        BTreeSet::from(workers),
        "both workers did part of the run"
    );
}

// ---------------------------------------------------------------------------------------------- audit

/// Three bundled tasks, three exploits of different kinds, three profiles: 21 rollouts, 63 cells.
const AUDIT: &[&str] = &[
    "audit",
    "--tasks",
    "bundled",
    "--limit",
    "3",
    "--profiles",
    "assert,pytest,hardened",
    "--exploits",
    "always_equal,sys_exit_at_import,pytest_report_patch",
    "--jobs",
    "1",
    "--json",
];

/// The single-process audit everything is compared with.
fn single_audit(dir: &Path) -> Value {
    let db = dir.join("single.db");
    let out = goodhart(AUDIT, db.to_str().unwrap()).output().unwrap();
    let v = result_json(&out, "single-process audit");
    assert_eq!(v["matrix"].as_array().map(Vec::len), Some(9), "{v}");
    v
}

/// Two workers at once on `db`; both must print the single process's matrix, and both must have
/// graded some of it.
fn two_audit_workers(db: &str, single: &Value) {
    let a = worker(AUDIT, "audit-two", db);
    let b = worker(AUDIT, "audit-two", db);
    let (pa, pb) = (a.id(), b.id());
    for (out, what) in [
        (finish(a, "worker a"), "worker a"),
        (finish(b, "worker b"), "worker b"),
    ] {
        assert_eq!(&result_json(&out, what), single, "{what}'s matrix");
    }
    check_both_worked(db, "audit-two", 21, [pa, pb]);
    let store = Store::open_existing(db).unwrap();
    assert_eq!(store.audit_results("audit-two").unwrap().len(), 63);
    assert_eq!(store.run("audit-two").unwrap().status, "done");
}

#[test]
fn two_audit_workers_on_one_postgres_store_print_the_single_process_matrix() {
    let Some(schema) = Schema::new("join_audit2") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let single = single_audit(dir.path());
    two_audit_workers(&schema.url, &single);
    println!(
        "two audit workers on PostgreSQL: {:?} in all",
        started.elapsed()
    );
}

#[test]
fn two_audit_workers_on_one_sqlite_file_and_a_worker_with_other_options_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let single = single_audit(dir.path());
    let db = dir.path().join("shared.db");
    let db = db.to_str().unwrap();
    two_audit_workers(db, &single);

    let mut other: Vec<&str> = AUDIT.to_vec();
    other[6] = "assert,hardened";
    let out = finish(
        worker(&other, "audit-two", db),
        "worker with other profiles",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--join audit-two")
            && err.contains("--profiles assert,hardened differs from the run's --profiles assert,pytest,hardened"),
        "{err}"
    );

    // A run made without --join has no queue: joining it would report its stored cells as the whole
    // audit, so it is refused.
    let single_db = dir.path().join("single.db");
    let single_db = single_db.to_str().unwrap();
    let plain = Store::open_existing(single_db).unwrap().runs(None).unwrap()[0]
        .id
        .clone();
    let out = finish(
        worker(AUDIT, &plain, single_db),
        "worker joining a plain run",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("started without --join"), "{err}");
}

#[test]
fn an_audit_worker_killed_holding_a_cell_leaves_it_to_the_other() {
    let Some(schema) = Schema::new("join_auditkill") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let single = single_audit(dir.path());
    let db = schema.url.as_str();
    let started = Instant::now();
    // Both start together; one is killed midway while the other works on.
    let victim = worker(AUDIT, "audit-kill", db);
    let survivor = worker(AUDIT, "audit-kill", db);
    let victim_pid = victim.id();
    let held = kill_while_holding(victim, db, "audit-kill");
    let out = finish(survivor, "surviving worker");
    assert_eq!(result_json(&out, "surviving worker"), single);
    check_taken_over(db, "audit-kill", &held, victim_pid);
    let store = Store::open_existing(db).unwrap();
    assert_eq!(store.audit_results("audit-kill").unwrap().len(), 63);
    assert_eq!(store.run("audit-kill").unwrap().status, "done");
    println!(
        "audit kill: the killed worker held {held:?}; the run completed in {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------- grade

/// Rollouts in the grade input (plus two bad lines).
const ROLLOUTS: usize = 48;

/// A rollout file: references, always-equal hacks and wrong answers over six bundled tasks, framings
/// and steps, with a line that is not JSON and a repeated id (bad lines every summary must count).
fn grade_input(dir: &Path) -> PathBuf {
    let mut lines = common::rollout_lines(ROLLOUTS);
    lines.insert(21, lines[20].clone());
    lines.insert(11, "not json".to_string());
    let path = dir.join("rollouts.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn grade_args<'a>(input: &'a Path, output: &'a Path) -> Vec<&'a str> {
    vec![
        "grade",
        "--jobs",
        "1",
        "--json",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]
}

/// The single-process grade everything is compared with: its summary and records by id.
fn single_grade(dir: &Path, input: &Path) -> (Value, BTreeMap<String, Value>) {
    let db = dir.join("single.db");
    let output = dir.join("single.jsonl");
    let out = goodhart(&grade_args(input, &output), db.to_str().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "two bad lines make exit 1");
    let summary = result_json(&out, "single-process grade");
    assert_eq!(summary["graded"], ROLLOUTS, "{summary}");
    assert_eq!(summary["bad_lines"], 2, "{summary}");
    (summary, records(&output))
}

/// The graded records of an output file by rollout id, each with its timing fields removed; fails on
/// a repeated id.
fn records(output: &Path) -> BTreeMap<String, Value> {
    let mut by_id = BTreeMap::new();
    for line in std::fs::read_to_string(output).unwrap().lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap().to_string();
        if let Some(verdicts) = v["verdicts"].as_object_mut() {
            for verdict in verdicts.values_mut() {
                if let Some(o) = verdict.as_object_mut() {
                    o.remove("duration_ms");
                }
            }
        }
        assert!(
            by_id.insert(id.clone(), v).is_none(),
            "{id} twice in {}",
            output.display()
        );
    }
    by_id
}

/// Checks what a queued grade run left: every worker printed the single process's summary, the store
/// holds each rollout once, and `--output` holds exactly the store's records.
fn check_grade(
    db: &str,
    run: &str,
    outs: &[Output],
    output: &Path,
    single: &(Value, BTreeMap<String, Value>),
) {
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(
            out.status.code(),
            Some(1),
            "worker {i}: two bad lines make exit 1"
        );
        assert_eq!(
            &result_json(out, "worker"),
            &single.0,
            "worker {i}'s summary"
        );
    }
    let store = Store::open_existing(db).unwrap();
    let stored = store.graded_rollouts(run).unwrap();
    let ids: BTreeSet<&str> = stored.iter().map(|g| g.rollout.id.as_str()).collect();
    assert_eq!(
        (stored.len(), ids.len()),
        (ROLLOUTS, ROLLOUTS),
        "store rows"
    );
    let written = records(output);
    assert_eq!(written.len(), ROLLOUTS, "--output lines");
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        single.1.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        written, single.1,
        "the graded records equal the single process's"
    );
    assert_eq!(store.run(run).unwrap().status, "done");
}

/// A PostgreSQL grade test's fixtures: its schema, the input, the single process's result, and where
/// the workers' `--output` goes.
struct GradeSetup {
    schema: Schema,
    _dir: tempfile::TempDir,
    input: PathBuf,
    single: (Value, BTreeMap<String, Value>),
    output: PathBuf,
}

impl GradeSetup {
    fn new(tag: &str) -> Option<GradeSetup> {
        let schema = Schema::new(tag)?;
        let dir = tempfile::tempdir().unwrap();
        let input = grade_input(dir.path());
        let single = single_grade(dir.path(), &input);
        let output = dir.path().join("joined.jsonl");
        Some(GradeSetup {
            schema,
            _dir: dir,
            input,
            single,
            output,
        })
    }
}

#[test]
fn two_grade_workers_on_one_postgres_store_grade_each_rollout_once() {
    let Some(g) = GradeSetup::new("join_grade2") else {
        return;
    };
    let (schema, output, single) = (&g.schema, &g.output, &g.single);
    let args = grade_args(&g.input, output);
    let a = worker(&args, "grade-two", &schema.url);
    let b = worker(&args, "grade-two", &schema.url);
    let (pa, pb) = (a.id(), b.id());
    let outs = [finish(a, "worker a"), finish(b, "worker b")];
    check_grade(&schema.url, "grade-two", &outs, output, single);
    check_both_worked(&schema.url, "grade-two", ROLLOUTS + 1, [pa, pb]);
}

#[test]
fn a_grade_worker_killed_holding_a_rollout_leaves_it_to_the_other() {
    let Some(g) = GradeSetup::new("join_gradekill") else {
        return;
    };
    let (schema, output, single) = (&g.schema, &g.output, &g.single);
    let args = grade_args(&g.input, output);
    let db = schema.url.as_str();
    // Both start together; one is killed midway while the other works on.
    let victim = worker(&args, "grade-kill", db);
    let survivor = worker(&args, "grade-kill", db);
    let victim_pid = victim.id();
    let held = kill_while_holding(victim, db, "grade-kill");
    // What the killed worker held is not stored yet, so the output cannot have been written.
    assert!(
        !output.exists(),
        "--output is written only once the run is complete"
    );
    let out = finish(survivor, "surviving worker");
    check_grade(db, "grade-kill", &[out], output, single);
    check_taken_over(db, "grade-kill", &held, victim_pid);
}

#[test]
fn a_grade_worker_on_sqlite_completes_a_run_and_one_with_other_options_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = goodhart_tasks::load("bundled").unwrap();
    let t = &tasks[0];
    let input = dir.path().join("two.jsonl");
    let lines: Vec<String> = ["a", "b"]
        .iter()
        .map(|id| {
            json!({"id": id, "task_id": t.id,
                   "completion": format!("```python\n{}\n```", t.reference.trim())})
            .to_string()
        })
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = dir.path().join("graded.jsonl");
    let db = dir.path().join("shared.db");
    let db = db.to_str().unwrap();
    let args = grade_args(&input, &output);
    let out = finish(worker(&args, "g", db), "grade worker");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(result_json(&out, "grade worker")["graded"], 2);
    assert_eq!(records(&output).len(), 2);

    let mut other = args.clone();
    other.extend(["--reward", "hardened"]);
    let out = finish(worker(&other, "g", db), "worker with another reward");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--join g: --reward hardened differs from the run's --reward proxy"),
        "{err}"
    );
    // The refused worker changed nothing: the output is still the run's two records.
    assert_eq!(records(&output).len(), 2);
}
