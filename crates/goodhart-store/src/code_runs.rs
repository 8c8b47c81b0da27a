//! Programs run through `/run_code` (verl's SandboxFusion path), kept so a training run's executions
//! can be read back by step like its graded rollouts.

use crate::db::params;
use crate::{now_sql, Store, StoreError};

/// One `/run_code` execution as the store keeps it. verl turns the output into a reward on its own
/// side, so the store keeps what decides it: the code, how it ended and what it printed.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeRun {
    /// The training step, when the request carried one.
    pub step: Option<i64>,
    /// SandboxFusion's `language`.
    pub language: String,
    /// SandboxFusion's top-level status (`Success`, `Failed`, `SandboxError`).
    pub status: String,
    pub return_code: Option<i32>,
    /// Wall-clock seconds.
    pub execution_time: Option<f64>,
    pub code: String,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    /// How the sandbox run ended (`ok`, `exit`, `signal`, `cpu_limit`, `wall_timeout`,
    /// `memory_limit`, `output_truncated`, `sandbox_error`); `None` in rows of schema 4 and older.
    pub ending: Option<String>,
    /// The limit that ended the run: `cpu` (the CPU-time limit), `wall` (the wall-clock cap),
    /// `memory` or `output`; `None` when no limit did.
    pub limit: Option<String>,
    /// CPU seconds the run used.
    pub cpu_time: Option<f64>,
    /// The known task the request was matched to (its `stdin` is one of that stdin/stdout task's case
    /// inputs, and no other task's); `None` when unmatched or in rows of schema 6 and older.
    pub task_id: Option<String>,
    /// The detectors' labels of the program, when it was matched to a task: whether a hack mechanism
    /// was found and its kinds (contract kind strings).
    pub hack: Option<CodeRunHack>,
}

/// The hack labels of a matched `/run_code` program (static and hard-coding layers: a single
/// execution has no other grader to compare with, so `succeeded` is not known here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRunHack {
    pub attempted: bool,
    pub kinds: Vec<String>,
}

impl Store {
    /// Records one `/run_code` execution under a `serve` run; committed on return.
    pub fn insert_code_run(&self, run_id: &str, run: &CodeRun) -> Result<(), StoreError> {
        self.journal_code_run(run_id, None, run).map(|_| ())
    }

    /// Records one `/run_code` execution under its result key (one a retried request reproduces),
    /// insert-if-absent: `false` when the key was already stored (by this or another replica), so
    /// retries never count an execution twice. `None` stores unconditionally.
    pub fn journal_code_run(
        &self,
        run_id: &str,
        key: Option<&str>,
        run: &CodeRun,
    ) -> Result<bool, StoreError> {
        let n = self.lock()?.execute(
            "INSERT INTO code_runs (run_id, created_at, step, language, status, return_code,
             execution_time, code, stdout, stderr, ending, limit_hit, cpu_time, result_key,
             task_id, hack_attempted, hack_kinds)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT DO NOTHING",
            params![
                run_id,
                now_sql(),
                run.step,
                run.language,
                run.status,
                run.return_code,
                run.execution_time,
                run.code,
                run.stdout,
                run.stderr,
                run.ending,
                run.limit,
                run.cpu_time,
                key,
                run.task_id,
                run.hack.as_ref().map(|h| i64::from(h.attempted)),
                run.hack
                    .as_ref()
                    .map(|h| serde_json::to_string(&h.kinds).unwrap_or_default())
            ],
        )?;
        Ok(n == 1)
    }

    /// A run's `/run_code` executions, in the order they were stored.
    pub fn code_runs(&self, run_id: &str) -> Result<Vec<CodeRun>, StoreError> {
        let rows = self.lock()?.query(
            "SELECT step, language, status, return_code, execution_time, code, stdout, stderr,
             ending, limit_hit, cpu_time, task_id, hack_attempted, hack_kinds
             FROM code_runs WHERE run_id = $1 ORDER BY id",
            params![run_id],
        )?;
        rows.iter()
            .map(|r| {
                Ok(CodeRun {
                    step: r.get(0)?,
                    language: r.get(1)?,
                    status: r.get(2)?,
                    return_code: r.get(3)?,
                    execution_time: r.get(4)?,
                    code: r.get(5)?,
                    stdout: r.get(6)?,
                    stderr: r.get(7)?,
                    ending: r.get(8)?,
                    limit: r.get(9)?,
                    cpu_time: r.get(10)?,
                    task_id: r.get(11)?,
                    hack: match (r.get::<Option<i64>>(12)?, r.get::<Option<String>>(13)?) {
                        (Some(attempted), kinds) => Some(CodeRunHack {
                            attempted: attempted != 0,
                            kinds: kinds
                                .and_then(|k| serde_json::from_str(&k).ok())
                                .unwrap_or_default(),
                        }),
                        (None, _) => None,
                    },
                })
            })
            .collect()
    }
}
