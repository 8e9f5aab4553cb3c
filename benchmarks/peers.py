"""The peers of the benchmark: pypureomapi and omshell, each in a process of its own.

The runners are :mod:`aiomapi.bench.peers`, which ``aiomapi bench`` uses too: one
implementation. This module only maps the benchmark's settings onto them and keeps its row
names. Each returns a :class:`~aiomapi.bench.results.Row`, or the reason it was skipped
(the peer is not installed, or cannot use the server's key); a missing peer is never faked.
"""

from __future__ import annotations

from aiomapi.bench import peers
from aiomapi.bench.results import Row
from benchmarks.servers import Server, Settings

__all__ = ["omshell_row", "pypure_row"]


async def pypure_row(server: Server, settings: Settings) -> Row | str:
    """pypureomapi, sequential, one connection, in a subprocess; or why it was skipped."""
    return await peers.pypureomapi_row(
        server.target,
        duration=settings.duration,
        count=settings.count,
        label="pypureomapi sequential",
    )


async def omshell_row(server: Server, settings: Settings) -> Row | str:
    """omshell fed one script of lookups in one session; or why it was skipped."""
    return await peers.omshell_row(
        server.target,
        duration=settings.duration,
        lookups=min(settings.omshell_lookups, 10 * len(server.keys)),
        label="omshell scripted",
    )
