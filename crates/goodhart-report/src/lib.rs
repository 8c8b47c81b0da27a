//! Reports over stored Goodhart runs, and the statistics every command uses to put an interval on a
//! rate so that differences between models, framings and graders can be judged honestly.
//!
//! Data flows one way: the store is read (read-only), numbers are computed once ([`report::build`]),
//! and both the JSON and the self-contained HTML ([`html::render`]) are drawn from them.

pub mod chart;
pub mod checkpoints;
pub mod error;
pub mod evals;
pub mod html;
pub mod rates;
pub mod report;
pub mod select;
pub mod training;

/// The interval statistics live in `goodhart-stats` (the evals use them too); re-exported so reports and
/// their readers keep one path to them.
pub use goodhart_stats::{cluster, stats};

pub use error::ReportError;
pub use report::{build, Report};
pub use select::Selection;
