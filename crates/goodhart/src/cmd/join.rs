//! What `--join RUN_ID` shares across commands (`audit`, `grade`): many processes, on one machine or
//! many, working through one run's queue in the store (`goodhart_store`'s `queue` module).
//!
//! Every worker runs the same command line. The first to arrive creates the run and enqueues its work
//! (the command decides what an item is); the others find the run, are refused if their options differ
//! from it, and join. Each worker then claims items one at a time on each of its grading threads, does
//! them, and commits each item's results together with its completion. A heartbeat thread, on a
//! connection of its own, renews the leases of the items this worker holds every third of the lease.
//! When nothing is claimable a worker waits (items held by live workers) and claims again (items whose
//! worker died come back when their lease runs out), until every item is done. Then each worker
//! reports the whole run from the store.

use goodhart_store::{ledger, Store, WorkItem};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

/// The flags `--join` brings to a command.
#[derive(clap::Args, Debug, Clone)]
pub struct JoinArgs {
    /// Work on run RUN_ID together with every other process started with the same `--join RUN_ID`
    /// and `--db`, on this machine or others (use a postgres:// --db for several machines). The first
    /// to arrive creates the run and queues its work in the store; every worker then pulls items from
    /// the queue until none is left, waits for items others hold (taking over those whose worker died,
    /// see --lease), and prints the whole run's result. Give every worker the same command line (the
    /// pods of a Kubernetes Job, a loop over ssh): a worker whose options differ from the run's is
    /// refused, naming each difference. Running the command again continues a run whose workers all
    /// died. RUN_ID: 1 to 100 letters, digits, `.`, `_` or `-`.
    #[arg(long, value_name = "RUN_ID", value_parser = run_id, conflicts_with = "resume")]
    pub join: Option<String>,
    /// With --join: seconds a claimed item stays this worker's without a heartbeat. A live worker
    /// renews its items every third of this; a worker that dies (killed, its machine gone) leaves its
    /// items to the others once their lease runs out, and an item done twice is stored once.
    #[arg(
        long,
        value_name = "SECS",
        env = "GOODHART_LEASE_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub lease: u64,
}

/// Checks a `--join` run id: it names the run in the store and in every worker's command line.
fn run_id(s: &str) -> Result<String, String> {
    let ok = (1..=100).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not a run id for --join: use 1 to 100 letters, digits, `.`, `_` or `-`"
        ))
    }
}

/// This process's part in a queued run.
pub struct Worker<'a> {
    pub store: &'a Store,
    pub run_id: &'a str,
    /// Who claims: this process as the run ledger names owners (host, boot id, pid, start time).
    pub id: String,
    pub lease: Duration,
}

impl<'a> Worker<'a> {
    pub fn new(store: &'a Store, run_id: &'a str, args: &JoinArgs) -> Worker<'a> {
        Worker {
            store,
            run_id,
            id: ledger::this_process(),
            lease: Duration::from_secs(args.lease),
        }
    }

    /// Works through the queue on `threads` threads, calling `handle` for each claimed item (which
    /// must complete it in the store), until every item of the run is done; returns how many items
    /// this process did. The heartbeat opens its own connection to `db`. The first error stops this
    /// worker (its items go back to the queue when their leases run out) and is returned.
    pub fn work(
        &self,
        db: &Path,
        threads: usize,
        handle: impl Fn(&WorkItem) -> anyhow::Result<()> + Sync,
    ) -> anyhow::Result<u64> {
        let beat_store = Store::open(db)?;
        let poll = (self.lease / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
        let stop = AtomicBool::new(false);
        let done = AtomicU64::new(0);
        let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        let (stop_beat, beat_stopped) = mpsc::channel::<()>();
        std::thread::scope(|s| {
            let beat_store = &beat_store;
            s.spawn(move || self.heartbeat(beat_store, &beat_stopped));
            let workers: Vec<_> = (0..threads.max(1))
                .map(|_| {
                    s.spawn(|| {
                        // A panicking thread must stop the others too: its item stays claimed and
                        // this process's heartbeat would keep renewing it, so they would wait for ever.
                        let pulled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            self.pull(&handle, &stop, &done, poll)
                        }))
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a grading thread panicked")));
                        if let Err(e) = pulled {
                            stop.store(true, Ordering::Relaxed);
                            if let Ok(mut f) = failure.lock() {
                                f.get_or_insert(e);
                            }
                        }
                    })
                })
                .collect();
            for w in workers {
                let _ = w.join();
            }
            drop(stop_beat);
        });
        match failure.into_inner().ok().flatten() {
            Some(e) => Err(e.context(format!(
                "this worker of run {} stopped; the items it held go back to the queue when their \
                 lease runs out: start the same command again to help finish the run",
                self.run_id
            ))),
            None => Ok(done.into_inner()),
        }
    }

    /// One grading thread: claim, do, repeat; wait while others hold the rest; return once drained.
    fn pull(
        &self,
        handle: &(impl Fn(&WorkItem) -> anyhow::Result<()> + Sync),
        stop: &AtomicBool,
        done: &AtomicU64,
        poll: Duration,
    ) -> anyhow::Result<()> {
        while !stop.load(Ordering::Relaxed) {
            let claimed = self
                .store
                .claim_work(self.run_id, &self.id, self.lease, 1)?;
            match claimed.first() {
                Some(item) => {
                    handle(item)?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                None if self.store.queue_counts(self.run_id)?.drained() => return Ok(()),
                None => std::thread::sleep(poll),
            }
        }
        Ok(())
    }

    /// Renews this worker's leases every third of the lease until `stopped` says the work is over. A
    /// failed renewal is said once and retried: the items are only lost to this worker (and done again
    /// by another) if renewals keep failing for a whole lease.
    fn heartbeat(&self, store: &Store, stopped: &mpsc::Receiver<()>) {
        let mut warned = false;
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(self.lease / 3) {
            if let Err(e) = store.renew_leases(self.run_id, &self.id, self.lease) {
                if !warned {
                    eprintln!("goodhart: cannot renew this worker's leases (retrying): {e}");
                    warned = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_checked() {
        assert!(run_id("audit-2026.12_08").is_ok());
        for bad in ["", "a b", "x/y", &"a".repeat(101)] {
            assert!(run_id(bad).is_err(), "{bad:?}");
        }
    }
}
