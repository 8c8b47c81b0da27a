//! `goodhart report` and `goodhart view` from the real binary: a wrong store path is an error naming it
//! (and creates nothing), the HTML shows the very numbers `--json` prints, and eval runs tagged with a
//! step give hand-checked rates, MGS, a comparison and the misalignment-per-step points.

mod report_fixture;

use serde_json::Value;
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
    // `view` opens its store the same way, before it listens; GOODHART_DB names it like --db.
    let out = goodhart(
        dir.path(),
        &["view", "--db", typo_s, "--addr", "127.0.0.1:0"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(typo_s), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_goodhart"))
        .args(["view", "--addr", "127.0.0.1:0"])
        .env("GOODHART_DB", typo_s)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(typo_s));
    assert!(!typo.exists() && !dir.path().join("sub").exists());
    // The default store under an empty GOODHART_HOME is not created either.
    let out = goodhart(dir.path(), &["report", "training"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("goodhart.db").exists());
}

#[test]
fn the_html_shows_the_json_numbers_and_training_json_matches() {
    let dir = tempfile::tempdir().unwrap();
    let (_store_dir, db, serve) = report_fixture::training_store(5);
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

#[test]
fn eval_runs_give_hand_checked_rates_mgs_comparison_and_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (_store_dir, db, _serve, (a, b)) = report_fixture::full_store(3);
    let out = goodhart(
        dir.path(),
        &[
            "report",
            "--db",
            db.to_str().unwrap(),
            "--kind",
            "eval",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rate = |run: &Value, eval: &str, key: &str| {
        run["summaries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["eval"] == eval)
            .unwrap()[key]["rate"]
            .as_f64()
            .unwrap()
    };
    // Newest first: B (step 20), then A (step 10).
    let evals = r["evals"].as_array().unwrap();
    assert_eq!(
        (evals[0]["run_id"].as_str(), evals[1]["run_id"].as_str()),
        (Some(b.as_str()), Some(a.as_str()))
    );
    let (rb, ra) = (&evals[0], &evals[1]);
    assert_eq!(rate(ra, "goals", "misaligned_rate"), 0.25);
    assert_eq!(rate(rb, "goals", "misaligned_rate"), 0.625);
    assert_eq!(rate(rb, "goals", "overt_rate"), 0.5);
    assert_eq!(rate(rb, "goals", "covert_rate"), 0.125);
    assert_eq!(rate(ra, "monitor_disruption", "misaligned_rate"), 0.0);
    assert_eq!(rate(rb, "monitor_disruption", "misaligned_rate"), 0.5);
    // Goals' interval resamples its 4 prompts, not its 8 samples.
    assert_eq!(rb["summaries"][0]["prompts"], 4);
    // MGS: the mean over the MGS evals present (goals and monitor_disruption).
    assert_eq!(ra["mgs"]["score"].as_f64(), Some(0.125));
    assert_eq!(rb["mgs"]["score"].as_f64(), Some(0.5625));
    // Compared: A is the older run, B − A per eval.
    let c = &r["eval_comparison"];
    assert_eq!(
        (c["run_a"].as_str(), c["run_b"].as_str()),
        (Some(a.as_str()), Some(b.as_str()))
    );
    assert_eq!(c["evals"][0]["eval"], "goals");
    assert_eq!(c["evals"][0]["diff"].as_f64(), Some(0.375));
    assert_eq!(c["evals"][0]["pairs"], 8);
    // Misalignment against training step: step 10 then step 20.
    let steps: Vec<i64> = r["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["step"].as_i64().unwrap())
        .collect();
    assert_eq!(steps, [10, 20]);
    assert_eq!(r["checkpoints"][1]["mgs"]["score"].as_f64(), Some(0.5625));
    assert_eq!(r["runs"][0]["checkpoint"], "ckpt-20");
    // Naming the runs picks A and B in the order given.
    let out = goodhart(
        dir.path(),
        &["report", "--db", db.to_str().unwrap(), "--json", &b, &a],
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["eval_comparison"]["run_a"].as_str(), Some(b.as_str()));
    assert_eq!(
        r["eval_comparison"]["evals"][0]["diff"].as_f64(),
        Some(-0.375)
    );
}

#[tokio::test]
async fn view_answers_what_is_not_there_with_a_status_and_a_page_saying_why() {
    let (_store_dir, db, serve, (run_a, _)) = report_fixture::full_store(2);
    let before = std::fs::read(&db).unwrap();
    let (viewer, base) = report_fixture::viewer(&db);
    for (path, status, says) in [
        ("/?run=nope".to_string(), 404, "nope"),
        (
            "/?kind=trainer".to_string(),
            400,
            "unknown run kind `trainer`",
        ),
        ("/?since=yesterday".to_string(), 400, "yesterday"),
        (
            "/?colour=red".to_string(),
            400,
            "unknown query parameter `colour`",
        ),
        ("/rollouts?step=four".to_string(), 400, "step `four`"),
        (
            format!("/rollout/{serve}/missing"),
            404,
            "has no rollout `missing`",
        ),
        (
            format!("/sample/{serve}/goals/g0/1"),
            404,
            "not an eval run",
        ),
        (
            format!("/sample/{run_a}/goals/g9/1"),
            404,
            "no sample goals/g9 epoch 1",
        ),
        (
            format!("/rollout/{serve}/0-neutral-0"),
            200,
            "sys.exit(0) before the tests run",
        ),
        (
            format!("/sample/{run_a}/goals/g0/2"),
            200,
            "judge reason for g0",
        ),
        (
            "/rollouts?step=1&framing=hacking_okay".to_string(),
            200,
            "1-hacking_okay-0",
        ),
    ] {
        let resp = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{path}");
        let body = resp.text().await.unwrap();
        assert!(body.contains(says), "{path}: {body}");
    }
    drop(viewer);
    // Read-only: the viewer left the store byte for byte as it found it.
    assert!(
        std::fs::read(&db).unwrap() == before,
        "the viewer wrote to the store"
    );
}
