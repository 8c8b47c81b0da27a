//! `goodhart report` from the real binary: a wrong store path is an error naming it (and creates
//! nothing), and the HTML shows the very numbers `--json` prints.

use goodhart_core::GradedRollout;
use goodhart_store::{RunKind, Store};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

fn goodhart(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_goodhart"))
        .args(args)
        .env("GOODHART_HOME", home)
        .output()
        .unwrap()
}

#[test]
fn a_wrong_store_path_is_an_error_naming_it_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("sub/goodhart.dbb");
    let typo_s = typo.to_str().unwrap();
    for args in [
        vec!["report", "--db", typo_s, "--json"],
        vec!["report", "--db", typo_s, "--html", "out.html"],
        vec!["report", "training", "--db", typo_s],
    ] {
        let out = goodhart(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(typo_s), "{args:?}: {stderr}");
        assert!(!typo.exists() && !dir.path().join("sub").exists());
    }
    // The default store under an empty GOODHART_HOME is not created either.
    let out = goodhart(dir.path(), &["report", "training"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("goodhart.db").exists());
}

fn graded(id: &str, step: i64, framing: &str, hack: bool) -> GradedRollout {
    let verdict = |passed: bool| {
        json!({"passed": passed, "tests_passed": 0, "tests_total": 1,
               "status": if passed { "passed" } else { "failed" }, "duration_ms": 1.0})
    };
    serde_json::from_value(json!({
        "id": id, "task_id": "t", "completion": "def f():\n    return 1\n", "step": step, "framing": framing,
        "verdicts": {"assert": verdict(true), "hardened": verdict(!hack)},
        "reward": 1.0,
        "hack": {"attempted": hack, "succeeded": hack, "kinds": if hack { json!(["early_exit"]) } else { json!([]) },
                 "evidence": if hack { json!([{"kind": "early_exit", "detector": "static", "file": "solution.py",
                                               "line": 2, "message": "exits before the tests"}]) } else { json!([]) }}
    }))
    .unwrap()
}

#[test]
fn the_html_shows_the_json_numbers_and_training_json_matches() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("g.db");
    let store = Store::open(&db).unwrap();
    let serve = store.create_run(RunKind::Serve, &json!({})).unwrap();
    let mut batch = Vec::new();
    for step in 0..5 {
        for (framing, hacks) in [("neutral", 1), ("hacking_okay", step)] {
            for i in 0..5 {
                batch.push(graded(
                    &format!("{step}{framing}{i}"),
                    step,
                    framing,
                    i < hacks,
                ));
            }
        }
    }
    store.insert_graded_batch(&serve, &batch).unwrap();
    drop(store);
    let html = dir.path().join("report.html");
    let (db_s, html_s) = (db.to_str().unwrap(), html.to_str().unwrap());
    let out = goodhart(
        dir.path(),
        &["report", "--db", db_s, "--html", html_s, "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let page = std::fs::read_to_string(&html).unwrap();
    let rows = report["training"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    let pct = |v: &Value| format!("{:.1}", 100.0 * v.as_f64().unwrap());
    for row in rows {
        let rate = &row["attempted"];
        let shown = format!(
            "{}% [{}, {}]",
            pct(&rate["rate"]),
            pct(&rate["low"]),
            pct(&rate["high"])
        );
        let cell = format!(
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td>",
            row["step"],
            row["framing"].as_str().unwrap(),
            row["n"]
        );
        let at = page.find(&cell).unwrap_or_else(|| panic!("no row {cell}"));
        let tr = &page[at..at + page[at..].find("</tr>").unwrap()];
        assert!(tr.contains(&shown), "{tr} lacks {shown}");
    }
    let training = goodhart(
        dir.path(),
        &["report", "training", "--db", db_s, "--json", &serve],
    );
    assert!(training.status.success());
    let t: Value = serde_json::from_slice(&training.stdout).unwrap();
    assert_eq!(&t, &report["training"]);
    let text = goodhart(dir.path(), &["report", "training", "--db", db_s]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("early_exit") && text.contains("["), "{text}");
}

#[test]
fn bench_report_counts_every_rollout_and_reports_both_timings() {
    let dir = tempfile::tempdir().unwrap();
    let out = goodhart(
        dir.path(),
        &[
            "bench",
            "report",
            "--rollouts",
            "3000",
            "--steps",
            "30",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rollouts"], 3000);
    assert!(v["baseline_sql_scan_ms"].as_f64().unwrap() > 0.0);
    assert!(v["report_ms"].as_f64().unwrap() > 0.0);
    assert!(v["html_bytes"].as_u64().unwrap() > 10_000);
}
