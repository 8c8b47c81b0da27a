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
        } else {
            sweep_stale();
        }
        ok
    })
}

/// Removes the empty cgroups of Goodhart processes that are gone.
///
/// A process killed with SIGKILL never runs its workers' `Drop`, so its cgroups stay behind. They cost
/// nothing while empty, but PIDs are recycled (`pid_max` is often 32768): a later process with the same
/// PID would find its names taken. `rmdir` of a cgroup that still holds processes fails, so a live
/// worker's cgroup is never touched.
fn sweep_stale() {
    for c in ["memory", "pids"] {
        let Ok(entries) = fs::read_dir(Path::new(ROOT).join(c).join("goodhart")) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.split('-').next()) else {
                continue;
            };
            if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
                let _ = fs::remove_dir(entry.path());
            }
        }
    }
}

/// Makes the cgroup directory `dir`, first removing a stale empty one of the same name.
///
/// The name holds this process's PID; a dead process with the same PID may have left the directory.
fn make_fresh(dir: &Path) -> bool {
    match fs::create_dir(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            fs::remove_dir(dir).is_ok() && fs::create_dir(dir).is_ok()
        }
        Err(_) => false,
    }
}

impl Cgroup {
    /// Makes a fresh pair of cgroups for one worker; `None` where cgroups are unavailable.
    pub(crate) fn create() -> Option<Cgroup> {
        if !available() {
            return None;
        }
        // A name still held by a live cgroup (another process's, after a PID namespace reuse) is skipped.
        for _ in 0..8 {
            let name = format!(
                "{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            if let Some(cgroup) = Cgroup::create_named(&name) {
                return Some(cgroup);
            }
        }
        static WARNED: OnceLock<()> = OnceLock::new();
        WARNED.get_or_init(|| {
            eprintln!("goodhart: could not make a worker cgroup under {ROOT}/{{memory,pids}}/goodhart; this worker is limited with rlimits only");
        });
        None
    }

    fn create_named(name: &str) -> Option<Cgroup> {
        let memory = Path::new(ROOT).join("memory/goodhart").join(name);
        let pids = Path::new(ROOT).join("pids/goodhart").join(name);
        let mut procs = Vec::new();
        let mut made = Vec::new();
        for dir in [&memory, &pids] {
            let file = make_fresh(dir)
                .then(|| {
                    made.push(dir.clone());
                    OpenOptions::new()
                        .write(true)
                        .open(dir.join("cgroup.procs"))
                        .ok()
                })
                .flatten();
            let Some(file) = file else {
                for dir in made {
                    let _ = fs::remove_dir(dir);
                }
                return None;
            };
            procs.push(file);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A killed process's empty cgroup under this process's next name (the PID was recycled) is
    /// replaced, not a reason to run without cgroups.
    #[test]
    fn a_stale_cgroup_with_our_next_name_is_replaced() {
        if !available() {
            return;
        }
        let next = format!("{}-{}", std::process::id(), NEXT.load(Ordering::Relaxed));
        for c in ["memory", "pids"] {
            let dir = Path::new(ROOT).join(c).join("goodhart").join(&next);
            fs::create_dir(&dir).expect("make a stale cgroup");
        }
        let cgroup = Cgroup::create().expect("a cgroup despite the stale one");
        assert!(cgroup.memory.ends_with(&next), "{:?}", cgroup.memory);
        assert!(cgroup.pids.ends_with(&next), "{:?}", cgroup.pids);
    }

    /// Empty cgroups of processes that are gone are removed when cgroups are first used.
    #[test]
    fn empty_cgroups_of_dead_processes_are_swept() {
        if !available() {
            return;
        }
        // PIDs above pid_max's ceiling (4194304) never belong to a live process.
        let dir = Path::new(ROOT).join("pids/goodhart/4194999-0");
        fs::create_dir(&dir).expect("make a stale cgroup");
        sweep_stale();
        assert!(!dir.exists());
    }
}
