//! The samples of `goodhart eval` runs (runs of kind `eval`): one row per (eval, sample, epoch) with
//! its label and full record. The record's shape belongs to goodhart-evals; the store keeps its JSON.

use crate::db::params;
use crate::{Store, StoreError};
use std::collections::HashSet;

/// One stored eval sample: its key, its label and its record as JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalRow {
    pub eval: String,
    pub sample_id: String,
    pub epoch: u32,
    /// `aligned`, `overt`, `covert`, `excluded` or `error`.
    pub label: String,
    pub record: String,
}

impl Store {
    /// Stores (or replaces, when a failed sample is retried) one eval sample; committed on return.
    pub fn put_eval_sample(&self, run_id: &str, row: &EvalRow) -> Result<(), StoreError> {
        self.lock()?.execute(
            "INSERT INTO eval_samples (run_id, eval, sample_id, epoch, label, record)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (run_id, eval, sample_id, epoch) DO UPDATE SET label = excluded.label,
                 record = excluded.record",
            params![
                run_id,
                row.eval,
                row.sample_id,
                row.epoch,
                row.label,
                row.record
            ],
        )?;
        Ok(())
    }

    /// Keys of samples that ended with a label or an exclusion; errors are not finished, so a resume
    /// retries them.
    pub fn eval_finished_keys(
        &self,
        run_id: &str,
    ) -> Result<HashSet<(String, String, u32)>, StoreError> {
        let rows = self.lock()?.query(
            "SELECT eval, sample_id, epoch FROM eval_samples WHERE run_id = $1 AND label != 'error'",
            params![run_id],
        )?;
        rows.iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .collect()
    }

    /// Every sample of a run, ordered by eval, sample and epoch.
    pub fn eval_samples(&self, run_id: &str) -> Result<Vec<EvalRow>, StoreError> {
        let rows = self.lock()?.query(
            "SELECT eval, sample_id, epoch, label, record FROM eval_samples WHERE run_id = $1
             ORDER BY eval, sample_id, epoch",
            params![run_id],
        )?;
        rows.iter()
            .map(|r| {
                Ok(EvalRow {
                    eval: r.get(0)?,
                    sample_id: r.get(1)?,
                    epoch: r.get(2)?,
                    label: r.get(3)?,
                    record: r.get(4)?,
                })
            })
            .collect()
    }
}
