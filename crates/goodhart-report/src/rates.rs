//! A counted rate with its 95% Wilson interval: the one shape every report number takes, in text, JSON
//! and HTML alike, so a reader never sees a rate without its uncertainty.

use crate::stats::{newcombe_difference, wilson95, Estimate, Z95};
use serde::Serialize;

/// `count` of `n` with the 95% Wilson interval on `count / n`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub count: u64,
    pub n: u64,
    pub rate: f64,
    pub low: f64,
    pub high: f64,
}

impl Rate {
    /// The rate of `count` in `n`; with no trials the estimate is 0 and the interval the whole of [0, 1]
    /// (nothing is known), never a division by zero.
    pub fn of(count: usize, n: usize) -> Rate {
        let (count, n) = (count as u64, n as u64);
        let e = wilson95(count, n).unwrap_or(Estimate {
            point: 0.0,
            low: 0.0,
            high: 1.0,
        });
        Rate {
            count,
            n,
            rate: e.point,
            low: e.low,
            high: e.high,
        }
    }

    /// The rate as an estimate, for charts.
    pub fn estimate(&self) -> Estimate {
        Estimate {
            point: self.rate,
            low: self.low,
            high: self.high,
        }
    }

    /// `12.5% [3.5, 36.0]`: percent with the interval's bounds in percent.
    pub fn text(&self) -> String {
        if self.n == 0 {
            return "-".to_string();
        }
        format!(
            "{:.1}% [{:.1}, {:.1}]",
            100.0 * self.rate,
            100.0 * self.low,
            100.0 * self.high
        )
    }
}

/// A difference of two rates (`a - b`) with Newcombe's 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Difference {
    pub diff: f64,
    pub low: f64,
    pub high: f64,
}

impl Difference {
    /// `a - b`; `None` when either side has no trials.
    pub fn between(a: &Rate, b: &Rate) -> Option<Difference> {
        let e = newcombe_difference((a.count, a.n), (b.count, b.n), Z95)?;
        Some(Difference {
            diff: e.point,
            low: e.low,
            high: e.high,
        })
    }

    /// `+12.5 pp [3.5, 36.0]`, in percentage points.
    pub fn text(&self) -> String {
        format!(
            "{:+.1} pp [{:+.1}, {:+.1}]",
            100.0 * self.diff,
            100.0 * self.low,
            100.0 * self.high
        )
    }
}
