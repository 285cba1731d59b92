"""Build of negsamp's compiled modules.

Every negsamp/*.pyx becomes an extension negsamp.<name>, linked with all the
C99 kernels of csrc/.  Threads come from negsamp's own pool (csrc/ns_pool.c,
POSIX threads or Win32 threads): no OpenMP runtime is linked, so a wheel
never adds a second one beside torch's or MKL's.  No -march=native: SIMD
copies are picked at run time (csrc/ns_common.h).
"""
import os
import sys
from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

C_SOURCES = sorted(glob(os.path.join("csrc", "*.c")))
PYX_SOURCES = sorted(glob(os.path.join("negsamp", "*.pyx")))


class BuildExt(build_ext):
    """Adds optimisation and thread flags per compiler."""

    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            cflags, ldflags = ["/O2"], []
        else:
            cflags = ["-O3", "-std=c99", "-fno-math-errno"]
            ldflags = [] if sys.platform == "win32" else ["-pthread"]
            if sys.platform != "win32":
                cflags.append("-pthread")
        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args) + cflags
            ext.extra_link_args = list(ext.extra_link_args) + ldflags
        super().build_extensions()


def _extensions():
    exts = []
    for pyx in PYX_SOURCES:
        name = "negsamp." + os.path.splitext(os.path.basename(pyx))[0]
        exts.append(Extension(
            name,
            sources=[pyx] + C_SOURCES,
            include_dirs=["csrc", np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                           # clock_gettime and pthread_atfork under -std=c99
                           ("_POSIX_C_SOURCE", "200809L")],
        ))
    return cythonize(exts, compiler_directives={"language_level": "3"},
                     include_path=["negsamp"])


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
