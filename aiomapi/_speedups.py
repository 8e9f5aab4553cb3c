"""Which implementation of the hot path runs: the compiled extension or pure Python.

Theory of operation
-------------------
The wire codec (:mod:`aiomapi._sansio.wire`) and the typed-object builder
(:mod:`aiomapi.typed.objects`) are written in Python, which is the reference, and most of
their hot path also exists compiled (Cython: ``aiomapi/_sansio/_speedups.pyx``,
``aiomapi/typed/_speedups.pyx``; docs/speedups.md). This module decides, once, at import,
which one the library uses, for all of them together: either every compiled module loads,
or none is used.

* ``AIOMAPI_NO_EXTENSIONS=1`` in the environment forces pure Python.
* A compiled module that is missing or does not load (installed where no C compiler was
  found) means pure Python, said once in an INFO line on the ``aiomapi`` logger.

:data:`ACTIVE` tells which; :func:`describe` says it in words (``aiomapi bench`` prints it).
The modules that have a compiled version ask :func:`compiled` for it. The compiled modules
are found by name, so this module imports nothing of the package's layers.
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType
from typing import Final

__all__ = ["ACTIVE", "FORCED_PURE", "MODULES", "REASON", "compiled", "describe"]

#: The compiled modules, all or none of which are used.
MODULES: Final = ("aiomapi._sansio._speedups", "aiomapi.typed._speedups")

#: ``AIOMAPI_NO_EXTENSIONS`` is set (to anything but ``0``): pure Python, whatever is built.
FORCED_PURE: Final = os.environ.get("AIOMAPI_NO_EXTENSIONS", "") not in ("", "0")

_log = logging.getLogger("aiomapi")


def _load() -> tuple[dict[str, ModuleType], str]:
    if FORCED_PURE:
        return {}, "AIOMAPI_NO_EXTENSIONS is set"
    loaded: dict[str, ModuleType] = {}
    for name in MODULES:
        try:
            loaded[name] = importlib.import_module(name)
        except ImportError as exc:
            return {}, f"the compiled hot path is not built or does not load ({exc})"
    return loaded, ""


_MODULES, REASON = _load()
#: Whether the compiled hot path is in use.
ACTIVE: Final = bool(_MODULES)
if not ACTIVE and not FORCED_PURE:
    _log.info("aiomapi runs on pure Python: %s", REASON)


def compiled(name: str) -> ModuleType | None:
    """The compiled module ``name`` (one of :data:`MODULES`), or ``None`` on pure Python."""
    return _MODULES.get(name)


def describe() -> str:
    """Which hot path runs, in words, e.g. for a benchmark's header."""
    if ACTIVE:
        return "compiled (Cython extension)"
    return f"pure Python ({REASON})"
