"""atheris harness: AliasTable.from_bytes on fuzzed bytes; a table that
loads is exercised (draws in range, round trips)."""
import sys

import atheris
import numpy  # noqa: F401  (not instrumented: only negsamp and the harness are)

with atheris.instrument_imports():
    import negsamp
    import _exercise
    from _bytes import raw_entry

if __name__ == "__main__":
    atheris.Setup(sys.argv, raw_entry(negsamp.AliasTable.from_bytes, _exercise.alias_table))
    atheris.Fuzz()
