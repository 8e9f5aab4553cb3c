"""Builds the optional compiled hot path (docs/speedups.md); everything else is in pyproject.toml.

The extension modules are Cython sources (``*.pyx``), compiled with the Cython that
``[build-system]`` installs. When they cannot be built (no C compiler, no Cython, or
``AIOMAPI_NO_EXTENSIONS=1`` at build time), the package installs without them and runs on
its pure-Python reference implementation; ``AIOMAPI_REQUIRE_EXTENSIONS=1`` (CI) makes a
failed build an error instead.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

MODULES = ("aiomapi._sansio._speedups", "aiomapi.typed._speedups")


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

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._give_up(exc)

    @staticmethod
    def _give_up(exc: BaseException) -> None:
        if _flag("AIOMAPI_REQUIRE_EXTENSIONS"):
            raise exc
        _say(f"the compiled hot path was not built ({exc}); installing pure Python only")


def extensions() -> list[Extension]:
    if _flag("AIOMAPI_NO_EXTENSIONS"):
        _say("AIOMAPI_NO_EXTENSIONS is set: not building the compiled hot path")
        return []
    sources = [Extension(name, [name.replace(".", "/") + ".pyx"]) for name in MODULES]
    try:
        from Cython.Build import cythonize
    except ImportError as exc:
        if _flag("AIOMAPI_REQUIRE_EXTENSIONS"):
            raise
        _say(f"Cython is not available ({exc}); installing pure Python only")
        return []
    return list(cythonize(sources, language_level=3, quiet=True))


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
