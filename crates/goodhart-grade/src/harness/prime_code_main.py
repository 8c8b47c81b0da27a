# The `verl_prime_code` profile: verl's local prime_code reward (verl-project/verl @ 1dda039,
# verl/utils/reward_score/prime_code/testing_util.py `run_test`, `call_method`, the compare blocks, and
# utils.py `check_correctness`), written here from reading it; no code is copied. One process runs the
# cases in order and stops at the first that is not `True`. The program is exec'd inside this process:
# call-based results are compared here (`output == expected`, which the program's object decides), and
# stdin/stdout programs read a StringIO and print into one (so `sys.stdout.buffer` does not exist).
# Like verl, no SIGALRM handler is installed: a case that outlives its alarm kills the whole process
# and every case of this run counts as failed. The job file is read and removed before the program
# loads; the results go to a file named by a nonce from the job.
import ast
import builtins
import io
import json
import os
import signal
import sys
import types

PRELUDE = ""  # verl's star-import prelude (harness/verl_prelude.py), set from the job


def as_json_value(value):
    """What a value looks like after a JSON round trip (tuples become lists), as verl's data stores it."""
    try:
        return json.loads(json.dumps(value))
    except Exception:
        return value


def run_call_based(job, results):
    source = PRELUDE + job["code"]
    module = types.ModuleType("tmp_sol", "")
    try:
        exec(source, module.__dict__)
        if "class Solution" in job["code"]:
            method = getattr(module.Solution(), job["fn_name"])
        else:
            method = getattr(module, job["fn_name"])
    except Exception:
        results.append(-2)
        return
    env = {}
    exec(job["setup"], env)
    for index, case in enumerate(job["cases"]):
        args = eval("(" + case["args"] + ",)", dict(env))
        expected = as_json_value(eval(case["expected"], dict(env)))
        try:
            signal.alarm(job["timeout"])
            sys.stdout = open(os.devnull, "w")
            try:
                output = method(*args)
            finally:
                sys.stdout = sys.__stdout__
                signal.alarm(0)
            if isinstance(output, tuple):
                output = list(output)
            json.dumps(output)
            tmp_result = output == expected
            if isinstance(expected, list) and expected:
                tmp_result = tmp_result or (output == expected[0])
            try:
                if isinstance(output[0], tuple):
                    tmp_result = tmp_result or ([list(x) for x in output] == expected[0])
            except Exception:
                pass
        except Exception:
            results.append(-1)
            return
        if tmp_result is not True:
            results.append(False)
            return
        results.append(True)


def rewrite_stdio(code):
    """Un-nests a trailing `if __name__ == '__main__':` and wraps the program in `code()`."""
    try:
        tree = ast.parse(code)
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.If) and "__name__" in ast.unparse(last.test):
            tree.body = tree.body[:-1] + last.body
            code = ast.unparse(tree)
    except Exception:
        pass
    head, body, started = [], [], False
    for line in code.split("\n"):
        if not started and (line.startswith("from ") or line.startswith("import ")):
            head.append(line + "\n")
        else:
            started = True
            body.append("\t" + line + "\n")
    return "".join(head) + "stdin = sys.stdin\nstdout = sys.stdout\ndef code():\n" + "".join(body)


def call_method(method, text):
    lines = iter(text.split("\n"))
    real_open = builtins.open
    builtins.open = lambda *a, **k: text
    real_stdin = sys.stdin
    sys.stdin = io.StringIO(text)
    sys.stdin.readline = lambda *a: next(lines)
    sys.stdin.readlines = lambda *a: text.split("\n")
    sys.stdin.read = lambda *a: text
    try:
        return method()
    except SystemExit:
        pass
    finally:
        builtins.open = real_open
        sys.stdin = real_stdin


def stripped(text):
    return text.strip()


def floats_of(lines):
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) != 1:
            return None
        try:
            out.append(float(parts[0]))
        except ValueError:
            return None
    return out


def stdio_equal(output, expected):
    """verl's stdin/stdout rules, any of which passes (testing_util.py, the compare blocks)."""
    if stripped(output) == stripped(expected):
        return True
    out_lines = output.splitlines()
    exp_lines = expected.splitlines()
    if "\n".join(l.strip() for l in out_lines).strip() == "\n".join(l.strip() for l in exp_lines).strip():
        return True
    out_nonempty = [l.strip() for l in out_lines if l.strip()]
    exp_nonempty = [l.strip() for l in exp_lines if l.strip()]
    if out_nonempty == exp_nonempty:
        return True
    if len(out_nonempty) == len(exp_nonempty) and out_nonempty:
        if not all(o.isdigit() and e.isdigit() for o, e in zip(out_nonempty, exp_nonempty)):
            got, want = floats_of(out_nonempty), floats_of(exp_nonempty)
            if got is not None and want is not None:
                if all(abs(g - w) <= 1e-8 + 1e-5 * abs(w) for g, w in zip(got, want)):
                    return True
    return False


def run_stdio(job, results):
    source = PRELUDE + rewrite_stdio("\n" + job["code"])
    module = types.ModuleType("tmp_sol", "")
    try:
        exec(source, module.__dict__)
        method = module.code
    except Exception:
        results.append(-2)
        return
    in_outs = {"inputs": [c["input"] for c in job["io"]], "outputs": [c["output"] for c in job["io"]]}
    for index, inputs in enumerate(in_outs["inputs"]):
        captured = io.StringIO()
        signal.alarm(job["timeout"])
        sys.stdout = captured
        try:
            call_method(method, inputs)
            signal.alarm(0)
        except Exception:
            signal.alarm(0)
            sys.stdout = sys.__stdout__
            results.append(-1)
            return
        finally:
            sys.stdout = sys.__stdout__
        if not stdio_equal(captured.getvalue(), in_outs["outputs"][index]):
            results.append(False)
            return
        results.append(True)


def run_test(job):
    # A SystemExit from the program escapes this function, as in verl, and no results are written.
    results = []
    if job["mode"] == "call":
        run_call_based(job, results)
    else:
        run_stdio(job, results)
    with open(job["out"], "w") as f:
        f.write(json.dumps(results))


def _main():
    global PRELUDE
    with open("goodhart_job.json") as f:
        job = json.load(f)
    os.remove("goodhart_job.json")
    PRELUDE = job["prelude"]
    run_test(job)


_main()
