"""Declares the Cython extensions ``apikee._core_c`` and ``apikee._limiter_c`` (metadata lives in pyproject.toml).

``APIKEE_NO_EXTENSIONS=1`` (read by ``src/apikee/_switch.py``, the same parser the run time
uses) or a non-CPython interpreter gives a pure-Python install. Otherwise the extension is
required: a failed compile fails the build loudly instead of installing slow code unannounced.
"""

import os
import platform
import runpy

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
_switch = runpy.run_path(os.path.join(HERE, "src", "apikee", "_switch.py"))

# Cython directives, in one place. boundscheck/wraparound are off only inside the functions
# that index raw buffers (decorated in the .pyx), where measurement showed they matter.
CYTHON_DIRECTIVES = {
    "language_level": "3",
    "embedsignature": True,
    "binding": False,
    "cdivision": True,
    # Safe without a GIL (free-threaded 3.13t/3.14t): the module's C state is written only at
    # import; a Verifier's secrets only in __init__ (once); its revocation snapshot and a claims
    # object's lazily built values under cython.critical_section. README, "Free-threaded Python".
    "freethreading_compatible": True,
}


def extensions():
    if _switch["extensions_disabled"]() or platform.python_implementation() != "CPython":
        return []
    from Cython.Build import cythonize
    from setuptools import Extension

    extra_compile_args = [] if os.name == "nt" else ["-O3", "-fno-strict-aliasing"]
    ext = Extension(
        "apikee._core_c",
        sources=["src/apikee/_core_c.pyx"],
        include_dirs=["src/apikee"],
        depends=[
            "src/apikee/_sha256.h",
            "src/apikee/_b62.h",
            "src/apikee/_clock.h",
            "src/apikee/_wire.h",
            "src/apikee/_claims_c.pxi",
            "src/apikee/_json_c.pxi",
            "src/apikee/_asgi_c.pxi",
        ],
        extra_compile_args=extra_compile_args,
    )
    limiter = Extension(
        "apikee._limiter_c",
        sources=["src/apikee/_limiter_c.pyx"],
        include_dirs=["src/apikee"],
        depends=["src/apikee/_clock.h"],
        extra_compile_args=extra_compile_args,
    )
    return cythonize([ext, limiter], compiler_directives=CYTHON_DIRECTIVES)


setup(ext_modules=extensions())
