"""Bulk release and expire (the implementation lives in :mod:`aiomapi.typed.release`, so that
``omapi.leases.release_many`` can use it; this module keeps the names where they were)."""

from aiomapi.typed.release import *  # noqa: F403
from aiomapi.typed.release import __all__ as __all__
