"""``aiomapi exporter`` and ``aiomapi pools``: argparse sub-commands.

Each ``add_*_parser(subparsers, **parser_kwargs)`` adds one command to an argparse sub-parser
group and sets ``command`` to a coroutine function taking the parsed arguments and
returning the exit code (the convention of :mod:`aiomapi.cli`); ``parser_kwargs`` go to
``subparsers.add_parser``. Where the servers are comes from
:func:`aiomapi.failover.connect.add_pair_options` and ``--server`` (see
:mod:`aiomapi.monitor.targets`).

Exit codes:

* ``exporter``: 0 stopped by SIGTERM (or ``--once`` done); 64 the options do not locate a
  server, a file does not read, or ``--listen`` cannot be listened on.
* ``pools``: with ``--warning``/``--critical``, the worst row checked: 0 OK, 1 WARNING,
  2 CRITICAL; 3 UNKNOWN when there is nothing to judge (no dhcpd.conf, or neither the lease
  file nor a server gave a figure). Without thresholds: 0, or 3 as above.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from datetime import UTC, datetime
from typing import Any, Final

from aiomapi.config import ConfigError, load_config
from aiomapi.failover.connect import add_pair_options, parse_host_port
from aiomapi.leasefile import load_leases

from .collect import Monitor
from .layout import plan_of
from .report import (
    EXIT_UNKNOWN,
    ServerNote,
    build_report,
    kinds_of,
    render_csv,
    render_json,
    render_plugin,
    render_table,
)
from .targets import add_server_option, targets_from_options
from .usage import FileUsage, LiveCounts, LiveTotals, count_file, live_totals

__all__ = [
    "DEFAULT_LISTEN",
    "EXIT_USAGE",
    "add_exporter_parser",
    "add_pools_parser",
    "exporter_command",
    "pools_command",
]

#: Where the exporter listens by default: this machine only (metrics name addresses).
DEFAULT_LISTEN: Final = "127.0.0.1:9967"
#: The exporter cannot start with these options (aiomapi's usage exit code, docs/cli.md).
EXIT_USAGE: Final = 64


def _percent(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"not a percentage 0-100: {text}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0.0:
        raise argparse.ArgumentTypeError(f"not zero or more seconds: {text}")
    return value


def _kinds(text: str) -> tuple[str, ...]:
    try:
        return kinds_of(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# ---------------------------------------------------------------- exporter


def add_exporter_parser(
    subparsers: Any, name: str = "exporter", **parser_kwargs: Any
) -> argparse.ArgumentParser:
    """Add ``exporter``: a Prometheus exporter of failover state and pool use."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="Prometheus exporter: both peers' failover states, every pool's use",
        description="Serve Prometheus metrics on /metrics: for each server (both of a "
        "failover pair, or one) whether it answers and how fast, its failover states, the "
        "pair's verdict and dhcpd's pool counters; from dhcpd.conf the size of each pool, "
        "subnet and shared network; from the lease file (--leases) counts by binding state. "
        "A scrape reads the servers at most once per --reuse seconds, one collection at a "
        "time; what cannot be read is reported as such (aiomapi_scrape_success) and the "
        "exporter goes on. Metrics: docs/monitoring.md.",
        **parser_kwargs,
    )
    add_pair_options(parser)
    add_server_option(parser)
    group = parser.add_argument_group("exporter")
    group.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default=DEFAULT_LISTEN,
        help=f"where to serve /metrics (default {DEFAULT_LISTEN}; 0.0.0.0:PORT for every address)",
    )
    group.add_argument(
        "--leases",
        metavar="PATH",
        help="dhcpd's lease file (e.g. /var/lib/dhcp/dhcpd.leases), for counts by binding "
        "state per pool, subnet and shared network",
    )
    group.add_argument(
        "--reuse",
        type=_non_negative,
        default=5.0,
        metavar="SECONDS",
        help="serve a collection again for this long (default 5): dhcpd is read at most "
        "once per interval, however many scrapers ask",
    )
    group.add_argument(
        "--scrape-timeout",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="bound on each server's part of a collection (default 5); keep it below "
        "Prometheus' scrape_timeout",
    )
    group.add_argument(
        "--leases-interval",
        type=_non_negative,
        default=30.0,
        metavar="SECONDS",
        help="least time between two readings of the lease file (default 30): parsing a "
        "large file takes seconds",
    )
    group.add_argument(
        "--once",
        action="store_true",
        help="print the metrics once on standard output and exit",
    )
    parser.set_defaults(command=exporter_command)
    return parser


def monitor_from_options(args: argparse.Namespace) -> Monitor:
    """The :class:`Monitor` the exporter's options describe.

    Raises:
        ValueError, OSError: as :func:`~aiomapi.monitor.targets.targets_from_options`.
    """
    targets = targets_from_options(args)
    return Monitor(
        targets.servers,
        key=targets.key,
        peer=targets.peer,
        config=args.config,
        leases=args.leases,
        request_timeout=min(args.timeout, args.scrape_timeout),
        scrape_timeout=args.scrape_timeout,
        min_interval=args.reuse,
        leases_interval=args.leases_interval,
    )


async def exporter_command(args: argparse.Namespace) -> int:
    """Run the exporter until SIGTERM or cancellation (Ctrl-C)."""
    from prometheus_client import generate_latest

    from .http import MetricsServer, make_registry

    try:
        monitor = monitor_from_options(args)
        listen = parse_host_port(args.listen, None)
    except (ValueError, OSError) as exc:
        print(f"aiomapi: {exc}", file=sys.stderr)
        return EXIT_USAGE
    async with monitor:
        if args.once:
            await monitor.snapshot()
            sys.stdout.write(generate_latest(make_registry(monitor, process=False)).decode())
            return 0
        server = MetricsServer(monitor, listen.host, listen.port)
        try:
            await server.start()
        except OSError as exc:
            print(f"aiomapi: cannot listen on {args.listen}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        names = ", ".join(f"{s.label} {s.address}" for s in monitor.servers)
        print(
            f"aiomapi exporter: http://{listen.host}:{server.port}/metrics ({names})",
            file=sys.stderr,
        )
        try:
            await _until_terminated(server.serve_forever())
        finally:
            await server.close()
    return 0


async def _until_terminated(serving: Any) -> None:
    """Await ``serving`` until SIGTERM arrives (then cancel it and return)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals here
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.ensure_future(serving)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (task, waiter):
            t.cancel()
        await asyncio.gather(task, waiter, return_exceptions=True)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGTERM)


# ---------------------------------------------------------------- pools


def add_pools_parser(
    subparsers: Any, name: str = "pools", **parser_kwargs: Any
) -> argparse.ArgumentParser:
    """Add ``pools``: utilisation per range, pool, subnet and shared network."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="pool utilisation per range, pool, subnet and shared network (plugin exit codes)",
        description="Utilisation of every range, pool, subnet and shared network of a "
        "dhcpd.conf: from the lease file (--leases) by binding state, and from dhcpd's own "
        "pool counters (free and failover backup leases) of each server that answers, "
        "unless --no-live. With --warning/--critical (percent used) the exit code is a "
        "monitoring plugin's: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        **parser_kwargs,
    )
    add_pair_options(parser)
    add_server_option(parser)
    group = parser.add_argument_group("report")
    group.add_argument("--leases", metavar="PATH", help="dhcpd's lease file")
    group.add_argument(
        "--no-live",
        action="store_true",
        help="read no server: the configuration and the lease file only",
    )
    group.add_argument(
        "--format",
        choices=("table", "json", "csv", "plugin"),
        default=None,
        help="table (default), json (also --json), csv, or plugin: one status line with "
        "performance data",
    )
    group.add_argument(
        "--warning", type=_percent, metavar="PERCENT", help="warn at this percentage used"
    )
    group.add_argument(
        "--critical",
        type=_percent,
        metavar="PERCENT",
        help="critical at this percentage used",
    )
    group.add_argument(
        "--check",
        type=_kinds,
        default=("pool",),
        metavar="KINDS",
        help="what the thresholds apply to, comma-separated: range, pool, subnet, "
        "shared-network, all (default pool: what dhcpd allocates from)",
    )
    parser.set_defaults(command=pools_command)
    return parser


async def pools_command(args: argparse.Namespace) -> int:
    """Print the report; the exit code is the plugin code (see the module's docstring)."""
    fmt = args.format or ("json" if args.json else "table")
    if not args.config:
        print("aiomapi: pools needs --config (dhcpd.conf: its ranges and pools)", file=sys.stderr)
        return EXIT_UNKNOWN
    try:
        plan = plan_of(await asyncio.to_thread(load_config, args.config))
    except (OSError, ConfigError) as exc:
        print(f"aiomapi: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN

    usage: FileUsage | None = None
    leases_error: str | None = None
    if args.leases:
        try:
            db = await asyncio.to_thread(load_leases, args.leases)
        except (OSError, ValueError) as exc:
            leases_error = str(exc)
        else:
            usage = count_file(plan, db, datetime.now(UTC))

    notes: list[str] = []
    live: dict[str, LiveTotals] = {}
    servers: list[ServerNote] = []
    if not args.no_live:
        try:
            monitor = Monitor(
                targets_from_options(args).servers,
                key=args.loaded_key,
                config=args.config,
                request_timeout=args.timeout,
                scrape_timeout=2 * args.timeout,
                min_interval=0.0,
            )
        except (ValueError, OSError) as exc:
            notes.append(f"no live counters: {exc}")
        else:
            async with monitor:
                snap = await monitor.snapshot()
            for reading in snap.servers:
                error = reading.error or reading.pools_error
                servers.append(ServerNote(reading.label, reading.address, error is None, error))
                if error is not None:
                    continue
                counts: dict[str, LiveCounts | None] = {p.pool: p.counts for p in reading.pools}
                live[reading.label] = live_totals(plan, counts)
                notes += [
                    f"{reading.label}: pool {p.pool}: {p.error}" for p in reading.pools if p.error
                ]

    report = build_report(
        plan,
        usage,
        live,
        servers=servers,
        leasefile=args.leases,
        leasefile_error=leases_error,
        notes=notes,
    )
    judging = args.warning is not None or args.critical is not None or fmt == "plugin"
    check = report.check(args.warning, args.critical, args.check) if judging else None
    if fmt == "json":
        print(json.dumps(render_json(report, check), indent=2))
    elif fmt == "csv":
        sys.stdout.write(render_csv(report, check))
    elif fmt == "plugin":
        assert check is not None
        print(render_plugin(report, check))
    else:
        from rich.console import Console

        console = Console(width=None if sys.stdout.isatty() else 200, soft_wrap=False)
        if check is not None:
            print(render_plugin(report, check).split(" | ")[0])
        render_table(report, console, check)
    if check is not None:
        return check.code
    return 0 if report.has_figures else EXIT_UNKNOWN
