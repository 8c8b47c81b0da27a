"""Goodhart sandbox harness: runs inside bubblewrap and gives every run a process of its own.

Modes: `server` (warm fork server with pytest: answers requests until its input closes), `lean` (the same
without pytest) and `fresh` (answers one request and exits; the benchmark baseline).
argv: MODE TMPFS_BYTES [QUIET_PLUGINS], the last a comma-separated list (see prepare_pytest).
Protocol on fds 0/1: u32 LE header length, JSON header, raw blobs.

Processes, all in bubblewrap's user namespace as uid 65534:
  server   pid 1 of the worker's own pid namespace, warm (see warm_up). It supervises each run from outside it.
  factory  forked before the heavy imports; it makes each run's namespaces and spawns their holder.
  holder   pid 1 of a run's new pid, mount, ipc and uts namespaces, which have a private tmpfs on /work, /tmp
           and /dev/shm. It only waits (see tiny_holder_elf). Killing it kills the run's whole pid namespace.
  user     a fork of the warm server that joins the holder's namespaces (setns), mounts their /proc, drops
           every capability, sets the run's rlimits and runs main.py as __main__.
The server answers only once the holder is gone (its pidfd says so), and the kernel ends a pid namespace's
init only after every other process in that namespace is gone, so nothing of a run outlives its answer.
Each run costs one fork of the warm interpreter; the factory makes the next run's namespaces while the
current one executes.
"""

import atexit
import builtins
import ctypes
import errno
import json
import os
import resource
import select
import stat
import signal
import struct
import sys
import time
import types

MODE = sys.argv[1] if len(sys.argv) > 1 else "server"
# Each run's pid 1 where the tiny holder below cannot run (see make_holder); coreutils' sleep is in /usr on
# every Linux we run on.
SLEEP = next((p for p in ("/usr/bin/sleep", "/bin/sleep") if os.access(p, os.X_OK)), "/usr/bin/sleep")
TMPFS_BYTES = int(sys.argv[2]) if len(sys.argv) > 2 else 64 << 20
QUIET_PLUGINS = [name for name in (sys.argv[3] if len(sys.argv) > 3 else "").split(",") if name]
# The module a run of the `server` image imports to call pytest.main from its prepared start (see below).
PREPARED_PYTEST = "_goodhart_prepared_pytest"
if sys.path and sys.path[0] == "":
    del sys.path[0]  # started with -c: the current directory is nobody's module path

WORK = "/work"
TMPFS = (b"/work", b"/tmp", b"/dev/shm")
LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID = 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_REC, MS_PRIVATE = 16384, 1 << 18
# The request's limits a run's process sets itself, in the order of the `go` message (see go_message).
USER_LIMITS = ("cpu", "fsize", "nofile", "procs", "mem")
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NAME, PR_CAPBSET_DROP = 1, 4, 15, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
# What the harness itself needs, in bubblewrap's user namespace only: CAP_SETPCAP (8, to drop capabilities),
# CAP_SYS_CHROOT (18, for setns into a mount namespace) and CAP_SYS_ADMIN (21, namespaces and mounts).
KEPT_CAPS = (8, 18, 21)
# Modules runs commonly import, loaded once by a pool server (never by the factory). The Rust side picks
# the image per program: the `lean` image for programs that mention neither pytest nor unittest, the
# `server` image for the others.
#
# Every run forks its image and exits, and both cost in proportion to the image's memory, so the lean
# image holds only cheap modules that many programs import (typing: 21 of HumanEval's 164 programs). It
# also leaves out modules that register at-fork hooks, which every fork then runs: random reseeds (0.3 ms)
# and threading rebuilds its state (0.6 ms), for modules few programs import (random: 4 of the 164,
# threading: none). A program that needs another module imports it, as it would anyway.
WARM_STDLIB = (
    "collections", "itertools", "functools", "math", "re", "string", "heapq", "bisect", "typing",
    "copy", "operator", "atexit", "enum", "json",
)
# The pytest image adds what pytest imports anyway, pytest itself, the plugins pytest.main loads and
# unittest: having them in memory takes a third off a pytest run.
WARM_PYTEST = (
    "hashlib", "fractions", "decimal", "dataclasses", "inspect", "traceback", "textwrap", "random",
    "statistics", "threading", "pytest", "_pytest.reports", "_pytest.runner", "_pytest.python",
    "_pytest.assertion.rewrite", "_pytest._argcomplete", "pdb", "readline", "unittest",
)


class SetupError(Exception):
    pass


def check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)}")


LIBC.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def prctl(option, arg=0):
    return LIBC.prctl(option, arg, 0, 0, 0)


def narrow_bounding_set():
    """Drops from the bounding set every capability the harness does not use, once, in the server.

    Every process forked later inherits the narrow set, so each run's process has only KEPT_CAPS left to
    drop (a run costs a few calls instead of one per capability the kernel knows).
    """
    cap = 0
    while True:
        if cap not in KEPT_CAPS and prctl(PR_CAPBSET_DROP, cap) != 0:
            if ctypes.get_errno() == errno.EINVAL:
                return  # past the last capability this kernel knows
            raise SetupError(f"dropping capability {cap} from the bounding set: {os.strerror(ctypes.get_errno())}")
        cap += 1


# Every ctypes object a run's process uses, made here once: a fork that made its own (a new array type
# each) would pay a fifth of a millisecond, mostly for the pages that making them writes.
PROCESS_NAMES = {role: ctypes.create_string_buffer(role.encode()) for role in ("gh-server", "gh-factory", "gh-run")}
CAPSET_HEADER = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
CAPSET_DATA = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty


def name_process(role):
    """Names the process after its role, so `ps` and profilers tell the harness's processes apart."""
    prctl(PR_SET_NAME, ctypes.addressof(PROCESS_NAMES[role]))


def mount(source, target, fstype, flags, data):
    check(LIBC.mount(source, target, fstype, ctypes.c_ulong(flags), data), f"mount {target.decode()}")


def setns(fd, kind, what):
    check(LIBC.setns(ctypes.c_int(fd), ctypes.c_int(kind)), f"setns {what}")


def read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_request(fd):
    (size,) = struct.unpack("<I", read_exact(fd, 4))
    head = json.loads(read_exact(fd, size))
    head["main_src"] = read_exact(fd, head["main"])
    head["stdin_data"] = read_exact(fd, head["stdin"])
    head["file_data"] = [(name, read_exact(fd, n)) for name, n in head["files"]]
    return head


def send_response(fd, head, blobs):
    body = json.dumps(head).encode()
    write_all(fd, struct.pack("<I", len(body)) + body + b"".join(blobs))


def send_error(fd, msg):
    send_response(fd, {"kind": "error", "error": msg, "stdout": 0, "stderr": 0, "files": []}, [])


def log(msg):
    try:
        os.write(2, f"goodhart harness: {msg}\n".encode())
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------------------
# The factory and the holders it makes.


class Factory:
    """The server's handle on the factory process: ask for a holder, later collect its pid."""

    def __init__(self, inherited):
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            for fd in (self.req_w, self.rep_r, *inherited):
                os.close(fd)
            code = 0
            try:
                factory_loop(req_r, rep_w)
            except BaseException as e:  # noqa: BLE001
                log(f"the namespace factory failed: {type(e).__name__}: {e}")
                code = 1
            os._exit(code)
        os.close(req_r)
        os.close(rep_w)
        self.pid = pid
        self.asked = 0

    def close(self):
        """Lets the factory finish (its input ends) and reaps it."""
        os.close(self.req_w)
        os.waitpid(self.pid, 0)

    def ask(self):
        """Starts making a holder; the factory works while the server does other things."""
        os.write(self.req_w, b"n")
        self.asked += 1

    def take(self):
        """The pid of the next holder, or a SetupError."""
        if not self.asked:
            self.ask()
        self.asked -= 1
        try:
            (pid,) = struct.unpack("<i", read_exact(self.rep_r, 4))
        except EOFError:
            raise SetupError("the namespace factory is gone") from None
        if pid <= 0:
            raise SetupError("could not make the run's namespaces (see the worker's stderr)")
        return pid


def factory_loop(req_r, rep_w):
    """For each byte from the server, makes one holder and sends back its pid (0 when that failed)."""
    name_process("gh-factory")
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # Holders are reaped by the kernel as they die (the server watches them through pidfds), and they
    # inherit this, so a run's orphans are reaped too.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    home = {kind: os.open(f"/proc/self/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
            for name, kind in (("mnt", CLONE_NEWNS), ("ipc", CLONE_NEWIPC), ("uts", CLONE_NEWUTS),
                               ("pid", CLONE_NEWPID))}
    program = holder_program()
    while True:
        if not os.read(req_r, 1):
            return
        pid = 0
        try:
            pid = make_holder(home, program)
        except BaseException as e:  # noqa: BLE001
            log(f"making a run's namespaces failed: {type(e).__name__}: {e}")
        os.write(rep_w, struct.pack("<i", pid))


def tiny_holder_elf():
    """A whole static x86-64 program that blocks in pause() forever, or None on other machines.

    It is each run's pid 1 (see make_holder). `sleep infinity` does the same, but starting it costs a
    dynamic loader, glibc's start-up (whose cpuid probes trap to the hypervisor on a VM) and a dozen page
    faults: a tenth of a warm HumanEval run's CPU. This program is one page with no libc, no data and no
    stack use. Layout: the ELF header, a PT_LOAD header mapping the file read+execute at 0x400000, a
    PT_GNU_STACK header (non-executable stack), then the code at the entry point:
        loop: mov eax, 34 (SYS_pause); syscall; jmp loop
    """
    if os.uname().machine != "x86_64":
        return None
    base, headers = 0x400000, 64 + 2 * 56
    code = bytes([0xB8, 34, 0, 0, 0, 0x0F, 0x05, 0xEB, 0xF7])
    size = headers + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little-endian, version 1, System V
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, base + headers, 64, 0, 0, 64, 56, 2, 0, 0, 0)
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    stack = struct.pack("<IIQQQQQQ", 0x6474E551, 6, 0, 0, 0, 0, 0, 16)
    return ehdr + load + stack + code


def holder_program():
    """The path each run's holder is started from: the tiny holder in a sealed memfd, else `sleep`.

    The memfd is checked by starting the holder once: a kernel that forbids executing memfds (the
    vm.memfd_noexec sysctl) or an unknown machine falls back to `sleep infinity`.
    """
    image = tiny_holder_elf()
    if image is None:
        return SLEEP
    import fcntl

    # Close-on-exec: the kernel opens the program by its path before closing the descriptor.
    flags = os.MFD_ALLOW_SEALING | os.MFD_CLOEXEC
    try:
        try:
            fd = os.memfd_create("goodhart-holder", flags | getattr(os, "MFD_EXEC", 0x10))
        except OSError:  # a kernel before 6.3 knows no MFD_EXEC
            fd = os.memfd_create("goodhart-holder", flags)
        write_all(fd, image)
        os.fchmod(fd, 0o555)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS,
                    fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
        path = f"/proc/self/fd/{fd}"
        pid = os.posix_spawn(path, [path], {})
        os.kill(pid, signal.SIGKILL)
        return path
    except OSError as e:
        log(f"each run's pid 1 is `sleep infinity` (the tiny holder could not start: {e})")
        return SLEEP


def make_holder(home, program):
    """New namespaces with the run's private tmpfs mounts, held by a new pid 1; the factory then goes home.

    The factory enters the new namespaces itself, spawns the holder into them and returns to its own
    (`home`: descriptors of its original namespaces). The holder is `program` (see holder_program): a
    static program that only waits, or `sleep infinity`. It is started with posix_spawn (a vfork, so
    nothing of this process is copied): it installs no signal handlers, so no signal from inside the run
    can stop it; it inherits SIGCHLD ignored, so the run's orphans are reaped as they die; and it keeps this process's ambient capabilities, which the run's processes lack, so
    none of them may trace it. The run's own process mounts the namespace's /proc (see `Run`).
    """
    check(LIBC.unshare(ctypes.c_int(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS)), "unshare")
    try:
        mount(None, b"/", None, MS_REC | MS_PRIVATE, None)
        opts = f"size={TMPFS_BYTES},nr_inodes=4096,mode=0755".encode()
        for target in TMPFS:
            mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, opts)
        return os.posix_spawn(program, [program, "infinity"], {})
    finally:
        for kind, fd in home.items():
            setns(fd, kind, "back home")


# The kernel-wide knobs under /proc that this kernel has (every procfs of one kernel has the same ones).
PROC_KNOBS = [target for target in (b"/proc/sys", b"/proc/sysrq-trigger", b"/proc/irq", b"/proc/bus")
              if os.path.exists(target)]


def mount_proc():
    """A /proc for the run's pid namespace; as bubblewrap does for its own, the kernel-wide knobs stay read-only."""
    mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    for target in PROC_KNOBS:
        mount(target, target, None, MS_BIND | MS_REC, None)
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, None)


# ---------------------------------------------------------------------------------------------------------
# The server's side of one run.


def plain_fork():
    """The C library's fork, or None when this process has another thread (or no such call is at hand).

    os.fork runs the interpreter's at-fork work in the child: threading rebuilds its thread table and
    logging its handlers' locks (both repair what another thread could have left half-done; the server
    has none), and random reseeds. In the pytest image that costs each run 0.6 ms and 200 copied pages.
    The server's runs fork this way instead and reseed random themselves (see fork_run).
    """
    try:
        if len(os.listdir("/proc/self/task")) != 1:
            return None
        call = ctypes.PyDLL(None, use_errno=True).fork  # PyDLL: called holding the interpreter lock, which the child keeps
    except (OSError, AttributeError):
        return None
    call.restype, call.argtypes = ctypes.c_int, []
    return call


PLAIN_FORK = None  # set by the server once it is warm (main), when it has no other thread


def fork_run():
    """Forks a run's process: like os.fork, for a process with no other thread (see plain_fork)."""
    if PLAIN_FORK is None:
        return os.fork()
    pid = PLAIN_FORK()
    if pid < 0:
        raise OSError(ctypes.get_errno(), "fork failed")
    if pid == 0:
        random = sys.modules.get("random")
        if random is not None:
            random.seed()  # what random's own at-fork hook does: no run sees another's sequence
    return pid


class Run:
    """A prepared run: the holder's namespaces, the user process waiting on `go`, and the pipes between."""

    def __init__(self, factory):
        self.fds = []
        self.user = None
        self.factory_pid = factory.pid
        self.holder = factory.take()
        # The holder is the factory's child: the server kills it and learns of its end through this.
        self.holder_fd = os.pidfd_open(self.holder)
        try:
            self._start()
        except BaseException:
            self.abandon()
            raise

    def _keep(self, fd):
        self.fds.append(fd)
        return fd

    def _start(self):
        base = f"/proc/{self.holder}"
        ns = {}
        try:
            for name in ("pid", "mnt", "ipc", "uts"):
                ns[name] = os.open(f"{base}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
            # The run's work dir stays reachable through this descriptor after every process of it is gone.
            self.work = self._keep(os.open(f"{base}/root{WORK}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
            # From now on the server's children are born in the run's pid namespace.
            setns(ns["pid"], CLONE_NEWPID, "pid")
            self.stdin = self._keep(os.memfd_create("stdin", os.MFD_CLOEXEC))
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            note_r, note_w = os.pipe()
            go_r, go_w = os.pipe()
            pid = fork_run()
            if pid == 0:
                code = 125
                try:
                    name_process("gh-run")
                    for name, kind in (("mnt", CLONE_NEWNS), ("ipc", CLONE_NEWIPC), ("uts", CLONE_NEWUTS)):
                        setns(ns[name], kind, name)
                    mount_proc()
                    os.chdir(WORK)
                    # A process group of its own: kill(0, ...) must not reach the server's group, whose
                    # members live outside the run's pid namespace but share its uid.
                    os.setsid()
                    os.dup2(self.stdin, 0)
                    os.dup2(out_w, 1)
                    os.dup2(err_w, 2)
                    note_fd = os.dup2(note_w, 3)
                    go_fd = os.dup2(go_r, 4)
                    os.closerange(5, 1 << 16)
                    code = user(go_fd, note_fd)
                finally:
                    os._exit(code)
            self.user = pid
            for fd in (out_w, err_w, note_w, go_r):
                os.close(fd)
            self.out, self.err = self._keep(out_r), self._keep(err_r)
            self.note, self.go = self._keep(note_r), self._keep(go_w)
            self.pidfd = self._keep(os.pidfd_open(pid))
        finally:
            for fd in ns.values():
                os.close(fd)

    def end(self):
        """Kills everything of the run and reaps it; returns (wait status, rusage) of the user process."""
        signal.pidfd_send_signal(self.holder_fd, signal.SIGKILL)
        _, status, usage = os.wait4(self.user, 0)
        self.user = None
        self.wait_holder()
        return status, usage

    def wait_holder(self):
        """Waits until the holder is gone: the kernel ends a pid namespace's init after all its processes."""
        select.select([self.holder_fd], [], [])
        os.close(self.holder_fd)
        self.holder = self.holder_fd = None

    def abandon(self):
        """Ends a run that will not be answered (or failed to start) and closes its descriptors."""
        if self.holder_fd is not None:
            signal.pidfd_send_signal(self.holder_fd, signal.SIGKILL)
            if self.user is not None:
                try:
                    os.waitpid(self.user, 0)
                except ChildProcessError:
                    pass
                self.user = None
            self.wait_holder()
        self.close()

    def close(self):
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []

    def execute(self, req):
        """Runs one request in this prepared run; returns the response (head, blobs)."""
        pin(req.get("core", -1), self.user)
        remember_main(req["main_src"])
        write_work_files(self.work, req)
        os.pwrite(self.stdin, req["stdin_data"], 0)
        start = time.monotonic()
        write_all(self.go, go_message(req))
        os.close(self.go)
        self.fds.remove(self.go)
        cap = req["out"]
        bufs = {self.out: bytearray(), self.err: bytearray()}
        open_fds = {self.out, self.err}
        poller = select.poll()
        for fd in open_fds:
            poller.register(fd, select.POLLIN)
        poller.register(self.pidfd, select.POLLIN)
        deadline = start + req["wall"]
        meter = CpuMeter(self.holder, self.factory_pid, req["cpu"], start)
        ending = None
        while True:
            now = time.monotonic()
            if ending is None and now >= deadline:
                ending = "wall"
            elif ending is None and now >= meter.next_look and meter.look(now) >= meter.limit:
                ending = "cpu"
            if ending is not None and deadline != float("inf"):
                signal.pidfd_send_signal(self.holder_fd, signal.SIGKILL)
                deadline = float("inf")
            wake = min(deadline, meter.next_look) if ending is None else float("inf")
            events = poller.poll(None if wake == float("inf") else max(wake - now, 0) * 1000 + 1)
            if any(fd == self.pidfd for fd, _ in events):
                break
            for fd, _ in events:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                    continue
                buf = bufs[fd]
                room = cap + 1 - len(buf)
                if room > 0:
                    buf += chunk[:room]
                if len(buf) > cap and ending is None:
                    ending = "output"
                    signal.pidfd_send_signal(self.holder_fd, signal.SIGKILL)
                    deadline = float("inf")
        if ending is None:
            # The user process is gone: take what its pipes already hold (its children may still write).
            for fd in open_fds:
                os.set_blocking(fd, False)
                try:
                    while len(bufs[fd]) <= cap:
                        chunk = os.read(fd, 1 << 16)
                        if not chunk:
                            break
                        bufs[fd] += chunk
                except BlockingIOError:
                    pass
                if len(bufs[fd]) > cap:
                    ending = "output"
        status, usage = self.end()
        wall = time.monotonic() - start
        os.set_blocking(self.note, False)
        try:
            note = os.read(self.note, 16)
        except BlockingIOError:
            note = b""
        files, blobs_files = [], []
        for name in req["fetch"]:
            data = fetch_file(self.work, name, req["fsize"])
            if data is not None:
                files.append([name, len(data)])
                blobs_files.append(data)
        out, err = bytes(bufs[self.out][:cap]), bytes(bufs[self.err][:cap])
        self.close()
        head = {
            "kind": ending or ("signal" if os.WIFSIGNALED(status) else "exit"),
            "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "wall": wall,
            "cpu": max(usage.ru_utime + usage.ru_stime, meter.used),
            "maxrss": usage.ru_maxrss * 1024,
            "stdout": len(out),
            "stderr": len(err),
            "files": files,
            "memerr": note == b"M",
        }
        return head, [out, err, *blobs_files]


# Cores a run's processes could use at once (a run may widen the core it was pinned to), taken before the
# server pins itself to a run's core; and the kernel's unit of process CPU times in /proc.
CORES = max(1, os.cpu_count() or 1)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The shortest gap between two looks at a run's CPU time, in seconds: a run overshoots its CPU limit by at
# most this much per core (plus the kernel's tick).
CPU_LOOK_MIN = 0.01


class CpuMeter:
    """The CPU time of a run's whole process tree, looked at only when it could have reached the limit.

    A run's time limit is CPU seconds, so its verdict does not depend on how busy the machine is; the wall
    limit is only a much larger cap for programs that sleep or block. The server's /proc shows only this
    worker's processes: the server, the factory, holders (this run's and the next run's, the factory's
    children) and the run's processes. A look sums, over the run's processes and this run's holder, their
    own CPU time and that of the children they waited for (utime, stime, cutime, cstime). CPU of a process
    that ended unwaited between two looks (an orphan reaped by the holder) is not counted; the wall cap
    bounds it. Before its first look the run cannot have used the limit: looks come when the CPU used so
    far, spread over every core, could have reached it, so a short run is never looked at.
    """

    def __init__(self, holder, factory, limit, start):
        self.holder, self.factory, self.limit, self.used = holder, factory, limit, 0.0
        self.skip = {os.getpid(), factory}
        self.next_look = start + limit / CORES

    def look(self, now):
        """Sums the run's CPU time now (seconds) and schedules the next look."""
        ticks = 0
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) in self.skip:
                continue
            try:
                fd = os.open(f"/proc/{name}/stat", os.O_RDONLY)
                try:
                    data = os.read(fd, 4096)
                finally:
                    os.close(fd)
                fields = data[data.rindex(b")") + 2:].split()
                ppid = int(fields[1])
                if ppid == self.factory and int(name) != self.holder:
                    continue  # the holder of the run after this one
                ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
            except (OSError, ValueError, IndexError):
                continue  # gone between the listing and the read
        self.used = max(self.used, ticks / CLOCK_TICKS)
        self.next_look = now + max(CPU_LOOK_MIN, (self.limit - self.used) / CORES)
        return self.used


# main.py sources seen more than once (a grader's harness, the same program run many times), compiled by
# the server so that later runs, forked after that, skip the compiler: compiling a 150-line harness in a
# fresh fork costs about two milliseconds. Compiling runs no code of the source. Bounded in count and size.
COMPILED = {}
SEEN = {}
COMPILED_MAX, SEEN_MAX, SOURCE_MAX = 32, 256, 256 << 10


def pin(core, run):
    """Keeps the server and the run's process (and so every process the run starts) on one core.

    The Rust side gives each run at once a core of its own. On one core a fork's child runs where its
    parent's pages are already cached and a wake-up never has to rouse an idle CPU: a hardened run of ten
    cases takes about a sixth less CPU. A core this process may not use only costs the pinning.
    """
    if core < 0:
        return
    try:
        os.sched_setaffinity(0, (core,))
        os.sched_setaffinity(run, (core,))
    except OSError:
        pass


def remember_main(src):
    """Counts a main.py source and compiles it here on its second sighting (see COMPILED)."""
    if src in COMPILED or len(src) > SOURCE_MAX:
        return
    key = hash(src)
    if SEEN.get(key) != len(src):
        if len(SEEN) >= SEEN_MAX:
            SEEN.clear()
        SEEN[key] = len(src)
        return
    try:
        code = compile(src, WORK + "/main.py", "exec")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return  # the run's own compile reports it, as the interpreter would
    if len(COMPILED) >= COMPILED_MAX:
        COMPILED.pop(next(iter(COMPILED)))
    COMPILED[src] = code


def checked_path(name):
    """A relative path inside the work directory, as components, or a SetupError naming it."""
    path = os.path.normpath(name)
    if os.path.isabs(path) or path == "." or path.startswith(".."):
        raise SetupError(f"extra file {name!r} is not a relative path inside the work directory")
    return path.split("/")


def write_work_files(work, req):
    """main.py and the extra files, written into the fresh work dir before any code of the run exists."""
    for name, data in [("main.py", req["main_src"]), *req["file_data"]]:
        parts = checked_path(name)
        for i in range(1, len(parts)):
            try:
                os.mkdir("/".join(parts[:i]), 0o755, dir_fd=work)
            except FileExistsError:
                pass
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=work)
        try:
            write_all(fd, data)
        finally:
            os.close(fd)


def fetch_file(work, name, limit):
    """A regular file of the finished run, reached without following any link, or None."""
    try:
        parts = checked_path(name)
    except SetupError:
        return None
    opened = []
    try:
        fd = work
        for part in parts[:-1]:
            fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            opened.append(fd)
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd)
        opened.append(fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit + 1)[:limit]
    except OSError:
        return None
    finally:
        for fd in opened:
            os.close(fd)


# ---------------------------------------------------------------------------------------------------------
# The user process.


def drop_privileges():
    """What does not depend on the request: done while the process waits for it."""
    # The server is not dumpable, and a non-dumpable process's /proc files belong to the namespace's
    # unmapped root, so it could not open its own oom_score_adj (seen with a non-root host user).
    prctl(PR_SET_DUMPABLE, 1)
    fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
    try:
        os.write(fd, b"1000")
    finally:
        os.close(fd)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_STACK, (8 << 20, 8 << 20))  # a host's "unlimited" hides stack overflows
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    # The server already emptied the bounding set but for these (see narrow_bounding_set); a check that
    # it is empty now is in the red-team suite.
    for cap in KEPT_CAPS:
        prctl(PR_CAPBSET_DROP, cap)
    check(LIBC.capset(CAPSET_HEADER, CAPSET_DATA), "capset")
    prctl(PR_SET_DUMPABLE, 1)


def apply_limits(req):
    """The request's own limits, set once it has arrived (lowering rlimits needs no privilege)."""
    soft_cpu = max(1, int(req["cpu"] + 0.999))
    limits = [
        (resource.RLIMIT_FSIZE, req["fsize"]),
        (resource.RLIMIT_NOFILE, req["nofile"]),
        (resource.RLIMIT_NPROC, req["procs"]),
    ]
    for which, value in limits:
        resource.setrlimit(which, (value, value))
    resource.setrlimit(resource.RLIMIT_CPU, (soft_cpu, soft_cpu + 1))
    vm_bytes = int(read_file("/proc/self/statm").split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm_bytes + req["mem"], vm_bytes + req["mem"]))


def exit_code_of(exc):
    """What the interpreter does with an uncaught SystemExit (Python/pythonrun.c handle_system_exit)."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    try:
        sys.stderr.write(str(code) + "\n")
    except BaseException:  # noqa: BLE001
        pass
    return 1


def go_message(req):
    """What the waiting run's process needs of the request: its limits on one line, then argv as JSON.

    Plain numbers, because decoding JSON costs a fresh fork a tenth of a millisecond of copied pages; argv,
    usually empty, keeps JSON's exactness for any string.
    """
    line = " ".join(repr(float(req["cpu"])) if key == "cpu" else str(int(req[key])) for key in USER_LIMITS)
    return (line + "\n" + (json.dumps(req["argv"]) if req["argv"] else "")).encode()


def read_go_message(go):
    """The request's limits (a dict keyed by USER_LIMITS) and argv, from go_message's bytes."""
    line, _, argv = go.partition(b"\n")
    values = line.split()
    limits = {key: float(value) if key == "cpu" else int(value) for key, value in zip(USER_LIMITS, values)}
    return limits, json.loads(argv) if argv else []


def read_go(go_fd):
    """The request's limits and argv from the server; empty when it gave up on the run."""
    try:
        return read_all(go_fd)
    finally:
        os.close(go_fd)


def read_file(path):
    """A file's bytes, read without a Python file object (a text stream costs a run's process 0.1 ms)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return read_all(fd)
    finally:
        os.close(fd)


def read_all(fd):
    """Everything left to read from fd, without a Python file object (see read_file)."""
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def user(go_fd, note_fd):
    """Runs main.py the way `python main.py ARGV...` would, then finalises like the interpreter does."""
    drop_privileges()
    go = read_go(go_fd)
    if not go:
        return 126
    req, argv = read_go_message(go)
    apply_limits(req)
    main_src = read_file(WORK + "/main.py")
    atexit._clear()
    sys.argv = ["main.py", *argv]
    sys.path[0:0] = [WORK]
    if "" in sys.path:
        sys.path.remove("")
    # Only the work dir's finder could be stale; dropping the others would cost every run a millisecond
    # of copied pages and make its first imports look the directories up again.
    for key in (WORK, ""):
        sys.path_importer_cache.pop(key, None)
    module = types.ModuleType("__main__")
    module.__file__ = WORK + "/main.py"
    module.__builtins__ = builtins
    module.__spec__ = None
    module.__loader__ = None
    module.__cached__ = None
    sys.modules["__main__"] = module
    os.set_inheritable(note_fd, False)
    code = 0
    try:
        code_obj = COMPILED.get(main_src)
        if code_obj is None:
            code_obj = compile(main_src, WORK + "/main.py", "exec")
        exec(code_obj, module.__dict__)
    except SystemExit as exc:
        code = exit_code_of(exc)
    except BaseException as exc:  # noqa: BLE001
        code = 1
        if isinstance(exc, MemoryError):
            try:
                os.write(note_fd, b"M")
            except OSError:
                pass
        try:
            tb = exc.__traceback__
            if tb is not None and tb.tb_frame.f_code is user.__code__:
                tb = tb.tb_next  # the traceback starts at main.py, as the interpreter's would
            exc.__traceback__ = tb
            sys.excepthook(type(exc), exc, tb)
        except SystemExit as hook_exit:
            code = exit_code_of(hook_exit)
        except BaseException:  # noqa: BLE001
            pass
    try:
        os.close(note_fd)
    except OSError:
        pass
    return finalize(code)


def finalize(code):
    """Interpreter shutdown: join non-daemon threads, run atexit handlers, flush the standard streams."""
    try:
        threading_mod = sys.modules.get("threading")
        if threading_mod is not None:
            threading_mod._shutdown()
    except BaseException:  # noqa: BLE001
        pass
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:  # noqa: BLE001
            if code == 0:
                code = 120
    return code


# ---------------------------------------------------------------------------------------------------------
# The server.


def warm_up(with_pytest):
    """Imports what runs commonly need, once, before any fork; then freezes the heap so forks share it."""
    import gc
    import importlib

    for name in WARM_STDLIB + (WARM_PYTEST if with_pytest else ()):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001
            pass
    if with_pytest:
        try:
            from _pytest.config import default_plugins, essential_plugins

            for name in (*essential_plugins, *default_plugins):
                try:
                    importlib.import_module("_pytest." + name)
                except Exception:  # noqa: BLE001
                    pass
        except Exception:  # noqa: BLE001
            pass
        # Caches that showing a failure's source fills (pytest does it for each failure it reports): the
        # first inspect.getmodule by file name takes the real path of every loaded module (a run then looks
        # up only its own, and the cache checks each module's __file__ before trusting it), and getsource
        # compiles tokenize's and inspect's patterns (3 ms). Pure memos: they change no result.
        import inspect

        inspect.getmodule(compile("0", WORK + "/goodhart-warm-up.py", "eval"))
        inspect.getsource(json.dumps)
        try:
            prepare_pytest(QUIET_PLUGINS)
        except Exception as e:  # noqa: BLE001
            log(f"pytest.main will start from scratch in every run: {type(e).__name__}: {e}")
    # Objects that exist before the first fork are never collected, so forks do not copy their pages.
    gc.collect()
    gc.freeze()
    # Memory the C allocator holds free (compiling this harness alone leaves 2 MB) is still mapped, and
    # every run's fork copies its page-table entries and its exit removes them: give it back first.
    trim = getattr(LIBC, "malloc_trim", None)  # glibc's; other C libraries keep their own ways
    if trim is not None:
        trim(0)


# ---------------------------------------------------------------------------------------------------------
# pytest.main, started ahead of time. Written against the pytest this sandbox pins (provision.rs).


def no_plugin_args(args):
    """The `-p no:NAME` arguments, in order, read as pytest's consider_preparse(exclude_only=True) reads them."""
    found, i = [], 0
    while i < len(args):
        opt = args[i]
        i += 1
        if not isinstance(opt, str):
            continue
        if opt == "-p":
            if i >= len(args):
                break
            parg = args[i]
            i += 1
        elif opt.startswith("-p"):
            parg = opt[2:]
        else:
            continue
        parg = parg.strip()
        if parg.startswith("no:"):
            found.append(parg)
    return found


def prepare_pytest(quiet):
    """Does, once per worker, the part of `pytest.main(args)` that reads nothing of a run.

    That part is `get_config`: a plugin manager with the builtin plugins registered, minus those `args`
    blocks with `-p no:NAME` (so it is prepared for one block list, QUIET_PLUGINS). It also scans each
    builtin plugin module for fixtures once, as every session start would. A run imports PREPARED_PYTEST
    and calls its `main(args)`: with the same `-p no:` arguments, pytest continues exactly where
    `pytest.main` would after `get_config` (parsing the arguments, reading ini files, loading conftest.py
    from /work...); with any others it is plain `pytest.main`. Everything here is in the run's own copy of
    the server's memory, so a run that changes it changes nothing for the next.
    """
    import fnmatch
    import pathlib
    import types

    import pytest
    from _pytest import config as pt_config, fixtures as pt_fixtures
    from _pytest._code import code as pt_code, source as pt_source

    blocks = [f"no:{name}" for name in quiet]
    block_args = [arg for block in blocks for arg in ("-p", block)]
    unused = []

    def prepare():
        # Makes sure one prepared start is waiting for the next `main`.
        if not unused:
            unused.append(pt_config.get_config(list(block_args), None, prog="pytest.main()"))

    prepare()
    install_fixture_scan_shortcuts(unused[0].pluginmanager, pt_fixtures)
    share_failure_parses(pt_code, pt_source)
    for pattern in ("test_*.py", "*_test.py"):  # pytest's default python_files, compiled by each collection
        fnmatch.fnmatch("", pattern)

    def main(args=None, plugins=None):
        """pytest.main(args, plugins), from the prepared start the first time args block the prepared plugins."""
        if (
            not unused
            or plugins is not None
            or not isinstance(args, list)
            or args.count("--version") + args.count("-V") == 1
            or no_plugin_args(args) != blocks
        ):
            return pytest.main(args, plugins)
        # The rest of _pytest.config._main and _prepareconfig, after their get_config call.
        config = start = unused.pop()
        config.invocation_params = pt_config.Config.InvocationParams(
            args=args, plugins=None, dir=pathlib.Path.cwd()
        )
        old_version = os.environ.get("PYTEST_VERSION")
        try:
            os.environ["PYTEST_VERSION"] = pytest.__version__
            try:
                try:
                    pluginmanager = config.pluginmanager
                    config = pluginmanager.hook.pytest_cmdline_parse(pluginmanager=pluginmanager, args=args)
                except BaseException:
                    start._ensure_unconfigure()
                    raise
            except pt_config.ConftestImportFailure as e:
                pt_config.print_conftest_import_error(e, file=sys.stderr)
                return pt_config.ExitCode.USAGE_ERROR
            except pt_config.PluginImportFailure as e:
                pt_config.print_plugin_import_error(e, file=sys.stderr)
                return pt_config.ExitCode.INTERNAL_ERROR
            try:
                ret = config.hook.pytest_cmdline_main(config=config)
                try:
                    return pt_config.ExitCode(ret)
                except ValueError:
                    return ret
            finally:
                config._ensure_unconfigure()
        except pt_config.UsageError as e:
            pt_config.print_usage_error(e, file=sys.stderr)
            return pt_config.ExitCode.USAGE_ERROR
        finally:
            if old_version is None:
                os.environ.pop("PYTEST_VERSION", None)
            else:
                os.environ["PYTEST_VERSION"] = old_version

    module = types.ModuleType(PREPARED_PYTEST)
    module.main = main
    sys.modules[PREPARED_PYTEST] = module
    try:
        rehearse_pytest(main, prepare, block_args)
    except Exception as e:  # noqa: BLE001
        log(f"pytest runs start without a rehearsal: {type(e).__name__}: {e}")
    finally:
        prepare()  # the runs' own start, used by nobody yet


# The throwaway project rehearse_pytest runs: one module and its tests, all passing or some failing.
REHEARSAL_DIR = "/tmp/goodhart-rehearsal"
REHEARSAL_SOLUTION = "def add(a, b):\n    return a + b\n"
REHEARSAL_TESTS = (
    "import goodhart_rehearsal_solution as _solution\n"
    "from goodhart_rehearsal_solution import add as candidate\n"
    + "".join(f"\n\ndef test_case_{i}():\n    assert candidate({i}, 1) == {{expected{i}}}\n" for i in range(6))
)


def rehearse_pytest(main, prepare, block_args, rounds=3):
    """Runs whole pytest sessions through the prepared `main` in the server, before its first fork.

    Python 3.11 counts a function's first calls in its code object and then specialises its bytecode in
    place. A run that executes pytest's code for the first time writes into every code object it runs,
    and fork copies each page written. Code the server has run is already specialised and shared: this
    takes about a sixth off a pytest run's CPU. The project lives in the server's own /tmp, which no run
    sees (each has a fresh one), and what the sessions leave is removed: their modules, sys.path
    entries, caches of their paths and sys.last_*. Memos keyed by content (see share_failure_parses) stay.
    """
    import linecache
    import shutil

    saved_path, saved_env = list(sys.path), dict(os.environ)
    saved_stderr = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)  # warnings and reports of the sessions are nobody's output
    os.close(null)
    try:
        for _ in range(rounds):
            for failing in (False, True):
                shutil.rmtree(REHEARSAL_DIR, ignore_errors=True)
                os.makedirs(REHEARSAL_DIR)
                os.chdir(REHEARSAL_DIR)
                with open("goodhart_rehearsal_solution.py", "w") as f:
                    f.write(REHEARSAL_SOLUTION)
                expected = {f"expected{i}": i + 1 + (i % 2 if failing else 0) for i in range(6)}
                with open("test_goodhart_rehearsal.py", "w") as f:
                    f.write(REHEARSAL_TESTS.format(**expected))
                prepare()
                main(["-q", "--assert=plain", *block_args, "test_goodhart_rehearsal.py"])
    finally:
        # The sessions' reports still sit in the streams' buffers: a fork would print them at its exit.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.chdir(WORK)
        shutil.rmtree(REHEARSAL_DIR, ignore_errors=True)
        sys.path[:] = saved_path
        os.environ.clear()
        os.environ.update(saved_env)
        for name in list(sys.path_importer_cache):
            if name.startswith(REHEARSAL_DIR):
                del sys.path_importer_cache[name]
        for name, module in list(sys.modules.items()):
            if (getattr(module, "__file__", None) or "").startswith(REHEARSAL_DIR):
                del sys.modules[name]
        for name in ("last_type", "last_value", "last_traceback"):
            if hasattr(sys, name):
                delattr(sys, name)
        for name in list(linecache.cache):
            if name.startswith(REHEARSAL_DIR):
                del linecache.cache[name]
        inspect = sys.modules.get("inspect")
        if inspect is not None:
            for cache in (inspect.modulesbyfile, inspect._filesbymodname):
                for key, value in list(cache.items()):
                    if REHEARSAL_DIR in f"{key} {value}":
                        del cache[key]


def share_failure_parses(pt_code, pt_source):
    """pytest parses a failing test's whole file again for each failure it shows (twice each); a run now
    parses each distinct text once. The tree is only read, so sharing it changes no report."""
    import ast
    import warnings

    find_range = pt_source.getstatementrange_ast
    trees = {}

    def getstatementrange_ast(lineno, source, assertion=False, astnode=None):
        if astnode is None:
            content = str(source)
            astnode = trees.get(content)
            if astnode is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    astnode = ast.parse(content, "source", "exec")
                trees[content] = astnode
        return find_range(lineno, source, assertion, astnode)

    pt_source.getstatementrange_ast = pt_code.getstatementrange_ast = getstatementrange_ast


def unchanged(now, then):
    """Whether a namespace holds exactly the same names bound to the very same objects as before."""
    if len(now) != len(then):
        return False
    missing = now
    for name, value in then.items():
        if now.get(name, missing) is not value:
            return False
    return True


def install_fixture_scan_shortcuts(pluginmanager, pt_fixtures):
    """Makes the fixture scan of pytest's own plugins, which every session start repeats, mostly free.

    FixtureManager.parsefactories is replaced. For a builtin plugin module still exactly as it was here
    (same names bound to the same objects), it scans a slim module that holds only that module's
    fixtures: the same fixtures in the same order, for a fiftieth of the names. For an instance of a
    builtin plugin class whose names hold no fixture, it scans nothing. An instance's scan reads
    dir(instance) through its class: the names of the class and its bases, and names only in the
    instance, which a lookup on the class finds only in its metaclasses (so those must hold no fixture
    and no `__getattr__`), with object's `dir`. A run may change these classes (pytest's legacypath
    plugin adds properties to some on every start), so the names whose objects changed are checked
    again. Everything else, and anything whose check fails, gets pytest's own scan.
    """
    import types

    from _pytest.compat import safe_getattr

    fixture_type = pt_fixtures.FixtureFunctionDefinition
    manager = pt_fixtures.FixtureManager.__new__(pt_fixtures.FixtureManager)
    full_scan, notset, missing = pt_fixtures.FixtureManager.parsefactories, pt_fixtures.NOTSET, object()

    def fixture_or_wrapped(value):
        # A fixture, bare or behind other decorators (pytest warns about the latter).
        return manager._find_wrapped_fixture_def(value) is not None

    slim = {}
    for plugin in pluginmanager.get_plugins():
        if not isinstance(plugin, types.ModuleType) or "__dir__" in plugin.__dict__:
            continue
        names = plugin.__dict__
        fixtures = {name: value for name, value in names.items() if type(value) is fixture_type}
        if not any(fixture_or_wrapped(v) for name, v in names.items() if name not in fixtures):
            module = types.ModuleType(plugin.__name__)
            module.__dict__.update(fixtures)
            slim[id(plugin)] = (plugin, dict(names), module)

    def chain(cls):
        # The namespaces a lookup on cls reads, but object's and type's, which no program can change.
        return [c for c in (*cls.__mro__, *type(cls).__mro__) if c is not object and c is not type]

    def quiet(cls, c, name, value):
        if c in cls.__mro__:
            return (
                name != "__dir__"
                and not fixture_or_wrapped(value)
                and type(safe_getattr(cls, name, None)) is not fixture_type
            )
        return name != "__getattr__" and not isinstance(value, fixture_type)

    def still_silent(holder):
        cls = type(holder)
        entry = silent.get(id(cls))
        if entry is None or entry[0] is not cls or isinstance(holder, (type, types.ModuleType)):
            return False
        if chain(cls) != entry[1]:
            return False
        for c, then in zip(entry[1], entry[2]):
            for name, value in c.__dict__.items():
                if then.get(name, missing) is not value and not quiet(cls, c, name, value):
                    return False
        return True

    def parsefactories(self, node_or_obj=notset, nodeid=notset, *, holder=notset, node=notset):
        if holder is not notset and node_or_obj is notset and nodeid is notset:
            entry = slim.get(id(holder))
            if entry is not None and entry[0] is holder and unchanged(holder.__dict__, entry[1]):
                return full_scan(self, holder=entry[2], node=node)
            if still_silent(holder):
                return None
        return full_scan(self, node_or_obj, nodeid, holder=holder, node=node)

    pt_fixtures.FixtureManager.parsefactories = parsefactories
    # The classes are taken as they are now, with parsefactories replaced.
    candidates = {}
    for plugin in pluginmanager.get_plugins():
        if isinstance(plugin, types.ModuleType):
            for value in list(plugin.__dict__.values()):
                if isinstance(value, type) and value.__module__ == plugin.__name__:
                    candidates[id(value)] = value
        elif not isinstance(plugin, type):
            candidates[id(type(plugin))] = type(plugin)
    silent = {}
    for cls in candidates.values():
        try:
            namespaces = chain(cls)
            if all(quiet(cls, c, name, value) for c in namespaces for name, value in c.__dict__.items()):
                silent[id(cls)] = (cls, namespaces, [dict(c.__dict__) for c in namespaces])
        except Exception:  # noqa: BLE001
            continue


def serve(proto_in, proto_out, factory):
    """One run at a time: prepare, take a request, run it, answer; until the request stream ends."""
    while True:
        run, failure = None, None
        try:
            run = Run(factory)
        except BaseException as e:  # noqa: BLE001
            failure = f"could not prepare the run: {type(e).__name__}: {e}"
            log(failure)
        if MODE != "fresh":
            factory.ask()  # the next run's namespaces get made while this one executes
        try:
            req = read_request(proto_in)
        except EOFError:
            if run is not None:
                run.abandon()
            return
        if run is None:
            send_error(proto_out, failure)
        else:
            try:
                head, blobs = run.execute(req)
            except BaseException as e:  # noqa: BLE001
                run.abandon()
                send_error(proto_out, f"{type(e).__name__}: {e}")
            else:
                send_response(proto_out, head, blobs)
        if MODE == "fresh":
            return


def enter_own_pid_namespace():
    """Puts the server in a pid namespace of its own with a fresh /proc over the host's.

    bubblewrap's /proc has read-only covers that forbid mounting another proc below it, so the worker
    binds the host's (cover-free) /proc and this hides it again before any request is read.
    """
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # New ipc and uts namespaces too: bubblewrap's may belong to an outer user namespace (it nests one when
    # started as root), and the factory must be able to setns back into the ones it starts from.
    check(LIBC.unshare(ctypes.c_int(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS)), "unshare")
    mount(None, b"/", None, MS_REC | MS_PRIVATE, None)
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    prctl(PR_SET_DUMPABLE, 0)
    mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    # The sandbox's own root and /dev are tmpfs mounts every run of this worker shares: read-only, they
    # cannot carry a file from one run to the next. Each run writes only to its private tmpfs mounts.
    for target in (b"/", b"/dev"):
        flags = os.statvfs(target).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, None)


def main():
    global PLAIN_FORK
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    prctl(PR_SET_DUMPABLE, 0)
    enter_own_pid_namespace()
    narrow_bounding_set()
    factory = Factory((proto_in, proto_out))
    name_process("gh-server")
    if MODE != "fresh":
        # The cwd pytest would record for a run is the run's own /work.
        os.chdir(WORK)
        warm_up(with_pytest=MODE == "server")
        PLAIN_FORK = plain_fork()
    serve(proto_in, proto_out, factory)
    factory.close()


if __name__ == "__main__":
    main()
