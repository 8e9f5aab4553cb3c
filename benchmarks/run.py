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
   concurrent awaiters, and ``async for ip, lease in omapi.leases.get_many(ips=...,
   rate=None)`` with concurrency 64 and 256, each on one connection and on pools of 8 and
   16 (lease lookups go one at a time per connection, docs/pipelining.md); plus the generic
   ``omapi.open`` once, at the best typed setting. Every get_many row passes ``rate=None``:
   bulk calls default to :data:`aiomapi.DEFAULT_BULK_RATE` lookups a second, and a row at
   that rate would measure the rate limiter, not the lookups;
5. **get_many at the default rate**, once, at the best get_many setting: what a bulk call
   left at its default costs the server (about DEFAULT_BULK_RATE lookups/s; it is left out
   of the targets and of the ceiling);
6. **the scan**: ``aiomapi.scan.scan_leases(..., rate=None)`` over 10.100.0.0/16, 65,536
   addresses holding the lab's 50,000 leases (10.100.1.0 + i) and the free leases after
   them, at the best get_many setting; the leases it finds are checked against what the
   server was given (a missing or extra one counts as an error). The smoke run scans the
   smallest block that holds its leases (/21 for 1,000);
7. **memory**: a long aiomapi run (a million lookups; fewer with ``--smoke``) with RSS
   sampled throughout;
8. the codec micro-benchmarks of :mod:`benchmarks.codec`.

During every row the server's CPU time is measured (:mod:`aiomapi.bench.process`:
utilisation of one core, CPU per lookup, ceiling = 1 / CPU per lookup), and the client's own
CPU time too. The in-flight budget that keeps dhcpd 4.4.3 alive (docs/pipelining.md) is
always on: this script only ever uses ``aiomapi.Client`` as applications do.

The targets table judges each target from rows of this same run, never from figures kept
from another: dhcpd ≥ 80 % busy during get_many (best row) with the client's CPU per lookup
at most dhcpd's; get_many (best row) ≥ 12× pypureomapi sequential and ≥ 4× omshell
scripted; leases.get with 64 awaiters (best row) ≥ 8× pypureomapi, one await at a time
≥ 2×; decode+verify of a lease reply with the typed Lease built ≥ 30× pypureomapi's codec
(the worst of the two replies :mod:`benchmarks.codec` times); the /16 scan in ≤ 2 s, or
within 1.3× of the CPU time dhcpd spent on it (wall time, dhcpd CPU seconds and their ratio
are printed); RSS flat over the memory run. Each line says met or MISSED with the measured
figure. Results, targets included, go to ``benchmarks/results/latest.json`` and, if
matplotlib is installed, ``docs/benchmark.png``.

This module is the command line and the order of the rows; the rest is one module per job:
:mod:`benchmarks.servers` (settings, the server, the scan's block), :mod:`benchmarks.peers`
(pypureomapi and omshell), :mod:`benchmarks.rows` (aiomapi's rows, the scan, the memory run)
and :mod:`benchmarks.report` (table, ratios, ceiling, targets, plot).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiomapi
from aiomapi.bench import lookups as bm
from aiomapi.bench import process
from aiomapi.bench.report import format_table
from aiomapi.bench.results import Row
from aiomapi.testing import dhcpd_lab
from benchmarks.peers import omshell_row, pypure_row
from benchmarks.report import (
    load_average,
    machine,
    plot,
    results_table,
    server_ceiling,
    targets,
)
from benchmarks.rows import (
    aiomapi_run,
    memory_run,
    memory_worker,
    on_uvloop,
    prewarm,
    row_from_stats,
    scan_row,
    uvloop_missing,
)
from benchmarks.servers import (
    ROOT,
    Server,
    Settings,
    pinned,
    scan_block,
    start_dhcpd,
    start_fake,
)

RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
PLOT = ROOT / "docs" / "benchmark.png"
CONCURRENCY = (1, 8, 64, 1000)
#: get_many's concurrency: 64, and its default.
BULK_CONCURRENCY = (64, 256)
#: Pool sizes: lease lookups go one at a time per connection (docs/pipelining.md), so
#: concurrent lookups need connections; 16 is ``aiomapi bench``'s default, 64 the most a
#: client opens (``aiomapi._asyncio.pool.MAX_CONNECTIONS``), where the client's event loop
#: takes the most replies a turn (docs/benchmarks.md, "Why pools of 8, 16 and 64").
CONNECTIONS = (1, 8, 16, 64)
#: A row starts once the rest of the machine uses at most this many cores (see quiet()).
QUIET_CORES = 0.15
QUIET_WINDOW = 0.5


def say(text: str = "") -> None:
    print(text, flush=True)


# ---------------------------------------------------------------- the rows, in order


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
        m0, s0 = process.machine_busy_seconds(), process.process_cpu_seconds(server.pid)
        await asyncio.sleep(QUIET_WINDOW)
        m1, s1 = process.machine_busy_seconds(), process.process_cpu_seconds(server.pid)
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

    async def peer(name: str, run: Callable[[], Awaitable[Row | str]]) -> None:
        say(f"{name} …")
        row = await repeated(name, run)
        if isinstance(row, str):
            skipped[name.split(",")[0]] = row
            say(f"  skipped: {row}")
        else:
            rows.append(row)
            say(f"  {row.rate:,.0f} lookups/s")

    await peer(
        "pypureomapi, sequential, one connection (subprocess)",
        lambda: pypure_row(server, settings),
    )
    await peer("omshell, one session fed a script", lambda: omshell_row(server, settings))

    for connections in CONNECTIONS:
        for concurrency in CONCURRENCY:
            if concurrency < connections:
                continue  # the pool opens no more connections than there are awaiters
            name = f"aiomapi leases.get c={concurrency} conns={connections}"
            note = "single await in a loop" if concurrency == 1 and connections == 1 else ""

            async def typed(c: int = concurrency, n: int = connections, label: str = name) -> Row:
                stats = await timed_run(server, settings, progress, "typed", c, n, label)
                return row_from_stats(label, stats)

            row = await repeated(name, typed)
            assert isinstance(row, Row)
            row.note = note
            rows.append(row)

    for connections in CONNECTIONS:
        for concurrency in BULK_CONCURRENCY:
            name = f"aiomapi leases.get_many c={concurrency} conns={connections}"

            async def bulk(c: int = concurrency, n: int = connections, label: str = name) -> Row:
                stats = await timed_run(server, settings, progress, "bulk", c, n, label)
                row = row_from_stats(label, stats, "one async for, rate=None")
                row.extra["rate_limit"] = None
                return row

            row = await repeated(name, bulk)
            assert isinstance(row, Row)
            rows.append(row)

    missing = uvloop_missing()
    if missing is not None:
        skipped["uvloop"] = missing
        say(f"uvloop rows skipped: {missing}")
    else:
        await uvloop_rows(settings, server, rows, repeated, progress)

    typed_rows = [
        r for r in rows if r.client == "aiomapi" and r.api == "typed" and not on_uvloop_row(r)
    ]
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
        return row_from_stats(name, stats, "generic API, raw bytes")

    row = await repeated(name, generic)
    assert isinstance(row, Row)
    rows.append(row)

    bulk_rows = [
        r for r in rows if r.client == "aiomapi" and r.api == "bulk" and not on_uvloop_row(r)
    ]
    best_bulk = max(bulk_rows, key=lambda r: r.rate)  # the default-rate row and the scan's
    default_rate = aiomapi.DEFAULT_BULK_RATE
    name = (
        f"aiomapi leases.get_many rate={default_rate:,.0f}/s (default) "
        f"c={best_bulk.concurrency} conns={best_bulk.connections}"
    )
    say(f"{name} (once) …")
    await quiet(server, settings.quiet_wait)
    stats = await aiomapi_run(
        server,
        concurrency=best_bulk.concurrency,
        connections=best_bulk.connections,
        api="bulk",
        duration=settings.duration,
        count=settings.count,
        warmup=0,  # a warm-up at the limited rate would only add its time
        progress=progress,
        label=name,
        rate=default_rate,
    )
    check_alive(name)
    row = row_from_stats(name, stats, "get_many's default rate: not a target row")
    row.extra["rate_limit"] = default_rate
    rows.append(row)

    block = scan_block(server, smallest=settings.smoke)
    name = (
        f"aiomapi scan_leases {block} rate=None "
        f"c={best_bulk.concurrency} conns={best_bulk.connections}"
    )

    async def scan() -> Row:
        return await scan_row(
            server,
            block,
            concurrency=best_bulk.concurrency,
            connections=best_bulk.connections,
            label=name,
        )

    say(
        f"{name}: {block.num_addresses:,} addresses, no rate limit "
        f"(scan_leases defaults to {default_rate:,.0f}/s; lifted here) …"
    )
    row = await repeated(name, scan)
    assert isinstance(row, Row)
    rows.append(row)
    say(scan_summary(row.as_dict(), server.kind))

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


def timed_run(
    server: Server,
    settings: Settings,
    progress: Callable[[bm.Progress], None],
    api: bm.Api,
    concurrency: int,
    connections: int,
    label: str,
) -> Coroutine[Any, Any, bm.LookupStats]:
    """One run of an unlimited row: the run's duration (or count), and a warm-up of ten
    lookups per awaiter, up to the runner's default."""
    return aiomapi_run(
        server,
        concurrency=concurrency,
        connections=connections,
        api=api,
        duration=settings.duration,
        count=settings.count,
        warmup=min(bm.DEFAULT_WARMUP, 10 * concurrency),
        progress=progress,
        label=label,
    )


#: The rows measured again on uvloop: (api, concurrency, connections).
UVLOOP_ROWS: tuple[tuple[bm.Api, int, int], ...] = (
    ("typed", 1, 1),
    ("typed", 64, 16),
    ("typed", 64, 64),
    ("bulk", 256, 16),
    ("bulk", 256, 64),
)
UVLOOP = " (uvloop)"


def on_uvloop_row(row: Row) -> bool:
    return bool(row.extra.get("uvloop"))


async def uvloop_rows(
    settings: Settings,
    server: Server,
    rows: list[Row],
    repeated: Callable[[str, Callable[[], Awaitable[Row | str]]], Awaitable[Row | str]],
    progress: Callable[[bm.Progress], None],
) -> None:
    """The rows that matter for the targets again, with the client on uvloop (an option
    aiomapi supports as it is: ``uvloop.run(main())``); each row's name says so."""
    for api, concurrency, connections in UVLOOP_ROWS:
        kind = "leases.get_many" if api == "bulk" else "leases.get"
        name = f"aiomapi {kind} c={concurrency} conns={connections}{UVLOOP}"

        async def run(
            api: bm.Api = api, c: int = concurrency, n: int = connections, label: str = name
        ) -> Row:
            stats = await on_uvloop(lambda: timed_run(server, settings, progress, api, c, n, label))
            row = row_from_stats(label, stats, "the client on uvloop")
            row.extra["uvloop"] = True
            if api == "bulk":
                row.extra["rate_limit"] = None
            return row

        row = await repeated(name, run)
        assert isinstance(row, Row)
        rows.append(row)


def scan_summary(scan: dict[str, Any], server_kind: str) -> str:
    """The scan row in a line: wall time, the server's CPU seconds and their ratio, counts."""
    srv = "dhcpd" if server_kind == "dhcpd" else "server"
    cpu = scan["server_cpu_seconds"]
    ratio = f"{scan['seconds'] / cpu:.2f}×" if cpu else "n/a"
    states = ", ".join(f"{n} {k}" for k, n in sorted(scan["states"].items()))
    return (
        f"scan of {scan['block']} ({scan['addresses']:,} addresses, rate=None): "
        f"{scan['seconds']:.2f} s wall, {srv} CPU {cpu or 0:.2f} s, wall/{srv} CPU {ratio}; "
        f"{scan['leases_found']:,} leases found ({states}), {scan['leases_expected']:,} "
        f"expected; {scan['not_found']:,} addresses without a lease; "
        f"{scan['errors']} error{'s' if scan['errors'] != 1 else ''}"
    )


# ---------------------------------------------------------------- main


def start_server(settings: Settings, workdir: Path) -> Server:
    if settings.server in ("auto", "dhcpd"):
        try:
            return start_dhcpd(settings, workdir / "dhcpd")
        except dhcpd_lab.LabUnavailable as exc:
            if settings.server == "dhcpd":
                raise
            say(f"real dhcpd unavailable ({exc}); using the in-memory server")
    return start_fake(settings)


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
    parser.add_argument("--memory-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
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
    for row_dict in result["rows"]:
        if row_dict["api"] == "scan":
            say(scan_summary(row_dict, server.kind))
    mem = measured["memory"]
    say(
        f"memory: RSS {mem['rss_start'] / 2**20:.1f} MiB at start, "
        f"{mem['rss_at_10pct'] / 2**20:.1f} at 10 %, {mem['rss_end'] / 2**20:.1f} at the end "
        f"of {mem['lookups']:,} lookups (peak {mem['rss_peak'] / 2**20:.1f})"
    )
    say()
    say("targets, each judged from rows of this run:")
    say(
        format_table(
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
