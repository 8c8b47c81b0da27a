# Untrusted run of the `hardened` profile. The arguments are evaluated and the results file is opened
# before the solution loads; each case then runs in a fresh fork that calls the entry point once and
# sends back an exact-type serialisation. Expected values never enter this process.
import gc as _g_gc
import json as _g_json
import os as _g_os
import select as _g_select
import signal as _g_signal
import sys as _g_sys
import time as _g_time


def _goodhart_hardened():
    # The inherited heap is never garbage: frozen, the per-case forks do not walk and copy it.
    _g_gc.freeze()
    fork, pipe, read, write, close, kill, waitpid = (
        _g_os.fork, _g_os.pipe, _g_os.read, _g_os.write, _g_os.close, _g_os.kill, _g_os.waitpid)
    exit_now, select, monotonic, dumps, loads = _g_os._exit, _g_select.select, _g_time.monotonic, _g_json.dumps, _g_json.loads
    serialize, SIGKILL, stdout, stderr = _goodhart_serialize, _g_signal.SIGKILL, _g_sys.stdout, _g_sys.stderr
    truth = bool
    type_name = lambda e: type(e).__name__

    with open("goodhart_job.json") as f:
        job = loads(f.read())
    _g_os.remove("goodhart_job.json")
    out = _g_os.open("goodhart_results.jsonl", _g_os.O_WRONLY | _g_os.O_CREAT | _g_os.O_TRUNC, 0o644)

    def record(case, **fields):
        fields["case"] = case
        write(out, (dumps(fields) + "\n").encode("utf-8", "replace"))

    setup_ns = {"__name__": "__goodhart_setup__"}
    exec(compile(job["setup"], "setup.py", "exec"), setup_ns)
    calls = []
    for src in job["args"]:
        try:
            calls.append(eval(compile("(lambda *a, **k: (a, k))(%s)" % src, "args", "eval"), dict(setup_ns)))
        except BaseException as e:
            calls.append("arguments raised %s: %s" % (type_name(e), e))

    def in_child(body, timeout):
        # Runs body() in a fresh fork; returns the dict it sent, or a failure dict.
        stdout.flush()
        stderr.flush()
        r, w = pipe()
        pid = fork()
        if pid == 0:
            close(r)
            try:
                message = body()
            except BaseException as e:
                try:
                    message = {"error": "raised %s: %s" % (type_name(e), e)}
                except BaseException:
                    message = {"error": "raised an exception"}
            try:
                data = dumps(message).encode("utf-8", "replace")
                while data:
                    data = data[write(w, data):]
            finally:
                exit_now(0)
        close(w)
        chunks, deadline, timed_out = [], monotonic() + timeout, False
        while True:
            left = deadline - monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select([r], [], [], left)
            if not ready:
                continue
            chunk = read(r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        if timed_out:
            try:
                kill(pid, SIGKILL)
            except OSError:
                pass
        close(r)
        waitpid(pid, 0)
        if timed_out:
            return {"timeout": True, "error": "no result within %.1fs" % timeout}
        try:
            return loads(b"".join(chunks).decode("utf-8", "replace"))
        except ValueError:
            return {"error": "the case ended without sending a result"}

    solution_ns = {"__name__": "solution"}
    try:
        with open("solution.py") as f:
            exec(compile(f.read(), "solution.py", "exec"), solution_ns)
        entry = solution_ns.get(job["entry_point"])
        load_error = None if callable(entry) else "the solution defines no callable `%s`" % job["entry_point"]
    except BaseException as e:
        load_error = "the solution failed to load: %s: %s" % (type_name(e), e)
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
            return {"value": text} if why is None else {"error": why}

        record(i, **in_child(run_case, job["case_timeout"]))
    if job["unsplit"]:
        if load_error is not None:
            record("unsplit", error=load_error)
        else:
            def run_unsplit():
                ns = dict(solution_ns)
                exec(compile(job["setup"], "setup.py", "exec"), ns)
                ns["candidate"] = ns[job["entry_point"]] = entry
                for statement in job["unsplit"]:
                    exec(compile(statement, "unsplit_tests.py", "exec"), ns)
                return {"value": "ok"}

            record("unsplit", **in_child(run_unsplit, job["case_timeout"] * 4))
    close(out)
    exit_now(0)


_goodhart_hardened()
