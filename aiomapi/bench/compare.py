"""``aiomapi bench``'s job: aiomapi beside pypureomapi and omshell, on one server, with ratios.

Theory of operation
-------------------
:func:`compare` first looks every lease up once, untimed (a server's first lookup of a lease
costs it more than the later ones), then runs, one after the other and against the same
:class:`Target`:

1. aiomapi, one ``await omapi.leases.get(ip=...)`` at a time on one connection (the
   footing of the two peers, which do one lookup at a time);
2. aiomapi, ``concurrency`` awaiters on a pool of ``connections``;
3. aiomapi's bulk lookup, ``omapi.leases.get_many(ips=...)``, with the same concurrency
   (at full speed: the benchmark sets no rate);
4. each peer that is installed, in a process of its own (:mod:`aiomapi.bench.peers`).

aiomapi's rows run in this process, so their client CPU is this process's (the server has
its own: :mod:`aiomapi.bench.embedded`, or a real dhcpd). Every row measures the server's
CPU when its pid is known, and each row's rate is divided by each peer's: ``× pypureomapi``
and ``× omshell``. A peer that is missing is named, with why, and the rest is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiomapi.bench.embedded import Target
from aiomapi.bench.lookups import DEFAULT_WARMUP, Api, run_lookups
from aiomapi.bench.peers import PEERS, omshell_row, pypureomapi_row
from aiomapi.bench.report import format_table
from aiomapi.bench.results import Progress, Row
from aiomapi.client import Client
from aiomapi.errors import NotFound

__all__ = ["Comparison", "codec_path", "compare"]

#: Per-lookup timeout of aiomapi's rows.
TIMEOUT = 10.0


def codec_path() -> str:
    """Which codec runs — the compiled extension or pure Python — in words."""
    try:
        from aiomapi import _speedups
    except ImportError:  # a version without the compiled hot path
        return "pure Python"
    return _speedups.describe()


@dataclass(slots=True)
class Comparison:
    """The rows of one :func:`compare`, the peers skipped (and why), and the setting."""

    rows: list[Row]
    skipped: dict[str, str]
    server: dict[str, Any]
    codec: str
    duration: float
    bench_pid: int = field(default_factory=os.getpid)
    #: the event loop aiomapi's rows ran on (``type(loop).__module__``: asyncio or uvloop)
    loop: str = "asyncio"
    prewarm_seconds: float | None = None

    def peer_rate(self, client: str) -> float | None:
        row = next((r for r in self.rows if r.client == client), None)
        return row.rate if row is not None and row.rate > 0 and not row.errors else None

    def ratios(self, row: Row) -> dict[str, float | None]:
        """``row``'s rate divided by each peer's (``None`` where the peer did not run)."""
        out: dict[str, float | None] = {}
        for peer in PEERS:
            rate = self.peer_rate(peer)
            out[peer] = row.rate / rate if rate else None
        return out

    @property
    def other_busy(self) -> float | None:
        """The most CPU (in cores) the rest of the machine used during a row, if measured."""
        seen = [r.other_busy for r in self.rows if r.other_busy is not None]
        return max(seen) if seen else None

    @property
    def ok(self) -> bool:
        """Every aiomapi row made lookups, and none failed."""
        mine = [r for r in self.rows if r.client == "aiomapi"]
        return bool(mine) and all(r.lookups > 0 and not r.errors for r in mine)

    def table(self) -> str:
        """The rows as a plain-text table (µs: CPU microseconds per lookup)."""
        lines = []
        for row in self.rows:
            ratios = self.ratios(row)
            line: dict[str, object] = {
                "client": row.name,
                "lookups/s": f"{row.rate:,.0f}",
                "client µs": _num(row.client_cpu_us),
                "in kernel": _pct(row.client_kernel_share),
                "server µs": _num(row.server_cpu_us),
                "server busy": _pct(row.server_busy),
                "errors": row.errors,
            }
            for peer in PEERS:
                if peer not in self.skipped:
                    line[f"× {peer}"] = _ratio(ratios[peer])
            lines.append(line)
        return format_table(lines)

    def as_dict(self) -> dict[str, Any]:
        """Everything as one JSON-ready object."""
        rows = []
        for row in self.rows:
            item = row.as_dict()
            item["ratios"] = {f"x_{peer}": value for peer, value in self.ratios(row).items()}
            rows.append(item)
        return {
            "ok": self.ok,
            "server": self.server,
            "bench_pid": self.bench_pid,
            "codec": self.codec,
            "loop": self.loop,
            "duration": self.duration,
            "prewarm_seconds": self.prewarm_seconds,
            "other_busy": self.other_busy,
            "rows": rows,
            "skipped": self.skipped,
        }


async def compare(
    target: Target,
    *,
    duration: float = 3.0,
    concurrency: int = 64,
    connections: int = 16,
    peers: Sequence[str] = PEERS,
    progress: Callable[[Progress], None] | None = None,
    server: dict[str, Any] | None = None,
    timeout: float | None = TIMEOUT,
    prewarm: bool = True,
) -> Comparison:
    """aiomapi's rows, then each peer's, against ``target`` (see the module doc).

    Args:
        duration: seconds per row.
        concurrency: awaiters of the concurrent and bulk rows.
        connections: pool size of the concurrent and bulk rows.
        peers: which of :data:`~aiomapi.bench.peers.PEERS` to run.
        server: what to say about the server (in :meth:`Comparison.as_dict`).
        timeout: seconds per aiomapi lookup (one that takes longer counts as failed).
        prewarm: look every lease up once first, untimed (see :func:`_prewarm`).
    """
    rows: list[Row] = []
    skipped: dict[str, str] = {}
    await _probe(target, timeout)
    if prewarm:
        prewarm_seconds = await _prewarm(target, timeout, progress)

    async def mine(name: str, api: Api, c: int, n: int, note: str) -> None:
        async with Client(
            target.host, target.port, key=target.key, timeout=timeout, connections=n
        ) as omapi:
            stats = await run_lookups(
                omapi,
                target.keys,
                concurrency=c,
                duration=duration,
                expected=target.expected,
                api=api,
                warmup=min(DEFAULT_WARMUP, 10 * c),
                server_pid=target.pid,
                progress=progress,
                label=name,
            )
        rows.append(Row.from_stats(name, stats, note))

    await mine("aiomapi get, one at a time", "typed", 1, 1, "one await at a time")
    await mine(
        f"aiomapi get c={concurrency}",
        "typed",
        concurrency,
        connections,
        f"{concurrency} awaiters, {connections} connections",
    )
    await mine(
        f"aiomapi get_many c={concurrency}",
        "bulk",
        concurrency,
        connections,
        "one async for, no rate limit",
    )
    for peer in PEERS:
        if peer not in peers:
            skipped[peer] = "not asked for (--peers)"
            continue
        if peer == "pypureomapi":
            row = await pypureomapi_row(target, duration=duration, progress=progress)
        else:
            row = await omshell_row(target, duration=duration, progress=progress)
        if isinstance(row, str):
            skipped[peer] = row
        else:
            rows.append(row)
    result = Comparison(rows, skipped, server or {}, codec_path(), duration, loop=_loop_name())
    if prewarm:
        result.prewarm_seconds = prewarm_seconds
    return result


async def _probe(target: Target, timeout: float | None) -> None:
    """One lookup before anything else, whose failure is the command's own.

    A wrong key, a server that cannot be reached or does not answer would otherwise show as
    rows of failed lookups with exit status 1; raised here, they get the command line's
    exit codes and JSON error (12, 13, 14). A lease that is not there is no such failure.

    Raises:
        aiomapi.OmapiError: anything but NotFound.
    """
    if not target.keys:
        return
    async with Client(
        target.host, target.port, key=target.key, timeout=timeout, connections=1
    ) as omapi:
        with contextlib.suppress(NotFound):
            await omapi.leases.get(ip=target.keys[0])


async def _prewarm(
    target: Target, timeout: float | None, progress: Callable[[Progress], None] | None
) -> float:
    """Look every lease up once, untimed; returns the seconds it took.

    A server does more on the first lookup of a lease than on later ones (dhcpd and the
    in-memory server allocate its handle; the latter also builds its reply values), and the
    first row would pay for all of them. Failed lookups are not an error here: the rows
    count them.
    """
    async with Client(
        target.host, target.port, key=target.key, timeout=timeout, connections=16
    ) as omapi:
        stats = await run_lookups(
            omapi,
            target.keys,
            concurrency=64,
            count=len(target.keys),
            duration=600.0,
            api="generic",
            progress=progress,
            label="pre-warm: every lease once",
        )
    return stats.seconds


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}"


def _loop_name() -> str:
    """The running event loop's package: ``asyncio`` or ``uvloop`` (or another's)."""
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}×"
