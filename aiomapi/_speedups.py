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

* ``AIOMAPI_NO_EXTENSIONS=1`` in the environment forces pure Python, the signer included.
* A compiled module that is missing or does not load (installed where no C compiler, or no
  OpenSSL headers, were found) means pure Python for its part, said once in an INFO line on
  the ``aiomapi`` logger.

:data:`ACTIVE` tells whether the compiled codec runs, :data:`HMAC_ACTIVE` whether the
compiled signer does; :func:`describe` says both in words (``aiomapi bench`` prints it).
The modules that have a compiled version ask :func:`compiled` for it. The compiled modules
are found by name, so this module imports nothing of the package's layers.
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType
from typing import Final

__all__ = [
    "ACTIVE",
    "FORCED_PURE",
    "HMAC_ACTIVE",
    "HMAC_MODULE",
    "HMAC_REASON",
    "MODULES",
    "REASON",
    "compiled",
    "describe",
]

#: The compiled modules, all or none of which are used.
MODULES: Final = ("aiomapi._sansio._speedups", "aiomapi.typed._speedups")
#: The compiled HMAC-MD5 signer (linked with libcrypto), used wherever it loads.
HMAC_MODULE: Final = "aiomapi._sansio._hmac"

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
    if ACTIVE:
        return f"compiled (Cython extension; {signer})"
    return f"pure Python ({REASON}; {signer})"
