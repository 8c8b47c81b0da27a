//! Where eval runs live: every transcript, check and verdict, so a run can be resumed after a crash and
//! reported or compared later.
//!
//! Runs are rows of the common `runs` table (kind `eval`) and samples rows of `eval_samples`, both in
//! goodhart-store's schema; this module only turns [`SampleRecord`]s into those rows and back.

use crate::record::SampleRecord;
use goodhart_stats::stats::SplitMix64;
use goodhart_store::{EvalRow, RunKind, Store};
use std::collections::HashSet;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Everything that can go wrong with eval storage, naming the file or run involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Store(#[from] goodhart_store::StoreError),
    #[error("stored record of {what} is not valid JSON: {cause}")]
    Json {
        what: String,
        cause: serde_json::Error,
    },
    #[error("no eval run with id `{0}` in the store")]
    NoSuchRun(String),
}

/// A stored run's header.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    pub id: String,
    pub created_at: String,
    pub config: serde_json::Value,
    pub status: String,
}

/// Eval runs in the common store.
pub struct EvalStore {
    store: Store,
}

impl EvalStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<EvalStore, StoreError> {
        Ok(EvalStore {
            store: Store::open(path)?,
        })
    }

    /// Opens the store at `path` to continue a run in it: a missing file is an error naming it (a run
    /// to resume cannot be in a store that does not exist), never a new empty store.
    pub fn open_to_continue(path: &Path) -> Result<EvalStore, StoreError> {
        Ok(EvalStore {
            store: Store::open_existing(path)?,
        })
    }

    /// Opens the store at `path` for reading only (for commands that only read runs): a missing file is
    /// an error naming it, never a new empty store, and nothing is written, not even a migration, so
    /// `compare` can read a store a running eval is filling, or a read-only copy.
    pub fn open_read_only(path: &Path) -> Result<EvalStore, StoreError> {
        Ok(EvalStore {
            store: Store::open_read_only(path)?,
        })
    }

    /// The common store underneath, for what is not eval-specific (tags, listings).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// An eval run's row in the common `runs` table, with its checkpoint tags.
    pub fn run_record(&self, run_id: &str) -> Result<goodhart_store::RunRecord, StoreError> {
        self.run(run_id)?;
        Ok(self.store.run(run_id)?)
    }

    /// The file, for messages that say where results went.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Starts a run with `config`, owned by this process, and returns its new id
    /// (`eval-YYYYMMDD-HHMMSS-xxxx`).
    pub fn create_run(&self, config: &serde_json::Value) -> Result<String, StoreError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let nanos = now.as_nanos() as u64;
        let suffix = SplitMix64::new(nanos ^ u64::from(std::process::id())).next_u64() & 0xffff;
        let id = format!("eval-{}-{suffix:04x}", stamp());
        self.store.create_run_with_id(&id, RunKind::Eval, config)?;
        Ok(id)
    }

    /// Hands an existing run to this process to continue it (see `goodhart_store::ledger`); returns
    /// the run as it was.
    pub fn claim(&self, run_id: &str) -> Result<StoredRun, StoreError> {
        let run = self
            .store
            .claim_run(run_id, RunKind::Eval)
            .map_err(|e| match e {
                goodhart_store::StoreError::NoSuchRun(id) => StoreError::NoSuchRun(id),
                other => other.into(),
            })?;
        Ok(StoredRun {
            id: run.id,
            created_at: run.created_at,
            config: run.config,
            status: run.status,
        })
    }

    /// The current UTC time in ISO 8601 (the store's clock), as eval logs record it.
    pub fn now_utc(&self) -> Result<String, StoreError> {
        Ok(goodhart_store::now_utc())
    }

    /// Marks a run `done`, `interrupted` or `failed`.
    pub fn set_status(&self, run_id: &str, status: &str) -> Result<(), StoreError> {
        Ok(self.store.finish_run(run_id, status)?)
    }

    /// A run's header.
    pub fn run(&self, run_id: &str) -> Result<StoredRun, StoreError> {
        let run = self.store.run(run_id).map_err(|e| match e {
            goodhart_store::StoreError::NoSuchRun(id) => StoreError::NoSuchRun(id),
            other => other.into(),
        })?;
        if run.kind != RunKind::Eval {
            return Err(StoreError::NoSuchRun(run_id.to_string()));
        }
        Ok(StoredRun {
            id: run.id,
            created_at: run.created_at,
            config: run.config,
            status: run.status,
        })
    }

    /// Stores (or replaces, when a failed sample is retried) one record; committed on return.
    pub fn put(&self, run_id: &str, record: &SampleRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(record).map_err(|source| StoreError::Json {
            what: format!("{}/{}", record.eval, record.sample_id),
            cause: source,
        })?;
        self.store.put_eval_sample(
            run_id,
            &EvalRow {
                eval: record.eval.clone(),
                sample_id: record.sample_id.clone(),
                epoch: record.epoch,
                label: record.scored.outcome.as_str().to_string(),
                record: json,
            },
        )?;
        Ok(())
    }

    /// Keys of samples finished with a label or an exclusion; errors are not finished, so resuming
    /// retries them.
    pub fn finished_keys(
        &self,
        run_id: &str,
    ) -> Result<HashSet<(String, String, u32)>, StoreError> {
        Ok(self.store.eval_finished_keys(run_id)?)
    }

    /// Every record of a run, in a stable order.
    pub fn records(&self, run_id: &str) -> Result<Vec<SampleRecord>, StoreError> {
        self.run(run_id)?;
        records(&self.store, run_id)
    }
}

/// Every record of an eval run in any open store (a report's read-only one too), ordered by eval, sample
/// and epoch; a record that does not decode is an error naming its run, eval, sample and epoch.
pub fn records(store: &Store, run_id: &str) -> Result<Vec<SampleRecord>, StoreError> {
    store
        .eval_samples(run_id)?
        .into_iter()
        .map(|row| {
            serde_json::from_str(&row.record).map_err(|source| StoreError::Json {
                what: format!(
                    "run {run_id} {}/{} epoch {}",
                    row.eval, row.sample_id, row.epoch
                ),
                cause: source,
            })
        })
        .collect()
}

/// `YYYYMMDD-HHMMSS` (UTC) of now, from the store's ISO 8601 clock.
fn stamp() -> String {
    let iso = goodhart_store::now_utc();
    let digits = |r: std::ops::Range<usize>| iso.get(r).unwrap_or("00").to_string();
    format!(
        "{}{}{}-{}{}{}",
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Outcome, Scored};
    use crate::solver::Transcript;

    fn record(sample: &str, outcome: Outcome) -> SampleRecord {
        SampleRecord {
            eval: "goals".into(),
            sample_id: sample.into(),
            epoch: 0,
            model: "openai/m".into(),
            scored: Scored {
                outcome,
                ..Scored::new(Transcript::default())
            },
        }
    }

    #[test]
    fn records_round_trip_and_errors_stay_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvalStore::open(&dir.path().join("e.db")).unwrap();
        let run = store
            .create_run(&serde_json::json!({"model": "m"}))
            .unwrap();
        store.put(&run, &record("a", Outcome::Overt)).unwrap();
        store
            .put(
                &run,
                &record(
                    "b",
                    Outcome::Error {
                        message: "x".into(),
                    },
                ),
            )
            .unwrap();
        let keys = store.finished_keys(&run).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys.contains(&("goals".to_string(), "a".to_string(), 0)));
        store.put(&run, &record("b", Outcome::Aligned)).unwrap();
        let records = store.records(&run).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].scored.outcome, Outcome::Aligned);
        assert!(matches!(
            store.records("nope"),
            Err(StoreError::NoSuchRun(_))
        ));
    }

    #[test]
    fn readers_read_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        let missing = dir.path().join("typo.db");
        assert!(EvalStore::open_read_only(&missing).is_err());
        assert!(
            !missing.exists(),
            "a reader made a store at a mistyped path"
        );
        let run = {
            let store = EvalStore::open(&path).unwrap();
            let run = store.create_run(&serde_json::json!({})).unwrap();
            store.put(&run, &record("a", Outcome::Overt)).unwrap();
            run
        };
        let reader = EvalStore::open_read_only(&path).unwrap();
        assert_eq!(reader.records(&run).unwrap().len(), 1);
        assert!(reader.put(&run, &record("b", Outcome::Aligned)).is_err());
        assert!(reader.create_run(&serde_json::json!({})).is_err());
        assert_eq!(reader.records(&run).unwrap().len(), 1);
    }
}
