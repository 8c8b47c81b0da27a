//! Errors at the binary's edge print each cause once: library errors carry their cause in their own
//! message and do not also return it as `source()`, so `{err:#}` never reads "x: x".

use std::process::Command;

fn goodhart(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_goodhart"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_corrupt_gzip_task_file_names_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.jsonl.gz");
    std::fs::write(&path, b"this is not gzip\n").unwrap();
    let shown = path.to_str().unwrap();
    let (code, stderr) = goodhart(&["export", "--tasks", shown, "--framing", "neutral"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!("error: loading tasks from `{shown}`: {shown}: invalid gzip header")
    );
}

#[test]
fn a_missing_task_file_names_its_cause_once() {
    let (code, stderr) = goodhart(&[
        "export",
        "--tasks",
        "/nonexistent/tasks.jsonl",
        "--framing",
        "neutral",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}
