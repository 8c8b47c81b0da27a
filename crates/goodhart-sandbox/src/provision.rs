//! Finding a real CPython and making Goodhart's private venv (with pytest) on first use.

use crate::SandboxError;
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Marker written last into a finished venv; its absence means "not provisioned yet".
/// The pytest every grader runs: the pytest profile's hackability depends on pytest's internals (the
/// report and hook APIs the exploits patch), so results are only comparable under one version.
pub(crate) const PYTEST: &str = "pytest==9.2.0";
const READY_MARKER: &str = ".goodhart-ready";
/// Asks an interpreter where it really lives (resolves pyenv shims) and which version it is.
const PROBE: &str =
    "import sys; print(sys.executable); print(sys.base_prefix); print(sys.version_info >= (3, 9))";

/// A provisioned venv and the install it is based on.
#[derive(Debug, Clone)]
pub(crate) struct Venv {
    pub(crate) dir: PathBuf,
    pub(crate) python: PathBuf,
    pub(crate) base_prefix: PathBuf,
}

/// `$GOODHART_HOME`, else `~/.local/share/goodhart`, made if missing and resolved to its real path.
///
/// The real path matters: the sandbox mounts the venv read-only at its path, and each run mounts private
/// directories over `/tmp` and `/work`, so a link under `/tmp` to a home elsewhere would hide the venv
/// (the run's own `/tmp` has no such link); a home that really lives under `/tmp` is refused by name
/// (see `reject_private_mounts`).
pub(crate) fn data_dir() -> Result<PathBuf, SandboxError> {
    let dir = configured_data_dir()?;
    fs::create_dir_all(&dir).map_err(|e| {
        SandboxError::io(format!("creating the data directory {}", dir.display()), e)
    })?;
    dir.canonicalize()
        .map_err(|e| SandboxError::io(format!("resolving the data directory {}", dir.display()), e))
}

/// `$GOODHART_HOME`, else `~/.local/share/goodhart`, as configured.
fn configured_data_dir() -> Result<PathBuf, SandboxError> {
    if let Some(home) = std::env::var_os("GOODHART_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            SandboxError::io(
                "finding the data directory",
                std::io::Error::other("neither GOODHART_HOME nor HOME is set"),
            )
        })?;
    Ok(PathBuf::from(home).join(".local/share/goodhart"))
}

/// A real interpreter: `$GOODHART_PYTHON`, else `python3` on PATH resolved through shims, else known paths.
pub(crate) fn find_python() -> Result<PathBuf, SandboxError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("GOODHART_PYTHON").filter(|p| !p.is_empty()) {
        candidates.push(PathBuf::from(p));
    } else {
        candidates.push(PathBuf::from("python3"));
        if let Some(home) = std::env::var_os("HOME") {
            let versions = PathBuf::from(home).join(".pyenv/versions");
            if let Ok(entries) = fs::read_dir(&versions) {
                let mut found: Vec<PathBuf> = entries
                    .flatten()
                    .map(|e| e.path().join("bin/python3"))
                    .collect();
                found.sort();
                candidates.extend(found.into_iter().rev());
            }
        }
        candidates.extend(["/usr/local/bin/python3", "/usr/bin/python3"].map(PathBuf::from));
    }
    for candidate in &candidates {
        if let Some((exe, _)) = probe(candidate) {
            return Ok(exe);
        }
    }
    let tried = candidates
        .iter()
        .map(|c| c.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(SandboxError::NoPython { tried })
}

/// Whether `python` (an interpreter named by `GOODHART_PYTHON`) already has the pinned pytest: then it is
/// used as it is and nothing is installed, which is how Goodhart runs without network access.
fn has_pinned_pytest(python: &Path) -> Option<PathBuf> {
    let version = PYTEST.trim_start_matches("pytest==");
    let out = Command::new(python)
        .args([
            "-c",
            "import sys, pytest; print(sys.prefix); print(pytest.__version__)",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines();
    let prefix = PathBuf::from(lines.next()?);
    (out.status.success() && lines.next()? == version && prefix.is_absolute()).then_some(prefix)
}

/// What to do when `pip install pytest` cannot reach an index.
pub(crate) const OFFLINE_HINT: &str =
    "installing it needs network access to PyPI (or a pip index set \
     in pip's configuration); offline, set GOODHART_PYTHON to an interpreter that already has \
     pytest 9.2.0, such as a venv made where there is network (`python3 -m venv DIR && \
     DIR/bin/pip install pytest==9.2.0`) or from a wheel (`DIR/bin/pip install --no-index \
     --find-links WHEELS pytest==9.2.0`), and Goodhart uses it as it is";

/// Runs the probe; `Some((real executable, base prefix))` for a working Python ≥ 3.9.
fn probe(python: &Path) -> Option<(PathBuf, PathBuf)> {
    let out = Command::new(python)
        .args(["-c", PROBE])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines();
    let exe = PathBuf::from(lines.next()?);
    let prefix = PathBuf::from(lines.next()?);
    (lines.next()? == "True" && exe.is_absolute()).then_some((exe, prefix))
}

/// Returns the venv under `data_dir`, making it (once, under a file lock) when missing.
pub(crate) fn ensure_venv(base: &Path, data_dir: &Path) -> Result<Venv, SandboxError> {
    if std::env::var_os("GOODHART_PYTHON").is_some_and(|p| !p.is_empty()) {
        if let (Some(prefix), Some((_, base_prefix))) = (has_pinned_pytest(base), probe(base)) {
            return Ok(Venv {
                dir: prefix,
                python: base.to_path_buf(),
                base_prefix,
            });
        }
    }
    let dir = data_dir.join("venv");
    if let Some(venv) = ready(&dir) {
        return Ok(venv);
    }
    fs::create_dir_all(data_dir)
        .map_err(|e| SandboxError::io(format!("creating {}", data_dir.display()), e))?;
    let lock_path = data_dir.join("venv.lock");
    let lock = File::create(&lock_path)
        .map_err(|e| SandboxError::io(format!("creating {}", lock_path.display()), e))?;
    // SAFETY: flock on a descriptor we own; blocks until other provisioners are done.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(SandboxError::io(
            format!("locking {}", lock_path.display()),
            std::io::Error::last_os_error(),
        ));
    }
    if let Some(venv) = ready(&dir) {
        return Ok(venv);
    }
    eprintln!(
        "goodhart: making a Python venv with {PYTEST} in {} (first use; takes a few seconds; {OFFLINE_HINT})",
        dir.display()
    );
    let staging = data_dir.join(format!("venv.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let fail = |message: String| SandboxError::Provision {
        path: dir.clone(),
        message,
    };
    run_tool(Command::new(base).arg("-m").arg("venv").arg(&staging)).map_err(&fail)?;
    let staged_python = staging.join("bin/python");
    run_tool(Command::new(&staged_python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        PYTEST,
    ]))
    .map_err(|m| {
        let _ = fs::remove_dir_all(&staging);
        fail(format!("pip install {PYTEST} failed ({OFFLINE_HINT}): {m}"))
    })?;
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&staging, &dir)
        .map_err(|e| SandboxError::io(format!("moving the new venv to {}", dir.display()), e))?;
    fs::write(dir.join(READY_MARKER), format!("{PYTEST}\n"))
        .map_err(|e| SandboxError::io(format!("marking {} ready", dir.display()), e))?;
    ready(&dir).ok_or_else(|| fail("the new venv does not start".to_string()))
}

/// The venv at `dir` when it is finished and its interpreter starts.
fn ready(dir: &Path) -> Option<Venv> {
    // A venv made for another pytest (or before the pin) is made again.
    let marker = fs::read_to_string(dir.join(READY_MARKER)).ok()?;
    if marker.trim() != PYTEST {
        return None;
    }
    let python = dir.join("bin/python");
    let (_, base_prefix) = probe(&python)?;
    Some(Venv {
        dir: dir.to_path_buf(),
        python,
        base_prefix,
    })
}

/// Runs a provisioning command; on failure returns the tail of its output.
fn run_tool(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    let tail: String = text
        .lines()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    Err(format!("{cmd:?} exited with {}: {tail}", out.status))
}
