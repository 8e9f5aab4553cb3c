"""Builds the optional compiled hot path (docs/speedups.md); everything else is in pyproject.toml.

The codec's extension modules are Cython sources (``*.pyx``), compiled with the Cython that
``[build-system]`` installs; the per-lookup driver (``DRIVER`` below) is its own Python
source compiled whole with mypyc (from the mypy that ``[build-system]`` installs), which
type-checks it first. Each is built on its own: one that cannot be built (no C compiler, no
Cython or mypyc, no OpenSSL headers for the signer linked with libcrypto, or
``AIOMAPI_NO_EXTENSIONS=1`` at build time) is left out with a note and the others are still
built; what is left out runs on the pure-Python reference implementation (the driver only
as a whole: ``aiomapi._speedups``). ``AIOMAPI_REQUIRE_EXTENSIONS=1`` (CI) makes a failed
build an error instead.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: Each extension module and the C libraries it links with.
MODULES: dict[str, list[str]] = {
    "aiomapi._sansio._speedups": [],
    "aiomapi.typed._speedups": [],
    "aiomapi._sansio._hmac": ["crypto"],  # OpenSSL's libcrypto (Debian: libssl-dev)
}


#: The driver's modules compiled with mypyc (``aiomapi._speedups.DRIVER_MODULES``), and the
#: name of mypyc's runtime library for them (``aiomapi._speedups.DRIVER_RUNTIME``).
DRIVER: list[str] = [
    "aiomapi/_asyncio/batch.py",
    "aiomapi/_asyncio/connection.py",
    "aiomapi/_asyncio/pool.py",
    "aiomapi/_sansio/budget.py",
    "aiomapi/_sansio/client.py",
    "aiomapi/_sansio/connection.py",
    "aiomapi/_sansio/events.py",
    "aiomapi/_sansio/safety.py",
    "aiomapi/_sansio/server.py",
    "aiomapi/typed/lookups.py",
]
DRIVER_GROUP = "aiomapi_driver"


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def _say(text: str) -> None:
    print(f"aiomapi: {text}", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """build_ext that leaves the extension out, with a note, when it cannot build it."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # any build failure means "pure Python"
            self._give_up(exc)

    def build_extensions(self) -> None:
        self._failed: set[str] = set()
        super().build_extensions()
        # What failed is no output: not copied beside the sources, not put in the wheel.
        self.extensions = [ext for ext in self.extensions if ext.name not in self._failed]

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # this one module only: the others are still built
            self._failed.add(ext.name)
            self._give_up(exc, ext.name)

    @staticmethod
    def _give_up(exc: BaseException, name: str = "the compiled hot path") -> None:
        if _flag("AIOMAPI_REQUIRE_EXTENSIONS"):
            raise exc
        _say(f"{name} was not built ({exc}); that part runs on pure Python")


def extensions() -> list[Extension]:
    if _flag("AIOMAPI_NO_EXTENSIONS"):
        _say("AIOMAPI_NO_EXTENSIONS is set: not building the compiled hot path")
        return []
    return _cython() + _mypyc()


def _cython() -> list[Extension]:
    sources = [
        Extension(name, [name.replace(".", "/") + ".pyx"], libraries=libraries)
        for name, libraries in MODULES.items()
    ]
    try:
        from Cython.Build import cythonize
    except ImportError as exc:
        if _flag("AIOMAPI_REQUIRE_EXTENSIONS"):
            raise
        _say(f"Cython is not available ({exc}); the codec installs as pure Python")
        return []
    return list(cythonize(sources, language_level=3, quiet=True))


def _mypyc() -> list[Extension]:
    try:
        from mypyc.build import mypycify

        return list(mypycify(DRIVER, opt_level="3", group_name=DRIVER_GROUP))
    except (Exception, SystemExit) as exc:  # no mypyc, or its type check failed (it exits)
        if _flag("AIOMAPI_REQUIRE_EXTENSIONS"):
            raise
        _say(f"the driver was not compiled with mypyc ({exc!r}); it runs on pure Python")
        return []


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
