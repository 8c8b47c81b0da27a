//! One bubblewrap-confined Python harness process and the framed conversation with it.

use crate::cgroup::Cgroup;
use crate::config::{Mode, SandboxConfig};
use crate::protocol::{encode_request, Ending, ResponseHead};
use crate::{Limits, Outcome, Program, SandboxError, Status};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The harness, run as `python -c HARNESS MODE TMPFS_BYTES QUIET_PLUGINS` so no file has to be shared
/// with the sandbox.
const HARNESS: &str = include_str!("harness.py");
/// Time the harness gets past the run's own wall limit before the Rust side gives up on it.
const ANSWER_MARGIN: Duration = Duration::from_secs(3);
/// Extra time for a worker's first answer: the interpreter starts and imports pytest first.
const STARTUP_MARGIN: Duration = Duration::from_secs(30);
/// Largest response header accepted (the blobs are bounded by the limits, the header by this).
const MAX_HEADER: usize = 1 << 20;
/// SIGXCPU: the kernel's signal for a process past its CPU rlimit.
const SIGXCPU: i32 = 24;
/// SIGKILL: sent at the hard CPU rlimit, by the OOM killer and by us.
const SIGKILL: i32 = 9;

/// A live harness process (bwrap and everything below it).
pub(crate) struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    cgroup: Option<Cgroup>,
    answered: bool,
}

/// Why a conversation with the harness failed; the worker is not reused after any of these.
#[derive(Debug)]
enum WireError {
    Timeout,
    Closed,
    Io(io::Error),
    Protocol(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Timeout => write!(f, "the sandbox worker did not answer in time"),
            WireError::Closed => write!(f, "the sandbox worker exited unexpectedly"),
            WireError::Io(e) => write!(f, "talking to the sandbox worker: {e}"),
            WireError::Protocol(m) => write!(f, "the sandbox worker sent a malformed answer: {m}"),
        }
    }
}

/// The answer to one request; `reusable` is false when the worker must be thrown away.
pub(crate) struct Answer {
    pub(crate) outcome: Outcome,
    pub(crate) reusable: bool,
}

impl Worker {
    /// Starts a harness in `mode` inside bubblewrap (and in its own cgroups where available).
    ///
    /// bwrap's `--die-with-parent` fires when the *thread* that forked it exits, so every worker is forked
    /// by one spawner thread that lives as long as the process: callers' threads may come and go.
    ///
    /// `core` keeps the whole worker on one core from its first instruction (fresh mode: the interpreter's
    /// start-up is part of the run); a pool server is started free and moves to each run's core.
    pub(crate) fn spawn(
        config: &SandboxConfig,
        mode: Mode,
        image: Image,
        core: Option<usize>,
    ) -> Result<Worker, SandboxError> {
        type Job = (
            SandboxConfig,
            Mode,
            Image,
            Option<usize>,
            mpsc::Sender<Result<Worker, SandboxError>>,
        );
        static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
        let spawner = SPAWNER.get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("goodhart-sandbox-spawner".into())
                .spawn(move || {
                    for (config, mode, image, core, reply) in rx {
                        let _ = reply.send(Worker::spawn_here(&config, mode, image, core));
                    }
                })
                .ok();
            Mutex::new(tx)
        });
        let (reply, answer) = mpsc::channel();
        let sent = spawner.lock().unwrap_or_else(|e| e.into_inner()).send((
            config.clone(),
            mode,
            image,
            core,
            reply,
        ));
        let lost = || {
            SandboxError::io(
                "starting bwrap",
                io::Error::other("the spawner thread is gone"),
            )
        };
        sent.map_err(|_| lost())?;
        answer.recv().map_err(|_| lost())?
    }

    /// Forks bwrap from the calling thread (the spawner thread).
    fn spawn_here(
        config: &SandboxConfig,
        mode: Mode,
        image: Image,
        core: Option<usize>,
    ) -> Result<Worker, SandboxError> {
        let cgroup = Cgroup::create();
        let mut cmd = match config.launcher {
            crate::Launcher::Builtin => {
                crate::jail::from_bwrap(&bwrap_command(config, mode, image))?
            }
            crate::Launcher::Bwrap | crate::Launcher::Auto => bwrap_command(config, mode, image),
        };
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0);
        if let Some(cg) = &cgroup {
            let fds = cg.join_fds();
            // SAFETY: between fork and exec this only calls write(2) on descriptors opened beforehand.
            unsafe {
                cmd.pre_exec(move || {
                    for &fd in &fds {
                        libc::write(fd, b"0".as_ptr().cast(), 1);
                    }
                    Ok(())
                });
            }
        }
        if let Some(core) = core {
            // SAFETY: between fork and exec this only calls sched_setaffinity(2) on a set built here.
            unsafe {
                let set = one_core_set(core);
                cmd.pre_exec(move || {
                    // A core the machine no longer grants only costs the pinning, never the run.
                    libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                    Ok(())
                });
            }
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| SandboxError::io("starting bwrap", e))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(SandboxError::io(
                "starting bwrap",
                io::Error::other("no pipes to the harness"),
            ));
        };
        Ok(Worker {
            child,
            stdin,
            stdout,
            cgroup,
            answered: false,
        })
    }

    /// Sends one program and waits for its outcome; never panics, never blocks past the deadline.
    ///
    /// `core`: the core the run and the server stay on while it lasts (see [`SandboxConfig::pin_runs`]).
    pub(crate) fn run(
        &mut self,
        program: &Program,
        limits: &Limits,
        core: Option<usize>,
    ) -> Answer {
        let started = Instant::now();
        let mut deadline = started + limits.wall + ANSWER_MARGIN;
        if !self.answered {
            deadline += STARTUP_MARGIN;
        }
        let oom_before = self
            .cgroup
            .as_ref()
            .map(|cg| cg.prepare(limits.memory_bytes, limits.max_procs));
        let request = encode_request(program, limits, core);
        let result = write_all_by(&mut self.stdin, &request, deadline)
            .and_then(|()| self.read_answer(deadline));
        match result {
            Ok((head, stdout, stderr, files)) => {
                self.answered = true;
                let oom = match (oom_before, &self.cgroup) {
                    (Some(before), Some(cg)) => cg.oom_kills() > before,
                    _ => false,
                };
                let outcome = interpret(head, stdout, stderr, files, limits, oom);
                Answer {
                    outcome,
                    reusable: true,
                }
            }
            Err(WireError::Timeout) => Answer {
                outcome: Outcome::ended(Status::WallTimeout, started.elapsed()),
                reusable: false,
            },
            Err(err) => Answer {
                outcome: Outcome::ended(Status::SandboxError(self.explain(err)), started.elapsed()),
                reusable: false,
            },
        }
    }

    /// The error, with the worker's exit status when it is gone.
    fn explain(&mut self, err: WireError) -> String {
        if let WireError::Closed = err {
            std::thread::sleep(Duration::from_millis(20));
            if let Ok(Some(status)) = self.child.try_wait() {
                return format!("{err} ({status})");
            }
        }
        err.to_string()
    }

    /// Reads one response frame.
    fn read_answer(&mut self, deadline: Instant) -> Result<Response, WireError> {
        let mut len = [0u8; 4];
        read_exact_by(&mut self.stdout, &mut len, deadline)?;
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_HEADER {
            return Err(WireError::Protocol(format!("header of {len} bytes")));
        }
        let mut head = vec![0u8; len];
        read_exact_by(&mut self.stdout, &mut head, deadline)?;
        let head: ResponseHead =
            serde_json::from_slice(&head).map_err(|e| WireError::Protocol(e.to_string()))?;
        let mut blob = |n: usize| -> Result<Vec<u8>, WireError> {
            let mut buf = vec![0u8; n];
            read_exact_by(&mut self.stdout, &mut buf, deadline)?;
            Ok(buf)
        };
        let stdout = blob(head.stdout)?;
        let stderr = blob(head.stderr)?;
        let mut files = BTreeMap::new();
        for (name, n) in &head.files {
            files.insert(name.clone(), blob(*n)?);
        }
        Ok((head, stdout, stderr, files))
    }

    /// Waits (briefly) for a one-shot harness to exit after answering.
    pub(crate) fn finish(mut self) {
        let _ = self.child.wait();
    }
}

type Response = (ResponseHead, Vec<u8>, Vec<u8>, BTreeMap<String, Vec<u8>>);

impl Drop for Worker {
    fn drop(&mut self) {
        // bwrap runs in its own process group; --die-with-parent takes the sandbox down with it.
        let pid = self.child.id() as i32;
        // SAFETY: signalling our own child's process group.
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Turns the harness's report into an [`Outcome`] that says exactly why the run ended.
fn interpret(
    head: ResponseHead,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    files: BTreeMap<String, Vec<u8>>,
    limits: &Limits,
    oom_killed: bool,
) -> Outcome {
    let cpu = Duration::from_secs_f64(head.cpu.max(0.0));
    let status = match head.kind {
        Ending::Error => {
            Status::SandboxError(head.error.unwrap_or_else(|| "unknown harness error".into()))
        }
        Ending::Wall => Status::WallTimeout,
        Ending::Cpu => Status::CpuLimit,
        Ending::Output => Status::OutputTruncated,
        Ending::Exit if head.memerr => Status::MemoryLimit,
        Ending::Exit => match head.code.unwrap_or(0) {
            0 => Status::Ok,
            code => Status::Exit(code),
        },
        Ending::Signal => {
            let signal = head.signal.unwrap_or(0);
            if oom_killed {
                Status::MemoryLimit
            } else if signal == SIGXCPU || (signal == SIGKILL && cpu >= limits.cpu) {
                Status::CpuLimit
            } else {
                Status::Signal(signal)
            }
        }
    };
    let status = match status {
        Status::Exit(_) | Status::Signal(_) if oom_killed => Status::MemoryLimit,
        other => other,
    };
    Outcome {
        exit_code: if head.kind == Ending::Exit {
            head.code
        } else {
            None
        },
        status,
        stdout,
        stderr,
        wall: Duration::from_secs_f64(head.wall.max(0.0)),
        cpu,
        peak_memory_bytes: head.maxrss,
        files,
    }
}

/// A CPU set holding one core.
fn one_core_set(core: usize) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set, and CPU_SET bounds its index.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        set
    }
}

/// The cores this process may run on, in order (what runs can be spread over).
pub(crate) fn allowed_cores() -> Vec<usize> {
    // SAFETY: sched_getaffinity fills a set of the size given; CPU_ISSET reads within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// The bubblewrap command line: empty namespaces, no host environment, only /usr and Python visible.
pub(crate) fn bwrap_command(config: &SandboxConfig, mode: Mode, image: Image) -> Command {
    let mut cmd = Command::new("bwrap");
    cmd.env_clear();
    cmd.args([
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ]);
    for (key, value) in [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("LANG", "C.UTF-8"),
        ("HOME", "/work"),
        ("PYTHONDONTWRITEBYTECODE", "1"),
    ] {
        cmd.args(["--setenv", key, value]);
    }
    // The server needs these inside its own user namespace (never the host's) to build each run's namespaces.
    cmd.args([
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--cap-add",
        "CAP_SYS_ADMIN",
        "--cap-add",
        "CAP_SETPCAP",
        "--cap-add",
        "CAP_SYS_CHROOT",
    ]);
    cmd.args(["--ro-bind", "/usr", "/usr"]);
    for dir in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
        let path = Path::new(dir);
        match std::fs::read_link(path) {
            Ok(target) => {
                cmd.arg("--symlink").arg(target).arg(dir);
            }
            Err(_) if path.is_dir() => {
                cmd.args(["--ro-bind", dir, dir]);
            }
            Err(_) => {}
        }
    }
    // The host's /proc is bound (not --proc) because bwrap's read-only covers would forbid the fresh /proc
    // each run mounts; the harness hides it under a /proc of its own pid namespace before reading requests.
    cmd.args([
        "--bind", "/proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/work",
    ]);
    for dir in &config.python_dirs {
        cmd.arg("--ro-bind").arg(dir).arg(dir);
    }
    cmd.args(["--chdir", "/"]);
    cmd.arg(&config.python).args(["-c", HARNESS]);
    cmd.arg(match (mode, image) {
        (Mode::Fresh, _) => "fresh",
        (Mode::Pool, Image::Pytest) => "server",
        (Mode::Pool, Image::Stdlib) => "lean",
    });
    cmd.arg(tmpfs_bytes(&config.limits).to_string());
    cmd.arg(crate::PYTEST_QUIET_PLUGINS.join(","));
    cmd
}

/// What a pool worker has imported before its first fork (see harness.py's warm_up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Image {
    /// pytest, its plugins and unittest besides the standard library: for programs that use them.
    Pytest,
    /// The standard library's common modules only: a third of the memory, so forks (one per run, and
    /// one per case in the hardened grader) cost a third as much.
    Stdlib,
}

impl Image {
    /// The image a program needs: pytest's whenever any of its sources mentions pytest or unittest
    /// (a guess that only ever costs time: a program that imports them anyway just imports them).
    pub(crate) fn for_program(program: &Program) -> Image {
        let mentions = |text: &[u8]| {
            [b"pytest".as_slice(), b"unittest"]
                .iter()
                .any(|word| text.windows(word.len()).any(|w| w == *word))
        };
        if mentions(program.main.as_bytes()) || program.files.values().any(|f| mentions(f)) {
            Image::Pytest
        } else {
            Image::Stdlib
        }
    }
}

/// Size of each run's private tmpfs mounts (work dir, /tmp, /dev/shm), made before its request arrives:
/// room for a few files of the largest size the default limits allow.
pub(crate) fn tmpfs_bytes(limits: &Limits) -> u64 {
    (limits.max_file_bytes.saturating_mul(4)).max(1 << 20)
}

/// Polls `fd` for `events` until `deadline`; false when the deadline passed first.
fn wait_fd(fd: RawFd, events: libc::c_short, deadline: Instant) -> Result<bool, WireError> {
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        let ms = (deadline - now).as_millis().min(i32::MAX as u128 - 1) as i32 + 1;
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r > 0 {
            return Ok(true);
        }
        if r < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(WireError::Io(err));
            }
        }
    }
}

fn read_exact_by(
    src: &mut ChildStdout,
    mut buf: &mut [u8],
    deadline: Instant,
) -> Result<(), WireError> {
    while !buf.is_empty() {
        if !wait_fd(src.as_raw_fd(), libc::POLLIN, deadline)? {
            return Err(WireError::Timeout);
        }
        match src.read(buf) {
            Ok(0) => return Err(WireError::Closed),
            Ok(n) => buf = &mut buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(WireError::Io(e)),
        }
    }
    Ok(())
}

fn write_all_by(dst: &mut ChildStdin, mut buf: &[u8], deadline: Instant) -> Result<(), WireError> {
    while !buf.is_empty() {
        if !wait_fd(dst.as_raw_fd(), libc::POLLOUT, deadline)? {
            return Err(WireError::Timeout);
        }
        match dst.write(buf) {
            Ok(0) => return Err(WireError::Closed),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Err(WireError::Closed),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(WireError::Io(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod image_tests {
    use super::*;

    #[test]
    fn programs_that_mention_a_test_framework_get_the_pytest_image() {
        let plain = Program {
            main: "print(sum(range(10)))\n".into(),
            ..Program::default()
        };
        assert_eq!(Image::for_program(&plain), Image::Stdlib);
        let main = Program {
            main: "import pytest\n".into(),
            ..Program::default()
        };
        assert_eq!(Image::for_program(&main), Image::Pytest);
        let mut file = plain.clone();
        file.files
            .insert("conftest.py".into(), b"import unittest\n".to_vec());
        assert_eq!(Image::for_program(&file), Image::Pytest);
    }
}
