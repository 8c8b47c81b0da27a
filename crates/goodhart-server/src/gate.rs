//! The bounded queue in front of the sandbox: trainers send bursts far wider than the machine, so requests
//! wait their turn instead of being refused, and only a request that waited past its deadline is turned
//! away, with the 504 that verl's client retries on.

use goodhart_sandbox::{Outcome, Program};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// What runs a program; the server holds one for its lifetime (the real one is `goodhart_sandbox`'s).
pub trait Runner: Send + Sync + 'static {
    /// Runs one program to completion; blocking, so the gate calls it on the blocking pool.
    fn run(&self, program: &Program) -> Outcome;
}

/// Why a request could not get a turn in the sandbox.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GateError {
    #[error("the run queue is full ({0} requests waiting); retry later")]
    QueueFull(usize),
    #[error("waited {0:?} in the run queue without getting a turn; retry later")]
    WaitedTooLong(Duration),
    #[error("the sandbox worker stopped unexpectedly: {0}")]
    Worker(String),
}

impl Runner for goodhart_sandbox::Sandbox {
    fn run(&self, program: &Program) -> Outcome {
        goodhart_sandbox::Sandbox::run(self, program)
    }
}

/// How wide the gate is and how long a request may wait at it.
#[derive(Debug, Clone, PartialEq)]
pub struct GateConfig {
    /// Programs running at once.
    pub workers: usize,
    /// Requests allowed to wait for a turn; more get [`GateError::QueueFull`].
    pub max_queued: usize,
    /// Longest wait for a turn before [`GateError::WaitedTooLong`].
    pub max_wait: Duration,
}

impl Default for GateConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        GateConfig {
            workers: cores * 2,
            max_queued: 65_536,
            max_wait: Duration::from_secs(600),
        }
    }
}

/// Admits at most `workers` programs into the runner at once and queues the rest.
pub struct Gate {
    runner: Arc<dyn Runner>,
    permits: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
    config: GateConfig,
}

impl Gate {
    /// Puts a gate of the given shape in front of `runner`.
    pub fn new(runner: Arc<dyn Runner>, config: GateConfig) -> Self {
        Gate {
            runner,
            permits: Arc::new(Semaphore::new(config.workers.max(1))),
            queued: Arc::new(AtomicUsize::new(0)),
            running: Arc::new(AtomicUsize::new(0)),
            config,
        }
    }

    /// Requests waiting for a turn right now (the `/metrics` queue depth).
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Programs in the runner right now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Waits for a turn, then runs `program` on the blocking pool.
    pub async fn run(&self, program: Program) -> Result<Outcome, GateError> {
        self.run_within(program, self.config.max_wait).await
    }

    /// Like [`Gate::run`], but gives up waiting after `max_wait` when that is sooner than the gate's own
    /// deadline (a client that will stop listening earlier is better served by a quick 504).
    pub async fn run_within(
        &self,
        program: Program,
        max_wait: Duration,
    ) -> Result<Outcome, GateError> {
        self.run_answering_by(program, max_wait, None).await
    }

    /// Like [`Gate::run_within`], for a client that gives up at `deadline`: once the program's turn
    /// comes, its wall-clock cap is cut to the time left before the deadline (never below its CPU
    /// limit), so the answer arrives while the client still waits for it.
    pub async fn run_answering_by(
        &self,
        mut program: Program,
        max_wait: Duration,
        deadline: Option<std::time::Instant>,
    ) -> Result<Outcome, GateError> {
        let runner = Arc::clone(&self.runner);
        self.admit_within(
            move || {
                if let (Some(deadline), Some(limits)) = (deadline, program.limits.as_mut()) {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    limits.wall = limits.wall.min(left.max(limits.cpu));
                }
                runner.run(&program)
            },
            max_wait,
        )
        .await
    }

    /// Waits for a turn, then runs any blocking sandbox work (`f`) on the blocking pool.
    pub async fn admit<T, F>(&self, f: F) -> Result<T, GateError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.admit_within(f, self.config.max_wait).await
    }

    async fn admit_within<T, F>(&self, f: F, max_wait: Duration) -> Result<T, GateError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let max_wait = max_wait.min(self.config.max_wait);
        let (waiting, queued) = Counted::enter(&self.queued);
        if waiting >= self.config.max_queued {
            return Err(GateError::QueueFull(waiting));
        }
        let permit =
            tokio::time::timeout(max_wait, Arc::clone(&self.permits).acquire_owned()).await;
        drop(queued);
        let permit = match permit {
            Ok(Ok(permit)) => permit,
            Ok(Err(closed)) => return Err(GateError::Worker(closed.to_string())),
            Err(_) => return Err(GateError::WaitedTooLong(max_wait)),
        };
        let (_, running) = Counted::enter(&self.running);
        let joined = tokio::task::spawn_blocking(move || {
            let _running = running;
            let _permit = permit;
            f()
        })
        .await;
        joined.map_err(|e| GateError::Worker(e.to_string()))
    }
}

/// Holds a counter up while alive, so a request that is cancelled (its client went away) or whose work
/// panicked never leaves the queue depth or the running count too high.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    /// Increments `counter`; returns its previous value and the guard that decrements it again.
    fn enter(counter: &Arc<AtomicUsize>) -> (usize, Counted) {
        let before = counter.fetch_add(1, Ordering::SeqCst);
        (before, Counted(Arc::clone(counter)))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goodhart_sandbox::Status;
    use std::collections::BTreeMap;

    struct Sleepy(Duration);

    impl Runner for Sleepy {
        fn run(&self, program: &Program) -> Outcome {
            std::thread::sleep(self.0);
            Outcome {
                status: Status::Ok,
                exit_code: Some(0),
                stdout: program.main.clone().into_bytes(),
                stderr: Vec::new(),
                wall: self.0,
                cpu: Duration::ZERO,
                peak_memory_bytes: 0,
                files: BTreeMap::new(),
            }
        }
    }

    fn gate(workers: usize, max_queued: usize, max_wait: Duration) -> Arc<Gate> {
        let runner = Arc::new(Sleepy(Duration::from_millis(100)));
        Arc::new(Gate::new(
            runner,
            GateConfig {
                workers,
                max_queued,
                max_wait,
            },
        ))
    }

    #[tokio::test]
    async fn waiting_past_the_deadline_is_an_error_not_a_hang() {
        let gate = gate(1, 16, Duration::from_millis(20));
        let first = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.run(Program::default()).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let second = gate.run(Program::default()).await;
        assert_eq!(
            second,
            Err(GateError::WaitedTooLong(Duration::from_millis(20)))
        );
        assert!(first.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_a_wide_one_serves_everyone() {
        let narrow = gate(1, 0, Duration::from_secs(5));
        assert_eq!(
            narrow.run(Program::default()).await,
            Err(GateError::QueueFull(0))
        );

        let wide = gate(2, 64, Duration::from_secs(5));
        let runs: Vec<_> = (0..8)
            .map(|i| {
                let gate = Arc::clone(&wide);
                tokio::spawn(async move {
                    gate.run(Program {
                        main: format!("p{i}"),
                        ..Program::default()
                    })
                    .await
                })
            })
            .collect();
        for (i, run) in runs.into_iter().enumerate() {
            assert_eq!(
                run.await.unwrap().unwrap().stdout,
                format!("p{i}").into_bytes()
            );
        }
        assert_eq!(wide.queued(), 0);
        assert_eq!(wide.running(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_wait_leaves_the_queue_depth_alone() {
        let gate = gate(1, 16, Duration::from_secs(5));
        let busy = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.run(Program::default()).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let waiting =
            tokio::time::timeout(Duration::from_millis(20), gate.run(Program::default())).await;
        assert!(waiting.is_err(), "the second run should still be waiting");
        assert_eq!(gate.queued(), 0, "the dropped waiter must leave the queue");
        assert!(busy.await.unwrap().is_ok());
        assert_eq!(gate.running(), 0);
    }
}
