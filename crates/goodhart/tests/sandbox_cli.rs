//! `goodhart sandbox run` as a user meets it: piped stdin reaches the program, the limits are stated,
//! out-of-range flags are refused by name, a data directory reached through a link under /tmp works, and
//! a first use without network says what to do.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn goodhart(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_goodhart"));
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A Python file in a fresh temp dir (kept alive by the returned guard).
fn script(source: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prog.py");
    std::fs::write(&path, source).unwrap();
    (dir, path)
}

/// The data directory the other tests use (it holds the shared venv).
fn real_home() -> PathBuf {
    let home = std::env::var_os("GOODHART_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".local/share/goodhart")
        });
    home.canonicalize().unwrap()
}

#[test]
fn piped_stdin_reaches_the_program() {
    let (_dir, path) = script("import sys\nprint(sys.stdin.read().upper(), end='')\n");
    let out = goodhart(
        &["sandbox", "run", path.to_str().unwrap()],
        b"hello\nworld\n",
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "HELLO\nWORLD\n");
}

#[test]
fn the_limits_are_stated_in_help_and_in_every_outcome() {
    let help = goodhart(&["sandbox", "run", "--help"], b"", &[]);
    let help = text(&help.stdout);
    for words in [
        "10 s of CPU",
        "wall-clock cap 45 s",
        "512 MB",
        "4 × --timeout + 5 s",
    ] {
        assert!(help.contains(words), "`{words}` missing from:\n{help}");
    }
    let (_dir, path) = script("print('hi')\n");
    let out = goodhart(&["sandbox", "run", path.to_str().unwrap()], b"", &[]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("limits: 10 s of CPU, 45 s wall-clock cap, 512 MB"),
        "{stderr}"
    );
    let out = goodhart(
        &[
            "sandbox",
            "run",
            "--json",
            "--timeout",
            "2",
            path.to_str().unwrap(),
        ],
        b"",
        &[],
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["limits"]["cpu_seconds"], 2.0);
    assert_eq!(value["limits"]["wall_seconds"], 13.0);
    assert_eq!(value["limits"]["memory_mb"], 512);
    assert_eq!(value["status"], "ok");
}

#[test]
fn out_of_range_limits_are_refused_by_flag_and_range() {
    let (_dir, path) = script("print('hi')\n");
    let file = path.to_str().unwrap();
    for (args, words) in [
        (vec!["--memory", "0"], ["--memory 0", "from 32 to 1048576"]),
        (vec!["--timeout", "1e9"], ["--timeout", "at most 3600"]),
        (vec!["--timeout", "0"], ["--timeout", "more than 0"]),
        (
            vec!["--timeout", "2", "--wall", "1"],
            ["--wall 1", "at least --timeout"],
        ),
    ] {
        let mut all = vec!["sandbox", "run"];
        all.extend(&args);
        all.push(file);
        let out = goodhart(&all, b"", &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        for w in words {
            assert!(stderr.contains(w), "{args:?}: `{w}` missing from {stderr}");
        }
        assert!(
            !stderr.contains("sandbox error") && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
}

#[test]
fn a_data_directory_reached_through_a_link_under_tmp_works() {
    let link = std::env::temp_dir().join(format!("goodhart-home-link-{}", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(real_home(), &link).unwrap();
    let (_dir, path) = script("print('through the link')\n");
    let out = goodhart(
        &["sandbox", "run", path.to_str().unwrap()],
        b"",
        &[("GOODHART_HOME", link.to_str().unwrap())],
    );
    let _ = std::fs::remove_file(&link);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "through the link\n");

    // A home that really is under /tmp is refused with the true reason, not a launcher's.
    let inside = tempfile::tempdir_in("/tmp").unwrap();
    let out = goodhart(
        &["sandbox", "run", path.to_str().unwrap()],
        b"",
        &[("GOODHART_HOME", inside.path().to_str().unwrap())],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is under /tmp"), "{stderr}");
    assert!(!stderr.contains("bubblewrap"), "{stderr}");
}

/// Removes a directory when dropped.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_first_use_without_network_says_what_to_do_and_goodhart_python_works_offline() {
    // Outside /tmp and /work (each run hides them), beside the shared home.
    let home = real_home()
        .parent()
        .unwrap()
        .join(format!("goodhart-offline-test-{}", std::process::id()));
    let _cleanup = Cleanup(home.clone());
    let (_dir, path) = script("import pytest\nprint(pytest.__version__)\n");
    let no_index = ("PIP_NO_INDEX", "1");
    let out = goodhart(
        &["sandbox", "run", path.to_str().unwrap()],
        b"",
        &[("GOODHART_HOME", home.to_str().unwrap()), no_index],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let before = stderr
        .find("needs network access")
        .unwrap_or_else(|| panic!("nothing said about the network: {stderr}"));
    let failed = stderr.find("pip install pytest==9.2.0 failed").unwrap_or(0);
    assert!(
        before < failed,
        "the network is mentioned before trying: {stderr}"
    );
    assert!(stderr.matches("GOODHART_PYTHON").count() >= 2, "{stderr}");

    let shared_python = real_home().join("venv/bin/python");
    assert!(Path::new(&shared_python).exists());
    let out = goodhart(
        &["sandbox", "run", path.to_str().unwrap()],
        b"",
        &[
            ("GOODHART_HOME", home.to_str().unwrap()),
            ("GOODHART_PYTHON", shared_python.to_str().unwrap()),
            no_index,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "9.2.0\n");
}
