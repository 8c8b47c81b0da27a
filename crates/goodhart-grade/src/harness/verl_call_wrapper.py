

# verl's call-based wrapper, as sent to SandboxFusion (verl/utils/reward_score/sandbox_fusion/utils.py
# @ verl-project/verl 1dda039, lines 193-291), written here from reading it: read all of stdin, parse each
# line as one JSON argument, find the function (or the method of Solution()), call it, print the result.
# Any exception is written to stderr and the script still exits 0 (its sys.exit(1) is commented out).
if __name__ == '__main__':
    import sys as _w_sys
    import json as _w_json
    try:
        _w_data = _w_sys.stdin.read()
        _w_args = [_w_json.loads(_w_line) for _w_line in _w_data.split("\n")] if _w_data.strip() else []
        if FN_NAME in globals():
            _w_f = globals()[FN_NAME]
        elif "Solution" in globals():
            _w_f = getattr(globals()["Solution"](), FN_NAME)
        else:
            raise NameError("function " + FN_NAME + " not found")
        _w_r = _w_f(*_w_args)
        if isinstance(_w_r, (dict, list, tuple, bool)) or _w_r is None:
            print(_w_json.dumps(_w_r))
        else:
            print(str(_w_r))
    except Exception as _w_e:
        print(f"Error: {_w_e}", file=_w_sys.stderr)
