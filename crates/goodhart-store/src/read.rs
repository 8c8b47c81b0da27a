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

impl Store {
    /// Opens an existing store for reading only: a missing file is [`StoreError::Missing`] (never a new
    /// empty store), and nothing is written, not even a migration, so a report can run on a store another
    /// process is filling or on a read-only copy.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        if !path.is_file() {
            return Err(StoreError::Missing { path });
        }
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
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

    /// How many rollouts of a run a detector flagged, and the first `limit` of them in full (code,
    /// verdicts, evidence), in insertion order: a report shows a bounded sample, never every rollout.
    pub fn flagged_rollouts(
        &self,
        run_id: &str,
        model: Option<&str>,
        limit: usize,
    ) -> Result<(u64, Vec<GradedRollout>), StoreError> {
        let conn = self.lock()?;
        let total: u64 = conn.query_row(
            "SELECT COUNT(*) FROM graded_rollouts
             WHERE run_id = ?1 AND hack_attempted AND (?2 IS NULL OR model = ?2)",
            rusqlite::params![run_id, model],
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare(
            "SELECT record FROM graded_rollouts
             WHERE run_id = ?1 AND hack_attempted AND (?2 IS NULL OR model = ?2)
             ORDER BY rowid LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(rusqlite::params![run_id, model, limit], |r| {
            r.get::<_, String>(0)
        })?;
        let flagged = rows
            .map(|json| from_json(&json?, "graded rollout"))
            .collect::<Result<_, _>>()?;
        Ok((total, flagged))
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
        let (total, flagged) = reader.flagged_rollouts(&run, None, 10).unwrap();
        assert_eq!((total, flagged.len()), (1, 1));
        assert!(reader
            .create_run(crate::RunKind::Serve, &serde_json::json!({}))
            .is_err());
    }
}
