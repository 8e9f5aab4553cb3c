"""Bulk release and expire without a real dhcpd: outcomes, the state filter, dry runs, the
summary, and ``leases release | expire`` against an in-memory server.

On a real server and a real failover pair: test_release_dhcpd.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest
import pytest_asyncio

import aiomapi
from aiomapi import LeaseState
from aiomapi.cli.exits import Exit, exit_code
from aiomapi.failover.cli_diff import add_release_parsers
from aiomapi.failover.release import (
    LeaseOutcome,
    Outcome,
    Summary,
    expire_many,
    parse_states,
    release_many,
)
from aiomapi.testing import FakeDhcpd

KEY = aiomapi.Key("omapi_key", "c2VjcmV0IHNlY3JldCBzZWNyZXQ=")
S = LeaseState
TEST_TIMEOUT = 30


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeDhcpd]:
    # 20 active leases, then 16 free pool addresses (10.100.1.20-35)
    async with FakeDhcpd.like_lab(20, key=KEY) as fake:
        yield fake


def client(server: FakeDhcpd, key: aiomapi.Key = KEY) -> aiomapi.Client:
    return aiomapi.Client(server.host, server.port, key=key, timeout=5)


def ip(i: int) -> str:
    return str(IPv4Address("10.100.1.0") + i)


async def collect(results: AsyncIterator[LeaseOutcome]) -> dict[str, LeaseOutcome]:
    return {str(r.ip): r async for r in results}


def test_state_filters() -> None:
    assert parse_states("active") == {S.ACTIVE}
    assert parse_states(["Active ", 1, S.BACKUP]) == {S.ACTIVE, S.FREE, S.BACKUP}
    assert parse_states(S.EXPIRED) == {S.EXPIRED}
    for bad in (["bootp"], [9], [True]):
        with pytest.raises(ValueError, match="not a lease state"):
            parse_states(bad)


async def test_bad_arguments_fail_at_the_call(server: FakeDhcpd) -> None:
    async with client(server) as omapi:
        with pytest.raises(ValueError, match="not a lease state"):
            release_many(omapi, [ip(0)], state_filter="bound")
        with pytest.raises(ValueError, match="concurrency"):
            expire_many(omapi, [ip(0)], concurrency=0)
        with pytest.raises(ValueError, match="Octet 500"):
            await collect(release_many(omapi, ["10.100.1.500"]))


async def test_release_many_outcomes(server: FakeDhcpd) -> None:
    async with asyncio.timeout(TEST_TIMEOUT), client(server) as omapi:
        wanted: list[IPv4Address | str] = [ip(0), ip(1), ip(25), "10.200.0.1", IPv4Address(ip(2))]
        results = await collect(release_many(omapi, wanted, state_filter="active", concurrency=2))
        assert {k: (r.outcome, r.before, r.after) for k, r in results.items()} == {
            ip(0): (Outcome.RELEASED, S.ACTIVE, S.FREE),
            ip(1): (Outcome.RELEASED, S.ACTIVE, S.FREE),
            ip(2): (Outcome.RELEASED, S.ACTIVE, S.FREE),
            ip(25): (Outcome.SKIPPED, S.FREE, S.FREE),
            "10.200.0.1": (Outcome.NOT_FOUND, None, None),
        }
        assert isinstance(results["10.200.0.1"].error, aiomapi.NotFound)
        assert results[ip(0)].changed
        assert not results[ip(0)].pending
        assert not results[ip(25)].changed
        assert (await omapi.leases.get(ip=ip(0))).state is S.FREE
        assert (await omapi.leases.get(ip=ip(3))).state is S.ACTIVE


async def test_dry_run_changes_nothing(server: FakeDhcpd) -> None:
    async with asyncio.timeout(TEST_TIMEOUT), client(server) as omapi:
        results = await collect(expire_many(omapi, [ip(4), ip(30)], dry_run=True))
        assert results[ip(4)].outcome is Outcome.WOULD_EXPIRE
        assert results[ip(30)].outcome is Outcome.WOULD_EXPIRE  # no filter: every lease
        assert (results[ip(4)].before, results[ip(4)].after) == (S.ACTIVE, S.ACTIVE)
        assert (await omapi.leases.get(ip=ip(4))).state is S.ACTIVE
        results = await collect(release_many(omapi, [ip(4)], dry_run=True))
        assert results[ip(4)].outcome is Outcome.WOULD_RELEASE


async def test_expire_many(server: FakeDhcpd) -> None:
    async with asyncio.timeout(TEST_TIMEOUT), client(server) as omapi:
        results = await collect(expire_many(omapi, [ip(5), ip(6)], state_filter=["active"]))
        assert {r.outcome for r in results.values()} == {Outcome.EXPIRED}
        assert results[ip(5)].before is S.ACTIVE
        assert results[ip(5)].after is not S.ACTIVE


async def test_every_request_failing_is_refused_per_lease(server: FakeDhcpd) -> None:
    wrong = aiomapi.Key("omapi_key", "d3Jvbmcgd3Jvbmcgd3Jvbmc=")
    async with asyncio.timeout(TEST_TIMEOUT), client(server, wrong) as omapi:
        results = await collect(release_many(omapi, [ip(7), ip(8)]))
    assert {r.outcome for r in results.values()} == {Outcome.REFUSED}
    assert all(isinstance(r.error, aiomapi.OmapiError) for r in results.values())
    assert results[ip(7)].to_json()["error"]


async def test_leaving_early_cancels_the_rest(server: FakeDhcpd) -> None:
    async with asyncio.timeout(TEST_TIMEOUT), client(server) as omapi:
        async for _ in release_many(omapi, [ip(i) for i in range(10, 20)], concurrency=2):
            break
        await asyncio.sleep(0.1)
        states = [(await omapi.leases.get(ip=ip(i))).state for i in range(10, 20)]
    assert states.count(S.ACTIVE) >= 6  # at most the jobs already started went through


def test_summary() -> None:
    summary = Summary("release")
    a, b = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")
    for result in (
        LeaseOutcome(a, Outcome.RELEASED, S.ACTIVE, S.FREE),
        LeaseOutcome(b, Outcome.RELEASED, S.ACTIVE, S.RELEASED),
        LeaseOutcome(b, Outcome.SKIPPED, S.FREE, S.FREE),
        LeaseOutcome(b, Outcome.NOT_FOUND),
        LeaseOutcome(b, Outcome.REFUSED, S.ACTIVE, error=aiomapi.TimeoutError("late")),
    ):
        summary.add(result)
    assert summary.to_json() == {
        "action": "release",
        "dry_run": False,
        "total": 5,
        "outcomes": {"released": 2, "skipped": 1, "not-found": 1, "refused": 1},
        "before": {"active": 3, "free": 1},
        "after": {"free": 1, "released": 1},
        "pending": 1,
        "refused": [
            {
                "ip": "10.0.0.2",
                "outcome": "refused",
                "before": "active",
                "after": None,
                "error": "TimeoutError: late",
            }
        ],
    }


# ---------------------------------------------------------------- the commands


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aiomapi leases")
    add_release_parsers(parser.add_subparsers(required=True))
    return parser.parse_args(argv)


def server_args(server: FakeDhcpd) -> list[str]:
    return [f"--server={server.host}:{server.port}", f"--key={KEY.name}:{KEY.secret}"]


async def test_release_needs_yes(server: FakeDhcpd, capsys: pytest.CaptureFixture[str]) -> None:
    async with asyncio.timeout(TEST_TIMEOUT):
        args = parse("release", *server_args(server), "--range", "10.100.1.0/28")
        assert await args.command(args) == 64  # usage: not confirmed
        err = capsys.readouterr().err
        assert "would release up to 16 leases (10.100.1.0-10.100.1.15)" in err
        assert "--yes" in err
        lease = server.lease(ip(0))
        assert lease is not None
        assert lease.state == S.ACTIVE


async def test_release_command(
    server: FakeDhcpd, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT):
        args = parse(
            "release",
            *server_args(server),
            "--range",
            "10.100.1.16-10.100.1.23",
            "--state",
            "active",
            "--dry-run",
            "--json",
        )
        assert await args.command(args) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["outcomes"] == {"would-release": 4, "skipped": 4}
        assert data["before"] == {"active": 4, "free": 4}
        assert data["partner"] is None

        ips_file = tmp_path / "ips"
        ips_file.write_text(f"{ip(16)}-{ip(23)}\n10.200.0.1\n")
        args = parse(
            "release",
            *server_args(server),
            "--ips-file",
            str(ips_file),
            "--state",
            "active",
            "--yes",
            "--json",
        )
        assert await args.command(args) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["outcomes"] == {"released": 4, "skipped": 4, "not-found": 1}
        assert data["after"] == {"free": 4}
        assert data["server"] == f"{server.host}:{server.port}"

        args = parse("expire", *server_args(server), "--range", ip(15), "--yes")
        assert await args.command(args) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"expired 1 addresses on the {server.host}:{server.port}: expired 1")
        assert "state before: active 1" in out


async def test_release_command_refused(
    server: FakeDhcpd, capsys: pytest.CaptureFixture[str]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT):
        args = parse(
            "release",
            f"--server={server.host}:{server.port}",
            "--key=omapi_key:d3Jvbmcgd3Jvbmcgd3Jvbmc=",
            "--range",
            ip(0),
            "--yes",
        )
        # every lease refused: the first error goes to the entry point (exit code, JSON)
        with pytest.raises(aiomapi.OmapiError) as info:
            await args.command(args)
    assert exit_code(info.value) == Exit.AUTH_REFUSED


async def test_the_leases_manager_has_release_many_and_expire_many(server: FakeDhcpd) -> None:
    """``omapi.leases.release_many`` / ``expire_many``: the same, from the manager."""
    async with asyncio.timeout(TEST_TIMEOUT), client(server) as omapi:
        released = await collect(omapi.leases.release_many([ip(5), ip(6)], state_filter="active"))
        assert {k: r.outcome for k, r in released.items()} == {
            ip(5): Outcome.RELEASED,
            ip(6): Outcome.RELEASED,
        }
        dry = await collect(omapi.leases.expire_many([ip(7)], dry_run=True))
        assert dry[ip(7)].outcome is Outcome.WOULD_EXPIRE
        assert (await omapi.leases.get(ip=ip(7))).state is S.ACTIVE
        assert (await omapi.leases.get(ip=ip(5))).state is S.FREE
