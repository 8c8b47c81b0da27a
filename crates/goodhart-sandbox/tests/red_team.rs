//! Hostile programs: each must be contained, end with a clear status, and leave the host and the next
//! run unaffected.

mod common;

use common::{assert_next_run_works, err, out, run, sandbox, short_limits};
use goodhart_sandbox::{Outcome, Program, Status};
use std::path::Path;
use std::time::{Duration, Instant};

/// Host processes whose command line contains `marker` (scans the host's /proc).
fn host_processes_with(marker: &str) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|cmd| String::from_utf8_lossy(cmd).contains(marker))
        .count()
}

/// A unique marker for host-side checks.
fn marker(name: &str) -> String {
    format!(
        "goodhart-redteam-{name}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    )
}

fn run_with_stdin(main: &str, stdin: &[u8]) -> Outcome {
    sandbox().run(&Program {
        main: main.into(),
        stdin: stdin.to_vec(),
        ..Program::default()
    })
}

/// Runs `main` in the background while the host checks for `marker`; returns (seen during, outcome).
fn run_and_watch(main: String, marker: &str) -> (bool, Outcome) {
    let handle = std::thread::spawn(move || run(&main));
    let mut seen = false;
    let until = Instant::now() + Duration::from_secs(3);
    while !handle.is_finished() && Instant::now() < until {
        if host_processes_with(marker) > 0 {
            seen = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (seen, handle.join().unwrap())
}

/// Source that re-executes Python with `marker` on its command line and spins (or sleeps) forever.
fn marked_exec(marker: &str, body: &str) -> String {
    format!("os.execv(sys.executable, [sys.executable, '-c', {body:?}, {marker:?}])")
}

#[test]
fn fork_bomb_is_contained() {
    let o = run("import os\nwhile True:\n    os.fork()");
    assert!(
        matches!(o.status, Status::Exit(1) | Status::WallTimeout),
        "{o:?}"
    );
    if o.status == Status::Exit(1) {
        assert!(
            err(&o).contains("Resource temporarily unavailable"),
            "{}",
            err(&o)
        );
    }
    assert_next_run_works();
}

#[test]
fn thread_bomb_is_contained() {
    let o = run("import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(100,), daemon=True).start()");
    assert_eq!(o.status, Status::Exit(1), "{o:?}");
    assert!(err(&o).contains("can't start new thread"), "{}", err(&o));
    assert_next_run_works();
}

#[test]
fn memory_bomb_single_allocation() {
    let o = run("x = bytearray(1 << 36)");
    assert_eq!(o.status, Status::MemoryLimit, "{o:?}");
    assert_next_run_works();
}

#[test]
fn memory_bomb_gradual() {
    let o = run("chunks = []\nwhile True:\n    chunks.append(bytearray(8 << 20))");
    assert_eq!(o.status, Status::MemoryLimit, "{o:?}");
    assert_next_run_works();
}

#[test]
fn memory_split_over_children_hits_the_whole_run_limit() {
    // Each child stays under the per-process limit; together they are far over the run's 128 MB.
    let src = "import os, sys\npids = []\nfor _ in range(6):\n    pid = os.fork()\n    if pid == 0:\n        b = bytearray(60 << 20)\n        for i in range(0, len(b), 4096):\n            b[i] = 1\n        import time; time.sleep(0.5)\n        os._exit(0)\n    pids.append(pid)\nkilled = sum(1 for p in pids if os.waitpid(p, 0)[1] & 0x7f == 9)\nprint('killed', killed)\nsys.exit(1 if killed else 0)";
    let o = run(src);
    if goodhart_sandbox_cgroups() {
        assert_eq!(o.status, Status::MemoryLimit, "{o:?} {}", out(&o));
    }
    assert_next_run_works();
}

/// Whether the memory cgroup is usable here (the whole-run memory limit depends on it).
fn goodhart_sandbox_cgroups() -> bool {
    Path::new("/sys/fs/cgroup/memory/goodhart").is_dir()
}

#[test]
fn output_flood_of_a_gigabyte_ends_fast() {
    let started = Instant::now();
    let o = run(
        "import sys\nblock = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(block)",
    );
    assert_eq!(o.status, Status::OutputTruncated, "{:?}", o.status);
    assert_eq!(o.stdout.len(), short_limits().max_output_bytes);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_next_run_works();
}

#[test]
fn stderr_flood_is_cut_too() {
    let o = run("import os\nwhile True:\n    os.write(2, b'e' * 65536)");
    assert_eq!(o.status, Status::OutputTruncated);
    assert_eq!(o.stderr.len(), short_limits().max_output_bytes);
}

#[test]
fn infinite_loop_hits_cpu_limit() {
    // A generous wall limit so that a loaded machine cannot turn this into a wall timeout.
    let limits = goodhart_sandbox::Limits {
        wall: Duration::from_secs(10),
        ..short_limits()
    };
    let o = sandbox().run(&Program {
        main: "while True:\n    pass".into(),
        limits: Some(limits),
        ..Program::default()
    });
    assert_eq!(o.status, Status::CpuLimit, "{o:?}");
    assert!(o.cpu >= Duration::from_millis(900), "{o:?}");
    assert_next_run_works();
}

#[test]
fn sleep_forever_hits_wall_timeout() {
    let o = run("import time\ntime.sleep(10**6)");
    assert_eq!(o.status, Status::WallTimeout, "{o:?}");
    assert!(
        o.wall >= Duration::from_secs(2) && o.wall < Duration::from_secs(3),
        "{:?}",
        o.wall
    );
    assert_next_run_works();
}

#[test]
fn ignoring_sigterm_does_not_help() {
    let o = run("import signal, time\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n    signal.signal(s, signal.SIG_IGN)\ntime.sleep(10**6)");
    assert_eq!(o.status, Status::WallTimeout, "{o:?}");
    assert_next_run_works();
}

#[test]
fn stdin_read_forever_gets_eof() {
    let o = run_with_stdin(
        "import sys\ndata = sys.stdin.read()\nprint(len(data))\ninput()",
        b"abc",
    );
    assert_eq!(o.status, Status::Exit(1), "{o:?}");
    assert_eq!(out(&o), "3\n");
    assert!(err(&o).contains("EOFError"));
}

#[test]
fn double_fork_setsid_daemon_does_not_outlive_the_run() {
    let m = marker("daemon");
    let src = format!(
        "import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        {}\n    os._exit(0)\ntime.sleep(1)\nprint('parent leaves')",
        marked_exec(&m, "while True: __import__('time').sleep(0.01)")
    );
    let (seen, o) = run_and_watch(src, &m);
    assert!(
        seen,
        "the daemon never showed up on the host's process list (test is blind)"
    );
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert_eq!(host_processes_with(&m), 0, "a daemon survived the run");
    assert_next_run_works();
}

#[test]
fn cpu_burning_children_die_with_the_parent() {
    let m = marker("burn");
    let src = format!(
        "import os, sys, time\nfor _ in range(3):\n    if os.fork() == 0:\n        {}\ntime.sleep(0.8)",
        marked_exec(&m, "while True: pass")
    );
    let (seen, o) = run_and_watch(src, &m);
    assert!(
        seen,
        "the burners never showed up on the host (test is blind)"
    );
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert_eq!(host_processes_with(&m), 0, "a CPU burner survived the run");
    assert_next_run_works();
}

#[test]
fn cannot_connect_to_a_host_listener_on_loopback() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let src = format!(
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n    print('connected')\nexcept OSError as e:\n    print('blocked', e.errno)"
    );
    let o = run(&src);
    assert!(out(&o).starts_with("blocked"), "{o:?}");
    assert!(
        listener.accept().is_err(),
        "the host listener got a connection"
    );
}

#[test]
fn cannot_reach_an_outside_address() {
    let o = run("import socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=1)\n    print('connected')\nexcept OSError as e:\n    print('blocked')");
    assert_eq!(out(&o), "blocked\n", "{o:?}");
}

#[test]
fn dns_lookup_fails() {
    let o = run("import socket\ntry:\n    print(socket.getaddrinfo('example.com', 80))\nexcept OSError as e:\n    print('blocked')");
    assert_eq!(out(&o), "blocked\n", "{o:?}");
}

/// Tries to read `path` inside the sandbox; prints `READ:<content>` or `DENIED`.
fn try_read(path: &str) -> Outcome {
    run(&format!("import os\ntry:\n    p = {path:?}\n    print('READ:' + (str(os.listdir(p)) if os.path.isdir(p) else open(p, 'rb').read().decode('latin-1')))\nexcept OSError:\n    print('DENIED')"))
}

#[test]
fn cannot_read_etc_shadow() {
    assert_eq!(out(&try_read("/etc/shadow")), "DENIED\n");
    assert_eq!(out(&try_read("/etc/passwd")), "DENIED\n");
}

#[test]
fn cannot_read_root_home() {
    // Only the empty mount-point skeleton of the bound interpreter dirs exists under /root.
    let listing = out(&try_read("/root"));
    assert!(
        listing == "DENIED\n"
            || listing == "READ:[]\n"
            || listing.starts_with("READ:['.") && !listing.contains("bash"),
        "{listing}"
    );
    assert_eq!(out(&try_read("/root/.bashrc")), "DENIED\n");
    assert_eq!(out(&try_read("/root/.cargo")), "DENIED\n");
}

#[test]
fn cannot_read_the_repository() {
    let repo = env!("CARGO_MANIFEST_DIR");
    assert_eq!(out(&try_read(repo)), "DENIED\n");
    assert_eq!(out(&try_read(&format!("{repo}/Cargo.toml"))), "DENIED\n");
}

#[test]
fn proc_1_environ_is_not_the_hosts() {
    let o = try_read("/proc/1/environ");
    let text = out(&o);
    assert!(text == "DENIED\n" || !text.contains("PATH=/root"), "{text}");
    let o = run("import os\nprint(sorted(os.listdir('/proc'))[:1], [p for p in os.listdir('/proc') if p.isdigit()])");
    assert_eq!(
        out(&o),
        "['1'] ['1', '2']\n",
        "the run sees other processes: {o:?}"
    );
}

#[test]
fn secret_environment_variable_is_not_passed() {
    // The sandbox clears the environment for every worker, whatever the host process has.
    std::env::set_var("GOODHART_REDTEAM_SECRET", "hunter2");
    let o = run("import os\nprint(sorted(os.environ))\nprint('hunter2' in str(os.environ))");
    assert!(out(&o).ends_with("False\n"), "{o:?}");
    assert!(!out(&o).contains("GOODHART_REDTEAM_SECRET"));
    let o = run("print(open('/proc/self/environ','rb').read())");
    assert!(!out(&o).contains("hunter2"));
}

/// Tries to write `path` inside the sandbox.
fn try_write(path: &str) -> Outcome {
    run(&format!("try:\n    open({path:?}, 'w').write('pwned')\n    print('WROTE')\nexcept OSError:\n    print('DENIED')"))
}

#[test]
fn writes_to_host_tmp_stay_private() {
    let m = marker("tmpwrite");
    let path = format!("/tmp/{m}");
    let o = try_write(&path);
    assert_eq!(out(&o), "WROTE\n", "a private /tmp should be writable");
    assert!(
        !Path::new(&path).exists(),
        "the file appeared in the host's /tmp"
    );
}

#[test]
fn cannot_write_the_repository() {
    let path = format!("{}/{}", env!("CARGO_MANIFEST_DIR"), marker("repowrite"));
    assert_eq!(out(&try_write(&path)), "DENIED\n");
    assert!(!Path::new(&path).exists());
}

#[test]
fn cannot_write_usr() {
    let path = format!("/usr/{}", marker("usrwrite"));
    assert_eq!(out(&try_write(&path)), "DENIED\n");
    assert_eq!(out(&try_write("/usr/lib/os-release")), "DENIED\n");
    assert!(!Path::new(&path).exists());
}

#[test]
fn huge_file_is_stopped_by_the_file_size_limit() {
    let o = run("f = open('big', 'wb')\nfor _ in range(1024):\n    f.write(b'x' * (1 << 20))");
    assert_eq!(o.status, Status::Exit(1), "{o:?}");
    assert!(err(&o).contains("File too large"), "{}", err(&o));
    assert_next_run_works();
}

#[test]
fn thousands_of_open_files_are_refused() {
    let o = run("fs = [open('f%d' % i, 'w') for i in range(5000)]");
    assert_eq!(o.status, Status::Exit(1), "{o:?}");
    assert!(err(&o).contains("Too many open files"), "{}", err(&o));
    assert_next_run_works();
}

#[test]
fn kill_everything_only_reaches_the_run() {
    let o = run("import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError as e:\n    print('err', e.errno)\nprint('alive')");
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert!(out(&o).ends_with("alive\n"));
    assert_next_run_works();
}

#[test]
fn killing_the_parent_does_not_break_the_sandbox() {
    // The supervisor lives outside the run's pid namespace, so the run sees no parent (ppid 0) and its
    // pid 1 ignores signals from inside.
    let o = run("import os, signal\nppid = os.getppid()\nif ppid:\n    os.kill(ppid, signal.SIGKILL)\nos.kill(1, signal.SIGKILL)\nos.kill(1, signal.SIGSTOP)\nprint('alive', ppid)");
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert_eq!(out(&o), "alive 0\n");
    assert_next_run_works();
}

#[test]
fn killing_its_own_process_group_reaches_only_the_run() {
    // kill(0, ...) signals the caller's whole process group, across pid namespaces: the run must have
    // a group of its own, or this would kill the worker's server.
    let o = run("import os, signal\nos.kill(0, signal.SIGKILL)\nprint('alive')");
    assert_eq!(o.status, Status::Signal(9), "{o:?}");
    assert_next_run_works();
    assert_next_run_works();
}

#[test]
fn ptrace_of_the_supervisor_is_refused() {
    let o = run("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nr = libc.ptrace(16, 1, 0, 0)\nprint(r, ctypes.get_errno())");
    assert_eq!(out(&o), "-1 1\n", "{o:?}");
    let o = try_read("/proc/1/mem");
    assert_eq!(out(&o), "DENIED\n");
}

#[test]
fn mount_is_refused() {
    let o = run("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nr = libc.mount(b'tmpfs', b'/usr', b'tmpfs', 0, None)\nprint(r, ctypes.get_errno())\nr = libc.umount2(b'/proc', 2)\nprint(r, ctypes.get_errno())");
    assert_eq!(out(&o), "-1 1\n-1 1\n", "{o:?}");
}

#[test]
fn symlink_to_a_host_file_reads_nothing_of_the_host() {
    let o = run("import os\nos.symlink('/etc/shadow', 'link')\ntry:\n    print(open('link').read())\nexcept OSError:\n    print('DENIED')");
    assert_eq!(out(&o), "DENIED\n");
    // Fetching a symlink never follows it, even to a file that exists inside the sandbox.
    let program = Program {
        main: "import os\nos.symlink('/usr/lib/os-release', 'out.txt')".into(),
        fetch: vec!["out.txt".into(), "../etc/passwd".into()],
        ..Program::default()
    };
    let o = sandbox().run(&program);
    assert_eq!(o.status, Status::Ok);
    assert!(o.files.is_empty(), "{:?}", o.files.keys());
}

#[test]
fn proc_self_root_tricks_stay_inside() {
    let o = run("import os\nfor p in ['/proc/self/root/etc/shadow', '/proc/1/root/etc/shadow', '/proc/self/root/root', '/proc/1/cwd/../../etc/shadow']:\n    try:\n        open(p).read()\n        print('READ', p)\n    except OSError:\n        print('DENIED')");
    assert_eq!(out(&o), "DENIED\nDENIED\nDENIED\nDENIED\n", "{o:?}");
}

#[test]
fn concurrent_runs_cannot_touch_each_others_work_dir() {
    let m = marker("concurrent");
    let writer = format!("import time\nopen('/work/{m}', 'w').write('mine')\nopen('/tmp/{m}', 'w').write('mine')\ntime.sleep(1.2)\nprint(open('/work/{m}').read())");
    let handle = std::thread::spawn(move || run(&writer));
    std::thread::sleep(Duration::from_millis(400));
    let probe = format!("import os, glob\nprint(os.path.exists('/work/{m}'), os.path.exists('/tmp/{m}'), glob.glob('/proc/*/root/work/{m}'), glob.glob('/proc/*/cwd/{m}'))\nopen('/work/{m}', 'w').write('theirs')");
    let o = run(&probe);
    assert_eq!(out(&o), "False False [] []\n", "{o:?}");
    let w = handle.join().unwrap();
    assert_eq!(out(&w), "mine\n", "{w:?}");
}

#[test]
fn files_left_behind_are_not_seen_by_the_next_run() {
    let leave = "import os, ctypes\nfor p in ['/tmp/left', '/dev/shm/left', '/work/left', '/work/.hidden']:\n    open(p, 'w').write('x')\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.shmget(4242, 4096, 0o1666) >= 0)";
    let o = run(leave);
    assert_eq!(out(&o), "True\n", "{o:?}");
    // Every worker must come up clean, so probe more times than there are workers.
    for _ in 0..4 {
        let o = run("import os, ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint([os.path.exists(p) for p in ['/tmp/left', '/dev/shm/left', '/work/left', '/work/.hidden']], sorted(os.listdir('/work')), libc.shmget(4242, 0, 0))");
        assert_eq!(
            out(&o),
            "[False, False, False, False] ['main.py'] -1\n",
            "{o:?}"
        );
    }
}

#[test]
fn only_the_private_mounts_are_writable() {
    // Anything else a run could write would be seen by the next run of the same worker.
    let probe = "import os\nfor d in ['/', '/dev', '/root', '/usr', '/proc', '/work', '/tmp', '/dev/shm']:\n    try:\n        open(os.path.join(d, 'goodhart-left'), 'w').close()\n        print(d, 'writable')\n    except OSError as e:\n        print(d, 'refused')\n    try:\n        os.mkdir(os.path.join(d, 'goodhart-dir'))\n        print(d, 'mkdir')\n    except OSError:\n        pass";
    for _ in 0..3 {
        let o = run(probe);
        assert_eq!(
            out(&o),
            "/ refused\n/dev refused\n/root refused\n/usr refused\n/proc refused\n/work writable\n/work mkdir\n/tmp writable\n/tmp mkdir\n/dev/shm writable\n/dev/shm mkdir\n",
            "{o:?}"
        );
    }
}

#[test]
fn raising_rlimits_is_refused() {
    let o = run("import resource\nfor r in (resource.RLIMIT_NOFILE, resource.RLIMIT_CPU, resource.RLIMIT_AS, resource.RLIMIT_NPROC, resource.RLIMIT_FSIZE):\n    soft, hard = resource.getrlimit(r)\n    try:\n        resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n        print('raised', r)\n    except (ValueError, OSError):\n        print('refused')");
    assert_eq!(out(&o), "refused\n".repeat(5), "{o:?}");
}

#[test]
fn deep_recursion_segfault_is_reported_as_a_signal() {
    // Python-to-Python calls no longer use the C stack in 3.11; comparing nested lists still does.
    let o = run("import sys\nsys.setrecursionlimit(10**8)\na, b = [], []\nfor _ in range(300000):\n    a, b = [a], [b]\nprint(a == b)");
    assert_eq!(o.status, Status::Signal(11), "{o:?}");
    assert!(o.describe().contains("SIGSEGV"));
    assert_next_run_works();
}

#[test]
fn capabilities_and_privileges_are_gone() {
    let o = run("import os\nst = open('/proc/self/status').read()\nprint([l for l in st.splitlines() if l.startswith(('CapEff', 'CapPrm', 'CapBnd', 'NoNewPrivs'))])\nprint(os.getuid())");
    assert_eq!(
        out(&o),
        "['CapPrm:\\t0000000000000000', 'CapEff:\\t0000000000000000', 'CapBnd:\\t0000000000000000', 'NoNewPrivs:\\t1']\n65534\n",
        "{o:?}"
    );
}

#[test]
fn kernel_knobs_are_read_only() {
    let o = run("for p in ['/proc/sys/kernel/core_pattern', '/proc/sysrq-trigger']:\n    try:\n        open(p, 'w').write('x')\n        print('WROTE')\n    except OSError:\n        print('DENIED')");
    assert_eq!(out(&o), "DENIED\nDENIED\n", "{o:?}");
}

#[test]
fn bad_extra_file_path_is_a_clear_sandbox_error() {
    let mut files = std::collections::BTreeMap::new();
    files.insert("../../etc/evil".to_string(), b"x".to_vec());
    let o = sandbox().run(&Program {
        main: "print(1)".into(),
        files,
        ..Program::default()
    });
    match &o.status {
        Status::SandboxError(msg) => assert!(msg.contains("../../etc/evil"), "{msg}"),
        other => panic!("expected a sandbox error, got {other:?}"),
    }
    assert_next_run_works();
}
