"""The built extension modules export only their PyInit_* entry points: the
C kernels come from the static library negsamp_core (setup.py), compiled
with hidden visibility, so no ns_* symbol leaks out of any .so (where it
could be interposed by another library's symbol of the same name)."""
import glob
import importlib.machinery
import os
import shutil
import subprocess
import sys

import pytest

import negsamp

EXTENSIONS = ["_alias", "_candidates", "_common", "_graph", "_kg", "_law", "_negsamp_runtime",
              "_quant", "_reservoir", "_topk"]


def _module_path(name):
    package_dir = os.path.dirname(negsamp.__file__)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(package_dir, name + suffix)
        if os.path.exists(path):
            return path
    raise AssertionError(f"no extension module negsamp.{name} in {package_dir}: "
                         f"{sorted(os.listdir(package_dir))}")


def _exported(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], check=True,
                         capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF symbols (Linux)")
@pytest.mark.skipif(shutil.which("nm") is None, reason="nm not available")
@pytest.mark.parametrize("name", EXTENSIONS)
def test_extension_exports_no_ns_symbol(name):
    symbols = _exported(_module_path(name))
    assert "PyInit_" + name in symbols
    leaked = sorted(s for s in symbols if s.startswith("ns_"))
    assert leaked == [], f"negsamp.{name} exports {leaked}"


def test_every_extension_is_listed():
    package_dir = os.path.dirname(negsamp.__file__)
    found = set()
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        for path in glob.glob(os.path.join(package_dir, "*" + suffix)):
            found.add(os.path.basename(path).split(".")[0])
    assert found == set(EXTENSIONS)
