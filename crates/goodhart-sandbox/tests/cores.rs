//! Runs at once are spread over the machine's cores, one core each, and everything a run starts stays on
//! its core; `pin_runs = false` leaves them free.

mod common;

use common::{out, sandbox, short_limits};
use goodhart_sandbox::{Program, Sandbox, SandboxConfig, Status};

/// The cores this test process may use, as the sandbox sees them.
fn host_cores() -> Vec<usize> {
    // SAFETY: sched_getaffinity fills a set of the size given; CPU_ISSET reads within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// Prints the run's cores, then those of a process it forks, as `[..] [..]`; then stays a while so
/// that runs started together overlap.
const SHOW_CORES: &str = r#"
import os, time
mine = sorted(os.sched_getaffinity(0))
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(w, repr(sorted(os.sched_getaffinity(0))).encode())
    os._exit(0)
os.waitpid(pid, 0)
print(mine, os.read(r, 1000).decode())
time.sleep(0.4)
"#;

fn cores_of_runs_at_once(sandbox: &Sandbox, n: usize) -> Vec<String> {
    let program = Program {
        main: SHOW_CORES.into(),
        ..Program::default()
    };
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..n)
            .map(|_| scope.spawn(|| sandbox.run(&program)))
            .collect();
        runs.into_iter()
            .map(|run| {
                let o = run.join().unwrap();
                assert_eq!(o.status, Status::Ok, "{o:?}");
                out(&o).trim().to_string()
            })
            .collect()
    })
}

#[test]
fn runs_at_once_each_get_a_core_of_their_own_and_keep_their_children_on_it() {
    let host = host_cores();
    let seen = cores_of_runs_at_once(sandbox(), 2);
    if host.len() < 2 {
        // One core leaves nothing to spread: runs may use it, as everything else does.
        for line in &seen {
            assert_eq!(line, &format!("{host:?} {host:?}"));
        }
        return;
    }
    let mut cores = Vec::new();
    for line in &seen {
        let (mine, child) = line.split_once(' ').unwrap();
        assert_eq!(mine, child, "a forked process left the run's core: {line}");
        let core: usize = mine
            .trim_matches(|c| c == '[' || c == ']')
            .parse()
            .unwrap_or_else(|_| panic!("not one core: {line}"));
        assert!(
            host.contains(&core),
            "{core} is not a core of this host {host:?}"
        );
        cores.push(core);
    }
    assert_ne!(
        cores[0], cores[1],
        "two runs at once shared a core: {seen:?}"
    );
}

#[test]
fn with_pinning_off_a_run_may_use_every_core() {
    let mut config = SandboxConfig::discover().unwrap();
    config.pool_size = 1;
    config.limits = short_limits();
    config.pin_runs = false;
    let sandbox = Sandbox::new(config).unwrap();
    let host = host_cores();
    assert_eq!(
        cores_of_runs_at_once(&sandbox, 1),
        [format!("{host:?} {host:?}")]
    );
}
