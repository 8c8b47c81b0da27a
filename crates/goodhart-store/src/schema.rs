//! The schema, as an append-only list of migrations, so old databases upgrade in place.
//!
//! To add tables or columns, append a new entry to [`MIGRATIONS`]; never edit a shipped one. Each entry
//! serves both backends: the few type names that differ are placeholders ([`Dialect::render`]): `{pk}`,
//! `{int}`, `{real}` and `{rowid}`.

use crate::db::{params, Conn, Dialect};
use crate::StoreError;
use std::path::Path;

/// Migration `i` brings a database from version `i` to version `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: runs, the tasks they used, audit cells, graded rollouts and their hack labels.
    "CREATE TABLE runs (
        id          TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        config      TEXT NOT NULL,
        status      TEXT NOT NULL,
        finished_at TEXT{rowid}
    );
    CREATE INDEX runs_kind ON runs (kind, created_at);
    CREATE TABLE tasks (
        run_id            TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        task_id           TEXT NOT NULL,
        source            TEXT NOT NULL,
        hardened_isolated {int} NOT NULL,
        task              TEXT NOT NULL,
        PRIMARY KEY (run_id, task_id)
    );
    CREATE TABLE audit_results (
        run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        task_id      TEXT NOT NULL,
        exploit      TEXT NOT NULL,
        kinds        TEXT NOT NULL,
        profile      TEXT NOT NULL,
        passed       {int} NOT NULL,
        tests_passed {int} NOT NULL,
        tests_total  {int} NOT NULL,
        status       TEXT NOT NULL,
        duration_ms  {real} NOT NULL,
        PRIMARY KEY (run_id, task_id, exploit, profile)
    );
    CREATE TABLE graded_rollouts (
        run_id         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        rollout_id     TEXT NOT NULL,
        task_id        TEXT NOT NULL,
        framing        TEXT,
        step           {int},
        model          TEXT,
        record         TEXT NOT NULL,
        reward         {real},
        hack_attempted {int} NOT NULL,
        hack_succeeded {int} NOT NULL{rowid},
        UNIQUE (run_id, rollout_id)
    );
    CREATE INDEX graded_rollouts_step ON graded_rollouts (run_id, framing, step);
    CREATE TABLE hack_labels (
        id         {pk},
        run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        rollout_id TEXT NOT NULL,
        kind       TEXT NOT NULL,
        detector   TEXT NOT NULL,
        file       TEXT NOT NULL,
        line       {int} NOT NULL,
        message    TEXT NOT NULL
    );
    CREATE INDEX hack_labels_rollout ON hack_labels (run_id, rollout_id);",
    // 2: why an audit cell failed (the verdict's reason as JSON; NULL for passes and older rows).
    "ALTER TABLE audit_results ADD COLUMN detail TEXT;",
    // 3: the run ledger. `owner` names the process driving a `running` run (so a dead one can be found
    // and marked `interrupted`), `invocations` counts the processes that worked on it (a resume adds
    // one); `request_key` makes a served rollout idempotent (a retried request is stored once);
    // `code_runs` keeps every `/run_code` execution; the eval tables, which goodhart-evals used to
    // create outside this list, join the common `runs` table (an `eval_runs` row becomes a `runs` row
    // of kind `eval`, status `finished` becomes `done`).
    "ALTER TABLE runs ADD COLUMN owner TEXT;
    ALTER TABLE runs ADD COLUMN invocations {int} NOT NULL DEFAULT 1;
    ALTER TABLE graded_rollouts ADD COLUMN request_key TEXT;
    CREATE UNIQUE INDEX graded_rollouts_request_key ON graded_rollouts (request_key)
        WHERE request_key IS NOT NULL;
    CREATE TABLE code_runs (
        id             {pk},
        run_id         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        created_at     TEXT NOT NULL,
        step           {int},
        language       TEXT NOT NULL,
        status         TEXT NOT NULL,
        return_code    {int},
        execution_time {real},
        code           TEXT NOT NULL,
        stdout         TEXT,
        stderr         TEXT
    );
    CREATE INDEX code_runs_step ON code_runs (run_id, step);
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
        epoch     {int} NOT NULL,
        label     TEXT NOT NULL,
        record    TEXT NOT NULL,
        PRIMARY KEY (run_id, eval, sample_id, epoch)
    );
    INSERT INTO runs (id, kind, created_at, config, status)
        SELECT id, 'eval', created_at, config,
               CASE status WHEN 'finished' THEN 'done' ELSE status END
        FROM eval_runs;
    CREATE TABLE eval_results (
        run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        eval      TEXT NOT NULL,
        sample_id TEXT NOT NULL,
        epoch     {int} NOT NULL,
        label     TEXT NOT NULL,
        record    TEXT NOT NULL,
        PRIMARY KEY (run_id, eval, sample_id, epoch)
    );
    INSERT INTO eval_results SELECT run_id, eval, sample_id, epoch, label, record FROM eval_samples;
    DROP TABLE eval_samples;
    DROP TABLE eval_runs;
    ALTER TABLE eval_results RENAME TO eval_samples;",
    // 4: which training checkpoint a run measured (`--checkpoint NAME --step N` on `eval` and `sample`),
    // so reports can draw hack rate and misalignment against training step.
    "ALTER TABLE runs ADD COLUMN checkpoint TEXT;
    ALTER TABLE runs ADD COLUMN step {int};
    CREATE INDEX runs_checkpoint ON runs (checkpoint, step);",
    // 5: how a `/run_code` execution ended and which limit ended it (its CPU-time limit, the wall-clock
    // cap, memory or output), with the CPU seconds it used, as graded verdicts say it.
    "ALTER TABLE code_runs ADD COLUMN ending TEXT;
    ALTER TABLE code_runs ADD COLUMN limit_hit TEXT;
    ALTER TABLE code_runs ADD COLUMN cpu_time {real};",
    // 6: storage the store now owns for every backend, and result keys. The language-model response
    // cache and failure log, which goodhart-llm used to create beside the store (so an older file may
    // have them already), and a key per `/run_code` execution that a retry reproduces, written
    // insert-if-absent so retries and replicas store each execution once (graded rollouts have theirs
    // in `request_key` since 3).
    "CREATE TABLE IF NOT EXISTS llm_cache (
        key        TEXT PRIMARY KEY,
        model      TEXT NOT NULL,
        response   TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS llm_failures (
        run_id      TEXT NOT NULL,
        sample_id   TEXT NOT NULL,
        grp         TEXT NOT NULL,
        kind        TEXT NOT NULL,
        message     TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (run_id, sample_id)
    );
    ALTER TABLE code_runs ADD COLUMN result_key TEXT;
    CREATE UNIQUE INDEX code_runs_result_key ON code_runs (result_key)
        WHERE result_key IS NOT NULL;",
    // 7: `/run_code` executions matched to a known stdin/stdout task (by their stdin) carry the task
    // and the detectors' hack labels, so verl's SandboxFusion path is labelled like `/v1/grade`.
    "ALTER TABLE code_runs ADD COLUMN task_id TEXT;
    ALTER TABLE code_runs ADD COLUMN hack_attempted INTEGER;
    ALTER TABLE code_runs ADD COLUMN hack_kinds TEXT;",
    // 8: a work queue per run, so many processes on many machines share one audit or grade
    // (`--join RUN_ID`; see the `queue` module). `item` is an opaque key, `payload` opaque text, `seq`
    // the enqueue order claims follow; `state` is `pending`, `claimed` (by `claimed_by` until
    // `lease_until`, milliseconds since the Unix epoch on the database's clock) or `done` (by
    // `finished_by`); `attempts` counts claims. A `barrier` item is claimable only once every other
    // item of its run is done.
    "CREATE TABLE work_items (
        run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        item        TEXT NOT NULL,
        seq         {int} NOT NULL,
        payload     TEXT NOT NULL,
        barrier     {int} NOT NULL DEFAULT 0,
        state       TEXT NOT NULL DEFAULT 'pending',
        claimed_by  TEXT,
        lease_until {int},
        attempts    {int} NOT NULL DEFAULT 0,
        finished_by TEXT,
        PRIMARY KEY (run_id, item)
    );
    CREATE INDEX work_items_claim ON work_items (run_id, state, seq);",
];

/// The version a database has once every migration this build knows has run.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Applies the migrations `conn` has not seen, each in its own transaction with its version bump.
pub(crate) fn migrate(conn: &mut Conn, path: &Path) -> Result<(), StoreError> {
    migrate_to(conn, path, LATEST)
}

/// Whether the database holds a store at all (its `schema_version` table).
pub(crate) fn exists(conn: &mut Conn) -> Result<bool, StoreError> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        }
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM pg_tables
             WHERE tablename = 'schema_version' AND schemaname = ANY (current_schemas(false))"
        }
    };
    Ok(conn.query_one(sql, &[])?.get::<i64>(0)? > 0)
}

/// The version `conn` is at: 0 for an empty database.
fn version(conn: &mut Conn) -> Result<i64, StoreError> {
    conn.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
        .get(0)
}

/// For readers that never write: the database must be exactly at [`LATEST`].
pub(crate) fn check_current(conn: &mut Conn, path: &Path) -> Result<(), StoreError> {
    if !exists(conn)? {
        return Err(StoreError::Missing {
            path: path.to_path_buf(),
        });
    }
    let found = version(conn)?;
    if found > LATEST {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known: LATEST,
        });
    }
    if found < LATEST {
        return Err(StoreError::OlderSchema {
            path: path.to_path_buf(),
            found,
            known: LATEST,
        });
    }
    Ok(())
}

/// [`migrate`], stopping at version `target` (tests build old databases with it).
///
/// Each step re-reads the version inside its transaction, under a lock (SQLite's write lock; on
/// PostgreSQL an advisory lock), so replicas starting together on one empty database migrate it once.
pub(crate) fn migrate_to(conn: &mut Conn, path: &Path, target: i64) -> Result<(), StoreError> {
    let dialect = conn.dialect();
    let create = format!(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version    INTEGER PRIMARY KEY,
            applied_at TEXT NOT NULL DEFAULT {}
        );",
        dialect.now_default()
    );
    let target = target.clamp(0, LATEST);
    loop {
        let done = conn.transaction(|tx| {
            if dialect == Dialect::Postgres {
                tx.query("SELECT pg_advisory_xact_lock($1)", params![MIGRATION_LOCK])?;
            }
            tx.batch(&create)?;
            let found = version(tx)?;
            if found > LATEST {
                return Err(StoreError::NewerSchema {
                    path: path.to_path_buf(),
                    found,
                    known: LATEST,
                });
            }
            if found >= target {
                return Ok(true);
            }
            tx.batch(&dialect.render(MIGRATIONS[found as usize]))?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                params![found + 1],
            )?;
            Ok(false)
        })?;
        if done {
            return Ok(());
        }
    }
}

/// The advisory-lock id PostgreSQL migrations hold (any fixed number; "goodhart" in ASCII).
const MIGRATION_LOCK: i64 = 0x676f_6f64_6861_7274;

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a, to pin shipped migration text without copying it.
    fn fnv(text: &str) -> u64 {
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    #[test]
    fn shipped_migrations_render_for_sqlite_exactly_as_shipped() {
        // The texts of migrations 1-5 as released (before the dialect placeholders): an existing SQLite
        // database must see the same schema whichever build created it.
        let shipped = [
            0x25df_9b63_b6d4_0363,
            0xa296_6f35_f9b2_9225,
            0x4c14_9610_91cf_4c32,
            0x2586_d665_5c3f_d9e0,
            0xee7b_4f76_20fa_caa7,
        ];
        for (i, want) in shipped.into_iter().enumerate() {
            let got = fnv(&Dialect::Sqlite.render(MIGRATIONS[i]));
            assert_eq!(got, want, "migration {} changed for SQLite", i + 1);
        }
    }

    #[test]
    fn postgres_rendering_leaves_no_placeholder_or_sqlite_type() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            let pg = Dialect::Postgres.render(m);
            assert!(
                !pg.contains('{') && !pg.contains(" REAL"),
                "migration {}: {pg}",
                i + 1
            );
            assert!(!pg.contains("INTEGER PRIMARY KEY"), "migration {}", i + 1);
        }
    }
}
