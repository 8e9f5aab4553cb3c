"""aiomapi.monitor against real dhcpd servers, scraped by a real Prometheus.

* One dhcpd with extra subnets: how dhcpd groups ranges written outside ``pool`` blocks
  into pools (the rule :mod:`aiomapi.monitor.layout` follows), and that a server without
  failover leaves never-used addresses out of its lease file (:mod:`aiomapi.monitor.usage`).
* conftest's failover pair (mclt 5 s, max-response-delay 5 s) behind the exporter, with a
  Prometheus started here on loopback scraping it every second; the series are read back
  through Prometheus' HTTP API: both peers normal and healthy; after the peer link is cut,
  communications-interrupted on both and the verdict degraded; the secondary killed and
  restarted while scrapes go on: the exporter answers every request and Prometheus sees
  the secondary down, then up. Pool counts are checked against the lease file the lab
  wrote, the lease file dhcpd keeps and dhcpd's own counters.
* ``aiomapi pools`` against the pair.

Prometheus and promtool come from Debian's ``prometheus`` package (.ci/install.sh);
without them these tests skip, or fail under AIOMAPI_REQUIRE_DHCPD=1 as CI runs them.
Every wait is a poll with a deadline, and each test runs under an overall timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import aiomapi
from aiomapi.config import load_config
from aiomapi.leasefile import load_leases
from aiomapi.monitor import Monitor, count_file, plan_of
from aiomapi.monitor.cli import add_exporter_parser, add_pools_parser, monitor_from_options
from aiomapi.monitor.http import MetricsServer
from aiomapi.monitor.live import read_pool
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance
from aiomapi.testing.dhcpd_lab import FailoverPair as LabPair

from ..conftest import FAILOVER_MAX_RESPONSE_DELAY, start_lab

pytestmark = [pytest.mark.dhcpd, pytest.mark.slow]

N_LEASES = 100  # conftest's failover_pair
POOL_SIZE = N_LEASES + dhcpd_lab.FREE_ADDRESSES
ROOT = Path(__file__).resolve().parents[2]
TEST_TIMEOUT = 90.0
#: A state change on the pair reaches Prometheus within max-response-delay (dhcpd), the
#: exporter's reuse interval, one scrape interval and the query: 20 s is ample.
SEEN_WITHIN = 4 * FAILOVER_MAX_RESPONSE_DELAY


def require_prometheus() -> tuple[str, str]:
    """The paths of prometheus and promtool; skip without them (fail under
    AIOMAPI_REQUIRE_DHCPD=1, as CI runs)."""
    paths = (shutil.which("prometheus"), shutil.which("promtool"))
    if None in paths:
        message = "prometheus/promtool not found (apt-get install prometheus)"
        if os.environ.get("AIOMAPI_REQUIRE_DHCPD") == "1":
            pytest.fail(message)
        pytest.skip(message)
    prometheus, promtool = paths
    assert prometheus is not None
    assert promtool is not None
    return prometheus, promtool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def show(text: object) -> None:
    print(text, file=sys.__stderr__, flush=True)


def client_of(inst: DhcpdInstance) -> aiomapi.Client:
    key = inst.key
    return aiomapi.Client(inst.host, inst.port, key=key, timeout=5)


# ---------------------------------------------------------------- Prometheus


@dataclass
class Prometheus:
    """A Prometheus server run by a test, and its HTTP API."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def _get(self, path: str, params: dict[str, str]) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=5) as reply:
            return json.load(reply)

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` evaluates to now."""
        doc = await asyncio.to_thread(self._get, "/api/v1/query", {"query": expr})
        assert doc["status"] == "success", doc
        result: list[dict[str, Any]] = doc["data"]["result"]
        return result

    async def until(
        self, expr: str, want: Callable[[list[dict[str, Any]]], bool], timeout: float
    ) -> tuple[list[dict[str, Any]], float]:
        """Query every 0.25 s until ``want(result)``; returns the result and seconds taken."""
        start = time.monotonic()
        while True:
            result = await self.query(expr)
            if want(result):
                return result, time.monotonic() - start
            assert time.monotonic() - start < timeout, f"after {timeout} s: {expr} = {result}"
            await asyncio.sleep(0.25)

    async def values(self, expr: str) -> dict[str, float]:
        """``expr``'s series as label ``server`` (or the whole label set) → value."""
        out: dict[str, float] = {}
        for series in await self.query(expr):
            labels = series["metric"]
            out[labels.get("server", str(labels))] = float(series["value"][1])
        return out


def series_count(n: int) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda result: len(result) == n


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Callable[[int], Prometheus]]:
    """Start Prometheus on loopback scraping ``127.0.0.1:PORT`` every second; stopped at
    the end of the test."""
    prometheus, _ = require_prometheus()
    started: list[Prometheus] = []

    def start(exporter_port: int) -> Prometheus:
        conf = tmp_path / "prometheus.yml"
        conf.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: aiomapi\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{exporter_port}']\n"
        )
        port = free_port()
        log = tmp_path / "prometheus.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    prometheus,
                    f"--config.file={conf}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
            )
        server = Prometheus(f"http://127.0.0.1:{port}", process, log)
        started.append(server)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2) as reply:
                    if reply.status == 200:
                        return server
            except OSError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "prometheus not ready in 30 s"
            time.sleep(0.1)

    yield start
    for server in started:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


# ---------------------------------------------------------------- the exporter


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aiomapi")
    sub = parser.add_subparsers(required=True)
    add_exporter_parser(sub)
    add_pools_parser(sub)
    return parser.parse_args(argv)


def pair_argv(lab: LabPair) -> list[str]:
    """How an operator points the commands at the lab: the primary's dhcpd.conf for the
    key, the peer and the pools; the OMAPI addresses, which are in neither file."""
    p, s = lab.primary, lab.secondary
    return [
        f"--config={p.workdir / 'dhcpd.conf'}",
        f"--primary={p.host}:{p.port}",
        f"--secondary={s.host}:{s.port}",
        "--timeout=2",
    ]


@pytest_asyncio.fixture
async def exporter(failover_pair: LabPair) -> AsyncIterator[tuple[Monitor, MetricsServer]]:
    args = parse(
        "exporter",
        *pair_argv(failover_pair),
        f"--leases={failover_pair.primary.workdir / 'dhcpd.leases'}",
        "--scrape-timeout=2",
        "--reuse=0.5",
        "--leases-interval=0.5",
    )
    async with monitor_from_options(args) as monitor, MetricsServer(monitor) as server:
        yield monitor, server


async def scrape(port: int) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


# ---------------------------------------------------------------- tests


async def test_prometheus_sees_the_pair_normal_cut_and_a_peer_down_then_up(
    failover_pair: LabPair,
    exporter: tuple[Monitor, MetricsServer],
    prometheus_for: Callable[[int], Prometheus],
) -> None:
    _, promtool = require_prometheus()
    monitor, server = exporter
    lab = failover_pair
    async with asyncio.timeout(TEST_TIMEOUT):
        status, body = await scrape(server.port)
        assert status == 200
        checked = await asyncio.to_thread(
            subprocess.run,
            [promtool, "check", "metrics"],
            input=body,
            capture_output=True,
            timeout=30,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert (checked.stdout + checked.stderr).strip() == b""

        prom = await asyncio.to_thread(prometheus_for, server.port)

        # Both peers normal, the pair healthy.
        _, took = await prom.until(
            'dhcpd_failover_local_state{state="normal"} == 1', series_count(2), SEEN_WITHIN
        )
        show(f"FIGURE both normal in Prometheus after {took:.1f} s")
        assert await prom.values('dhcpd_failover_partner_state{state="normal"}') == {
            "primary": 1.0,
            "secondary": 1.0,
        }
        verdict = await prom.query("dhcpd_failover_pair_verdict == 1")
        assert [v["metric"]["verdict"] for v in verdict] == ["healthy"]
        assert await prom.values("dhcpd_up") == {"primary": 1.0, "secondary": 1.0}
        assert set((await prom.values("dhcpd_failover_mclt_seconds")).values()) == {5.0}

        # Pool counts: the lab wrote N_LEASES active leases in a pool of POOL_SIZE; dhcpd
        # counts the same, on both servers, and so does the lease file dhcpd keeps.
        assert await prom.values("dhcpd_pool_leases") == {
            "primary": POOL_SIZE,
            "secondary": POOL_SIZE,
        }
        assert await prom.values("dhcpd_pool_active_leases") == {
            "primary": N_LEASES,
            "secondary": N_LEASES,
        }
        spare = await prom.values("dhcpd_pool_free_leases + dhcpd_pool_backup_leases")
        assert spare == {"primary": POOL_SIZE - N_LEASES, "secondary": POOL_SIZE - N_LEASES}
        by_state = {
            s["metric"]["state"]: float(s["value"][1])
            for s in await prom.query("dhcpd_leasefile_pool_leases")
        }
        assert by_state["active"] == N_LEASES
        assert by_state["free"] + by_state["backup"] == POOL_SIZE - N_LEASES
        assert sum(by_state.values()) == POOL_SIZE
        assert await prom.values("dhcpd_config_pool_addresses") != {}
        assert set((await prom.values("dhcpd_config_pool_addresses")).values()) == {POOL_SIZE}

        # Every query of the dashboard is valid PromQL over these series; those that do not
        # depend on shared networks or on errors have data.
        dashboard = json.loads((ROOT / "dashboards" / "aiomapi-grafana.json").read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                expr = target["expr"].replace("$server", ".*").replace("$subnet", ".*")
                result = await prom.query(expr)
                if "shared_network" not in expr and "errors" not in expr:
                    assert result, (panel["title"], expr)

        # The peer link cut: both servers in communications-interrupted, the pair degraded.
        lab.cut()
        try:
            _, took = await prom.until(
                'dhcpd_failover_local_state{state="communications-interrupted"} == 1',
                series_count(2),
                SEEN_WITHIN,
            )
            show(f"FIGURE communications-interrupted in Prometheus {took:.1f} s after the cut")
            await prom.until(
                'dhcpd_failover_pair_verdict{verdict="degraded"} == 1',
                series_count(1),
                SEEN_WITHIN,
            )
            codes = await prom.values("dhcpd_failover_local_state_code")
            assert codes == {"primary": 3.0, "secondary": 3.0}
        finally:
            lab.heal()
        await asyncio.to_thread(dhcpd_lab.wait_failover_states, lab, "normal", "normal", timeout=60)
        await prom.until(
            'dhcpd_failover_pair_verdict{verdict="healthy"} == 1', series_count(1), SEEN_WITHIN
        )

        # The secondary killed and restarted while scrapes go on.
        statuses: list[int] = []
        stop = asyncio.Event()

        async def keep_scraping() -> None:
            while not stop.is_set():
                statuses.append((await scrape(server.port))[0])
                await asyncio.sleep(0.2)

        scraper = asyncio.create_task(keep_scraping())
        try:
            await asyncio.to_thread(lab.kill_secondary)
            _, took = await prom.until(
                'dhcpd_up{server="secondary"} == 0', series_count(1), SEEN_WITHIN
            )
            show(f"FIGURE secondary down in Prometheus {took:.1f} s after the kill")
            assert await prom.values('dhcpd_up{server="primary"}') == {"primary": 1.0}
            await prom.until(
                'dhcpd_failover_pair_verdict{verdict="unreachable"} == 1',
                series_count(1),
                SEEN_WITHIN,
            )
            stages = await prom.values('aiomapi_scrape_success{stage="pools"}')
            assert stages == {"primary": 1.0, "secondary": 0.0}
            # The secondary's pool and failover series are gone (stale), the primary's stay.
            await prom.until(
                "dhcpd_pool_leases",
                lambda r: [s["metric"]["server"] for s in r] == ["primary"],
                SEEN_WITHIN,
            )
            await asyncio.to_thread(lab.start_secondary)
            _, took = await prom.until(
                'dhcpd_up{server="secondary"} == 1', series_count(1), SEEN_WITHIN
            )
            show(f"FIGURE secondary up in Prometheus {took:.1f} s after its restart")
        finally:
            stop.set()
            await scraper
        await asyncio.to_thread(dhcpd_lab.wait_failover_states, lab, "normal", "normal", timeout=60)
        await prom.until(
            'dhcpd_failover_pair_verdict{verdict="healthy"} == 1', series_count(1), SEEN_WITHIN
        )
        errors = await prom.values('aiomapi_scrape_errors_total{stage="omapi"}')
        assert errors["primary"] == 0
        assert errors["secondary"] >= 1
    assert statuses
    assert set(statuses) == {200}, statuses
    show(
        f"FIGURE {len(statuses)} scrapes during kill and restart, all 200; "
        f"{monitor.collections} collections, {monitor.reused} reused"
    )


async def test_pool_counters_match_the_lease_file(failover_pair: LabPair) -> None:
    """dhcpd's counters, read through a lease of the pool, against the lease file dhcpd
    keeps (the last declaration of each lease), on both servers."""
    async with asyncio.timeout(TEST_TIMEOUT):
        plan = plan_of(load_config(failover_pair.primary.workdir / "dhcpd.conf"))
        (pool,) = plan.pools
        assert pool.addresses == POOL_SIZE
        for inst in (failover_pair.primary, failover_pair.secondary):
            async with client_of(inst) as client:
                deadline = time.monotonic() + 15
                while True:  # the file is a log: it may lag a rebalance by a moment
                    read = await read_pool(client, pool)
                    db = await asyncio.to_thread(load_leases, inst.workdir / "dhcpd.leases")
                    counts = count_file(plan, db, datetime.now(UTC)).get("pool", pool.name)
                    assert read.counts is not None
                    assert counts is not None
                    live = read.counts
                    if (live.free, live.backup) == (counts.free, counts.backup):
                        break
                    assert time.monotonic() < deadline, (live, counts)
                    await asyncio.sleep(0.5)
            assert live.leases == POOL_SIZE
            assert live.active == N_LEASES
            assert counts.states["active"] == N_LEASES
            # Never-used free addresses may be missing from the file: counted as free, they
            # agree with dhcpd's free-leases (the loop's condition).
            assert counts.free >= counts.unlisted
            show(
                f"FIGURE {inst.workdir.name}: free {live.free}, backup {live.backup}, "
                f"unlisted in the lease file {counts.unlisted}"
            )


async def test_pools_command_against_the_pair(
    failover_pair: LabPair, capsys: pytest.CaptureFixture[str]
) -> None:
    leases = f"--leases={failover_pair.primary.workdir / 'dhcpd.leases'}"
    async with asyncio.timeout(TEST_TIMEOUT):
        args = parse("pools", *pair_argv(failover_pair), leases, "--json")
        assert await args.command(args) == 0
        doc = json.loads(capsys.readouterr().out)
        pool = next(r for r in doc["rows"] if r["kind"] == "pool")
        for side in ("primary", "secondary"):
            live = pool["live"][side]
            assert live["leases"] == POOL_SIZE
            assert live["active"] == N_LEASES
            assert live["free"] + live["backup"] == POOL_SIZE - N_LEASES
        assert pool["leasefile"]["active"] == N_LEASES
        used = 100 * N_LEASES / POOL_SIZE  # 86.2 %
        argv = [*pair_argv(failover_pair), leases, "--format=plugin"]
        for thresholds, code in (
            (["--warning=80", "--critical=90"], 1),
            ([f"--critical={used - 1:.0f}"], 2),
            (["--warning=95"], 0),
        ):
            args = parse("pools", *argv, *thresholds)
            assert await args.command(args) == code, thresholds
        text = capsys.readouterr().out
        show(text)
        assert text.startswith("POOLS WARNING - 1 checked, highest pool ")


EXTRA_SUBNETS = """
shared-network office {
  subnet 192.168.50.0 netmask 255.255.255.0 {
    range 192.168.50.10 192.168.50.19;
    range 192.168.50.30 192.168.50.39;
  }
  subnet 192.168.51.0 netmask 255.255.255.0 {
    range 192.168.51.10 192.168.51.14;
    pool { range 192.168.51.100 192.168.51.109; }
  }
}
subnet 192.168.60.0 netmask 255.255.255.0 {
  range 192.168.60.10 192.168.60.19;
  range dynamic-bootp 192.168.60.30 192.168.60.34;
}
"""


async def test_dhcpd_groups_ranges_outside_pools_as_the_plan_says(
    tmp_path: Path, lab_port: Callable[[], int]
) -> None:
    inst = start_lab(dhcpd_lab.start_single, tmp_path, lab_port(), 10, extra_conf=EXTRA_SUBNETS)
    try:
        async with asyncio.timeout(TEST_TIMEOUT), client_of(inst) as client:
            plan = plan_of(load_config(inst.workdir / "dhcpd.conf"))
            handles: dict[str, int] = {}
            for pool in plan.pools:
                read = await read_pool(client, pool)
                assert read.counts is not None, read.error
                assert read.handle is not None
                # dhcpd's pool has exactly the plan's addresses: no range more, none less.
                assert read.counts.leases == pool.addresses, pool.name
                handles[pool.name] = read.handle
                # Every range of the plan's pool leads to the same dhcpd pool.
                for r in pool.ranges:
                    lease = await client.leases.get(ip=r.high)
                    assert lease.pool == read.handle, (pool.name, r.name)
            assert len(set(handles.values())) == len(plan.pools) == 5
            office = next(p for p in plan.pools if p.shared_network == "office" and not p.declared)
            assert office.addresses == 25  # three ranges of two subnets in one pool
            # A server without failover writes only the leases something happened to.
            db = await asyncio.to_thread(load_leases, inst.workdir / "dhcpd.leases")
            usage = count_file(plan, db, datetime.now(UTC))
            lab_pool = usage.get("pool", dhcpd_lab.lease_ip(0) + "-" + dhcpd_lab.lease_ip(25))
            assert lab_pool is not None
            assert lab_pool.states["active"] == 10
            assert lab_pool.unlisted == dhcpd_lab.FREE_ADDRESSES
            assert lab_pool.free == dhcpd_lab.FREE_ADDRESSES
            everything = usage.get("all", "")
            assert everything is not None
            assert everything.unlisted == everything.addresses - 10
            # ... which dhcpd's counters confirm: the unlisted addresses are free leases.
            pool = next(p for p in plan.pools if p.name.startswith(dhcpd_lab.lease_ip(0)))
            read = await read_pool(client, pool)
            assert read.counts is not None
            assert (read.counts.leases, read.counts.free) == (26, dhcpd_lab.FREE_ADDRESSES)
    finally:
        dhcpd_lab.stop(inst)
