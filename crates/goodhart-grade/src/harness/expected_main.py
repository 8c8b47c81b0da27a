# Trusted run of the `hardened` profile: evaluates the expected values with the task's setup code only
# (no solution code is present) and writes one tagged value or error per case.
import json as _g_json

with open("goodhart_job.json") as _g_f:
    _g_job = _g_json.load(_g_f)
_g_ns = {"__name__": "__goodhart_expected__"}
exec(compile(_g_job["setup"], "setup.py", "exec"), _g_ns)
with open("goodhart_results.jsonl", "w") as _g_out:
    for _g_i, _g_src in enumerate(_g_job["expected"]):
        try:
            _g_text, _g_why = _goodhart_serialize(eval(compile(_g_src, "expected", "eval"), dict(_g_ns)))
        except BaseException as _g_e:
            _g_text, _g_why = None, "expected value raised %s: %s" % (type(_g_e).__name__, _g_e)
        _g_out.write(_g_json.dumps({"case": _g_i, "value": _g_text, "error": _g_why}) + "\n")
