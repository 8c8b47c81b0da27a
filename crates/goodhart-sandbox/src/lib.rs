//! Isolated, limited and fast execution of hostile Python.
//!
//! The public surface is [`Sandbox::run`]: hand it a [`Program`], get an [`Outcome`] that says exactly why
//! the run ended. Everything else (the warm fork-server pool, namespaces, cgroups, rlimits, interpreter
//! provisioning) is an implementation detail that callers never have to think about.
//!
//! Each worker is a Python fork server inside bubblewrap (empty network, no host environment, only `/usr`
//! and the interpreter visible); where bubblewrap is not installed, the built-in [`Launcher`] builds the
//! same sandbox from bubblewrap's command line with raw system calls. Each run is forked from the pristine server into new mount, pid, IPC and
//! UTS namespaces with a private tmpfs work directory and `/tmp`, a fresh `/proc`, no capabilities and
//! rlimits; per-worker cgroups bound memory and process count. When the run's pid namespace ends the
//! kernel kills whatever it left behind, so nothing outlives a run.

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
