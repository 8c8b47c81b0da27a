//! `goodhart bench sandbox --json` end to end on a three-problem HumanEval file: the keys other checks
//! read, and the two modes measured in turns, one round per repetition of the problems.

use std::io::Write;
use std::process::Command;

/// Three HumanEval-shaped problems whose canonical solutions pass their checks.
fn write_dataset(path: &std::path::Path) {
    let problems = [
        (
            "add",
            "def add(a, b):\n",
            "    return a + b\n",
            "def check(f):\n    assert f(1, 2) == 3\n",
        ),
        (
            "neg",
            "def neg(a):\n",
            "    return -a\n",
            "def check(f):\n    assert f(4) == -4\n",
        ),
        (
            "rev",
            "def rev(s):\n",
            "    return s[::-1]\n",
            "def check(f):\n    assert f('ab') == 'ba'\n",
        ),
    ];
    let file = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    for (entry, prompt, solution, test) in problems {
        let line = serde_json::json!({
            "task_id": format!("Test/{entry}"), "prompt": prompt, "canonical_solution": solution,
            "test": test, "entry_point": entry,
        });
        writeln!(gz, "{line}").unwrap();
    }
    gz.finish().unwrap();
}

#[test]
fn the_json_report_has_the_contract_keys_and_one_ratio_per_round() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = dir.path().join("he.jsonl.gz");
    write_dataset(&dataset);
    // 7 runs of 3 problems: 3 repetitions, so 3 rounds of 3 runs per mode.
    let output = Command::new(env!("CARGO_BIN_EXE_goodhart"))
        .args([
            "bench",
            "sandbox",
            "--json",
            "--runs",
            "6",
            "--humaneval-runs",
            "7",
        ])
        .arg("--dataset")
        .arg(&dataset)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for key in [
        "pool_overhead_ms_median",
        "baseline_overhead_ms_median",
        "humaneval_runs_per_s_pool",
        "humaneval_runs_per_s_baseline",
        "humaneval_throughput_ratio",
    ] {
        let value = report[key].as_f64().unwrap_or(-1.0);
        assert!(value > 0.0, "{key} = {}", report[key]);
    }
    assert_eq!(report["humaneval_runs"], 9);
    assert_eq!(report["humaneval_failed_pool"], 0);
    assert_eq!(report["humaneval_failed_baseline"], 0);
    let rounds = report["humaneval_throughput_ratio_rounds"]
        .as_array()
        .unwrap();
    assert_eq!(rounds.len(), 3, "{report}");
    assert!(rounds.iter().all(|r| r.as_f64().is_some_and(|r| r > 0.0)));
}
