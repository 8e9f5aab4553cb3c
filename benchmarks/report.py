"""The report: the results table with ratios against the peers, the server's ceiling,
issue 5's targets, the machine's description, and the plot.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiomapi
from aiomapi.bench.report import format_table
from aiomapi.bench.results import Row
from benchmarks.servers import ROOT

#: Targets of issue 5.
TARGET_VS_PYPURE = 4.0
TARGET_VS_OMSHELL = 1.5
TARGET_DHCPD_BUSY = 0.80
TARGET_CODEC = 10.0
#: Memory counts as flat if RSS grows less than this over the long run, after its first 10 %.
FLAT_RSS_BYTES = 2 * 2**20


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


# ---------------------------------------------------------------- issue 5's targets


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
