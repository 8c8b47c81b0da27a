//! Per-worker cgroup v1 (memory, pids): the kernel-enforced limits for a run's whole process tree.
//!
//! rlimits are per process; a fork bomb or a run that splits its memory over many children gets past them.
//! The cgroup counts every process of the worker, so the Rust side sets its limits before each request.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Where the v1 controllers are mounted on these machines.
const ROOT: &str = "/sys/fs/cgroup";
/// Processes of a worker besides the run's own: bwrap and its init, the harness and its server, the
/// namespace factory and the one it is forking, this run's holder, and the next run's holder and user process.
const WORKER_PROCS: u32 = 12;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// One worker's memory and pids cgroups.
#[derive(Debug)]
pub(crate) struct Cgroup {
    memory: PathBuf,
    pids: PathBuf,
    /// `cgroup.procs` of each, opened before fork so the spawned process can join without allocating.
    procs: Vec<File>,
}

/// Whether cgroups can be used here; the first caller learns it and says so once if they cannot.
pub(crate) fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let ok = ["memory", "pids"].iter().all(|c| {
            let dir = Path::new(ROOT).join(c).join("goodhart");
            fs::create_dir_all(&dir).is_ok() && dir.join("cgroup.procs").exists()
        });
        if !ok {
            eprintln!("goodhart: cgroups (v1 memory, pids) are not writable here; limiting runs with rlimits only");
        }
        ok
    })
}

impl Cgroup {
    /// Makes a fresh pair of cgroups for one worker; `None` where cgroups are unavailable.
    pub(crate) fn create() -> Option<Cgroup> {
        if !available() {
            return None;
        }
        let name = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let memory = Path::new(ROOT).join("memory/goodhart").join(&name);
        let pids = Path::new(ROOT).join("pids/goodhart").join(&name);
        let mut procs = Vec::new();
        for dir in [&memory, &pids] {
            fs::create_dir(dir).ok()?;
            procs.push(
                OpenOptions::new()
                    .write(true)
                    .open(dir.join("cgroup.procs"))
                    .ok()?,
            );
        }
        Some(Cgroup {
            memory,
            pids,
            procs,
        })
    }

    /// Descriptors the child writes "0" into (before exec) to join the cgroups.
    pub(crate) fn join_fds(&self) -> Vec<RawFd> {
        self.procs.iter().map(AsRawFd::as_raw_fd).collect()
    }

    /// Sets this run's limits (memory on top of what the idle server already uses); returns the OOM-kill count.
    pub(crate) fn prepare(&self, memory_bytes: u64, max_procs: u32) -> u64 {
        let usage = read_u64(&self.memory.join("memory.usage_in_bytes")).unwrap_or(0);
        write(
            &self.memory.join("memory.limit_in_bytes"),
            &(usage + memory_bytes).to_string(),
        );
        write(
            &self.pids.join("pids.max"),
            &(max_procs + WORKER_PROCS).to_string(),
        );
        self.oom_kills()
    }

    /// How many processes the kernel OOM-killed in this cgroup so far.
    pub(crate) fn oom_kills(&self) -> u64 {
        let text = fs::read_to_string(self.memory.join("memory.oom_control")).unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // The worker was killed just before; its processes may take a moment to leave.
        for dir in [&self.memory, &self.pids] {
            for _ in 0..50 {
                if fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
    }
}

fn read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn write(path: &Path, value: &str) {
    if let Ok(mut f) = OpenOptions::new().write(true).open(path) {
        let _ = f.write_all(value.as_bytes());
    }
}
