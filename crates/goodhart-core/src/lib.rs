//! The shared vocabulary of Goodhart.
//!
//! Every other crate speaks in these types, so that a task loaded from HumanEval, graded in the sandbox,
//! labelled by the detectors and stored in SQLite is the same value all the way through. This crate does no
//! I/O; the string forms of [`Profile`] and [`HackKind`] are a public contract (see `docs/contract.md`).

mod comparator;
pub mod fields;
mod hack;
mod profile;
mod rollout;
mod task;

pub use comparator::{
    Comparator, Mismatch, UnknownComparator, COMPARATOR_NAMES, DEFAULT_FLOAT_TOLERANCE,
};
pub use hack::{Evidence, HackKind, HackReport};
pub use profile::{Profile, UnknownProfile};
pub use rollout::{
    ExceptionInfo, GradedRollout, Reason, Rollout, RolloutError, Verdict, VerdictStatus,
};
pub use task::{Check, IoCase, StdioTests, Task, TestCase};
