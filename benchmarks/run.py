"""Lease lookups/s: aiomapi against pypureomapi, omshell and dhcpd's own ceiling, in one run.

Run ``python -m benchmarks.run`` (or ``python benchmarks/run.py``); ``--smoke`` is the short
CI pass. It starts what it needs: the real ISC dhcpd in a network namespace
(:mod:`aiomapi.testing.dhcpd_lab`) when this machine can run it (root, dhcpd installed),
otherwise the in-memory :class:`aiomapi.testing.FakeDhcpd` in a process of its own; the
output says which. Then, against that one server:

1. every lease is looked up once, untimed, so dhcpd has allocated its object handles before
   anything is measured (the first OPEN of a lease costs dhcpd more than later ones);
2. **pypureomapi**, sequential on one connection, in a subprocess (it is synchronous; a
   process of its own gets a core like the other clients);
3. **omshell**, one process fed a script of N ``new lease / set ip-address / open / close``
   lookups on stdin, timed end to end; its output must show every expected hostname;
4. **aiomapi**, the typed API: ``await omapi.leases.get(ip=...)`` from 1, 8, 64 and 1000
   concurrent awaiters, and ``async for ip, lease in omapi.leases.get_many(ips=...)`` with
   concurrency 64 and 256 (its default), each on one connection and on a pool of 4; plus
   the generic ``omapi.open`` once, at the best typed setting;
5. **memory**: a long aiomapi run (a million lookups; fewer with ``--smoke``) with RSS
   sampled throughout;
6. the codec micro-benchmarks of :mod:`benchmarks.codec`.

During every row the server's CPU time is read from ``/proc/<pid>`` (utilisation of one core,
CPU per lookup, ceiling = 1 / CPU per lookup), and the client's own CPU time is measured.
The in-flight budget that keeps dhcpd 4.4.3 alive (reference §9) is always on: this script
only ever uses ``aiomapi.Client`` as applications do. Results go to
``benchmarks/results/latest.json`` and, if matplotlib is installed, ``docs/benchmark.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import math
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(ROOT))

import aiomapi  # noqa: E402
from aiomapi.bench import lookups as bm  # noqa: E402
from aiomapi.testing import FakeDhcpd, dhcpd_lab, synthetic_leases  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
PLOT = ROOT / "docs" / "benchmark.png"
#: OMAPI ports of the dhcpd started here count up from this (the test suite uses 17911+).
FIRST_PORT = 27000
CONCURRENCY = (1, 8, 64, 1000)
#: get_many's concurrency: 64, and its default.
BULK_CONCURRENCY = (64, 256)
CONNECTIONS = (1, 8, 16)
#: Per-lookup timeout; a row also stops after bm.DEFAULT_MAX_ERRORS failures.
TIMEOUT = 10.0
#: Targets of issue 5.
TARGET_VS_PYPURE = 4.0
TARGET_VS_OMSHELL = 1.5
TARGET_DHCPD_BUSY = 0.80
TARGET_CODEC = 10.0
#: A row starts once the rest of the machine uses at most this many cores (see quiet()).
QUIET_CORES = 0.15
QUIET_WINDOW = 0.5
#: Memory counts as flat if RSS grows less than this over the long run, after its first 10 %.
FLAT_RSS_BYTES = 2 * 2**20


@dataclass(frozen=True, slots=True)
class Settings:
    smoke: bool
    leases: int
    duration: float  # seconds per aiomapi and pypureomapi row
    count: int | None  # lookups per row instead (smoke)
    omshell_lookups: int
    memory_lookups: int
    algorithm: str
    server: str  # "auto", "dhcpd" or "fake"
    pin: bool
    repeat: int  # runs per row; the least disturbed one is reported
    quiet_wait: float  # seconds to wait for a quiet machine before each run


@dataclass(slots=True)
class Server:
    """The server every row runs against."""

    kind: str
    description: str
    host: str
    port: int
    key: aiomapi.Key
    pid: int
    keys: list[str]
    expected: list[str]
    stop: Callable[[], None]
    alive: Callable[[], bool]


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


def say(text: str = "") -> None:
    print(text, flush=True)


# ---------------------------------------------------------------- servers


def lab_hostnames(n: int) -> list[str]:
    return [f"host{i}" for i in range(n)]


def start_dhcpd(settings: Settings, workdir: Path) -> Server:
    """The real dhcpd in a network namespace (raises LabUnavailable where it cannot run)."""
    port = next(p for p in range(FIRST_PORT, FIRST_PORT + 1000) if not dhcpd_lab.port_busy(p))
    inst = dhcpd_lab.start_single(workdir, port, settings.leases, settings.algorithm)
    version = _dhcpd_version()
    return Server(
        kind="dhcpd",
        description=f"real {version} in network namespace {inst.netns} "
        f"({settings.leases:,} leases, {settings.algorithm})",
        host=inst.host,
        port=inst.port,
        key=aiomapi.Key(inst.key_name, inst.secret, inst.algorithm),
        pid=inst.pid,
        keys=[dhcpd_lab.lease_ip(i) for i in range(settings.leases)],
        expected=lab_hostnames(settings.leases),
        stop=lambda: dhcpd_lab.stop(inst),
        alive=inst.alive,
    )


def _dhcpd_version() -> str:
    try:
        done = subprocess.run(
            [dhcpd_lab.DHCPD, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return "ISC dhcpd"
    return (done.stdout + done.stderr).strip() or "ISC dhcpd"


def start_fake(settings: Settings) -> Server:
    """aiomapi's in-memory server in a process of its own (so it has its own core)."""
    key = aiomapi.Key.generate("bench", settings.algorithm)
    leases = synthetic_leases(settings.leases)
    keys = [str(lease.ip_address) for lease in leases]
    expected = [str(lease.client_hostname) for lease in leases]
    env = dict(os.environ, AIOMAPI_BENCH_KEY=f"{key.algorithm}:{key.name}:{key.secret}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.run", "--serve-fake", str(settings.leases)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    line = proc.stdout.readline().split()  # "READY host port"
    if len(line) != 3 or line[0] != "READY":
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the in-memory server did not start: {line}")

    def stop() -> None:
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    return Server(
        kind="fake",
        description=f"aiomapi.testing.FakeDhcpd (in-memory, separate process, "
        f"{settings.leases:,} synthetic leases, {settings.algorithm}); "
        "NOT dhcpd: its CPU figures say nothing about dhcpd's ceiling",
        host=line[1],
        port=int(line[2]),
        key=key,
        pid=proc.pid,
        keys=keys,
        expected=expected,
        stop=stop,
        alive=lambda: proc.poll() is None,
    )


def serve_fake(n_leases: int) -> int:
    """Child process: run FakeDhcpd until stdin closes."""
    from aiomapi.client import key_from_spec

    key = key_from_spec(os.environ["AIOMAPI_BENCH_KEY"])

    async def serve() -> None:
        leases = synthetic_leases(n_leases)
        async with FakeDhcpd(key=key, leases=leases) as server:
            print(f"READY {server.host} {server.port}", flush=True)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, sys.stdin.read)

    asyncio.run(serve())
    return 0


# ---------------------------------------------------------------- peers


def pypure_row(server: Server, settings: Settings, workdir: Path) -> Row | str:
    """pypureomapi, sequential, one connection, in a subprocess; or why it was skipped."""
    if server.key.algorithm != "hmac-md5":
        return "pypureomapi supports HMAC-MD5 only"
    try:
        __import__("pypureomapi")
    except ImportError:
        return "pypureomapi is not installed (pip install pypureomapi)"
    spec = workdir / "pypureomapi.json"
    spec.write_text(
        json.dumps(
            {
                "host": server.host,
                "port": server.port,
                "key_name": server.key.name,
                "secret": server.key.secret,
                "keys": server.keys,
                "expected": server.expected,
                "count": settings.count,
                "duration": settings.duration,
                "server_pid": server.pid,
                "warmup": 200,
            }
        )
    )
    spec.chmod(0o600)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--pypureomapi-worker", str(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=settings.duration + 120,
        check=False,
    )
    spec.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"pypureomapi worker failed:\n{done.stderr[-2000:]}")
    r = json.loads(done.stdout.strip().splitlines()[-1])
    return Row(
        name="pypureomapi sequential",
        client="pypureomapi",
        api="lookup_hostname",
        concurrency=1,
        connections=1,
        lookups=r["lookups"],
        errors=r["errors"],
        seconds=r["seconds"],
        client_cpu_seconds=r["client_cpu_seconds"],
        server_cpu_seconds=r["server_cpu_seconds"],
        latency_p50_ms=r["p50_ms"],
        latency_p99_ms=r["p99_ms"],
        other_cpu_seconds=r["other_cpu_seconds"],
        note="own process",
    )


def pypure_worker(spec_path: str) -> int:
    """Child process: sequential pypureomapi lookups; prints one JSON line."""
    import pypureomapi

    spec = json.loads(Path(spec_path).read_text())
    keys: list[str] = spec["keys"]
    expected: list[str] = spec["expected"]
    n = len(keys)
    omapi = pypureomapi.Omapi(
        spec["host"], spec["port"], spec["key_name"].encode(), spec["secret"].encode(), timeout=10
    )
    for i in range(min(spec["warmup"], n)):
        omapi.lookup_hostname(keys[i])
    count = spec["count"] if spec["count"] is not None else sys.maxsize
    hist = bm.LatencyHistogram()
    errors = 0
    clock = time.perf_counter
    server0 = bm.process_cpu_seconds(spec["server_pid"])
    machine0 = bm.machine_busy_seconds()
    cpu0 = time.process_time()
    start = clock()
    deadline = start + spec["duration"]
    done = 0
    while done < count and clock() < deadline and errors < bm.DEFAULT_MAX_ERRORS:
        k = done % n
        t0 = clock()
        try:
            name = omapi.lookup_hostname(keys[k])
        except pypureomapi.OmapiError:
            errors += 1
        else:
            if name != expected[k]:
                errors += 1
        hist.add(clock() - t0)
        done += 1
    seconds = clock() - start
    cpu = time.process_time() - cpu0
    machine1 = bm.machine_busy_seconds()
    server_cpu = bm.process_cpu_seconds(spec["server_pid"]) - server0
    other = None
    if machine0 is not None and machine1 is not None:
        other = max(0.0, machine1 - machine0 - cpu - server_cpu)
    omapi.close()
    p50, p99 = hist.percentile(50), hist.percentile(99)
    print(
        json.dumps(
            {
                "lookups": done,
                "errors": errors,
                "seconds": seconds,
                "client_cpu_seconds": cpu,
                "server_cpu_seconds": server_cpu,
                "other_cpu_seconds": other,
                "p50_ms": p50 * 1e3 if p50 is not None else None,
                "p99_ms": p99 * 1e3 if p99 is not None else None,
            }
        )
    )
    return 0


def omshell_row(server: Server, settings: Settings, workdir: Path) -> Row | str:
    """omshell fed one script of lookups in one session; or why it was skipped."""
    omshell = shutil.which("omshell")
    if omshell is None:
        return "omshell is not installed (apt-get install isc-dhcp-server)"
    n = min(settings.omshell_lookups, 10 * len(server.keys))
    picks = [i % len(server.keys) for i in range(n)]
    lines = [
        f"server {server.host}",
        f"port {server.port}",
        f"key-algorithm {server.key.algorithm}",
        f"key {server.key.name} {server.key.secret}",
        "connect",
    ]
    for i in picks:
        lines += ["new lease", f"set ip-address = {server.keys[i]}", "open", "close"]
    # Script and output go through files, not pipes: a pipe would need this process to feed
    # and drain it (~400 bytes of output per lookup), taking CPU from omshell and dhcpd.
    script, output = workdir / "omshell.in", workdir / "omshell.out"
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o600)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine0 = bm.machine_busy_seconds()
    with (
        script.open("rb") as stdin,
        output.open("wb") as stdout,
        bm.measure_process_cpu(server.pid) as dhcpd,
    ):
        done = subprocess.run(
            [omshell],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            timeout=60 + n / 1000,
            check=False,
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine1 = bm.machine_busy_seconds()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    other = None
    if machine0 is not None and machine1 is not None:
        other = max(0.0, machine1 - machine0 - cpu - dhcpd.cpu_seconds)
    text = output.read_text(errors="replace")
    script.unlink()
    output.unlink()
    names = re.findall(r'client-hostname = "([^"]*)"', text)
    want = [server.expected[i] for i in picks]
    wrong = sum(1 for a, b in zip(names, want, strict=False) if a != b)
    errors = wrong + abs(len(want) - len(names))
    if done.returncode != 0 or "dhcpctl" in text:
        errors = max(errors, 1)
    return Row(
        name="omshell scripted",
        client="omshell",
        api="script on stdin",
        concurrency=1,
        connections=1,
        lookups=n,
        errors=errors,
        seconds=dhcpd.wall_seconds,
        client_cpu_seconds=cpu,
        server_cpu_seconds=dhcpd.cpu_seconds,
        other_cpu_seconds=other,
        note="end to end, incl. start-up",
        extra={"hostnames_seen": len(names)},
    )


# ---------------------------------------------------------------- aiomapi rows


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


def _row_from_stats(name: str, stats: bm.LookupStats, note: str = "") -> Row:
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


# ---------------------------------------------------------------- report


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def fmt(value: float | None, spec: str, suffix: str = "") -> str:
    if value is None or math.isnan(value):
        return ""
    return format(value, spec) + suffix


def results_table(rows: Sequence[Row], ceiling: float | None, server_kind: str) -> str:
    pypure = next((r.rate for r in rows if r.client == "pypureomapi"), None)
    omshell = next((r.rate for r in rows if r.client == "omshell"), None)
    srv = "dhcpd" if server_kind == "dhcpd" else "server"
    table = []
    for r in rows:
        table.append(
            {
                "client": r.name,
                "conc": r.concurrency,
                "conns": r.connections,
                "lookups": r.lookups,
                "lookups/s": fmt(r.rate, ",.0f"),
                "p50 ms": fmt(r.latency_p50_ms, ".3f"),
                "p99 ms": fmt(r.latency_p99_ms, ".3f"),
                "client µs/lookup": fmt(r.client_cpu_us, ".1f"),
                f"{srv} CPU %": fmt(_pct(r.server_busy), ".0f"),
                f"{srv} µs/lookup": fmt(r.server_cpu_us, ".1f"),
                "× pypureomapi": fmt(ratio(r.rate, pypure), ".2f"),
                "× omshell": fmt(ratio(r.rate, omshell), ".2f"),
                "% of ceiling": fmt(_pct(ratio(r.rate, ceiling)), ".0f"),
                "other CPU %": fmt(_pct(r.other_busy), ".0f"),
                "errors": r.errors,
            }
        )
    return bm.format_table(table)


def _pct(x: float | None) -> float | None:
    return None if x is None else x * 100


def server_ceiling(rows: Sequence[Row]) -> tuple[float | None, str, float | None]:
    """The server's ceiling on one core, from this run: 1 / (its CPU per lookup).

    Its CPU per lookup depends on how requests arrive: one per read (sequential clients)
    costs dhcpd a select/read/write round each, a batch per read shares that round. So the
    ceiling is taken from the aiomapi row with the highest throughput — the load it is
    compared with — and the one-at-a-time figure (aiomapi c=1 on one connection) is given
    alongside.
    """
    measured = [r for r in rows if r.client == "aiomapi" and r.server_cpu_us]
    if not measured:
        return None, "no server CPU measured", None
    best = max(measured, key=lambda r: r.rate)
    assert best.server_cpu_us is not None
    note = f"from '{best.name}' ({best.server_cpu_us:.1f} µs/lookup)"
    single = next((r for r in measured if r.concurrency == 1 and r.connections == 1), None)
    sequential = None
    if single is not None and single.server_cpu_us:
        sequential = 1e6 / single.server_cpu_us
        note += (
            f"; one request at a time costs it {single.server_cpu_us:.1f} µs/lookup "
            f"(ceiling {sequential:,.0f}/s)"
        )
    return 1e6 / best.server_cpu_us, note, sequential


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "aiomapi": aiomapi.__version__,
    }


def plot(result: dict[str, Any], path: Path) -> str:
    """Write the PNG; returns a message (matplotlib is optional)."""
    try:  # imported by name: matplotlib is optional, also for type checking
        importlib.import_module("matplotlib").use("Agg")
        plt: Any = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return "no plot: matplotlib is not installed (pip install matplotlib)"
    rows = result["rows"]
    colours = {"aiomapi": "#2b6cb0", "pypureomapi": "#c05621", "omshell": "#718096"}
    fig, (bars, mem) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [2.2, 1]})
    names = [r["name"] for r in rows]
    rates = [r["rate"] for r in rows]
    bars.barh(names, rates, color=[colours.get(r["client"], "#999") for r in rows])
    bars.invert_yaxis()
    bars.set_xlabel("lease lookups/s (higher is better)")
    srv = "dhcpd" if result["server"]["kind"] == "dhcpd" else "server"
    lines = [
        (result.get("server_ceiling"), f" {srv} ceiling,\n batched requests", "--"),
        (result.get("server_ceiling_sequential"), f" {srv} ceiling,\n one at a time", ":"),
    ]
    for y, (value, text, style) in enumerate(lines):
        if value:
            bars.axvline(value, color="#c53030", linestyle=style, linewidth=1)
            bars.text(value, len(rows) - 1.5 - 2 * y, text, color="#c53030", fontsize=8)
    for y, rate in enumerate(rates):
        bars.text(rate, y, f" {rate:,.0f}", va="center", fontsize=8)
    peers = {r["client"]: r["rate"] for r in rows if r["client"] != "aiomapi"}
    goals = [
        (peers.get("pypureomapi"), TARGET_VS_PYPURE, "pypureomapi", -0.7),
        (peers.get("omshell"), TARGET_VS_OMSHELL, "omshell", len(rows) - 0.1),
    ]
    for base, factor, peer, label_y in goals:
        if base:
            goal = base * factor
            bars.axvline(goal, color="#718096", linestyle="-.", linewidth=0.8)
            bars.text(goal, label_y, f"target {factor:g}× {peer}", color="#4a5568", fontsize=7)
    bars.tick_params(axis="y", labelsize=8)
    bars.set_title(result["server"]["description"][:90], fontsize=9)
    memory = result.get("memory") or {}
    samples = memory.get("samples") or []
    if samples:
        mem.plot([s[0] for s in samples], [s[2] / 2**20 for s in samples], color="#2b6cb0")
        mem.set_xlabel("lookups done")
        mem.set_ylabel("client RSS (MiB)")
        mem.set_ylim(0, max(s[2] for s in samples) / 2**20 * 1.25)
        mem.set_title(f"memory over {memory.get('lookups', 0):,} lookups", fontsize=9)
    else:
        mem.set_axis_off()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"plot written to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 5's targets: (name, wanted, measured, met)."""
    rows = result["rows"]
    by_client = {r["client"]: r for r in rows if r["client"] != "aiomapi"}
    ours = [r for r in rows if r["client"] == "aiomapi"]
    # The typed API (leases.get, leases.get_many) is what applications use: judge by it.
    typed = [r for r in ours if r["api"] in ("typed", "bulk")]
    best = max(typed, key=lambda r: r["rate"]) if typed else None
    out: list[dict[str, Any]] = []

    def add(name: str, wanted: str, measured: float | None, goal: float, text: str) -> None:
        met = measured is not None and measured >= goal
        out.append({"target": name, "wanted": wanted, "measured": text, "met": met})

    pp, om = by_client.get("pypureomapi"), by_client.get("omshell")
    if best and pp:
        x = best["rate"] / pp["rate"]
        add("aiomapi ≥ 4× pypureomapi", "≥ 4.0×", x, TARGET_VS_PYPURE, f"{x:.2f}× ({best['name']})")
    if best and om:
        x = best["rate"] / om["rate"]
        add("aiomapi ≥ 1.5× omshell", "≥ 1.5×", x, TARGET_VS_OMSHELL, f"{x:.2f}× ({best['name']})")
    if best and best.get("server_busy") is not None:
        busy = best["server_busy"]
        srv = "dhcpd" if result["server"]["kind"] == "dhcpd" else "server (not dhcpd)"
        add(f"{srv} ≥ 80 % busy", "≥ 80 %", busy, TARGET_DHCPD_BUSY, f"{busy:.0%} ({best['name']})")
    codec = result.get("codec", {}).get("speedup", {})
    decode = [v for k, v in codec.items() if "decode+verify" in k and k.endswith("fast path")]
    if decode:
        x = min(decode)
        add("decode+verify ≥ 10× pypureomapi", "≥ 10×", x, TARGET_CODEC, f"{x:.1f}×")
    memory = result.get("memory")
    if memory:
        growth = memory["growth_bytes"]
        out.append(
            {
                "target": "memory flat",
                "wanted": f"< {FLAT_RSS_BYTES / 2**20:.0f} MiB growth",
                "measured": f"{growth / 2**20:+.2f} MiB over {memory['lookups']:,} lookups",
                "met": growth < FLAT_RSS_BYTES,
            }
        )
    single = next((r for r in typed if r["concurrency"] == 1 and r["connections"] == 1), None)
    if single and pp:
        x = single["rate"] / pp["rate"]
        add("single await loop ≥ pypureomapi", "≥ 1.0×", x, 1.0, f"{x:.2f}×")
    return out


# ---------------------------------------------------------------- main


async def quiet(server: Server, max_wait: float) -> float | None:
    """Wait (up to ``max_wait`` s) until the rest of the machine is nearly idle.

    Other processes on a small machine (a test run, a build) take CPU from the client or the
    server and make a row look slower than it is. Returns the CPU (in cores) the rest of the
    machine used in the last half second, None where it cannot be measured.
    """
    if max_wait <= 0:
        return None
    waited = 0.0
    while True:
        m0, s0 = bm.machine_busy_seconds(), bm.process_cpu_seconds(server.pid)
        await asyncio.sleep(QUIET_WINDOW)
        m1, s1 = bm.machine_busy_seconds(), bm.process_cpu_seconds(server.pid)
        if m0 is None or m1 is None:
            return None
        busy = max(0.0, (m1 - m0) - (s1 - s0)) / QUIET_WINDOW
        waited += QUIET_WINDOW
        if busy <= QUIET_CORES or waited >= max_wait:
            return busy


async def measure(settings: Settings, server: Server, workdir: Path) -> dict[str, Any]:
    progress = bm.console_progress(sys.stdout)
    rows: list[Row] = []
    skipped: dict[str, str] = {}

    def check_alive(after: str) -> None:
        if not server.alive():
            raise RuntimeError(f"the server died during {after}")

    async def repeated(name: str, run: Callable[[], Awaitable[Row | str]]) -> Row | str:
        """The least disturbed of ``settings.repeat`` runs (least CPU used by others)."""
        runs: list[Row] = []
        for _ in range(settings.repeat):
            await quiet(server, settings.quiet_wait)
            row = await run()
            check_alive(name)
            if isinstance(row, str):
                return row
            runs.append(row)
        best = min(runs, key=lambda r: r.other_busy or 0.0)
        best.extra["repeats"] = [
            {"rate": r.rate, "other_busy": r.other_busy, "server_busy": r.server_busy} for r in runs
        ]
        return best

    prewarm_s = await prewarm(server, progress)
    check_alive("the pre-warm")

    async def peer(name: str, run: Callable[[], Row | str]) -> None:
        say(f"{name} …")
        row = await repeated(name, lambda: asyncio.to_thread(run))
        if isinstance(row, str):
            skipped[name.split(",")[0]] = row
            say(f"  skipped: {row}")
        else:
            rows.append(row)
            say(f"  {row.rate:,.0f} lookups/s")

    await peer(
        "pypureomapi, sequential, one connection (subprocess)",
        lambda: pypure_row(server, settings, workdir),
    )
    await peer("omshell, one session fed a script", lambda: omshell_row(server, settings, workdir))

    for connections in CONNECTIONS:
        for concurrency in CONCURRENCY:
            if concurrency < connections:
                continue  # the pool opens no more connections than there are awaiters
            name = f"aiomapi leases.get c={concurrency} conns={connections}"
            note = "single await in a loop" if concurrency == 1 and connections == 1 else ""

            async def typed(c: int = concurrency, n: int = connections, label: str = name) -> Row:
                stats = await aiomapi_run(
                    server,
                    concurrency=c,
                    connections=n,
                    duration=settings.duration,
                    count=settings.count,
                    warmup=min(bm.DEFAULT_WARMUP, 10 * c),
                    progress=progress,
                    label=label,
                )
                return _row_from_stats(label, stats)

            row = await repeated(name, typed)
            assert isinstance(row, Row)
            row.note = note
            rows.append(row)

    for connections in CONNECTIONS:
        for concurrency in BULK_CONCURRENCY:
            name = f"aiomapi leases.get_many c={concurrency} conns={connections}"

            async def bulk(c: int = concurrency, n: int = connections, label: str = name) -> Row:
                stats = await aiomapi_run(
                    server,
                    concurrency=c,
                    connections=n,
                    api="bulk",
                    duration=settings.duration,
                    count=settings.count,
                    warmup=min(bm.DEFAULT_WARMUP, 10 * c),
                    progress=progress,
                    label=label,
                )
                return _row_from_stats(label, stats, "one async for")

            row = await repeated(name, bulk)
            assert isinstance(row, Row)
            rows.append(row)

    typed_rows = [r for r in rows if r.client == "aiomapi" and r.api == "typed"]
    best = max(typed_rows, key=lambda r: r.rate)  # the generic and memory runs use its setting
    name = f"aiomapi open() c={best.concurrency} conns={best.connections}"

    async def generic() -> Row:
        stats = await aiomapi_run(
            server,
            concurrency=best.concurrency,
            connections=best.connections,
            api="generic",
            duration=settings.duration,
            count=settings.count,
            warmup=bm.DEFAULT_WARMUP,
            progress=progress,
            label=name,
        )
        return _row_from_stats(name, stats, "generic API, raw bytes")

    row = await repeated(name, generic)
    assert isinstance(row, Row)
    rows.append(row)

    say(
        f"memory: {settings.memory_lookups:,} lookups, c={best.concurrency} "
        f"conns={best.connections}, in a fresh process …"
    )
    await quiet(server, settings.quiet_wait)
    memory = await asyncio.to_thread(
        memory_run, server, settings, best.concurrency, best.connections, workdir
    )
    check_alive("the memory run")

    say("codec micro-benchmarks …")
    from benchmarks import codec

    codec_results = codec.run_codec(smoke=settings.smoke)
    ceiling, ceiling_note, sequential_ceiling = server_ceiling(rows)
    return {
        "rows": rows,
        "skipped": skipped,
        "prewarm_seconds": prewarm_s,
        "memory": memory,
        "codec": {
            "results": [
                {"group": c.group, "name": c.name, "library": c.library, "us": c.us, "note": c.note}
                for c in codec_results
            ],
            "speedup": codec.ratios(codec_results),
            "table": codec.format_results(codec_results),
        },
        "server_ceiling": ceiling,
        "server_ceiling_note": ceiling_note,
        "server_ceiling_sequential": sequential_ceiling,
    }


def start_server(settings: Settings, workdir: Path) -> Server:
    if settings.server in ("auto", "dhcpd"):
        try:
            return start_dhcpd(settings, workdir / "dhcpd")
        except dhcpd_lab.LabUnavailable as exc:
            if settings.server == "dhcpd":
                raise
            say(f"real dhcpd unavailable ({exc}); using the in-memory server")
    return start_fake(settings)


@contextlib.contextmanager
def pinned(server: Server, enabled: bool) -> Iterator[str]:
    """Optionally pin the server to CPU 0 and this process (and its children) to the rest."""
    if not enabled or not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        yield "not pinned (the kernel schedules server and client)"
        return
    cpus = sorted(os.sched_getaffinity(0))
    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(server.pid, {cpus[0]})
    os.sched_setaffinity(0, set(cpus[1:]))
    try:
        yield f"server pinned to CPU {cpus[0]}, clients to CPU {cpus[1:]}"
    finally:
        os.sched_setaffinity(0, mine)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Lease lookups/s: aiomapi vs pypureomapi, omshell and dhcpd's ceiling.",
    )
    parser.add_argument("--smoke", action="store_true", help="short run for CI (seconds)")
    parser.add_argument("--leases", type=int, help="leases on the server (default 50,000)")
    parser.add_argument("--duration", type=float, help="seconds per row (default 8)")
    parser.add_argument("--algorithm", default="hmac-md5", help="OMAPI key algorithm")
    parser.add_argument("--server", choices=["auto", "dhcpd", "fake"], default="auto")
    parser.add_argument("--memory-lookups", type=int, help="lookups of the memory run")
    parser.add_argument("--omshell-lookups", type=int, help="lookups in the omshell script")
    parser.add_argument("--pin", action="store_true", help="pin server and clients to CPUs")
    parser.add_argument(
        "--repeat", type=int, help="runs per row, the least disturbed is kept (default 3)"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="seconds to wait for other load to settle before each run (default 30)",
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write results")
    parser.add_argument("--plot", type=Path, default=PLOT, help="where to write the PNG")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument(
        "--replot", action="store_true", help="only redraw the plot from the --json results"
    )
    parser.add_argument("--serve-fake", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pypureomapi-worker", help=argparse.SUPPRESS)
    parser.add_argument("--memory-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake is not None:
        return serve_fake(args.serve_fake)
    if args.pypureomapi_worker:
        return pypure_worker(args.pypureomapi_worker)
    if args.memory_worker:
        return memory_worker(args.memory_worker)
    if args.replot:
        say(plot(json.loads(args.json.read_text()), args.plot))
        return 0

    smoke = args.smoke
    settings = Settings(
        smoke=smoke,
        leases=args.leases or (1000 if smoke else 50_000),
        duration=args.duration or (5.0 if smoke else 8.0),
        count=300 if smoke else None,
        omshell_lookups=args.omshell_lookups or (300 if smoke else 50_000),
        memory_lookups=args.memory_lookups or (5_000 if smoke else 1_000_000),
        algorithm=aiomapi.Key.generate("x", args.algorithm).algorithm,
        server=args.server,
        pin=args.pin,
        repeat=args.repeat or (1 if smoke else 3),
        quiet_wait=0.0 if smoke else args.quiet_wait,
    )
    started = time.time()
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="aiomapi-bench-") as tmp:
        workdir = Path(tmp)
        server = start_server(settings, workdir)
        try:
            say(f"server: {server.description} at {server.host}:{server.port}")
            with pinned(server, settings.pin) as placement:
                say(f"placement: {placement}; {os.cpu_count()} CPUs")
                measured = asyncio.run(measure(settings, server, workdir))
        finally:
            server.stop()
    rows: list[Row] = measured["rows"]
    table = results_table(rows, measured["server_ceiling"], server.kind)
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "command": " ".join(["python -m benchmarks.run", *(argv or sys.argv[1:])]),
        "smoke": smoke,
        "machine": machine(),
        "server": {"kind": server.kind, "description": server.description},
        "placement": placement,
        "load_average": {"before": load_before, "after": load_average()},
        "settings": {
            "leases": settings.leases,
            "duration": settings.duration,
            "count": settings.count,
            "omshell_lookups": settings.omshell_lookups,
            "memory_lookups": settings.memory_lookups,
            "algorithm": settings.algorithm,
            "repeat": settings.repeat,
            "quiet_wait": settings.quiet_wait,
        },
        "rows": [r.as_dict() for r in rows],
        "skipped": measured["skipped"],
        "prewarm_seconds": measured["prewarm_seconds"],
        "server_ceiling": measured["server_ceiling"],
        "server_ceiling_note": measured["server_ceiling_note"],
        "server_ceiling_sequential": measured["server_ceiling_sequential"],
        "memory": measured["memory"],
        "codec": measured["codec"],
        "table": table,
    }
    result["targets"] = targets(result)
    say()
    say(f"server: {server.description}")
    ceiling = measured["server_ceiling"]
    if ceiling:
        note = measured["server_ceiling_note"]
        say(f"server ceiling (one core): {ceiling:,.0f} lookups/s, {note}")
    say(table)
    say()
    say(measured["codec"]["table"])
    say()
    mem = measured["memory"]
    say(
        f"memory: RSS {mem['rss_start'] / 2**20:.1f} MiB at start, "
        f"{mem['rss_at_10pct'] / 2**20:.1f} at 10 %, {mem['rss_end'] / 2**20:.1f} at the end "
        f"of {mem['lookups']:,} lookups (peak {mem['rss_peak'] / 2**20:.1f})"
    )
    say()
    say(
        bm.format_table(
            [
                {k: t[k] for k in ("target", "wanted", "measured")}
                | {"status": "met" if t["met"] else "MISSED"}
                for t in result["targets"]
            ]
        )
    )
    for name, why in measured["skipped"].items():
        say(f"{name} skipped: {why}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    say(f"results written to {args.json}")
    if not args.no_plot:
        say(plot(result, args.plot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
