"""Builds and runs the C tests of csrc/ on their own (with a sanitizer when
the compiler has its runtime): one home for the compiler lookup and the
command line of every C test."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Callable, Dict, List, Optional, Sequence

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join(os.path.dirname(HERE), "csrc")

#: ASan + UBSan, stopping at the first undefined behaviour
ADDRESS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
THREAD = ["-fsanitize=thread"]

def needs_csrc(test: Callable[..., None]) -> Callable[..., None]:
    """Skips a C test off POSIX or outside the source tree (an installed
    wheel's tests)."""
    test = pytest.mark.skipif(sys.platform == "win32", reason="POSIX build of the C test")(test)
    return pytest.mark.skipif(not os.path.isdir(CSRC),
                              reason="needs the source tree's csrc/")(test)


def c_compiler() -> Optional[str]:
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def build_and_run(tmp_path, name: str, sources: Sequence[str], *,
                  flags: Sequence[str] = (), sanitizer: Sequence[str] = ADDRESS,
                  env: Optional[Dict[str, str]] = None) -> str:
    """Compiles `sources` (paths; csrc/ on the include path) into `name`,
    with `sanitizer` when that links, and runs it: its stdout, after
    asserting that it exited with 0.  Skips the test without a compiler."""
    cc = c_compiler()
    if cc is None:
        pytest.skip("no C compiler")
    exe = str(tmp_path / name)
    base: List[str] = [cc, "-std=c99", "-O1", "-g", "-pthread", "-D_POSIX_C_SOURCE=200809L",
                       *flags, "-I", CSRC, *sources, "-o", exe, "-lm"]
    built = subprocess.run(base[:1] + list(sanitizer) + base[1:], capture_output=True)
    if built.returncode != 0:  # no sanitizer runtime: the checks alone still run
        subprocess.run(base, check=True, capture_output=True)
    run_env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
                   TSAN_OPTIONS="halt_on_error=1:exitcode=66", **(env or {}))
    # the ASan stage preloads libasan into Python; the program links its own
    run_env.pop("LD_PRELOAD", None)
    out = subprocess.run([exe], capture_output=True, text=True, timeout=600, env=run_env)
    assert out.returncode == 0, out.stdout + out.stderr[-4000:]
    return out.stdout
