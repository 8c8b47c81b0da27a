# Untrusted run of the `hardened` profile. The arguments are evaluated and the results file is opened
# before the solution loads; each case then runs in a fresh fork that calls the entry point once and
# sends back an exact-type serialisation. Expected values never enter this process.
import builtins as _g_builtins
import gc as _g_gc
import json as _g_json
import os as _g_os
import select as _g_select
import signal as _g_signal
import sys as _g_sys
import time as _g_time


def _goodhart_case_fork():
    """A fork for one case: plain when this process had no other thread once the solution loaded,
    Python's own otherwise.

    os.fork runs Python's at-fork handlers in the child (threading's repairs, random's reseed, any the
    solution registered): half of a case's fork time. They repair what other threads could have left
    half-done; with no other thread (the solution may start some while loading) there is none, and the
    C library's own fork handlers still run. A case child then starts with the parent's random state.
    The threads are counted once, before the first case: after that no code of the solution runs here,
    and a thread its signal handler started anyway could at worst hang a case, which then fails.
    """
    import ctypes

    plain, listdir, python_fork = ctypes.PyDLL(None).fork, _g_os.listdir, _g_os.fork
    plain.restype, plain.argtypes = ctypes.c_int, []
    alone = []

    def fork():
        if not alone:
            try:
                alone.append(len(listdir("/proc/self/task")) == 1)
            except Exception:
                alone.append(False)
        pid = plain() if alone[0] else -1
        return pid if pid >= 0 else python_fork()

    return fork


def _goodhart_case_walls():
    """What keeps one case from handing anything to the next, beyond each case's fresh fork.

    Returns (seal_parent, seal_child, note). seal_parent() runs once the solution has loaded, before the
    first case: the descriptors the solution opened (files, pipes, sockets; stdin) and its shared memory
    mappings are gone, and this process is no longer dumpable, so no case can read or trace it.
    seal_child() runs first thing in each case: Landlock forbids it to create, change or remove any file
    and to signal or reach (abstract sockets) anything outside the case. After each case everything it
    started is killed. `note` says what this kernel could not do.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    syscall, munmap, prctl = libc.syscall, libc.munmap, libc.prctl
    syscall.restype = ctypes.c_long
    munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    long, uint = ctypes.c_long, ctypes.c_uint32
    create_ruleset, restrict_self = long(444), long(446)  # Landlock's system calls, the same on every arch
    PR_SET_DUMPABLE = 4
    abi = syscall(create_ruleset, None, ctypes.c_size_t(0), uint(1))  # LANDLOCK_CREATE_RULESET_VERSION
    note = None
    if abi < 1:
        note = "Landlock is unavailable here: a case could leave files for the cases after it"
    else:
        # Every right that changes the file system: write, truncate, make, remove, rename/link (refer).
        fs = sum(1 << bit for bit in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))
        fs |= (1 << 13 if abi >= 2 else 0) | (1 << 14 if abi >= 3 else 0)
        attr = (ctypes.c_uint64 * 3)(fs, 0, 3 if abi >= 6 else 0)  # scoped: abstract sockets, signals
        size = ctypes.c_size_t(24 if abi >= 6 else 16 if abi >= 4 else 8)
    os, devnull = _g_os, "/dev/null"

    def seal_parent(keep):
        no = ctypes.c_ulong(0)
        prctl(ctypes.c_int(PR_SET_DUMPABLE), no, no, no, no)
        null = os.open(devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.closerange(3, keep)
        os.closerange(keep + 1, 1 << 20)
        for line in _goodhart_read("/proc/self/maps").splitlines():
            fields = line.split(None, 5)
            path = fields[5] if len(fields) > 5 else b""
            if fields[1][3:4] == b"s" and not path.startswith(b"/usr/"):
                start, end = (int(x, 16) for x in fields[0].split(b"-"))
                munmap(start, end - start)

    def seal_child():
        if note is not None:
            return
        fd = syscall(create_ruleset, ctypes.byref(attr), size, uint(0))
        if fd < 0 or syscall(restrict_self, long(fd), uint(0)) != 0:
            raise OSError(ctypes.get_errno(), "could not restrict the case with Landlock")
        os.close(fd)

    return seal_parent, seal_child, note


def _goodhart_read(path):
    """A file's bytes, read without a Python file object (a text stream costs this process 0.1 ms)."""
    fd, chunks = _g_os.open(path, _g_os.O_RDONLY), []
    try:
        while True:
            chunk = _g_os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        _g_os.close(fd)


def _goodhart_hardened():
    # The inherited heap is never garbage: frozen, the per-case forks do not walk and copy it.
    _g_gc.freeze()
    fork, pipe, read, write, close, kill, waitpid = (
        _goodhart_case_fork(), _g_os.pipe, _g_os.read, _g_os.write, _g_os.close, _g_os.kill, _g_os.waitpid)
    seal_parent, seal_child, isolation_note = _goodhart_case_walls()
    pidfd_open, set_blocking = _g_os.pidfd_open, _g_os.set_blocking
    exit_now, select, monotonic, dumps, loads = _g_os._exit, _g_select.select, _g_time.monotonic, _g_json.dumps, _g_json.loads
    serialize, SIGKILL, stdout, stderr = _goodhart_serialize, _g_signal.SIGKILL, _g_sys.stdout, _g_sys.stderr
    quote = _g_json.encoder.encode_basestring_ascii
    truth = bool
    type_name = lambda e: type(e).__name__

    job = loads(_goodhart_read("goodhart_job.json"))
    # Neither the job nor this harness's source is the solution's business; a solution that goes looking
    # for asserts in the files beside it (or in its caller's file) finds none to parse.
    _g_os.remove("goodhart_job.json")
    _g_os.remove("main.py")
    out = _g_os.open("goodhart_results.jsonl", _g_os.O_WRONLY | _g_os.O_CREAT | _g_os.O_TRUNC, 0o644)

    # Results are kept here and written at the end: a file growing case by case would tell each case
    # how many came before it.
    records = []

    def record(case, **fields):
        fields["case"] = case
        records.append(dumps(fields) + "\n")

    setup_ns = {"__name__": "__goodhart_setup__"}
    exec(compile(job["setup"], "setup.py", "exec"), setup_ns)
    calls = []
    for src in job["args"]:
        try:
            calls.append(eval(compile("(lambda *a, **k: (a, k))(%s)" % src, "args", "eval"), dict(setup_ns)))
        except BaseException as e:
            calls.append("arguments raised %s: %s" % (type_name(e), e))

    cores, ticks = _g_os.cpu_count() or 1, _g_os.sysconf("SC_CLK_TCK")

    def cpu_of(pid):
        # CPU seconds of a case's process and of the children it waited for (/proc/PID/stat fields 14-17).
        try:
            data = _goodhart_read("/proc/%d/stat" % pid)
            fields = data[data.rindex(b")") + 2:].split()
            return sum(int(x) for x in fields[11:15]) / ticks
        except (OSError, ValueError):
            return 0.0

    def where(e):
        # " [solution.py:N]": the innermost line of the solution the exception passed through, if any.
        tb, line = e.__traceback__, None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "solution.py":
                line = tb.tb_lineno
            tb = tb.tb_next
        return "" if line is None else " [solution.py:%d]" % line

    def in_child(body, timeout, wall):
        # Runs body() in a fresh fork; returns what it sent (see sent), or "cpu" / "wall" when it used up
        # its CPU limit (`timeout` CPU seconds: the machine's load does not change when a case reaches it)
        # or the much larger wall-clock cap (a case that sleeps or blocks). Its CPU time is looked at only
        # once it could have reached the limit on every core, so a short case is never looked at.
        # It does no more than that: every page this process writes while a case's fork lives is copied,
        # once per case, so the answers are decoded after the last case. (The standard streams were
        # flushed before the first case: nothing here writes to them.)
        r, w = pipe()
        pid = fork()
        if pid == 0:
            close(r)
            close(out)
            try:
                seal_child()
                key, text = body()
            except BaseException as e:
                try:
                    key, text = "error", "raised %s: %s%s" % (type_name(e), e, where(e))
                except BaseException:
                    key, text = "error", "raised an exception"
            try:
                # One JSON object, {key: text}, written without json.dumps (see the serialiser).
                data = ('{"%s": %s}' % (key, quote(text))).encode("ascii")
                while data:
                    data = data[write(w, data):]
            finally:
                exit_now(0)
        close(w)
        # Until the pipe ends or the case process does (a process it started may hold the pipe open).
        gone = pidfd_open(pid)
        started = monotonic()
        chunks, deadline, look, timed_out = [], started + wall, started + timeout / cores, False
        while True:
            now = monotonic()
            if now >= deadline:
                timed_out = "wall"
                break
            if now >= look:
                used = cpu_of(pid)
                if used >= timeout:
                    timed_out = "cpu"
                    break
                look = now + max(0.01, (timeout - used) / cores)
            ready, _, _ = select([r, gone], [], [], min(deadline, look) - now)
            if r in ready:
                chunk = read(r, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
            elif ready:
                set_blocking(r, False)
                try:
                    chunk = read(r, 1 << 16)
                    while chunk:
                        chunks.append(chunk)
                        chunk = read(r, 1 << 16)
                except BlockingIOError:
                    pass
                break
        close(gone)
        if timed_out:
            try:
                kill(pid, SIGKILL)
            except OSError:
                pass
        close(r)
        waitpid(pid, 0)
        try:
            kill(-1, SIGKILL)  # whatever the case started (the pid namespace's init and this process are spared)
        except OSError:
            pass
        return timed_out or chunks

    def sent(chunks, timeout, wall):
        # The fields of a case's record: what its fork sent, or why there is nothing.
        if chunks == "cpu":
            return {"timeout": True, "limit": "cpu", "error": "stopped at its CPU limit (%.1f s of CPU)" % timeout}
        if chunks == "wall":
            return {"timeout": True, "limit": "wall",
                    "error": "stopped at the wall-clock cap (%.1f s) before its CPU limit: it slept or blocked" % wall}
        try:
            message = loads(b"".join(chunks).decode("utf-8", "replace"))
        except ValueError:
            message = None
        # A case's process runs the solution, which can write to the pipe itself: keep only the two fields.
        fields = {key: message[key] for key in ("value", "error") if key in message} if isinstance(message, dict) else {}
        return fields or {"error": "the case ended without sending a result"}

    # What the unsplit tests may see of the world, taken before the solution runs: every module's
    # attributes (builtins and sys among them) and the few builtins this harness calls after that
    # point. A solution that rebinds `builtins.set`, `sys.getsizeof` or `builtins.exec` changes nothing
    # the unsplit tests use (see `restore_world`).
    run_code, compile_code, as_dict, as_list, attrs, load_module = exec, compile, dict, list, vars, __import__
    module_type, builtin_names = type(_g_sys), frozenset(attrs(_g_builtins))
    live_modules = _g_sys.modules
    saved_modules = {}
    for name, module in as_list(live_modules.items()):
        try:
            saved_modules[name] = (module, as_dict(attrs(module)))
        except TypeError:
            pass
    missing = object()

    def restore_world(ns):
        # Runs in the unsplit tests' fork, before their setup: modules the solution imported are
        # forgotten (a test's `import` loads them afresh), every module's attributes are put back as
        # they were, and in the namespace the tests share with the solution, names that shadow a
        # builtin go and names of standard modules point at the real ones. The solution's own
        # functions and classes stay visible: tests may call them. What this cannot undo: mutations
        # inside objects (a list's items, a type's slots), which are out of a solution's reach for
        # builtin types without ctypes.
        for name in [n for n in as_list(live_modules) if n not in saved_modules]:
            del live_modules[name]
        for name, (module, saved) in saved_modules.items():
            live_modules[name] = module
            live = attrs(module)
            for key in [k for k in live if k not in saved]:
                del live[key]
            for key, value in saved.items():
                if live.get(key, missing) is not value:
                    live[key] = value
        for key in [k for k in ns if k in builtin_names and not k.startswith("__")]:
            del ns[key]
        for key, value in as_list(ns.items()):
            if key in saved_modules:
                ns[key] = saved_modules[key][0]
            elif type(value) is module_type:
                ns[key] = load_module(value.__name__, fromlist=["_"])

    solution_ns = {"__name__": "solution"}
    try:
        with open("solution.py") as f:
            exec(compile(f.read(), "solution.py", "exec"), solution_ns)
        entry = solution_ns.get(job["entry_point"])
        load_error = None if callable(entry) else "the solution defines no callable `%s`" % job["entry_point"]
    except BaseException as e:
        load_error = "the solution failed to load: %s: %s" % (type_name(e), e)
    if isolation_note is not None:
        record("isolation", error=isolation_note)
    seal_parent(out)
    stdout.flush()
    stderr.flush()
    answers = []  # (case, what its fork sent, its CPU limit, its wall cap), decoded after the last fork
    for i, call in enumerate(calls):
        if load_error is not None:
            record(i, error=load_error)
            continue
        if isinstance(call, str):
            record(i, error=call)
            continue

        # A truthiness case (`assert f(x)`) sends only bool(result): the test asks nothing more of it.
        def run_case(call=call, by_truth=job["truthiness"][i]):
            result = entry(*call[0], **call[1])
            text, why = serialize(truth(result) if by_truth else result)
            return ("value", text) if why is None else ("error", why)

        answers.append((i, in_child(run_case, job["case_timeout"], job["case_wall"]), job["case_timeout"], job["case_wall"]))
    if job["unsplit"]:
        if load_error is not None:
            record("unsplit", error=load_error)
        else:
            def run_unsplit():
                ns = as_dict(solution_ns)
                restore_world(ns)
                run_code(compile_code(job["setup"], "setup.py", "exec"), ns)
                ns["candidate"] = ns[job["entry_point"]] = entry
                for statement in job["unsplit"]:
                    run_code(compile_code(statement, "unsplit_tests.py", "exec"), ns)
                return "value", "ok"

            limit, wall = job["case_timeout"] * 4, job["case_wall"] * 4
            answers.append(("unsplit", in_child(run_unsplit, limit, wall), limit, wall))
    for case, chunks, timeout, wall in answers:
        record(case, **sent(chunks, timeout, wall))
    data = "".join(records).encode("utf-8", "replace")
    while data:
        data = data[write(out, data):]
    close(out)
    exit_now(0)


_goodhart_hardened()
