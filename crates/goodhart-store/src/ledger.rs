//! Run statuses and who owns a run, so a run killed in any way never stays `running` for ever and can
//! be continued under its own id.
//!
//! A run is `running` while a process works on it, and names that process in `runs.owner` (host,
//! boot id, pid and the process's start time, so a recycled pid is not mistaken for it). It ends
//! `done` (the job finished; some inputs may have failed), `failed` (the job could not finish) or
//! `interrupted` (stopped by a signal, or found dead). A run whose owner no longer exists is found
//! dead the next time any command starts or continues a run in the same store, and marked
//! `interrupted`. [`Store::claim_run`] hands a run to a new invocation (`--resume RUN_ID`): the same
//! id, status `running` again, the new process as owner, `invocations` one higher.

use crate::db::{params, Dialect};
use crate::{now_sql, raw_run, RunKind, RunRecord, Store, StoreError, RUN_COLUMNS};

/// The statuses a run can have.
pub const RUNNING: &str = "running";
/// The job finished (exit 0, or 1 when some inputs failed).
pub const DONE: &str = "done";
/// The job could not finish (an error stopped it).
pub const FAILED: &str = "failed";
/// Stopped by Ctrl-C, or its process was found dead; continue it with `--resume RUN_ID`.
pub const INTERRUPTED: &str = "interrupted";

/// This process as an owner string: `HOST BOOT_ID PID START_TICKS`.
pub fn this_process() -> String {
    owner_of(std::process::id()).unwrap_or_else(|| format!("{} - {} -", host(), std::process::id()))
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".to_string())
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|b| b.trim().to_string())
}

/// The owner string of process `pid` on this machine, if it exists.
fn owner_of(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at state; starttime is field 22.
    let rest = &stat[stat.rfind(')')? + 1..];
    let start = rest.split_whitespace().nth(19)?;
    Some(format!("{} {} {pid} {start}", host(), boot_id()?))
}

/// Whether the process `owner` names is alive: `Some(false)` when it is provably gone (same host, and
/// a reboot since or no process with that pid and start time), `None` when this machine cannot tell
/// (another host, or no owner recorded by an older Goodhart).
pub fn owner_alive(owner: &str) -> Option<bool> {
    let parts: Vec<&str> = owner.split(' ').collect();
    let [owner_host, boot, pid, _start] = parts[..] else {
        return None;
    };
    if owner_host != host() {
        return None;
    }
    if Some(boot) != boot_id().as_deref() {
        return Some(false);
    }
    let pid: u32 = pid.parse().ok()?;
    Some(owner_of(pid).as_deref() == Some(owner))
}

impl Store {
    /// Marks every `running` run whose process is provably dead as `interrupted`; returns their ids.
    pub fn reap_dead_runs(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.lock()?;
        let running = conn.query("SELECT id, owner FROM runs WHERE status = 'running'", &[])?;
        let mut reaped = Vec::new();
        for row in running {
            let (id, owner): (String, Option<String>) = (row.get(0)?, row.get(1)?);
            if owner.as_deref().and_then(owner_alive) == Some(false) {
                conn.execute(
                    "UPDATE runs SET status = $1, finished_at = $2 WHERE id = $3 AND status = 'running'",
                    params![INTERRUPTED, now_sql(), id],
                )?;
                reaped.push(id);
            }
        }
        Ok(reaped)
    }

    /// Hands run `run_id` (of `kind`) to this process so it can continue it: refused while another
    /// live process owns it; a dead owner's run is first marked `interrupted`. Returns the run as it
    /// was before this claim (its status says how the last invocation ended).
    pub fn claim_run(&self, run_id: &str, kind: RunKind) -> Result<RunRecord, StoreError> {
        self.reap_dead_runs()?;
        let me = this_process();
        self.lock()?.transaction(|tx| {
            // FOR UPDATE on PostgreSQL: two processes claiming one run at once are serialized (SQLite's
            // transaction already holds the write lock).
            let lock = match tx.dialect() {
                Dialect::Sqlite => "",
                Dialect::Postgres => " FOR UPDATE",
            };
            let row = tx
                .query_opt(
                    &format!("SELECT {RUN_COLUMNS}, owner FROM runs WHERE id = $1{lock}"),
                    params![run_id],
                )?
                .ok_or_else(|| StoreError::NoSuchRun(run_id.to_string()))?;
            let owner: Option<String> = row.get(9)?;
            let record = raw_run(&row)?.into_record()?;
            if record.kind != kind {
                return Err(StoreError::WrongKind {
                    run_id: run_id.to_string(),
                    found: record.kind.as_str(),
                    wanted: kind.as_str(),
                });
            }
            if record.status == RUNNING {
                let owner = owner.unwrap_or_default();
                if owner != me && owner_alive(&owner) != Some(false) && !owner.is_empty() {
                    return Err(StoreError::RunInUse {
                        run_id: run_id.to_string(),
                        owner,
                    });
                }
            }
            tx.execute(
                "UPDATE runs SET status = 'running', owner = $1, finished_at = NULL,
                 invocations = invocations + 1 WHERE id = $2",
                params![me, run_id],
            )?;
            Ok(record)
        })
    }
}
