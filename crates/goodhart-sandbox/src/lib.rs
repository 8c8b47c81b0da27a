//! Isolated, limited and fast execution of hostile Python.
//!
//! The public surface is [`Sandbox::run`]: hand it a [`Program`], get an [`Outcome`] that says exactly why
//! the run ended. Everything else (the warm fork-server pool, namespaces, cgroups, rlimits, interpreter
//! provisioning) is an implementation detail that callers never have to think about.

mod api;

pub use api::*;
