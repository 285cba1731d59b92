"""atheris harness: Reservoir.from_bytes on fuzzed bytes; a reservoir that
loads is exercised (sample size, round trips, update, merge)."""
import sys

import atheris
import numpy  # noqa: F401  (not instrumented: only negsamp and the harness are)

with atheris.instrument_imports():
    import negsamp
    import _exercise
    from _bytes import raw_entry

if __name__ == "__main__":
    atheris.Setup(sys.argv, raw_entry(negsamp.Reservoir.from_bytes, _exercise.reservoir))
    atheris.Fuzz()
