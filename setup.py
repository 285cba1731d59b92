"""Build of negsamp's compiled modules.

The C99 kernels of csrc/ are compiled ONCE into a static library,
negsamp_core (build_clib), with hidden visibility and position-independent
code, and every negsamp/*.pyx becomes an extension negsamp.<name> linked
with it: each extension takes only the kernels it calls, and none of them
exports an ns_* symbol.  The user's CC/CFLAGS (and, at link time, LDFLAGS)
apply to the library as to the extensions.  Threads come from negsamp's own
pool (csrc/ns_pool.c, POSIX threads or Win32 threads): no OpenMP runtime is
linked, so a wheel never adds a second one beside torch's or MKL's.  No
-march=native: SIMD copies are picked at run time (csrc/ns_common.h).

The headers csrc/*.h are copied next to the package as negsamp/include/
(in the wheel, and in the source tree by `build_ext --inplace`), so that
negsamp.get_include() lets downstream Cython code cimport the negsamp/_c_*.pxd
declarations.
"""
import os
import shutil
import sys
from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_clib import build_clib
from setuptools.command.build_ext import build_ext

C_SOURCES = sorted(glob(os.path.join("csrc", "*.c")))
C_HEADERS = sorted(glob(os.path.join("csrc", "*.h")))
# template bodies that csrc/*.c include (not needed by a downstream cimport)
C_TEMPLATES = sorted(glob(os.path.join("csrc", "*.inc")))
PYX_SOURCES = sorted(glob(os.path.join("negsamp", "*.pyx")))
CORE_LIB = "negsamp_core"
# clock_gettime and pthread_atfork under -std=c99
POSIX_MACROS = [("_POSIX_C_SOURCE", "200809L")]


def _flags(compiler_type):
    """(compile flags, link flags) shared by the library and the extensions."""
    if compiler_type == "msvc":
        return ["/O2"], []
    cflags = ["-O3", "-std=c99", "-fno-math-errno"]
    ldflags = [] if sys.platform == "win32" else ["-pthread"]
    if sys.platform != "win32":
        cflags.append("-pthread")
    return cflags, ldflags


class BuildClib(build_clib):
    """Compiles negsamp_core with the extensions' flags, plus hidden
    visibility and -fPIC (it is linked into shared objects)."""

    def build_libraries(self, libraries):
        cflags, _ = _flags(self.compiler.compiler_type)
        if self.compiler.compiler_type != "msvc":
            cflags.append("-fvisibility=hidden")
            if sys.platform != "win32":
                cflags.append("-fPIC")
        libraries = [(name, dict(info, cflags=list(info.get("cflags", [])) + cflags))
                     for name, info in libraries]
        super().build_libraries(libraries)


class BuildExt(build_ext):
    """Builds negsamp_core first, adds optimisation and thread flags per
    compiler, and puts the C headers at negsamp/include/."""

    def run(self):
        # `build` runs build_clib before build_ext; `build_ext` alone must too.
        if self.distribution.has_c_libraries():
            self.run_command("build_clib")
        super().run()
        self._copy_headers()

    def _copy_headers(self):
        if self.inplace:
            package_dir = self.get_finalized_command("build_py").get_package_dir("negsamp")
        else:
            package_dir = os.path.join(self.build_lib, "negsamp")
        include_dir = os.path.join(package_dir, "include")
        os.makedirs(include_dir, exist_ok=True)
        for header in C_HEADERS:
            shutil.copy2(header, include_dir)

    def build_extensions(self):
        cflags, ldflags = _flags(self.compiler.compiler_type)
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
            sources=[pyx],
            include_dirs=["csrc", np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
            + POSIX_MACROS,
            # relink when a kernel or a header changes
            depends=C_SOURCES + C_HEADERS + C_TEMPLATES,
        ))
    return cythonize(exts, compiler_directives={"language_level": "3"},
                     include_path=["negsamp"])


setup(
    libraries=[(CORE_LIB, {
        "sources": C_SOURCES,
        "include_dirs": ["csrc"],
        "macros": POSIX_MACROS,
        # recompile every kernel when a header changes
        "obj_deps": {"": C_HEADERS + C_TEMPLATES},
    })],
    ext_modules=_extensions(),
    cmdclass={"build_clib": BuildClib, "build_ext": BuildExt},
)
