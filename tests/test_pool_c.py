"""csrc/ns_pool.c on its own: a C stress test of the parallel loop and its
claim protocol (tests/c/pool_stress.c), built with ThreadSanitizer when the
compiler supports it, so that a data race fails the test."""
import os

from _cbuild import CSRC, HERE, THREAD, build_and_run, needs_csrc


@needs_csrc
def test_pool_stress_under_thread_sanitizer(tmp_path):
    out = build_and_run(tmp_path, "pool_stress",
                        [os.path.join(HERE, "c", "pool_stress.c"),
                         os.path.join(CSRC, "ns_pool.c")], sanitizer=THREAD)
    assert out.strip() == "bad=0"
