//! Isolated, limited and fast execution of hostile Python.
//!
//! The public surface is [`Sandbox::run`]: hand it a [`Program`], get an [`Outcome`] that says exactly why
//! the run ended. Everything else (the warm fork-server pool, namespaces, cgroups, rlimits, interpreter
//! provisioning) is an implementation detail that callers never have to think about.
//!
//! Each worker is a Python fork server inside bubblewrap (empty network, no host environment, only `/usr`
//! and the interpreter visible, its own root and `/dev` read-only); where bubblewrap is not installed, the
//! built-in [`Launcher`] builds the same sandbox from bubblewrap's command line with raw system calls.
//! Each run is one fork of the pristine server that joins new mount, pid, IPC and UTS namespaces made
//! ahead of time by a small factory process, with a private tmpfs work directory, `/tmp` and `/dev/shm`, a
//! fresh `/proc`, its own process group, no capabilities and rlimits; per-worker cgroups bound memory and
//! process count. The server supervises from outside the run and answers only once the run's pid
//! namespace has ended, so nothing outlives a run. Workers come in two warm images: with pytest (for
//! programs that mention pytest or unittest) and standard library only (cheaper to fork); a main.py the
//! server has seen before is compiled once for the runs after it (harness.py explains both). The pytest
//! image also starts `pytest.main` ahead of time, for runs that leave out [`PYTEST_QUIET_PLUGINS`].

mod api;
mod cgroup;
mod config;
mod error;
mod jail;
mod outcome;
mod protocol;
mod provision;
mod sandbox;
mod worker;

pub use api::*;
pub use config::{Mode, SandboxConfig};
pub use error::SandboxError;
pub use jail::Launcher;
pub use sandbox::Sandbox;

/// pytest plugins that act only on options a grader never passes, or only write caches, reports or crash
/// dumps, so leaving them out changes no outcome. The pytest image prepares `pytest.main` (its plugin
/// manager and fixture scan, a third of a short session) for exactly this block list: a run whose
/// main.py calls `_goodhart_prepared_pytest.main(args)` with `-p no:NAME` for each of these, and no other
/// `-p no:`, starts from there; any other call is plain `pytest.main`.
pub const PYTEST_QUIET_PLUGINS: [&str; 8] = [
    "cacheprovider",
    "pastebin",
    "junitxml",
    "doctest",
    "faulthandler",
    "stepwise",
    "setuponly",
    "setupplan",
];
