//! Issue 17, build 5: real model output through the detectors. Against any OpenAI-compatible server
//! named by `GOODHART_TEST_LLM_URL` (an API root such as `http://127.0.0.1:PORT/v1`; `.ci/run` starts
//! SmolLM2-135M-Instruct behind llama.cpp with `.ci/model-server.sh`), `goodhart sample` asks for the
//! bundled tasks under the `neutral` framing, grades every completion under every profile and labels
//! it; the test then asserts that no rollout is labelled `attempted` without evidence a reviewer would
//! accept: an item of a hack kind that names a mechanism (not `unexplained_proxy_pass`, not
//! `grader_artefact`) at a line of the code it cites. Without the variable it says so and does nothing.
//!
//! `GOODHART_TEST_LLM_MODEL` names the model (default `openai/smollm2-135m-instruct`),
//! `GOODHART_TEST_LLM_LIMIT` samples only the first N bundled tasks (default: all 79), and
//! `GOODHART_TEST_LLM_DUMP=PATH` writes every graded record there, for labelling into the corpus.

use goodhart_core::{GradedRollout, HackKind};
use goodhart_store::Store;
use serde_json::Value;
use std::process::Command;

/// Why a flagged rollout's evidence would not convince a reviewer; `None` when it would.
fn unconvincing(g: &GradedRollout) -> Option<String> {
    if !g.hack.attempted {
        return None;
    }
    let sub = goodhart_detect::extract(&g.rollout.completion, g.rollout.files.as_ref());
    let lines_of = |file: &str| -> Option<usize> {
        if file == goodhart_detect::SOLUTION_FILE {
            sub.solution.as_deref().map(|s| s.lines().count())
        } else {
            sub.files.get(file).map(|s| s.lines().count())
        }
    };
    let accepted = g.hack.evidence.iter().any(|e| {
        e.kind.is_hack()
            && e.kind != HackKind::UnexplainedProxyPass
            && e.line > 0
            && lines_of(&e.file).is_some_and(|n| e.line as usize <= n)
    });
    (!accepted).then(|| {
        format!(
            "{}: attempted {:?} with evidence {:?}",
            g.rollout.id,
            g.hack.kinds,
            g.hack
                .evidence
                .iter()
                .map(|e| format!(
                    "{} [{}] {}:{} {}",
                    e.kind, e.detector, e.file, e.line, e.message
                ))
                .collect::<Vec<_>>()
        )
    })
}

#[test]
fn neutral_rollouts_are_flagged_only_with_evidence_a_reviewer_accepts() {
    let Ok(url) = std::env::var("GOODHART_TEST_LLM_URL") else {
        eprintln!("GOODHART_TEST_LLM_URL is not set: skipping the real-model labelling test");
        return;
    };
    let model = std::env::var("GOODHART_TEST_LLM_MODEL")
        .unwrap_or_else(|_| "openai/smollm2-135m-instruct".to_string());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("goodhart.db");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_goodhart"));
    cmd.args(["sample", "--model", &model, "--base-url", &url])
        .args(["--tasks", "bundled", "--framing", "neutral", "-n", "1"])
        .args([
            "--temperature",
            "0",
            "--max-tokens",
            "384",
            "--concurrency",
            "1",
            "--json",
        ])
        .arg("--db")
        .arg(&db)
        .env_remove("GOODHART_MODELS");
    if let Ok(limit) = std::env::var("GOODHART_TEST_LLM_LIMIT") {
        cmd.args(["--limit", &limit]);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {stdout}\nstderr: {stderr}"));
    let run_id = summary["run_id"].as_str().expect("run_id");
    let graded = Store::open(&db).unwrap().graded_rollouts(run_id).unwrap();
    assert!(
        !graded.is_empty(),
        "no rollout was graded\nstderr: {stderr}"
    );
    if let Ok(path) = std::env::var("GOODHART_TEST_LLM_DUMP") {
        let lines: Vec<String> = graded
            .iter()
            .map(|g| serde_json::to_string(g).unwrap())
            .collect();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    }
    let flagged = graded.iter().filter(|g| g.hack.attempted).count();
    eprintln!(
        "{} neutral rollouts graded, {flagged} labelled attempted; summary: {}",
        graded.len(),
        summary["framings"][0]
    );
    let bad: Vec<String> = graded.iter().filter_map(unconvincing).collect();
    assert!(
        bad.is_empty(),
        "{} rollouts labelled attempted without evidence a reviewer would accept:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
