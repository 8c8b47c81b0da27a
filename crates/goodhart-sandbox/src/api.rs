//! The contract other crates code against. Implementation lives in sibling modules.

use std::collections::BTreeMap;
use std::time::Duration;

/// Resource limits for one run; every field is enforced, none is advisory.
///
/// The time limit that decides verdicts is `cpu`: CPU seconds of the run's whole process tree, which do
/// not change with the machine's load. `wall` is only a cap for programs that sleep or block, and should
/// be much larger ([`Limits::wall_cap`]): a wall limit close to the CPU limit would stop a CPU-bound
/// program on a busy machine that passes on a quiet one.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Wall-clock cap from start of the user code to its end (see [`Limits::wall_cap`]).
    pub wall: Duration,
    /// CPU time, summed over the run's processes: the time limit.
    pub cpu: Duration,
    /// Memory of the whole run (all its processes), in bytes.
    pub memory_bytes: u64,
    /// Processes and threads the run may have at once.
    pub max_procs: u32,
    /// Largest file the run may write, in bytes.
    pub max_file_bytes: u64,
    /// Open file descriptors per process.
    pub max_open_files: u32,
    /// Bytes of stdout and of stderr kept; more is cut and the status says so.
    pub max_output_bytes: usize,
}

impl Limits {
    /// How many times the CPU limit the wall-clock cap allows (see [`Limits::wall_cap`]).
    pub const WALL_FACTOR: u32 = 4;
    /// Wall-clock time every cap allows beyond `WALL_FACTOR` times the CPU limit (see [`Limits::wall_cap`]).
    pub const WALL_FLOOR: Duration = Duration::from_secs(5);

    /// The wall-clock cap that goes with a CPU limit: `4 × cpu + 5 s`.
    ///
    /// Why these numbers: runs are kept one per core, and on a machine with four busy processes per core a
    /// CPU-bound program still gets a quarter of one, so it reaches its CPU limit before the cap and its
    /// verdict is the quiet machine's; the floor gives short limits room for the interpreter's start and
    /// a page cache that is cold. A program that sleeps or blocks still ends, at the cap.
    pub fn wall_cap(cpu: Duration) -> Duration {
        cpu.saturating_mul(Self::WALL_FACTOR)
            .saturating_add(Self::WALL_FLOOR)
    }

    /// These limits with the time limit set to `cpu` CPU seconds and the wall-clock cap that goes with it.
    pub fn with_cpu(self, cpu: Duration) -> Limits {
        Limits {
            cpu,
            wall: Limits::wall_cap(cpu),
            ..self
        }
    }
}

impl Default for Limits {
    /// 10 s of CPU (wall cap 45 s), 512 MB, 64 processes, 16 MB files, 256 open files, 1 MB of output.
    fn default() -> Self {
        Limits {
            wall: Limits::wall_cap(Duration::from_secs(10)),
            cpu: Duration::from_secs(10),
            memory_bytes: 512 << 20,
            max_procs: 64,
            max_file_bytes: 16 << 20,
            max_open_files: 256,
            max_output_bytes: 1 << 20,
        }
    }
}

/// A Python program to run: the main source runs as `__main__` from `main.py` in a private work directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Program {
    /// Source of `main.py`, run as `__main__` (as `python main.py ARGV...` would).
    pub main: String,
    /// Extra files written into the work directory first (relative paths only).
    pub files: BTreeMap<String, Vec<u8>>,
    pub stdin: Vec<u8>,
    /// `sys.argv[1:]`.
    pub argv: Vec<String>,
    /// Work-directory paths whose contents are returned after the run (missing ones are omitted).
    pub fetch: Vec<String>,
    /// Limits; `None` uses the sandbox's defaults.
    pub limits: Option<Limits>,
}

/// Why a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Exited with code 0.
    Ok,
    /// Exited with a non-zero code.
    Exit(i32),
    /// Killed by a signal it did not ask for from us (e.g. SIGSEGV).
    Signal(i32),
    WallTimeout,
    CpuLimit,
    MemoryLimit,
    /// Output went past `max_output_bytes` and the run was stopped.
    OutputTruncated,
    /// The sandbox failed; says nothing about the program.
    SandboxError(String),
}

impl Status {
    /// Short stable name for JSON and reports (`ok`, `exit`, `signal`, `wall_timeout`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Exit(_) => "exit",
            Status::Signal(_) => "signal",
            Status::WallTimeout => "wall_timeout",
            Status::CpuLimit => "cpu_limit",
            Status::MemoryLimit => "memory_limit",
            Status::OutputTruncated => "output_truncated",
            Status::SandboxError(_) => "sandbox_error",
        }
    }

    /// The limit this ending names (`cpu`, `wall`, `memory`, `output`), if it is one: what verdicts
    /// and `/run_code` answers say ended a run.
    pub fn limit(&self) -> Option<&'static str> {
        match self {
            Status::CpuLimit => Some("cpu"),
            Status::WallTimeout => Some("wall"),
            Status::MemoryLimit => Some("memory"),
            Status::OutputTruncated => Some("output"),
            _ => None,
        }
    }
}

/// Everything a caller learns about a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    /// Exit code when the program exited by itself.
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub wall: Duration,
    pub cpu: Duration,
    /// Peak resident memory of the run, in bytes (best effort: the largest process).
    pub peak_memory_bytes: u64,
    /// Contents of the requested `fetch` paths that existed.
    pub files: BTreeMap<String, Vec<u8>>,
}
