//! The built-in launcher: the sandbox bubblewrap's command line describes, built by raw system calls
//! between fork and exec, so the harness also runs where bubblewrap is not installed.
//!
//! It reads the very `bwrap` command line the worker builds (`--ro-bind`, `--dev`, `--cap-add`, ...), so
//! the two launchers share one description of the sandbox and an option it does not know is an error,
//! never a silent difference. The child is forked from a multi-threaded process, so between fork and
//! exec it may not allocate or take a lock: [`Plan`] holds every path and buffer, prepared in the parent,
//! and the `pre_exec` closure only walks it with libc calls. In the child, in order:
//!
//! 1. parent-death signal (`--die-with-parent`) and a new session (`--new-session`);
//! 2. new user, mount, network, IPC and UTS namespaces; pid and cgroup namespaces are left to the harness,
//!    which enters its own pid namespace first thing (a pid namespace made here would need another fork);
//! 3. setgroups denied, then the `--uid`/`--gid` ids inside mapped to the caller's euid and egid outside;
//! 4. the loopback interface up, as bwrap does with a new network namespace;
//! 5. the host's mounts made slaves (host events still propagate in, none propagate out), then a tmpfs
//!    on `/tmp` filled by the mount options in order; then `/` and each `--dev` tmpfs are made
//!    read-only (bwrap leaves both writable to the sandbox's uid, so one run could leave a file there
//!    for the next);
//! 6. `pivot_root` into it, the old root detached, `--chdir`;
//! 7. only the `--cap-add` capabilities kept: in the bounding set, permitted, inheritable and ambient,
//!    so they survive exec for a uid that is not 0; then no new privileges.
//!
//! Read-only binds use `mount_setattr(2)` (recursive, and it keeps the flags the kernel locks inside a
//! user namespace); kernels before 5.12 get a remount of the bind itself that repeats its current flags.

use crate::SandboxError;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Which program builds a worker's namespaces and root filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launcher {
    /// bubblewrap when it is on PATH, the built-in launcher otherwise (decided by [`crate::Sandbox::new`]).
    Auto,
    /// bubblewrap (`bwrap`): widely audited, but a package users must install.
    Bwrap,
    /// Goodhart's own setup by raw system calls: needs nothing but user namespaces.
    Builtin,
}

impl Launcher {
    /// The environment variable that forces a launcher (`bwrap` or `builtin`); tests use it to run both.
    pub const ENV: &'static str = "GOODHART_SANDBOX_LAUNCHER";

    /// The launcher [`Launcher::ENV`] asks for; [`Launcher::Auto`] when it is unset.
    pub fn from_env() -> Result<Launcher, SandboxError> {
        match std::env::var_os(Self::ENV) {
            None => Ok(Launcher::Auto),
            Some(value) => Launcher::parse(&value.to_string_lossy()),
        }
    }

    /// Reads a launcher name as users write it; the error names the variable and the accepted values.
    pub fn parse(value: &str) -> Result<Launcher, SandboxError> {
        match value.trim() {
            "" | "auto" => Ok(Launcher::Auto),
            "bwrap" | "bubblewrap" => Ok(Launcher::Bwrap),
            "builtin" => Ok(Launcher::Builtin),
            other => Err(SandboxError::UnknownLauncher {
                value: other.to_string(),
            }),
        }
    }

    /// The name users write in [`Launcher::ENV`].
    pub fn name(self) -> &'static str {
        match self {
            Launcher::Auto => "auto",
            Launcher::Bwrap => "bwrap",
            Launcher::Builtin => "builtin",
        }
    }
}

/// Where the new root is assembled before `pivot_root`; only our mount namespace sees the tmpfs on it.
const STAGING: &str = "/tmp";
/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit capability sets in two 32-bit words.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// Capability names in kernel order (`include/uapi/linux/capability.h`), for `--cap-add`.
const CAPABILITIES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];
/// The device nodes bwrap's `--dev` binds from the host.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];
/// The symlinks bwrap's `--dev` makes (name in the dev dir, target).
const DEV_LINKS: [(&str, &str); 6] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("core", "/proc/kcore"),
    ("ptmx", "pts/ptmx"),
];
/// What the child writes to its stderr before the failing step, so a person can see what failed.
const FAILURE_PREFIX: &[u8] = b"goodhart: the built-in sandbox launcher could not ";
/// The step whose failure means user namespaces are unavailable (the probe's advice names the sysctls).
const UNSHARE_STEP: &[u8] = b"create a user namespace (unshare)";

/// `MOUNT_ATTR_*` bits of `mount_setattr(2)`.
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
/// What bwrap's `--ro-bind` and `--bind` set on a bind (bwrap: nosuid always, nodev unless `--dev-bind`).
const RO_BIND: u64 = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
const RW_BIND: u64 = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

/// `struct mount_attr` of `mount_setattr(2)` (not in the libc crate for every target).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// `struct __user_cap_header_struct` of `capset(2)`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct` of `capset(2)`, one per 32-bit word of the sets.
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// One filesystem step of the new root, at `path` (an absolute path under [`STAGING`]).
struct Step {
    path: CString,
    op: Op,
}

/// What a [`Step`] does at its path.
enum Op {
    /// `mkdir` (an existing directory is fine: a bind target may lie inside an earlier bind).
    Dir,
    /// An empty file, the mount point for a bind of a file (a device node).
    File,
    /// A symbolic link to the target.
    Symlink(CString),
    /// A tmpfs, nosuid and nodev, with these mount options.
    Tmpfs(CString),
    /// A private devpts instance.
    Devpts,
    /// A recursive bind of the source, then these `MOUNT_ATTR_*` bits set on it and everything below.
    Bind { source: CString, attrs: u64 },
    /// The mount at this path made read-only (not the mounts below it).
    ReadOnly,
}

impl Op {
    /// The verb of the failure message.
    fn verb(&self) -> &'static [u8] {
        match self {
            Op::Dir => b"create the directory",
            Op::File => b"create the mount point",
            Op::Symlink(_) => b"create the symlink",
            Op::Tmpfs(_) => b"mount a tmpfs on",
            Op::Devpts => b"mount devpts on",
            Op::Bind { .. } => b"bind-mount onto",
            Op::ReadOnly => b"make read-only",
        }
    }
}

/// Everything the child does, prepared in the parent (see the module docs for the order).
struct Plan {
    die_with_parent: bool,
    new_session: bool,
    namespaces: libc::c_int,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    steps: Vec<Step>,
    chdir: CString,
    /// The capabilities kept (bit n = capability n).
    caps: u64,
    /// Use remounts instead of `mount_setattr` (old kernels; a test forces it to cover that path).
    legacy_remount: bool,
}

/// A bwrap command line read into what the built-in launcher needs.
struct Translation {
    plan: Plan,
    program: OsString,
    args: Vec<OsString>,
    clear_env: bool,
    env: Vec<(OsString, OsString)>,
}

/// The built-in equivalent of a `bwrap` command: the same program, arguments, environment and sandbox.
pub(crate) fn from_bwrap(bwrap: &Command) -> Result<Command, SandboxError> {
    Ok(Translation::read(bwrap)?.into_command(None))
}

/// Starts the interpreter of a `bwrap` command once through the built-in launcher (`python -S -c ''`);
/// `Err` says which step failed and why, with advice when user namespaces are unavailable.
pub(crate) fn probe(bwrap: &Command) -> Result<(), String> {
    let translation = Translation::read(bwrap).map_err(|e| e.to_string())?;
    let program = translation.program.clone();
    let probe_args = ["-S", "-c", ""].map(OsString::from).to_vec();
    let (mut reader, writer) = io::pipe().map_err(|e| format!("making a pipe: {e}"))?;
    let mut cmd = translation.into_command(Some(probe_args));
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(writer);
    let status = cmd.spawn().and_then(|mut child| child.wait());
    drop(cmd); // closes our copy of the pipe's write end, so reading it ends with the child
    let mut stderr = Vec::new();
    let _ = reader.read_to_end(&mut stderr);
    let stderr = String::from_utf8_lossy(&stderr);
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!(
            "{} ended with {status} inside the built-in sandbox: {}",
            Path::new(&program).display(),
            stderr.trim()
        )),
        Err(err) => {
            let prefix = String::from_utf8_lossy(FAILURE_PREFIX);
            let step = stderr
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix(prefix.as_ref()))
                .unwrap_or("start the interpreter");
            Err(explain(step, &err))
        }
    }
}

/// The probe's message: the failed step and error, plus what to check when user namespaces are the cause.
fn explain(step: &str, err: &io::Error) -> String {
    let mut message = format!("could not {step}: {err}");
    if step.as_bytes() == UNSHARE_STEP {
        message.push_str(
            " (user namespaces are disabled here: check the sysctls user.max_user_namespaces (must be \
             above 0), kernel.unprivileged_userns_clone (Debian, must be 1) and \
             kernel.apparmor_restrict_unprivileged_userns (Ubuntu, must be 0))",
        );
    } else if err.raw_os_error() == Some(libc::EPERM) {
        message.push_str(
            " (the new user namespace has no privileges; Ubuntu's \
             kernel.apparmor_restrict_unprivileged_userns=1 does this)",
        );
    }
    message
}

impl Translation {
    /// Reads bwrap's options in order; anything this launcher would not reproduce is an error.
    fn read(bwrap: &Command) -> Result<Translation, SandboxError> {
        // SAFETY: geteuid and getegid cannot fail.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let (mut uid, mut gid) = (euid, egid);
        let mut plan = Plan {
            die_with_parent: false,
            new_session: false,
            namespaces: libc::CLONE_NEWUSER | libc::CLONE_NEWNS,
            uid_map: Vec::new(),
            gid_map: Vec::new(),
            steps: Vec::new(),
            chdir: c"/".into(),
            caps: 0,
            legacy_remount: false,
        };
        let mut clear_env = false;
        let mut env = Vec::new();
        let mut dev_dirs = Vec::new();
        let mut args = bwrap.get_args().map(OsStr::to_os_string);
        let program = loop {
            let arg = args
                .next()
                .ok_or_else(|| unsupported("no program to run"))?;
            let Some(option) = arg.to_str().filter(|a| a.starts_with("--")) else {
                break arg;
            };
            let mut value = || {
                args.next()
                    .ok_or_else(|| unsupported(&format!("`{option}` without its value")))
            };
            match option {
                "--unshare-all" => {
                    plan.namespaces |= libc::CLONE_NEWNET | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS
                }
                "--unshare-net" => plan.namespaces |= libc::CLONE_NEWNET,
                "--unshare-ipc" => plan.namespaces |= libc::CLONE_NEWIPC,
                "--unshare-uts" => plan.namespaces |= libc::CLONE_NEWUTS,
                // Always made; pid and cgroup namespaces are the harness's (see the module docs).
                "--unshare-user"
                | "--unshare-user-try"
                | "--unshare-pid"
                | "--unshare-cgroup"
                | "--unshare-cgroup-try" => {}
                "--die-with-parent" => plan.die_with_parent = true,
                "--new-session" => plan.new_session = true,
                "--clearenv" => {
                    clear_env = true;
                    env.clear();
                }
                "--setenv" => {
                    let key = value()?;
                    env.push((key, value()?));
                }
                "--uid" => uid = id_value(option, &value()?)?,
                "--gid" => gid = id_value(option, &value()?)?,
                "--cap-add" => plan.caps |= 1 << capability(&value()?)?,
                "--chdir" => plan.chdir = c_path(value()?)?,
                "--ro-bind" | "--bind" => {
                    let attrs = if option == "--ro-bind" {
                        RO_BIND
                    } else {
                        RW_BIND
                    };
                    let source = value()?;
                    plan.bind(Path::new(&source), Path::new(&value()?), attrs)?;
                }
                "--symlink" => {
                    let target = c_path(value()?)?;
                    let link = value()?;
                    plan.parents(Path::new(&link))?;
                    plan.push(&link, Op::Symlink(target))?;
                }
                "--dir" => {
                    let dir = value()?;
                    plan.parents(Path::new(&dir))?;
                    plan.push(&dir, Op::Dir)?;
                }
                "--tmpfs" => {
                    let dir = value()?;
                    plan.parents(Path::new(&dir))?;
                    plan.push(&dir, Op::Dir)?;
                    plan.push(&dir, Op::Tmpfs(c"mode=0755".into()))?;
                }
                "--dev" => {
                    let dir = value()?;
                    plan.dev(Path::new(&dir))?;
                    dev_dirs.push(dir);
                }
                "--remount-ro" => plan.push(value()?, Op::ReadOnly)?,
                other => return Err(unsupported(&format!("bwrap's `{other}`"))),
            }
        };
        for dir in dev_dirs {
            plan.push(dir, Op::ReadOnly)?;
        }
        plan.push("/", Op::ReadOnly)?;
        plan.uid_map = format!("{uid} {euid} 1\n").into_bytes();
        plan.gid_map = format!("{gid} {egid} 1\n").into_bytes();
        Ok(Translation {
            plan,
            program,
            args: args.collect(),
            clear_env,
            env,
        })
    }

    /// The command, with `args` in place of the translated ones when given.
    fn into_command(self, args: Option<Vec<OsString>>) -> Command {
        let mut cmd = Command::new(&self.program);
        if self.clear_env {
            cmd.env_clear();
        }
        cmd.envs(self.env).args(args.unwrap_or(self.args));
        let plan = self.plan;
        // SAFETY: `Plan::enter` only makes system calls on buffers prepared before the fork: no
        // allocation, no locks, nothing shared with other threads.
        unsafe {
            cmd.pre_exec(move || plan.enter());
        }
        cmd
    }
}

/// The error for a bwrap command line this launcher cannot reproduce (a bug to fix here, not a user's).
fn unsupported(what: &str) -> SandboxError {
    SandboxError::LauncherUnusable {
        launcher: Launcher::Builtin.name(),
        reason: format!(
            "it cannot reproduce {what} (crates/goodhart-sandbox/src/jail.rs reads the worker's bwrap command)"
        ),
    }
}

fn id_value(option: &str, value: &OsStr) -> Result<u32, SandboxError> {
    value
        .to_str()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| unsupported(&format!("`{option} {}`", value.to_string_lossy())))
}

/// A capability's number from its name (`CAP_SYS_ADMIN` or `sys_admin`).
fn capability(name: &OsStr) -> Result<u32, SandboxError> {
    let upper = name.to_string_lossy().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAPABILITIES
        .iter()
        .position(|&c| c == bare)
        .map(|n| n as u32)
        .ok_or_else(|| unsupported(&format!("the capability `{}`", name.to_string_lossy())))
}

impl Plan {
    /// bwrap's `--bind`: the mount point (a directory, or a file for a file source) and its parents,
    /// then the bind with `attrs`.
    fn bind(&mut self, source: &Path, target: &Path, attrs: u64) -> Result<(), SandboxError> {
        self.parents(target)?;
        let point = if source.is_dir() { Op::Dir } else { Op::File };
        self.push(target, point)?;
        let source = c_path(source)?;
        self.push(target, Op::Bind { source, attrs })
    }

    /// bwrap's `--dev`: a tmpfs with the usual device nodes bound from the host, devpts, shm and links.
    fn dev(&mut self, dir: &Path) -> Result<(), SandboxError> {
        self.parents(dir)?;
        self.push(dir, Op::Dir)?;
        self.push(dir, Op::Tmpfs(c"mode=0755".into()))?;
        for name in DEVICES {
            let host = Path::new("/dev").join(name);
            if host.exists() {
                let inside = dir.join(name);
                self.push(&inside, Op::File)?;
                let source = c_path(&host)?;
                self.push(
                    &inside,
                    Op::Bind {
                        source,
                        attrs: MOUNT_ATTR_NOSUID,
                    },
                )?;
            }
        }
        self.push(dir.join("shm"), Op::Dir)?;
        self.push(dir.join("pts"), Op::Dir)?;
        self.push(dir.join("pts"), Op::Devpts)?;
        for (name, target) in DEV_LINKS {
            self.push(dir.join(name), Op::Symlink(c_path(target)?))?;
        }
        Ok(())
    }

    /// Directories leading to `path` (not `path` itself), outermost first.
    fn parents(&mut self, path: &Path) -> Result<(), SandboxError> {
        let mut parents: Vec<&Path> = path
            .ancestors()
            .skip(1)
            .filter(|a| a.parent().is_some())
            .collect();
        parents.reverse();
        for dir in parents {
            self.push(dir, Op::Dir)?;
        }
        Ok(())
    }

    /// Adds a step at `path` (absolute, as seen inside) under the staging root.
    fn push(&mut self, path: impl AsRef<Path>, op: Op) -> Result<(), SandboxError> {
        let inside = path.as_ref().as_os_str().as_bytes();
        if !inside.starts_with(b"/") {
            return Err(unsupported(&format!(
                "the relative path `{}`",
                path.as_ref().display()
            )));
        }
        let mut staged = STAGING.as_bytes().to_vec();
        staged.extend_from_slice(inside.strip_suffix(b"/").unwrap_or(inside));
        let path = CString::new(staged).map_err(|_| nul_error(path.as_ref()))?;
        self.steps.push(Step { path, op });
        Ok(())
    }

    /// Runs in the child between fork and exec: system calls on prepared buffers only.
    fn enter(&self) -> io::Result<()> {
        // SAFETY (whole body): every pointer passed is to a live, NUL-terminated buffer owned by `self`
        // or to a local; nothing allocates.
        unsafe {
            if self.die_with_parent {
                set_parent_death_signal()?;
            }
            if self.new_session && libc::setsid() < 0 {
                // std's `process_group(0)` already made this process a group leader, which setsid
                // refuses: rejoin the parent's group, then start the session (pgid is our pid again).
                check(
                    libc::setpgid(0, libc::getpgid(libc::getppid())),
                    b"leave the process group",
                    b"",
                )?;
                check(libc::setsid(), b"start a new session", b"")?;
            }
            check(libc::unshare(self.namespaces), UNSHARE_STEP, b"")?;
            // Kernels before 3.19 have no setgroups file (and need no "deny").
            if libc::access(c"/proc/self/setgroups".as_ptr(), libc::F_OK) == 0 {
                write_file(c"/proc/self/setgroups", b"deny")?;
            }
            write_file(c"/proc/self/uid_map", &self.uid_map)?;
            write_file(c"/proc/self/gid_map", &self.gid_map)?;
            if self.namespaces & libc::CLONE_NEWNET != 0 {
                loopback_up()?;
            }
            check(
                libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_SLAVE,
                    std::ptr::null(),
                ),
                b"make the host's mounts slaves in",
                b"/",
            )?;
            check(
                libc::mount(
                    c"tmpfs".as_ptr(),
                    c"/tmp".as_ptr(),
                    c"tmpfs".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    c"mode=0755".as_ptr().cast(),
                ),
                b"mount the new root's tmpfs on",
                b"/tmp",
            )?;
            for step in &self.steps {
                self.run(step)?;
            }
            check(libc::chdir(c"/tmp".as_ptr()), b"enter the new root", b"")?;
            check(
                libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) as libc::c_int,
                b"pivot_root into the new root",
                b"",
            )?;
            check(
                libc::umount2(c".".as_ptr(), libc::MNT_DETACH),
                b"detach the old root",
                b"",
            )?;
            check(libc::chdir(c"/".as_ptr()), b"chdir to", b"/")?;
            check(
                libc::chdir(self.chdir.as_ptr()),
                b"chdir to",
                self.chdir.as_bytes(),
            )?;
            keep_only_capabilities(self.caps)?;
            check(
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
                b"set no_new_privs",
                b"",
            )?;
            if self.die_with_parent {
                // Credential changes can clear the parent-death signal; set it again last.
                set_parent_death_signal()?;
            }
            Ok(())
        }
    }

    /// One step of the new root.
    unsafe fn run(&self, step: &Step) -> io::Result<()> {
        let path = step.path.as_ptr();
        let result = match &step.op {
            Op::Dir => {
                let r = libc::mkdir(path, 0o755);
                if r < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EEXIST) {
                    0
                } else {
                    r
                }
            }
            Op::File => {
                let fd = libc::open(
                    path,
                    libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOFOLLOW,
                    0o644,
                );
                if fd >= 0 {
                    libc::close(fd);
                }
                fd.min(0)
            }
            Op::Symlink(target) => libc::symlink(target.as_ptr(), path),
            Op::Tmpfs(data) => libc::mount(
                c"tmpfs".as_ptr(),
                path,
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                data.as_ptr().cast(),
            ),
            Op::Devpts => libc::mount(
                c"devpts".as_ptr(),
                path,
                c"devpts".as_ptr(),
                libc::MS_NOSUID | libc::MS_NOEXEC,
                c"newinstance,ptmxmode=0666,mode=620".as_ptr().cast(),
            ),
            Op::Bind { source, attrs } => {
                let r = libc::mount(
                    source.as_ptr(),
                    path,
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                );
                if r < 0 {
                    r
                } else {
                    self.set_attrs(&step.path, *attrs, true)
                }
            }
            Op::ReadOnly => self.set_attrs(&step.path, MOUNT_ATTR_RDONLY, false),
        };
        check(result, step.op.verb(), shown(step))
    }

    /// Adds mount attributes to the mount at `path` (and below it when `recursive`). Falls back, on
    /// kernels without `mount_setattr` (before 5.12), to a remount that repeats the mount's current
    /// flags: inside a user namespace the kernel refuses a remount that would drop a locked one.
    unsafe fn set_attrs(&self, path: &CStr, attrs: u64, recursive: bool) -> libc::c_int {
        if !self.legacy_remount {
            let attr = MountAttr {
                attr_set: attrs,
                attr_clr: 0,
                propagation: 0,
                userns_fd: 0,
            };
            let flags = if recursive { libc::AT_RECURSIVE } else { 0 };
            let r = libc::syscall(
                libc::SYS_mount_setattr,
                libc::AT_FDCWD,
                path.as_ptr(),
                flags as libc::c_uint,
                &attr as *const MountAttr,
                std::mem::size_of::<MountAttr>(),
            ) as libc::c_int;
            if r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS) {
                return r;
            }
        }
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(path.as_ptr(), &mut st) < 0 {
            return -1;
        }
        let mut flags = libc::MS_BIND | libc::MS_REMOUNT;
        for (st_flag, attr, flag) in [
            (libc::ST_RDONLY, MOUNT_ATTR_RDONLY, libc::MS_RDONLY),
            (libc::ST_NOSUID, MOUNT_ATTR_NOSUID, libc::MS_NOSUID),
            (libc::ST_NODEV, MOUNT_ATTR_NODEV, libc::MS_NODEV),
            (libc::ST_NOEXEC, 0, libc::MS_NOEXEC),
            (libc::ST_NOATIME, 0, libc::MS_NOATIME),
            (libc::ST_NODIRATIME, 0, libc::MS_NODIRATIME),
            (libc::ST_RELATIME, 0, libc::MS_RELATIME),
        ] {
            if st.f_flag & st_flag != 0 || attrs & attr != 0 {
                flags |= flag;
            }
        }
        libc::mount(
            std::ptr::null(),
            path.as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        )
    }
}

/// The path as seen inside (without the staging prefix), for failure messages.
fn shown(step: &Step) -> &[u8] {
    match &step.path.as_bytes()[STAGING.len()..] {
        b"" => b"/",
        rest => rest,
    }
}

/// `prctl(PR_SET_PDEATHSIG, SIGKILL)`: bwrap's `--die-with-parent`.
unsafe fn set_parent_death_signal() -> io::Result<()> {
    check(
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        ),
        b"set the parent-death signal",
        b"",
    )
}

/// Brings `lo` up in the new network namespace (the kernel then gives it 127.0.0.1 and ::1).
unsafe fn loopback_up() -> io::Result<()> {
    let what = b"bring up the loopback interface";
    let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
    check(fd, what, b"lo")?;
    let mut req: libc::ifreq = std::mem::zeroed();
    for (slot, byte) in req.ifr_name.iter_mut().zip(b"lo") {
        *slot = *byte as libc::c_char;
    }
    let mut r = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req);
    if r == 0 {
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        r = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
    }
    let result = check(r, what, b"lo");
    libc::close(fd);
    result
}

/// Drops every capability not in `keep` from the bounding set, and makes those in `keep` permitted,
/// effective, inheritable and ambient, so that they survive exec (the uid inside is not 0).
unsafe fn keep_only_capabilities(keep: u64) -> io::Result<()> {
    for cap in 0..64u32 {
        if keep & (1 << cap) != 0 {
            continue;
        }
        if libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) < 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
                break; // past the kernel's last capability
            }
            return Err(fail(b"drop a capability from the bounding set", b""));
        }
    }
    let word = |w: u64| CapData {
        effective: w as u32,
        permitted: w as u32,
        inheritable: w as u32,
    };
    let data = [word(keep), word(keep >> 32)];
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    check(
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        ) as libc::c_int,
        b"set the capabilities (capset)",
        b"",
    )?;
    for cap in (0..64u32).filter(|c| keep & (1 << c) != 0) {
        check(
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                cap as libc::c_ulong,
                0,
                0,
            ),
            b"raise an ambient capability",
            b"",
        )?;
    }
    Ok(())
}

/// Writes a whole small buffer to a /proc file in one write, as the kernel wants for id maps.
unsafe fn write_file(path: &CStr, data: &[u8]) -> io::Result<()> {
    let what = b"write";
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    check(fd, what, path.to_bytes())?;
    let n = libc::write(fd, data.as_ptr().cast(), data.len());
    let result = if n == data.len() as isize {
        Ok(())
    } else {
        Err(fail(what, path.to_bytes()))
    };
    libc::close(fd);
    result
}

/// `Ok` for a non-negative return, else the failure reported (see [`fail`]).
unsafe fn check(ret: libc::c_int, what: &[u8], path: &[u8]) -> io::Result<()> {
    if ret < 0 {
        Err(fail(what, path))
    } else {
        Ok(())
    }
}

/// Says on stderr which step failed (the errno travels back through `spawn`'s error); no allocation.
unsafe fn fail(what: &[u8], path: &[u8]) -> io::Error {
    let err = io::Error::last_os_error();
    let space: &[u8] = if path.is_empty() { b"" } else { b" " };
    for part in [FAILURE_PREFIX, what, space, path, b"\n"] {
        libc::write(2, part.as_ptr().cast(), part.len());
    }
    err
}

/// A path as the C string the system calls take.
fn c_path(path: impl AsRef<Path>) -> Result<CString, SandboxError> {
    let path = path.as_ref();
    CString::new(path.as_os_str().as_bytes()).map_err(|_| nul_error(path))
}

fn nul_error(path: &Path) -> SandboxError {
    SandboxError::io(
        format!("preparing the built-in sandbox at {}", path.display()),
        io::Error::other("the path contains a NUL byte"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Mode, SandboxConfig};
    use crate::worker::{bwrap_command, Image};

    /// Runs `script` as the harness would be run (same plan), with remounts forced or not.
    fn run_as_harness(script: &str, legacy_remount: bool) -> String {
        let config = SandboxConfig::discover().unwrap();
        let mut translation =
            Translation::read(&bwrap_command(&config, Mode::Fresh, Image::Pytest)).unwrap();
        translation.plan.legacy_remount = legacy_remount;
        let args = ["-S", "-c", script].map(OsString::from).to_vec();
        let out = translation.into_command(Some(args)).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    const CHECKS: &str = "import os\n\
        ro = lambda p: bool(os.statvfs(p).f_flag & os.ST_RDONLY)\n\
        print(ro('/'), ro('/dev'), ro('/usr'), ro('/proc'), ro('/tmp'), ro('/work'), ro('/dev/null'))\n\
        print(os.getuid(), os.getgid(), os.getcwd(), sorted(os.environ))\n\
        caps = dict(l.split(':') for l in open('/proc/self/status') if l.startswith('Cap'))\n\
        print(*(int(caps[k], 16) for k in ('CapEff', 'CapBnd', 'CapAmb')))\n";

    #[test]
    fn the_harness_gets_bwraps_sandbox_with_either_remount_method() {
        // SYS_ADMIN, SETPCAP and whatever else bwrap_command adds: read from its own command line.
        let config = SandboxConfig::discover().unwrap();
        let caps = Translation::read(&bwrap_command(&config, Mode::Fresh, Image::Pytest))
            .unwrap()
            .plan
            .caps;
        assert_ne!(caps & (1 << 21), 0, "CAP_SYS_ADMIN is kept");
        assert_ne!(caps & (1 << 8), 0, "CAP_SETPCAP is kept");
        let expected = format!(
            "True True True False False True False\n\
             65534 65534 / ['HOME', 'LANG', 'PATH', 'PYTHONDONTWRITEBYTECODE']\n\
             {caps} {caps} {caps}\n"
        );
        assert_eq!(run_as_harness(CHECKS, false), expected);
        assert_eq!(run_as_harness(CHECKS, true), expected);
    }

    #[test]
    fn options_it_cannot_reproduce_are_errors_that_say_where_to_look() {
        let mut bwrap = Command::new("bwrap");
        bwrap.args(["--unshare-all", "--proc", "/proc", "/usr/bin/python3"]);
        let err = Translation::read(&bwrap).err().unwrap().to_string();
        assert!(
            err.contains("cannot reproduce bwrap's `--proc` (crates/goodhart-sandbox/src/jail.rs"),
            "{err}"
        );
        let mut bwrap = Command::new("bwrap");
        bwrap.args(["--cap-add", "CAP_NOT_A_CAP", "/usr/bin/python3"]);
        let err = Translation::read(&bwrap).err().unwrap().to_string();
        assert!(err.contains("the capability `CAP_NOT_A_CAP`"), "{err}");
        assert_eq!(capability(OsStr::new("cap_sys_chroot")).unwrap(), 18);
        assert_eq!(
            capability(OsStr::new("CAP_CHECKPOINT_RESTORE")).unwrap(),
            40
        );
    }

    #[test]
    fn a_failed_unshare_is_explained_as_user_namespaces_being_off() {
        let step = String::from_utf8_lossy(UNSHARE_STEP);
        let message = explain(&step, &io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(
            message.starts_with(
                "could not create a user namespace (unshare): No space left on device"
            ),
            "{message}"
        );
        assert!(message.contains("user.max_user_namespaces"), "{message}");
    }
}
