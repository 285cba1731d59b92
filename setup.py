"""Build of negsamp's compiled modules.

Every negsamp/*.pyx becomes an extension negsamp.<name>, linked with all the
C99 kernels of csrc/.  OpenMP is used when the compiler accepts it; otherwise
the build still succeeds and the kernels run single-threaded.  Set
NEGSAMP_NO_OPENMP=1 to force a build without it.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
C_SOURCES = sorted(glob(os.path.join("csrc", "*.c")))
PYX_SOURCES = sorted(glob(os.path.join("negsamp", "*.pyx")))


def _compiler_accepts(compiler, cflags, ldflags):
    """True when `compiler` compiles and links a tiny OpenMP program."""
    code = "#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n"
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "t.c")
        with open(src, "w") as f:
            f.write(code)
        objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
        compiler.link_executable(objs, os.path.join(tmp, "t"),
                                 extra_postargs=ldflags)
        return True
    except Exception:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    """Adds optimisation and (when available) OpenMP flags per compiler."""

    def build_extensions(self):
        ctype = self.compiler.compiler_type
        if ctype == "msvc":
            cflags = ["/O2"]
            # /openmp:llvm: OpenMP 3.1 features (min reductions) on MSVC 2019+.
            omp_c, omp_l = ["/openmp:llvm"], []
        else:
            cflags = ["-O3", "-std=c99", "-fno-math-errno"]
            omp_c, omp_l = ["-fopenmp"], ["-fopenmp"]
        use_omp = (os.environ.get("NEGSAMP_NO_OPENMP", "") in ("", "0")
                   and _compiler_accepts(self.compiler, omp_c, omp_l))
        if not use_omp:
            omp_c, omp_l = [], []
        print(f"negsamp: building with OpenMP: {use_omp}", file=sys.stderr)
        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args) + cflags + omp_c
            ext.extra_link_args = list(ext.extra_link_args) + omp_l
        super().build_extensions()


def _extensions():
    exts = []
    for pyx in PYX_SOURCES:
        name = "negsamp." + os.path.splitext(os.path.basename(pyx))[0]
        exts.append(Extension(
            name,
            sources=[pyx] + C_SOURCES,
            include_dirs=["csrc", np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        ))
    return cythonize(exts, compiler_directives={"language_level": "3"},
                     include_path=["negsamp"])


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
