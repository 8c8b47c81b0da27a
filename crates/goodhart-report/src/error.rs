//! What can stop a report, each naming what to fix.

use goodhart_store::StoreError;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Eval(#[from] goodhart_evals::StoreError),
    #[error("--since `{0}` is not a date: write YYYY-MM-DD, optionally followed by THH:MM[:SS]")]
    BadSince(String),
    #[error("unknown run kind `{0}`: use one of audit, grade, sample, eval, serve")]
    BadKind(String),
    #[error("drawing the chart `{chart}` failed: {message}")]
    Chart { chart: String, message: String },
}
