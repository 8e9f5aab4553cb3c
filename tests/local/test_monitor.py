"""aiomapi.monitor without a real dhcpd: the address plan, the counts, the report and its exit
codes, the metrics (checked by promtool), the /metrics server, and the exporter's
resilience against a server that is down, a wrong key and files that change or break.

Two in-memory servers (FakeDhcpd) stand in for a failover pair. What the real dhcpd does is
checked in tests/dhcpd/test_monitor_dhcpd.py, with a real Prometheus.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
import pytest_asyncio

import aiomapi
from aiomapi import LeaseState
from aiomapi.config import parse_config
from aiomapi.leasefile import LeaseRecord, format_lease, parse_leases
from aiomapi.monitor import METRICS, Monitor, ServerSpec, count_file, live_totals, plan_of
from aiomapi.monitor.cli import add_exporter_parser, add_pools_parser
from aiomapi.monitor.http import MAX_HEAD, MetricsServer
from aiomapi.monitor.report import build_report
from aiomapi.monitor.usage import LiveCounts
from aiomapi.testing import FakeDhcpd, FakeFailoverPeer, synthetic_leases

KEY = aiomapi.Key("omapi_key", "c2VjcmV0IHNlY3JldCBzZWNyZXQ=", "hmac-md5")
WRONG_KEY = aiomapi.Key("omapi_key", "bm90IHRoZSBzZWNyZXQgYXQgYWxs", "hmac-md5")
ROOT = Path(__file__).resolve().parents[2]
TEST_TIMEOUT = 20.0

PAIR_CONF = """\
omapi-port 7911;
key omapi_key { algorithm hmac-md5; secret "c2VjcmV0IHNlY3JldCBzZWNyZXQ="; };
omapi-key omapi_key;
failover peer "lab" {
  primary; address 10.254.0.1; port 647; peer address 10.254.0.2; peer port 647;
  max-response-delay 5; max-unacked-updates 10; load balance max seconds 5;
  mclt 5; split 128;
}
subnet 10.100.0.0 netmask 255.252.0.0 {
  pool { failover peer "lab"; range 10.100.1.0 10.100.1.115; }
}
"""

PLAN_CONF = """\
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


def require_promtool() -> str:
    """promtool's path; skip without it, fail under AIOMAPI_REQUIRE_DHCPD=1 (CI)."""
    path = shutil.which("promtool")
    if path is None:
        message = "promtool not found (apt-get install prometheus)"
        if os.environ.get("AIOMAPI_REQUIRE_DHCPD") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def promtool_check(exposition: bytes) -> None:
    """``promtool check metrics`` accepts ``exposition`` without a remark."""
    done = subprocess.run(
        [require_promtool(), "check", "metrics"],
        input=exposition,
        capture_output=True,
        timeout=30,
        check=False,
    )
    remarks = (done.stdout + done.stderr).decode()
    assert done.returncode == 0, remarks
    assert remarks.strip() == "", remarks


def lease(ip: str, state: LeaseState | None, **kw: object) -> LeaseRecord:
    return LeaseRecord(IPv4Address(ip), binding_state=state, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the address plan


def test_plan_groups_ranges_into_pools_as_dhcpd_does() -> None:
    plan = plan_of(parse_config(PLAN_CONF))
    pools = {p.name: p for p in plan.pools}
    # Declared pool first, then one implicit pool per shared network (a lone subnet being
    # its own) and per dynamic-bootp flag.
    assert list(pools) == [
        "192.168.51.100-192.168.51.109",
        "192.168.50.10-192.168.50.19",
        "192.168.60.10-192.168.60.19",
        "192.168.60.30-192.168.60.34",
    ]
    office = pools["192.168.50.10-192.168.50.19"]
    assert [r.name for r in office.ranges] == [
        "192.168.50.10-192.168.50.19",
        "192.168.50.30-192.168.50.39",
        "192.168.51.10-192.168.51.14",
    ]
    assert office.addresses == 25
    assert office.subnets == {"192.168.50.0/24", "192.168.51.0/24"}
    assert office.shared_network == "office"
    assert not office.declared
    assert pools["192.168.51.100-192.168.51.109"].declared
    assert pools["192.168.60.30-192.168.60.34"].addresses == 5
    assert {s.name: s.addresses for s in plan.subnets} == {
        "192.168.50.0/24": 20,
        "192.168.51.0/24": 15,
        "192.168.60.0/24": 15,
    }
    assert [(n.name, n.addresses) for n in plan.shared_networks] == [("office", 35)]
    assert plan.addresses == 50
    assert plan.range_of(IPv4Address("192.168.50.35")) is not None
    assert plan.range_of(IPv4Address("192.168.50.20")) is None
    assert office.lookup_addresses() == (
        IPv4Address("192.168.50.10"),
        IPv4Address("192.168.50.19"),
        IPv4Address("192.168.50.30"),
        IPv4Address("192.168.50.39"),
    )


def test_file_counts_by_state_unlisted_as_free_and_outside() -> None:
    plan = plan_of(parse_config(PLAN_CONF))
    now = datetime(2030, 1, 1, tzinfo=UTC)
    db = parse_leases(
        "".join(
            format_lease(r)
            for r in (
                lease("192.168.50.10", LeaseState.ACTIVE),
                lease("192.168.50.11", LeaseState.ABANDONED),
                lease("192.168.50.30", LeaseState.BACKUP),
                lease("192.168.51.10", LeaseState.FREE),
                lease("192.168.51.100", LeaseState.EXPIRED),
                # no binding state: active until it ends, as dhcpd reads old files
                lease("192.168.60.10", None, ends=now + timedelta(hours=1)),
                lease("192.168.60.11", None, ends=now - timedelta(hours=1)),
                lease("10.9.9.9", LeaseState.ACTIVE),  # in no range
            )
        )
    )
    usage = count_file(plan, db, now)
    office = usage.get("pool", "192.168.50.10-192.168.50.19")
    assert office is not None
    assert office.states["active"] == 1
    assert office.states["abandoned"] == 1
    assert office.backup == 1
    assert office.unlisted == 25 - 4
    assert office.free == 21 + 1
    assert office.used == 2  # neither free nor backup
    assert usage.get("pool", "192.168.51.100-192.168.51.109").states["expired"] == 1  # type: ignore[union-attr]
    lone = usage.get("subnet", "192.168.60.0/24")
    assert lone is not None
    assert lone.states["active"] == 1
    assert lone.free == 14
    assert usage.get("shared-network", "office").addresses == 35  # type: ignore[union-attr]
    everything = usage.get("all", "")
    assert everything is not None
    assert everything.addresses == 50
    assert sum(everything.states.values()) == 50
    assert usage.outside == 1
    assert usage.leases == 8


def test_live_totals_sum_pools_and_leave_out_what_cannot_be_split() -> None:
    plan = plan_of(parse_config(PLAN_CONF))
    counts = {
        "192.168.51.100-192.168.51.109": LiveCounts(10, 4, 0),
        "192.168.50.10-192.168.50.19": LiveCounts(25, 20, 0),
        "192.168.60.10-192.168.60.19": LiveCounts(10, 10, 0),
        "192.168.60.30-192.168.60.34": None,
    }
    totals = live_totals(plan, counts)
    assert totals.get("shared-network", "office") == LiveCounts(35, 24, 0)
    # The office subnets share the implicit pool: no subnet figure for them.
    assert totals.get("subnet", "192.168.50.0/24") is None
    assert totals.get("subnet", "192.168.51.0/24") is None
    # One of 192.168.60.0/24's pools was not read: no figure rather than a wrong one.
    assert totals.get("subnet", "192.168.60.0/24") is None
    assert totals.get("all", "") is None
    assert LiveCounts(10, 8, 3).active is None  # moved while read: not negative
    assert LiveCounts(116, 8, 8).active == 100


def test_report_thresholds_give_plugin_exit_codes() -> None:
    plan = plan_of(parse_config(PAIR_CONF))
    name = plan.pools[0].name
    live = {"primary": live_totals(plan, {name: LiveCounts(116, 8, 8)})}  # 86.2 % used
    report = build_report(plan, None, live)
    assert report.check(80, 90).code == 1
    assert report.check(80, 85).code == 2
    assert report.check(90, 95).code == 0
    assert report.check().code == 0
    assert report.check(80, 90, ("range",)).code == 3  # ranges have no live figure
    assert build_report(plan).check(80, 90).code == 3  # no figure at all
    row = report.of_kind("pool")[0]
    assert row.source == "primary"
    assert row.used_percent == pytest.approx(100 * 100 / 116)


# ---------------------------------------------------------------- a pair of fakes


@dataclass
class Lab:
    primary: FakeDhcpd
    secondary: FakeDhcpd
    conf: Path
    leases: Path

    def argv(self, *extra: str) -> list[str]:
        p, s = self.primary, self.secondary
        return [
            f"--config={self.conf}",
            f"--primary={p.host}:{p.port}",
            f"--secondary={s.host}:{s.port}",
            "--timeout=2",
            *extra,
        ]

    def specs(self) -> list[ServerSpec]:
        p, s = self.primary, self.secondary
        return [ServerSpec("primary", p.host, p.port), ServerSpec("secondary", s.host, s.port)]


@pytest_asyncio.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(PAIR_CONF)
    leases = tmp_path / "dhcpd.leases"
    leases.write_text("".join(format_lease(r) for r in synthetic_leases(100)))
    primary = FakeDhcpd.like_lab(100, key=KEY, failover_peers=[FakeFailoverPeer(b"lab")])
    secondary = FakeDhcpd.like_lab(
        100, key=KEY, failover_peers=[FakeFailoverPeer(b"lab", hierarchy=1)]
    )
    async with primary, secondary:
        yield Lab(primary, secondary, conf, leases)


def monitor_of(lab: Lab, **kw: object) -> Monitor:
    options: dict[str, object] = {
        "key": KEY,
        "peer": "lab",
        "config": lab.conf,
        "leases": lab.leases,
        "request_timeout": 2.0,
        "scrape_timeout": 2.0,
        "min_interval": 0.0,
        "leases_interval": 0.0,
    }
    options.update(kw)
    return Monitor(lab.specs(), **options)  # type: ignore[arg-type]


async def http_get(
    port: int, path: str = "/metrics", *, head: str = ""
) -> tuple[int, dict[str, str], bytes]:
    """One request over a raw connection: (status, headers, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        request = head or f"GET {path} HTTP/1.1\r\nHost: test\r\nAccept: text/plain\r\n\r\n"
        writer.write(request.encode("latin-1"))
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head_bytes, _, body = raw.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def samples(exposition: bytes) -> dict[str, float]:
    """``name{labels}`` → value, labels as exposed."""
    out: dict[str, float] = {}
    for line in exposition.decode().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def value(exposition: bytes, name: str, **labels: str) -> float | None:
    """The value of the one sample of ``name`` whose labels include ``labels``."""
    found = []
    for key, v in samples(exposition).items():
        metric, _, rest = key.partition("{")
        if metric != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if all(have.get(k) == want for k, want in labels.items()):
            found.append(v)
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


async def test_exposition_passes_promtool_and_says_what_the_servers_say(lab: Lab) -> None:
    async with (
        asyncio.timeout(TEST_TIMEOUT),
        monitor_of(lab) as monitor,
        MetricsServer(monitor) as server,
    ):
        status, headers, body = await http_get(server.port)
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    promtool_check(body)
    for side in ("primary", "secondary"):
        assert value(body, "dhcpd_up", server=side) == 1
        assert value(body, "dhcpd_failover_local_state", server=side, state="normal") == 1
        assert value(body, "dhcpd_failover_local_state", server=side, state="startup") == 0
        assert value(body, "dhcpd_failover_local_state_code", server=side) == 2
        assert value(body, "dhcpd_failover_mclt_seconds", server=side) == 30
        assert value(body, "dhcpd_pool_leases", server=side) == 116
        assert value(body, "dhcpd_pool_free_leases", server=side) == 16
        assert value(body, "dhcpd_pool_active_leases", server=side) == 100
        assert value(body, "aiomapi_scrape_success", server=side, stage="pools") == 1
    assert value(body, "dhcpd_failover_pair_verdict", verdict="healthy") == 1
    assert value(body, "dhcpd_failover_pair_verdict", verdict="degraded") == 0
    assert value(body, "dhcpd_config_pool_addresses") == 116
    assert value(body, "dhcpd_leasefile_pool_leases", state="active") == 100
    assert value(body, "dhcpd_leasefile_pool_leases", state="free") == 16
    assert value(body, "dhcpd_leasefile_subnet_leases", state="active") == 100
    assert value(body, "aiomapi_scrape_success", server="", stage="leasefile") == 1
    # Every metric of the table is served here but those of shared networks (none here).
    served = {key.partition("{")[0] for key in samples(body)}
    missing = (
        {m.name for m in METRICS}
        - served
        - {
            "dhcpd_config_shared_network_addresses",
            "dhcpd_leasefile_shared_network_leases",
        }
    )
    assert {m.removesuffix("_total") for m in missing} == set(), missing


async def test_openmetrics_and_gzip_when_asked(lab: Lab) -> None:
    async with (
        asyncio.timeout(TEST_TIMEOUT),
        monitor_of(lab) as monitor,
        MetricsServer(monitor) as server,
    ):
        request = (
            "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n"
            "Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n\r\n"
        )
        status, headers, body = await http_get(server.port, head=request)
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"].startswith("application/openmetrics-text")
    text = gzip.decompress(body)
    assert text.endswith(b"# EOF\n")
    assert b'dhcpd_up{server="primary"} 1.0' in text


async def test_http_answers_only_what_it_serves(lab: Lab) -> None:
    async with asyncio.timeout(TEST_TIMEOUT), monitor_of(lab) as monitor:
        async with MetricsServer(monitor) as server:
            port = server.port
            assert (await http_get(port, "/nope"))[0] == 404
            assert (await http_get(port, "/"))[0] == 200
            post = "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
            status, headers, _ = await http_get(port, head=post)
            assert status == 405
            assert headers["allow"] == "GET, HEAD"
            assert (await http_get(port, head="nonsense\r\n\r\n"))[0] == 400
            huge = "GET /metrics HTTP/1.1\r\nX: " + "a" * (2 * MAX_HEAD) + "\r\n\r\n"
            assert (await http_get(port, head=huge))[0] == 431
            status, headers, body = await http_get(port, head="HEAD /metrics HTTP/1.1\r\n\r\n")
            assert status == 200
            assert body == b""
            assert int(headers["content-length"]) > 0
            # With a query string, as some scrapers send.
            assert (await http_get(port, "/metrics?x=1"))[0] == 200
        assert server.responses[200] >= 3


async def test_concurrent_scrapes_share_one_collection(lab: Lab) -> None:
    async with (
        asyncio.timeout(TEST_TIMEOUT),
        monitor_of(lab, min_interval=30.0) as monitor,
        MetricsServer(monitor) as server,
    ):
        answers = await asyncio.gather(*(http_get(server.port) for _ in range(20)))
        assert {status for status, _, _ in answers} == {200}
        assert monitor.collections == 1
        assert monitor.reused == 19
        body = answers[-1][2]
        assert value(body, "aiomapi_scrape_reused_total") is not None


async def test_a_server_down_is_reported_and_the_other_still_read(lab: Lab) -> None:
    async with asyncio.timeout(TEST_TIMEOUT):
        await lab.secondary.close()
        async with monitor_of(lab) as monitor, MetricsServer(monitor) as server:
            for _ in range(3):  # repeatedly: the exporter keeps answering
                status, _, body = await http_get(server.port)
                assert status == 200
            promtool_check(body)
    assert value(body, "dhcpd_up", server="secondary") == 0
    assert value(body, "dhcpd_omapi_round_trip_seconds", server="secondary") is None
    assert value(body, "dhcpd_pool_leases", server="secondary") is None
    assert value(body, "aiomapi_scrape_success", server="secondary", stage="omapi") == 0
    assert value(body, "aiomapi_scrape_success", server="secondary", stage="failover") == 0
    assert value(body, "aiomapi_scrape_errors_total", server="secondary", stage="omapi") == 3
    assert value(body, "dhcpd_failover_pair_verdict", verdict="unreachable") == 1
    assert value(body, "dhcpd_up", server="primary") == 1
    assert value(body, "dhcpd_pool_leases", server="primary") == 116
    assert value(body, "dhcpd_failover_local_state", server="primary", state="normal") == 1
    assert value(body, "aiomapi_scrape_errors_total", server="primary", stage="omapi") == 0


async def test_a_wrong_key_marks_the_servers_down(lab: Lab) -> None:
    async with asyncio.timeout(TEST_TIMEOUT), monitor_of(lab, key=WRONG_KEY) as monitor:
        snap = await monitor.snapshot()
    assert [s.up for s in snap.servers] == [False, False]
    assert all(s.error for s in snap.servers)
    assert snap.pair is not None
    assert snap.pair.verdict == "unreachable"
    # What needs no server is still there.
    assert snap.plan is not None
    assert snap.leasefile is not None
    assert snap.leasefile.usage is not None


async def test_a_broken_config_keeps_the_last_plan_and_a_broken_leasefile_is_marked(
    lab: Lab,
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT), monitor_of(lab) as monitor:
        first = await monitor.snapshot()
        assert first.config_error is None
        lab.conf.write_text(PAIR_CONF + "subnet 10.200.0.0 netmask 255.255.0.0 { range ; }\n")
        lab.leases.write_text("lease 10.100.1.0 { binding state nonsense; }\n")
        second = await monitor.snapshot()
        assert second.config_error is not None
        assert second.plan is first.plan  # the last plan that read
        assert second.servers[0].pools[0].counts is not None
        await asyncio.sleep(0.05)  # the lease file is parsed in a thread
        third = await monitor.snapshot()
        assert third.leasefile is not None
        assert third.leasefile.error is not None
        assert third.leasefile.usage is None
        stages = {(s, st): ok for s, st, ok in third.stages()}
        assert stages[("", "config")] is False
        assert stages[("", "leasefile")] is False
        assert stages[("primary", "pools")] is True
        # A changed config that reads is taken: a second pool appears.
        lab.conf.write_text(
            PAIR_CONF + 'subnet 10.200.0.0 netmask 255.255.0.0 { pool { failover peer "lab"; '
            "range 10.200.0.10 10.200.0.19; } }\n"
        )
        fourth = await monitor.snapshot()
    assert fourth.config_error is None
    assert fourth.plan is not None
    assert len(fourth.plan.pools) == 2
    missing = [p for p in fourth.servers[0].pools if p.error]
    assert [p.pool for p in missing] == ["10.200.0.10-10.200.0.19"]
    assert "no lease" in (missing[0].error or "")


# ---------------------------------------------------------------- the commands


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aiomapi")
    sub = parser.add_subparsers(required=True)
    add_exporter_parser(sub)
    add_pools_parser(sub)
    return parser.parse_args(argv)


async def run(*argv: str) -> int:
    args = parse(*argv)
    code: int = await args.command(args)
    return code


async def test_pools_json_and_exit_codes(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    async with asyncio.timeout(TEST_TIMEOUT):
        assert await run("pools", *lab.argv(f"--leases={lab.leases}", "--json")) == 0
        doc = json.loads(capsys.readouterr().out)
        pool = next(r for r in doc["rows"] if r["kind"] == "pool")
        assert pool["addresses"] == 116
        assert pool["leasefile"]["active"] == 100
        assert pool["live"]["primary"] == {
            "leases": 116,
            "free": 16,
            "backup": 0,
            "active": 100,
            "used_percent": 86.21,
        }
        assert [s["answered"] for s in doc["servers"]] == [True, True]
        argv = lab.argv(f"--leases={lab.leases}", "--format=plugin")
        assert await run("pools", *argv, "--warning=80", "--critical=90") == 1
        line = capsys.readouterr().out
        assert line.startswith("POOLS WARNING - 1 checked, highest pool 10.100.1.0-10.100.1.115")
        assert "'pool 10.100.1.0-10.100.1.115'=86.2%;80;90;0;100" in line
        assert await run("pools", *argv, "--critical=86") == 2
        assert await run("pools", *argv, "--warning=90") == 0
        capsys.readouterr()
        assert await run("pools", *lab.argv("--format=csv")) == 0
        csv_text = capsys.readouterr().out
        assert csv_text.splitlines()[0].startswith("kind,name,subnet,shared_network,addresses")
        # Servers down and no lease file: nothing to judge.
        await lab.primary.close()
        await lab.secondary.close()
        assert await run("pools", *lab.argv("--warning=80")) == 3
        # The lease file alone still judges.
        assert await run("pools", *lab.argv(f"--leases={lab.leases}", "--warning=80")) == 1
        assert await run("pools", *lab.argv("--no-live", f"--leases={lab.leases}")) == 0
        out = capsys.readouterr().out
        assert "86.2" in out
        assert await run("pools", "--primary=127.0.0.1:1", "--secondary=127.0.0.1:2") == 3


async def test_exporter_once_prints_the_metrics(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT):
        assert await run("exporter", *lab.argv("--once")) == 0
    body = capsys.readouterr().out.encode()
    assert value(body, "dhcpd_up", server="primary") == 1
    promtool_check(body)


async def test_exporter_serves_until_cancelled(lab: Lab) -> None:
    with socket.socket() as probe:  # a free port (the exporter prints it, but to stderr)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = parse("exporter", *lab.argv(f"--listen=127.0.0.1:{port}"))
    task = asyncio.create_task(args.command(args))
    try:
        async with asyncio.timeout(TEST_TIMEOUT):
            while True:
                try:
                    status, _, body = await http_get(port)
                    break
                except OSError:
                    assert not task.done()
                    await asyncio.sleep(0.05)
        assert status == 200
        assert value(body, "dhcpd_up", server="secondary") == 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_exporter_usage_errors_exit_64(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run("exporter", "--primary=127.0.0.1:1") == 64  # no secondary, no peer
    assert "no failover peer name" in capsys.readouterr().err
    assert await run("exporter", "--server=127.0.0.1:1", "--listen=nonsense") == 64


def test_server_without_failover_is_found_on_this_machine(tmp_path: Path) -> None:
    from aiomapi.monitor.targets import targets_from_options

    conf = tmp_path / "dhcpd.conf"
    conf.write_text(PLAN_CONF + "omapi-port 7912;\n")
    targets = targets_from_options(parse("pools", f"--config={conf}"))
    assert [(s.label, s.address) for s in targets.servers] == [("server", "127.0.0.1:7912")]
    assert targets.peer is None
    targets = targets_from_options(parse("pools", f"--config={conf}", "--server=10.0.0.1"))
    assert [s.address for s in targets.servers] == ["10.0.0.1:7912"]


# ---------------------------------------------------------------- the documentation


def test_docs_describe_every_metric() -> None:
    text = (ROOT / "docs" / "monitoring.md").read_text()
    documented = set(re.findall(r"^\| `((?:dhcpd|aiomapi)_[a-z_]+)`", text, re.MULTILINE))
    assert documented == {m.name for m in METRICS}


def test_dashboard_queries_only_metrics_that_exist() -> None:
    dashboard = json.loads((ROOT / "dashboards" / "aiomapi-grafana.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert exprs
    names = {m.name for m in METRICS}
    used = {n for expr in exprs for n in re.findall(r"\b((?:dhcpd|aiomapi)_[a-z_]+)\b", expr)}
    assert used <= names, used - names
    # The panels are the ones docs/monitoring.md describes, by title.
    text = (ROOT / "docs" / "monitoring.md").read_text()
    for panel in dashboard["panels"]:
        assert f"**{panel['title']}**" in text, panel["title"]
