"""aiomapi's rows: one measured run of the lookup runner each, the scan of a block of
addresses, and the long memory run.

Every row is a :class:`~aiomapi.bench.results.Row` (``aiomapi bench`` makes the same),
whichever client made it (the peers' rows are built in :mod:`aiomapi.bench.peers`), so the
report compares them column by column.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import aiomapi
from aiomapi.bench import lookups as bm
from aiomapi.bench import process
from aiomapi.bench.results import Row
from aiomapi.ranges import AddressSet
from aiomapi.scan import ScanStats, scan_leases
from benchmarks.servers import ROOT, Server, Settings

#: Per-lookup timeout; a row also stops after bm.DEFAULT_MAX_ERRORS failures.
TIMEOUT = 10.0


# ---------------------------------------------------------------- aiomapi rows


async def aiomapi_run(
    server: Server,
    *,
    concurrency: int,
    connections: int,
    api: bm.Api = "typed",
    duration: float | None,
    count: int | None,
    warmup: int,
    progress: Callable[[bm.Progress], None] | None,
    label: str,
    rate: float | None = None,
) -> bm.LookupStats:
    """One run of the lookup runner on a fresh client; ``rate`` is get_many's (``api="bulk"``),
    ``None``: no limit (get_many's own default, DEFAULT_BULK_RATE, is not used here)."""
    async with aiomapi.Client(
        server.host, server.port, key=server.key, timeout=TIMEOUT, connections=connections
    ) as omapi:
        return await bm.run_lookups(
            omapi,
            server.keys,
            concurrency=concurrency,
            duration=duration,
            count=count,
            expected=server.expected,
            api=api,
            warmup=warmup,
            server_pid=server.pid,
            progress=progress,
            label=label,
            rate=rate,
        )


def uvloop_missing() -> str | None:
    """Why the uvloop rows cannot run (uvloop not installed), or None."""
    try:
        import uvloop  # noqa: F401
    except ImportError as exc:
        return f"uvloop is not installed ({exc})"
    return None


async def on_uvloop(run: Callable[[], Coroutine[Any, Any, bm.LookupStats]]) -> bm.LookupStats:
    """``run()`` on a uvloop event loop of its own, in a thread (the caller's loop waits).

    The client's CPU figures are the process's, so they count this thread's work and the
    waiting loop's (idle) alike.
    """
    import uvloop

    return await asyncio.to_thread(uvloop.run, run())


def row_from_stats(name: str, stats: bm.LookupStats, note: str = "") -> Row:
    return Row.from_stats(name, stats, note)


async def prewarm(server: Server, progress: Callable[[bm.Progress], None] | None) -> float:
    """Look every lease up once (dhcpd allocates a handle on a lease's first OPEN)."""
    stats = await aiomapi_run(
        server,
        concurrency=64,
        connections=16,
        api="generic",
        duration=600.0,
        count=len(server.keys),
        warmup=0,
        progress=progress,
        label="pre-warm (every lease once)",
    )
    if stats.errors:
        raise RuntimeError(f"pre-warm lookups failed: {dict(stats.error_kinds)}")
    return stats.seconds


# ---------------------------------------------------------------- the scan


async def scan_row(
    server: Server, block: IPv4Network, *, concurrency: int, connections: int, label: str
) -> Row:
    """Every address of ``block`` looked up once with :func:`aiomapi.scan.scan_leases`.

    ``rate=None``: the scan's default is :data:`aiomapi.DEFAULT_BULK_RATE` lookups a second,
    which would make this row measure the rate limiter. The pool's connections are opened
    first (a short get_many, not timed), as the other rows' warm-up does. Timed: the scan
    from its first lookup to its last lease, with the server's CPU and the client's over the
    same interval.

    The scan raises on any error but ``NotFound``; the leases it reads are checked against
    what the server was given (every one of ``server.keys`` active, plus the pool's free
    leases): each lease missing or extra counts as an error of the row, as does an address
    not looked up.
    """
    addresses = AddressSet.parse([str(block)])
    expected_active = len(server.keys)
    expected_leases = expected_active + server.pool_free
    async with aiomapi.Client(
        server.host, server.port, key=server.key, timeout=TIMEOUT, connections=connections
    ) as omapi:
        warm = server.keys[: 10 * concurrency]
        async for ip, result in omapi.leases.get_many(ips=warm, concurrency=concurrency, rate=None):
            if isinstance(result, aiomapi.OmapiError):
                raise RuntimeError(f"{label}: warm-up lookup of {ip} failed: {result!r}")
        stats = ScanStats()
        yielded = 0
        with process.measure_process_cpu(server.pid) as server_cpu:
            machine0 = process.machine_busy_seconds()
            cpu0 = time.process_time()
            kernel0 = os.times().system
            t0 = time.perf_counter()
            async for _lease in scan_leases(
                omapi, addresses, rate=None, concurrency=concurrency, stats=stats
            ):
                yielded += 1
            seconds = time.perf_counter() - t0
            client_cpu = time.process_time() - cpu0
            client_kernel = os.times().system - kernel0
            machine1 = process.machine_busy_seconds()
    active = stats.states.get("active", 0)
    errors = (
        abs(stats.leases - expected_leases)
        + abs(active - expected_active)
        + abs(yielded - stats.leases)
        + abs(stats.looked_up - len(addresses))
    )
    other = None
    if machine0 is not None and machine1 is not None:
        other = max(0.0, machine1 - machine0 - client_cpu - server_cpu.cpu_seconds)
    return Row(
        name=label,
        client="aiomapi",
        api="scan",
        concurrency=concurrency,
        connections=connections,
        lookups=stats.looked_up,
        errors=errors,
        seconds=seconds,
        client_cpu_seconds=client_cpu,
        client_kernel_seconds=client_kernel,
        server_cpu_seconds=server_cpu.cpu_seconds,
        other_cpu_seconds=other,
        note="scan_leases, rate=None",
        extra={
            "rate_limit": None,
            "server_cpu_seconds": server_cpu.cpu_seconds,
            "client_cpu_seconds": client_cpu,
            "block": str(block),
            "addresses": len(addresses),
            "leases_found": stats.leases,
            "leases_expected": expected_leases,
            "active_found": active,
            "active_expected": expected_active,
            "not_found": stats.not_found,
            "states": dict(stats.states),
        },
    )


# ---------------------------------------------------------------- memory


def memory_run(
    server: Server, settings: Settings, concurrency: int, connections: int, workdir: Path
) -> dict[str, Any]:
    """The long run, in a fresh process so that its RSS is the client's alone."""
    spec = workdir / "memory.json"
    spec.write_text(
        json.dumps(
            {
                "host": server.host,
                "port": server.port,
                "key": f"{server.key.algorithm}:{server.key.name}:{server.key.secret}",
                "keys": server.keys,
                "expected": server.expected,
                "count": settings.memory_lookups,
                "concurrency": concurrency,
                "connections": connections,
                "server_pid": server.pid,
            }
        )
    )
    spec.chmod(0o600)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--memory-worker", str(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        timeout=600 + settings.memory_lookups / 1000,
        check=False,
    )
    spec.unlink()
    if done.returncode != 0:
        raise RuntimeError("the memory worker failed (its errors are above)")
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    samples = stats["samples"]
    tenth = next((x for x in samples if x[0] >= stats["lookups"] // 10), samples[0])
    return {
        "lookups": stats["lookups"],
        "errors": stats["errors"],
        "rate": stats["rate"],
        "client_cpu_us": stats["client_cpu_us"],
        "rss_start": stats["rss_start"],
        "rss_at_10pct": tenth[2],
        "rss_end": stats["rss_end"],
        "rss_peak": stats["rss_peak"],
        "growth_bytes": stats["rss_end"] - tenth[2],
        "samples": samples,
        "concurrency": concurrency,
        "connections": connections,
    }


def memory_worker(spec_path: str) -> int:
    """Child process: one long aiomapi run; prints its LookupStats as one JSON line."""
    from aiomapi.client import key_from_spec

    spec = json.loads(Path(spec_path).read_text())

    async def run() -> bm.LookupStats:
        async with aiomapi.Client(
            spec["host"],
            spec["port"],
            key=key_from_spec(spec["key"]),
            timeout=TIMEOUT,
            connections=spec["connections"],
        ) as omapi:
            return await bm.run_lookups(
                omapi,
                spec["keys"],
                concurrency=spec["concurrency"],
                count=spec["count"],
                duration=max(600.0, spec["count"] / 2000),
                expected=spec["expected"],
                warmup=bm.DEFAULT_WARMUP,
                server_pid=spec["server_pid"],
                progress=bm.console_progress(sys.stderr),
                label=f"memory ({spec['count']:,} lookups)",
            )

    stats = asyncio.run(run())
    print(json.dumps(stats.as_dict()))
    return 0
