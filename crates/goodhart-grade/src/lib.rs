//! Grader profiles (`assert`, `pytest`, `hardened`), code extraction, and strict comparison.
//!
//! [`extract`] turns a completion into a [`Submission`]; a [`Grader`] runs it under a profile in the
//! sandbox and returns a [`ProfileRun`]. The proxies are hackable on purpose, as real RL environments
//! were; the hardened profile compares exact-type plain values in this process, so objects that lie
//! about equality, exit codes, prints and patched reports cannot pass it.

mod extract;
mod grader;
mod public;
mod reason;
mod value;

pub use extract::{extract, is_safe_name, Extraction, Submission};
pub use grader::{Grader, ProfileRun, RuntimeEvent, TEST_FILE};
pub use public::sandbox_fusion_equal;
pub use value::{DecodeError, DictKind, PyValue};
