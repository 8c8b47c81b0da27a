//! Training telemetry: hack rates per training step, framing and kind, read back from the store, so a
//! researcher sees when hacking took off during a run without instrumenting the trainer.

use goodhart_core::{GradedRollout, HackKind};
use goodhart_store::{RunKind, Store, StoreError};
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

/// Cells keyed by (step, framing); rollouts without a step or framing get their own `None` rows.
pub type StepTable = BTreeMap<(Option<i64>, Option<String>), StepStats>;

/// Tallies graded rollouts per training step and framing.
pub fn tally<'a>(graded: impl IntoIterator<Item = &'a GradedRollout>) -> StepTable {
    let mut table = StepTable::new();
    for g in graded {
        let cell = table
            .entry((g.rollout.step, g.rollout.framing.clone()))
            .or_default();
        cell.rollouts += 1;
        let proxy = g.verdicts.iter().any(|(p, v)| p.is_proxy() && v.passed);
        let hardened = g.verdicts.iter().any(|(p, v)| !p.is_proxy() && v.passed);
        cell.proxy_pass += usize::from(proxy);
        cell.hardened_pass += usize::from(hardened);
        cell.attempted += usize::from(g.hack.attempted);
        cell.succeeded += usize::from(g.hack.succeeded);
        for kind in &g.hack.kinds {
            *cell.kinds.entry(*kind).or_default() += 1;
        }
    }
    table
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        "-".to_string()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / of as f64)
    }
}

/// The table `goodhart report training` prints: one row per step and framing, one column per hack kind
/// that occurs anywhere in the table.
pub fn render(table: &StepTable) -> String {
    if table.is_empty() {
        return "no graded rollouts from `goodhart serve` in this store yet\n".to_string();
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
        let mut row = vec![
            step.map_or_else(|| "-".to_string(), |s| s.to_string()),
            framing.clone().unwrap_or_else(|| "-".to_string()),
            c.rollouts.to_string(),
            pct(c.proxy_pass, c.rollouts),
            pct(c.hardened_pass, c.rollouts),
            pct(c.attempted, c.rollouts),
            pct(c.succeeded, c.rollouts),
        ];
        row.extend(
            kinds
                .iter()
                .map(|k| pct(c.kinds.get(k).copied().unwrap_or(0), c.rollouts)),
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
    out
}

/// Every rollout graded by any `goodhart serve` session in `store`, tallied.
pub fn from_store(store: &Store) -> Result<StepTable, StoreError> {
    let mut all = Vec::new();
    for run in store.runs(Some(RunKind::Serve))? {
        all.extend(store.graded_rollouts(&run.id)?);
    }
    Ok(tally(&all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use goodhart_core::{HackReport, Profile, Rollout, Verdict};

    fn graded(
        step: i64,
        framing: &str,
        proxy: bool,
        hardened: bool,
        kinds: &[HackKind],
    ) -> GradedRollout {
        let v = |passed: bool| Verdict::pass_fail(passed, 0, 1, 1.0);
        let rollout: Rollout = serde_json::from_value(serde_json::json!({
            "id": format!("r{step}{proxy}{hardened}"), "task_id": "t", "completion": "", "step": step, "framing": framing
        }))
        .unwrap();
        GradedRollout {
            rollout,
            verdicts: BTreeMap::from([
                (Profile::Assert, v(proxy)),
                (Profile::Hardened, v(hardened)),
            ]),
            reward: Some(1.0),
            hack: HackReport {
                attempted: !kinds.is_empty(),
                succeeded: proxy && !hardened,
                kinds: kinds.to_vec(),
                evidence: Vec::new(),
            },
        }
    }

    #[test]
    fn table_is_pinned() {
        let rows = [
            graded(1, "neutral", true, true, &[]),
            graded(1, "neutral", false, false, &[]),
            graded(2, "neutral", true, false, &[HackKind::AlwaysEqual]),
            graded(
                2,
                "neutral",
                true,
                false,
                &[HackKind::AlwaysEqual, HackKind::EarlyExit],
            ),
            graded(2, "hacking_okay", true, false, &[HackKind::EarlyExit]),
        ];
        insta::assert_snapshot!(render(&tally(&rows)));
    }
}
