//! Time limits are CPU seconds of the run's whole process tree, with a much larger wall-clock cap: the
//! verdict of a CPU-bound program does not change when the machine is busy, and splitting the work over
//! processes does not buy more time.

mod common;

use common::{out, short_limits};
use goodhart_sandbox::{Limits, Outcome, Program, Sandbox, SandboxConfig, Status};
use std::time::Duration;

/// Burns `SECONDS` of CPU (measured by the process itself), then prints how much it used.
fn burn(seconds: f64) -> String {
    format!(
        "import time\nt = time.process_time()\nwhile time.process_time() - t < {seconds}:\n    pass\n\
         print('burned', round(time.process_time() - t, 2))\n"
    )
}

fn run_with(sandbox: &Sandbox, main: String, limits: Limits) -> Outcome {
    sandbox.run(&Program {
        main,
        limits: Some(limits),
        ..Program::default()
    })
}

fn sandbox_of(pool_size: usize) -> Sandbox {
    let mut config = SandboxConfig::discover().unwrap();
    config.pool_size = pool_size;
    config.limits = short_limits();
    Sandbox::new(config).unwrap()
}

#[test]
fn the_wall_cap_is_four_times_the_cpu_limit_and_five_seconds() {
    assert_eq!(
        Limits::wall_cap(Duration::from_secs(3)),
        Duration::from_secs(17)
    );
    let limits = Limits::default();
    assert_eq!(limits.cpu, Duration::from_secs(10));
    assert_eq!(limits.wall, Duration::from_secs(45));
    let short = short_limits().with_cpu(Duration::from_millis(500));
    assert_eq!(
        (short.cpu, short.wall),
        (Duration::from_millis(500), Duration::from_secs(7))
    );
    assert_eq!(short.memory_bytes, short_limits().memory_bytes);
}

/// Three processes of 0.6 s of CPU each stay under a per-process limit of 1 s, but not under the run's.
#[test]
fn cpu_spread_over_child_processes_counts_against_the_run() {
    let sandbox = sandbox_of(1);
    let main = format!(
        "import os\nkids = []\nfor _ in range(3):\n    pid = os.fork()\n    if pid == 0:\n        \
         exec({:?})\n        os._exit(0)\n    kids.append(pid)\nfor pid in kids:\n    os.waitpid(pid, 0)\n\
         print('all done')\n",
        burn(0.6)
    );
    let limits = short_limits().with_cpu(Duration::from_secs(1));
    let o = run_with(&sandbox, main, limits);
    assert_eq!(o.status, Status::CpuLimit, "{o:?}");
    assert!(!out(&o).contains("all done"), "{o:?}");
    assert!(o.cpu >= Duration::from_millis(950), "{o:?}");
}

/// A program that needs 1.2 s of CPU passes a 2 s CPU limit while every core runs two busy sandboxed
/// programs at once (it gets about half a core, so its wall time passes the CPU limit).
#[test]
fn a_cpu_bound_program_keeps_its_verdict_beside_busy_sandboxed_neighbours() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let neighbours = (2 * cores - 1).min(7);
    let sandbox = sandbox_of(neighbours + 1);
    let limits = short_limits().with_cpu(Duration::from_secs(2));
    let outcome = std::thread::scope(|scope| {
        let busy: Vec<_> = (0..neighbours)
            .map(|_| {
                scope.spawn(|| {
                    run_with(
                        &sandbox,
                        burn(3.5),
                        short_limits().with_cpu(Duration::from_secs(4)),
                    )
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let o = run_with(&sandbox, burn(1.2), limits.clone());
        for b in busy {
            let n = b.join().unwrap();
            assert_eq!(n.status, Status::Ok, "a neighbour: {n:?}");
        }
        o
    });
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert!(out(&outcome).starts_with("burned 1.2"), "{outcome:?}");
    if cores <= 4 {
        assert!(
            outcome.wall > limits.cpu,
            "the neighbours did not slow the run down, so this test proved nothing: {outcome:?}"
        );
    }
}

/// A program that sleeps uses no CPU: the wall-clock cap ends it, and the outcome says so.
#[test]
fn a_sleeping_program_ends_at_the_wall_cap() {
    let sandbox = sandbox_of(1);
    let limits = short_limits().with_cpu(Duration::from_millis(200));
    let o = run_with(
        &sandbox,
        "import time\ntime.sleep(60)\n".into(),
        limits.clone(),
    );
    assert_eq!(o.status, Status::WallTimeout, "{o:?}");
    assert!(o.wall >= limits.wall, "{o:?}");
    assert!(o.describe().contains("wall-clock cap"), "{}", o.describe());
}
