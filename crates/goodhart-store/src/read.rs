//! Read-only access for reports: opening a store that must already exist without ever writing to it, and
//! the light queries a report needs over many rollouts (verdicts and hack labels, never the completion
//! text), so a 100,000-rollout store aggregates in a fraction of the time a full decode would take.

use crate::db::params;
use crate::{from_json, Location, Mode, Store, StoreError};
use goodhart_core::{GradedRollout, HackKind, Profile, Verdict};
use std::collections::BTreeMap;
use std::path::Path;

/// What a report needs of one graded rollout: where it sits (step, framing, model) and how it fared,
/// without the code.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutSummary {
    pub rollout_id: String,
    pub task_id: String,
    pub framing: Option<String>,
    pub step: Option<i64>,
    pub model: Option<String>,
    /// Every profile's verdict.
    pub verdicts: BTreeMap<Profile, Verdict>,
    /// A detector found a mechanism.
    pub attempted: bool,
    /// A proxy passed while `hardened` failed.
    pub succeeded: bool,
    /// The hack kinds the rollout was labelled with.
    pub kinds: Vec<HackKind>,
}

/// Counts for one (step, framing) cell of a run, aggregated inside the database so a report over 100,000
/// rollouts never decodes them one by one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellCounts {
    pub step: Option<i64>,
    pub framing: Option<String>,
    pub rollouts: u64,
    /// Some proxy profile passed.
    pub proxy_pass: u64,
    /// Some non-proxy profile (`hardened`) passed.
    pub hardened_pass: u64,
    pub attempted: u64,
    pub succeeded: u64,
    /// Rollouts labelled with each kind.
    pub kinds: BTreeMap<HackKind, u64>,
}

impl CellCounts {
    /// Adds `other`'s counts to these (its step and framing are ignored): totals over cells, runs or
    /// replicas.
    pub fn absorb(&mut self, other: &CellCounts) {
        self.rollouts += other.rollouts;
        self.proxy_pass += other.proxy_pass;
        self.hardened_pass += other.hardened_pass;
        self.attempted += other.attempted;
        self.succeeded += other.succeeded;
        for (k, n) in &other.kinds {
            *self.kinds.entry(*k).or_default() += n;
        }
    }
}

impl Store {
    /// Opens an existing store for reading only: a missing file (or a database without a store) is
    /// [`StoreError::Missing`] (never a new empty store), and nothing is written, not even a migration,
    /// so a report can run on a store another process is filling or on a read-only copy.
    pub fn open_read_only(db: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::connect(Location::parse(db.as_ref())?, Mode::ReadOnly)
    }

    /// Every graded rollout of a run as a [`RolloutSummary`] (optionally only those of one model), in
    /// insertion order. Decodes only the verdicts and hack kinds of each record.
    pub fn rollout_summaries(
        &self,
        run_id: &str,
        model: Option<&str>,
    ) -> Result<Vec<RolloutSummary>, StoreError> {
        let mut conn = self.lock()?;
        let d = conn.dialect();
        let sql = format!(
            "SELECT rollout_id, task_id, framing, step, model, hack_attempted, hack_succeeded,
                    {}, {}
             FROM graded_rollouts WHERE run_id = $1 AND (CAST($2 AS TEXT) IS NULL OR model = $2) ORDER BY rowid",
            d.json_at("record", "verdicts"),
            d.json_at("record", "hack.kinds")
        );
        let rows = conn.query(&sql, params![run_id, model])?;
        rows.iter()
            .map(|row| {
                let rollout_id: String = row.get(0)?;
                let what = format!("graded rollout {rollout_id} of run {run_id}");
                let verdicts: Option<String> = row.get(7)?;
                let kinds: Option<String> = row.get(8)?;
                Ok(RolloutSummary {
                    verdicts: from_json(verdicts.as_deref().unwrap_or("{}"), &what)?,
                    kinds: from_json(kinds.as_deref().unwrap_or("[]"), &what)?,
                    rollout_id,
                    task_id: row.get(1)?,
                    framing: row.get(2)?,
                    step: row.get(3)?,
                    model: row.get(4)?,
                    attempted: row.get(5)?,
                    succeeded: row.get(6)?,
                })
            })
            .collect()
    }

    /// A run's rollouts counted per (step, framing), optionally only one model's, in step then framing
    /// order; the same numbers as tallying [`Store::rollout_summaries`], computed by the database.
    pub fn cell_counts(
        &self,
        run_id: &str,
        model: Option<&str>,
    ) -> Result<Vec<CellCounts>, StoreError> {
        // One JSON parse per row: the profiles' `passed` flags and the kinds come back as one small array
        // (`[true,null,false,["always_equal"]]`), and rows with the same array group together, so Rust
        // decodes a handful of distinct arrays per cell instead of every rollout.
        let mut paths: Vec<String> = Profile::ALL
            .iter()
            .map(|p| format!("verdicts.{}.passed", p.as_str()))
            .collect();
        paths.push("hack.kinds".to_string());
        let mut conn = self.lock()?;
        let sql = format!(
            "SELECT step, framing, {} AS sig, hack_attempted, hack_succeeded, COUNT(*)
             FROM graded_rollouts WHERE run_id = $1 AND (CAST($2 AS TEXT) IS NULL OR model = $2)
             GROUP BY step, framing, sig, hack_attempted, hack_succeeded",
            conn.dialect().json_array_at("record", &paths)
        );
        let rows = conn.query(&sql, params![run_id, model])?;
        drop(conn);
        let mut cells: BTreeMap<(Option<i64>, Option<String>), CellCounts> = BTreeMap::new();
        for row in rows {
            let (step, framing, sig): (Option<i64>, Option<String>, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            let (attempted, succeeded, n): (bool, bool, u64) =
                (row.get(3)?, row.get(4)?, row.get(5)?);
            let what = format!("verdicts and kinds of a rollout in run {run_id}");
            let (passed, kinds): (Vec<Option<bool>>, Vec<HackKind>) = {
                let mut values: Vec<serde_json::Value> = from_json(&sig, &what)?;
                let kinds = values.pop().unwrap_or(serde_json::Value::Null);
                let kinds = if kinds.is_null() {
                    Vec::new()
                } else {
                    serde_json::from_value(kinds).map_err(|cause| StoreError::Json {
                        what: what.clone(),
                        cause,
                    })?
                };
                (
                    values.iter().map(serde_json::Value::as_bool).collect(),
                    kinds,
                )
            };
            let any = |proxy: bool| {
                Profile::ALL
                    .iter()
                    .zip(&passed)
                    .any(|(p, ok)| p.is_proxy() == proxy && *ok == Some(true))
            };
            let cell = cells
                .entry((step, framing.clone()))
                .or_insert_with(|| CellCounts {
                    step,
                    framing,
                    ..CellCounts::default()
                });
            cell.rollouts += n;
            cell.proxy_pass += if any(true) { n } else { 0 };
            cell.hardened_pass += if any(false) { n } else { 0 };
            cell.attempted += if attempted { n } else { 0 };
            cell.succeeded += if succeeded { n } else { 0 };
            for kind in kinds {
                *cell.kinds.entry(kind).or_default() += n;
            }
        }
        Ok(cells.into_values().collect())
    }

    /// The first `limit` rollouts of a run a detector flagged, in full (code, verdicts, evidence), in
    /// insertion order: a report shows a bounded sample, never every rollout (the count is in
    /// [`Store::cell_counts`]).
    pub fn flagged_rollouts(
        &self,
        run_id: &str,
        model: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GradedRollout>, StoreError> {
        self.flagged_rollouts_in(run_id, model, None, None, limit)
    }

    /// One graded rollout of a run in full, by its id; `None` when the run has no such rollout.
    pub fn graded_rollout(
        &self,
        run_id: &str,
        rollout_id: &str,
    ) -> Result<Option<GradedRollout>, StoreError> {
        let row = self.lock()?.query_opt(
            "SELECT record FROM graded_rollouts WHERE run_id = $1 AND rollout_id = $2",
            params![run_id, rollout_id],
        )?;
        row.map(|r| from_json(&r.get::<String>(0)?, "graded rollout"))
            .transpose()
    }

    /// [`Store::flagged_rollouts`] of one training step and/or framing (`None`: any), so a viewer can go
    /// from a point of a training curve to the rollouts behind it however many came before.
    pub fn flagged_rollouts_in(
        &self,
        run_id: &str,
        model: Option<&str>,
        step: Option<i64>,
        framing: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GradedRollout>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.lock()?.query(
            "SELECT record FROM graded_rollouts
             WHERE run_id = $1 AND hack_attempted <> 0 AND (CAST($2 AS TEXT) IS NULL OR model = $2)
                   AND (CAST($3 AS BIGINT) IS NULL OR step = $3) AND (CAST($4 AS TEXT) IS NULL OR framing = $4)
             ORDER BY rowid LIMIT $5",
            params![run_id, model, step, framing, limit],
        )?;
        rows.iter()
            .map(|r| from_json(&r.get::<String>(0)?, "graded rollout"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_store_is_an_error_naming_the_path_and_no_file_appears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("typo.db");
        let err = Store::open_read_only(&path).unwrap_err();
        assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
        assert!(err.to_string().contains("typo.db"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn a_file_that_is_not_a_store_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(
            &path,
            "not sqlite at all, just some text that is long enough",
        )
        .unwrap();
        let err = Store::open_read_only(&path).unwrap_err();
        assert!(err.to_string().contains("notes.txt"), "{err}");
    }

    crate::testdb::on_both_backends!(summaries_carry_verdicts_and_kinds_without_the_code);

    fn summaries_carry_verdicts_and_kinds_without_the_code(f: crate::testdb::Fixture) {
        let path = f.db.clone();
        let store = f.open();
        let run = store
            .create_run(crate::RunKind::Serve, &serde_json::json!({}))
            .unwrap();
        let g: GradedRollout = serde_json::from_value(serde_json::json!({
            "id": "r1", "task_id": "t", "completion": "x", "step": 3, "framing": "neutral", "model": "m",
            "verdicts": {"assert": {"passed": true, "tests_passed": 1, "tests_total": 1, "status": "passed", "duration_ms": 1.0},
                         "hardened": {"passed": false, "tests_passed": 0, "tests_total": 1, "status": "failed", "duration_ms": 1.0}},
            "reward": 1.0,
            "hack": {"attempted": true, "succeeded": true, "kinds": ["always_equal"], "evidence": []}
        }))
        .unwrap();
        store.insert_graded(&run, &g).unwrap();
        drop(store);
        let reader = Store::open_read_only(&path).unwrap();
        let s = reader.rollout_summaries(&run, None).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].step, Some(3));
        assert!(s[0].verdicts[&Profile::Assert].passed);
        assert!(!s[0].verdicts[&Profile::Hardened].passed);
        assert_eq!(s[0].kinds, vec![HackKind::AlwaysEqual]);
        assert!(reader
            .rollout_summaries(&run, Some("other"))
            .unwrap()
            .is_empty());
        assert_eq!(reader.flagged_rollouts(&run, None, 10).unwrap().len(), 1);
        let at = |step, framing| {
            reader
                .flagged_rollouts_in(&run, None, step, framing, 10)
                .unwrap()
                .len()
        };
        assert_eq!(at(Some(3), Some("neutral")), 1);
        assert_eq!(at(Some(4), None), 0);
        assert_eq!(at(None, Some("hacking_okay")), 0);
        assert_eq!(reader.graded_rollout(&run, "r1").unwrap(), Some(g));
        assert_eq!(reader.graded_rollout(&run, "r2").unwrap(), None);
        assert_eq!(reader.cell_counts(&run, None).unwrap()[0].attempted, 1);
        assert!(reader
            .create_run(crate::RunKind::Serve, &serde_json::json!({}))
            .is_err());
    }
}
