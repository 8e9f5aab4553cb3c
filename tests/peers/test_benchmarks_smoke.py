"""The benchmarks stay runnable: ``benchmarks.run --smoke`` and the load generator's parts.

No timing is asserted anywhere: only that every row ran, every lookup returned the right
hostname (the rows count a wrong one as an error), and the results were written.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import aiomapi
from aiomapi.bench import lookups as bm
from aiomapi.bench import process, report
from aiomapi.bench.histogram import LatencyHistogram
from aiomapi.bench.results import Progress
from aiomapi.testing import FakeDhcpd, dhcpd_lab, synthetic_leases

ROOT = Path(__file__).resolve().parent.parent.parent
SMOKE_TIMEOUT = 120  # the smoke run takes a few seconds; this only bounds a hang


def smoke_server() -> str:
    """``dhcpd`` where the lab can run (required under AIOMAPI_REQUIRE_DHCPD=1), else ``fake``."""
    try:
        dhcpd_lab.check_environment()
    except dhcpd_lab.LabUnavailable as exc:
        if os.environ.get("AIOMAPI_REQUIRE_DHCPD") == "1":
            pytest.fail(f"dhcpd lab required (AIOMAPI_REQUIRE_DHCPD=1) but unavailable: {exc}")
        return "fake"
    return "dhcpd"


def test_smoke_run_produces_every_row(tmp_path: Path) -> None:
    server = smoke_server()
    out = tmp_path / "latest.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--smoke",
            "--server",
            server,
            "--json",
            str(out),
            "--no-plot",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())

    assert result["server"]["kind"] == server
    rows = {row["name"]: row for row in result["rows"]}
    expected = {
        f"aiomapi leases.get c={c} conns={n}"
        for c in (1, 8, 64, 1000)
        for n in (1, 8, 16, 64)
        if c >= n  # the pool opens no more connections than there are awaiters
    }
    assert expected <= rows.keys()
    assert any(name.startswith("aiomapi open() ") for name in rows)
    if "pypureomapi" not in result["skipped"]:
        assert "pypureomapi sequential" in rows
    if "omshell" not in result["skipped"]:
        omshell = rows["omshell scripted"]
        assert omshell["hostnames_seen"] == omshell["lookups"]
    if server == "dhcpd":  # both peers are installed wherever the lab runs
        assert not result["skipped"]
    for row in result["rows"]:
        assert row["lookups"] > 0, row
        assert row["errors"] == 0, row  # includes wrong hostnames
        assert row["server_busy"] is not None, row

    memory = result["memory"]
    assert memory["lookups"] == result["settings"]["memory_lookups"]
    assert memory["errors"] == 0
    assert len(memory["samples"]) >= 2

    # The scan row: every address of its block looked up, every lease the server has found.
    (scan,) = [row for row in result["rows"] if row["api"] == "scan"]
    assert scan["lookups"] == scan["addresses"] >= result["settings"]["leases"]
    assert scan["active_found"] == scan["active_expected"] == result["settings"]["leases"]
    assert scan["leases_found"] == scan["leases_expected"]
    assert scan["rate_limit"] is None
    limited = [row for row in result["rows"] if row.get("rate_limit")]
    assert [row["rate_limit"] for row in limited] == [aiomapi.DEFAULT_BULK_RATE]
    # every other get_many row runs without a limit: 2 settings of concurrency × 4 pools,
    # and the two on uvloop
    unlimited = [r for r in result["rows"] if r["api"] == "bulk" and r["rate_limit"] is None]
    assert len(unlimited) == 10
    # the target rows measured again with the client on uvloop (a test dependency)
    on_uvloop = {name for name, row in rows.items() if row.get("uvloop")}
    assert on_uvloop == {
        "aiomapi leases.get c=1 conns=1 (uvloop)",
        "aiomapi leases.get c=64 conns=16 (uvloop)",
        "aiomapi leases.get c=64 conns=64 (uvloop)",
        "aiomapi leases.get_many c=256 conns=16 (uvloop)",
        "aiomapi leases.get_many c=256 conns=64 (uvloop)",
    }

    groups = {r["group"] for r in result["codec"]["results"]}
    assert any(g.startswith("decode+verify") for g in groups)
    assert any(g.startswith("encode+sign") for g in groups)
    # Every target of the run is judged (met or not: no timing is asserted).
    names = [t["target"] for t in result["targets"]]
    for start in (
        "dhcpd ≥ 80 % busy" if server == "dhcpd" else "server (not dhcpd) ≥ 80 % busy",
        "get_many ≥ 12× pypureomapi",
        "get_many ≥ 4× omshell",
        "leases.get c=64 ≥ 8×",
        "leases.get c=1 ≥ 2×",
        "decode+verify+Lease ≥ 30×",
        "scan of ",
        "memory flat",
    ):
        assert any(name.startswith(start) for name in names), (start, names)
    assert all(isinstance(t["met"], bool) and t["measured"] for t in result["targets"])
    assert "lookups/s" in result["table"]


# ---------------------------------------------------------------- the load generator's parts


@contextlib.asynccontextmanager
async def _fifty_leases() -> AsyncIterator[tuple[aiomapi.Client, list[str], list[str]]]:
    """A FakeDhcpd with 50 synthetic leases and a client of 2 connections to it, with the
    leases' addresses and the hostnames they must return, in the same order."""
    key = aiomapi.Key.generate("bench")
    leases = synthetic_leases(50)
    async with (
        FakeDhcpd(key=key, leases=leases) as server,
        aiomapi.Client(server.host, server.port, key=key, connections=2) as omapi,
    ):
        yield omapi, [str(lease.ip_address) for lease in leases], [f"host{i}" for i in range(50)]


async def test_run_lookups_checks_hostnames_against_the_fake() -> None:
    reports: list[Progress] = []
    async with _fifty_leases() as (omapi, keys, names):
        wrong = [*names[:-1], "not-host49"]
        good = await bm.run_lookups(
            omapi,
            keys,
            concurrency=8,
            count=200,
            expected=names,
            warmup=20,
            progress=reports.append,
        )
        generic = await bm.run_lookups(
            omapi, keys, concurrency=3, count=60, expected=names, api="generic"
        )
        bad = await bm.run_lookups(omapi, keys, concurrency=1, count=50, expected=wrong)
        missing = await bm.run_lookups(
            omapi, ["10.99.0.1"], concurrency=2, duration=5.0, max_errors=10
        )
    assert (good.lookups, good.errors, good.stopped_by) == (200, 0, "count")
    assert good.latency_p50 is not None
    assert good.latency_p99 is not None
    assert good.latency_p50 <= good.latency_p99 <= (good.latency_max or math.inf)
    assert good.connections == 2
    assert reports
    assert reports[-1].final
    assert reports[-1].done == 200
    assert (generic.lookups, generic.errors, generic.api) == (60, 0, "generic")
    assert (bad.errors, dict(bad.error_kinds)) == (1, {"wrong hostname": 1})
    assert missing.stopped_by == "errors"
    assert missing.errors >= 10
    assert set(missing.error_kinds) == {"NotFound"}
    assert "lookups/s" in good.summary()
    assert json.dumps(good.as_dict())


async def test_the_bulk_row_checks_every_result_and_ends_on_each_limit() -> None:
    reports: list[Progress] = []
    async with _fifty_leases() as (omapi, keys, names):
        wrong = [*names[:7], "not-host7", *names[8:]]
        good = await bm.run_lookups(
            omapi,
            keys,
            concurrency=8,
            count=700,
            expected=names,
            api="bulk",
            progress=reports.append,
        )
        bad = await bm.run_lookups(
            omapi, keys, concurrency=4, count=120, expected=wrong, api="bulk", warmup=0
        )
        missing = await bm.run_lookups(
            omapi, ["10.99.0.1"], concurrency=2, duration=5.0, max_errors=10, api="bulk"
        )
        timed = await bm.run_lookups(omapi, keys, concurrency=8, duration=0.3, api="bulk")
    assert (good.lookups, good.errors, good.stopped_by) == (700, 0, "count")
    assert reports[-1].final
    assert reports[-1].done == 700
    # The key at index 7 comes round three times in 120 lookups (0..119 over 50 keys).
    assert (bad.lookups, bad.errors, dict(bad.error_kinds)) == (120, 3, {"wrong hostname": 3})
    assert (missing.stopped_by, missing.errors, set(missing.error_kinds)) == (
        "errors",
        10,
        {"NotFound"},
    )
    assert timed.stopped_by == "duration"
    assert timed.lookups > 0
    assert timed.errors == 0
    assert 0.3 <= timed.seconds < 3


async def test_run_lookups_needs_an_end() -> None:
    omapi = aiomapi.Client("127.0.0.1", 1)  # refused before anything is sent
    with pytest.raises(ValueError, match="duration or count"):
        await bm.run_lookups(omapi, ["10.0.0.1"], concurrency=1)
    with pytest.raises(ValueError, match="concurrency"):
        await bm.run_lookups(omapi, ["10.0.0.1"], concurrency=0, count=1)


def test_latency_histogram_percentiles_within_one_percent() -> None:
    hist = LatencyHistogram()
    assert hist.percentile(50) is None
    for i in range(1, 1001):
        hist.add(i * 1e-6)  # 1 µs … 1 ms
    p50, p99 = hist.percentile(50), hist.percentile(99)
    assert p50 is not None
    assert p99 is not None
    assert p50 == pytest.approx(500e-6, rel=0.01)
    assert p99 == pytest.approx(990e-6, rel=0.01)
    assert hist.percentile(100) == pytest.approx(1e-3, rel=0.01)


def test_process_cpu_of_this_process() -> None:
    with process.measure_process_cpu(os.getpid()) as usage:
        target = process.process_cpu_seconds(os.getpid()) + 0.05
        give_up = time.monotonic() + 5.0
        while process.process_cpu_seconds(os.getpid()) < target and time.monotonic() < give_up:
            pass
    assert usage.cpu_seconds >= 0.05
    assert 0 < usage.utilisation <= 1.5
    assert process.rss_bytes() > 0
    with pytest.raises(ProcessLookupError):
        process.process_cpu_seconds(2**22 + 12345)  # above pid_max's default


def test_process_figures_from_psutil() -> None:
    pytest.importorskip("psutil")
    pid = os.getpid()
    assert process.rss_bytes(pid) > 0
    before = process.machine_busy_seconds()
    assert before is not None
    give_up = time.monotonic() + 5.0
    target = time.process_time() + 0.1
    while time.process_time() < target and time.monotonic() < give_up:
        pass
    after = process.machine_busy_seconds()
    assert after is not None
    assert after - before >= 0.05  # this process's 0.1 s, in 10 ms clock ticks
    with pytest.raises(ProcessLookupError):
        process.rss_bytes(2**22 + 12345)


def test_process_figures_without_psutil() -> None:
    """``aiomapi bench`` runs on a plain install, where the ``bench`` extra is missing."""
    code = (
        "import os, sys\n"
        "sys.modules['psutil'] = None  # import psutil now raises ImportError\n"
        "from aiomapi.bench import process\n"
        "assert process.psutil is None\n"
        "assert process.rss_bytes() > 0\n"
        "assert process.machine_busy_seconds() is None\n"
        "assert process.process_cpu_seconds(os.getpid()) > 0\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60, check=True)


def test_import_aiomapi_loads_no_benchmark_or_test_code() -> None:
    code = "import sys, aiomapi; print(' '.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    unwanted = {"aiomapi.bench", "aiomapi.testing", "aiomapi.cli", "benchmarks", "pytest", "psutil"}
    loaded = done.stdout.split()
    assert [m for m in loaded if any(m == u or m.startswith(f"{u}.") for u in unwanted)] == []


def test_format_table_aligns_numbers_right() -> None:
    text = report.format_table(
        [{"name": "a", "rate": 12.5, "n": "1,000"}, {"name": "longer", "rate": None, "n": "7"}]
    )
    header, rule, first, second = text.splitlines()
    assert header.split() == ["name", "rate", "n"]
    assert len(rule) >= len(first.rstrip())
    assert first.endswith("1,000")
    assert second.endswith("    7")
    assert first.startswith("a ")


def test_console_progress_plain_lines() -> None:
    out = io.StringIO()
    show = report.console_progress(out)
    for elapsed in (0.5, 1.0, 2.6):
        show(Progress("x", 10, 0, elapsed, 20.0, 100, 5.0))
    show(Progress("x", 100, 0, 3.0, 20.0, 100, 5.0, final=True))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # 0.5 s, 2.6 s (2 s later), final
    assert "\r" not in out.getvalue()
    assert lines[-1].startswith("x: 100/100 lookups")
