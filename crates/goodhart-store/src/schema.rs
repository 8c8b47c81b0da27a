//! The schema, as an append-only list of migrations, so old databases upgrade in place.
//!
//! To add tables or columns, append a new entry to [`MIGRATIONS`]; never edit a shipped one.

use crate::StoreError;
use rusqlite::Connection;
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
        finished_at TEXT
    );
    CREATE INDEX runs_kind ON runs (kind, created_at);
    CREATE TABLE tasks (
        run_id            TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        task_id           TEXT NOT NULL,
        source            TEXT NOT NULL,
        hardened_isolated INTEGER NOT NULL,
        task              TEXT NOT NULL,
        PRIMARY KEY (run_id, task_id)
    );
    CREATE TABLE audit_results (
        run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        task_id      TEXT NOT NULL,
        exploit      TEXT NOT NULL,
        kinds        TEXT NOT NULL,
        profile      TEXT NOT NULL,
        passed       INTEGER NOT NULL,
        tests_passed INTEGER NOT NULL,
        tests_total  INTEGER NOT NULL,
        status       TEXT NOT NULL,
        duration_ms  REAL NOT NULL,
        PRIMARY KEY (run_id, task_id, exploit, profile)
    );
    CREATE TABLE graded_rollouts (
        run_id         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        rollout_id     TEXT NOT NULL,
        task_id        TEXT NOT NULL,
        framing        TEXT,
        step           INTEGER,
        model          TEXT,
        record         TEXT NOT NULL,
        reward         REAL,
        hack_attempted INTEGER NOT NULL,
        hack_succeeded INTEGER NOT NULL,
        UNIQUE (run_id, rollout_id)
    );
    CREATE INDEX graded_rollouts_step ON graded_rollouts (run_id, framing, step);
    CREATE TABLE hack_labels (
        id         INTEGER PRIMARY KEY,
        run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        rollout_id TEXT NOT NULL,
        kind       TEXT NOT NULL,
        detector   TEXT NOT NULL,
        file       TEXT NOT NULL,
        line       INTEGER NOT NULL,
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
    ALTER TABLE runs ADD COLUMN invocations INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE graded_rollouts ADD COLUMN request_key TEXT;
    CREATE UNIQUE INDEX graded_rollouts_request_key ON graded_rollouts (request_key)
        WHERE request_key IS NOT NULL;
    CREATE TABLE code_runs (
        id             INTEGER PRIMARY KEY,
        run_id         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        created_at     TEXT NOT NULL,
        step           INTEGER,
        language       TEXT NOT NULL,
        status         TEXT NOT NULL,
        return_code    INTEGER,
        execution_time REAL,
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
        epoch     INTEGER NOT NULL,
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
        epoch     INTEGER NOT NULL,
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
    ALTER TABLE runs ADD COLUMN step INTEGER;
    CREATE INDEX runs_checkpoint ON runs (checkpoint, step);",
    // 5: how a `/run_code` execution ended and which limit ended it (its CPU-time limit, the wall-clock
    // cap, memory or output), with the CPU seconds it used, as graded verdicts say it.
    "ALTER TABLE code_runs ADD COLUMN ending TEXT;
    ALTER TABLE code_runs ADD COLUMN limit_hit TEXT;
    ALTER TABLE code_runs ADD COLUMN cpu_time REAL;",
];

/// The version a database has once every migration this build knows has run.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Applies the migrations `conn` has not seen, each in its own transaction with its version bump.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    migrate_to(conn, path, LATEST)
}

/// [`migrate`], stopping at version `target` (tests build old databases with it).
pub(crate) fn migrate_to(
    conn: &mut Connection,
    path: &Path,
    target: i64,
) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version    INTEGER PRIMARY KEY,
            applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );",
    )?;
    let found: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    if found > LATEST {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known: LATEST,
        });
    }
    let upto = target.clamp(0, LATEST) as usize;
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(upto)
        .skip(found as usize)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [i as i64 + 1],
        )?;
        tx.commit()?;
    }
    Ok(())
}
