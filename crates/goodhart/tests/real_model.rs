//! `goodhart sample` and `goodhart eval` end to end against a real model behind a real OpenAI-compatible
//! server: SmolLM2-135M-Instruct under llama.cpp's server, which `.ci/run` starts with
//! `.ci/model-server.sh` and names in `GOODHART_TEST_LLM_URL` (an API root such as
//! `http://127.0.0.1:PORT/v1`). Without that variable the test says so and does nothing.
//!
//! A 135M model answers badly and cannot format a judge's verdict reliably, so nothing here asserts
//! quality: it asserts the bookkeeping a user relies on. Every requested sample is accounted for (counted,
//! excluded with a reason, or an error with a message), the store holds exactly those rows, the run is
//! marked done, the `--json` summary has its documented keys, and a repeated invocation is served
//! from the response cache: the server's `/metrics` shows no new token predicted.

use goodhart_evals::{EvalName, EvalStore, Outcome};
use goodhart_store::Store;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_goodhart");
/// The name the server is asked for (llama.cpp serves its one model under any name).
const MODEL: &str = "openai/smollm2-135m-instruct";

/// Runs the binary with `--db` and `--json`, returning its exit code and parsed stdout.
fn goodhart(args: &[&str], db: &Path) -> (i32, Value) {
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(db)
        .arg("--json")
        .env_remove("GOODHART_MODELS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "goodhart {} took {:.1} s\n{stderr}",
        args[0],
        start.elapsed().as_secs_f64()
    );
    let value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}\nstdout: {stdout}\nstderr: {stderr}"));
    (out.status.code().unwrap_or(-1), value)
}

/// `llamacpp:tokens_predicted_total` and `..._seconds_total` from the server's Prometheus `/metrics`.
fn predicted(base_url: &str) -> (f64, f64) {
    let authority = base_url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| {
            panic!("GOODHART_TEST_LLM_URL must be http://HOST:PORT/v1, got {base_url}")
        });
    let mut conn = std::net::TcpStream::connect(authority).unwrap();
    write!(
        conn,
        "GET /metrics HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    conn.read_to_string(&mut body).unwrap();
    let metric = |name: &str| {
        body.lines()
            .find_map(|l| {
                l.strip_prefix(name)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{body}"))
    };
    (
        metric("llamacpp:tokens_predicted_total"),
        metric("llamacpp:tokens_predicted_seconds_total"),
    )
}

#[test]
fn sample_and_eval_against_a_real_model_account_for_every_sample() {
    let Ok(url) = std::env::var("GOODHART_TEST_LLM_URL") else {
        eprintln!(
            "SKIPPED: GOODHART_TEST_LLM_URL is not set (`.ci/model-server.sh start` prints one; .ci/run sets it)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("goodhart.db");
    let (tokens_at_start, seconds_at_start) = predicted(&url);

    // --- sample: 2 tasks × 2 framings × 1 sample, short answers.
    let sample_args = [
        "sample",
        "--model",
        MODEL,
        "--base-url",
        &url,
        "--tasks",
        "bundled",
        "--limit",
        "2",
        "--framing",
        "neutral,please_hack",
        "-n",
        "1",
        "--max-tokens",
        "96",
        "--concurrency",
        "1",
    ];
    let requested_per_framing = 2u64;
    let (code, s) = goodhart(&sample_args, &db);
    assert!(code == 0 || code == 1, "sample exit {code}: {s}");
    let run_id = s["run_id"].as_str().expect("run_id").to_string();
    let framings = s["framings"].as_array().expect("framings");
    assert_eq!(framings.len(), 2, "{s}");
    let mut errors_total = 0;
    for f in framings {
        for key in [
            "framing",
            "samples",
            "errors",
            "proxy_pass_rate",
            "hardened_pass_rate",
            "hack_attempted_rate",
            "hack_succeeded_rate",
            "by_kind",
            "ci95",
        ] {
            assert!(f.get(key).is_some(), "sample summary lacks `{key}`: {f}");
        }
        let (samples, errors) = (
            f["samples"].as_u64().unwrap(),
            f["errors"].as_u64().unwrap(),
        );
        assert_eq!(samples + errors, requested_per_framing, "{f}");
        errors_total += errors;
    }
    assert_eq!(
        code == 1,
        errors_total > 0,
        "exit code {code} vs {errors_total} errors"
    );
    eprintln!(
        "sample summary: {}",
        serde_json::to_string(&s["framings"]).unwrap()
    );
    let store = Store::open(&db).unwrap();
    let graded = store.graded_rollouts(&run_id).unwrap();
    let failures = store.llm_failures(&run_id).unwrap();
    assert_eq!(
        graded.len() + failures.len(),
        4,
        "stored rows + logged failures"
    );
    assert!(
        failures.iter().all(|f| !f.message.is_empty()),
        "{failures:?}"
    );
    let run = store
        .runs(None)
        .unwrap()
        .into_iter()
        .find(|r| r.id == run_id)
        .unwrap();
    assert_eq!(run.status, "done");

    // The same sampling again, as a new run: every answer comes from the cache, none from the model.
    let (tokens_before, _) = predicted(&url);
    let (code2, s2) = goodhart(&sample_args, &db);
    assert_eq!(code2, code, "{s2}");
    assert_ne!(s2["run_id"], s["run_id"]);
    assert_eq!(
        predicted(&url).0,
        tokens_before,
        "the repeated sample run reached the model"
    );
    assert_eq!(
        s2["framings"], s["framings"],
        "cached answers grade the same"
    );

    // --- eval: goals and exfil_offer, one epoch, the same server as model and judge.
    let evals = [EvalName::Goals, EvalName::ExfilOffer];
    let planned = goodhart_evals::plan(&evals, 1, &[]).len() as u64;
    let eval_args = [
        "eval",
        "--model",
        MODEL,
        "--base-url",
        &url,
        "--judge",
        MODEL,
        "--judge-base-url",
        &url,
        "--evals",
        "goals,exfil_offer",
        "--epochs",
        "1",
        "--max-tokens",
        "96",
        "--max-turns",
        "2",
        "--parallel",
        "1",
        "--concurrency",
        "1",
    ];
    let (code, e) = goodhart(&eval_args, &db);
    assert!(code == 0 || code == 1, "eval exit {code}: {e}");
    for key in ["run_id", "model", "judge", "status", "evals", "mgs"] {
        assert!(e.get(key).is_some(), "eval summary lacks `{key}`: {e}");
    }
    assert_eq!(e["status"], "done");
    let summaries = e["evals"].as_array().unwrap();
    assert_eq!(summaries.len(), 2, "{e}");
    eprintln!(
        "eval summaries: {}",
        serde_json::to_string(&e["evals"]).unwrap()
    );
    let mut accounted = 0;
    let mut errors_total = 0;
    for v in summaries {
        let counted = v["counted"].as_u64().unwrap();
        let labelled = ["aligned", "overt", "covert", "attempted_hack"]
            .iter()
            .map(|k| v[k].as_u64().unwrap())
            .sum::<u64>();
        assert_eq!(labelled, counted, "{v}");
        let excluded: u64 = v["excluded"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(reason, n)| {
                assert!(!reason.is_empty(), "an exclusion without a reason: {v}");
                n.as_u64().unwrap()
            })
            .sum();
        let errors = v["errors"].as_u64().unwrap();
        accounted += counted + excluded + errors;
        errors_total += errors;
    }
    assert_eq!(
        accounted, planned,
        "counted + excluded + errors = requested\n{e}"
    );
    assert_eq!(
        code == 1,
        errors_total > 0,
        "exit code {code} vs {errors_total} errors"
    );
    let eval_run = e["run_id"].as_str().unwrap();
    let eval_store = EvalStore::open(&db).unwrap();
    assert_eq!(eval_store.run(eval_run).unwrap().status, "done");
    let records = eval_store.records(eval_run).unwrap();
    assert_eq!(records.len() as u64, planned, "stored eval rows");
    for r in &records {
        match &r.scored.outcome {
            Outcome::Error { message } => assert!(!message.is_empty(), "{}", r.sample_id),
            Outcome::Excluded { reason } => assert!(!reason.is_empty(), "{}", r.sample_id),
            _ => {}
        }
    }

    // Again as a new run: the model's answers and the judge's verdicts come from the cache.
    let (tokens_before, _) = predicted(&url);
    let (code2, e2) = goodhart(&eval_args, &db);
    assert_eq!(code2, code, "{e2}");
    assert_ne!(e2["run_id"], e["run_id"]);
    // Unparseable judge replies are errors too, but their replies are cached like any other.
    assert_eq!(
        predicted(&url).0,
        tokens_before,
        "the repeated eval run reached the model"
    );
    assert_eq!(e2["evals"], e["evals"], "cached answers score the same");

    let (tokens, seconds) = predicted(&url);
    let (tokens, seconds) = (tokens - tokens_at_start, seconds - seconds_at_start);
    eprintln!(
        "real model: {tokens} tokens predicted in {seconds:.1} s of generation ({:.0} tokens/s)",
        tokens / seconds.max(1e-9)
    );
}
