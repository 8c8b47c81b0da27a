"""Goodhart sandbox harness: runs inside bubblewrap, forks one isolated child per run.

Modes: `server` (warm fork server: answers requests until its input closes) and `fresh` (answers one request
and exits; the benchmark baseline). Protocol on fds 0/1: u32 LE header length, JSON header, raw blobs.

Process tree per run:
  server -> setup (new user, mount, pid, ipc, uts namespaces; tmpfs work dir and /tmp)
         -> init (pid 1 of the new pid namespace: mounts /proc, supervises, answers)
         -> user (drops capabilities, sets rlimits, runs main.py as __main__)
When init exits the kernel kills everything left in the pid namespace, so nothing outlives a run.
"""

import ctypes
import json
import os
import resource
import select
import stat
import signal
import struct
import sys
import time

MODE = sys.argv[1] if len(sys.argv) > 1 else "server"
if sys.path and sys.path[0] == "":
    del sys.path[0]  # started with -c: the current directory is nobody's module path

if MODE == "server":
    # A warm interpreter: what runs commonly import is loaded once, before any fork.
    import pytest  # noqa: F401
    import _pytest.reports  # noqa: F401
    import _pytest.runner  # noqa: F401
    import _pytest.python  # noqa: F401
    import _pytest.assertion.rewrite  # noqa: F401
    import unittest  # noqa: F401
    import collections, itertools, functools, math, re, string, heapq, bisect, typing  # noqa: E401,F401
    import hashlib, random, fractions, decimal, statistics, copy, operator, dataclasses  # noqa: E401,F401
    import threading  # noqa: F401
    import atexit
    import gc

    # Objects that exist before the first fork are never collected, so forks do not copy their pages.
    gc.freeze()

WORK = "/work"
TMPFS = (b"/work", b"/tmp", b"/dev/shm")
LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID = 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_REC, MS_PRIVATE = 16384, 1 << 18
USER_KEYS = ("cpu", "fsize", "nofile", "procs", "mem", "argv")
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4


class SetupError(Exception):
    pass


def check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)}")


def prctl(option, arg=0):
    return LIBC.prctl(ctypes.c_int(option), ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0),
                      ctypes.c_ulong(0))


def mount(source, target, fstype, flags, data):
    check(LIBC.mount(source, target, fstype, ctypes.c_ulong(flags), data), f"mount {target.decode()}")


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


def setup(proto_in, proto_out, status_w):
    """A run's supervisor chain, prepared before its request arrives: namespaces, tmpfs mounts, then init."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # bubblewrap already gave the server its own user namespace (with the few capabilities it needs there),
    # so staying in it keeps mounts unlocked and lets init mount a fresh /proc.
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    check(LIBC.unshare(ctypes.c_int(flags)), "unshare")
    mount(None, b"/", None, MS_REC | MS_PRIVATE, None)
    for target in TMPFS:
        mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,nr_inodes=4096,mode=0755")
    os.chdir(WORK)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            code = init(proto_in, proto_out, status_w)
        except BaseException as e:  # noqa: BLE001
            try:
                send_error(proto_out, f"init: {type(e).__name__}: {e}")
                os.write(status_w, b"A")
            except BaseException:  # noqa: BLE001
                pass
            code = 3
        os._exit(code)
    os.close(status_w)
    _, status = os.waitpid(pid, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status) else 4)


def write_work_files(req):
    """Sizes the private mounts for this run and writes main.py and the extra files into the work dir."""
    size = max(req["fsize"] * 4, 1 << 20)
    for target in TMPFS:
        mount(None, target, None, MS_REMOUNT | MS_NOSUID | MS_NODEV, f"size={size},nr_inodes=4096".encode())
    with open("main.py", "wb") as f:
        f.write(req["main_src"])
    for name, data in req["file_data"]:
        path = os.path.normpath(name)
        if os.path.isabs(path) or path.startswith(".."):
            raise SetupError(f"extra file {name!r} is not a relative path inside the work directory")
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def init(proto_in, proto_out, status_w):
    """Pid 1 of the run's pid namespace: waits for a request, runs it, enforces wall time and output caps."""
    prctl(PR_SET_DUMPABLE, 0)
    mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    # As bubblewrap does for its own /proc: the kernel-wide knobs stay read-only.
    for name in (b"sys", b"sysrq-trigger", b"irq", b"bus"):
        target = b"/proc/" + name
        if os.path.exists(target):
            mount(target, target, None, MS_BIND | MS_REC, None)
            mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    # The user process is forked (and drops its privileges) before the request arrives, off the hot path;
    # it waits on `go` for the request's limits. If init ends first, the kernel kills it with the namespace.
    stdin_fd = os.memfd_create("stdin", 0)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    note_r, note_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 125
        try:
            os.dup2(stdin_fd, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            note_fd = os.dup2(note_w, 3)
            go_fd = os.dup2(go_r, 4)
            os.closerange(5, 1 << 16)
            code = user(go_fd, note_fd)
        finally:
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    os.close(note_w)
    os.close(go_r)
    try:
        req = read_request(proto_in)
    except EOFError:
        os.write(status_w, b"E")
        return 4
    os.write(status_w, b"R")
    write_work_files(req)
    write_all(stdin_fd, req["stdin_data"])
    os.lseek(stdin_fd, 0, os.SEEK_SET)
    os.close(stdin_fd)
    start = time.monotonic()
    write_all(go_w, json.dumps({key: req[key] for key in USER_KEYS}).encode())
    os.close(go_w)
    cap = req["out"]
    bufs = {out_r: bytearray(), err_r: bytearray()}
    open_fds = {out_r, err_r}
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    for fd in open_fds:
        poller.register(fd, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    deadline = start + req["wall"]
    ending = None
    while True:
        timeout = deadline - time.monotonic()
        if timeout <= 0 and ending is None:
            ending = "wall"
            kill_all()
            deadline = float("inf")
        events = poller.poll(None if deadline == float("inf") else max(timeout, 0) * 1000 + 1)
        if any(fd == pidfd for fd, _ in events):
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
                kill_all()
                deadline = float("inf")
    if ending is None:
        # The user process is gone: take what its pipes already hold, then end everything else.
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
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    reap_all()
    os.set_blocking(note_r, False)
    try:
        note = os.read(note_r, 16)
    except BlockingIOError:
        note = b""
    files, blobs_files = [], []
    for name in req["fetch"]:
        path = os.path.normpath(os.path.join(WORK, name))
        if not path.startswith(WORK + "/"):
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            data = os.read(fd, req["fsize"] + 1)[: req["fsize"]]
        finally:
            os.close(fd)
        files.append([name, len(data)])
        blobs_files.append(data)
    out, err = bytes(bufs[out_r][:cap]), bytes(bufs[err_r][:cap])
    head = {
        "kind": ending or ("signal" if os.WIFSIGNALED(status) else "exit"),
        "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "maxrss": usage.ru_maxrss * 1024,
        "stdout": len(out),
        "stderr": len(err),
        "files": files,
        "memerr": note == b"M",
    }
    send_response(proto_out, head, [out, err, *blobs_files])
    os.write(status_w, b"A")
    return 0


def drop_privileges():
    """What does not depend on the request: done while the process waits for it."""
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_STACK, (8 << 20, 8 << 20))  # a host's "unlimited" hides stack overflows
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    cap = 0
    while prctl(PR_CAPBSET_DROP, cap) == 0:
        cap += 1
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    check(LIBC.capset(header, data), "capset")
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
    with open("/proc/self/statm") as f:
        vm_bytes = int(f.read().split()[0]) * resource.getpagesize()
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


def kill_all():
    """Kills every other process of the run's pid namespace (init is pid 1 there)."""
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass


def reap_all():
    """Kills and reaps everything left in the pid namespace: nothing of the run exists when we answer."""
    while True:
        kill_all()
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def read_go(go_fd):
    """The request's limits and argv from init; empty when init gave up on the run."""
    chunks = []
    while True:
        chunk = os.read(go_fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(go_fd)
    return b"".join(chunks)


def user(go_fd, note_fd):
    """Runs main.py the way `python main.py ARGV...` would, then finalises like the interpreter does."""
    drop_privileges()
    go = read_go(go_fd)
    if not go:
        return 126
    req = json.loads(go)
    apply_limits(req)
    with open(WORK + "/main.py", "rb") as f:
        main_src = f.read()
    import atexit
    import builtins
    import types

    atexit._clear()
    sys.argv = ["main.py", *req["argv"]]
    sys.path[0:0] = [WORK]
    if "" in sys.path:
        sys.path.remove("")
    sys.path_importer_cache.clear()
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
        exec(compile(main_src, WORK + "/main.py", "exec"), module.__dict__)
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
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:  # noqa: BLE001
            if code == 0:
                code = 120
    return code


def start_chain(proto_in, proto_out):
    """Forks the supervisor chain for the next run; returns (pid, status pipe read end)."""
    status_r, status_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(status_r)
        try:
            setup(proto_in, proto_out, status_w)
        except BaseException as e:  # noqa: BLE001
            try:
                os.write(2, f"goodhart harness: preparing a run failed: {e}\n".encode())
            except BaseException:  # noqa: BLE001
                pass
        os._exit(5)
    os.close(status_w)
    return pid, status_r


def serve(proto_in, proto_out):
    """Keeps one prepared chain waiting for the next request while earlier runs finish.

    Status bytes from a chain: R = took a request, A = answered it, E = the request stream ended. A chain
    that ends without answering a request it took gets a sandbox-error answer from here, so the Rust side
    always receives exactly one answer per request.
    """
    current = start_chain(proto_in, proto_out)
    running = {}  # status fd -> [pid, answered]
    while current is not None or running:
        watch = list(running) + ([current[1]] if current is not None else [])
        for fd in select.select(watch, [], [])[0]:
            data = os.read(fd, 16)
            if current is not None and fd == current[1]:
                pid = current[0]
                if b"E" in data:
                    return
                if not data:
                    # It died before taking a request: answer the request it would have taken.
                    os.waitpid(pid, 0)
                    os.close(fd)
                    try:
                        read_request(proto_in)
                    except EOFError:
                        return
                    send_error(proto_out, "could not prepare the run's namespaces (see the worker's stderr)")
                    current = start_chain(proto_in, proto_out) if MODE == "server" else None
                    continue
                running[fd] = [pid, b"A" in data]
                current = start_chain(proto_in, proto_out) if MODE == "server" else None
                continue
            entry = running[fd]
            if b"A" in data:
                entry[1] = True
            if not data:
                os.waitpid(entry[0], 0)
                os.close(fd)
                del running[fd]
                if not entry[1]:
                    send_error(proto_out, "the run's supervisor died without answering")


def enter_own_pid_namespace():
    """Puts the server in a pid namespace of its own with a fresh /proc over the host's.

    bubblewrap's /proc has read-only covers that forbid mounting another proc below it, so the worker
    binds the host's (cover-free) /proc and this hides it again before any request is read.
    """
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    check(LIBC.unshare(ctypes.c_int(CLONE_NEWNS | CLONE_NEWPID)), "unshare")
    mount(None, b"/", None, MS_REC | MS_PRIVATE, None)
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    prctl(PR_SET_DUMPABLE, 0)
    mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)


def main():
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    prctl(PR_SET_DUMPABLE, 0)
    enter_own_pid_namespace()
    serve(proto_in, proto_out)


if __name__ == "__main__":
    main()
