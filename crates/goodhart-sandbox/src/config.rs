//! Where the interpreter lives, how many workers to keep, and how to run them.

use crate::provision;
use crate::{Launcher, Limits, SandboxError};
use std::path::PathBuf;

/// How runs get an interpreter: the warm pool is the product, fresh mode is the honest baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Long-lived fork servers (pytest pre-imported); each run is a fresh fork of a pristine server.
    Pool,
    /// One new bubblewrap + interpreter per run, same isolation and limits (the benchmark baseline).
    Fresh,
}

/// Everything [`crate::Sandbox::new`] needs; [`SandboxConfig::discover`] fills it in for this machine.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The venv's interpreter (it must have pytest); runs as `python -c HARNESS`.
    pub python: PathBuf,
    /// Directories the interpreter needs read-only inside the sandbox (its install prefix, the venv).
    pub python_dirs: Vec<PathBuf>,
    /// Goodhart's data directory (holds the venv).
    pub data_dir: PathBuf,
    /// Number of warm workers (and of runs at once); defaults to the number of cores.
    pub pool_size: usize,
    /// Limits for programs that do not bring their own.
    pub limits: Limits,
    /// Warm pool or a fresh interpreter per run.
    pub mode: Mode,
    /// What builds each worker's namespaces: bwrap, the built-in launcher, or whichever works here.
    pub launcher: Launcher,
    /// Runs at once each get a core of their own (the run and its server stay on it), so forks and
    /// wake-ups stay on one cache; a run then uses one core. `GOODHART_SANDBOX_PIN=0` turns it off.
    pub pin_runs: bool,
}

impl SandboxConfig {
    /// Finds a real Python, makes the private venv with pytest on first use, and picks defaults.
    pub fn discover() -> Result<SandboxConfig, SandboxError> {
        let data_dir = provision::data_dir()?;
        let base = provision::find_python()?;
        reject_private_mounts(&data_dir)?;
        let venv = provision::ensure_venv(&base, &data_dir)?;
        reject_private_mounts(&venv.base_prefix)?;
        Ok(SandboxConfig {
            python: venv.python,
            python_dirs: vec![venv.base_prefix, venv.dir],
            data_dir,
            pool_size: std::thread::available_parallelism().map_or(2, |n| n.get()),
            limits: Limits::default(),
            mode: Mode::Pool,
            launcher: Launcher::from_env()?,
            pin_runs: pin_runs_from_env()?,
        })
    }
}

/// The environment variable that turns core pinning off (`0`) or on (`1`, the default).
pub const PIN_ENV: &str = "GOODHART_SANDBOX_PIN";

/// `GOODHART_SANDBOX_PIN`: unset, `1` or `0`; anything else is refused by name.
fn pin_runs_from_env() -> Result<bool, SandboxError> {
    match std::env::var(PIN_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(true),
        Ok(v) if v == "1" => Ok(true),
        Ok(v) if v == "0" => Ok(false),
        Ok(v) => Err(bad_pin(v)),
        Err(std::env::VarError::NotUnicode(v)) => Err(bad_pin(v.to_string_lossy().into_owned())),
    }
}

fn bad_pin(value: String) -> SandboxError {
    SandboxError::BadSetting {
        name: PIN_ENV,
        value,
        expected: "`1` (each run on a core of its own, the default) or `0`",
    }
}

/// Directories each run mounts privately (see harness.py): nothing the interpreter needs may live there.
const PRIVATE_MOUNTS: [&str; 4] = ["/work", "/tmp", "/dev", "/proc"];

/// Refuses an interpreter or data directory that a run's private mounts would hide, with a clear error
/// instead of a confusing `ModuleNotFoundError` from inside the sandbox.
fn reject_private_mounts(path: &std::path::Path) -> Result<(), SandboxError> {
    let resolved = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    match PRIVATE_MOUNTS.into_iter().find(|m| resolved.starts_with(m)) {
        Some(mount) => Err(SandboxError::HiddenInterpreter {
            path: resolved,
            mount,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dirs_under_private_mounts_are_refused_by_name() {
        let err = reject_private_mounts(std::path::Path::new("/tmp/goodhart-home")).unwrap_err();
        assert!(
            err.to_string().contains("/tmp/goodhart-home is under /tmp"),
            "{err}"
        );
        assert!(reject_private_mounts(std::path::Path::new("/work/x/.goodhart")).is_err());
        assert!(reject_private_mounts(std::path::Path::new("/workspace/goodhart")).is_ok());
        assert!(reject_private_mounts(std::path::Path::new("/var/lib/goodhart")).is_ok());
    }

    #[test]
    fn a_pin_setting_it_does_not_take_is_named_with_what_it_takes() {
        let err = bad_pin("yes".into()).to_string();
        assert!(
            err.starts_with("GOODHART_SANDBOX_PIN=\"yes\" is not a valid setting"),
            "{err}"
        );
        assert!(err.contains("`0`"), "{err}");
    }
}
