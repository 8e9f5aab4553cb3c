"""The report: the results table with ratios against the peers, the server's ceiling,
the targets (each judged from rows measured in the same run), the machine's description,
and the plot.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiomapi
from aiomapi.bench.report import format_table
from aiomapi.bench.results import Row
from benchmarks.servers import ROOT

#: The targets: the server at least this busy (of one core) during get_many ...
TARGET_DHCPD_BUSY = 0.80
#: ... and the client's CPU per lookup at most this times the server's.
TARGET_CLIENT_CPU = 1.0
#: get_many (its best row) against the peers' rows of the same run.
TARGET_BULK_VS_PYPURE = 12.0
TARGET_BULK_VS_OMSHELL = 4.0
#: leases.get with 64 awaiters (its best row), and one await at a time, against pypureomapi.
TARGET_C64_VS_PYPURE = 8.0
TARGET_C1_VS_PYPURE = 2.0
#: decode+verify of a lease reply with the typed Lease built, against pypureomapi's codec.
TARGET_CODEC = 30.0
#: The scan of a /16 (65,536 addresses) in at most this many seconds ...
TARGET_SCAN_SECONDS = 2.0
TARGET_SCAN_ADDRESSES = 65_536
#: ... or, where the server cannot serve that fast, within this factor of its own CPU time.
TARGET_SCAN_VS_SERVER_CPU = 1.3
#: Memory counts as flat if RSS grows less than this over the long run, after its first 10 %.
FLAT_RSS_BYTES = 2 * 2**20


#: How the target helpers add a line: target, wanted, value, met, measured, rows used.
AddTarget = Callable[[str, str, float | None, bool, str, list[str]], None]


def unlimited(row: Row | dict[str, Any]) -> bool:
    """Whether a row ran without a rate limit of its own (every row but the one at
    get_many's default rate)."""
    extra = row.extra if isinstance(row, Row) else row
    return extra.get("rate_limit") is None


# ---------------------------------------------------------------- the table


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
                "in kernel %": fmt(_pct(r.client_kernel_share), ".0f"),
                f"{srv} CPU %": fmt(_pct(r.server_busy), ".0f"),
                f"{srv} µs/lookup": fmt(r.server_cpu_us, ".1f"),
                "× pypureomapi": fmt(ratio(r.rate, pypure), ".2f"),
                "× omshell": fmt(ratio(r.rate, omshell), ".2f"),
                "% of ceiling": fmt(_pct(ratio(r.rate, ceiling)), ".0f"),
                "other CPU %": fmt(_pct(r.other_busy), ".0f"),
                "errors": r.errors,
            }
        )
    return format_table(table)


def _pct(x: float | None) -> float | None:
    return None if x is None else x * 100


def server_ceiling(rows: Sequence[Row]) -> tuple[float | None, str, float | None]:
    """The server's ceiling on one core, from this run: 1 / (its CPU per lookup).

    Its CPU per lookup depends on how requests arrive: one per read (sequential clients)
    costs dhcpd a select/read/write round each, a batch per read shares that round. So the
    ceiling is taken from the aiomapi row with the highest throughput — the load it is
    compared with — and the one-at-a-time figure (aiomapi c=1 on one connection) is given
    alongside. The scan (mostly addresses without a lease, cheaper to answer) and the row
    at a set rate are left out.
    """
    measured = [
        r
        for r in rows
        if r.client == "aiomapi" and r.server_cpu_us and r.api != "scan" and unlimited(r)
    ]
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


# ---------------------------------------------------------------- the targets


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets, each judged from rows of this run: a list of ``{"target", "wanted",
    "measured", "met", "value", "rows"}`` (``value`` the figure compared with the goal,
    ``rows`` the names of the rows it comes from). A target whose rows are missing (a peer
    not installed) is listed as missed, with the reason."""
    rows = result["rows"]
    peers = {r["client"]: r for r in rows if r["client"] != "aiomapi"}
    ours = [r for r in rows if r["client"] == "aiomapi" and unlimited(r)]
    srv = "dhcpd" if result["server"]["kind"] == "dhcpd" else "server (not dhcpd)"
    out: list[dict[str, Any]] = []

    def add(
        target: str, wanted: str, value: float | None, met: bool, measured: str, used: list[str]
    ) -> None:
        out.append(
            {
                "target": target,
                "wanted": wanted,
                "measured": measured,
                "met": met,
                "value": value,
                "rows": used,
            }
        )

    def best(candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
        return max(candidates, key=lambda r: r["rate"]) if candidates else None

    def versus(target: str, row: dict[str, Any] | None, peer: str, goal: float) -> None:
        base = peers.get(peer)
        if row is None or base is None:
            missing = peer if base is None else "the aiomapi row"
            add(target, f"≥ {goal:g}×", None, False, f"not measured ({missing} did not run)", [])
            return
        x = row["rate"] / base["rate"]
        add(
            target,
            f"≥ {goal:g}×",
            x,
            x >= goal,
            f"{x:.2f}× ({row['rate']:,.0f} vs {base['rate']:,.0f}/s; {row['name']})",
            [row["name"], base["name"]],
        )

    bulk = best([r for r in ours if r["api"] == "bulk"])
    if bulk is not None and bulk.get("server_busy") is not None:
        busy = bulk["server_busy"]
        add(
            f"{srv} ≥ 80 % busy during get_many",
            f"≥ {TARGET_DHCPD_BUSY * 100:.0f} % of a core",
            busy,
            busy >= TARGET_DHCPD_BUSY,
            f"{busy * 100:.0f} % ({bulk['name']})",
            [bulk["name"]],
        )
        client_us, server_us = bulk.get("client_cpu_us"), bulk.get("server_cpu_us")
        if client_us and server_us:
            x = client_us / server_us
            add(
                f"client CPU/lookup ≤ {srv}'s, get_many",
                f"≤ {TARGET_CLIENT_CPU:g}×",
                x,
                x <= TARGET_CLIENT_CPU,
                f"{client_us:.1f} vs {server_us:.1f} µs = {x:.2f}× ({bulk['name']})",
                [bulk["name"]],
            )
    else:
        add(f"{srv} ≥ 80 % busy during get_many", "≥ 80 %", None, False, "not measured", [])
    versus("get_many ≥ 12× pypureomapi sequential", bulk, "pypureomapi", TARGET_BULK_VS_PYPURE)
    versus("get_many ≥ 4× omshell scripted", bulk, "omshell", TARGET_BULK_VS_OMSHELL)
    c64 = best([r for r in ours if r["api"] == "typed" and r["concurrency"] == 64])
    versus("leases.get c=64 ≥ 8× pypureomapi", c64, "pypureomapi", TARGET_C64_VS_PYPURE)
    c1 = best(
        [r for r in ours if r["api"] == "typed" and r["concurrency"] == 1 and r["connections"] == 1]
    )
    versus("leases.get c=1 ≥ 2× pypureomapi", c1, "pypureomapi", TARGET_C1_VS_PYPURE)
    _codec_target(result.get("codec") or {}, add)
    scan = next((r for r in ours if r["api"] == "scan"), None)
    if scan is not None:
        _scan_target(scan, srv, add)
    memory = result.get("memory")
    if memory:
        growth = memory["growth_bytes"]
        add(
            f"memory flat over {memory['lookups']:,} lookups",
            f"< {FLAT_RSS_BYTES / 2**20:.0f} MiB growth after the first 10 %",
            growth,
            growth < FLAT_RSS_BYTES,
            f"{growth / 2**20:+.2f} MiB (RSS {memory['rss_at_10pct'] / 2**20:.1f} → "
            f"{memory['rss_end'] / 2**20:.1f} MiB)",
            [],
        )
    return out


#: The codec cases the codec target reads: aiomapi's decode+verify with the Lease built
#: (on the hot path in use, not the pure-Python rerun), against pypureomapi's decode+verify.
CODEC_GROUP = "decode+verify"
CODEC_CASE = "+ Lease"
PURE_SUFFIX = " (pure Python)"


def _codec_target(codec: dict[str, Any], add: AddTarget) -> None:
    """decode+verify+Lease ≥ 30× pypureomapi: the worst of the replies timed (285 and 289 B).

    Read from the codec run's own figures (µs per message): for each ``decode+verify`` case
    group, pypureomapi's µs over aiomapi's ``… + Lease`` µs.
    """
    results = codec.get("results") or []
    peer = {
        r["group"]: r["us"]
        for r in results
        if r["library"] == "pypureomapi" and r["group"].startswith(CODEC_GROUP)
    }
    ratios = [
        (peer[r["group"]] / r["us"], r["group"], r["name"])
        for r in results
        if r["library"] == "aiomapi"
        and r["group"] in peer
        and CODEC_CASE in r["name"]
        and not r["name"].endswith(PURE_SUFFIX)
    ]
    target = "decode+verify+Lease ≥ 30× pypureomapi codec"
    wanted = f"≥ {TARGET_CODEC:g}×"
    if not ratios:
        add(target, wanted, None, False, "not measured (no pypureomapi or no Lease case)", [])
        return
    worst = min(ratios)
    each = " and ".join(f"{x:.1f}× ({_inside(g)})" for x, g, _ in ratios)
    add(
        target,
        wanted,
        worst[0],
        worst[0] >= TARGET_CODEC,
        f"{worst[0]:.1f}×, the worst of {each}",
        [f"{g}: {n}" for _, g, n in ratios] + [f"{g}: pypureomapi" for _, g, _ in ratios],
    )


def _inside(text: str) -> str:
    """What a codec case group says in brackets (``285 B, host5``), else the group."""
    start, end = text.find("("), text.rfind(")")
    return text[start + 1 : end] if 0 <= start < end else text


def _scan_target(scan: dict[str, Any], srv: str, add: AddTarget) -> None:
    """The scan in ≤ 2 s per 65,536 addresses, or within 1.3× of the server's CPU time.

    A smaller block (the smoke run) gets the same time per address: 2 s × n / 65,536.
    """
    n = scan["addresses"]
    limit = TARGET_SCAN_SECONDS * n / TARGET_SCAN_ADDRESSES
    wall, cpu = scan["seconds"], scan.get("server_cpu_seconds")
    x = wall / cpu if cpu else None
    counted = scan["errors"] == 0
    met = counted and (wall <= limit or (x is not None and x <= TARGET_SCAN_VS_SERVER_CPU))
    size = "/16 scan" if n == TARGET_SCAN_ADDRESSES else f"scan of {scan['block']}"
    measured = (
        f"{wall:.2f} s wall; {srv} CPU {cpu:.2f} s; wall/CPU {x:.2f}×"
        if x is not None
        else f"{wall:.2f} s wall; {srv} CPU not measured"
    )
    found = f"{scan['leases_found']:,} of {scan['leases_expected']:,} leases found"
    add(
        f"{size} ({n:,} IPs) ≤ {limit:.2f} s, or ≤ 1.3× {srv} CPU",
        f"≤ {limit:.2f} s or ≤ {TARGET_SCAN_VS_SERVER_CPU:g}×",
        wall,
        met,
        f"{measured}; {found}" + ("" if counted else " — WRONG COUNT"),
        [scan["name"]],
    )


# ---------------------------------------------------------------- the machine


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


# ---------------------------------------------------------------- the plot


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
        (peers.get("pypureomapi"), TARGET_BULK_VS_PYPURE, "pypureomapi", -0.7),
        (peers.get("omshell"), TARGET_BULK_VS_OMSHELL, "omshell", len(rows) - 0.1),
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
