//! The pool: warm workers handed to callers one run at a time, from any number of threads.

use crate::config::{Mode, SandboxConfig};
use crate::jail;
use crate::worker::{allowed_cores, bwrap_command, Image, Worker};
use crate::{Launcher, Outcome, Program, SandboxError, Status};
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// Runs hostile Python isolated and limited; share one across threads (`Send + Sync`).
pub struct Sandbox {
    config: SandboxConfig,
    pool: Mutex<Pool>,
    freed: Condvar,
}

/// Per image: idle workers, least recently used first (its next run's namespaces have had the longest to
/// get ready), and how many exist (idle or busy); fresh mode uses only `live` as a run counter.
struct Pool {
    idle: [VecDeque<Worker>; 2],
    live: [usize; 2],
    /// The cores runs are spread over, each with the runs in progress on it; empty when runs are not
    /// pinned (see `SandboxConfig::pin_runs`).
    cores: Vec<(usize, usize)>,
}

/// A worker to run on: one from the pool, or leave to start one.
enum Ticket {
    Idle(Worker),
    Spawn,
}

/// Which of the pool's two sets a program's run uses (fresh mode has one).
fn slot(mode: Mode, image: Image) -> usize {
    match (mode, image) {
        (Mode::Pool, Image::Stdlib) => 1,
        _ => 0,
    }
}

impl Sandbox {
    /// Checks the machine (interpreter, launcher) and, in pool mode, starts the warm workers.
    pub fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        if !config.python.exists() {
            return Err(SandboxError::NoPython {
                tried: config.python.display().to_string(),
            });
        }
        let mut config = config;
        config.launcher = choose_launcher(&config)?;
        config.pool_size = config.pool_size.max(1);
        // The pytest image is started up front (it takes longest); the plain one on first use.
        let mut idle = [VecDeque::new(), VecDeque::new()];
        if config.mode == Mode::Pool {
            for _ in 0..config.pool_size {
                idle[0].push_back(Worker::spawn(&config, Mode::Pool, Image::Pytest, None)?);
            }
        }
        let live = [idle[0].len(), 0];
        let mut cores: Vec<(usize, usize)> = match config.pin_runs {
            true => allowed_cores().into_iter().map(|c| (c, 0)).collect(),
            false => Vec::new(),
        };
        // One core leaves nothing to choose; pinning to it would only cost the system calls.
        if cores.len() < 2 {
            cores.clear();
        }
        Ok(Sandbox {
            config,
            pool: Mutex::new(Pool { idle, live, cores }),
            freed: Condvar::new(),
        })
    }

    /// [`SandboxConfig::discover`] then [`Sandbox::new`]: the usual way to get a sandbox.
    pub fn discover() -> Result<Sandbox, SandboxError> {
        Sandbox::new(SandboxConfig::discover()?)
    }

    /// The configuration in force (pool size, default limits, mode).
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Runs one program and says how it ended; blocks while every worker is busy. Never panics.
    pub fn run(&self, program: &Program) -> Outcome {
        let limits = program.limits.as_ref().unwrap_or(&self.config.limits);
        let started = Instant::now();
        let image = Image::for_program(program);
        let slot = slot(self.config.mode, image);
        let ticket = self.take(slot);
        let core = self.claim_core();
        let spawned = match ticket {
            Ticket::Idle(worker) => Ok(worker),
            Ticket::Spawn => {
                // Fresh mode starts each worker on the run's core; a pool server moves there per run.
                let at = core.filter(|_| self.config.mode == Mode::Fresh);
                let spawned = Worker::spawn(&self.config, self.config.mode, image, at);
                if spawned.is_err() {
                    self.give_back(slot, None);
                }
                spawned
            }
        };
        let mut worker = match spawned {
            Ok(w) => w,
            Err(err) => {
                self.release_core(core);
                return Outcome::ended(Status::SandboxError(err.to_string()), started.elapsed());
            }
        };
        let answer = worker.run(program, limits, core);
        self.release_core(core);
        match self.config.mode {
            Mode::Pool if answer.reusable => self.give_back(slot, Some(worker)),
            Mode::Pool => {
                drop(worker);
                self.give_back(slot, None);
            }
            Mode::Fresh => {
                if answer.reusable {
                    worker.finish();
                } else {
                    drop(worker);
                }
                self.give_back(slot, None);
            }
        }
        answer.outcome
    }

    /// A free worker of the set: an idle one, leave to start one while under the pool size, or the next
    /// freed.
    fn take(&self, slot: usize) -> Ticket {
        let mut pool = self.lock();
        loop {
            if let Some(worker) = pool.idle[slot].pop_front() {
                return Ticket::Idle(worker);
            }
            if pool.live[slot] < self.config.pool_size {
                pool.live[slot] += 1;
                return Ticket::Spawn;
            }
            pool = self.freed.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The core with the fewest runs on it now (the first such), counted as taken; `None` when runs
    /// are not pinned.
    fn claim_core(&self) -> Option<usize> {
        let mut pool = self.lock();
        let least = pool.cores.iter_mut().min_by_key(|(_, runs)| *runs)?;
        least.1 += 1;
        Some(least.0)
    }

    /// Gives back a core from [`Sandbox::claim_core`].
    fn release_core(&self, core: Option<usize>) {
        let Some(core) = core else { return };
        let mut pool = self.lock();
        if let Some((_, runs)) = pool.cores.iter_mut().find(|(c, _)| *c == core) {
            *runs = runs.saturating_sub(1);
        }
    }

    /// Returns a worker to its set (`None`: it is gone, a new one may be started in its place).
    fn give_back(&self, slot: usize, worker: Option<Worker>) {
        let mut pool = self.lock();
        match worker {
            Some(w) => pool.idle[slot].push_back(w),
            None => pool.live[slot] -= 1,
        }
        drop(pool);
        self.freed.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, Pool> {
        // A panic elsewhere while holding the lock leaves the pool itself consistent.
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The launcher workers will use: the one asked for, else bwrap when installed, else the built-in one,
/// which is tried once here so that a machine without user namespaces gets a clear error up front.
fn choose_launcher(config: &SandboxConfig) -> Result<Launcher, SandboxError> {
    let builtin = || {
        jail::probe(&bwrap_command(config, Mode::Fresh, Image::Pytest)).map(|()| Launcher::Builtin)
    };
    match config.launcher {
        Launcher::Auto if on_path("bwrap") => Ok(Launcher::Bwrap),
        Launcher::Auto => builtin().map_err(|builtin| SandboxError::NoBubblewrap { builtin }),
        Launcher::Bwrap if on_path("bwrap") => Ok(Launcher::Bwrap),
        Launcher::Bwrap => Err(SandboxError::LauncherUnusable {
            launcher: Launcher::Bwrap.name(),
            reason: "bubblewrap (`bwrap`) is not on PATH".into(),
        }),
        Launcher::Builtin => builtin().map_err(|reason| SandboxError::LauncherUnusable {
            launcher: Launcher::Builtin.name(),
            reason,
        }),
    }
}

/// Whether an executable of that name is on PATH.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
        .unwrap_or(false)
}
