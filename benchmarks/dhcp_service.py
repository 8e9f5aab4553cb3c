"""dhcpd's DHCP service under OMAPI load: DORA latency and drops, measured with perfdhcp.

Run ``python -m benchmarks.dhcp_service`` as root, where the dhcpd lab can run and
``perfdhcp`` is installed (Debian's ``kea-admin``). It starts the real ISC dhcpd with the
benchmark's 50,000 leases in a network namespace, with the lab's DHCP client namespace on the
far end of dhcpd's DHCP link (:mod:`aiomapi.testing.dhcpd_lab.dhcp_load`), looks every lease
up once (dhcpd allocates a handle on a lease's first OPEN), and then measures rows: in each,
perfdhcp runs ``--dhcp-rate`` DORA exchanges a second for ``--seconds`` while aiomapi looks
leases up over OMAPI

* not at all (the baseline; measured first and again last, to show drift),
* as fast as it can (``omapi.leases.get_many(ips=..., rate=None)`` over the 50,000 lease
  addresses, round and round),
* at bounded rates (``get_many(ips=..., rate=N)`` for each N of ``--omapi-rates``),

each with the OMAPI client on the same CPUs as dhcpd and perfdhcp ("shared": a client on the
DHCP server itself) and on a CPU of its own ("apart": a client on another machine).

A row reports what perfdhcp saw (exchanges sent, drops, DISCOVER-OFFER and REQUEST-ACK
latency: perfdhcp's average, and the median and 99th percentile of every exchange's time),
the OMAPI lookups a second achieved while perfdhcp ran and how many failed, dhcpd's CPU
(:mod:`aiomapi.bench.process`: one core = 100 %), and how many cores the rest of the machine
used meanwhile (other processes disturb a row on a small machine; ``--repeat`` repeats every
row). Each row's perfdhcp simulates clients of its own (its own hardware-address base), so
every row sees the same mix of first-time clients (a new lease written to disk) and known
ones (dhcpd answers from the lease it has).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiomapi
from aiomapi.bench import process
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, Exchange, LoadReport, dhcp_load

#: OMAPI ports of the dhcpd started here count up from this, past benchmarks.run's 27000-27999
#: (AIOMAPI_LAB_FIRST_PORT moves them; the lab's namespace names follow the port).
FIRST_PORT = int(os.environ.get("AIOMAPI_LAB_FIRST_PORT", "28100"))
LEASES = 50_000
#: DORA exchanges a second: a busy site's morning, well below dhcpd's own ceiling.
DHCP_RATE = 200
SECONDS = 10.0
OMAPI_RATES = (1_000, 2_000, 5_000, 10_000)
#: Simulated DHCP clients per row: a row of 200/s for 10 s meets each one four times, the
#: first time as a new client.
CLIENTS = 500
#: The OMAPI client, as the lookup benchmark's best typed bulk settings (benchmarks.run).
CONNECTIONS = 16
CONCURRENCY = 256
#: A row starts once the machine (dhcpd's DHCP work included) uses at most this many cores, or
#: after --quiet-wait seconds: other processes on a small machine disturb the figures.
QUIET_CORES = 0.3
QUIET_WINDOW = 0.5
#: OMAPI load starts this long before perfdhcp, so that perfdhcp meets it at full strength.
RAMP = 1.0


def say(text: str = "") -> None:
    print(text, flush=True)


@dataclass(slots=True)
class Row:
    """One measured row: perfdhcp's report and what OMAPI and the machine did meanwhile."""

    name: str
    placement: str
    omapi_rate: int | None  # lookups/s asked for; None: no limit (or no OMAPI load)
    lookups: int  # OMAPI lookups that completed while perfdhcp ran
    lookup_errors: int
    seconds: float  # wall time perfdhcp ran
    dhcpd_cpu_seconds: float
    client_cpu_seconds: float  # this process: the OMAPI client
    other_cpu_seconds: float | None  # the rest of the machine (not dhcpd, not this process)
    dhcp: LoadReport

    @property
    def lookup_rate(self) -> float:
        return self.lookups / self.seconds if self.seconds > 0 else 0.0


# ---------------------------------------------------------------- OMAPI load


class Counter:
    """Lookups done and failed, read by the row at perfdhcp's start and end."""

    def __init__(self) -> None:
        self.done = 0
        self.errors = 0
        self.error_kinds: dict[str, int] = {}

    def add(self, result: object) -> None:
        self.done += 1
        if isinstance(result, aiomapi.OmapiError):
            self.errors += 1
            kind = type(result).__name__
            self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


async def full_speed(
    client: aiomapi.Client, ips: Sequence[str], counter: Counter, count: int | None = None
) -> None:
    """``get_many`` over the lease addresses, round and round, until cancelled (or ``count``
    lookups are done)."""
    source = itertools.islice(itertools.cycle(ips), count)
    async for _ip, result in client.leases.get_many(ips=source, concurrency=CONCURRENCY, rate=None):
        counter.add(result)


async def limited(client: aiomapi.Client, ips: Sequence[str], rate: int, counter: Counter) -> None:
    """``get_many(rate=rate)`` over the lease addresses, round and round, until cancelled."""
    async for _ip, result in client.leases.get_many(
        ips=itertools.cycle(ips), concurrency=CONCURRENCY, rate=rate
    ):
        counter.add(result)


# ---------------------------------------------------------------- a row


async def measure(
    inst: DhcpdInstance,
    client: aiomapi.Client,
    ips: Sequence[str],
    *,
    name: str,
    omapi: str | int,  # "off", "full" or lookups/s
    args: argparse.Namespace,
    placement: str,
    mac_base: str,
    cpus: set[int] | None,
) -> Row:
    """One row: OMAPI load as ``omapi`` says, and perfdhcp meanwhile."""
    await quiet(args.quiet_wait)
    counter = Counter()
    load: asyncio.Task[None] | None = None
    if omapi == "full":
        load = asyncio.create_task(full_speed(client, ips, counter))
    elif isinstance(omapi, int):
        load = asyncio.create_task(limited(client, ips, omapi, counter))
    try:
        if load is not None:
            await asyncio.sleep(RAMP)
            if load.done():
                load.result()  # the load failed: raise its error
        done0, errors0 = counter.done, counter.errors
        machine0, mine0 = process.machine_busy_seconds(), _own_cpu()
        with process.measure_process_cpu(inst.pid) as dhcpd:
            t0 = time.perf_counter()
            report = await dhcp_load.perfdhcp(
                inst,
                rate=args.dhcp_rate,
                seconds=args.seconds,
                clients=args.clients,
                mac_base=mac_base,
                cpus=cpus,
            )
            seconds = time.perf_counter() - t0
        machine1, mine1 = process.machine_busy_seconds(), _own_cpu()
        done, errors = counter.done - done0, counter.errors - errors0
    finally:
        if load is not None:
            load.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await load
    other = None
    if machine0 is not None and machine1 is not None:
        other = max(0.0, machine1 - machine0 - dhcpd.cpu_seconds - (mine1 - mine0))
    # perfdhcp's own CPU is part of "other": it is measured, not a disturbance, but its
    # share is small at these rates (a few percent of a core).
    return Row(
        name=name,
        placement=placement,
        omapi_rate=omapi if isinstance(omapi, int) else None,
        lookups=done,
        lookup_errors=errors,
        seconds=seconds,
        dhcpd_cpu_seconds=dhcpd.cpu_seconds,
        client_cpu_seconds=mine1 - mine0,
        other_cpu_seconds=other,
        dhcp=report,
    )


async def quiet(max_wait: float) -> None:
    """Wait (up to ``max_wait`` s) until the machine is nearly idle (see QUIET_CORES)."""
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        m0 = process.machine_busy_seconds()
        await asyncio.sleep(QUIET_WINDOW)
        m1 = process.machine_busy_seconds()
        if m0 is None or m1 is None or (m1 - m0) / QUIET_WINDOW <= QUIET_CORES:
            return


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


# ---------------------------------------------------------------- the report


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _latency(ex: Exchange | None) -> str:
    if ex is None:
        return "–"
    return f"{_ms(ex.avg_ms)} / {_ms(ex.p50_ms)} / {_ms(ex.p99_ms)}"


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    head = (
        "| client placed | OMAPI load | lookups/s | lookup errors | dhcpd CPU | client CPU "
        "| DORA sent "
        "| DORA done | DO drops | RA drops | DO avg / p50 / p99 ms | RA avg / p50 / p99 ms "
        "| rest of machine |"
    )
    lines = [head, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        do, ra = r.dhcp.discover_offer, r.dhcp.request_ack
        other = "–" if r.other_cpu_seconds is None else f"{r.other_cpu_seconds / r.seconds:.2f}"
        lines.append(
            f"| {r.placement} | {r.name} | {r.lookup_rate:,.0f} | {r.lookup_errors} "
            f"| {r.dhcpd_cpu_seconds / r.seconds:.0%} | {r.client_cpu_seconds / r.seconds:.0%} "
            f"| {do.sent:,} | {r.dhcp.completed:,} "
            f"| {do.drops_percent:.1f} % | {ra.drops_percent if ra else 0.0:.1f} % "
            f"| {_latency(do)} | {_latency(ra)} | {other} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- the run


PLACEMENTS = {
    "shared": "dhcpd, perfdhcp and the OMAPI client share every CPU (the kernel places them)",
    "apart": "dhcpd and perfdhcp on CPU 0, the OMAPI client on the others",
}


def plan(args: argparse.Namespace) -> list[tuple[str, str, str | int]]:
    """The rows in order, per placement: baseline, full speed, each bounded rate, baseline."""
    rows: list[tuple[str, str | int]] = [("none", "off"), ("get_many, no limit", "full")]
    rows += [(f"get_many at {r:,}/s", r) for r in args.omapi_rates]
    rows.append(("none (again)", "off"))
    return [(p, *row) for p in args.placements for row in rows for _ in range(args.repeat)]


@contextlib.contextmanager
def placed(inst: DhcpdInstance, placement: str) -> Iterator[set[int] | None]:
    """Place dhcpd and this process as ``placement`` says; yield the CPUs for perfdhcp.

    "shared" is an OMAPI client on dhcpd's own machine (an exporter, a cron job): all three
    compete for the same cores. "apart" stands for a client on another machine: a client
    keeping a core busy must not delay dhcpd's or perfdhcp's turn (perfdhcp's timestamps
    would count that wait as dhcpd's latency).
    """
    cpus = sorted(os.sched_getaffinity(0))
    mine = set(cpus)
    try:
        if placement == "apart" and len(cpus) >= 2:
            os.sched_setaffinity(inst.pid, {cpus[0]})
            os.sched_setaffinity(0, set(cpus[1:]))
            yield {cpus[0]}
        else:
            os.sched_setaffinity(inst.pid, mine)
            yield None
    finally:
        os.sched_setaffinity(0, mine)


async def run(inst: DhcpdInstance, args: argparse.Namespace) -> list[Row]:
    key = inst.key
    ips = [dhcpd_lab.lease_ip(i) for i in range(inst.leases)]
    rows = []
    async with aiomapi.Client(inst.host, inst.port, key=key, connections=CONNECTIONS) as client:
        say(f"pre-warm: every one of the {len(ips):,} leases looked up once ...")
        counter = Counter()
        await full_speed(client, ips, counter, count=len(ips))
        if counter.errors:
            raise RuntimeError(f"pre-warm lookups failed: {counter.error_kinds}")
        for i, (placement, name, omapi) in enumerate(plan(args)):
            say(f"row {i + 1}: {placement}, OMAPI load {name} ...")
            with placed(inst, placement) as cpus:
                row = await measure(
                    inst,
                    client,
                    ips,
                    name=name,
                    omapi=omapi,
                    args=args,
                    placement=placement,
                    mac_base=_mac_base(i),
                    cpus=cpus,
                )
            do = row.dhcp.discover_offer
            busy = row.dhcpd_cpu_seconds / row.seconds
            say(
                f"  {row.lookup_rate:,.0f} lookups/s, dhcpd {busy:.0%}, DO avg "
                f"{_ms(do.avg_ms)} ms p99 {_ms(do.p99_ms)} ms, drops {do.drops}"
            )
            rows.append(row)
    return rows


def _mac_base(row: int) -> str:
    """Row ``row``'s simulated clients: 02:0c:RR:00:00:00 upwards (locally administered)."""
    return f"02:0c:{row % 256:02x}:00:00:00"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dhcp_service", description=__doc__)
    parser.add_argument("--leases", type=int, default=LEASES)
    parser.add_argument("--seconds", type=float, default=SECONDS, help="perfdhcp run per row")
    parser.add_argument("--dhcp-rate", type=int, default=DHCP_RATE, help="DORA exchanges/s")
    parser.add_argument(
        "--clients", type=int, help=f"DHCP clients per row ({CLIENTS}, fewer for many rows)"
    )
    parser.add_argument(
        "--omapi-rates",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=list(OMAPI_RATES),
        help="bounded OMAPI rates, comma-separated lookups/s",
    )
    parser.add_argument(
        "--placement",
        choices=[*PLACEMENTS, "both"],
        default="both",
        help="where the OMAPI client runs beside dhcpd (see PLACEMENTS)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=10.0,
        help="seconds to wait for a quiet machine before each row (0: do not wait)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of every row")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    args.placements = list(PLACEMENTS) if args.placement == "both" else [args.placement]
    rows_needed = len(plan(args))
    if args.clients is None:
        args.clients = min(CLIENTS, dhcpd_lab.CLIENT_POOL_SIZE // rows_needed)
    if rows_needed * args.clients > dhcpd_lab.CLIENT_POOL_SIZE:
        parser.error(
            f"{rows_needed} rows of {args.clients} clients exceed the lab's client pool "
            f"({dhcpd_lab.CLIENT_POOL_SIZE}): fewer --clients or rows"
        )
    port = next(p for p in range(FIRST_PORT, FIRST_PORT + 100) if not dhcpd_lab.port_busy(p))
    with tempfile.TemporaryDirectory(prefix="aiomapi-dhcp-service-") as tmp:
        say(f"starting dhcpd ({args.leases:,} leases) with a DHCP client namespace, port {port}")
        inst = dhcpd_lab.start_single(Path(tmp), port, args.leases, dhcp_client=True)
        try:
            rows = asyncio.run(run(inst, args))
        finally:
            dhcpd_lab.stop(inst)
    say()
    say(
        f"perfdhcp: {args.dhcp_rate} DORA/s for {args.seconds:g} s per row, {args.clients} "
        f"clients per row; OMAPI: aiomapi {aiomapi.__version__}, {CONNECTIONS} connections, "
        f"get_many concurrency {CONCURRENCY}; {os.cpu_count()} CPUs"
    )
    for placement in args.placements:
        say(f"{placement}: {PLACEMENTS[placement]}")
    say(table(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
