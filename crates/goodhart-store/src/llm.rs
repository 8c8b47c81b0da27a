//! What goodhart-llm remembers, kept by the store like every other table (and so on either backend):
//! the response cache (one stored response per sample identity, so a re-run never pays twice) and the
//! failure log (samples that ended in an error, so a summary counts them and a resume retries them).
//!
//! goodhart-llm defines the cache's interface (`goodhart_llm::Cache`) and knows nothing of the store;
//! the binary connects the two, so neither crate depends on the other.

use crate::db::params;
use crate::{now_sql, Store, StoreError};

/// One sample that ended in an error, as the failure log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmFailure {
    pub run_id: String,
    pub sample_id: String,
    /// Grouping label the summary counts by (the framing, for `goodhart sample`).
    pub group: String,
    /// The error's kind (`http_500`, `timeout`, ...).
    pub kind: String,
    pub message: String,
}

impl Store {
    /// The cached response text stored under `key`, if any.
    pub fn llm_cache_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.lock()?
            .query_opt(
                "SELECT response FROM llm_cache WHERE key = $1",
                params![key],
            )?
            .map(|row| row.get(0))
            .transpose()
    }

    /// Remembers `response` (its JSON text) under `key`, replacing an earlier entry; committed on return.
    pub fn llm_cache_put(&self, key: &str, model: &str, response: &str) -> Result<(), StoreError> {
        self.lock()?.execute(
            "INSERT INTO llm_cache (key, model, response, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO UPDATE SET model = excluded.model, response = excluded.response,
                 created_at = excluded.created_at",
            params![key, model, response, now_sql()],
        )?;
        Ok(())
    }

    /// Number of cached responses.
    pub fn llm_cache_len(&self) -> Result<u64, StoreError> {
        self.lock()?
            .query_one("SELECT COUNT(*) FROM llm_cache", &[])?
            .get(0)
    }

    /// Records that `sample_id` of `run_id` ended with an error of `kind` (replacing an earlier record).
    pub fn record_llm_failure(&self, failure: &LlmFailure) -> Result<(), StoreError> {
        self.lock()?.execute(
            "INSERT INTO llm_failures (run_id, sample_id, grp, kind, message, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (run_id, sample_id) DO UPDATE SET grp = excluded.grp,
                 kind = excluded.kind, message = excluded.message,
                 recorded_at = excluded.recorded_at",
            params![
                failure.run_id,
                failure.sample_id,
                failure.group,
                failure.kind,
                failure.message,
                now_sql()
            ],
        )?;
        Ok(())
    }

    /// Forgets the failure of a sample that has since succeeded.
    pub fn clear_llm_failure(&self, run_id: &str, sample_id: &str) -> Result<(), StoreError> {
        self.lock()?.execute(
            "DELETE FROM llm_failures WHERE run_id = $1 AND sample_id = $2",
            params![run_id, sample_id],
        )?;
        Ok(())
    }

    /// Every failure of a run, in sample-id order.
    pub fn llm_failures(&self, run_id: &str) -> Result<Vec<LlmFailure>, StoreError> {
        let rows = self.lock()?.query(
            "SELECT run_id, sample_id, grp, kind, message FROM llm_failures
             WHERE run_id = $1 ORDER BY sample_id",
            params![run_id],
        )?;
        rows.iter()
            .map(|r| {
                Ok(LlmFailure {
                    run_id: r.get(0)?,
                    sample_id: r.get(1)?,
                    group: r.get(2)?,
                    kind: r.get(3)?,
                    message: r.get(4)?,
                })
            })
            .collect()
    }

    /// Failures of a run counted per group.
    pub fn llm_failure_counts(
        &self,
        run_id: &str,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        let mut counts = std::collections::BTreeMap::new();
        for f in self.llm_failures(run_id)? {
            *counts.entry(f.group).or_insert(0) += 1;
        }
        Ok(counts)
    }
}
