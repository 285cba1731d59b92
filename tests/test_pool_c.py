"""csrc/ns_pool.c on its own: a C stress test of the parallel loop and its
claim protocol (tests/c/pool_stress.c), built with ThreadSanitizer when the
compiler supports it, so that a data race fails the test."""
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join(os.path.dirname(HERE), "csrc")


def _compiler():
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX build of the C test")
@pytest.mark.skipif(not os.path.isfile(os.path.join(CSRC, "ns_pool.c")),
                    reason="needs the source tree's csrc/")
def test_pool_stress_under_thread_sanitizer(tmp_path):
    cc = _compiler()
    if cc is None:
        pytest.skip("no C compiler")
    exe = str(tmp_path / "pool_stress")
    base = [cc, "-std=c99", "-O1", "-g", "-pthread", "-D_POSIX_C_SOURCE=200809L",
            "-I", CSRC, os.path.join(HERE, "c", "pool_stress.c"),
            os.path.join(CSRC, "ns_pool.c"), "-o", exe]
    tsan = subprocess.run(base[:1] + ["-fsanitize=thread"] + base[1:], capture_output=True)
    if tsan.returncode != 0:  # no libtsan: the stress test alone still runs
        subprocess.run(base, check=True, capture_output=True)
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1:exitcode=66")
    env.pop("LD_PRELOAD", None)  # the ASan stage preloads libasan; TSan cannot share it
    out = subprocess.run([exe], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stdout + out.stderr[-4000:]
    assert out.stdout.strip() == "bad=0"
