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
    /// `bwrap` is required for isolation and is not installed.
    #[error("bubblewrap (`bwrap`) not found on PATH; install it (apt-get install bubblewrap)")]
    NoBubblewrap,
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
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the path.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl SandboxError {
    /// Wraps an I/O error with the action and path it happened on.
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        SandboxError::Io {
            what: what.into(),
            source,
        }
    }
}
