"""FailoverPair without a real dhcpd: the verdict rules, where --config finds the servers,
and the commands against two in-memory servers.

What the real pair does is checked in test_failover_pair_dhcpd.py (states, timings) and
test_failover_pair_shutdown_dhcpd.py (OMAPI shutdown against TERM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import aiomapi
from aiomapi import FailoverHierarchy, FailoverPeer, FailoverState, cli
from aiomapi.failover.cli_pair import add_pair_parsers
from aiomapi.failover.connect import PairTarget, ServerAddress, parse_host_port, resolve
from aiomapi.failover.pair import (
    EXIT_CODES,
    FailoverPair,
    PairStatus,
    PeerStatus,
    RefusedError,
    Verdict,
    judge,
    state_name,
)
from aiomapi.testing import FakeDhcpd, FakeFailoverPeer

S = FailoverState
N, CI, PD = S.NORMAL, S.COMMUNICATIONS_INTERRUPTED, S.PARTNER_DOWN
NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
KEY = aiomapi.Key("omapi_key", "c2VjcmV0IHNlY3JldCBzZWNyZXQ=")
SPLIT_128 = b"\xff" * 16 + b"\x00" * 16


def peer(
    side: str,
    local: S | int,
    partner: S | int,
    *,
    age: float = 100.0,
    partner_age: float = 100.0,
    mrd: int = 5,
) -> FailoverPeer:
    return FailoverPeer(
        handle=1,
        name="lab",
        partner_port=647,
        local_port=647,
        max_outstanding_updates=10,
        mclt=5,
        load_balance_max_secs=5,
        load_balance_hba=SPLIT_128,
        partner_state=partner,
        local_state=local,
        partner_stos=NOW - timedelta(seconds=partner_age),
        local_stos=NOW - timedelta(seconds=age),
        hierarchy=FailoverHierarchy.PRIMARY if side == "primary" else FailoverHierarchy.SECONDARY,
        max_response_delay=mrd,
    )


def read(side: str, local: S | int, partner: S | int, **kw: float) -> PeerStatus:
    return PeerStatus(side, f"{side}:7911", peer(side, local, partner, **kw))  # type: ignore[arg-type]


def unread(side: str) -> PeerStatus:
    return PeerStatus(side, f"{side}:7911", error="ConnectionError_: refused")  # type: ignore[arg-type]


def verdict(p: PeerStatus, s: PeerStatus) -> Verdict:
    return judge(p, s, NOW)[0]


# ---------------------------------------------------------------- verdict rules


@pytest.mark.parametrize(
    ("primary", "secondary", "want"),
    [
        ((N, N), (N, N), Verdict.HEALTHY),
        ((CI, N), (CI, N), Verdict.DEGRADED),  # a cut: each still believes the other normal
        ((CI, N), (N, N), Verdict.INCONSISTENT),  # the secondary should have noticed by now
        ((PD, CI), (CI, N), Verdict.PARTNER_DOWN),
        ((PD, S.RECOVER_WAIT), (S.RECOVER_WAIT, PD), Verdict.RECOVERING),  # a resync
        ((PD, S.RECOVER), (S.RECOVER, PD), Verdict.RECOVERING),
        ((N, N), (S.STARTUP, N), Verdict.INCONSISTENT),  # startup for 100 s, primary unaware
        ((S.STARTUP, N), (CI, N), Verdict.RECOVERING),
        (
            (S.POTENTIAL_CONFLICT, S.POTENTIAL_CONFLICT),
            (S.POTENTIAL_CONFLICT, S.POTENTIAL_CONFLICT),
            Verdict.RECOVERING,
        ),
        ((S.RESOLUTION_INTERRUPTED, N), (CI, N), Verdict.RECOVERING),
        ((S.SHUTDOWN, N), (CI, N), Verdict.RECOVERING),
        ((S.PAUSED, N), (CI, N), Verdict.RECOVERING),
        ((99, N), (CI, N), Verdict.RECOVERING),  # a state dhcpd does not define
    ],
)
def test_verdicts(primary: tuple[S, S], secondary: tuple[S, S], want: Verdict) -> None:
    got, reasons = judge(read("primary", *primary), read("secondary", *secondary), NOW)
    assert got is want, reasons
    assert reasons
    assert all(isinstance(r, str) and r for r in reasons)


def test_a_young_difference_is_a_change_on_its_way() -> None:
    # The secondary moved to recover 1 s ago; the primary has not heard yet.
    p = read("primary", N, N)
    s = read("secondary", S.RECOVER, N, age=1)
    got, reasons = judge(p, s, NOW)
    assert got is Verdict.RECOVERING
    assert any("not counted yet" in r for r in reasons)
    # The same difference older than max-response-delay (+1 s of stos rounding) counts.
    assert verdict(p, read("secondary", S.RECOVER, N, age=5.5)) is Verdict.RECOVERING
    assert verdict(p, read("secondary", S.RECOVER, N, age=6.5)) is Verdict.INCONSISTENT


def test_beliefs_of_a_server_out_of_touch_are_not_compared() -> None:
    # In communications-interrupted a server's view of its partner is the last it heard.
    assert verdict(read("primary", CI, N), read("secondary", CI, N)) is Verdict.DEGRADED


def test_partner_down_while_the_partner_still_serves_says_so() -> None:
    got, reasons = judge(read("primary", PD, CI), read("secondary", CI, N), NOW)
    assert got is Verdict.PARTNER_DOWN
    assert any("answering clients too" in r for r in reasons)


def test_unreachable() -> None:
    got, reasons = judge(read("primary", CI, N), unread("secondary"), NOW)
    assert got is Verdict.UNREACHABLE
    assert "the secondary (secondary:7911) could not be read" in reasons[0]
    assert "the primary is in communications-interrupted" in reasons[1]
    one = PairStatus("lab", read("primary", CI, N), unread("secondary"), got, reasons, NOW)
    assert one.exit_code == 2
    both = PairStatus("lab", unread("primary"), unread("secondary"), got, reasons, NOW)
    assert both.exit_code == 3


def test_exit_codes_follow_the_monitoring_plugin_convention() -> None:
    assert EXIT_CODES == {
        Verdict.HEALTHY: 0,
        Verdict.DEGRADED: 1,
        Verdict.RECOVERING: 1,
        Verdict.PARTNER_DOWN: 2,
        Verdict.INCONSISTENT: 2,
        Verdict.UNREACHABLE: 2,
    }


def test_peer_status_fields() -> None:
    p = read("primary", N, N, age=42)
    assert p.service == "cooperating"
    assert p.answers_clients
    assert p.primary_share == 50.0
    assert p.seconds_in_state(NOW) == 42
    assert read("secondary", CI, N).service == "not-cooperating"
    assert read("secondary", PD, N).service == "partner-down"
    assert read("secondary", S.STARTUP, N).service == "startup"
    assert read("secondary", S.RECOVER, N).service == "not-responding"
    assert not read("secondary", S.RECOVER, N).answers_clients
    assert state_name(99) == "state-99"
    assert state_name(CI) == "communications-interrupted"


def test_json_contract() -> None:
    p, s = read("primary", CI, N), read("secondary", CI, N)
    v, reasons = judge(p, s, NOW)
    doc = PairStatus("lab", p, s, v, reasons, NOW).to_json()
    json.dumps(doc)
    assert doc["verdict"] == "degraded"
    for side in ("primary", "secondary"):
        part = doc[side]
        assert isinstance(part, dict)
        assert part["local_state"] == "communications-interrupted"
        assert part["partner_state"] == "normal"


# ---------------------------------------------------------------- where the pair is

PRIMARY_CONF = """\
omapi-port 7911;
key omapi_key { algorithm hmac-md5; secret "c2VjcmV0IHNlY3JldCBzZWNyZXQ="; };
omapi-key omapi_key;
failover peer "dhcp" {
  primary; address 192.0.2.1; port 647; peer address 192.0.2.2; peer port 647;
  max-response-delay 30; max-unacked-updates 10; mclt 600; split 128;
  load balance max seconds 3;
}
subnet 10.0.0.0 netmask 255.255.255.0 {
  pool { failover peer "dhcp"; range 10.0.0.10 10.0.0.20; }
}
"""


def test_config_of_the_primary(tmp_path: Path) -> None:
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(PRIMARY_CONF)
    target = resolve(config=conf, env={})
    assert target.primary == ServerAddress("192.0.2.1", 7911)
    assert target.secondary == ServerAddress("192.0.2.2", 7911)
    assert target.peer == "dhcp"
    assert target.key == KEY


def test_config_of_the_secondary(tmp_path: Path) -> None:
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(
        PRIMARY_CONF.replace("primary;", "secondary;")
        .replace("address 192.0.2.1", "address @")
        .replace("address 192.0.2.2", "address 192.0.2.1")
        .replace("address @", "address 192.0.2.2")
        .replace("mclt 600; split 128;", "")
    )
    target = resolve(config=conf, env={})
    assert target.primary == ServerAddress("192.0.2.1", 7911)
    assert target.secondary == ServerAddress("192.0.2.2", 7911)


def test_flags_override_the_config(tmp_path: Path) -> None:
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(PRIMARY_CONF)
    other = aiomapi.Key("other", "b3RoZXI=")
    target = resolve(
        config=conf,
        primary="10.0.0.1",
        secondary="10.0.0.2:7912",
        key=other,
        env={"AIOMAPI_KEY": "x:eHh4"},
    )
    assert target.primary == ServerAddress("10.0.0.1", 7911)
    assert target.secondary == ServerAddress("10.0.0.2", 7912)
    assert target.key == other


def test_without_config(tmp_path: Path) -> None:
    target = resolve(primary="a", secondary="b", env={"AIOMAPI_PEER": "p", "AIOMAPI_PORT": "9"})
    assert target == PairTarget(ServerAddress("a", 9), ServerAddress("b", 9), "p", None)
    with pytest.raises(ValueError, match="--peer"):
        resolve(primary="a", secondary="b", env={})
    with pytest.raises(ValueError, match="--secondary"):
        resolve(primary="a", peer="p", env={})
    (tmp_path / "c").write_text(PRIMARY_CONF)
    with pytest.raises(ValueError, match="no failover peer 'x'"):
        resolve(config=tmp_path / "c", peer="x", env={})


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("h", ServerAddress("h", 1)),
        ("h:2", ServerAddress("h", 2)),
        ("[::1]:3", ServerAddress("::1", 3)),
        ("[::1]", ServerAddress("::1", 1)),
    ],
)
def test_parse_host_port(text: str, want: ServerAddress) -> None:
    assert parse_host_port(text, 1) == want


@pytest.mark.parametrize("text", ["", ":1", "h:0", "h:70000", "h:x", "[::1"])
def test_parse_host_port_errors(text: str) -> None:
    with pytest.raises(ValueError, match=r"HOST|host|port"):
        parse_host_port(text, 1)


# ---------------------------------------------------------------- commands on fake servers


def fake(hierarchy: int, local: S, partner: S) -> FakeFailoverPeer:
    stos = int(time.time()) - 100
    return FakeFailoverPeer(
        b"lab",
        hierarchy=hierarchy,
        local_state=int(local),
        partner_state=int(partner),
        local_stos=stos,
        partner_stos=stos,
        mclt=5,
        max_response_delay=5,
    )


@contextlib.asynccontextmanager
async def fake_pair(
    primary: tuple[S, S], secondary: tuple[S, S]
) -> AsyncIterator[tuple[FakeDhcpd, FakeDhcpd]]:
    async with (
        FakeDhcpd(key=KEY, failover_peers=[fake(0, *primary)]) as a,
        FakeDhcpd(key=KEY, failover_peers=[fake(1, *secondary)]) as b,
    ):
        yield a, b


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_pair_parsers(parser.add_subparsers(required=True))
    return parser.parse_args(argv)


def pair_args(a: FakeDhcpd, b: FakeDhcpd) -> list[str]:
    return [
        f"--primary={a.host}:{a.port}",
        f"--secondary={b.host}:{b.port}",
        "--peer=lab",
        "--key=omapi_key:c2VjcmV0IHNlY3JldCBzZWNyZXQ=",
        "--timeout=5",
    ]


async def run(*argv: str) -> int:
    args = parse(*argv)
    code: int = await asyncio.wait_for(args.command(args), 30)
    return code


async def run_main(*argv: str) -> int:
    """``aiomapi failover argv`` through the entry point (errors become exit codes)."""
    return await asyncio.wait_for(asyncio.to_thread(cli.main, ["failover", *argv]), 30)


async def test_status_command_on_fakes(capsys: pytest.CaptureFixture[str]) -> None:
    async with fake_pair((N, N), (N, N)) as (a, b):
        assert await run("status", *pair_args(a, b)) == 0
        assert 'failover peer "lab": healthy (exit 0)' in capsys.readouterr().out
        assert await run("status", "--json", *pair_args(a, b)) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["verdict"] == "healthy"
        assert doc["primary"]["local_state"] == "normal"
        # The two addresses swapped: neither is the side it was given as.
        swapped = pair_args(b, a)
        assert await run("status", "--json", *swapped) == 3
        doc = json.loads(capsys.readouterr().out)
        assert "is the secondary of failover peer 'lab', not the primary" in doc["primary"]["error"]


async def test_status_command_exit_3_when_the_options_do_not_locate_the_pair(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIOMAPI_PEER", raising=False)
    assert await run_main("status", "--primary=a", "--secondary=b") == 3
    assert "--peer" in capsys.readouterr().err
    assert await run_main("status", "--primary=a", "--secondary=b", "--json") == 3
    error = json.loads(capsys.readouterr().out)
    assert (error["error"], error["exit"]) == ("ValueError", 3)
    assert "--peer" in error["message"]


async def test_status_unreachable_secondary(capsys: pytest.CaptureFixture[str]) -> None:
    async with FakeDhcpd(key=KEY, failover_peers=[fake(0, CI, N)]) as a:
        args = pair_args(a, a)
        args[1] = "--secondary=127.0.0.1:1"  # nothing listens there
        assert await run("status", "--json", *args) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "unreachable"
    assert doc["secondary"]["reachable"] is False
    assert doc["primary"]["local_state"] == "communications-interrupted"


async def test_partner_down_guard_on_fakes(capsys: pytest.CaptureFixture[str]) -> None:
    async with fake_pair((N, N), (N, N)) as (a, b):
        args = pair_args(a, b)
        with pytest.raises(RefusedError, match="refused: the primary is in normal"):
            await run("partner-down", "--peer-side=primary", *args)
        assert await run_main("partner-down", "--peer-side=primary", *args) == 16
        assert "refused: the primary is in normal" in capsys.readouterr().err
        assert a.model.failover_peers[b"lab"].local_state == N  # nothing changed
        assert await run_main("partner-down", *args) == 16  # both answer: which side?
        assert "--peer-side" in capsys.readouterr().err
        assert await run("partner-down", "--peer-side=primary", "--force", *args) == 0
        assert a.model.failover_peers[b"lab"].local_state == PD
    async with fake_pair((CI, N), (CI, N)) as (a, b):
        assert await run_main("partner-down", "--peer-side=primary", *pair_args(a, b)) == 16
        assert "the secondary still runs" in capsys.readouterr().err


async def test_hosts_on_both_fakes(capsys: pytest.CaptureFixture[str]) -> None:
    async with fake_pair((N, N), (N, N)) as (a, b):
        args = pair_args(a, b)
        mac = "02:aa:00:00:00:01"
        assert (
            await run("hosts", "create", "--name=h1", f"--mac={mac}", "--ip=10.1.0.5", *args) == 0
        )
        out = capsys.readouterr().out
        assert "primary   create: h1 02:aa:00:00:00:01 10.1.0.5" in out
        assert "secondary create: h1" in out
        for server in (a, b):
            async with aiomapi.Client(server.host, server.port, key=KEY) as c:
                assert str((await c.hosts.get(name="h1")).ip_address) == "10.1.0.5"
        # Only on the primary: the delete diverges.
        async with aiomapi.Client(b.host, b.port, key=KEY) as c:
            await c.hosts.delete(name="h1")
        assert await run("hosts", "delete", "--name=h1", "--json", *args) == 1
        doc = json.loads(capsys.readouterr().out)
        assert doc["primary"]["ok"]
        assert not doc["secondary"]["ok"]
        assert doc["secondary"]["error_type"] == "NotFound"
        assert doc["diverged"]


async def test_pair_object_api_on_fakes() -> None:
    async with fake_pair((N, N), (N, N)) as (a, b):
        pair = FailoverPair(
            aiomapi.Client(a.host, a.port, key=KEY), aiomapi.Client(b.host, b.port, key=KEY), "lab"
        )
        async with pair:
            status = await asyncio.wait_for(pair.status(), 10)
            assert status.verdict is Verdict.HEALTHY
            result = await asyncio.wait_for(
                pair.hosts_upsert(name="u", hardware_address="02:aa:00:00:00:02"), 10
            )
            assert result.ok
            assert result.exit_code == 0
