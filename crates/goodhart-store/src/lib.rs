//! Where Goodhart keeps what it learned, so an audit or a grading run can be read back, compared and resumed.
//!
//! One SQLite file (default `$GOODHART_HOME/goodhart.db`, see [`Store::default_path`]) holds every run,
//! or, for many processes and machines sharing one store (replicas of `goodhart serve`), a PostgreSQL
//! database named by a `postgres://` URL ([`Location`]). Both backends have the same schema and run the
//! same SQL (see the `db` module); the schema is versioned: [`Store::open`] applies the migrations a
//! database has not seen yet, in order, so a database written by an older Goodhart keeps working when
//! later features add tables.
//!
//! Every write method commits before it returns (SQLite with `synchronous=FULL`; PostgreSQL's commit is
//! durable by default), so once a caller reports success the rows survive a crash or a power cut.
//! Results that a retry or another replica may send again are written insert-if-absent under a result
//! key ([`Store::journal_graded`], [`Store::journal_code_run`]), so they are never counted twice.
//!
//! The store is each run's ledger: a command commits a result here before it shows it anywhere else,
//! resumes from what is here, and computes its summary from here. [`ledger`] keeps the run's status
//! honest: a run names the process driving it, so one whose process died is found and marked
//! `interrupted`, and [`Store::claim_run`] lets a new invocation continue it under the same id.

mod code_runs;
mod db;
mod eval;
pub mod ledger;
mod llm;
mod location;
mod queue;
mod read;
mod schema;
pub mod tls;

pub use code_runs::{CodeRun, CodeRunHack};
pub use eval::EvalRow;
pub use llm::LlmFailure;
pub use location::{redact, Location};
pub use queue::{ItemState, NewItem, QueueCounts, WorkItem};
pub use read::{CellCounts, RolloutSummary};

use db::{params, Conn};
use goodhart_core::{Evidence, GradedRollout, HackKind, Profile, Task};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Everything that can go wrong talking to the store, each naming the file or record involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the directory {path} for the store: {cause}")]
    CreateDir {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot open the store at {path}: {cause}")]
    Open {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    #[error(
        "the store at {path} has schema version {found}, newer than this goodhart knows ({known}); \
         upgrade goodhart or pass --db with another file"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot find a home for the store: set GOODHART_HOME or HOME, or pass --db")]
    NoHome,
    #[error("store query failed: {0}")]
    Sqlite(rusqlite::Error),
    #[error("store query failed: {0}")]
    Postgres(postgres::Error),
    #[error("cannot connect to the PostgreSQL store {url}: {}", with_causes(.cause))]
    Connect { url: String, cause: postgres::Error },
    #[error("TLS settings of the PostgreSQL store {url}: {message}")]
    Tls { url: String, message: String },
    #[error(
        "`{value}` is neither a PostgreSQL URL (postgres://... or postgresql://...) nor a file \
         path; --db and GOODHART_DB take a SQLite file or a PostgreSQL URL"
    )]
    UnsupportedLocation { value: String },
    #[error("stored {what} is not valid JSON: {cause}")]
    Json {
        what: String,
        cause: serde_json::Error,
    },
    #[error("stored {field} has an unknown value `{value}`")]
    BadValue { field: &'static str, value: String },
    #[error("no run with id `{0}` in the store")]
    NoSuchRun(String),
    #[error(
        "there is no store at {path}: this command reads an existing store only (check --db, or \
         GOODHART_HOME for the default)"
    )]
    Missing { path: PathBuf },
    #[error("run {run_id} is a {found} run, not a {wanted} run")]
    WrongKind {
        run_id: String,
        found: &'static str,
        wanted: &'static str,
    },
    #[error(
        "run {run_id} is still running (process {owner}); wait for it to end, or stop it, before \
         continuing it"
    )]
    RunInUse { run_id: String, owner: String },
    #[error("the store's connection lock was poisoned by a panic in another thread")]
    Poisoned,
    /// A reader was pointed at a store written before the schema it needs.
    #[error(
        "the store at {path} has schema version {found}, older than this goodhart reads ({known}); \
         run any recording command on it once to upgrade it"
    )]
    OlderSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

/// What kind of batch a run was, so listings and reports can pick the runs they understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunKind {
    Audit,
    Grade,
    Sample,
    Eval,
    Serve,
}

impl RunKind {
    /// Every kind, in the order listings show them.
    pub const ALL: [RunKind; 5] = [
        RunKind::Audit,
        RunKind::Grade,
        RunKind::Sample,
        RunKind::Eval,
        RunKind::Serve,
    ];

    /// The string stored in `runs.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Audit => "audit",
            RunKind::Grade => "grade",
            RunKind::Sample => "sample",
            RunKind::Eval => "eval",
            RunKind::Serve => "serve",
        }
    }

    fn parse(s: &str) -> Result<RunKind, StoreError> {
        RunKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| StoreError::BadValue {
                field: "runs.kind",
                value: s.to_string(),
            })
    }
}

/// A run as stored, so a later command can find it again and show how it was configured.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Sortable unique id (milliseconds then random bits, hex).
    pub id: String,
    /// What kind of batch it was.
    pub kind: RunKind,
    /// UTC, ISO 8601 with milliseconds.
    pub created_at: String,
    /// The options the run was started with.
    pub config: serde_json::Value,
    /// `running` while a process works on it, then `done`, `failed` or `interrupted` (see [`ledger`]).
    pub status: String,
    pub finished_at: Option<String>,
    /// How many processes have worked on the run: 1, plus one per `--resume`.
    pub invocations: u32,
    /// The training checkpoint the run measured (`--checkpoint NAME`), if it was tagged.
    pub checkpoint: Option<String>,
    /// The training step of that checkpoint (`--step N`), so reports can order runs along training.
    pub step: Option<i64>,
}

/// The config key under which `goodhart serve --service NAME` records the service a replica belongs to.
pub const SERVICE_CONFIG_KEY: &str = "service";

impl RunRecord {
    /// The service this run is a replica session of: `serve` runs started with `--service NAME` carry
    /// it in their config, so replicas sharing a store can be read as one service.
    pub fn service(&self) -> Option<&str> {
        if self.kind != RunKind::Serve {
            return None;
        }
        self.config.get(SERVICE_CONFIG_KEY).and_then(|v| v.as_str())
    }
}

/// A task as a run saw it, so results can be re-read against the exact tests that produced them.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTask {
    /// Where the task came from (`bundled`, a file path, ...).
    pub source: String,
    /// The task exactly as graded.
    pub task: Task,
}

/// One cell of an audit: one exploit (or the reference, or a trivial wrong answer) on one task under one
/// profile.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditResult {
    /// The task's id.
    pub task_id: String,
    /// Exploit name, or `reference` / a trivial-answer name for the validity and strength checks.
    pub exploit: String,
    /// The subject's hack kinds (empty for the reference and probes).
    pub kinds: Vec<HackKind>,
    /// The grader profile of this cell.
    pub profile: Profile,
    /// Whether the profile's pass criterion held.
    pub passed: bool,
    /// Test cases that passed.
    pub tests_passed: u32,
    /// Test cases graded.
    pub tests_total: u32,
    /// The verdict status string (`passed`, `failed`, `timeout`, ...).
    pub status: String,
    /// Grading time of this cell.
    pub duration_ms: f64,
    /// Why the cell failed: the verdict's reason as JSON (see docs/contract.md, "Failure reasons");
    /// `None` for passes and for rows recorded before it existed.
    pub detail: Option<String>,
}

/// A hack label read back from the store, tied to the rollout it was found in.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLabel {
    /// The rollout the label belongs to.
    pub rollout_id: String,
    /// What was found and where.
    pub evidence: Evidence,
}

/// The database behind every Goodhart command, a SQLite file or a PostgreSQL database; shareable across
/// threads.
pub struct Store {
    path: PathBuf,
    conn: Mutex<Conn>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How a store is opened: whether it may be created or upgraded, and whether it may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Existing,
    ReadOnly,
}

impl Store {
    /// Where commands keep their runs unless `--db` says otherwise: `$GOODHART_HOME/goodhart.db`, with
    /// `GOODHART_HOME` defaulting to `~/.local/share/goodhart`.
    pub fn default_path() -> Result<PathBuf, StoreError> {
        if let Some(home) = std::env::var_os("GOODHART_HOME").filter(|h| !h.is_empty()) {
            return Ok(PathBuf::from(home).join("goodhart.db"));
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .ok_or(StoreError::NoHome)?;
        Ok(PathBuf::from(home).join(".local/share/goodhart/goodhart.db"))
    }

    /// Opens (creating if needed) the store at `db` and brings its schema up to date. `db` is a SQLite
    /// file path, or a `postgres://` / `postgresql://` URL (see [`Location::parse`]).
    pub fn open(db: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::connect(Location::parse(db.as_ref())?, Mode::Create)
    }

    /// Opens the store at `db` only if it exists, for commands that read results: a mistyped
    /// `--db` is an error naming it, never a new empty store.
    pub fn open_existing(db: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::connect(Location::parse(db.as_ref())?, Mode::Existing)
    }

    fn connect(location: Location, mode: Mode) -> Result<Store, StoreError> {
        let path = PathBuf::from(location.shown());
        let mut conn = match &location {
            Location::Sqlite(file) => {
                if mode != Mode::Create && !file.is_file() {
                    return Err(StoreError::Missing { path });
                }
                if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                        path: dir.to_path_buf(),
                        cause: source,
                    })?;
                }
                open_sqlite(file, mode)?
            }
            Location::Postgres(url) => open_postgres(url, mode)?,
        };
        let shared = matches!(location, Location::Postgres(_));
        let checked = match mode {
            Mode::ReadOnly => schema::check_current(&mut conn, &path),
            Mode::Existing if shared && !schema::exists(&mut conn)? => {
                Err(StoreError::Missing { path: path.clone() })
            }
            Mode::Existing | Mode::Create => schema::migrate(&mut conn, &path),
        };
        // A file that is not SQLite fails here, on the first read, and is reported with its path.
        checked.map_err(|e| match e {
            StoreError::Sqlite(cause) => StoreError::Open {
                path: path.clone(),
                cause,
            },
            e => e,
        })?;
        Ok(Store {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// The file this store writes (or its URL, password redacted), for messages that tell the user
    /// where results went.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this store is a PostgreSQL database (shared by many processes and machines).
    pub fn is_postgres(&self) -> Result<bool, StoreError> {
        Ok(self.lock()?.dialect() == db::Dialect::Postgres)
    }

    /// The schema version of the open database, so tools can tell which tables exist.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.lock()?
            .query_one("SELECT MAX(version) FROM schema_version", &[])?
            .get(0)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Conn>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Starts a run owned by this process and returns its new id; results written later hang off it.
    /// Runs whose process died are marked `interrupted` on the way (see [`ledger`]).
    pub fn create_run(
        &self,
        kind: RunKind,
        config: &serde_json::Value,
    ) -> Result<String, StoreError> {
        let id = new_run_id();
        self.create_run_with_id(&id, kind, config)?;
        Ok(id)
    }

    /// [`Store::create_run`] under an id the caller chose (eval runs keep their readable
    /// `eval-YYYYMMDD-HHMMSS-xxxx` ids).
    pub fn create_run_with_id(
        &self,
        id: &str,
        kind: RunKind,
        config: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.reap_dead_runs()?;
        self.lock()?.execute(
            "INSERT INTO runs (id, kind, created_at, config, status, owner, invocations)
             VALUES ($1, $2, $3, $4, 'running', $5, 1)",
            params![
                id,
                kind.as_str(),
                now_sql(),
                config.to_string(),
                ledger::this_process()
            ],
        )?;
        Ok(())
    }

    /// Marks a run as ended (`done`, `failed`, ...) so listings can tell finished runs from crashed ones.
    pub fn finish_run(&self, run_id: &str, status: &str) -> Result<(), StoreError> {
        let changed = self.lock()?.execute(
            "UPDATE runs SET status = $1, finished_at = $2 WHERE id = $3",
            params![status, now_sql(), run_id],
        )?;
        if changed == 0 {
            return Err(StoreError::NoSuchRun(run_id.to_string()));
        }
        Ok(())
    }

    /// Tags a run with the training checkpoint it measured, so `compare` and the reports can place it
    /// on the training curve. `None` leaves a field as it is (a resume need not repeat the tags).
    pub fn tag_run(
        &self,
        run_id: &str,
        checkpoint: Option<&str>,
        step: Option<i64>,
    ) -> Result<(), StoreError> {
        let changed = self.lock()?.execute(
            "UPDATE runs SET checkpoint = COALESCE($1, checkpoint), step = COALESCE($2, step)
             WHERE id = $3",
            params![checkpoint, step, run_id],
        )?;
        if changed == 0 {
            return Err(StoreError::NoSuchRun(run_id.to_string()));
        }
        Ok(())
    }

    /// Reads one run back.
    pub fn run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        let row = self.lock()?.query_opt(
            &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"),
            params![run_id],
        )?;
        raw_run(&row.ok_or_else(|| StoreError::NoSuchRun(run_id.to_string()))?)?.into_record()
    }

    /// Lists runs, newest first, optionally only those of one kind.
    pub fn runs(&self, kind: Option<RunKind>) -> Result<Vec<RunRecord>, StoreError> {
        let rows = self.lock()?.query(
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs
                 WHERE CAST($1 AS TEXT) IS NULL OR kind = $1 ORDER BY created_at DESC, rowid DESC"
            ),
            params![kind.map(RunKind::as_str)],
        )?;
        rows.iter().map(|r| raw_run(r)?.into_record()).collect()
    }

    /// The runs tagged with a training step (`--step`), optionally only those of one `--checkpoint`
    /// NAME, ordered along training: by checkpoint name, step, then creation. What training curves
    /// (`goodhart compare --steps`, report pages) are drawn from.
    pub fn tagged_runs(&self, checkpoint: Option<&str>) -> Result<Vec<RunRecord>, StoreError> {
        let rows = self.lock()?.query(
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs
                 WHERE step IS NOT NULL AND (CAST($1 AS TEXT) IS NULL OR checkpoint = $1)
                 ORDER BY checkpoint, step, created_at, rowid"
            ),
            params![checkpoint],
        )?;
        rows.iter().map(|r| raw_run(r)?.into_record()).collect()
    }

    /// Records the tasks a run used, in one transaction.
    pub fn insert_tasks(
        &self,
        run_id: &str,
        source: &str,
        tasks: &[Task],
    ) -> Result<(), StoreError> {
        self.lock()?
            .transaction(|tx| put_tasks(tx, run_id, source, tasks))
    }

    /// Reads back the tasks of a run, in task-id order.
    pub fn tasks(&self, run_id: &str) -> Result<Vec<StoredTask>, StoreError> {
        let rows = self.lock()?.query(
            "SELECT source, task FROM tasks WHERE run_id = $1 ORDER BY task_id",
            params![run_id],
        )?;
        rows.iter()
            .map(|row| {
                Ok(StoredTask {
                    source: row.get(0)?,
                    task: from_json(&row.get::<String>(1)?, "task")?,
                })
            })
            .collect()
    }

    /// Records audit cells in one transaction (re-recording a cell replaces it).
    pub fn insert_audit_results(
        &self,
        run_id: &str,
        results: &[AuditResult],
    ) -> Result<(), StoreError> {
        self.lock()?.transaction(|tx| {
            results
                .iter()
                .try_for_each(|r| put_audit_result(tx, run_id, r, Conflict::Replace))
        })
    }

    /// Reads back an audit's cells, ordered by task, exploit and profile.
    pub fn audit_results(&self, run_id: &str) -> Result<Vec<AuditResult>, StoreError> {
        let rows = self.lock()?.query(
            "SELECT task_id, exploit, kinds, profile, passed, tests_passed, tests_total, status,
                    duration_ms, detail
             FROM audit_results WHERE run_id = $1 ORDER BY task_id, exploit, profile",
            params![run_id],
        )?;
        rows.iter()
            .map(|row| {
                let profile: String = row.get(3)?;
                Ok(AuditResult {
                    task_id: row.get(0)?,
                    exploit: row.get(1)?,
                    kinds: from_json(&row.get::<String>(2)?, "audit kinds")?,
                    profile: profile.parse().map_err(|_| StoreError::BadValue {
                        field: "audit_results.profile",
                        value: profile,
                    })?,
                    passed: row.get(4)?,
                    tests_passed: row.get(5)?,
                    tests_total: row.get(6)?,
                    status: row.get(7)?,
                    duration_ms: row.get(8)?,
                    detail: row.get(9)?,
                })
            })
            .collect()
    }

    /// Records one graded rollout and its hack labels atomically.
    pub fn insert_graded(&self, run_id: &str, graded: &GradedRollout) -> Result<(), StoreError> {
        self.insert_graded_batch(run_id, std::slice::from_ref(graded))
    }

    /// Records many graded rollouts in one transaction (one fsync), for throughput; a rollout id already
    /// in the run is replaced, never duplicated, so a resumed run can re-send a batch safely.
    pub fn insert_graded_batch(
        &self,
        run_id: &str,
        graded: &[GradedRollout],
    ) -> Result<(), StoreError> {
        self.lock()?.transaction(|tx| {
            for g in graded {
                put_graded(tx, run_id, g, None)?;
            }
            Ok(())
        })
    }

    /// Records served rollouts idempotently, in one transaction: each comes with its result key (see
    /// the ledger section of the README), written insert-if-absent, so a key already in the store,
    /// under any run and from any replica, is not stored again. Returns, in order, the record the store
    /// holds for each key (the earlier one for a retried request), so the answer sent is exactly what
    /// the store keeps.
    pub fn journal_graded(
        &self,
        run_id: &str,
        keyed: &[(String, GradedRollout)],
    ) -> Result<Vec<GradedRollout>, StoreError> {
        self.lock()?.transaction(|tx| {
            let mut out = Vec::with_capacity(keyed.len());
            for (key, g) in keyed {
                if insert_graded_row(tx, run_id, g, Some(key), Conflict::Keep)? {
                    insert_labels(tx, run_id, g)?;
                    out.push(g.clone());
                    continue;
                }
                let stored = tx.query_opt(
                    "SELECT record FROM graded_rollouts WHERE request_key = $1",
                    params![key],
                )?;
                match stored {
                    Some(row) => out.push(from_json(&row.get::<String>(0)?, "graded rollout")?),
                    // Not the key: the run already holds this rollout id from another request, which
                    // a new answer replaces (as a resumed run's re-sent rollout does).
                    None => {
                        put_graded(tx, run_id, g, Some(key))?;
                        out.push(g.clone());
                    }
                }
            }
            Ok(out)
        })
    }

    /// Calls `visit` with each stored graded record of a run (its JSON text, exactly as stored), in
    /// the order they were committed, without holding them all in memory.
    pub fn for_each_graded_json(
        &self,
        run_id: &str,
        mut visit: impl FnMut(&str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.lock()?.for_each(
            "SELECT record FROM graded_rollouts WHERE run_id = $1 ORDER BY rowid",
            params![run_id],
            |row| visit(&row.get::<String>(0)?),
        )
    }

    /// The rollout ids a run has already graded, so a resumed run skips them.
    pub fn graded_ids(&self, run_id: &str) -> Result<HashSet<String>, StoreError> {
        let rows = self.lock()?.query(
            "SELECT rollout_id FROM graded_rollouts WHERE run_id = $1",
            params![run_id],
        )?;
        rows.iter().map(|r| r.get(0)).collect()
    }

    /// Reads back a run's graded rollouts (the full records), in insertion order.
    pub fn graded_rollouts(&self, run_id: &str) -> Result<Vec<GradedRollout>, StoreError> {
        let mut out = Vec::new();
        self.for_each_graded_json(run_id, |json| {
            out.push(from_json(json, "graded rollout")?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Reads back a run's hack labels, ordered by rollout, file and line.
    pub fn hack_labels(&self, run_id: &str) -> Result<Vec<StoredLabel>, StoreError> {
        let rows = self.lock()?.query(
            "SELECT rollout_id, kind, detector, file, line, message FROM hack_labels
             WHERE run_id = $1 ORDER BY rollout_id, file, line, id",
            params![run_id],
        )?;
        rows.iter()
            .map(|row| {
                let kind: String = row.get(1)?;
                let kind = kind.parse().map_err(|_| StoreError::BadValue {
                    field: "hack_labels.kind",
                    value: kind,
                })?;
                Ok(StoredLabel {
                    rollout_id: row.get(0)?,
                    evidence: Evidence {
                        kind,
                        detector: row.get(2)?,
                        file: row.get(3)?,
                        line: row.get(4)?,
                        message: row.get(5)?,
                    },
                })
            })
            .collect()
    }
}

/// Opens a SQLite file: WAL (readers never block the writer), `synchronous=FULL` (a commit survives a
/// power cut), a 30 s busy timeout; read-only mode never writes, not even a migration.
fn open_sqlite(path: &Path, mode: Mode) -> Result<Conn, StoreError> {
    use rusqlite::{Connection, OpenFlags};
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        cause: source,
    };
    let conn = if mode == Mode::ReadOnly {
        Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?
    } else {
        Connection::open(path).map_err(open_err)?
    };
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    if mode != Mode::ReadOnly {
        set_wal(&conn).map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
    }
    Ok(Conn::Sqlite(conn))
}

/// How long a SQLite connection waits for another one's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Puts a SQLite file in WAL mode. Several processes opening one new file together (workers of one
/// `--join` run) race for this switch, and SQLite answers the losers `database is locked` at once,
/// without waiting in the busy handler (seen 5 times in 150 runs of four threads opening one new
/// file), so a busy answer is retried here for up to [`BUSY_TIMEOUT`].
fn set_wal(conn: &rusqlite::Connection) -> Result<(), rusqlite::Error> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// `e` followed by every cause under it that it does not already say (the driver's "error performing TLS
/// handshake" says nothing of the certificate problem that its source names).
fn with_causes(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = s.source();
    }
    text
}

/// Connects to PostgreSQL, encrypted as the URL's `sslmode` asks (libpq's meanings, [`tls`]), with a
/// 10 s connect timeout unless the URL sets one; a read-only store's session refuses every write.
fn open_postgres(url: &str, mode: Mode) -> Result<Conn, StoreError> {
    let shown = location::redact(url);
    let connect_err = |cause| StoreError::Connect {
        url: shown.clone(),
        cause,
    };
    let tls_params = tls::params(url, &shown)?;
    let tls_config = tls::client_config(&tls_params, &shown)?;
    let mut config: postgres::Config = tls_params.driver_url.parse().map_err(connect_err)?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("goodhart");
    }
    let client = db::off_runtime(|| {
        let mut client = match tls_config {
            Some(c) => config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(c))?,
            None => config.connect(postgres::NoTls)?,
        };
        if mode == Mode::ReadOnly {
            client.batch_execute("SET default_transaction_read_only = on")?;
        }
        Ok(client)
    })
    .map_err(connect_err)?;
    Ok(Conn::Postgres(Box::new(db::Pg::new(client))))
}

/// What to do when a result row's key (a graded row's request key or rollout id, an audit cell) is
/// already stored.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Conflict {
    /// Keep the stored row (insert-if-absent).
    Keep,
    /// An error: the caller removed the old row first.
    Fail,
    /// Overwrite the stored row with the new values (audit cells re-recorded by a resumed run).
    Replace,
}

/// Records the tasks a run used inside `tx` (a task recorded again is updated).
fn put_tasks(tx: &mut Conn, run_id: &str, source: &str, tasks: &[Task]) -> Result<(), StoreError> {
    for task in tasks {
        let json = to_json(task, "task")?;
        tx.execute(
            "INSERT INTO tasks (run_id, task_id, source, hardened_isolated, task)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (run_id, task_id) DO UPDATE SET source = excluded.source,
                 hardened_isolated = excluded.hardened_isolated, task = excluded.task",
            params![run_id, task.id, source, task.hardened_isolated(), json],
        )?;
    }
    Ok(())
}

/// Writes one audit cell inside `tx`; with [`Conflict::Keep`] a cell already stored stays as it is.
fn put_audit_result(
    tx: &mut Conn,
    run_id: &str,
    r: &AuditResult,
    conflict: Conflict,
) -> Result<(), StoreError> {
    let kinds = to_json(&r.kinds, "audit kinds")?;
    let on_conflict = match conflict {
        Conflict::Keep => "ON CONFLICT DO NOTHING",
        Conflict::Fail => "",
        Conflict::Replace => {
            "ON CONFLICT (run_id, task_id, exploit, profile) DO UPDATE SET
                 kinds = excluded.kinds, passed = excluded.passed,
                 tests_passed = excluded.tests_passed, tests_total = excluded.tests_total,
                 status = excluded.status, duration_ms = excluded.duration_ms,
                 detail = excluded.detail"
        }
    };
    tx.execute(
        &format!(
            "INSERT INTO audit_results
             (run_id, task_id, exploit, kinds, profile, passed, tests_passed, tests_total,
              status, duration_ms, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) {on_conflict}"
        ),
        params![
            run_id,
            r.task_id,
            r.exploit,
            kinds,
            r.profile.as_str(),
            r.passed,
            r.tests_passed,
            r.tests_total,
            r.status,
            r.duration_ms,
            r.detail
        ],
    )?;
    Ok(())
}

/// Inserts a graded row; `false` when [`Conflict::Keep`] found one already stored.
fn insert_graded_row(
    tx: &mut Conn,
    run_id: &str,
    g: &GradedRollout,
    request_key: Option<&str>,
    conflict: Conflict,
) -> Result<bool, StoreError> {
    let r = &g.rollout;
    let record = to_json(g, "graded rollout")?;
    let sql = match conflict {
        // Graded rows are replaced by deleting the old one first (see `put_graded`).
        Conflict::Keep | Conflict::Replace => concat!(
            "INSERT INTO graded_rollouts (run_id, rollout_id, task_id, framing, step, model, record, ",
            "reward, hack_attempted, hack_succeeded, request_key) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"
        ),
        Conflict::Fail => concat!(
            "INSERT INTO graded_rollouts (run_id, rollout_id, task_id, framing, step, model, record, ",
            "reward, hack_attempted, hack_succeeded, request_key) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
    };
    let n = tx.execute(
        sql,
        params![
            run_id,
            r.id,
            r.task_id,
            r.framing,
            r.step,
            r.model,
            record,
            g.reward,
            g.hack.attempted,
            g.hack.succeeded,
            request_key
        ],
    )?;
    Ok(n == 1)
}

fn insert_labels(tx: &mut Conn, run_id: &str, g: &GradedRollout) -> Result<(), StoreError> {
    for e in &g.hack.evidence {
        tx.execute(
            "INSERT INTO hack_labels (run_id, rollout_id, kind, detector, file, line, message)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            params![
                run_id,
                g.rollout.id,
                e.kind.as_str(),
                e.detector,
                e.file,
                e.line,
                e.message
            ],
        )?;
    }
    Ok(())
}

/// Writes one graded rollout and its labels inside `tx`, replacing an earlier record of the same id in
/// the run (removed first, so the new one is last in insertion order, as SQLite's `INSERT OR REPLACE`
/// used to leave it).
fn put_graded(
    tx: &mut Conn,
    run_id: &str,
    g: &GradedRollout,
    request_key: Option<&str>,
) -> Result<(), StoreError> {
    let id = &g.rollout.id;
    tx.execute(
        "DELETE FROM hack_labels WHERE run_id = $1 AND rollout_id = $2",
        params![run_id, id],
    )?;
    tx.execute(
        "DELETE FROM graded_rollouts WHERE run_id = $1 AND rollout_id = $2",
        params![run_id, id],
    )?;
    insert_graded_row(tx, run_id, g, request_key, Conflict::Fail)?;
    insert_labels(tx, run_id, g)
}

/// The columns [`raw_run`] reads, in its order.
pub(crate) const RUN_COLUMNS: &str =
    "id, kind, created_at, config, status, finished_at, invocations, checkpoint, step";

struct RawRun {
    id: String,
    kind: String,
    created_at: String,
    config: String,
    status: String,
    finished_at: Option<String>,
    invocations: u32,
    checkpoint: Option<String>,
    step: Option<i64>,
}

fn raw_run(r: &db::Row) -> Result<RawRun, StoreError> {
    Ok(RawRun {
        id: r.get(0)?,
        kind: r.get(1)?,
        created_at: r.get(2)?,
        config: r.get(3)?,
        status: r.get(4)?,
        finished_at: r.get(5)?,
        invocations: r.get(6)?,
        checkpoint: r.get(7)?,
        step: r.get(8)?,
    })
}

impl RawRun {
    fn into_record(self) -> Result<RunRecord, StoreError> {
        let what = format!("config of run {}", self.id);
        Ok(RunRecord {
            kind: RunKind::parse(&self.kind)?,
            config: from_json(&self.config, &what)?,
            id: self.id,
            created_at: self.created_at,
            status: self.status,
            finished_at: self.finished_at,
            invocations: self.invocations,
            checkpoint: self.checkpoint,
            step: self.step,
        })
    }
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Json {
        what: what.to_string(),
        cause: source,
    })
}

fn from_json<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|source| StoreError::Json {
        what: what.to_string(),
        cause: source,
    })
}

/// Now, as the store writes times: UTC, ISO 8601 with milliseconds (`2026-12-07T16:30:00.123Z`).
pub fn now_utc() -> String {
    now_sql()
}

/// UTC timestamp with milliseconds, as text that sorts chronologically.
pub(crate) fn now_sql() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format_utc(now.as_secs(), now.subsec_millis())
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (civil-from-days, proleptic Gregorian).
fn format_utc(secs: u64, millis: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A sortable, collision-resistant run id: milliseconds since the epoch then 64 random bits, in hex.
fn new_run_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    format!("{ms:012x}{:016x}", rand::random::<u64>())
}

// The query's cause is in the message, so it is not also a `source()`: `{err:#}` prints it once.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        StoreError::Postgres(e)
    }
}

#[cfg(test)]
mod testdb;
#[cfg(test)]
mod tests;
