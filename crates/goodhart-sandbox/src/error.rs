//! Why a sandbox could not be set up (as opposed to why a program ended, which is [`crate::Status`]).

use std::path::PathBuf;

/// Setting up the sandbox failed; every variant names the thing to fix.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// No usable CPython was found, so nothing can run.
    #[error(
        "no Python 3 interpreter found (tried {tried}); install python3 or set GOODHART_PYTHON"
    )]
    NoPython {
        /// The candidates that were tried, comma-separated.
        tried: String,
    },
    /// Neither launcher can isolate runs here: bubblewrap is missing and the built-in one failed.
    #[error(
        "cannot isolate runs: bubblewrap (`bwrap`) is not on PATH and the built-in launcher failed: \
         {builtin}; install bubblewrap (apt-get install bubblewrap) or enable user namespaces"
    )]
    NoBubblewrap {
        /// Why the built-in launcher could not work (the step, the error, what to check).
        builtin: String,
    },
    /// The launcher that was asked for (by `GOODHART_SANDBOX_LAUNCHER` or the config) cannot work here.
    #[error(
        "the `{launcher}` sandbox launcher was asked for (GOODHART_SANDBOX_LAUNCHER or \
         SandboxConfig::launcher) but cannot work here: {reason}"
    )]
    LauncherUnusable {
        /// The launcher's name.
        launcher: &'static str,
        /// What is missing or failed.
        reason: String,
    },
    /// `GOODHART_SANDBOX_LAUNCHER` names no launcher.
    #[error(
        "GOODHART_SANDBOX_LAUNCHER={value:?} is not a launcher; use `bwrap` or `builtin`, or unset it to \
         use bwrap when installed and the built-in launcher otherwise"
    )]
    UnknownLauncher {
        /// The value found.
        value: String,
    },
    /// An environment variable that sets the sandbox up holds a value it does not take.
    #[error("{name}={value:?} is not a valid setting; use {expected}")]
    BadSetting {
        /// The variable.
        name: &'static str,
        /// The value found.
        value: String,
        /// What it takes.
        expected: &'static str,
    },
    /// The interpreter or venv lives where each run mounts its own private directory, so runs could not
    /// see it.
    #[error(
        "{path} is under {mount}, which every sandboxed run replaces with a private directory, so the \
         interpreter would be invisible inside the sandbox; set GOODHART_HOME (or GOODHART_PYTHON) to a \
         path outside /work, /tmp, /dev and /proc"
    )]
    HiddenInterpreter {
        /// The interpreter or venv directory.
        path: PathBuf,
        /// The private mount point it falls under.
        mount: &'static str,
    },
    /// Making the private venv failed; the message carries the tool's own output.
    #[error("could not provision the Python venv at {path}: {message}")]
    Provision {
        /// The venv directory being made.
        path: PathBuf,
        /// What went wrong, with the tail of the failing command's output.
        message: String,
    },
    /// A filesystem or process operation failed while setting up.
    #[error("{what}: {cause}")]
    Io {
        /// What was being done, naming the path.
        what: String,
        /// The underlying error.
        cause: std::io::Error,
    },
}

impl SandboxError {
    /// Wraps an I/O error with the action and path it happened on.
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        SandboxError::Io {
            what: what.into(),
            cause: source,
        }
    }
}
