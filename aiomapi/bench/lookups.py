"""Lease-lookup load generator on the public API, for ``aiomapi bench`` and ``benchmarks/``.

Theory of operation
-------------------
:func:`run_lookups` starts ``concurrency`` tasks on one :class:`~aiomapi.Client`. Each task
takes the next key (an IP, cycling through ``keys``), awaits one lookup, records its latency
and checks the answer, until ``count`` lookups are done, ``duration`` seconds have passed or
``max_errors`` lookups have failed — whichever comes first, so every run stops by itself.
It uses what an application would: ``omapi.leases.get(ip=...)`` (``api="typed"``, the
default) or ``omapi.open("lease", ...)`` (``api="generic"``). The client's in-flight budget
(the rule that keeps dhcpd 4.4.3 from aborting, docs/pipelining.md) stays in force: this
module never touches it, so the concurrency here is how many *awaiters* there are, and the
budget decides how many requests are on the wire — for lease lookups, one per connection.

What it measures, in constant memory whatever the number of lookups:

* lookups per second over the timed part (the optional ``warmup`` lookups before it open
  the pool's connections, and are not counted);
* latency percentiles (:mod:`aiomapi.bench.histogram`, 1 % wide buckets);
* client CPU per lookup, from :func:`time.process_time` — the whole process (the embedded
  server of :func:`bench_embedded` runs in a process of its own, so it is not included) —
  and the part of it spent in the kernel (:func:`os.times`): system calls and the loopback
  network stack against the interpreter's own work;
* the process's resident memory at the start, the end and its peak, sampled with the
  progress ticker, and a bounded series of samples to judge whether memory stays flat;
* with ``server_pid``, the server's CPU time over the same interval
  (:mod:`aiomapi.bench.process`): its utilisation of one core, its CPU per lookup, and so
  its ceiling (1 / CPU per lookup) for this kind of load.

The other modules of :mod:`aiomapi.bench`: :mod:`~aiomapi.bench.process` (process and
machine measurements), :mod:`~aiomapi.bench.histogram`, :mod:`~aiomapi.bench.results`
(:class:`Progress`, :class:`LookupStats`) and :mod:`~aiomapi.bench.report` (progress line,
text tables).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Literal

from aiomapi._sansio.auth import Key
from aiomapi.bench.histogram import LatencyHistogram
from aiomapi.bench.process import CpuUsage, machine_busy_seconds, measure_process_cpu, rss_bytes
from aiomapi.bench.report import console_progress
from aiomapi.bench.results import LookupStats, Progress
from aiomapi.client import Client, OmapiObject
from aiomapi.errors import OmapiError
from aiomapi.typed.objects import Lease

__all__ = [
    "BENCH_CONNECTIONS",
    "DEFAULT_MAX_ERRORS",
    "DEFAULT_WARMUP",
    "MAX_SAMPLES",
    "PROGRESS_INTERVAL",
    "Api",
    "LookupStats",
    "Progress",
    "bench_embedded",
    "bench_server",
    "console_progress",  # for ``aiomapi bench``, which imports this module only
    "ip_range",
    "run_lookups",
]

Api = Literal["typed", "generic", "bulk"]

#: Seconds between progress reports (and memory samples).
PROGRESS_INTERVAL = 0.5
#: At most this many memory samples are kept; older ones are thinned out by half.
MAX_SAMPLES = 512
#: A run stops after this many failed lookups (a dead server fails fast, and forever).
DEFAULT_MAX_ERRORS = 1000
#: Lookups before the timed part, by default: enough to open a pool.
DEFAULT_WARMUP = 200
#: The bulk row reads the clock (and publishes its counters) every this many results: about
#: 3 ms at 90,000 lookups a second, so a run ends at most that late.
_CLOCK_EVERY = 256

#: Pool size of the benchmarks: lease lookups go one at a time per connection (see
#: docs/pipelining.md), so concurrent lookups need connections.
BENCH_CONNECTIONS = 16


# ---------------------------------------------------------------- the load generator


def _hostname(result: object) -> str | None:
    if isinstance(result, OmapiObject):
        raw = result.get("client-hostname")
        return None if raw is None else raw.decode("utf-8", "surrogateescape")
    name = getattr(result, "client_hostname", None)
    return name if isinstance(name, str) else None


def _lookup_function(client: Client, api: Api) -> Callable[[str], Awaitable[object]]:
    if api in ("typed", "bulk"):
        leases = client.leases

        def typed(ip: str) -> Awaitable[object]:
            return leases.get(ip=ip)

        return typed
    if api == "generic":

        def generic(ip: str) -> Awaitable[object]:
            return client.open("lease", {"ip-address": ip})

        return generic
    raise ValueError(f"api must be 'typed', 'generic' or 'bulk', not {api!r}")


class _Samples:
    """At most MAX_SAMPLES points; when full, every other one is dropped."""

    def __init__(self) -> None:
        self.points: list[tuple[int, float, int]] = []
        self.step = 1
        self._skipped = 0

    def add(self, point: tuple[int, float, int]) -> None:
        self._skipped += 1
        if self._skipped < self.step:
            return
        self._skipped = 0
        self.points.append(point)
        if len(self.points) >= MAX_SAMPLES:
            del self.points[1::2]
            self.step *= 2


async def run_lookups(
    client: Client,
    keys: Sequence[str],
    *,
    concurrency: int,
    duration: float | None = None,
    count: int | None = None,
    expected: Sequence[str] | None = None,
    api: Api = "typed",
    warmup: int = 0,
    server_pid: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    progress_interval: float = PROGRESS_INTERVAL,
    max_errors: int = DEFAULT_MAX_ERRORS,
    label: str | None = None,
    rate: float | None = None,
) -> LookupStats:
    """Look up leases by IP with ``concurrency`` concurrent awaiters on ``client``.

    Args:
        client: a connected client.
        keys: lease IPs (dotted text), used in turn, cycling.
        concurrency: how many lookups are awaited at once.
        duration: stop after this many seconds (of the timed part).
        count: stop after this many lookups (of the timed part).
        expected: the ``client-hostname`` each key must return (same order as ``keys``); a
            different one counts as an error.
        api: ``"typed"`` (``omapi.leases.get(ip=...)`` per awaiter), ``"generic"``
            (``omapi.open``), or ``"bulk"`` (one ``omapi.leases.get_many(ips=...)`` with
            ``concurrency``; no latency figures).
        warmup: lookups to do first, not counted.
        server_pid: a local server process whose CPU use to measure over the timed part.
        progress: called every ``progress_interval`` seconds, and once at the end.
        max_errors: stop after this many failed lookups.
        label: a name for the run (default: ``"<api> c=<concurrency>"``).
        rate: ``api="bulk"`` only: get_many's ``rate``, lookups a second. ``None`` (the
            default here, unlike get_many's own :data:`~aiomapi.client.DEFAULT_BULK_RATE`):
            no limit, so that the run measures the lookups, not the rate limiter.

    Returns:
        the measurements (see :class:`LookupStats`).

    Raises:
        ValueError: bad arguments (neither ``duration`` nor ``count``, no keys, a ``rate``
            without ``api="bulk"``, …).
        ProcessLookupError: ``server_pid`` does not exist.
    """
    if duration is None and count is None:
        raise ValueError("give duration or count (or both): a run must end by itself")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    if not keys:
        raise ValueError("no keys to look up")
    if expected is not None and len(expected) != len(keys):
        raise ValueError("expected must have one hostname per key")
    if rate is not None and api != "bulk":
        raise ValueError("rate applies to api='bulk' (get_many) only")
    lookup = _lookup_function(client, api)
    label = label or f"{api} c={concurrency}"
    n_keys = len(keys)
    limit = count if count is not None else sys.maxsize

    if warmup > 0:
        warm = await run_lookups(
            client,
            keys,
            concurrency=concurrency,
            count=warmup,
            duration=duration if duration is not None else 60.0,
            expected=expected,
            api=api,
            max_errors=max_errors,
            label=f"{label} (warm-up)",
            rate=rate,
        )
        if warm.stopped_by == "errors":
            raise OmapiError(f"{label}: warm-up failed: {dict(warm.error_kinds)}")

    hist = LatencyHistogram()
    kinds: dict[str, int] = {}
    samples = _Samples()
    state = {"next": 0, "done": 0, "errors": 0}
    clock = time.perf_counter
    stop_reason = ["count" if count is not None else "duration"]

    async def worker() -> None:
        while True:
            i = state["next"]
            if i >= limit or clock() >= deadline or state["errors"] >= max_errors:
                return
            state["next"] = i + 1
            k = i % n_keys
            t0 = clock()
            try:
                result = await lookup(keys[k])
            except OmapiError as exc:
                name = type(exc).__name__
                kinds[name] = kinds.get(name, 0) + 1
                state["errors"] += 1
            else:
                if expected is not None and _hostname(result) != expected[k]:
                    kinds["wrong hostname"] = kinds.get("wrong hostname", 0) + 1
                    state["errors"] += 1
            hist.add(clock() - t0)
            state["done"] += 1

    async def bulk() -> None:
        """One ``get_many`` over the keys, repeated, until the run's limits.

        Latency is not measured: the bulk call does not say when each lookup started. Every
        result is still checked (a Lease with the hostname its key must have, or counted as
        an error). The loop is the lean one a caller would write: the keys come from a C
        iterator (a count limit is an ``islice`` of them), the clock is read every
        :data:`_CLOCK_EVERY` results and the counters are local, copied to ``state`` as often.
        A run that ends on its time or its errors leaves the loop; get_many then takes back
        the lookups not yet sent (those in flight are not counted).
        """
        want = dict(zip(keys, expected, strict=True)) if expected is not None else None
        source: Iterator[str] = itertools.cycle(keys)
        if count is not None:
            source = itertools.islice(source, count)
        done = errors = 0
        # ``rate`` is passed whatever it is: get_many's default is DEFAULT_BULK_RATE, and a
        # row meant to measure the lookups must not measure the rate limiter instead.
        results = client.leases.get_many(ips=source, concurrency=concurrency, rate=rate)
        async with contextlib.aclosing(results):
            async for key, result in results:
                done += 1
                if type(result) is Lease:
                    if want is not None and result.client_hostname != want.get(key):
                        kinds["wrong hostname"] = kinds.get("wrong hostname", 0) + 1
                        errors += 1
                else:
                    name = type(result).__name__
                    if not isinstance(result, OmapiError):
                        name = f"not a Lease: {name}"
                    kinds[name] = kinds.get(name, 0) + 1
                    errors += 1
                    if errors >= max_errors:
                        break
                if not done % _CLOCK_EVERY:
                    state["done"], state["errors"] = done, errors
                    if clock() >= deadline:
                        break
        state["done"], state["errors"] = done, errors

    def report(final: bool, elapsed: float, rate: float) -> None:
        if progress is not None:
            progress(
                Progress(
                    label, state["done"], state["errors"], elapsed, rate, count, duration, final
                )
            )

    async def ticker() -> None:
        last_done, last_t = 0, start
        while True:  # cancelled when the workers finish
            await asyncio.sleep(progress_interval)
            now = clock()
            rss = rss_bytes()
            peak[0] = max(peak[0], rss)
            samples.add((state["done"], now - start, rss))
            report(False, now - start, (state["done"] - last_done) / max(now - last_t, 1e-9))
            last_done, last_t = state["done"], now

    rss_start = rss_bytes()
    peak = [rss_start]
    cpu_meter = (
        measure_process_cpu(server_pid) if server_pid is not None else contextlib.nullcontext()
    )
    with cpu_meter as server_cpu:
        machine0 = machine_busy_seconds()
        cpu0 = time.process_time()
        kernel0 = os.times().system
        start = clock()
        deadline = start + duration if duration is not None else math.inf
        samples.add((0, 0.0, rss_start))
        tick = asyncio.create_task(ticker())
        try:
            if api == "bulk":
                await bulk()
            else:
                await asyncio.gather(*(worker() for _ in range(concurrency)))
        finally:
            tick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tick
        elapsed = clock() - start
        client_cpu = time.process_time() - cpu0
        client_kernel = os.times().system - kernel0
        machine1 = machine_busy_seconds()
    rss_end = rss_bytes()
    samples.add((state["done"], elapsed, rss_end))
    if state["errors"] >= max_errors:
        stop_reason[0] = "errors"
    elif state["done"] < limit:
        stop_reason[0] = "duration"
    report(True, elapsed, state["done"] / elapsed if elapsed > 0 else 0.0)
    return LookupStats(
        label=label,
        api=api,
        concurrency=concurrency,
        connections=client.pool.size,
        lookups=state["done"],
        errors=state["errors"],
        error_kinds=kinds,
        seconds=elapsed,
        client_cpu_seconds=client_cpu,
        client_kernel_seconds=client_kernel,
        latency_p50=hist.percentile(50),
        latency_p99=hist.percentile(99),
        latency_max=hist.max if hist.count else None,
        rss_start=rss_start,
        rss_end=rss_end,
        rss_peak=max(peak[0], rss_end),
        stopped_by=stop_reason[0],
        server_cpu_seconds=(server_cpu.cpu_seconds if isinstance(server_cpu, CpuUsage) else None),
        machine_busy_seconds=(
            machine1 - machine0 if machine0 is not None and machine1 is not None else None
        ),
        samples=tuple(samples.points),
    )


# ---------------------------------------------------------------- ready-made benchmarks


def ip_range(first: ipaddress.IPv4Address | str, n: int) -> list[str]:
    """``n`` consecutive IPv4 addresses from ``first``, as text."""
    start = ipaddress.IPv4Address(first)
    return [str(start + i) for i in range(n)]


async def bench_server(
    host: str,
    port: int,
    key: Key | None,
    *,
    n_leases: int = 10_000,
    first_ip: ipaddress.IPv4Address | str = "10.100.1.0",
    concurrency: int = 64,
    connections: int = BENCH_CONNECTIONS,
    duration: float = 5.0,
    api: Api = "typed",
    expected: Sequence[str] | None = None,
    server_pid: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    timeout: float | None = 10.0,
) -> LookupStats:
    """Measure lease lookups against a running server (dhcpd, or anything speaking OMAPI).

    Looks up ``n_leases`` consecutive addresses from ``first_ip``, cycling, for
    ``duration`` seconds after a short warm-up. Lookups that fail (``NotFound`` for an
    address without a lease, …) are counted as errors.

    Args:
        server_pid: a local server's pid, to report its CPU use (see :class:`LookupStats`).
        expected: hostnames to check, one per address (optional).
    """
    if n_leases < 1:
        raise ValueError("n_leases must be at least 1")
    keys = ip_range(first_ip, n_leases)
    async with Client(host, port, key=key, timeout=timeout, connections=connections) as omapi:
        return await run_lookups(
            omapi,
            keys,
            concurrency=concurrency,
            duration=duration,
            expected=expected,
            api=api,
            warmup=min(DEFAULT_WARMUP, 10 * concurrency),
            server_pid=server_pid,
            progress=progress,
            label=f"{host}:{port} c={concurrency}",
        )


async def bench_embedded(
    n_leases: int = 10_000,
    *,
    concurrency: int = 64,
    connections: int = BENCH_CONNECTIONS,
    duration: float = 5.0,
    api: Api = "typed",
    algorithm: str = "hmac-md5",
    progress: Callable[[Progress], None] | None = None,
) -> LookupStats:
    """Measure lease lookups against the in-memory server, started in a process of its own.

    The server (:class:`aiomapi.testing.FakeDhcpd`, :mod:`aiomapi.bench.embedded`) has its
    own process, so the client CPU figure is this process's alone and the server's CPU is
    measured beside it. Each answer's hostname is checked.
    """
    from aiomapi.bench import embedded

    server = await asyncio.to_thread(embedded.start, n_leases, algorithm)
    try:
        target = server.target
        async with Client(
            target.host, target.port, key=target.key, connections=connections
        ) as omapi:
            return await run_lookups(
                omapi,
                target.keys,
                concurrency=concurrency,
                duration=duration,
                expected=target.expected,
                api=api,
                warmup=min(DEFAULT_WARMUP, 10 * concurrency),
                server_pid=target.pid,
                progress=progress,
                label=f"embedded c={concurrency}",
            )
    finally:
        await asyncio.to_thread(server.stop)
