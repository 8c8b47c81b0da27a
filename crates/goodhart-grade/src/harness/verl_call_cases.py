# Trusted run (no solution code in it) for `verl_sandbox_fusion` on a call-based task: turns each case's
# Python arguments into the stdin verl's call-based wrapper reads (one JSON value per line) and its
# expected value into the text the wrapper prints for a correct answer (`json.dumps` for dict, list,
# tuple, None and bool; `str` for everything else), as verl's data would hold them.
import json

with open("goodhart_job.json") as _f:
    _job = json.load(_f)
_env = {}
exec(_job["setup"], _env)
_out = []
for _case in _job["cases"]:
    try:
        _args = eval("(" + _case["args"] + ",)", dict(_env))
        _want = eval(_case["expected"], dict(_env))
        if isinstance(_want, (dict, list, tuple, bool)) or _want is None:
            _text = json.dumps(_want)
        else:
            _text = str(_want)
        _out.append({"stdin": "\n".join(json.dumps(a) for a in _args), "expected": _text})
    except Exception as _e:
        _out.append({"error": f"{type(_e).__name__}: {_e}"})
with open("goodhart_results.jsonl", "w") as _f:
    _f.write(json.dumps(_out))
