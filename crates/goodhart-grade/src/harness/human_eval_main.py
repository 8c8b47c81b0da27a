# The `human_eval` profile: openai/human-eval's harness (human_eval/execution.py @ 6d43fb9,
# `unsafe_execute`), written here from reading it. One process builds program + test + `check(entry)`,
# exec's it in a fresh globals dict with stdout/stderr swallowed and stdin unreadable, under a 3 s
# wall-clock itimer; `result` is a list in this function's frame: "passed" when exec returns, "failed: ..."
# on any BaseException (so SystemExit fails); no result at all (os._exit, a kill) means "timed out".
# The job file is read and removed first; the verdict goes to a file named by a nonce in the job.
import contextlib
import io
import json
import os
import signal


class TimeoutException(Exception):
    pass


class WriteOnlyStringIO(io.StringIO):
    def read(self, *args, **kwargs):
        raise OSError

    def readline(self, *args, **kwargs):
        raise OSError

    def readlines(self, *args, **kwargs):
        raise OSError

    def readable(self, *args, **kwargs):
        return False


def unsafe_execute(job):
    result = []
    check_program = job["program"] + "\n" + job["test"] + "\n" + "check(" + job["entry_point"] + ")"
    out = job["out"]

    def handler(signum, frame):
        raise TimeoutException("Timed out!")

    signal.setitimer(signal.ITIMER_REAL, job["timeout"])
    signal.signal(signal.SIGALRM, handler)
    stream = WriteOnlyStringIO()
    try:
        exec_globals = {}
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            exec(check_program, exec_globals)
        result.append("passed")
    except TimeoutException:
        result.append("timed out")
    except BaseException as e:
        result.append(f"failed: {e}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    with open(out, "w") as f:
        f.write(json.dumps({"result": result[0] if result else "timed out"}))


def _main():
    with open("goodhart_job.json") as f:
        job = json.load(f)
    os.remove("goodhart_job.json")
    unsafe_execute(job)


_main()
