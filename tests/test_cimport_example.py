"""A downstream extension can cimport negsamp's declarations: in a temporary
directory, build a tiny Cython module that cimports negsamp._c_common (with
negsamp.get_include() and numpy.get_include() as include directories, as a
downstream setup.py would), and check that its ns_rng_* words equal
negsamp's own.  Runs from the source tree (after build_ext --inplace) and
against an installed wheel."""
import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import negsamp
from negsamp import _common

pytest.importorskip("Cython")
pytest.importorskip("setuptools")

HEADERS = ["ns_alias.h", "ns_bloom.h", "ns_common.h", "ns_csr.h", "ns_graph.h", "ns_kg.h",
           "ns_negative.h", "ns_pool.h", "ns_reservoir.h", "ns_rng.h", "ns_search.h",
           "ns_topk.h"]

EXAMPLE_PYX = textwrap.dedent('''
    # cython: language_level=3
    from libc.stdint cimport int64_t, uint64_t
    cimport numpy as cnp
    import numpy as np
    from negsamp._c_common cimport (NS_OK, ns_rng_t, ns_rng_seed, ns_rng_next,
                                    ns_rng_double, ns_rng_bounded)
    from negsamp._c_alias cimport ns_alias_entry

    cnp.import_array()

    def status_ok():
        return NS_OK

    def entry_size():
        return sizeof(ns_alias_entry)

    def words(uint64_t k0, uint64_t k1, uint64_t block, int64_t count):
        cdef ns_rng_t rng
        cdef cnp.ndarray[cnp.uint64_t, ndim=1] out = np.empty(count, dtype=np.uint64)
        cdef int64_t i
        ns_rng_seed(&rng, k0, k1, block)
        for i in range(count):
            out[i] = ns_rng_next(&rng)
        return out

    def doubles(uint64_t k0, uint64_t k1, uint64_t block, int64_t count):
        cdef ns_rng_t rng
        ns_rng_seed(&rng, k0, k1, block)
        return np.array([ns_rng_double(&rng) for _ in range(count)])

    def bounded(uint64_t k0, uint64_t k1, uint64_t block, int64_t count, uint64_t n):
        cdef ns_rng_t rng
        ns_rng_seed(&rng, k0, k1, block)
        return np.array([ns_rng_bounded(&rng, n) for _ in range(count)], dtype=np.uint64)
''')

BUILD = textwrap.dedent('''
    import numpy, negsamp
    from Cython.Build import cythonize
    from setuptools import Extension, setup
    ext = Extension("ns_example", ["ns_example.pyx"],
                    include_dirs=[negsamp.get_include(), numpy.get_include()],
                    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
    setup(name="ns_example", ext_modules=cythonize([ext]),
          script_args=["build_ext", "--inplace"])
''')


def _have_c_compiler(tmp_path):
    import setuptools  # noqa: F401  (provides distutils on Python >= 3.12)
    from distutils.ccompiler import new_compiler
    from distutils.errors import CCompilerError, DistutilsError
    from distutils.sysconfig import customize_compiler

    src = tmp_path / "probe.c"
    src.write_text("int probe(void) { return 0; }\n")
    try:
        compiler = new_compiler()
        customize_compiler(compiler)
        compiler.compile([str(src)], output_dir=str(tmp_path / "probe"))
    except (CCompilerError, DistutilsError, OSError):
        return False
    return True


def test_get_include_holds_the_headers():
    include = negsamp.get_include()
    assert os.path.isabs(include)
    missing = [h for h in HEADERS if not os.path.isfile(os.path.join(include, h))]
    assert missing == [], f"{include} lacks {missing}"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("cimport_example")
    if not _have_c_compiler(tmp_path):
        pytest.skip("no C compiler")
    (tmp_path / "ns_example.pyx").write_text(EXAMPLE_PYX)
    env = dict(os.environ)
    # the subprocess imports (and Cython finds the .pxd files of) the very
    # negsamp under test, from the source tree or from site-packages
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(negsamp.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        [package_parent] + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, "-c", BUILD], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    built = [p for p in os.listdir(tmp_path)
             if p.startswith("ns_example") and p.endswith((".so", ".pyd"))]
    assert len(built) == 1, os.listdir(tmp_path)
    spec = importlib.util.spec_from_file_location("ns_example", tmp_path / built[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_sees_negsamp_declarations(example):
    assert example.status_ok() == 0
    assert example.entry_size() == 16  # uint64 threshold + int64 alias


@pytest.mark.parametrize("key", [(0, 0, 0), (1, 2, 3), (2**64 - 1, 12345, 2**40)])
def test_example_rng_matches_negsamp(example, key):
    k0, k1, block = key
    np.testing.assert_array_equal(example.words(k0, k1, block, 100),
                                  _common._rng_stream_py(k0, k1, block, 100, "raw"))
    np.testing.assert_array_equal(example.doubles(k0, k1, block, 50),
                                  _common._rng_stream_py(k0, k1, block, 50, "double"))
    np.testing.assert_array_equal(
        example.bounded(k0, k1, block, 50, 1000),
        _common._rng_stream_py(k0, k1, block, 50, "bounded", 1000).astype(np.uint64))
