"""aiomapi's rows: one measured run of the lookup runner each, and the long memory run.

Every row is a :class:`Row`, whichever client made it (the peers' rows are built in
:mod:`benchmarks.peers`), so the report compares them column by column.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomapi
from aiomapi.bench import lookups as bm
from benchmarks.servers import ROOT, Server, Settings

#: Per-lookup timeout; a row also stops after bm.DEFAULT_MAX_ERRORS failures.
TIMEOUT = 10.0


@dataclass(slots=True)
class Row:
    """One line of the results table."""

    name: str
    client: str  # "aiomapi", "pypureomapi", "omshell"
    api: str
    concurrency: int
    connections: int
    lookups: int
    errors: int
    seconds: float
    client_cpu_seconds: float | None
    server_cpu_seconds: float | None
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    other_cpu_seconds: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.lookups / self.seconds if self.seconds > 0 else 0.0

    @property
    def client_cpu_us(self) -> float | None:
        if self.client_cpu_seconds is None or not self.lookups:
            return None
        return self.client_cpu_seconds / self.lookups * 1e6

    @property
    def server_busy(self) -> float | None:
        if self.server_cpu_seconds is None or self.seconds <= 0:
            return None
        return self.server_cpu_seconds / self.seconds

    @property
    def server_cpu_us(self) -> float | None:
        if self.server_cpu_seconds is None or not self.lookups:
            return None
        return self.server_cpu_seconds / self.lookups * 1e6

    @property
    def other_busy(self) -> float | None:
        if self.other_cpu_seconds is None or self.seconds <= 0:
            return None
        return self.other_cpu_seconds / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "client": self.client,
            "api": self.api,
            "concurrency": self.concurrency,
            "connections": self.connections,
            "lookups": self.lookups,
            "errors": self.errors,
            "seconds": self.seconds,
            "rate": self.rate,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p99_ms": self.latency_p99_ms,
            "client_cpu_us": self.client_cpu_us,
            "server_busy": self.server_busy,
            "server_cpu_us": self.server_cpu_us,
            "other_busy": self.other_busy,
            "note": self.note,
            **self.extra,
        }


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
    return Row(
        name=name,
        client="aiomapi",
        api=stats.api,
        concurrency=stats.concurrency,
        connections=stats.connections,
        lookups=stats.lookups,
        errors=stats.errors,
        seconds=stats.seconds,
        client_cpu_seconds=stats.client_cpu_seconds,
        server_cpu_seconds=stats.server_cpu_seconds,
        latency_p50_ms=stats.latency_p50 * 1e3 if stats.latency_p50 is not None else None,
        latency_p99_ms=stats.latency_p99 * 1e3 if stats.latency_p99 is not None else None,
        other_cpu_seconds=stats.other_cpu_seconds,
        note=note,
        extra={"error_kinds": dict(stats.error_kinds), "stopped_by": stats.stopped_by},
    )


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
