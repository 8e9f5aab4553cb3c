"""aiomapi's rows: one measured run of the lookup runner each, and the long memory run.

Every row is a :class:`~aiomapi.bench.results.Row` (``aiomapi bench`` makes the same),
whichever client made it (the peers' rows are built in :mod:`aiomapi.bench.peers`), so the
report compares them column by column.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiomapi
from aiomapi.bench import lookups as bm
from aiomapi.bench.results import Row
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
) -> bm.LookupStats:
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
        )


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
