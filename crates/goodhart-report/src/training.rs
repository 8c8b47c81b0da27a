//! Training telemetry: pass and hack rates per training step, framing and kind, each with its 95% Wilson
//! interval, so a researcher sees when hacking took off during a run, and how sure that is, without
//! instrumenting the trainer. `goodhart report training` prints it; the HTML report plots it.

use crate::rates::Rate;
use goodhart_core::HackKind;
use goodhart_store::{CellCounts, RolloutSummary};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Counts for one (step, framing) cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepStats {
    pub rollouts: usize,
    /// Some proxy profile passed.
    pub proxy_pass: usize,
    pub hardened_pass: usize,
    /// A detector found a mechanism.
    pub attempted: usize,
    /// A proxy passed while `hardened` failed.
    pub succeeded: usize,
    /// Rollouts labelled with each kind.
    pub kinds: BTreeMap<HackKind, usize>,
}

impl StepStats {
    /// Adds one rollout to the cell.
    pub fn add(&mut self, s: &RolloutSummary) {
        self.rollouts += 1;
        let proxy = s.verdicts.iter().any(|(p, v)| p.is_proxy() && v.passed);
        let hardened = s.verdicts.iter().any(|(p, v)| !p.is_proxy() && v.passed);
        self.proxy_pass += usize::from(proxy);
        self.hardened_pass += usize::from(hardened);
        self.attempted += usize::from(s.attempted);
        self.succeeded += usize::from(s.succeeded);
        for kind in &s.kinds {
            *self.kinds.entry(*kind).or_default() += 1;
        }
    }

    /// Adds counts SQLite aggregated (one run's cell).
    pub fn merge(&mut self, c: &CellCounts) {
        self.rollouts += c.rollouts as usize;
        self.proxy_pass += c.proxy_pass as usize;
        self.hardened_pass += c.hardened_pass as usize;
        self.attempted += c.attempted as usize;
        self.succeeded += c.succeeded as usize;
        for (kind, n) in &c.kinds {
            *self.kinds.entry(*kind).or_default() += *n as usize;
        }
    }

    /// The cell's rates, as JSON and the HTML show them.
    pub fn rates(&self) -> CellRates {
        let n = self.rollouts;
        CellRates {
            n: n as u64,
            proxy_pass: Rate::of(self.proxy_pass, n),
            hardened_pass: Rate::of(self.hardened_pass, n),
            attempted: Rate::of(self.attempted, n),
            succeeded: Rate::of(self.succeeded, n),
            kinds: self
                .kinds
                .iter()
                .map(|(k, c)| (k.as_str().to_string(), Rate::of(*c, n)))
                .collect(),
        }
    }
}

/// One cell's rates with intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellRates {
    pub n: u64,
    pub proxy_pass: Rate,
    pub hardened_pass: Rate,
    pub attempted: Rate,
    pub succeeded: Rate,
    /// Rate of each hack kind that occurs in the cell.
    pub kinds: BTreeMap<String, Rate>,
}

/// One row of the training table: a step and framing with its rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingRow {
    pub step: Option<i64>,
    pub framing: Option<String>,
    #[serde(flatten)]
    pub rates: CellRates,
}

/// Cells keyed by (step, framing); rollouts without a step or framing get their own `None` rows.
pub type StepTable = BTreeMap<(Option<i64>, Option<String>), StepStats>;

/// Tallies rollouts per training step and framing.
pub fn tally<'a>(rollouts: impl IntoIterator<Item = &'a RolloutSummary>) -> StepTable {
    let mut table = StepTable::new();
    for s in rollouts {
        table.entry((s.step, s.framing.clone())).or_default().add(s);
    }
    table
}

/// Adds one run's aggregated cells to `table` (cells of several runs with the same step and framing add
/// up).
pub fn merge(table: &mut StepTable, cells: &[CellCounts]) {
    for c in cells {
        table
            .entry((c.step, c.framing.clone()))
            .or_default()
            .merge(c);
    }
}

/// The table as rows with intervals, in step then framing order.
pub fn rows(table: &StepTable) -> Vec<TrainingRow> {
    table
        .iter()
        .map(|((step, framing), c)| TrainingRow {
            step: *step,
            framing: framing.clone(),
            rates: c.rates(),
        })
        .collect()
}

/// The table `goodhart report training` prints: one row per step and framing, one column per hack kind
/// that occurs anywhere in the table, every rate with its 95% Wilson interval.
pub fn render(table: &StepTable) -> String {
    if table.is_empty() {
        return "no graded rollouts in the selected runs\n".to_string();
    }
    let kinds: BTreeSet<HackKind> = table
        .values()
        .flat_map(|c| c.kinds.keys().copied())
        .collect();
    let mut header: Vec<String> = [
        "step",
        "framing",
        "n",
        "proxy_pass",
        "hardened_pass",
        "attempted",
        "succeeded",
    ]
    .map(String::from)
    .into();
    header.extend(kinds.iter().map(|k| k.as_str().to_string()));
    let mut rows = vec![header];
    for ((step, framing), c) in table {
        let n = c.rollouts;
        let mut row = vec![
            step.map_or_else(|| "-".to_string(), |s| s.to_string()),
            framing.clone().unwrap_or_else(|| "-".to_string()),
            n.to_string(),
            Rate::of(c.proxy_pass, n).text(),
            Rate::of(c.hardened_pass, n).text(),
            Rate::of(c.attempted, n).text(),
            Rate::of(c.succeeded, n).text(),
        ];
        row.extend(
            kinds
                .iter()
                .map(|k| Rate::of(c.kinds.get(k).copied().unwrap_or(0), n).text()),
        );
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                if i == 1 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out.push_str("rates are % of n with 95% Wilson intervals in brackets\n");
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use goodhart_core::{Profile, Verdict};

    pub(crate) fn summary(
        step: i64,
        framing: &str,
        proxy: bool,
        hardened: bool,
        kinds: &[HackKind],
    ) -> RolloutSummary {
        let v = |passed: bool| Verdict::pass_fail(passed, 0, 1, 1.0);
        RolloutSummary {
            rollout_id: format!("r{step}{proxy}{hardened}"),
            task_id: "t".to_string(),
            framing: Some(framing.to_string()),
            step: Some(step),
            model: None,
            verdicts: BTreeMap::from([
                (Profile::Assert, v(proxy)),
                (Profile::Hardened, v(hardened)),
            ]),
            attempted: !kinds.is_empty(),
            succeeded: proxy && !hardened,
            kinds: kinds.to_vec(),
        }
    }

    #[test]
    fn table_is_pinned() {
        let rows = [
            summary(1, "neutral", true, true, &[]),
            summary(1, "neutral", false, false, &[]),
            summary(2, "neutral", true, false, &[HackKind::AlwaysEqual]),
            summary(
                2,
                "neutral",
                true,
                false,
                &[HackKind::AlwaysEqual, HackKind::EarlyExit],
            ),
            summary(2, "hacking_okay", true, false, &[HackKind::EarlyExit]),
        ];
        insta::assert_snapshot!(render(&tally(&rows)));
    }
}
