#!/usr/bin/env python3
"""Rewrite LiveCodeBench rows so their `private_test_cases` are plain JSON text, without unpickling.

LiveCodeBench ships private tests as base64(zlib(pickle(json_text))). Goodhart refuses pickles, because
`pickle.loads` can run arbitrary code. This script reads the pickle's opcodes with `pickletools.genops`
(which never executes anything) and accepts exactly one shape: a protocol header, optional frame and memo
opcodes, one string, STOP. Anything else (a global, a reduce, a second object) is refused with the row
named. Usage:

    python3 scripts/lcb_tests_to_json.py IN.jsonl OUT.jsonl

IN is JSON Lines (one problem per line); a Parquet file can be turned into that first, e.g. with
`python3 -c "import pandas; pandas.read_parquet('x.parquet').to_json('x.jsonl', orient='records', lines=True)"`.
"""

import base64
import json
import pickletools
import sys
import zlib

ALLOWED = {"PROTO", "FRAME", "MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT", "STOP"}
STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"}


def pickled_string(payload: bytes) -> str:
    """The one str a pickle holds, read from its opcodes; ValueError for any other pickle."""
    found = []
    for opcode, arg, _pos in pickletools.genops(payload):
        if opcode.name in STRINGS:
            found.append(arg)
        elif opcode.name not in ALLOWED:
            raise ValueError(f"opcode {opcode.name} is not allowed (only a single pickled str is)")
    if len(found) != 1:
        raise ValueError(f"expected exactly one string, found {len(found)}")
    return found[0]


def convert(row: dict, where: str) -> dict:
    text = row.get("private_test_cases")
    if not isinstance(text, str):
        return row
    try:
        json.loads(text)
        return row  # already JSON
    except ValueError:
        pass
    raw = zlib.decompress(base64.b64decode(text))
    if raw[:1] == b"\x80":
        inner = pickled_string(raw)
    else:
        inner = raw.decode("utf-8")
    json.loads(inner)  # must be JSON text of the test list
    return {**row, "private_test_cases": inner}


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f, open(target, "w", encoding="utf-8") as out:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{source}: line {number}"
            try:
                row = convert(json.loads(line), where)
            except (ValueError, zlib.error) as e:
                print(f"{where}: private_test_cases: {e}", file=sys.stderr)
                return 1
            out.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
