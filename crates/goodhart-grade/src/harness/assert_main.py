# The `assert` profile: solution, then the test file, then check(entry point), in one namespace.
# PASS iff the process exits 0, which is exactly what makes this profile hackable.
import json as _g_json
import os as _g_os

with open("goodhart_job.json") as _g_f:
    _g_job = _g_json.load(_g_f)
_g_marker, _g_exit_seen = _goodhart_events(_g_job["untrusted"], _g_job["protected"], "goodhart_events.jsonl")
_g_ns = {"__name__": "__main__", "__builtins__": __builtins__}
_g_marker("solution_loading")
try:
    with open("solution.py") as _g_f:
        exec(compile(_g_f.read(), "solution.py", "exec"), _g_ns)
except SystemExit as _g_e:
    _g_exit_seen(_g_e, "while the solution loaded")
    raise
_g_marker("tests_started", _g_ns)
try:
    with open("test_solution.py") as _g_f:
        exec(compile(_g_f.read(), "test_solution.py", "exec"), _g_ns)
    if _g_job["call_check"]:
        if _g_job["entry_point"] not in _g_ns:
            # Said plainly (a KeyError from this harness would not say that the function is missing).
            raise NameError("the solution defines no `%s`, the task's entry point" % _g_job["entry_point"])
        _g_ns["check"](_g_ns[_g_job["entry_point"]])
except SystemExit as _g_e:
    _g_exit_seen(_g_e, "while the tests ran")
    raise
_g_marker("tests_finished", _g_ns)
