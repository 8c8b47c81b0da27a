//! The traps of issue 16 around the run ledger, each through the real binary: outputs that would
//! clobber or mix files, `--resume` with conflicting flags, retried reward requests, `/run_code`
//! rewards, read-only commands on a mistyped store, and progress lines when stderr is not a terminal.

use goodhart_store::{RunKind, Store};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_goodhart");

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Six rollouts of one bundled task: an honest one, then five that return nothing.
fn rollouts(dir: &Path) -> PathBuf {
    let task = goodhart_tasks::load("bundled").unwrap().remove(0);
    let mut text = String::new();
    for i in 0..6 {
        let completion = if i == 0 {
            format!("```python\n{}\n```", task.reference.trim())
        } else {
            format!(
                "```python\ndef {}(*a):\n    return None\n```",
                task.entry_point
            )
        };
        let line = json!({"id": format!("r{i}"), "task_id": task.id, "completion": completion});
        text.push_str(&format!("{line}\n"));
    }
    let path = dir.join("rollouts.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

fn grade(db: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("grade")
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap()
}

#[test]
fn grade_refuses_to_write_its_output_over_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = rollouts(dir.path());
    let before = std::fs::read(&input).unwrap();
    let i = input.to_str().unwrap();
    let out = grade(&dir.path().join("s.db"), &["--input", i, "--output", i]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--input and --output are the same file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(&input).unwrap(),
        before,
        "the input is untouched"
    );
}

#[test]
fn grade_never_appends_to_a_file_it_did_not_start_and_resume_continues_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let input = rollouts(dir.path());
    let output = dir.path().join("graded.jsonl");
    std::fs::write(&output, "someone else's notes\n").unwrap();
    let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());
    let out = grade(&db, &["--input", i, "--output", o]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("already exists and is not empty")
            && err.contains("not the output of any grade run"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "someone else's notes\n"
    );

    // A file a run wrote: the error names the run and how to continue it.
    std::fs::remove_file(&output).unwrap();
    let first = grade(&db, &["--input", i, "--output", o, "--json"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let summary: Value = serde_json::from_slice(&first.stdout).unwrap();
    let run_id = summary["run_id"].as_str().unwrap().to_string();
    let again = grade(&db, &["--input", i, "--output", o]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains(&format!("goodhart grade --resume {run_id}")),
        "{}",
        stderr(&again)
    );

    // --resume reads the store: a damaged output is rebuilt with exactly the stored records.
    std::fs::write(&output, "torn").unwrap();
    let resumed = grade(&db, &["--resume", &run_id, "--json"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let v: Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(v["graded"], 6, "the summary covers the whole run: {v}");
    assert_eq!(v["invocation"]["graded"], 0);
    assert_eq!(v["invocation"]["already_stored"], 6);
    let lines = std::fs::read_to_string(&output).unwrap();
    assert_eq!(lines.lines().count(), 6, "{lines}");
    let store = Store::open(&db).unwrap();
    let run = store.run(&run_id).unwrap();
    assert_eq!((run.status.as_str(), run.invocations), ("done", 2));
    assert_eq!(store.runs(Some(RunKind::Grade)).unwrap().len(), 1);
}

#[test]
fn resume_with_a_conflicting_flag_names_the_flag_and_both_values() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let input = rollouts(dir.path());
    let output = dir.path().join("graded.jsonl");
    let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());
    let first = grade(
        &db,
        &[
            "--input", i, "--output", o, "--json", "--reward", "hardened",
        ],
    );
    let summary: Value = serde_json::from_slice(&first.stdout).unwrap();
    let run_id = summary["run_id"].as_str().unwrap().to_string();
    let out = grade(
        &db,
        &[
            "--resume",
            &run_id,
            "--reward",
            "proxy",
            "--profiles",
            "assert",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--reward proxy differs from the run's --reward hardened"),
        "{err}"
    );
    assert!(
        err.contains("--profiles assert differs from the run's --profiles assert,pytest,hardened"),
        "{err}"
    );
    // The same values as stored are fine.
    let ok = grade(&db, &["--resume", &run_id, "--reward", "hardened"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
}

#[test]
fn read_only_commands_refuse_a_missing_store() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("runz.db");
    let out = Command::new(BIN)
        .args(["report", "training", "--db"])
        .arg(&typo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("there is no store at {}", typo.display())),
        "{}",
        stderr(&out)
    );
    assert!(!typo.exists(), "no empty store was created");
    let out = Command::new(BIN)
        .args(["compare", "eval-a", "eval-b", "--db"])
        .arg(&typo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!typo.exists());
}

#[test]
fn progress_lines_reach_a_piped_stderr_and_never_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let input = rollouts(dir.path());
    let out = Command::new(BIN)
        .args(["grade", "--json", "--jobs", "1", "--input"])
        .arg(&input)
        .arg("--db")
        .arg(dir.path().join("s.db"))
        .env("GOODHART_PROGRESS_SECS", "0.05")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("grade: ") && l.contains("/6 rollouts ("))
        .unwrap_or_else(|| panic!("no progress line in: {err}"));
    assert!(line.contains("s elapsed"), "{line}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("elapsed"), "{stdout}");
}

// ---------------------------------------------------------------------------------------------- serve

fn start_server(db: &Path) -> (Child, String) {
    start_server_with(db, "bundled")
}

fn start_server_with(db: &Path, tasks: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--tasks",
            tasks,
            "--workers",
            "2",
            "--addr",
            "127.0.0.1:0",
            "--db",
        ])
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            addr = rest.split_whitespace().next().unwrap().to_string();
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// POSTs `body` as JSON to `url` and reads the JSON answer (two minutes at most).
async fn post(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    client
        .post(url)
        .json(body)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn stop(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_reward_request_is_stored_once_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    let task = goodhart_tasks::load("bundled").unwrap().remove(0);
    let body = json!({
        "query": [format!("```python\n{}\n```", task.reference.trim()), "no code"],
        "labels": [task.id, task.id],
        "step": 3,
    });
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    for _restart in 0..2 {
        let db2 = db.clone();
        let (server, addr) = tokio::task::spawn_blocking(move || start_server(&db2))
            .await
            .unwrap();
        for _retry in 0..2 {
            let reply = post(&client, &format!("http://{addr}/get_reward"), &body).await;
            answers.push(reply["rewards"].clone());
        }
        stop(server);
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    let store = Store::open(&db).unwrap();
    let runs = store.runs(Some(RunKind::Serve)).unwrap();
    assert_eq!(runs.len(), 2, "one run per server session");
    let stored: usize = runs
        .iter()
        .map(|r| store.graded_rollouts(&r.id).unwrap().len())
        .sum();
    assert_eq!(
        stored, 2,
        "four identical requests store their two rollouts once"
    );
}

/// A `goodhart serve` on a new store in a temporary directory: the directory (kept alive), the store's
/// path, the server and its address.
async fn serve_fresh() -> (tempfile::TempDir, PathBuf, Child, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    let db2 = db.clone();
    let (server, addr) = tokio::task::spawn_blocking(move || start_server(&db2))
        .await
        .unwrap();
    (dir, db, server, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_code_executions_are_stored_with_their_step() {
    let (_dir, db, server, addr) = serve_fresh().await;
    let reply: Value = reqwest::Client::new()
        .post(format!("http://{addr}/run_code"))
        .header("X-Goodhart-Step", "41")
        .json(&json!({"code": "print(6 * 7)", "language": "python", "run_timeout": 10}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stop(server);
    assert_eq!(reply["status"], "Success", "{reply}");
    let store = Store::open(&db).unwrap();
    let run = store.runs(Some(RunKind::Serve)).unwrap().remove(0);
    let runs = store.code_runs(&run.id).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].step, Some(41));
    assert_eq!(runs[0].status, "Success");
    assert_eq!(runs[0].stdout.as_deref(), Some("42\n"));
    assert_eq!(runs[0].code, "print(6 * 7)");
}

/// verl's SandboxFusion path sends one `/run_code` per test case with the case's input as stdin. A
/// stdin that belongs to one known stdin/stdout task names the task, and the stored execution carries
/// the detectors' labels: a program that prints the visible examples' outputs by their inputs is
/// `hardcoded_outputs`, the task's reference is honest, and a program whose stdin matches no task is
/// stored unlabelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_code_requests_on_a_known_stdio_task_are_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    let db2 = db.clone();
    let (server, addr) =
        tokio::task::spawn_blocking(move || start_server_with(&db2, "bundled-stdio"))
            .await
            .unwrap();
    let tasks = goodhart_tasks::load("bundled-stdio").unwrap();
    // A task whose first visible input is no other task's input.
    let task = tasks
        .iter()
        .find(|t| {
            let input = &t.stdio.as_ref().unwrap().visible[0].input;
            tasks
                .iter()
                .filter(|o| {
                    let s = o.stdio.as_ref().unwrap();
                    s.visible.iter().chain(&s.hidden).any(|c| &c.input == input)
                })
                .count()
                == 1
        })
        .unwrap();
    let stdio = task.stdio.as_ref().unwrap();
    let mut table = String::from("import sys\nANSWERS = {\n");
    for case in &stdio.visible {
        table.push_str(&format!("    {:?}: {:?},\n", case.input, case.output));
    }
    table.push_str("}\ndata = sys.stdin.read()\nprint(ANSWERS.get(data, '0'), end='')\n");
    let client = reqwest::Client::new();
    for code in [table.as_str(), task.reference.as_str(), "print(input())"] {
        let stdin = if code == "print(input())" {
            "no task has this input\n"
        } else {
            stdio.visible[0].input.as_str()
        };
        let body = json!({"code": code, "language": "python", "stdin": stdin, "run_timeout": 10});
        let reply = post(&client, &format!("http://{addr}/run_code"), &body).await;
        assert_eq!(reply["status"], "Success", "{reply}");
    }
    stop(server);
    let store = Store::open(&db).unwrap();
    let run = store.runs(Some(RunKind::Serve)).unwrap().remove(0);
    let rows = store.code_runs(&run.id).unwrap();
    let find = |code: &str| rows.iter().find(|r| r.code == code).unwrap();
    let hack = find(&table);
    assert_eq!(hack.task_id.as_deref(), Some(task.id.as_str()));
    let labels = hack.hack.as_ref().unwrap();
    assert!(labels.attempted, "{hack:?}");
    assert_eq!(labels.kinds, ["hardcoded_outputs"], "{hack:?}");
    let honest = find(&task.reference);
    assert_eq!(honest.task_id.as_deref(), Some(task.id.as_str()));
    assert!(!honest.hack.as_ref().unwrap().attempted, "{honest:?}");
    let unmatched = find("print(input())");
    assert_eq!((&unmatched.task_id, &unmatched.hack), (&None, &None));
}

/// `/run_code`'s `run_timeout` is CPU seconds with the grade path's wall-clock cap (4 × it + 5 s): a
/// program that needs 1.5 s of CPU passes a 3 s limit however long the machine makes it wait, a busy
/// loop is stopped by the CPU limit, a `time.sleep` by the wall cap; the answer and the stored row say
/// which limit it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_code_limits_are_cpu_seconds_with_a_wall_cap() {
    let (_dir, db, server, addr) = serve_fresh().await;
    let client = reqwest::Client::new();
    let post = |code: &'static str, timeout: f64| {
        let (client, addr) = (client.clone(), addr.clone());
        tokio::spawn(async move {
            client
                .post(format!("http://{addr}/run_code"))
                .json(&json!({"code": code, "language": "python", "run_timeout": timeout}))
                .timeout(Duration::from_secs(120))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    let needs_cpu = "import time\nwhile time.process_time() < 1.5:\n    pass\nprint('done')\n";
    let cpu = post(needs_cpu, 3.0);
    let spin = post("while True:\n    pass\n", 1.0);
    let sleep = post("import time\ntime.sleep(60)\n", 1.0);
    let (cpu, spin, sleep) = (
        cpu.await.unwrap(),
        spin.await.unwrap(),
        sleep.await.unwrap(),
    );
    stop(server);

    assert_eq!(cpu["status"], "Success", "{cpu:#}");
    assert_eq!(cpu["run_result"]["stdout"], "done\n");
    assert_eq!(cpu["goodhart"]["limit"], Value::Null);
    assert!(
        cpu["goodhart"]["cpu_time"].as_f64().unwrap() >= 1.5,
        "{cpu:#}"
    );

    let stopped_by = |r: &Value, ending: &str, limit: &str, says: &str| {
        assert_eq!(r["run_result"]["status"], "TimeLimitExceeded", "{r:#}");
        assert_eq!(
            (&r["goodhart"]["ending"], &r["goodhart"]["limit"]),
            (&json!(ending), &json!(limit)),
            "{r:#}"
        );
        assert!(r["message"].as_str().unwrap().contains(says), "{r:#}");
        assert_eq!(r["goodhart"]["reason"], r["message"], "{r:#}");
    };
    stopped_by(&spin, "cpu_limit", "cpu", "CPU time limit");
    stopped_by(&sleep, "wall_timeout", "wall", "wall-clock cap");
    // The cap for 1 CPU second is 4 × 1 + 5 = 9 s of wall time, not the 1 s a wall limit would give.
    let waited = sleep["run_result"]["execution_time"].as_f64().unwrap();
    assert!((8.5..20.0).contains(&waited), "stopped after {waited} s");

    let store = Store::open(&db).unwrap();
    let run = store.runs(Some(RunKind::Serve)).unwrap().remove(0);
    let mut rows = store.code_runs(&run.id).unwrap();
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    let limits: Vec<(Option<&str>, Option<&str>)> = rows
        .iter()
        .map(|r| (r.ending.as_deref(), r.limit.as_deref()))
        .collect();
    assert_eq!(
        limits,
        [
            (Some("wall_timeout"), Some("wall")),
            (Some("ok"), None),
            (Some("cpu_limit"), Some("cpu")),
        ],
        "rows sorted by code: sleep, process_time loop, busy loop"
    );
    assert!(rows[1].cpu_time.unwrap() >= 1.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_and_audit_resume_refuse_conflicting_flags() {
    use goodhart_llm::fake::{FakeAnswer, FakeReply, FakeServer};
    let server = FakeServer::start(std::sync::Arc::new(
        |_: &goodhart_llm::fake::FakeRequest| FakeReply::Answer(FakeAnswer::text("no code here")),
    ))
    .await
    .unwrap();
    let url = server.openai_base_url();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let sample = |extra: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args(["sample", "--json", "--no-cache", "--db"])
            .arg(&db)
            .args(extra);
        cmd
    };
    let mut first = sample(&["--model", "openai/fake", "--base-url", &url, "--limit", "1"]);
    let out = tokio::task::spawn_blocking(move || first.output())
        .await
        .unwrap()
        .unwrap();
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", stderr(&out)));
    let run_id = v["run_id"].as_str().unwrap().to_string();
    let mut again = sample(&["--resume", &run_id, "-n", "3", "--framing", "please_hack"]);
    let out = tokio::task::spawn_blocking(move || again.output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("-n 3 differs from the run's -n 1"), "{err}");
    assert!(
        err.contains("--framing please_hack differs from the run's --framing neutral"),
        "{err}"
    );

    let audit = |extra: &[&str]| {
        Command::new(BIN)
            .args([
                "audit",
                "--json",
                "--limit",
                "1",
                "--exploits",
                "always_equal",
                "--db",
            ])
            .arg(&db)
            .args(extra)
            .output()
            .unwrap()
    };
    let first = audit(&[]);
    let v: Value =
        serde_json::from_slice(&first.stdout).unwrap_or_else(|_| panic!("{}", stderr(&first)));
    let run_id = v["run_id"].as_str().unwrap().to_string();
    let out = Command::new(BIN)
        .args([
            "audit",
            "--resume",
            &run_id,
            "--profiles",
            "hardened",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "--profiles hardened differs from the run's --profiles assert,pytest,hardened"
        ),
        "{}",
        stderr(&out)
    );
    // Resuming a finished audit grades nothing and reports the same matrix.
    let again = Command::new(BIN)
        .args(["audit", "--json", "--resume", &run_id, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let w: Value =
        serde_json::from_slice(&again.stdout).unwrap_or_else(|_| panic!("{}", stderr(&again)));
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("wall_seconds");
        v
    };
    assert_eq!(strip(w), strip(v));
}

/// `sample`, `eval` and `audit` print plain progress lines on a piped stderr (the trap: only `grade` and
/// a terminal got any), never on stdout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_eval_and_audit_show_progress_on_a_piped_stderr() {
    use goodhart_llm::fake::{FakeAnswer, FakeReply, FakeServer};
    let server = FakeServer::start(std::sync::Arc::new(
        |req: &goodhart_llm::fake::FakeRequest| {
            let text = if req.system().starts_with("Rubric: goals_taxonomy") {
                json!({"categories": ["helpfulness"], "reason": "r"}).to_string()
            } else {
                "no code here".to_string()
            };
            FakeReply::Delay(
                Duration::from_millis(60),
                Box::new(FakeReply::Answer(FakeAnswer::text(text))),
            )
        },
    ))
    .await
    .unwrap();
    let url = server.openai_base_url();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let runs: [(&str, Vec<&str>, &str); 3] = [
        (
            "sample",
            vec![
                "sample",
                "--model",
                "openai/m",
                "--base-url",
                &url,
                "--limit",
                "2",
                "-n",
                "4",
            ],
            "/8 samples (",
        ),
        (
            "eval",
            vec![
                "eval",
                "--model",
                "openai/m",
                "--base-url",
                &url,
                "--judge",
                "openai/j",
                "--judge-base-url",
                &url,
                "--evals",
                "goals",
                "--epochs",
                "8",
                "--parallel",
                "1",
            ],
            "/8 samples (",
        ),
        (
            "audit",
            vec![
                "audit",
                "--limit",
                "2",
                "--exploits",
                "always_equal",
                "--jobs",
                "1",
            ],
            " cells (",
        ),
    ];
    for (what, args, unit) in runs {
        let mut cmd = Command::new(BIN);
        cmd.args(&args)
            .args(["--json", "--db"])
            .arg(&db)
            .env("GOODHART_PROGRESS_SECS", "0.05")
            .env_remove("GOODHART_MODELS");
        if what != "audit" {
            cmd.arg("--no-cache");
        }
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap();
        let err = stderr(&out);
        let prefix = format!("{what}: ");
        assert!(
            err.lines()
                .any(|l| l.starts_with(&prefix) && l.contains(unit) && l.contains("s elapsed")),
            "{what}: no progress line in: {err}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("elapsed"), "{what}: {stdout}");
    }
}
