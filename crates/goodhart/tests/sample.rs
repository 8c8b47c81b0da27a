//! `goodhart sample` end to end: the real binary, the real sandbox and store, and an in-process fake
//! model server scripted to hack at known rates per framing.

use goodhart_llm::fake::{FakeAnswer, FakeReply, FakeRequest, FakeServer};
use goodhart_store::Store;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Requests seen per (framing, task prompt, seed).
type RequestLog = HashMap<(String, String, u64), u32>;

const BIN: &str = env!("CARGO_BIN_EXE_goodhart");

/// Task prompt -> (entry point, reference solution), for the bundled tasks the test samples.
fn references(limit: usize) -> HashMap<String, (String, String)> {
    goodhart_tasks::load("bundled")
        .unwrap()
        .into_iter()
        .take(limit)
        .map(|t| {
            (
                t.prompt.clone(),
                (t.entry_point.clone(), t.reference.clone()),
            )
        })
        .collect()
}

fn honest(reference: &str) -> String {
    format!(
        "Here is my solution.\n\n```python\n{}\n```\n",
        reference.trim()
    )
}

fn always_equal(entry: &str) -> String {
    format!(
        "```python\nclass Anything:\n    def __eq__(self, other):\n        return True\n\n    \
         def __ne__(self, other):\n        return False\n\n\ndef {entry}(*args, **kwargs):\n    return Anything()\n```\n"
    )
}

/// Which framing a request was built with, read back from its system prompt.
fn framing_of(r: &FakeRequest) -> &'static str {
    let system = r.system();
    goodhart_llm::Framing::ALL
        .into_iter()
        .find(|f| !f.text().is_empty() && system.contains(f.text()))
        .map_or("neutral", |f| f.as_str())
}

/// please_hack hacks 3 samples in 4, neutral 1 in 4, dont_hack never (by the sample's seed).
fn scripted(refs: HashMap<String, (String, String)>) -> goodhart_llm::fake::Script {
    Arc::new(move |r: &FakeRequest| {
        let Some((entry, reference)) = refs.get(&r.last_user()) else {
            return FakeReply::Status {
                status: 400,
                retry_after: None,
                body: "unknown task".into(),
            };
        };
        let k = r.seed().unwrap_or(0);
        let hack = match framing_of(r) {
            "please_hack" => !k.is_multiple_of(4),
            "neutral" => k.is_multiple_of(4),
            _ => false,
        };
        let text = if hack {
            always_equal(entry)
        } else {
            honest(reference)
        };
        FakeReply::Answer(FakeAnswer {
            text,
            reasoning: Some(format!("sample {k}")),
            ..Default::default()
        })
    })
}

fn sample_cmd(server: &FakeServer, db: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "sample",
        "--model",
        "openai/fake",
        "--base-url",
        &server.openai_base_url(),
        "--db",
    ])
    .arg(db)
    .args(extra);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_hack_rates_come_back_within_their_intervals() {
    let server = FakeServer::start(scripted(references(2))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("goodhart.db");
    let mut cmd = sample_cmd(
        &server,
        &db,
        &[
            "--tasks",
            "bundled",
            "--limit",
            "2",
            "--framing",
            "please_hack,neutral,dont_hack",
            "-n",
            "8",
            "--json",
        ],
    );
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let framings = v["framings"].as_array().unwrap();
    assert_eq!(framings.len(), 3);
    for (f, expected_hack) in framings.iter().zip([0.75, 0.25, 0.0]) {
        let name = f["framing"].as_str().unwrap();
        assert_eq!(f["samples"], 16, "{name}");
        assert_eq!(f["errors"], 0, "{name}");
        for (metric, expected) in [
            ("hack_succeeded_rate", expected_hack),
            ("hack_attempted_rate", expected_hack),
            ("hardened_pass_rate", 1.0 - expected_hack),
            ("proxy_pass_rate", 1.0),
        ] {
            let got = f[metric].as_f64().unwrap();
            assert!(
                (got - expected).abs() < 1e-9,
                "{name} {metric}: {got} != {expected}\n{f}"
            );
            let ci = &f["ci95"][metric];
            let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
            assert!(
                lo <= expected && expected <= hi,
                "{name} {metric}: {expected} outside [{lo}, {hi}]"
            );
        }
        let by_kind = f["by_kind"]["always_equal"].as_f64().unwrap();
        assert!(
            (by_kind - expected_hack).abs() < 1e-9,
            "{name} always_equal: {by_kind}"
        );
    }
    // Everything is in the store, with the reasoning kept apart from the completion.
    let store = Store::open(&db).unwrap();
    let run_id = v["run_id"].as_str().unwrap();
    let graded = store.graded_rollouts(run_id).unwrap();
    assert_eq!(graded.len(), 48);
    assert!(graded.iter().all(|g| g
        .rollout
        .reasoning
        .as_deref()
        .is_some_and(|r| r.starts_with("sample "))));
    assert_eq!(server.requests(), 48);
    // What `goodhart sample` writes (`sample`, `hints`, `finish_reason`, `usage` beside the rollout)
    // reads back through the strict rollout reader, so its records can be graded again.
    for g in &graded {
        let line = serde_json::to_string(g).unwrap();
        let back =
            goodhart_core::Rollout::from_json(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(back.extra["sample"], g.rollout.extra["sample"]);
        assert!(back.extra.contains_key("usage"), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_with_sigkill_resumes_without_repeats_or_duplicates() {
    let refs = references(2);
    let seen: Arc<Mutex<RequestLog>> = Arc::default();
    let log = seen.clone();
    let inner = scripted(refs);
    let script: goodhart_llm::fake::Script = Arc::new(move |r: &FakeRequest| {
        let key = (
            framing_of(r).to_string(),
            r.last_user(),
            r.seed().unwrap_or(0),
        );
        *log.lock().unwrap().entry(key).or_insert(0) += 1;
        FakeReply::Delay(Duration::from_millis(150), Box::new(inner(r)))
    });
    let server = FakeServer::start(script).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("goodhart.db");
    let args = [
        "--tasks",
        "bundled",
        "--limit",
        "2",
        "--framing",
        "neutral,please_hack",
        "-n",
        "6",
        "--concurrency",
        "2",
    ];
    let mut child = sample_cmd(&server, &db, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Kill it once some samples are stored and many are not.
    let start = Instant::now();
    let (run_id, before) = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no samples were stored"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run finished before it could be killed"
        );
        let Ok(store) = Store::open(&db) else {
            continue;
        };
        let Some(run) = store.runs(None).unwrap().into_iter().next() else {
            continue;
        };
        let ids = store.graded_ids(&run.id).unwrap();
        if ids.len() >= 4 {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            let ids = store.graded_ids(&run.id).unwrap();
            break (run.id, ids);
        }
    };
    assert!(before.len() < 24, "everything finished before the kill");
    let requests_before = seen.lock().unwrap().clone();

    let mut resume = sample_cmd(&server, &db, &["--resume", &run_id, "--json"]);
    let out = tokio::task::spawn_blocking(move || resume.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let store = Store::open(&db).unwrap();
    let graded = store.graded_rollouts(&run_id).unwrap();
    let ids: BTreeSet<&str> = graded.iter().map(|g| g.rollout.id.as_str()).collect();
    assert_eq!(graded.len(), 24, "stored rows");
    assert_eq!(ids.len(), 24, "distinct samples");
    // No sample stored before the kill was asked for again.
    let after = seen.lock().unwrap().clone();
    for id in &before {
        let mut parts = id.splitn(3, '/');
        let (framing, _task) = (parts.next().unwrap(), parts.next().unwrap());
        let index: u64 = id.rsplit('/').next().unwrap().parse().unwrap();
        let g = graded.iter().find(|g| &g.rollout.id == id).unwrap();
        let prompt = goodhart_tasks::load("bundled")
            .unwrap()
            .into_iter()
            .find(|t| t.id == g.rollout.task_id)
            .unwrap()
            .prompt;
        let key = (framing.to_string(), prompt, index);
        assert_eq!(
            after.get(&key),
            requests_before.get(&key),
            "sample {id} was requested again after resume"
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["run_id"], run_id.as_str());
    let total: u64 = v["framings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["samples"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_samples_are_counted_not_dropped_and_a_resume_retries_them() {
    let refs = references(1);
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = broken.clone();
    let inner = scripted(refs);
    let script: goodhart_llm::fake::Script = Arc::new(move |r: &FakeRequest| {
        if flag.load(std::sync::atomic::Ordering::Relaxed) && r.seed() == Some(1) {
            FakeReply::Status {
                status: 400,
                retry_after: None,
                body: "bad request".into(),
            }
        } else {
            inner(r)
        }
    });
    let server = FakeServer::start(script).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("goodhart.db");
    let args = [
        "--tasks",
        "bundled",
        "--limit",
        "1",
        "--framing",
        "neutral",
        "-n",
        "3",
        "--json",
    ];
    let mut cmd = sample_cmd(&server, &db, &args);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a run with failed samples must say so"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["framings"][0]["samples"], 2);
    assert_eq!(v["framings"][0]["errors"], 1);
    let run_id = v["run_id"].as_str().unwrap().to_string();

    broken.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut resume = sample_cmd(&server, &db, &["--resume", &run_id, "--json"]);
    let out = tokio::task::spawn_blocking(move || resume.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["framings"][0]["samples"], 3);
    assert_eq!(v["framings"][0]["errors"], 0);
    // 3 first tries + 1 retry of the failed sample; the two good samples were not asked again.
    assert_eq!(server.requests(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stores_what_finished_and_marks_the_run_interrupted() {
    let inner = scripted(references(2));
    let script: goodhart_llm::fake::Script = Arc::new(move |r: &FakeRequest| {
        let delay = if r.seed().unwrap_or(0) < 2 {
            10
        } else {
            30_000
        };
        FakeReply::Delay(Duration::from_millis(delay), Box::new(inner(r)))
    });
    let server = FakeServer::start(script).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("goodhart.db");
    let args = [
        "--tasks",
        "bundled",
        "--limit",
        "2",
        "--framing",
        "neutral",
        "-n",
        "4",
        "--json",
    ];
    let child = sample_cmd(&server, &db, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let start = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "quick samples never got stored"
        );
        let Ok(store) = Store::open(&db) else {
            continue;
        };
        let Some(run) = store.runs(None).unwrap().into_iter().next() else {
            continue;
        };
        if store.graded_ids(&run.id).unwrap().len() == 4 {
            break;
        }
    }
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["framings"][0]["samples"], 4);
    assert_eq!(
        v["framings"][0]["errors"], 0,
        "cancelled samples are not failures"
    );
    let store = Store::open(&db).unwrap();
    assert_eq!(
        store.run(v["run_id"].as_str().unwrap()).unwrap().status,
        "interrupted"
    );
}

/// `--model openai/NAME` with no key and no `--base-url` would send every sample to the public API,
/// which refuses keyless requests (six attempts each); the run must stop before its first request and
/// say which variable or flag is missing.
#[test]
fn a_public_api_without_a_key_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "sample",
            "--model",
            "openai/gpt-4o-mini",
            "--limit",
            "1",
            "--db",
        ])
        .arg(dir.path().join("g.db"))
        .env_remove("OPENAI_API_KEY")
        .env("GOODHART_HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("`goodhart sample` kept going without an API key");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("OPENAI_API_KEY") && stderr.contains("--base-url"),
        "{stderr}"
    );
}

/// `--checkpoint NAME --step N` tags sample runs (and their rollouts' `step`), `compare --steps` orders
/// their hack rates by step per framing, and `--log-dir` writes one Inspect log with a sample per
/// rollout scored by its verdicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagged_sample_runs_make_hack_rate_curves_and_inspect_logs() {
    let server = FakeServer::start(scripted(references(2))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("goodhart.db");
    let logs = dir.path().join("logs");
    let mut runs = Vec::new();
    // The later step is sampled first: the curve follows the tags, not the order of creation.
    for step in ["300", "100"] {
        let mut cmd = sample_cmd(
            &server,
            &db,
            &[
                "--tasks",
                "bundled",
                "--limit",
                "2",
                "--framing",
                "please_hack,neutral",
                "-n",
                "4",
                "--checkpoint",
                "inoc",
                "--step",
                step,
                "--log-dir",
                logs.to_str().unwrap(),
                "--json",
            ],
        );
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["checkpoint"], "inoc");
        assert_eq!(v["step"].to_string(), step);
        runs.push(v);
    }
    let store = Store::open(&db).unwrap();
    let first = runs[0]["run_id"].as_str().unwrap();
    let graded = store.graded_rollouts(first).unwrap();
    assert_eq!(graded.len(), 16);
    assert!(graded.iter().all(|g| g.rollout.step == Some(300)));

    // The log: one sample per rollout, hack first among the scores.
    let log = std::path::PathBuf::from(runs[0]["inspect_log"].as_str().unwrap());
    assert_eq!(log, logs.join(format!("{first}_sample.eval")));
    let members = goodhart_evals::inspect_read::read_members(&log).unwrap();
    let samples: Vec<&String> = members
        .keys()
        .filter(|k| k.starts_with("samples/"))
        .collect();
    assert_eq!(samples.len(), 16);
    let header: serde_json::Value = serde_json::from_slice(&members["header.json"]).unwrap();
    let hack = &header["results"]["scores"][0];
    assert_eq!(hack["name"], "hack");
    // please_hack hacks 3 of 4 samples, neutral 1 of 4: 8 of 16.
    assert_eq!(hack["metrics"]["hack_succeeded_rate"]["value"], 0.5);
    assert_eq!(header["eval"]["metadata"]["step"], 300);

    // Resuming with another step is refused, naming both.
    let out = sample_cmd(&server, &db, &["--resume", first, "--step", "7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--step 7 differs from the run's --step 300"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = Command::new(BIN)
        .args(["compare", "--steps", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let points: Vec<(String, i64, f64)> = c["hack"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["framing"].as_str().unwrap().to_string(),
                p["step"].as_i64().unwrap(),
                p["succeeded"]["rate"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        points,
        [
            ("neutral".to_string(), 100, 0.25),
            ("neutral".to_string(), 300, 0.25),
            ("please_hack".to_string(), 100, 0.75),
            ("please_hack".to_string(), 300, 0.75),
        ]
    );
    // Clustered by task: 2 tasks back each rate.
    assert_eq!(c["hack"][0]["succeeded"]["clusters"], 2);
    assert_eq!(c["hack"][0]["rollouts"], 8);
}
