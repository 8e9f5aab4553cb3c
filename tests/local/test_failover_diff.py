"""The peer diff without a real dhcpd: the classification rules on hand-built leases, address
sets, and compare_peers / wait_consistent / ``failover diff`` against two in-memory servers.

What a real pair does (which differences are normal, which are drift, how fast) is checked in
test_failover_diff_dhcpd.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest

import aiomapi
from aiomapi import NEVER, UNSET, FailoverHierarchy, Lease, LeaseState, MacAddress, cli
from aiomapi.cli.exits import Exit
from aiomapi.config import parse_config
from aiomapi.failover.cli_diff import Progress, add_diff_parser, format_diff
from aiomapi.failover.diff import (
    DiffKind,
    Tolerated,
    classify,
    compare_peers,
    wait_consistent,
)
from aiomapi.ranges import (
    MAX_ADDRESSES,
    AddressSet,
    from_config,
    from_ips_file,
    from_leases_file,
    parse_spec,
)
from aiomapi.testing import FakeDhcpd, FakeFailoverPeer, synthetic_leases

KEY = aiomapi.Key("omapi_key", "c2VjcmV0IHNlY3JldCBzZWNyZXQ=")
IP = IPv4Address("10.100.1.7")
T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
MAC_A = MacAddress("02:00:00:00:00:0a")
MAC_B = MacAddress("02:00:00:00:00:0b")
S = LeaseState
TEST_TIMEOUT = 30


def lease(state: LeaseState = S.ACTIVE, **fields: object) -> Lease:
    values: dict[str, object] = {
        "handle": 1,
        "state": state,
        "ip_address": IP,
        "hardware_address": MAC_A,
        "hardware_type": 1,
        "ends": T0,
        "tstp": T0,
        "tsfp": T0,
        "atsfp": T0,
        "cltt": T0,
    }
    values.update(fields)
    return Lease(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- classification


def test_equal_leases_agree() -> None:
    verdict = classify(IP, lease(), lease())
    assert verdict.difference is None
    assert verdict.tolerated == ()
    assert verdict.state is S.ACTIVE


@pytest.mark.parametrize(
    ("primary", "secondary", "kind"),
    [
        (S.EXPIRED, S.ACTIVE, DiffKind.EXPIRY_NOT_FOLLOWED),
        (S.ACTIVE, S.EXPIRED, DiffKind.EXPIRY_NOT_FOLLOWED),
        (S.RELEASED, S.ACTIVE, DiffKind.RELEASE_NOT_FOLLOWED),
        (S.FREE, S.ACTIVE, DiffKind.BINDING),
        (S.ACTIVE, S.BACKUP, DiffKind.BINDING),
        (S.RESET, S.ACTIVE, DiffKind.BINDING),
        (S.ABANDONED, S.ACTIVE, DiffKind.ABANDONED),
        (S.FREE, S.ABANDONED, DiffKind.ABANDONED),
        (S.FREE, S.BACKUP, DiffKind.OWNERSHIP),
        (S.BACKUP, S.FREE, DiffKind.OWNERSHIP),
        (S.EXPIRED, S.FREE, DiffKind.STATE),
        (S.RELEASED, S.BACKUP, DiffKind.STATE),
    ],
)
def test_state_pairs(primary: LeaseState, secondary: LeaseState, kind: DiffKind) -> None:
    verdict = classify(IP, lease(primary), lease(secondary))
    assert verdict.difference is not None
    assert verdict.difference.kind is kind
    assert "state" in verdict.difference.fields
    assert verdict.difference.why
    assert verdict.difference.remedy
    assert verdict.state is None


def test_expiry_not_followed_says_release_it_on_the_primary() -> None:
    d = classify(IP, lease(S.EXPIRED), lease(S.ACTIVE)).difference
    assert d is not None
    assert d.remedy.startswith("release it on the primary")
    assert "invalid state transition" in d.why


def test_stale_binding_says_resync_the_secondary() -> None:
    d = classify(IP, lease(S.FREE), lease(S.ACTIVE)).difference
    assert d is not None
    assert "resync the secondary" in d.remedy


def test_active_on_both_for_different_clients_is_a_conflict() -> None:
    d = classify(IP, lease(), lease(hardware_address=MAC_B)).difference
    assert d is not None
    assert (d.kind, d.fields) == (DiffKind.CONFLICT, ("hardware_address",))
    d = classify(IP, lease(dhcp_client_identifier=b"\x01a"), lease()).difference
    assert d is not None
    assert (d.kind, d.fields) == (DiffKind.CONFLICT, ("client_id",))
    # the same octets as another hardware type are another client
    d = classify(IP, lease(), lease(hardware_type=6)).difference
    assert d is not None
    assert d.kind is DiffKind.CONFLICT


def test_ends_within_mclt_are_normal_beyond_it_drift() -> None:
    later = lease(ends=T0 + timedelta(seconds=30))
    verdict = classify(IP, lease(), later, mclt=30)
    assert verdict.difference is None
    assert verdict.tolerated == (Tolerated.ENDS_WITHIN_MCLT,)
    d = classify(IP, lease(), later, mclt=29).difference
    assert d is not None
    assert (d.kind, d.fields) == (DiffKind.STALE_ENDS, ("ends",))
    d = classify(IP, lease(), later).difference  # no MCLT: ends must be equal
    assert d is not None
    assert d.kind is DiffKind.STALE_ENDS
    d = classify(IP, lease(), lease(ends=NEVER), mclt=3600).difference
    assert d is not None
    assert d.kind is DiffKind.STALE_ENDS


def test_failover_times_and_cltt_are_normal() -> None:
    verdict = classify(IP, lease(tstp=UNSET), lease(tsfp=T0 + timedelta(hours=1)))
    assert verdict.difference is None
    assert verdict.tolerated == (Tolerated.FAILOVER_TIMES,)
    verdict = classify(IP, lease(cltt=T0 - timedelta(seconds=1)), lease())
    assert verdict.difference is None
    assert verdict.tolerated == (Tolerated.CLTT,)


def test_client_and_ends_of_a_lease_not_active_are_history() -> None:
    verdict = classify(
        IP,
        lease(S.FREE, ends=T0),
        lease(S.FREE, hardware_address=None, hardware_type=None, ends=UNSET),
    )
    assert verdict.difference is None
    assert verdict.tolerated == (Tolerated.HISTORY,)
    assert verdict.state is S.FREE


def test_lookups_missing_failing_absent() -> None:
    not_found = aiomapi.NotFound(23, "no object matches specification")
    assert classify(IP, not_found, not_found).absent
    d = classify(IP, lease(), not_found).difference
    assert d is not None
    assert (d.kind, d.fields) == (DiffKind.MISSING, ("lookup",))
    assert d.remedy.endswith("(the secondary)")
    d = classify(IP, aiomapi.TimeoutError("timed out"), lease()).difference
    assert d is not None
    assert d.kind is DiffKind.LOOKUP_ERROR
    assert d.remedy.endswith("(the primary)")
    d = classify(IP, not_found, aiomapi.TimeoutError("timed out")).difference
    assert d is not None
    assert d.kind is DiffKind.LOOKUP_ERROR
    assert d.remedy.endswith("(the secondary)")
    assert d.to_json()["secondary"] == {"error": "TimeoutError: timed out"}


def test_difference_json() -> None:
    d = classify(IP, lease(S.EXPIRED, dhcp_client_identifier=b"\x01\x02"), lease()).difference
    assert d is not None
    data = d.to_json()
    assert data["ip"] == "10.100.1.7"
    assert data["kind"] == "expiry-not-followed"
    assert data["primary"] == {
        "state": "expired",
        "hardware_address": "02:00:00:00:00:0a",
        "client_id": "01:02",
        "ends": T0.isoformat(),
        "tstp": T0.isoformat(),
        "tsfp": T0.isoformat(),
        "atsfp": T0.isoformat(),
        "cltt": T0.isoformat(),
    }
    assert json.loads(json.dumps(data)) == data


# ---------------------------------------------------------------- address sets


def test_address_specs() -> None:
    assert parse_spec("10.0.0.0/30") == (int(IPv4Address("10.0.0.0")), int(IPv4Address("10.0.0.3")))
    assert parse_spec(" 10.0.0.9-10.0.0.5 ") == (
        int(IPv4Address("10.0.0.5")),
        int(IPv4Address("10.0.0.9")),
    )
    assert parse_spec("10.0.0.1") == (int(IPv4Address("10.0.0.1")),) * 2
    for bad in ("10.0.0.1/24", "10.0.0", "10.0.0.1-x", "", "::1", "10.0.0.0/33"):
        with pytest.raises(ValueError, match="not an address"):
            parse_spec(bad)


def test_address_sets_merge_count_and_iterate() -> None:
    s = AddressSet.parse(["10.0.0.0/30", "10.0.0.4", "10.0.0.2-10.0.0.3", "10.0.1.0"])
    assert s.intervals == (
        (int(IPv4Address("10.0.0.0")), int(IPv4Address("10.0.0.4"))),
        (int(IPv4Address("10.0.1.0")),) * 2,
    )
    assert len(s) == 6
    assert [str(ip) for ip in s][-2:] == ["10.0.0.4", "10.0.1.0"]
    assert "10.0.0.3" in s
    assert IPv4Address("10.0.0.5") not in s
    assert "junk" not in s
    assert str(s) == "10.0.0.0-10.0.0.4, 10.0.1.0"
    assert len(s | AddressSet.parse(["10.0.0.5"])) == 7
    assert not AddressSet()
    with pytest.raises(ValueError, match="more than the limit"):
        AddressSet.parse(["10.0.0.0/7"])
    assert len(AddressSet.parse(["10.0.0.0/8"])) == MAX_ADDRESSES
    with pytest.raises(ValueError, match="more than the limit of 4"):
        AddressSet.parse(["10.0.0.0/29"], limit=4)


def test_ips_file(tmp_path: Path) -> None:
    path = tmp_path / "ips"
    path.write_text("# leases to release\n10.0.0.1\n\n10.0.0.8/30  # a block\n10.0.0.1\n")
    assert [str(ip) for ip in from_ips_file(path)] == [
        "10.0.0.1",
        "10.0.0.8",
        "10.0.0.9",
        "10.0.0.10",
        "10.0.0.11",
    ]
    path.write_text("10.0.0.1\n10.0.0.300\n")
    with pytest.raises(ValueError, match=r"ips:2: not an address"):
        from_ips_file(path)


def test_leases_file(tmp_path: Path) -> None:
    path = tmp_path / "dhcpd.leases"
    path.write_text(
        "lease 10.0.0.5 { binding state active; }\n"
        "lease 10.0.0.6 { binding state free; }\n"
        "lease 10.0.0.5 { binding state active; }\n"
    )
    assert [str(ip) for ip in from_leases_file(path)] == ["10.0.0.5", "10.0.0.6"]
    assert [str(ip) for ip in from_leases_file(path, states=[S.ACTIVE])] == ["10.0.0.5"]


CONF = """\
omapi-port 7911;
failover peer "lab" { primary; address 10.254.0.1; port 647; peer address 10.254.0.2;
  peer port 647; max-response-delay 5; max-unacked-updates 10; mclt 5; split 128; }
subnet 10.0.0.0 netmask 255.255.255.0 {
  range 10.0.0.200 10.0.0.201;
  pool { failover peer "lab"; range 10.0.0.10 10.0.0.12; range 10.0.0.20; }
}
subnet 10.0.1.0 netmask 255.255.255.0 { pool { range 10.0.1.5 10.0.1.6; } }
"""


def test_config_ranges() -> None:
    config = parse_config(CONF)
    everything = [str(ip) for ip in from_config(config)]
    assert everything == [
        "10.0.0.10",
        "10.0.0.11",
        "10.0.0.12",
        "10.0.0.20",
        "10.0.0.200",
        "10.0.0.201",
        "10.0.1.5",
        "10.0.1.6",
    ]
    shared = [str(ip) for ip in from_config(config, peer="lab")]
    assert shared == ["10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.20"]


# ---------------------------------------------------------------- against in-memory servers


def peer(hierarchy: FailoverHierarchy) -> FakeFailoverPeer:
    return FakeFailoverPeer(
        b"lab", hierarchy=hierarchy, local_state=2, partner_state=2, mclt=5, max_response_delay=5
    )


@contextlib.asynccontextmanager
async def fake_pair(n: int = 40) -> AsyncIterator[tuple[FakeDhcpd, FakeDhcpd]]:
    now = datetime.now(UTC).replace(microsecond=0)
    async with (
        FakeDhcpd(
            key=KEY,
            leases=synthetic_leases(n, now=now),
            failover_peers=[peer(FailoverHierarchy.PRIMARY)],
        ) as a,
        FakeDhcpd(
            key=KEY,
            leases=synthetic_leases(n, now=now),
            failover_peers=[peer(FailoverHierarchy.SECONDARY)],
        ) as b,
    ):
        yield a, b


def client(server: FakeDhcpd) -> aiomapi.Client:
    return aiomapi.Client(server.host, server.port, key=KEY, timeout=5)


def ips(n: int) -> list[str]:
    return [str(IPv4Address("10.100.1.0") + i) for i in range(n)]


async def test_compare_two_servers_with_drift() -> None:
    async with asyncio.timeout(TEST_TIMEOUT), fake_pair() as (a, b):
        expired = a.lease("10.100.1.3")
        assert expired is not None
        expired.state = int(S.EXPIRED)
        other = b.lease("10.100.1.4")
        assert other is not None
        other.hardware_address = b"\x02\x00\x00\x00\x99\x99"
        seen: list[int] = []
        async with client(a) as p, client(b) as s:
            report = await compare_peers(
                p, s, ips(42), settle=0, peer="lab", chunk=16, progress=seen.append
            )
        assert seen == [16, 32, 42]
        assert (report.compared, report.leases) == (42, 40)  # two addresses are no lease
        assert report.failover == ("normal", "normal")
        assert report.mclt == 5  # the primary's, read with the peer's state
        assert [(str(d.ip), d.kind) for d in report.differences] == [
            ("10.100.1.3", DiffKind.EXPIRY_NOT_FOLLOWED),
            ("10.100.1.4", DiffKind.CONFLICT),
        ]
        assert report.counts == {"expiry-not-followed": 1, "conflict": 1}
        assert report.states == {"active": 38}
        assert not report.consistent
        data = json.loads(json.dumps(report.to_json()))
        assert data["compared"] == 42
        assert [d["ip"] for d in data["differences"]] == ["10.100.1.3", "10.100.1.4"]
        assert data["consistent"] is False
        text = format_diff(report)
        assert "DRIFT: 2 leases differ" in text
        assert "remedy: release it on the primary" in text


async def test_a_difference_gone_when_read_again_is_settled() -> None:
    async with asyncio.timeout(TEST_TIMEOUT), fake_pair() as (a, b):
        moving = b.lease("10.100.1.9")
        assert moving is not None
        moving.state = int(S.FREE)

        def arrive() -> None:  # the binding update lands
            assert moving is not None
            moving.state = int(S.ACTIVE)

        asyncio.get_running_loop().call_later(0.1, arrive)
        async with client(a) as p, client(b) as s:
            report = await compare_peers(p, s, ips(40), settle=0.3)
        assert report.consistent
        assert report.settled == 1
        assert report.states == {"active": 40}
        assert report.mclt is None


async def test_wait_consistent_is_bounded() -> None:
    async with asyncio.timeout(TEST_TIMEOUT), fake_pair() as (a, b):
        stuck = a.lease("10.100.1.1")
        assert stuck is not None
        stuck.state = int(S.FREE)
        loop = asyncio.get_running_loop()
        async with client(a) as p, client(b) as s:
            started = loop.time()
            report = await wait_consistent(p, s, ips(40), timeout=0.5, interval=0.1)
            assert loop.time() - started < 3
        assert [d.kind for d in report.differences] == [DiffKind.BINDING]
        assert report.compared == 40


def test_progress_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    quiet = io.StringIO()
    progress = Progress("compared", 10, stream=quiet)
    progress(10)
    progress.close()
    assert quiet.getvalue() == ""
    tty = Tty()
    progress = Progress("compared", 10, stream=tty)
    progress(5, {"released": 5})
    progress(10, {"released": 10})
    progress.close()
    out = tty.getvalue()
    assert "compared" in out
    assert "5/10" in out
    assert "10/10" in out
    assert "released 10" in out
    off = Tty()
    Progress("compared", 10, stream=off, enabled=False)(10)
    assert off.getvalue() == ""


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aiomapi failover")
    add_diff_parser(parser.add_subparsers(required=True))
    return parser.parse_args(["diff", *argv])


def pair_args(a: FakeDhcpd, b: FakeDhcpd) -> list[str]:
    return [
        f"--primary={a.host}:{a.port}",
        f"--secondary={b.host}:{b.port}",
        "--peer=lab",
        f"--key={KEY.name}:{KEY.secret}",
        "--timeout=5",
    ]


async def test_diff_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    async with asyncio.timeout(TEST_TIMEOUT), fake_pair() as (a, b):
        args = parse(
            *pair_args(a, b),
            "--range",
            "10.100.1.0/27",
            "10.100.1.32-10.100.1.41",
            "--json",
            "--settle=0",
        )
        assert await args.command(args) == 0
        data = json.loads(capsys.readouterr().out)
        assert (data["compared"], data["differences"]) == (42, [])
        assert data["consistent"] is True

        gone = b.lease("10.100.1.20")
        assert gone is not None
        gone.state = int(S.FREE)
        ips_file = tmp_path / "ips"
        ips_file.write_text("10.100.1.20\n10.100.1.21\n")
        args = parse(*pair_args(a, b), "--ips-file", str(ips_file), "--json", "--settle=0")
        assert await args.command(args) == 1
        data = json.loads(capsys.readouterr().out)
        assert data["compared"] == 2
        assert [(d["ip"], d["kind"]) for d in data["differences"]] == [("10.100.1.20", "binding")]

        # the config's pools under the peer, when no other source is given
        conf = tmp_path / "dhcpd.conf"
        conf.write_text(
            CONF.replace("10.0.0.0 netmask 255.255.255.0", "10.100.0.0 netmask 255.252.0.0")
            .replace("10.0.0.200 10.0.0.201", "10.100.2.0")
            .replace("10.0.0.10 10.0.0.12", "10.100.1.18 10.100.1.22")
            .replace("10.0.0.20", "10.100.2.1")
        )
        args = parse(*pair_args(a, b), "--config", str(conf), "--settle=0")
        assert await args.command(args) == 1
        out = capsys.readouterr().out
        assert "compared 6 addresses (5 leases)" in out  # 10.0.0.20 is no lease here
        assert "10.100.1.20  binding" in out


async def test_diff_command_without_addresses_or_servers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT), fake_pair() as (a, b):
        args = parse(*pair_args(a, b))
        with pytest.raises(ValueError, match="which addresses"):
            await args.command(args)
        await b.close()
        args = parse(*pair_args(a, b), "--range", "10.100.1.0")
        with pytest.raises(aiomapi.NetworkError):  # the entry point turns it into UNKNOWN
            await args.command(args)
        argv = ["failover", "diff", *pair_args(a, b), "--range", "10.100.1.0", "--json"]
        capsys.readouterr()
        assert await asyncio.to_thread(cli.main, argv) == Exit.UNKNOWN
        error = json.loads(capsys.readouterr().out)
        assert (error["error"], error["exit"]) == ("NetworkError", Exit.UNKNOWN)
        assert error["hint"]
