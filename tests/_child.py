"""Child Python processes for the tests that need one (fork, signals,
address-space limits, a fresh interpreter).

The child imports the same negsamp as the test process (installed or built
in place: PYTHONPATH points at the directory that holds it) and runs in a
neutral directory, so that a source checkout in the current directory (with
no compiled modules in it) is never imported instead."""
import os
import subprocess
import sys
import tempfile
import textwrap

import negsamp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(negsamp.__file__)))
CHILD_CWD = tempfile.gettempdir()


def child_env(**extra: str) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for var in ("NEGSAMP_NUM_THREADS", "OMP_NUM_THREADS"):
        env.pop(var, None)
    env.update(extra)
    return env


def run_python(code: str, timeout: float = 120, env: dict = None, **kw):
    """subprocess.run of `python -c code` (dedented), text output captured."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          env=env if env is not None else child_env(), cwd=CHILD_CWD,
                          capture_output=True, text=True, timeout=timeout, **kw)


def popen_python(code: str, **kw):
    """subprocess.Popen of `python -c code` with pipes for stdout/stderr."""
    return subprocess.Popen([sys.executable, "-c", code], env=child_env(), cwd=CHILD_CWD,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
