"""Bulk release and expire on a real dhcpd 4.4.3 and on a real failover pair.

The pair comes from conftest's ``failover_pair`` (100 leases, mclt and max-response-delay
5 s, ``split 128``); this module's tests use disjoint leases: 0-59 (release on the primary),
60-69 (the command on the primary), 70-89 (release on the secondary), 90-91 (early expiry).
Every wait is a poll with a deadline; every test runs under an overall timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

import aiomapi
from aiomapi import Lease, LeaseState
from aiomapi.failover.cli_diff import add_release_parsers
from aiomapi.failover.diff import DiffKind, wait_consistent
from aiomapi.failover.loadbalance import bucket_owner, client_key, hba_from_split, load_balance_hash
from aiomapi.failover.release import LeaseOutcome, Outcome, expire_many, release_many
from aiomapi.testing.dhcpd_lab import DhcpdInstance, FailoverPair, lease_ip, lease_mac

from ..conftest import DhcpdFactory

pytestmark = [pytest.mark.dhcpd]

PEER = "lab"
S = LeaseState
AVAILABLE = {S.FREE, S.BACKUP}
TEST_TIMEOUT = 90


def client_of(inst: DhcpdInstance) -> aiomapi.Client:
    key = inst.key
    return aiomapi.Client(inst.host, inst.port, key=key, timeout=10, connections=8)


@pytest_asyncio.fixture
async def primary(failover_pair: FailoverPair) -> AsyncIterator[aiomapi.Client]:
    async with client_of(failover_pair.primary) as client:
        yield client


@pytest_asyncio.fixture
async def secondary(failover_pair: FailoverPair) -> AsyncIterator[aiomapi.Client]:
    async with client_of(failover_pair.secondary) as client:
        yield client


async def collect(results: AsyncIterator[LeaseOutcome]) -> dict[str, LeaseOutcome]:
    return {str(r.ip): r async for r in results}


async def wait_lease(
    omapi: aiomapi.Client, ip: str, until: Callable[[Lease], bool], timeout: float = 20
) -> Lease:
    deadline = time.monotonic() + timeout
    while not until(lease := await omapi.leases.get(ip=ip)):
        assert time.monotonic() < deadline, f"after {timeout} s: {lease}"
        await asyncio.sleep(0.2)
    return lease


def same_ends(expected: Lease) -> Callable[[Lease], bool]:
    return lambda lease: lease.ends == expected.ends


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aiomapi leases")
    add_release_parsers(parser.add_subparsers(required=True))
    return parser.parse_args(argv)


def key_arg(inst: DhcpdInstance) -> str:
    return f"--key={inst.algorithm}:{inst.key_name}:{inst.secret}"


def owner(i: int) -> str:
    """The peer whose hash buckets hold lab lease ``i``'s MAC under ``split 128``."""
    return bucket_owner(hba_from_split(128), load_balance_hash(client_key(mac=lease_mac(i))))


# ---------------------------------------------------------------- one server


async def test_release_and_expire_on_one_server(dhcpd_factory: DhcpdFactory) -> None:
    inst = dhcpd_factory(n_leases=20)
    async with asyncio.timeout(TEST_TIMEOUT), client_of(inst) as omapi:
        wanted = [lease_ip(i) for i in (0, 1, 2, 25)] + ["10.100.9.9"]
        results = await collect(release_many(omapi, wanted, state_filter="active"))
        assert {k: (r.outcome, r.before, r.after) for k, r in results.items()} == {
            lease_ip(0): (Outcome.RELEASED, S.ACTIVE, S.FREE),
            lease_ip(1): (Outcome.RELEASED, S.ACTIVE, S.FREE),
            lease_ip(2): (Outcome.RELEASED, S.ACTIVE, S.FREE),
            lease_ip(25): (Outcome.SKIPPED, S.FREE, S.FREE),  # a free pool address
            "10.100.9.9": (Outcome.NOT_FOUND, None, None),
        }
        # without failover an expiry frees the lease at once: nothing is pending
        results = await collect(expire_many(omapi, [lease_ip(3), lease_ip(4)]))
        assert {(r.outcome, r.after) for r in results.values()} == {(Outcome.EXPIRED, S.FREE)}
        assert not any(r.pending for r in results.values())

    args = parse(
        "release",
        f"--server={inst.host}:{inst.port}",
        key_arg(inst),
        "--range",
        f"{lease_ip(5)}-{lease_ip(9)}",
        "--state",
        "active",
        "--json",
    )
    assert await args.command(args) == 64  # no --yes: nothing done
    async with client_of(inst) as omapi:
        assert (await omapi.leases.get(ip=lease_ip(5))).state is S.ACTIVE
    args = parse(
        "release",
        f"--server={inst.host}:{inst.port}",
        key_arg(inst),
        "--range",
        f"{lease_ip(5)}-{lease_ip(9)}",
        "--state",
        "active",
        "--yes",
        "--json",
    )
    assert await args.command(args) == 0


async def test_release_command_json(
    dhcpd_factory: DhcpdFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = dhcpd_factory(n_leases=20)
    args = parse(
        "release",
        f"--server={inst.host}:{inst.port}",
        key_arg(inst),
        "--range",
        f"{lease_ip(10)}-{lease_ip(29)}",
        "--state",
        "active",
        "--yes",
        "--json",
    )
    async with asyncio.timeout(TEST_TIMEOUT):
        assert await args.command(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outcomes"] == {"released": 10, "skipped": 10}
    assert data["before"] == {"active": 10, "free": 10}
    assert data["after"] == {"free": 10}
    assert data["pending"] == 0


# ---------------------------------------------------------------- a failover pair


@pytest.mark.failover
async def test_release_many_on_the_primary_the_partner_follows(
    primary: aiomapi.Client, secondary: aiomapi.Client
) -> None:
    ips = [lease_ip(i) for i in range(60)]
    async with asyncio.timeout(TEST_TIMEOUT):
        results = await collect(release_many(primary, ips, state_filter="active"))
        assert {r.outcome for r in results.values()} == {Outcome.RELEASED}
        assert {r.after for r in results.values()} <= AVAILABLE
        started = time.monotonic()
        report = await wait_consistent(primary, secondary, ips, timeout=30, peer=PEER)
        followed_in = time.monotonic() - started
    assert report.consistent, report.to_json()
    assert sum(report.states.values()) == 60
    assert set(report.states) <= {"free", "backup"}
    assert followed_in < 30
    # a freed lease keeps its last client (the diff counts that as history, not drift)
    async with asyncio.timeout(TEST_TIMEOUT):
        kept = await primary.leases.get(ip=ips[0])
    assert kept.hardware_address == aiomapi.MacAddress(lease_mac(0))


@pytest.mark.failover
async def test_release_command_on_the_pair(
    failover_pair: FailoverPair, capsys: pytest.CaptureFixture[str]
) -> None:
    p, s = failover_pair.primary, failover_pair.secondary
    args = parse(
        "release",
        f"--primary={p.host}:{p.port}",
        f"--secondary={s.host}:{s.port}",
        f"--peer={PEER}",
        key_arg(p),
        "--range",
        f"{lease_ip(60)}-{lease_ip(69)}",
        "--state",
        "active",
        "--yes",
        "--json",
    )
    async with asyncio.timeout(TEST_TIMEOUT):
        assert await args.command(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["server"] == "primary"
    assert data["outcomes"] == {"released": 10}
    assert data["partner_followed"] is True
    assert data["partner"]["compared"] == 10
    assert data["partner"]["differences"] == []


@pytest.mark.failover
async def test_release_on_the_secondary_returns_free_then_both_store_backup(
    primary: aiomapi.Client, secondary: aiomapi.Client
) -> None:
    # dhcpd 4.4.3: the secondary answers the release with free (a lease of its own buckets
    # may read backup already); within about a second both peers store backup for every
    # lease whose MAC hashes to the secondary's buckets, and free for the others. Nothing is
    # lost: the two agree.
    theirs = [i for i in range(70, 90) if owner(i) == "secondary"][:4]
    ours = [i for i in range(70, 90) if owner(i) == "primary"][:2]
    assert len(theirs) == 4
    assert len(ours) == 2
    ips = [lease_ip(i) for i in theirs + ours]
    async with asyncio.timeout(TEST_TIMEOUT):
        results = await collect(release_many(secondary, ips))
        assert {r.outcome for r in results.values()} == {Outcome.RELEASED}
        for i in ours:
            assert results[lease_ip(i)].after is S.FREE
        for i in theirs:  # free, or backup already by the time the reply was read
            assert results[lease_ip(i)].after in AVAILABLE
        for i in theirs:
            for peer in (primary, secondary):
                await wait_lease(peer, lease_ip(i), lambda lease: lease.state is S.BACKUP)
        report = await wait_consistent(primary, secondary, ips, timeout=30)
    assert report.consistent, report.to_json()
    assert report.states == {"backup": 4, "free": 2}


@pytest.mark.failover
async def test_early_expiry_is_reported_and_release_on_the_primary_fixes_it(
    failover_pair: FailoverPair,
    primary: aiomapi.Client,
    secondary: aiomapi.Client,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ips = [lease_ip(90), lease_ip(91)]
    p, s = failover_pair.primary, failover_pair.secondary
    pair_args = [
        f"--primary={p.host}:{p.port}",
        f"--secondary={s.host}:{s.port}",
        f"--peer={PEER}",
        key_arg(p),
        "--range",
        *ips,
        "--yes",
        "--json",
        "--check-wait=3",
    ]
    async with asyncio.timeout(TEST_TIMEOUT):
        # leases the primary touched since start-up: an expiry waits for the partner
        for ip in ips:
            active = await primary.leases.update(ip=ip, ends=int(time.time()) + 600, state=S.ACTIVE)
            await wait_lease(secondary, ip, same_ends(active))
        args = parse("expire", *pair_args)
        assert await args.command(args) == 1
        data = json.loads(capsys.readouterr().out)
        assert data["outcomes"] == {"expired": 2}
        assert data["after"] == {"expired": 2}
        assert data["pending"] == 2
        assert data["partner_followed"] is False
        kinds = {d["kind"] for d in data["partner"]["differences"]}
        assert kinds == {DiffKind.EXPIRY_NOT_FOLLOWED.value}
        assert data["partner"]["differences"][0]["remedy"].startswith("release it on the primary")
        # the remedy it names works
        args = parse("release", *pair_args, "--state", "expired")
        assert await args.command(args) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["outcomes"] == {"released": 2}
        assert data["partner_followed"] is True
