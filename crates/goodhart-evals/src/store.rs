//! Where eval runs live: every transcript, check and verdict, so a run can be resumed after a crash and
//! reported or compared later.
//!
//! Kept in its own tables (`eval_runs`, `eval_samples`) through rusqlite rather than in goodhart-store,
//! whose append-only migration list belongs to its author; the CLI puts them in the store's file.

use crate::record::SampleRecord;
use goodhart_report::stats::SplitMix64;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Everything that can go wrong with the eval tables, naming the file or run involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the directory {path}: {cause}")]
    CreateDir {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot open the eval store at {path}: {cause}")]
    Open {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    #[error("eval store query failed: {0}")]
    Sqlite(rusqlite::Error),
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

/// The eval tables in one SQLite file.
pub struct EvalStore {
    conn: Connection,
    path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS eval_runs (
    id         TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    config     TEXT NOT NULL,
    status     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS eval_samples (
    run_id    TEXT NOT NULL REFERENCES eval_runs (id) ON DELETE CASCADE,
    eval      TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    epoch     INTEGER NOT NULL,
    label     TEXT NOT NULL,
    record    TEXT NOT NULL,
    PRIMARY KEY (run_id, eval, sample_id, epoch)
);";

impl EvalStore {
    /// Opens (creating if needed) the eval tables in `path`.
    pub fn open(path: &Path) -> Result<EvalStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                cause: source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            cause: source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        Ok(EvalStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The file, for messages that say where results went.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a run with `config` and returns its new id (`eval-YYYYMMDD-HHMMSS-xxxx`).
    pub fn create_run(&self, config: &serde_json::Value) -> Result<String, StoreError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        let suffix = SplitMix64::new(nanos ^ u64::from(std::process::id())).next_u64() & 0xffff;
        let stamp: String =
            self.conn
                .query_row("SELECT strftime('%Y%m%d-%H%M%S', 'now')", [], |r| r.get(0))?;
        let id = format!("eval-{stamp}-{suffix:04x}");
        self.conn.execute(
            "INSERT INTO eval_runs (id, created_at, config, status)
             VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?2, 'running')",
            params![id, config.to_string()],
        )?;
        Ok(id)
    }

    /// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`, the format of `created_at`.
    pub fn now_utc(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT strftime('%Y-%m-%dT%H:%M:%SZ', 'now')", [], |r| {
                r.get(0)
            })?)
    }

    /// Marks a run `finished`, `interrupted` or `failed`.
    pub fn set_status(&self, run_id: &str, status: &str) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE eval_runs SET status = ?2 WHERE id = ?1",
            params![run_id, status],
        )?;
        if n == 0 {
            return Err(StoreError::NoSuchRun(run_id.to_string()));
        }
        Ok(())
    }

    /// A run's header.
    pub fn run(&self, run_id: &str) -> Result<StoredRun, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT id, created_at, config, status FROM eval_runs WHERE id = ?1",
                [run_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::NoSuchRun(run_id.to_string()))?;
        let config = serde_json::from_str(&row.2).map_err(|source| StoreError::Json {
            what: format!("run {run_id} config"),
            cause: source,
        })?;
        Ok(StoredRun {
            id: row.0,
            created_at: row.1,
            config,
            status: row.3,
        })
    }

    /// Stores (or replaces, when a failed sample is retried) one record; committed on return.
    pub fn put(&self, run_id: &str, record: &SampleRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(record).map_err(|source| StoreError::Json {
            what: format!("{}/{}", record.eval, record.sample_id),
            cause: source,
        })?;
        self.conn.execute(
            "INSERT OR REPLACE INTO eval_samples (run_id, eval, sample_id, epoch, label, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                run_id,
                record.eval,
                record.sample_id,
                record.epoch,
                record.scored.outcome.as_str(),
                json
            ],
        )?;
        Ok(())
    }

    /// Keys of samples finished with a label or an exclusion; errors are not finished, so resuming
    /// retries them.
    pub fn finished_keys(
        &self,
        run_id: &str,
    ) -> Result<HashSet<(String, String, u32)>, StoreError> {
        let mut stmt =
            self.conn.prepare("SELECT eval, sample_id, epoch FROM eval_samples WHERE run_id = ?1 AND label != 'error'")?;
        let keys = stmt
            .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<HashSet<_>, _>>()?;
        Ok(keys)
    }

    /// Every record of a run, in a stable order.
    pub fn records(&self, run_id: &str) -> Result<Vec<SampleRecord>, StoreError> {
        self.run(run_id)?;
        let mut stmt = self.conn.prepare(
            "SELECT eval, sample_id, epoch, record FROM eval_samples WHERE run_id = ?1 ORDER BY eval, sample_id, epoch",
        )?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u32>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(eval, sample, epoch, json)| {
                serde_json::from_str(&json).map_err(|source| StoreError::Json {
                    what: format!("run {run_id} {eval}/{sample} epoch {epoch}"),
                    cause: source,
                })
            })
            .collect()
    }
}

// The query's cause is in the message, so it is not also a `source()`: `{err:#}` prints it once.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
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
}
