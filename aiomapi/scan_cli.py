"""``aiomapi leases scan``: every lease in some ranges, read live over OMAPI, filtered.

:func:`add_scan_parser` adds the command to an argparse sub-parser group (the ``aiomapi
leases`` group) and sets ``command`` to :func:`scan_command`, a coroutine function taking
the parsed arguments and returning the exit code (the convention of the ``aiomapi``
command); ``parser_kwargs`` go to ``subparsers.add_parser``. The server and key options,
and the order the key is found in, are every command's (:mod:`aiomapi.config.options`), so
the entry point's scrubbing of key material from messages applies.

Output (stdout): ``--format table`` (the default when stdout is a terminal), ``jsonl``
(the default otherwise; ``--json`` is short for it) or ``csv``; one lease per row in
address order, the columns of :data:`FIELDS`. A table of many rows is drawn in batches as
the leases come, since drawing it costs about 0.3 ms a row. Progress goes to stderr while
it is a terminal, and a summary line to stderr at the end (``--quiet``: neither).

Exit code: 0 when the scan completed, whether or not any lease matched (the summary says
how many did; an empty stdout means none). Errors are raised to the entry point, which maps
them to its exit codes (bad arguments, cannot connect, timed out, ...). The errors go to
stderr as text, never as JSON on stdout, so that stdout stays a clean stream of leases.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import aclosing
from datetime import datetime
from typing import Any, Final

from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from aiomapi import Client, Lease, LeaseState, TimeSentinel
from aiomapi.config import Config, load_config
from aiomapi.config.options import (
    add_address_file_options,
    add_key_options,
    add_rate_option,
    add_server_options,
    address_set,
    load_key,
    server_address,
)
from aiomapi.ranges import AddressSet

from .scan import DEFAULT_CONCURRENCY, ScanStats, scan_leases

__all__ = [
    "FIELDS",
    "add_scan_parser",
    "lease_record",
    "scan_command",
    "summary_line",
]

#: The columns of jsonl and csv output, in order: a stable contract. Times are ISO 8601 in
#: UTC, ``"never"``, or null (empty in csv) where unset; ``client_id`` is hex octets.
FIELDS: Final = (
    "ip",
    "state",
    "mac",
    "hostname",
    "client_id",
    "starts",
    "ends",
    "cltt",
    "tstp",
    "tsfp",
)

#: The table's columns: (heading, the record's field, width). Fixed widths, so that the
#: batches of a long table line up; longer values fold onto a second line.
_TABLE_COLUMNS: Final = (
    ("IP", "ip", 15),
    ("STATE", "state", 9),
    ("MAC", "mac", 17),
    ("HOSTNAME", "hostname", 24),
    ("ENDS (UTC)", "ends", 19),
)
#: A table batch is drawn when it has this many rows, or this many seconds after its first.
_BATCH_ROWS: Final = 500
_BATCH_SECONDS: Final = 0.25
#: The progress bar is redrawn at most this often (rich's own refresh thread is off: the
#: bar is drawn from the event loop, between lookups).
_PROGRESS_SECONDS: Final = 0.1

DEFAULT_CONNECTIONS: Final = 16
DEFAULT_TIMEOUT: Final = 10.0


# ---------------------------------------------------------------- the parser


def add_scan_parser(
    subparsers: Any, name: str = "scan", **parser_kwargs: Any
) -> argparse.ArgumentParser:
    """Add ``scan`` to ``subparsers`` (from ``add_subparsers()``); returns its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="every lease in some ranges, looked up live, filtered",
        description="Look every address of the ranges up on dhcpd (OMAPI cannot list "
        "leases, so each address costs one lookup) and print the leases that pass the "
        "filters, in address order. Addresses in no pool are skipped and counted. Exit "
        "code 0 when the scan completed, matches or not.",
        **parser_kwargs,
    )
    parser.add_argument(
        "specs",
        nargs="*",
        metavar="RANGE",
        help="CIDR block (10.0.0.0/24), range (10.0.0.5-10.0.0.99) or address; without "
        "any (and without --ips-file/--leases-file): the ranges of --config",
    )
    add_address_file_options(parser)

    server = parser.add_argument_group(
        "the server",
        "--config names a dhcpd.conf: its omapi-port, its omapi-key and (without RANGE) "
        "its ranges; the server is then 127.0.0.1 unless --server says otherwise.",
    )
    add_server_options(server, config_help="dhcpd.conf (see above)")
    add_key_options(server)
    server.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per lookup (default {DEFAULT_TIMEOUT:g})",
    )
    server.add_argument(
        "--connections",
        type=_positive_int,
        default=DEFAULT_CONNECTIONS,
        help=f"connections to dhcpd (default {DEFAULT_CONNECTIONS}; lease lookups go one at "
        "a time on each)",
    )
    server.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"lookups pending at once (default {DEFAULT_CONCURRENCY})",
    )
    add_rate_option(server)

    filters = parser.add_argument_group(
        "filters",
        "A lease is printed if it passes every filter given; a filter given "
        "several times (or with commas) passes any of its values.",
    )
    filters.add_argument(
        "--state",
        dest="states",
        action="append",
        metavar="STATE[,STATE]",
        help="binding state: " + ", ".join(s.dhcpd_name for s in LeaseState),
    )
    filters.add_argument(
        "--mac-prefix",
        dest="mac_prefixes",
        action="append",
        metavar="PREFIX",
        help="hardware address prefix, whole octets: 00:11:22",
    )
    filters.add_argument(
        "--hostname",
        dest="hostnames",
        action="append",
        metavar="PATTERN",
        help="client hostname, a shell pattern (printer-*), any case; dhcpd keeps a "
        "lease's client hostname only while it is active",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--format",
        choices=["table", "jsonl", "csv"],
        help="table (default when stdout is a terminal), jsonl (default otherwise) or csv",
    )
    output.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="jsonl",
        help="JSON Lines: same as --format jsonl",
    )
    output.add_argument(
        "--quiet", action="store_true", help="no progress bar and no summary on stderr"
    )
    parser.set_defaults(command=scan_command)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


# ---------------------------------------------------------------- the command


async def scan_command(args: argparse.Namespace) -> int:
    """Run ``scan`` for parsed ``args``; see the module doc. Returns 0.

    Raises:
        ValueError: no addresses, an argument or filter that does not read.
        OSError: a file cannot be read.
        OmapiError: the server cannot be reached, refuses the key, a lookup times out, ...
    """
    config = load_config(args.config) if args.config else None
    addresses = _addresses(args, config)
    client = _client(args, config)
    stats = ScanStats()
    progress = _ProgressBar(len(addresses), enabled=not args.quiet)
    out_format: str = args.format or ("table" if sys.stdout.isatty() else "jsonl")
    sink = _sink(out_format, progress.console if progress.shares_stdout() else None)

    def looked_up(stats: ScanStats) -> None:
        progress.update(stats)
        sink.tick()

    leases = scan_leases(  # checks the filters before anything is sent
        client,
        addresses,
        states=args.states,
        mac_prefix=args.mac_prefixes,
        hostname=args.hostnames,
        rate=args.rate,
        concurrency=args.concurrency,
        stats=stats,
        progress=looked_up,
    )
    try:
        async with client, aclosing(leases):
            with progress:
                async for lease in leases:
                    sink.add(lease)
            sink.close()
    finally:
        if not args.quiet and (stats.finished is not None or stats.looked_up):
            print(summary_line(stats, addresses), file=sys.stderr)
    return 0


def _addresses(args: argparse.Namespace, config: Config | None) -> AddressSet:
    """The addresses of the options (:func:`aiomapi.config.options.address_set`)."""
    return address_set(
        args.specs,
        args.ips_file,
        args.leases_file,
        config,
        config_name=str(args.config),
        give="ranges (10.0.0.0/24, 10.0.0.5-10.0.0.99)",
    )


def _client(args: argparse.Namespace, config: Config | None) -> Client:
    """The client the options name: explicit options first, then --config, then defaults;
    the key in the order every command shares (:mod:`aiomapi.config.options`)."""
    key = load_key(args, config)
    host, port = server_address(args, config)
    return Client(host, port, key=key, timeout=args.timeout, connections=args.connections)


def summary_line(stats: ScanStats, addresses: AddressSet | None = None) -> str:
    """The line written to stderr at the end: counts, time and rate."""
    seconds = stats.elapsed
    done = f"{stats.looked_up:,}"
    if stats.addresses is not None and stats.looked_up != stats.addresses:
        done += f" of {stats.addresses:,}"
    states = ", ".join(f"{name} {n:,}" for name, n in stats.states.most_common())
    line = (
        f"scanned {done} addresses in {seconds:.1f} s ({stats.rate:,.0f}/s): "
        f"{stats.leases:,} leases"
        + (f" ({states})" if states else "")
        + f", {stats.not_found:,} not in any pool; {stats.matched:,} matched"
    )
    if addresses is not None and len(addresses.intervals) <= 3:
        line += f" [{addresses}]"
    return line


# ---------------------------------------------------------------- records


def _time(value: datetime | TimeSentinel) -> str | None:
    if isinstance(value, TimeSentinel):
        return None if value is TimeSentinel.UNSET else value.value
    return value.isoformat()


def lease_record(lease: Lease) -> dict[str, str | None]:
    """A lease as the jsonl/csv record: the keys of :data:`FIELDS`, strings or ``None``."""
    state = lease.state
    return {
        "ip": str(lease.ip_address),
        "state": state.dhcpd_name if isinstance(state, LeaseState) else str(state),
        "mac": None if lease.hardware_address is None else str(lease.hardware_address),
        "hostname": lease.client_hostname,
        "client_id": (
            None if lease.dhcp_client_identifier is None else lease.dhcp_client_identifier.hex(":")
        ),
        "starts": _time(lease.starts),
        "ends": _time(lease.ends),
        "cltt": _time(lease.cltt),
        "tstp": _time(lease.tstp),
        "tsfp": _time(lease.tsfp),
    }


# ---------------------------------------------------------------- progress


class _ProgressBar:
    """rich's progress bar on stderr, drawn only while stderr is a terminal.

    Used as a context manager around the scan; :meth:`update` is the scan's progress
    callback and redraws at most every :data:`_PROGRESS_SECONDS`. The bar disappears when
    the scan ends (the summary line takes its place).
    """

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.console = Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self._last = 0.0
        self._bar = Progress(
            TextColumn("scan"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
            TextColumn("{task.fields[rate]}/s  {task.fields[counts]}"),
            TimeElapsedColumn(),
            console=self.console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
            disable=not self.enabled,
        )
        self._task = self._bar.add_task("scan", total=total, rate="0", counts="")

    def shares_stdout(self) -> bool:
        """Whether stdout is the terminal the bar is drawn on (output must then go
        through the bar's console, which draws it above the bar)."""
        if not self.enabled or not sys.stdout.isatty():
            return False
        try:
            return os.ttyname(sys.stdout.fileno()) == os.ttyname(sys.stderr.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            return False

    def __enter__(self) -> _ProgressBar:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def update(self, stats: ScanStats) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < _PROGRESS_SECONDS:
            return
        self._last = now
        self._bar.update(
            self._task,
            completed=stats.looked_up,
            rate=f"{stats.rate:,.0f}",
            counts=f"leases {stats.leases:,}  matched {stats.matched:,}",
        )
        self._bar.refresh()


# ---------------------------------------------------------------- output


class _Sink:
    """Where the leases go: add them one by one, close at the end.

    Leases are written in batches (:data:`_BATCH_ROWS`); :meth:`tick`, called after every
    lookup, writes a batch that has waited :data:`_BATCH_SECONDS`, so that a lease found
    just before a long stretch of addresses without matches shows at once.
    """

    first = 0.0  # when the batch being collected got its first lease; 0: empty

    def add(self, lease: Lease) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Write the batch collected so far."""

    def tick(self) -> None:
        if self.first and time.monotonic() - self.first > _BATCH_SECONDS:
            self.flush()

    def close(self) -> None:
        """Write what is left."""


class _LineSink(_Sink):
    """jsonl or csv, one line a lease, written in batches.

    To stdout, or through ``console`` when stdout is the terminal of the progress bar
    (rich then draws the lines above the bar).
    """

    def __init__(
        self, render: Callable[[Lease], str], console: Console | None, header: str = ""
    ) -> None:
        self.render = render
        self.console = console
        # Written with the first batch (or at the end): nothing on stdout before the
        # server has answered, a header even when no lease matched.
        self.lines: list[str] = [header] if header else []
        self.first = 0.0

    def write(self, text: str) -> None:
        if self.console is not None:
            self.console.out(text, end="", highlight=False)
        else:
            sys.stdout.write(text)

    def add(self, lease: Lease) -> None:
        if not self.first:
            self.first = time.monotonic()
        self.lines.append(self.render(lease))
        if len(self.lines) >= _BATCH_ROWS or time.monotonic() - self.first > _BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            self.write("".join(self.lines))
            self.lines.clear()
        self.first = 0.0

    def close(self) -> None:
        self.flush()
        if self.console is None:
            sys.stdout.flush()


def _jsonl(lease: Lease) -> str:
    return json.dumps(lease_record(lease)) + "\n"


class _CsvRender:
    """One csv line per lease (the header is the first line written)."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\n")

    def header(self) -> str:
        return self.line(list(FIELDS))

    def line(self, row: list[str]) -> str:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerow(row)
        return self.buffer.getvalue()

    def __call__(self, lease: Lease) -> str:
        record = lease_record(lease)
        return self.line([record[name] or "" for name in FIELDS])


class _TableSink(_Sink):
    """A rich table, drawn in batches with fixed column widths and the heading once."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.rows: list[list[Text]] = []
        self.first = 0.0
        self.drawn = False

    def add(self, lease: Lease) -> None:
        if not self.rows:
            self.first = time.monotonic()
        record = lease_record(lease)
        self.rows.append([Text(_cell(record[name], name)) for _, name, _ in _TABLE_COLUMNS])
        if len(self.rows) >= _BATCH_ROWS or time.monotonic() - self.first > _BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        table = Table(
            box=box.SIMPLE_HEAD,
            show_header=not self.drawn,
            show_edge=False,
            pad_edge=False,
        )
        for heading, _, width in _TABLE_COLUMNS:
            table.add_column(heading, width=width, overflow="fold")
        for row in self.rows:
            table.add_row(*row)
        self.console.print(table, highlight=False)
        self.rows.clear()
        self.drawn = True
        self.first = 0.0

    def close(self) -> None:
        self.flush()


def _cell(value: str | None, name: str) -> str:
    if value is None:
        return ""
    if name == "ends" and value != "never":
        return value[:19].replace("T", " ")  # UTC, seconds: the offset is in the heading
    return value


def _sink(out_format: str, console: Console | None) -> _Sink:
    """The sink for ``out_format``; ``console``: the progress bar's, when it shares stdout."""
    if out_format == "jsonl":
        return _LineSink(_jsonl, console)
    if out_format == "csv":
        render = _CsvRender()
        return _LineSink(render, console, render.header())
    if console is None:
        # Not a terminal: as wide as the table (rich would squeeze it into 80 columns).
        console = Console(width=None if sys.stdout.isatty() else 200)
    return _TableSink(console)
