"""Which implementation of the hot path runs: the compiled extension or pure Python.

Theory of operation
-------------------
The wire codec (:mod:`aiomapi._sansio.wire`) and the typed-object builder
(:mod:`aiomapi.typed.objects`) are written in Python, which is the reference, and most of
their hot path also exists compiled (Cython: ``aiomapi/_sansio/_speedups.pyx``,
``aiomapi/typed/_speedups.pyx``; docs/speedups.md). This module decides, once, at import,
which one the library uses, for all of them together: either every compiled module loads,
or none is used.

The compiled HMAC-MD5 signer (``aiomapi/_sansio/_hmac.pyx``) is linked with OpenSSL's
libcrypto and is decided on apart from them: built where OpenSSL's headers were, and used
wherever it loads, whichever codec runs.

The per-lookup path around the codec — the asyncio connection, pool and batch, the sans-IO
connection core of both roles, the in-flight budget, the safety checks and the typed layer's
per-item lookup steps (:data:`DRIVER_MODULES`) — is compiled whole with mypyc, from the very
same Python source, into extension modules that sit beside it. Python's import system would
take such a module over its source wherever it is built; so where the driver must run on its
source (``AIOMAPI_NO_EXTENSIONS=1``, or a build that is incomplete: one missing module or
mypyc's runtime library missing), :func:`install` puts a finder in front of the import system
that loads those modules from their source, all of them together. It must run before any of them
is imported: importing this module does it, and ``aiomapi/__init__.py`` imports this module
first.

* ``AIOMAPI_NO_EXTENSIONS=1`` in the environment forces pure Python, the signer and the
  driver included.
* A compiled module that is missing or does not load (installed where no C compiler, or no
  OpenSSL headers, were found) means pure Python for its part, said once in an INFO line on
  the ``aiomapi`` logger.

:data:`ACTIVE` tells whether the compiled codec runs, :data:`HMAC_ACTIVE` whether the
compiled signer does, :data:`DRIVER_ACTIVE` whether the compiled driver does;
:func:`describe` says all three in words (``aiomapi bench`` prints it).
The modules that have a compiled version ask :func:`compiled` for it. The compiled modules
are found by name, so this module imports nothing of the package's layers.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Final

__all__ = [
    "ACTIVE",
    "DRIVER_ACTIVE",
    "DRIVER_MODULES",
    "DRIVER_REASON",
    "FORCED_PURE",
    "HMAC_ACTIVE",
    "HMAC_MODULE",
    "HMAC_REASON",
    "MODULES",
    "REASON",
    "compiled",
    "describe",
    "install",
]

#: The compiled modules, all or none of which are used.
MODULES: Final = ("aiomapi._sansio._speedups", "aiomapi.typed._speedups")
#: The compiled HMAC-MD5 signer (linked with libcrypto), used wherever it loads.
HMAC_MODULE: Final = "aiomapi._sansio._hmac"

#: The modules compiled whole with mypyc (setup.py), all or none of which are used.
DRIVER_MODULES: Final = (
    "aiomapi._asyncio.batch",
    "aiomapi._asyncio.connection",
    "aiomapi._asyncio.pool",
    "aiomapi._sansio.budget",
    "aiomapi._sansio.client",
    "aiomapi._sansio.connection",
    "aiomapi._sansio.events",
    "aiomapi._sansio.safety",
    "aiomapi._sansio.server",
    "aiomapi.typed.lookups",
)
#: mypyc's runtime library for them (``group_name`` in setup.py).
DRIVER_RUNTIME: Final = "aiomapi_driver__mypyc"

#: ``AIOMAPI_NO_EXTENSIONS`` is set (to anything but ``0``): pure Python, whatever is built.
FORCED_PURE: Final = os.environ.get("AIOMAPI_NO_EXTENSIONS", "") not in ("", "0")

_log = logging.getLogger("aiomapi")


def _load(names: tuple[str, ...], what: str) -> tuple[dict[str, ModuleType], str]:
    if FORCED_PURE:
        return {}, "AIOMAPI_NO_EXTENSIONS is set"
    loaded: dict[str, ModuleType] = {}
    for name in names:
        try:
            loaded[name] = importlib.import_module(name)
        except ImportError as exc:
            return {}, f"{what} is not built or does not load ({exc})"
    return loaded, ""


_MODULES, REASON = _load(MODULES, "the compiled hot path")
#: Whether the compiled hot path (framer, decoder, encoder, ``Lease`` builder) is in use.
ACTIVE: Final = bool(_MODULES)
if not ACTIVE and not FORCED_PURE:
    _log.info("aiomapi runs on pure Python: %s", REASON)

_HMAC, HMAC_REASON = _load((HMAC_MODULE,), "the compiled HMAC-MD5 signer (OpenSSL's libcrypto)")
#: Whether ``hmac-md5`` keys sign with the compiled signer (it also passed its self-test).
HMAC_ACTIVE: Final = bool(_HMAC) and bool(_HMAC[HMAC_MODULE].md5_ok())
if _HMAC and not HMAC_ACTIVE:
    HMAC_REASON = "the compiled HMAC-MD5 signer failed its self-test (MD5 not in libcrypto?)"
if not HMAC_ACTIVE and not FORCED_PURE:
    _log.info("aiomapi signs HMAC-MD5 in Python (cryptography): %s", HMAC_REASON)


def _driver_built() -> str:
    """Why the compiled driver cannot be used, or ``""`` if every part of it is built. Finds
    the modules without importing them (that would run their source or their extension)."""
    if FORCED_PURE:
        return "AIOMAPI_NO_EXTENSIONS is set"
    if importlib.util.find_spec(DRIVER_RUNTIME) is None:
        return f"mypyc's runtime library {DRIVER_RUNTIME} is not built"
    for name in DRIVER_MODULES:
        package, _, leaf = name.rpartition(".")
        spec = importlib.util.find_spec(package)
        locations = spec.submodule_search_locations if spec is not None else None
        if not locations or not any(_extension_in(path, leaf) for path in locations):
            return f"{name} is not built"
    return ""


def _extension_in(directory: str, leaf: str) -> bool:
    return any(
        os.path.exists(os.path.join(directory, leaf + suffix))
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
    )


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the driver's modules as their Python source, never as their extension."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in DRIVER_MODULES or not path:
            return None
        leaf = fullname.rpartition(".")[2]
        for directory in path:
            source = os.path.join(directory, leaf + ".py")
            if os.path.exists(source):
                return importlib.util.spec_from_file_location(fullname, source)
        return None


DRIVER_REASON = _driver_built()
#: Whether the per-lookup driver (:data:`DRIVER_MODULES`) runs compiled (mypyc).
DRIVER_ACTIVE: Final = not DRIVER_REASON
if not DRIVER_ACTIVE and not FORCED_PURE:
    _log.info("aiomapi's driver runs on pure Python: %s", DRIVER_REASON)


def install() -> None:
    """Where the driver must run on its source, make the import system load it so (once;
    before any module of :data:`DRIVER_MODULES` is imported)."""
    if DRIVER_ACTIVE or any(isinstance(f, _SourceFinder) for f in sys.meta_path):
        return
    loaded = [name for name in DRIVER_MODULES if name in sys.modules]
    if loaded:
        raise RuntimeError(f"aiomapi._speedups.install() after {loaded[0]} was imported")
    sys.meta_path.insert(0, _SourceFinder())


def compiled(name: str) -> ModuleType | None:
    """The compiled module ``name`` (one of :data:`MODULES`, or :data:`HMAC_MODULE`), or
    ``None`` where that part runs on pure Python."""
    if name == HMAC_MODULE:
        return _HMAC.get(name) if HMAC_ACTIVE else None
    return _MODULES.get(name)


def describe() -> str:
    """Which hot path runs, in words, e.g. for a benchmark's header."""
    if FORCED_PURE:
        return f"pure Python ({REASON})"
    signer = (
        "HMAC-MD5 compiled on OpenSSL's libcrypto"
        if HMAC_ACTIVE
        else f"HMAC-MD5 in Python: {HMAC_REASON}"
    )
    driver = "driver compiled with mypyc" if DRIVER_ACTIVE else f"driver in Python: {DRIVER_REASON}"
    if ACTIVE:
        return f"compiled (Cython extension; {signer}; {driver})"
    return f"pure Python ({REASON}; {signer}; {driver})"


install()
