//! The built-in task sources from the real binary, run from a directory that has nothing of the
//! repository in it: `goodhart tasks` lists them, and `audit --tasks humaneval|mbpp` finds them.

use std::process::{Command, Stdio};

fn goodhart(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_goodhart"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn tasks_lists_every_builtin_source_with_its_count() {
    let dir = tempfile::tempdir().unwrap();
    let out = goodhart(dir.path(), &["tasks"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!("tasks_table", String::from_utf8_lossy(&out.stdout));
    let json = goodhart(dir.path(), &["tasks", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let counts: Vec<(String, u64)> = value["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["tasks"].as_u64().unwrap(),
            )
        })
        .collect();
    // The stdin/stdout suite grows file by file (suite-stdio/*.toml); its starter file has three tasks.
    let stdio = counts
        .iter()
        .find(|(n, _)| n == "bundled-stdio")
        .map(|(_, c)| *c);
    assert!(stdio.is_some_and(|c| c >= 3), "{counts:?}");
    let fixed: Vec<_> = counts
        .into_iter()
        .filter(|(n, _)| n != "bundled-stdio")
        .collect();
    assert_eq!(
        fixed,
        [
            ("bundled".into(), 79),
            ("humaneval".into(), 164),
            ("mbpp".into(), 427)
        ]
    );
}

#[test]
fn audit_finds_the_datasets_by_name_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    for (source, first) in [("humaneval", "HumanEval/0"), ("mbpp", "mbpp/")] {
        let out = goodhart(
            dir.path(),
            &[
                "audit",
                "--tasks",
                source,
                "--limit",
                "2",
                "--exploits",
                "always_equal",
                "--json",
                "--db",
                db.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{source}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let text = value.to_string();
        assert!(text.contains(first), "{source}: {text}");
        assert!(
            value["reference_failures"].as_array().unwrap().is_empty(),
            "{text}"
        );
    }
}

#[test]
fn a_closed_stdout_ends_the_listing_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_goodhart"))
        .args(["audit", "--list-exploits"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before the first line, as `| head -0` would
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}
