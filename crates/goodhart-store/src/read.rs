//! Read-only access for reports: opening a store that must already exist without ever writing to it, and
//! the light queries a report needs over many rollouts (verdicts and hack labels, never the completion
//! text), so a 100,000-rollout store aggregates in a fraction of the time a full decode would take.

use crate::{from_json, schema, Store, StoreError};
use goodhart_core::{GradedRollout, HackKind, Profile, Verdict};
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

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

/// Counts for one (step, framing) cell of a run, aggregated inside SQLite so a report over 100,000
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

impl Store {
    /// Opens an existing store for reading only: a missing file is [`StoreError::Missing`] (never a new
    /// empty store), and nothing is written, not even a migration, so a report can run on a store another
    /// process is filling or on a read-only copy.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        if !path.is_file() {
            return Err(StoreError::Missing { path });
        }
        let open_err = |cause| StoreError::Open {
            path: path.clone(),
            cause,
        };
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(open_err)?;
        // A file that is not SQLite fails here, on the first read, and is reported with its path.
        let found: i64 = conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )
            .map_err(open_err)?;
        if found > schema::LATEST {
            return Err(StoreError::NewerSchema {
                path,
                found,
                known: schema::LATEST,
            });
        }
        if found < schema::LATEST {
            return Err(StoreError::OlderSchema {
                path,
                found,
                known: schema::LATEST,
            });
        }
        Ok(Store {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// Every graded rollout of a run as a [`RolloutSummary`] (optionally only those of one model), in
    /// insertion order. Decodes only the verdicts and hack kinds of each record.
    pub fn rollout_summaries(
        &self,
        run_id: &str,
        model: Option<&str>,
    ) -> Result<Vec<RolloutSummary>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT rollout_id, task_id, framing, step, model, hack_attempted, hack_succeeded,
                    json_extract(record, '$.verdicts'), json_extract(record, '$.hack.kinds')
             FROM graded_rollouts WHERE run_id = ?1 AND (?2 IS NULL OR model = ?2) ORDER BY rowid",
        )?;
        let rows = stmt.query_map(rusqlite::params![run_id, model], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, bool>(5)?,
                r.get::<_, bool>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        })?;
        rows.map(|row| {
            let (rollout_id, task_id, framing, step, model, attempted, succeeded, verdicts, kinds) =
                row?;
            let what = format!("graded rollout {rollout_id} of run {run_id}");
            Ok(RolloutSummary {
                verdicts: from_json(verdicts.as_deref().unwrap_or("{}"), &what)?,
                kinds: from_json(kinds.as_deref().unwrap_or("[]"), &what)?,
                rollout_id,
                task_id,
                framing,
                step,
                model,
                attempted,
                succeeded,
            })
        })
        .collect()
    }

    /// A run's rollouts counted per (step, framing), optionally only one model's, in step then framing
    /// order; the same numbers as tallying [`Store::rollout_summaries`], computed by SQLite.
    pub fn cell_counts(
        &self,
        run_id: &str,
        model: Option<&str>,
    ) -> Result<Vec<CellCounts>, StoreError> {
        // One JSON parse per row: the profiles' `passed` flags and the kinds come back as one small array
        // (`[true,null,false,["always_equal"]]`), and rows with the same array group together, so Rust
        // decodes a handful of distinct arrays per cell instead of every rollout.
        let paths: String = Profile::ALL
            .iter()
            .map(|p| format!("'$.verdicts.{}.passed', ", p.as_str()))
            .collect();
        let sql = format!(
            "SELECT step, framing, json_extract(record, {paths}'$.hack.kinds') AS sig,
                    hack_attempted, hack_succeeded, COUNT(*)
             FROM graded_rollouts WHERE run_id = ?1 AND (?2 IS NULL OR model = ?2)
             GROUP BY step, framing, sig, hack_attempted, hack_succeeded"
        );
        let conn = self.lock()?;
        let mut cells: BTreeMap<(Option<i64>, Option<String>), CellCounts> = BTreeMap::new();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params![run_id, model], |r| {
            <(Option<i64>, Option<String>, String, bool, bool, u64)>::try_from(r)
        })?;
        for row in rows {
            let (step, framing, sig, attempted, succeeded, n) = row?;
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
        let conn = self.lock()?;
        let json: Option<String> = rusqlite::OptionalExtension::optional(conn.query_row(
            "SELECT record FROM graded_rollouts WHERE run_id = ?1 AND rollout_id = ?2",
            [run_id, rollout_id],
            |r| r.get(0),
        ))?;
        json.map(|j| from_json(&j, "graded rollout")).transpose()
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
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT record FROM graded_rollouts
             WHERE run_id = ?1 AND hack_attempted AND (?2 IS NULL OR model = ?2)
                   AND (?4 IS NULL OR step = ?4) AND (?5 IS NULL OR framing = ?5)
             ORDER BY rowid LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(
            rusqlite::params![run_id, model, limit, step, framing],
            |r| r.get::<_, String>(0),
        )?;
        rows.map(|json| from_json(&json?, "graded rollout"))
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

    #[test]
    fn summaries_carry_verdicts_and_kinds_without_the_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let store = Store::open(&path).unwrap();
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
