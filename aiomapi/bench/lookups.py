"""Lease-lookup load generator on the public API, for ``aiomapi bench`` and ``benchmarks/``.

Theory of operation
-------------------
:func:`run_lookups` starts ``concurrency`` tasks on one :class:`~aiomapi.Client`. Each task
takes the next key (an IP, cycling through ``keys``), awaits one lookup, records its latency
and checks the answer, until ``count`` lookups are done, ``duration`` seconds have passed or
``max_errors`` lookups have failed — whichever comes first, so every run stops by itself.
It uses what an application would: ``omapi.leases.get(ip=...)`` (``api="typed"``, the
default) or ``omapi.open("lease", ...)`` (``api="generic"``). The client's in-flight budget
(the rule that keeps dhcpd 4.4.3 from aborting, reference §9) stays in force: this module
never touches it, so the concurrency here is how many *awaiters* there are, and the budget
decides how many requests are on the wire.

What it measures, in constant memory whatever the number of lookups:

* lookups per second over the timed part (the optional ``warmup`` lookups before it open
  the pool's connections, and are not counted);
* latency percentiles from a log-bucketed histogram (1 % wide buckets);
* client CPU per lookup, from :func:`time.process_time` — the whole process, so an
  in-process server (:func:`bench_embedded`) is included in it;
* the process's resident memory at the start, the end and its peak, sampled with the
  progress ticker, and a bounded series of samples to judge whether memory stays flat;
* with ``server_pid``, the server's CPU time over the same interval, read from
  ``/proc/<pid>`` (:func:`measure_process_cpu`): its utilisation of one core, its CPU per
  lookup, and so its ceiling (1 / CPU per lookup) for this kind of load.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import math
import os
import resource
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from aiomapi._sansio.auth import Key
from aiomapi.client import Client, OmapiObject
from aiomapi.errors import OmapiError

Api = Literal["typed", "generic", "bulk"]

#: Seconds between progress reports (and memory samples).
PROGRESS_INTERVAL = 0.5
#: At most this many memory samples are kept; older ones are thinned out by half.
MAX_SAMPLES = 512
#: A run stops after this many failed lookups (a dead server fails fast, and forever).
DEFAULT_MAX_ERRORS = 1000
#: Lookups before the timed part, by default: enough to open a pool.
DEFAULT_WARMUP = 200
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE_SIZE = resource.getpagesize()

#: Pool size of the benchmarks: lease lookups go one at a time per connection (see
#: docs/pipelining.md), so concurrent lookups need connections.
BENCH_CONNECTIONS = 16


# ---------------------------------------------------------------- process measurements


def rss_bytes(pid: int | None = None) -> int:
    """Resident memory of process ``pid`` (this process by default), in bytes.

    Reads ``/proc/<pid>/statm``; elsewhere falls back to this process's peak RSS.
    """
    path = f"/proc/{'self' if pid is None else pid}/statm"
    try:
        return int(Path(path).read_text().split()[1]) * _PAGE_SIZE
    except OSError:
        if pid is not None:
            raise
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far.

    Sums ``/proc/<pid>/task/*/schedstat`` (nanoseconds) when the kernel has it, else reads
    ``utime + stime`` from ``/proc/<pid>/stat`` (clock ticks, usually 10 ms).

    Raises:
        ProcessLookupError: there is no such process.
    """
    try:
        total = 0
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9
    except FileNotFoundError:
        if not Path(f"/proc/{pid}").exists():
            raise ProcessLookupError(pid) from None
    except (OSError, ValueError, IndexError):
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def machine_busy_seconds() -> float | None:
    """CPU seconds all CPUs of this machine have spent busy since boot (``/proc/stat``).

    Busy is everything but idle and iowait, interrupts included. ``None`` where there is no
    ``/proc/stat``. The difference over a run, minus the client's and the server's CPU,
    is what the rest of the machine used meanwhile: the benchmark's background noise.
    """
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    guest = sum(fields[8:10])  # already counted in user and nice
    return (sum(fields) - idle - guest) / _CLOCK_TICKS


@dataclass(slots=True)
class CpuUsage:
    """CPU used by process ``pid`` during a :func:`measure_process_cpu` block.

    ``exited`` is set if the process was gone at the end; ``cpu_seconds`` is then NaN.
    """

    pid: int
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    exited: bool = False

    @property
    def utilisation(self) -> float:
        """Fraction of one core the process used (1.0 = one core busy all the time)."""
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else math.nan


@contextlib.contextmanager
def measure_process_cpu(pid: int) -> Iterator[CpuUsage]:
    """Measure the CPU time process ``pid`` uses while the block runs.

    Example::

        with measure_process_cpu(dhcpd_pid) as dhcpd:
            stats = await run_lookups(...)
        print(f"dhcpd busy {dhcpd.utilisation:.0%}")

    Raises:
        ProcessLookupError: the process does not exist when the block starts.
    """
    usage = CpuUsage(pid)
    cpu0 = process_cpu_seconds(pid)
    wall0 = time.perf_counter()
    try:
        yield usage
    finally:
        usage.wall_seconds = time.perf_counter() - wall0
        try:
            usage.cpu_seconds = process_cpu_seconds(pid) - cpu0
        except ProcessLookupError:
            usage.cpu_seconds, usage.exited = math.nan, True


# ---------------------------------------------------------------- latency histogram


class LatencyHistogram:
    """Latencies in constant memory: log-spaced buckets 1 % wide, from 1 ns to ~1000 s."""

    __slots__ = ("_counts", "count", "max", "total")
    _PER_E = 100  # buckets per factor e: bucket width e^(1/100) - 1 ≈ 1 %
    _BUCKETS = 2800  # ln(1e12 ns) * 100 ≈ 2763

    def __init__(self) -> None:
        self._counts = [0] * self._BUCKETS
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        """Record one latency."""
        ns = seconds * 1e9
        index = int(math.log(ns) * self._PER_E) if ns > 1.0 else 0
        self._counts[min(index, self._BUCKETS - 1)] += 1
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds

    def percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (0–100) in seconds, to within 1 %; None if empty."""
        if not self.count:
            return None
        rank = max(1, math.ceil(self.count * q / 100))
        seen = 0
        for index, n in enumerate(self._counts):
            seen += n
            if seen >= rank:
                return min(math.exp((index + 0.5) / self._PER_E) / 1e9, self.max)
        return self.max


# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress report from a running :func:`run_lookups`."""

    label: str
    done: int
    errors: int
    elapsed: float
    rate: float  # lookups/s since the previous report
    count: int | None
    duration: float | None
    final: bool = False


@dataclass(frozen=True, slots=True)
class LookupStats:
    """What one :func:`run_lookups` measured (times in seconds, memory in bytes).

    ``lookups`` counts every lookup answered in the timed part, ``errors`` those that failed
    (an :class:`~aiomapi.OmapiError`, or the wrong hostname when ``expected`` was given);
    ``error_kinds`` counts them by exception class. ``samples`` holds up to
    :data:`MAX_SAMPLES` ``(lookups done, seconds, RSS)`` points over the run.
    """

    label: str
    api: str
    concurrency: int
    connections: int
    lookups: int
    errors: int
    error_kinds: Mapping[str, int]
    seconds: float
    client_cpu_seconds: float
    latency_p50: float | None
    latency_p99: float | None
    latency_max: float | None
    rss_start: int
    rss_end: int
    rss_peak: int
    stopped_by: str
    server_cpu_seconds: float | None = None
    machine_busy_seconds: float | None = None
    samples: tuple[tuple[int, float, int], ...] = field(default=(), repr=False)

    @property
    def ok(self) -> int:
        """Lookups that returned the expected lease."""
        return self.lookups - self.errors

    @property
    def rate(self) -> float:
        """Lookups per second."""
        return self.lookups / self.seconds if self.seconds > 0 else 0.0

    @property
    def client_cpu_us(self) -> float | None:
        """Client CPU microseconds per lookup."""
        return self.client_cpu_seconds / self.lookups * 1e6 if self.lookups else None

    @property
    def server_utilisation(self) -> float | None:
        """Fraction of one core the server used, if its pid was given."""
        if self.server_cpu_seconds is None or self.seconds <= 0:
            return None
        return self.server_cpu_seconds / self.seconds

    @property
    def server_cpu_us(self) -> float | None:
        """Server CPU microseconds per lookup, if its pid was given."""
        if self.server_cpu_seconds is None or not self.lookups:
            return None
        return self.server_cpu_seconds / self.lookups * 1e6

    @property
    def other_cpu_seconds(self) -> float | None:
        """CPU the rest of the machine used meanwhile (neither this client nor the server)."""
        if self.machine_busy_seconds is None:
            return None
        server = self.server_cpu_seconds or 0.0
        return max(0.0, self.machine_busy_seconds - self.client_cpu_seconds - server)

    @property
    def server_ceiling(self) -> float | None:
        """Lookups/s the server could do on one core at this CPU cost per lookup."""
        us = self.server_cpu_us
        return 1e6 / us if us else None

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [
            f"{self.label}: {self.lookups} lookups in {self.seconds:.2f} s = "
            f"{self.rate:,.0f} lookups/s ({self.api} API, concurrency {self.concurrency}, "
            f"{self.connections} connection{'s' if self.connections != 1 else ''})",
            f"  latency p50 {_ms(self.latency_p50)}, p99 {_ms(self.latency_p99)}, "
            f"max {_ms(self.latency_max)}",
            f"  client CPU {_num(self.client_cpu_us, '.1f')} µs/lookup; "
            f"RSS {self.rss_start / 2**20:.1f} → {self.rss_end / 2**20:.1f} MiB "
            f"(peak {self.rss_peak / 2**20:.1f})",
        ]
        if self.server_utilisation is not None:
            lines.append(
                f"  server CPU {self.server_utilisation:.0%} of one core, "
                f"{_num(self.server_cpu_us, '.1f')} µs/lookup "
                f"(ceiling {_num(self.server_ceiling, ',.0f')} lookups/s)"
            )
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.error_kinds.items()))
        lines.append(f"  errors: {self.errors}" + (f" ({errors})" if errors else ""))
        if self.stopped_by == "errors":
            lines.append("  stopped early: too many errors")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """The numbers as JSON-ready values (derived rates included)."""
        return {
            "label": self.label,
            "api": self.api,
            "concurrency": self.concurrency,
            "connections": self.connections,
            "lookups": self.lookups,
            "errors": self.errors,
            "error_kinds": dict(self.error_kinds),
            "seconds": self.seconds,
            "rate": self.rate,
            "latency_p50_ms": _scaled(self.latency_p50, 1e3),
            "latency_p99_ms": _scaled(self.latency_p99, 1e3),
            "latency_max_ms": _scaled(self.latency_max, 1e3),
            "client_cpu_us": self.client_cpu_us,
            "server_cpu_seconds": self.server_cpu_seconds,
            "server_utilisation": self.server_utilisation,
            "server_cpu_us": self.server_cpu_us,
            "other_cpu_seconds": self.other_cpu_seconds,
            "rss_start": self.rss_start,
            "rss_end": self.rss_end,
            "rss_peak": self.rss_peak,
            "stopped_by": self.stopped_by,
            "samples": [list(s) for s in self.samples],
        }


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e3:.2f} ms"


def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, spec)


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


def _bulk_function(client: Client) -> Callable[..., AsyncIterator[tuple[object, object]]]:
    """``omapi.leases.get_many``, the bulk lookup, if this version has it."""
    get_many = getattr(client.leases, "get_many", None)
    if get_many is None:
        raise ValueError("this aiomapi has no omapi.leases.get_many: api='bulk' is unavailable")
    return get_many  # type: ignore[no-any-return]


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

    Returns:
        the measurements (see :class:`LookupStats`).

    Raises:
        ValueError: bad arguments (neither ``duration`` nor ``count``, no keys, …).
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
        """One ``get_many`` over a lazy stream of keys that ends at the run's limits.

        Latency is not measured: the bulk call does not say when each lookup started.
        """
        get_many = _bulk_function(client)
        want = dict(zip(keys, expected, strict=True)) if expected is not None else None

        def source() -> Iterator[str]:
            while True:
                i = state["next"]
                if i >= limit or clock() >= deadline or state["errors"] >= max_errors:
                    return
                state["next"] = i + 1
                yield keys[i % n_keys]

        kwargs: dict[str, object] = {"ips": source()}
        if "concurrency" in inspect.signature(get_many).parameters:
            kwargs["concurrency"] = concurrency
        async for key, result in get_many(**kwargs):
            if isinstance(result, OmapiError):
                name = type(result).__name__
                kinds[name] = kinds.get(name, 0) + 1
                state["errors"] += 1
            elif want is not None and _hostname(result) != want.get(str(key)):
                kinds["wrong hostname"] = kinds.get("wrong hostname", 0) + 1
                state["errors"] += 1
            state["done"] += 1

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
    """Measure lease lookups against the in-memory server, started in this process.

    The server (:class:`aiomapi.testing.FakeDhcpd`) shares this process and its event loop,
    so the client CPU figure includes the server's work, and the rate is lower than against
    a dhcpd on its own core. Each answer's hostname is checked.
    """
    from aiomapi.testing import FakeDhcpd, synthetic_leases  # the test helpers load only if used

    key = Key.generate("bench", algorithm)
    leases = synthetic_leases(n_leases)
    keys = [str(lease.ip_address) for lease in leases]
    expected = [str(lease.client_hostname) for lease in leases]
    async with (
        FakeDhcpd(key=key, leases=leases) as server,
        Client(server.host, server.port, key=key, connections=connections) as omapi,
    ):
        return await run_lookups(
            omapi,
            keys,
            concurrency=concurrency,
            duration=duration,
            expected=expected,
            api=api,
            warmup=min(DEFAULT_WARMUP, 10 * concurrency),
            progress=progress,
            label=f"embedded c={concurrency}",
        )


# ---------------------------------------------------------------- output


def console_progress(stream: TextIO | None = None) -> Callable[[Progress], None]:
    """A progress callback: one rewritten line on a terminal, a line every 2 s otherwise."""
    out = stream if stream is not None else sys.stderr
    tty = out.isatty()
    last = [-math.inf]

    def show(p: Progress) -> None:
        goal = f"/{p.count:,}" if p.count is not None else ""
        span = f"/{p.duration:.0f}" if p.duration is not None else ""
        text = (
            f"{p.label}: {p.done:,}{goal} lookups, {p.rate:,.0f}/s, "
            f"{p.errors} errors, {p.elapsed:.1f}{span} s"
        )
        if tty:
            out.write("\r" + text.ljust(78) + ("\n" if p.final else ""))
            out.flush()
        elif p.final or p.elapsed - last[0] >= 2.0:
            last[0] = p.elapsed
            out.write(text + "\n")
            out.flush()

    return show


def format_table(rows: Sequence[Mapping[str, object]], columns: Sequence[str] | None = None) -> str:
    """Rows as an aligned text table; numbers right-aligned, text left-aligned.

    ``columns`` picks and orders the columns (default: the keys of the first row, then any
    new keys of later rows). ``None`` prints as an empty cell; floats with 3 significant
    decimals unless already formatted as text.
    """
    if columns is None:
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        columns = list(seen)
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    numeric = [all(_is_number(row.get(c)) or row.get(c) is None for row in rows) for c in columns]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(columns)), rule, *(line(r) for r in cells)])


def _is_number(value: object) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and _looks_numeric(value)


def _looks_numeric(text: str) -> bool:
    stripped = text.replace(",", "").replace("×", "").replace("%", "").strip()
    try:
        float(stripped)
    except ValueError:
        return False
    return True


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)
