"""omapi.failover (and leases, pools on a failover pair) against a real dhcpd failover pair.

The pair comes from conftest's ``failover_pair`` (mclt and max-response-delay of 5 s, so a
cut is noticed in about 5 s). Every test leaves both peers in normal; every wait is a poll
with a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import pytest
import pytest_asyncio

import aiomapi
from aiomapi import FailoverHierarchy, FailoverPeer, FailoverState, Lease, LeaseState
from aiomapi.testing.dhcpd_lab import DhcpdInstance, FailoverPair, lease_ip

from ..conftest import FAILOVER_MAX_RESPONSE_DELAY, FAILOVER_MCLT

pytestmark = [pytest.mark.dhcpd, pytest.mark.failover]

PEER = "lab"
HBA_SPLIT_128 = bytes([0xFF] * 16 + [0] * 16)  # the primary's `split 128`
NORMAL = FailoverState.NORMAL


def client_of(inst: DhcpdInstance) -> aiomapi.Client:
    key = inst.key
    return aiomapi.Client(inst.host, inst.port, key=key, timeout=10)


@pytest_asyncio.fixture
async def primary(failover_pair: FailoverPair) -> AsyncIterator[aiomapi.Client]:
    async with client_of(failover_pair.primary) as client:
        yield client


@pytest_asyncio.fixture
async def secondary(failover_pair: FailoverPair) -> AsyncIterator[aiomapi.Client]:
    async with client_of(failover_pair.secondary) as client:
        yield client


async def poll(
    omapi: aiomapi.Client,
    until: Callable[[FailoverPeer], bool],
    timeout: float,
    seen: list[FailoverState | int] | None = None,
) -> FailoverPeer:
    """Read the peer state every 0.1 s until ``until`` holds; record local states in ``seen``.

    Raises:
        AssertionError: not within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        peer = await omapi.failover.get(PEER)
        if seen is not None and (not seen or seen[-1] != peer.local_state):
            seen.append(peer.local_state)
        if until(peer):
            return peer
        assert time.monotonic() < deadline, f"after {timeout} s: {peer}, seen {seen}"
        await asyncio.sleep(0.1)


def in_state(state: FailoverState) -> Callable[[FailoverPeer], bool]:
    return lambda peer: peer.local_state is state


def normal_pair(peer: FailoverPeer) -> bool:
    return peer.local_state is NORMAL and peer.partner_state is NORMAL


def lease_file_state(inst: DhcpdInstance) -> str:
    """The last ``failover peer "lab" state`` record in ``inst``'s lease file."""
    text = (inst.workdir / "dhcpd.leases").read_text()
    return text.rsplit(f'failover peer "{PEER}" state {{', 1)[1].split("}", 1)[0]


# ---------------------------------------------------------------- reading


async def test_both_peers_in_normal(primary: aiomapi.Client, secondary: aiomapi.Client) -> None:
    p = await primary.failover.get(PEER)
    s = await secondary.failover.get(PEER)
    assert (p.local_state, p.partner_state) == (NORMAL, NORMAL)
    assert (s.local_state, s.partner_state) == (NORMAL, NORMAL)
    assert p.hierarchy is FailoverHierarchy.PRIMARY
    assert s.hierarchy is FailoverHierarchy.SECONDARY
    for peer in (p, s):
        assert peer.name == PEER
        assert peer.handle > 0
        # dhcpd 4.4.3 sends 8 bytes of its heap for these: reported as unavailable
        assert peer.partner_address is None
        assert peer.local_address is None
        assert (peer.partner_port, peer.local_port) == (647, 647)
        assert peer.max_outstanding_updates == 10
        assert peer.mclt == FAILOVER_MCLT  # the secondary learns it from the primary
        assert peer.max_response_delay == FAILOVER_MAX_RESPONSE_DELAY
        assert peer.load_balance_max_secs == 5
        assert peer.load_balance_hba == HBA_SPLIT_128  # the secondary's comes from CONNECT
        assert isinstance(peer.local_stos, datetime)
        assert isinstance(peer.partner_stos, datetime)
        assert peer.last_packet_sent is aiomapi.UNSET
        assert peer.last_timestamp_received is aiomapi.UNSET
        assert isinstance(peer.skew, int)
        assert isinstance(peer.cur_unacked_updates, int)
        assert peer.extra == {}


async def test_pool_counters_show_the_split(
    primary: aiomapi.Client, secondary: aiomapi.Client, failover_pair: FailoverPair
) -> None:
    for omapi in (primary, secondary):
        lease = await omapi.leases.get(ip=lease_ip(0))
        deadline = time.monotonic() + 10
        while (pool := await omapi.pools.of_lease(lease)).backup_leases == 0:
            assert time.monotonic() < deadline, f"pool never balanced: {pool}"
            await asyncio.sleep(0.2)
        assert pool.lease_count == failover_pair.primary.leases + 16
        assert pool.free_leases > 0
        assert pool.backup_leases > 0


# ---------------------------------------------------------------- leases on a failover pair


async def wait_lease(
    omapi: aiomapi.Client, ip: str, until: Callable[[Lease], bool], inst: DhcpdInstance
) -> Lease:
    """Read the lease every 0.2 s until ``until`` holds (30 s at most)."""
    deadline = time.monotonic() + 30
    while not until(lease := await omapi.leases.get(ip=ip)):
        if time.monotonic() > deadline:
            pytest.fail(f"after 30 s: {lease}\n{inst.log_tail(40)}")
        await asyncio.sleep(0.2)
    return lease


def gone(lease: Lease) -> bool:
    return lease.state in {LeaseState.FREE, LeaseState.BACKUP}


async def rejection_logged(inst: DhcpdInstance, ip: str, reason: str) -> None:
    """Wait until ``inst``'s log says its partner rejected an update of ``ip`` for ``reason``."""
    deadline = time.monotonic() + 30
    expected = f"bind update on {ip} from {PEER} rejected: {ip}: {reason}"
    while expected not in inst.log_text():
        if time.monotonic() > deadline:
            pytest.fail(f"no rejection of {ip} logged:\n{inst.log_tail(40)}")
        await asyncio.sleep(0.2)


async def test_expire_when_the_partner_agrees(
    primary: aiomapi.Client, secondary: aiomapi.Client, failover_pair: FailoverPair
) -> None:
    # the partner accepts an expiry once its own end for the lease is at most 65 s away:
    # expired here, free (or backup, after rebalancing) once it acknowledged, and the
    # partner frees it too
    ip = lease_ip(92)
    active = await primary.leases.update(ip=ip, ends=int(time.time()) + 40, state=LeaseState.ACTIVE)
    assert active.state is LeaseState.ACTIVE
    await wait_lease(secondary, ip, lambda s: s.ends == active.ends, failover_pair.secondary)
    expired = await primary.leases.expire(ip=ip)
    assert expired.state in {LeaseState.EXPIRED, LeaseState.FREE, LeaseState.BACKUP}
    await wait_lease(primary, ip, gone, failover_pair.primary)
    await wait_lease(secondary, ip, gone, failover_pair.secondary)


async def test_early_expiry_is_refused_by_the_partner(
    primary: aiomapi.Client, secondary: aiomapi.Client, failover_pair: FailoverPair
) -> None:
    # dhcpd 4.4.3: a lease the partner holds for more than 65 s more stays expired here;
    # the partner rejects the binding update ("invalid state transition") and keeps it
    ip = lease_ip(91)
    active = await primary.leases.update(
        ip=ip, ends=int(time.time()) + 600, state=LeaseState.ACTIVE
    )
    assert active.state is LeaseState.ACTIVE
    await wait_lease(secondary, ip, lambda s: s.ends == active.ends, failover_pair.secondary)
    assert (await primary.leases.expire(ip=ip)).state is LeaseState.EXPIRED
    await rejection_logged(failover_pair.primary, ip, "invalid state transition: active to expired")
    assert (await primary.leases.get(ip=ip)).state is LeaseState.EXPIRED
    assert (await secondary.leases.get(ip=ip)).state is LeaseState.ACTIVE


async def test_expire_a_lease_from_the_lease_file(
    primary: aiomapi.Client, secondary: aiomapi.Client, failover_pair: FailoverPair
) -> None:
    # the file says "next binding state free": free at once (or backup, if the pool is
    # rebalanced on the spot) and the partner is told; unless a binding acknowledgement
    # since start-up turned the pending state into expired (dhcpd decides; OMAPI cannot
    # show it), and then the partner, holding the lease till 2037, refuses
    ip = lease_ip(90)
    expired = await primary.leases.expire(ip=ip)
    if expired.state is LeaseState.EXPIRED:
        await rejection_logged(
            failover_pair.primary, ip, "invalid state transition: active to expired"
        )
        assert (await secondary.leases.get(ip=ip)).state is LeaseState.ACTIVE
    else:
        assert gone(expired), expired  # free, or already moved to backup by rebalancing
        assert expired.client_hostname is None  # dhcpd's expiry event ran
        await wait_lease(secondary, ip, gone, failover_pair.secondary)


# ---------------------------------------------------------------- refusing bad states


async def test_invalid_local_states_never_reach_dhcpd(
    primary: aiomapi.Client, failover_pair: FailoverPair
) -> None:
    for bad in (99, 12, 253, -1, "partner-up", None):
        with pytest.raises(aiomapi.LocalProtocolError):
            await primary.failover.set_local_state(PEER, bad)  # type: ignore[arg-type]
    peer = await primary.failover.get(PEER)
    for value in (b"", (99).to_bytes(4, "big"), b"\x02"):  # the protocol layer refuses too
        with pytest.raises(aiomapi.LocalProtocolError):
            await primary.update(peer.handle, {"local-state": value}, "failover-state")
    assert failover_pair.primary.alive()
    assert normal_pair(await primary.failover.get(PEER))


async def test_set_local_state_to_the_same_state(
    primary: aiomapi.Client, failover_pair: FailoverPair
) -> None:
    before = await primary.failover.get(PEER)
    after = await primary.failover.set_local_state(PEER, "normal")
    assert after.local_state is NORMAL
    assert after.local_stos >= before.local_stos  # type: ignore[operator]
    assert "my state normal" in lease_file_state(failover_pair.primary)
    with pytest.raises(aiomapi.NotFound):
        await primary.failover.set_local_state("no-such-peer", NORMAL)


# ---------------------------------------------------------------- transitions


@pytest.mark.slow
async def test_partner_down_while_connected_returns_to_normal(
    primary: aiomapi.Client, secondary: aiomapi.Client
) -> None:
    result = await primary.failover.partner_down(PEER)
    assert result.local_state in {
        FailoverState.PARTNER_DOWN,
        FailoverState.POTENTIAL_CONFLICT,
        FailoverState.CONFLICT_DONE,
        NORMAL,
    }
    seen_p: list[FailoverState | int] = [result.local_state]
    seen_s: list[FailoverState | int] = []
    await asyncio.gather(
        poll(primary, normal_pair, 15, seen_p), poll(secondary, normal_pair, 15, seen_s)
    )
    assert FailoverState.POTENTIAL_CONFLICT in seen_p + seen_s


@pytest.mark.slow
async def test_cut_partner_down_heal(
    primary: aiomapi.Client, secondary: aiomapi.Client, failover_pair: FailoverPair
) -> None:
    failover_pair.cut()
    try:
        interrupted = in_state(FailoverState.COMMUNICATIONS_INTERRUPTED)
        limit = 3 * FAILOVER_MAX_RESPONSE_DELAY
        p, s = await asyncio.gather(
            poll(primary, interrupted, limit), poll(secondary, interrupted, limit)
        )
        assert p.partner_state is NORMAL  # the last state the partner reported
        assert s.partner_state is NORMAL
        down = await primary.failover.partner_down(PEER)
        assert down.local_state is FailoverState.PARTNER_DOWN
        assert "my state partner-down" in lease_file_state(failover_pair.primary)
        await asyncio.sleep(1)
        assert (await primary.failover.get(PEER)).local_state is FailoverState.PARTNER_DOWN
        interrupted_peer = await secondary.failover.get(PEER)
        assert interrupted_peer.local_state is FailoverState.COMMUNICATIONS_INTERRUPTED
    finally:
        failover_pair.heal()
    seen: list[FailoverState | int] = []
    await asyncio.gather(poll(primary, normal_pair, 30, seen), poll(secondary, normal_pair, 30))
    assert seen[0] is FailoverState.PARTNER_DOWN
    assert seen[-1] is NORMAL


@pytest.mark.slow
async def test_restart_after_partner_down_recovers(
    primary: aiomapi.Client, failover_pair: FailoverPair
) -> None:
    failover_pair.kill_secondary()
    try:
        await poll(primary, in_state(FailoverState.COMMUNICATIONS_INTERRUPTED), 10)
        down = await primary.failover.partner_down(PEER)
        assert down.local_state is FailoverState.PARTNER_DOWN
    finally:
        failover_pair.start_secondary()
    seen: list[FailoverState | int] = []
    async with client_of(failover_pair.secondary) as secondary:
        await asyncio.gather(poll(secondary, normal_pair, 60, seen), poll(primary, normal_pair, 60))
    recovering = {FailoverState.RECOVER, FailoverState.RECOVER_WAIT, FailoverState.RECOVER_DONE}
    assert recovering & set(seen), f"the restarted secondary went {seen}"
    assert seen[-1] is NORMAL
