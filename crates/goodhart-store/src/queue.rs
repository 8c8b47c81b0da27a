//! A work queue per run, so several processes on several machines share one batch (a large audit or
//! grade) through the store and a process killed mid-item leaves that item to the others.
//!
//! The queue is a table of items per run ([`NewItem`]: an opaque key and payload; the store knows
//! nothing of what they mean). The process that creates the run enqueues every item in the same
//! transaction ([`Store::create_queued_run`]; a concurrent starter finds the run and joins it). A worker
//! claims items ([`Store::claim_work`]: `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so claimers
//! never block on or take each other's items; SQLite's `BEGIN IMMEDIATE` serializes the claim on one
//! machine). A claim is a lease on the database's clock: the worker renews it while it works
//! ([`Store::renew_leases`], a heartbeat), and an item whose lease ran out (its worker died, on any
//! host) is claimable again. A finished item and its result rows are committed in one transaction
//! ([`Store::complete_audit_items`], [`Store::complete_graded_items`]), and results are written
//! insert-if-absent under the store's result keys, so an item finished twice (a slow worker whose lease
//! was taken over) is stored once. A `barrier` item is claimable only once every other item of its run
//! is done: whatever must happen exactly once at the end (writing an output file) is such an item.

use crate::db::{params, Conn, Row};
use crate::{
    insert_graded_row, insert_labels, put_audit_result, put_tasks, raw_run, AuditResult, Conflict,
    RunKind, RunRecord, Store, StoreError, RUN_COLUMNS,
};
use goodhart_core::{GradedRollout, Task};
use std::time::Duration;

/// An item to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// Unique within the run; what completion names the item by.
    pub key: String,
    /// Whatever the worker needs besides the key (opaque to the store).
    pub payload: String,
    /// Claimable only once every other item of the run is done.
    pub barrier: bool,
}

/// An item a worker has claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub key: String,
    pub payload: String,
    /// How many times it has been claimed, this claim included (above 1: a worker died on it, or was
    /// too slow to renew its lease).
    pub attempts: u32,
}

/// Where a run's queue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueCounts {
    /// Never claimed.
    pub pending: u64,
    /// Claimed under a lease that has not run out.
    pub claimed: u64,
    /// Claimed, but the lease ran out: claimable again.
    pub expired: u64,
    pub done: u64,
}

impl QueueCounts {
    /// Every item is done.
    pub fn drained(&self) -> bool {
        self.pending + self.claimed + self.expired == 0
    }

    /// All items, whatever their state.
    pub fn total(&self) -> u64 {
        self.pending + self.claimed + self.expired + self.done
    }
}

/// One item as stored, for inspection (tests, operators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemState {
    pub key: String,
    /// `pending`, `claimed` or `done`.
    pub state: String,
    pub claimed_by: Option<String>,
    pub attempts: u32,
    pub finished_by: Option<String>,
}

/// A lease as milliseconds for SQL (at least 1).
fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl Store {
    /// Creates run `id` of `kind` with `config`, the `tasks` it uses (with their source) and its work
    /// `items`, all in one transaction, unless a run with that id exists already: then nothing is
    /// written and that run is returned (`Some`), so concurrent starters enqueue once (the second
    /// insert of the run waits for the first transaction and then finds its row). A run of another
    /// kind is an error.
    pub fn create_queued_run(
        &self,
        id: &str,
        kind: RunKind,
        config: &serde_json::Value,
        tasks: Option<(&str, &[Task])>,
        items: &[NewItem],
    ) -> Result<Option<RunRecord>, StoreError> {
        self.reap_dead_runs()?;
        let me = crate::ledger::this_process();
        self.lock()?.transaction(|tx| {
            let created = tx.execute(
                "INSERT INTO runs (id, kind, created_at, config, status, owner, invocations)
                 VALUES ($1, $2, $3, $4, 'running', $5, 1) ON CONFLICT (id) DO NOTHING",
                params![id, kind.as_str(), crate::now_sql(), config.to_string(), me],
            )?;
            if created == 0 {
                let row = tx
                    .query_opt(
                        &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"),
                        params![id],
                    )?
                    .ok_or_else(|| StoreError::NoSuchRun(id.to_string()))?;
                let run = raw_run(&row)?.into_record()?;
                if run.kind != kind {
                    return Err(StoreError::WrongKind {
                        run_id: id.to_string(),
                        found: run.kind.as_str(),
                        wanted: kind.as_str(),
                    });
                }
                return Ok(Some(run));
            }
            if let Some((source, tasks)) = tasks {
                put_tasks(tx, id, source, tasks)?;
            }
            for (seq, item) in items.iter().enumerate() {
                tx.execute(
                    "INSERT INTO work_items (run_id, item, seq, payload, barrier)
                     VALUES ($1, $2, $3, $4, $5)",
                    params![id, item.key, seq as i64, item.payload, item.barrier],
                )?;
            }
            Ok(None)
        })
    }

    /// Counts this process as one more worker of queued run `id` (`invocations`), and marks the run
    /// `running` again when it had ended `interrupted` or `failed` (every worker of it died), so
    /// starting the same command line again is how a queued run is continued. A `done` run stays done.
    pub fn join_queued_run(&self, id: &str) -> Result<(), StoreError> {
        let changed = self.lock()?.execute(
            "UPDATE runs SET invocations = invocations + 1,
                 owner = CASE WHEN status = 'done' THEN owner ELSE $1 END,
                 finished_at = CASE WHEN status = 'done' THEN finished_at ELSE NULL END,
                 status = CASE WHEN status = 'done' THEN status ELSE 'running' END
             WHERE id = $2",
            params![crate::ledger::this_process(), id],
        )?;
        if changed == 0 {
            return Err(StoreError::NoSuchRun(id.to_string()));
        }
        Ok(())
    }

    /// Claims up to `max` items of run `run_id` for `worker`, in enqueue order: items never claimed,
    /// and items whose lease ran out (their worker died or stalled), each leased to `worker` for
    /// `lease` on the database's clock. Empty when nothing is claimable now (everything is done, or
    /// held under live leases, or only barriers wait on unfinished items).
    pub fn claim_work(
        &self,
        run_id: &str,
        worker: &str,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<WorkItem>, StoreError> {
        let mut conn = self.lock()?;
        let dialect = conn.dialect();
        let now = dialect.now_ms();
        let select = format!(
            "SELECT item, payload, attempts FROM work_items w
             WHERE run_id = $1
               AND (state = 'pending' OR (state = 'claimed' AND lease_until < {now}))
               AND (barrier = 0 OR NOT EXISTS (
                   SELECT 1 FROM work_items o
                   WHERE o.run_id = w.run_id AND o.barrier = 0 AND o.state <> 'done'))
             ORDER BY seq LIMIT $2{}",
            dialect.claim_lock()
        );
        let claim = format!(
            "UPDATE work_items SET state = 'claimed', claimed_by = $1, lease_until = {now} + $2,
                 attempts = attempts + 1
             WHERE run_id = $3 AND item = $4"
        );
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        conn.transaction(|tx| {
            let rows = tx.query(&select, params![run_id, max])?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let item = WorkItem {
                    key: row.get(0)?,
                    payload: row.get(1)?,
                    attempts: row.get::<u32>(2)? + 1,
                };
                tx.execute(&claim, params![worker, lease_ms(lease), run_id, item.key])?;
                out.push(item);
            }
            Ok(out)
        })
    }

    /// Extends the lease of every item of `run_id` that `worker` holds to `lease` from now (the
    /// heartbeat); returns how many it holds. An item another worker took over after this one's lease
    /// ran out is not this worker's any more and is left alone.
    pub fn renew_leases(
        &self,
        run_id: &str,
        worker: &str,
        lease: Duration,
    ) -> Result<u64, StoreError> {
        let mut conn = self.lock()?;
        let now = conn.dialect().now_ms();
        conn.execute(
            &format!(
                "UPDATE work_items SET lease_until = {now} + $1
                 WHERE run_id = $2 AND claimed_by = $3 AND state = 'claimed'"
            ),
            params![lease_ms(lease), run_id, worker],
        )
    }

    /// Marks items done with the audit cells they produced, in one transaction; a cell already stored
    /// (the item was finished by another worker too) is kept as it is.
    pub fn complete_audit_items(
        &self,
        run_id: &str,
        worker: &str,
        keys: &[String],
        results: &[AuditResult],
    ) -> Result<(), StoreError> {
        self.lock()?.transaction(|tx| {
            for r in results {
                put_audit_result(tx, run_id, r, Conflict::Keep)?;
            }
            mark_done(tx, run_id, worker, keys)
        })
    }

    /// Marks items done with the graded rollouts they produced, in one transaction; a rollout id already
    /// stored in the run is kept as it is (with its labels), never stored twice.
    pub fn complete_graded_items(
        &self,
        run_id: &str,
        worker: &str,
        keys: &[String],
        graded: &[GradedRollout],
    ) -> Result<(), StoreError> {
        self.lock()?.transaction(|tx| {
            for g in graded {
                if insert_graded_row(tx, run_id, g, None, Conflict::Keep)? {
                    insert_labels(tx, run_id, g)?;
                }
            }
            mark_done(tx, run_id, worker, keys)
        })
    }

    /// Marks items done that produced no result row (a barrier's work, a rejected input).
    pub fn complete_items(
        &self,
        run_id: &str,
        worker: &str,
        keys: &[String],
    ) -> Result<(), StoreError> {
        self.lock()?
            .transaction(|tx| mark_done(tx, run_id, worker, keys))
    }

    /// Where run `run_id`'s queue stands (all zero for a run without one).
    pub fn queue_counts(&self, run_id: &str) -> Result<QueueCounts, StoreError> {
        let mut conn = self.lock()?;
        let now = conn.dialect().now_ms();
        let row = conn.query_one(
            &format!(
                "SELECT
                   COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN state = 'claimed' AND lease_until >= {now} THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN state = 'claimed' AND lease_until < {now} THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END), 0)
                 FROM work_items WHERE run_id = $1"
            ),
            params![run_id],
        )?;
        let count = |i| row.get::<i64>(i).map(|n| n.max(0) as u64);
        Ok(QueueCounts {
            pending: count(0)?,
            claimed: count(1)?,
            expired: count(2)?,
            done: count(3)?,
        })
    }

    /// Every item of run `run_id`, in enqueue order.
    pub fn work_items(&self, run_id: &str) -> Result<Vec<ItemState>, StoreError> {
        let rows = self.lock()?.query(
            "SELECT item, state, claimed_by, attempts, finished_by FROM work_items
             WHERE run_id = $1 ORDER BY seq",
            params![run_id],
        )?;
        rows.iter().map(item_state).collect()
    }
}

fn item_state(row: &Row) -> Result<ItemState, StoreError> {
    Ok(ItemState {
        key: row.get(0)?,
        state: row.get(1)?,
        claimed_by: row.get(2)?,
        attempts: row.get(3)?,
        finished_by: row.get(4)?,
    })
}

/// Marks `keys` of `run_id` done by `worker` inside `tx`, whoever holds them now (the result is in).
fn mark_done(tx: &mut Conn, run_id: &str, worker: &str, keys: &[String]) -> Result<(), StoreError> {
    for key in keys {
        tx.execute(
            "UPDATE work_items SET state = 'done', finished_by = $1, lease_until = NULL
             WHERE run_id = $2 AND item = $3 AND state <> 'done'",
            params![worker, run_id, key],
        )?;
    }
    Ok(())
}
