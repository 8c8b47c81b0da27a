//! Samples that ended in an error are recorded, not dropped: a run's summary counts them, and a resumed
//! run tries them again (a success then clears the record).
//!
//! Kept in an `llm_failures` table beside the cache, normally in the store's database file.

use crate::cache::{open_db, CacheError};
use crate::error::LlmError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One recorded failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub run_id: String,
    pub sample_id: String,
    /// Grouping label the summary counts by (the framing, for `goodhart sample`).
    pub group: String,
    /// [`LlmError::kind`], e.g. `http_500`, `timeout`.
    pub kind: String,
    pub message: String,
}

/// The failure log of sampling runs.
pub struct FailureLog {
    path: PathBuf,
    conn: Mutex<rusqlite::Connection>,
}

impl FailureLog {
    /// Opens (creating if needed) the `llm_failures` table in the database at `path`.
    pub fn open(path: &Path) -> Result<FailureLog, CacheError> {
        let conn = open_db(path)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS llm_failures (
                run_id TEXT NOT NULL,
                sample_id TEXT NOT NULL,
                grp TEXT NOT NULL,
                kind TEXT NOT NULL,
                message TEXT NOT NULL,
                recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                PRIMARY KEY (run_id, sample_id)
            );",
        )
        .map_err(|source| CacheError::Sqlite {
            path: path.to_path_buf(),
            cause: source,
        })?;
        Ok(FailureLog {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, source: rusqlite::Error) -> CacheError {
        CacheError::Sqlite {
            path: self.path.clone(),
            cause: source,
        }
    }

    /// Records that `sample_id` of `run_id` ended with `error` (replacing an earlier record).
    pub fn record(
        &self,
        run_id: &str,
        sample_id: &str,
        group: &str,
        error: &LlmError,
    ) -> Result<(), CacheError> {
        self.lock()
            .execute(
                "INSERT OR REPLACE INTO llm_failures (run_id, sample_id, grp, kind, message)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![run_id, sample_id, group, error.kind(), error.to_string()],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Forgets the failure of a sample that has since succeeded.
    pub fn clear(&self, run_id: &str, sample_id: &str) -> Result<(), CacheError> {
        self.lock()
            .execute(
                "DELETE FROM llm_failures WHERE run_id = ?1 AND sample_id = ?2",
                [run_id, sample_id],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Every failure of a run, in sample-id order.
    pub fn failures(&self, run_id: &str) -> Result<Vec<Failure>, CacheError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT run_id, sample_id, grp, kind, message FROM llm_failures
                 WHERE run_id = ?1 ORDER BY sample_id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok(Failure {
                    run_id: r.get(0)?,
                    sample_id: r.get(1)?,
                    group: r.get(2)?,
                    kind: r.get(3)?,
                    message: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Failures of a run counted per group.
    pub fn counts(&self, run_id: &str) -> Result<BTreeMap<String, u64>, CacheError> {
        let mut counts = BTreeMap::new();
        for f in self.failures(run_id)? {
            *counts.entry(f.group).or_insert(0) += 1;
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_recorded_counted_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let log = FailureLog::open(&dir.path().join("g.db")).unwrap();
        let e500 = LlmError::Status {
            status: 500,
            body: "x".into(),
            retry_after: None,
        };
        log.record("r1", "neutral/t/0", "neutral", &e500).unwrap();
        log.record(
            "r1",
            "neutral/t/0",
            "neutral",
            &LlmError::Timeout(std::time::Duration::from_secs(1)),
        )
        .unwrap();
        log.record("r1", "dont_hack/t/0", "dont_hack", &e500)
            .unwrap();
        log.record("r2", "neutral/t/0", "neutral", &e500).unwrap();
        assert_eq!(log.failures("r1").unwrap()[1].kind, "timeout");
        assert_eq!(
            log.counts("r1").unwrap(),
            BTreeMap::from([("dont_hack".into(), 1), ("neutral".into(), 1)])
        );
        log.clear("r1", "neutral/t/0").unwrap();
        assert_eq!(log.failures("r1").unwrap().len(), 1);
        assert_eq!(log.failures("r2").unwrap().len(), 1);
    }
}
