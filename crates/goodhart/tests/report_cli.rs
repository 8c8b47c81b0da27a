//! `goodhart report` from the real binary: a wrong store path is an error naming it (and creates
//! nothing), and the HTML shows the very numbers `--json` prints.

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
