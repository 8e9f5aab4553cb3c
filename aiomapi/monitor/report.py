"""The ``aiomapi pools`` report: utilisation per range, pool, subnet and shared network.

Theory of operation
-------------------
:func:`build_report` joins the address plan of dhcpd.conf, the lease file's counts and
each server's live pool counters (any of the three may be missing, the plan excepted)
into :class:`Row` s, one per range, pool, subnet and shared network and one for
everything. A row's *used percentage* is the live figure of the first server that
answered, else the lease file's (see :mod:`aiomapi.monitor.usage` for what each counts).
Ranges have no live figure: dhcpd counts per pool.

:meth:`PoolsReport.check` applies ``--warning``/``--critical`` thresholds (percent used)
to the rows of the kinds asked for (pools by default: the unit dhcpd allocates from), and
gives the monitoring-plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (no row to
judge). The renderers write a rich table, JSON, CSV or a one-line plugin status with
performance data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from rich.console import Console
from rich.table import Table

from .layout import Plan
from .usage import KINDS, STATES, FileUsage, Kind, LiveCounts, LiveTotals, StateCounts

__all__ = [
    "EXIT_CRITICAL",
    "EXIT_OK",
    "EXIT_UNKNOWN",
    "EXIT_WARNING",
    "Check",
    "PoolsReport",
    "Row",
    "ServerNote",
    "build_report",
    "render_csv",
    "render_json",
    "render_plugin",
    "render_table",
]

EXIT_OK: Final = 0
EXIT_WARNING: Final = 1
EXIT_CRITICAL: Final = 2
EXIT_UNKNOWN: Final = 3
_STATUS: Final = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


@dataclass(frozen=True, slots=True)
class Row:
    """One range, pool, subnet, shared network, or everything (kind ``all``, name ``""``).

    Attributes:
        kind, name: what it is.
        subnet, shared_network: where it is (``""`` where that does not apply).
        addresses: addresses in its ranges, by dhcpd.conf.
        file: the lease file's counts, or ``None``.
        live: each answering server's counters, by server label.
    """

    kind: Kind
    name: str
    subnet: str
    shared_network: str
    addresses: int
    file: StateCounts | None = None
    live: Mapping[str, LiveCounts] = field(default_factory=dict)

    @property
    def used_percent(self) -> float | None:
        """The first server's live figure, else the lease file's."""
        source = self.source
        if source is None:
            return None
        if source == "leasefile":
            assert self.file is not None
            return self.file.used_percent
        return self.live[source].used_percent

    @property
    def source(self) -> str | None:
        """Where :attr:`used_percent` comes from: a server label, ``leasefile`` or ``None``."""
        for label, counts in self.live.items():
            if counts.used_percent is not None:
                return label
        if self.file is not None and self.file.used_percent is not None:
            return "leasefile"
        return None

    @property
    def label(self) -> str:
        return "all" if self.kind == "all" else f"{self.kind} {self.name}"

    def to_json(self) -> dict[str, object]:
        used = self.used_percent
        return {
            "kind": self.kind,
            "name": self.name,
            "subnet": self.subnet,
            "shared_network": self.shared_network,
            "addresses": self.addresses,
            "used_percent": None if used is None else round(used, 2),
            "source": self.source,
            "leasefile": None if self.file is None else self.file.to_json(),
            "live": {label: c.to_json() for label, c in self.live.items()},
        }


@dataclass(frozen=True, slots=True)
class ServerNote:
    """A server asked for live counters, and what came of it."""

    label: str
    address: str
    answered: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of the thresholds.

    Attributes:
        code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
        judged: rows judged, with their status code.
        warning, critical: the thresholds (percent used).
    """

    code: int
    judged: tuple[tuple[Row, int], ...]
    warning: float | None
    critical: float | None

    @property
    def status(self) -> str:
        return _STATUS[self.code]

    def row_status(self, row: Row) -> str | None:
        for judged, code in self.judged:
            if judged is row:
                return _STATUS[code]
        return None


@dataclass(frozen=True, slots=True)
class PoolsReport:
    """Everything ``aiomapi pools`` shows.

    Attributes:
        rows: ranges, pools, subnets, shared networks, then everything.
        servers: the servers asked for live counters.
        leasefile: the lease file read, or ``None``.
        leasefile_error: why it could not be read.
        outside: leases of the file outside every range.
        notes: things to know, in plain words.
    """

    rows: tuple[Row, ...]
    servers: tuple[ServerNote, ...] = ()
    leasefile: str | None = None
    leasefile_error: str | None = None
    outside: int = 0
    notes: tuple[str, ...] = ()

    def of_kind(self, kind: Kind) -> list[Row]:
        return [r for r in self.rows if r.kind == kind]

    @property
    def has_figures(self) -> bool:
        return any(r.source is not None for r in self.rows)

    def check(
        self,
        warning: float | None = None,
        critical: float | None = None,
        kinds: Iterable[Kind] = ("pool",),
    ) -> Check:
        """Judge the rows of ``kinds`` against the thresholds (percent used, a row at or
        above a threshold reaches it). Without thresholds every figure is OK. UNKNOWN when
        no row of those kinds has a figure."""
        wanted = frozenset(kinds)
        judged: list[tuple[Row, int]] = []
        for row in self.rows:
            used = row.used_percent
            if row.kind not in wanted or used is None:
                continue
            code = EXIT_OK
            if critical is not None and used >= critical:
                code = EXIT_CRITICAL
            elif warning is not None and used >= warning:
                code = EXIT_WARNING
            judged.append((row, code))
        code = max((c for _r, c in judged), default=EXIT_UNKNOWN)
        return Check(code, tuple(judged), warning, critical)


def build_report(
    plan: Plan,
    file: FileUsage | None = None,
    live: Mapping[str, LiveTotals] | None = None,
    *,
    servers: Sequence[ServerNote] = (),
    leasefile: str | None = None,
    leasefile_error: str | None = None,
    notes: Sequence[str] = (),
) -> PoolsReport:
    """Join the plan, the lease file's counts and the servers' counters into rows.

    Args:
        plan: the address plan.
        file: the lease file's counts, if it was read.
        live: each answering server's counters (summed up the plan), by label, in the order
            to prefer them.
        servers, leasefile, leasefile_error, notes: carried into the report.
    """
    live = live or {}
    extra = list(notes)

    def figures(kind: Kind, name: str) -> tuple[StateCounts | None, dict[str, LiveCounts]]:
        counts = None if file is None else file.get(kind, name)
        by_server = {
            label: got for label, totals in live.items() if (got := totals.get(kind, name))
        }
        return counts, by_server

    rows: list[Row] = []
    for r in plan.ranges:
        counts, _ = figures("range", r.name)
        rows.append(Row("range", r.name, r.subnet, r.shared_network, r.addresses, counts))
    for p in plan.pools:
        counts, by_server = figures("pool", p.name)
        rows.append(Row("pool", p.name, p.subnet, p.shared_network, p.addresses, counts, by_server))
        for label, got in by_server.items():
            if got.leases != p.addresses:
                extra.append(
                    f"pool {p.name}: the {label} has {got.leases} leases in it, dhcpd.conf "
                    f"{p.addresses} addresses (has the configuration changed since dhcpd "
                    "started?)"
                )
    for s in plan.subnets:
        counts, by_server = figures("subnet", s.name)
        rows.append(Row("subnet", s.name, s.name, s.shared_network, s.addresses, counts, by_server))
    for n in plan.shared_networks:
        counts, by_server = figures("shared-network", n.name)
        rows.append(Row("shared-network", n.name, "", n.name, n.addresses, counts, by_server))
    counts, by_server = figures("all", "")
    rows.append(Row("all", "", "", "", plan.addresses, counts, by_server))
    outside = 0 if file is None else file.outside
    if outside:
        extra.append(f"{outside} leases of the lease file lie outside every range of dhcpd.conf")
    return PoolsReport(
        tuple(rows), tuple(servers), leasefile, leasefile_error, outside, tuple(extra)
    )


# ---------------------------------------------------------------- renderers


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def render_table(report: PoolsReport, console: Console, check: Check | None = None) -> None:
    """Print the report as a table (and the servers, the lease file and notes under it)."""
    # The first server that answered; the others' figures are in the JSON and CSV forms.
    answering = [s.label for s in report.servers if s.answered][:1]
    table = Table(show_lines=False, header_style="bold")
    table.add_column("kind", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("shared network", no_wrap=True)
    table.add_column("size", justify="right")
    if report.leasefile is not None:
        for name in ("active", "free", "backup", "other", "used %"):
            table.add_column(f"file {name}", justify="right")
    for label in answering:
        for name in ("free", "backup", "active", "used %"):
            table.add_column(f"{label} {name}", justify="right")
    if check is not None:
        table.add_column("status")
    for row in report.rows:
        cells = [row.kind, row.name or "(everything)", row.shared_network, str(row.addresses)]
        if report.leasefile is not None:
            f = row.file
            if f is None:
                cells += [""] * 5
            else:
                other = f.used - f.states.get("active", 0)
                cells += [
                    str(f.states.get("active", 0)),
                    str(f.free),
                    str(f.backup),
                    str(other),
                    _pct(f.used_percent),
                ]
        for label in answering:
            c = row.live.get(label)
            if c is None:
                cells += [""] * 4
            else:
                active = "" if c.active is None else str(c.active)
                cells += [str(c.free), str(c.backup), active, _pct(c.used_percent)]
        if check is not None:
            cells.append(check.row_status(row) or "")
        table.add_row(*cells)
    console.print(table)
    for s in report.servers:
        state = "answered" if s.answered else f"not read: {s.error}"
        console.print(f"{s.label} {s.address}: {state}", highlight=False)
    if report.leasefile is not None:
        state = report.leasefile_error or "read"
        console.print(f"lease file {report.leasefile}: {state}", highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)


def render_json(report: PoolsReport, check: Check | None = None) -> dict[str, object]:
    """The ``--format json`` document."""
    doc: dict[str, object] = {
        "rows": [
            {**row.to_json(), "status": None if check is None else check.row_status(row)}
            for row in report.rows
        ],
        "servers": [
            {"server": s.label, "address": s.address, "answered": s.answered, "error": s.error}
            for s in report.servers
        ],
        "leasefile": None
        if report.leasefile is None
        else {
            "path": report.leasefile,
            "error": report.leasefile_error,
            "outside_ranges": report.outside,
        },
        "notes": list(report.notes),
    }
    if check is not None:
        doc["status"] = check.status
        doc["exit_code"] = check.code
        doc["warning"] = check.warning
        doc["critical"] = check.critical
    return doc


def render_csv(report: PoolsReport, check: Check | None = None) -> str:
    """The ``--format csv`` text: one line per row, a header first."""
    servers = [s.label for s in report.servers]
    header = ["kind", "name", "subnet", "shared_network", "addresses", "used_percent", "source"]
    header += [f"file_{s}" for s in STATES] + ["file_unlisted", "file_used"]
    for label in servers:
        header += [f"{label}_{n}" for n in ("leases", "free", "backup", "active")]
    header.append("status")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in report.rows:
        line: list[object] = [
            row.kind,
            row.name,
            row.subnet,
            row.shared_network,
            row.addresses,
            _pct(row.used_percent),
            row.source or "",
        ]
        f = row.file
        if f is None:
            line += [""] * (len(STATES) + 2)
        else:
            line += [f.states.get(s, 0) for s in STATES] + [f.unlisted, f.used]
        for label in servers:
            c = row.live.get(label)
            line += (
                [""] * 4
                if c is None
                else [c.leases, c.free, c.backup, "" if c.active is None else c.active]
            )
        line.append("" if check is None else (check.row_status(row) or ""))
        writer.writerow(line)
    return out.getvalue()


def render_plugin(report: PoolsReport, check: Check) -> str:
    """One status line with performance data, as monitoring plugins print it."""
    judged = sorted(check.judged, key=lambda rc: (-rc[1], -(rc[0].used_percent or 0.0)))
    if not judged:
        text = "no figures: neither the lease file nor a server gave any"
    else:
        worst, _ = judged[0]
        text = f"{len(judged)} checked, highest {worst.label} {_pct(worst.used_percent)}% used"
    thresholds = [
        "" if check.warning is None else f"{check.warning:g}",
        "" if check.critical is None else f"{check.critical:g}",
    ]
    perf = " ".join(
        f"'{row.label}'={_pct(row.used_percent)}%;{thresholds[0]};{thresholds[1]};0;100"
        for row, _ in check.judged
    )
    return f"POOLS {check.status} - {text}" + (f" | {perf}" if perf else "")


def kinds_of(text: str) -> tuple[Kind, ...]:
    """Parse ``--check``: kinds separated by commas.

    Raises:
        ValueError: an unknown kind.
    """
    out: list[Kind] = []
    for word in (w.strip() for w in text.split(",")):
        matched = [k for k in KINDS if k == word]
        if not matched:
            raise ValueError(f"not a kind: {word!r} (one of {', '.join(KINDS)})")
        out.append(matched[0])
    return tuple(out)
