//! One sandbox shared by every test in a binary, and small builders for programs.

#![allow(dead_code)]

use goodhart_sandbox::{Limits, Outcome, Program, Sandbox, SandboxConfig, Status};
use std::sync::OnceLock;
use std::time::Duration;

/// The shared sandbox (a pool of 3 so that concurrent-run tests have room).
pub fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let mut config = SandboxConfig::discover().unwrap();
        config.pool_size = 3;
        config.limits = short_limits();
        Sandbox::new(config).unwrap()
    })
}

/// Short limits so that hostile programs end fast.
pub fn short_limits() -> Limits {
    Limits {
        wall: Duration::from_secs(2),
        cpu: Duration::from_secs(1),
        memory_bytes: 128 << 20,
        max_procs: 32,
        max_file_bytes: 4 << 20,
        max_open_files: 64,
        max_output_bytes: 64 << 10,
    }
}

/// Runs a source as main.py with the shared sandbox's defaults.
pub fn run(main: &str) -> Outcome {
    sandbox().run(&Program {
        main: main.to_string(),
        ..Program::default()
    })
}

/// Stdout as text.
pub fn out(o: &Outcome) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn err(o: &Outcome) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the sandbox still runs a trivial program correctly (called after every hostile one).
pub fn assert_next_run_works() {
    let o = run("print('still fine')");
    assert_eq!(o.status, Status::Ok, "next run broken: {o:?}");
    assert_eq!(out(&o), "still fine\n");
}
