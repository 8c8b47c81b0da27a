//! Where the interpreter lives, how many workers to keep, and how to run them.

use crate::provision;
use crate::{Limits, SandboxError};
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
}

impl SandboxConfig {
    /// Finds a real Python, makes the private venv with pytest on first use, and picks defaults.
    pub fn discover() -> Result<SandboxConfig, SandboxError> {
        let data_dir = provision::data_dir()?;
        let base = provision::find_python()?;
        let venv = provision::ensure_venv(&base, &data_dir)?;
        Ok(SandboxConfig {
            python: venv.python,
            python_dirs: vec![venv.base_prefix, venv.dir],
            data_dir,
            pool_size: std::thread::available_parallelism().map_or(2, |n| n.get()),
            limits: Limits::default(),
            mode: Mode::Pool,
        })
    }
}
