//! The built-in launcher, asked for explicitly (whatever GOODHART_SANDBOX_LAUNCHER says): it is really
//! the one used, and it gives the harness the sandbox bwrap would, with `/` and `/dev` read-only on top.

use goodhart_sandbox::{Launcher, Outcome, Program, Sandbox, SandboxConfig, SandboxError, Status};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

/// One builtin sandbox for this binary (no bwrap sandbox is ever made here: one test looks for bwrap).
fn builtin() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let mut config = SandboxConfig::discover().unwrap();
        config.launcher = Launcher::Builtin;
        config.pool_size = 1;
        Sandbox::new(config).unwrap()
    })
}

fn run(main: &str) -> Outcome {
    builtin().run(&Program {
        main: main.into(),
        ..Program::default()
    })
}

fn stdout(o: &Outcome) -> String {
    assert_eq!(o.status, Status::Ok, "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Name and cgroups of each live child process of this test binary (read from the host's /proc).
fn children() -> Vec<(String, String)> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
            let field = |key: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .map(|v| v.trim().to_string())
            };
            if field("PPid:")? != me {
                return None;
            }
            let cgroups = std::fs::read_to_string(entry.path().join("cgroup")).unwrap_or_default();
            Some((field("Name:")?, cgroups))
        })
        .collect()
}

#[test]
fn the_builtin_launcher_is_really_used_when_asked_for() {
    let sandbox = builtin();
    assert_eq!(sandbox.config().launcher, Launcher::Builtin);
    // From the host: the pool's worker is the interpreter itself, a direct child, and no bwrap exists.
    let children = children();
    assert!(
        children.iter().all(|(name, _)| name != "bwrap"),
        "{children:?}"
    );
    let (_, cgroups) = children
        .iter()
        .find(|(name, _)| name.starts_with("python"))
        .unwrap_or_else(|| panic!("no interpreter among the children: {children:?}"));
    // The worker still joins its own cgroups (the join runs after the launcher, in the same child).
    if Path::new("/sys/fs/cgroup/memory/goodhart").is_dir() {
        assert!(cgroups.contains("memory:/goodhart/"), "{cgroups}");
    }
    // From inside: the root is the launcher's own tmpfs (bwrap's shows `/newroot`) and read-only.
    let o = run(
        "for line in open('/proc/self/mountinfo'):\n    f = line.split()\n    if f[4] == '/':\n        print(f[3], f[5].split(',')[0], line.split(' - ')[1].split()[0])",
    );
    assert!(stdout(&o).starts_with("/ ro tmpfs\n"), "{o:?}");
}

#[test]
fn uid_and_gid_inside_are_nobody_with_no_capabilities_left() {
    let o = run(
        "import os\nprint(os.getuid(), os.geteuid(), os.getgid(), os.getegid())\nfor line in open('/proc/self/status'):\n    if line.startswith(('CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs')):\n        print(line.split()[1])",
    );
    assert_eq!(
        stdout(&o),
        "65534 65534 65534 65534\n0000000000000000\n0000000000000000\n0000000000000000\n1\n"
    );
}

#[test]
fn only_the_bound_directories_are_visible() {
    let config = builtin().config();
    let mut expected: BTreeSet<String> = ["dev", "proc", "tmp", "usr", "work"]
        .map(String::from)
        .into();
    for dir in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
        if Path::new("/").join(dir).exists() {
            expected.insert(dir.into());
        }
    }
    for dir in &config.python_dirs {
        if let Some(first) = dir.iter().nth(1) {
            expected.insert(first.to_string_lossy().into_owned());
        }
    }
    let o = run("import os\nprint(' '.join(sorted(os.listdir('/'))))");
    let seen: BTreeSet<String> = stdout(&o).split_whitespace().map(String::from).collect();
    assert_eq!(seen, expected);

    // Host paths that must not exist inside, except where one is a parent of a bound interpreter dir
    // (CI keeps Goodhart's data directory, and so its venv, under /var/lib).
    let repo = env!("CARGO_MANIFEST_DIR");
    let probes: Vec<&str> = ["/etc/passwd", "/etc", "/var", "/home", repo]
        .into_iter()
        .filter(|p| !config.python_dirs.iter().any(|d| d.starts_with(p)))
        .collect();
    let o = run(&format!(
        "import os\nprint([p for p in {probes:?} if os.path.exists(p)])\nprint(sorted(os.listdir('/dev')))"
    ));
    assert_eq!(
        stdout(&o),
        "[]\n['core', 'fd', 'full', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero']\n"
    );
}

#[test]
fn root_dev_and_usr_are_read_only_so_nothing_reaches_the_next_run() {
    let o = run(
        "import errno\nfor p in ('/left-behind', '/dev/left-behind', '/usr/left-behind'):\n    try:\n        open(p, 'w')\n        print(p, 'written')\n    except OSError as e:\n        print(p, errno.errorcode[e.errno])",
    );
    assert_eq!(
        stdout(&o),
        "/left-behind EROFS\n/dev/left-behind EROFS\n/usr/left-behind EROFS\n"
    );
    let o =
        run("import os\nprint(os.path.exists('/left-behind'), os.path.exists('/dev/left-behind'))");
    assert_eq!(stdout(&o), "False False\n");
}

#[test]
fn devices_loopback_and_ptys_work_as_under_bwrap() {
    let o = run(
        "import os, pty, socket\nprint(len(open('/dev/urandom', 'rb').read(8)), open('/dev/zero', 'rb').read(2))\nopen('/dev/null', 'w').write('x')\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\nc = socket.create_connection(s.getsockname())\nprint('loopback ok')\nm, sl = pty.openpty()\nprint('pty', os.ttyname(sl).startswith('/dev/pts/'))",
    );
    assert_eq!(stdout(&o), "8 b'\\x00\\x00'\nloopback ok\npty True\n");
}

#[test]
fn launcher_names_parse_and_unknown_ones_are_named() {
    assert_eq!(Launcher::parse("builtin").unwrap(), Launcher::Builtin);
    assert_eq!(Launcher::parse(" bwrap ").unwrap(), Launcher::Bwrap);
    assert_eq!(Launcher::parse("").unwrap(), Launcher::Auto);
    let err = Launcher::parse("nsjail").unwrap_err();
    assert!(matches!(err, SandboxError::UnknownLauncher { .. }));
    assert!(
        err.to_string().starts_with(
            "GOODHART_SANDBOX_LAUNCHER=\"nsjail\" is not a launcher; use `bwrap` or `builtin`"
        ),
        "{err}"
    );
}
