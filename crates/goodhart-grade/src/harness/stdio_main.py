# The `hardened` profile's run of one stdin/stdout case: this file is the whole run. The work directory
# holds only the solution; the case's input is standard input; the expected output never enters the
# sandbox (the comparator runs in Goodhart's process). Python is set up the way competitive programmers
# expect: no limit on int->str digits, real binary stdin/stdout (sys.stdout.buffer), `__name__ ==
# "__main__"`, and everything printed flushed when the program ends.
import runpy
import sys

if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)
sys.argv = ["solution.py"]
runpy.run_path("solution.py", run_name="__main__")
