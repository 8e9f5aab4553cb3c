"""OMAPI shutdown against SIGTERM on a real failover pair: what the partner sees, and when.

A pair of its own (mclt 5 s, max-response-delay 5 s), since both tests stop the secondary.
Each test stops the secondary one way, follows the primary's failover state every 0.1 s,
reads the state the secondary left in its lease file, restarts it and follows the pair
back to normal/normal. The figures are printed (``pytest -s``) for docs/failover.md and
held to loose bounds here.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

import aiomapi
from aiomapi import FailoverState
from aiomapi.config import load_config
from aiomapi.failover.pair import FailoverPair, PairStatus, state_name
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance
from aiomapi.testing.dhcpd_lab import FailoverPair as LabPair

from ..conftest import start_lab

pytestmark = [pytest.mark.dhcpd, pytest.mark.failover, pytest.mark.slow]

MCLT = 5
CI = FailoverState.COMMUNICATIONS_INTERRUPTED
PARTNER_DOWN = FailoverState.PARTNER_DOWN


@pytest.fixture(scope="module", params=[5, 15], ids=lambda d: f"max-response-delay={d}")
def lab(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    lab_port: Callable[[], int],
) -> Iterator[LabPair]:
    pair = start_lab(
        dhcpd_lab.start_failover,
        tmp_path_factory.mktemp("shutdown-pair"),
        lab_port(),
        lab_port(),
        20,
        mclt=MCLT,
        max_response_delay=request.param,
    )
    try:
        dhcpd_lab.wait_failover_states(pair, "normal", "normal", timeout=30)
        yield pair
    finally:
        pair.stop()


def client_of(inst: DhcpdInstance) -> aiomapi.Client:
    key = inst.key
    return aiomapi.Client(inst.host, inst.port, key=key, timeout=5)


@pytest_asyncio.fixture
async def pair(lab: LabPair) -> AsyncIterator[FailoverPair]:
    async with FailoverPair(client_of(lab.primary), client_of(lab.secondary), "lab") as p:
        yield p


def figure(name: str, value: object) -> None:
    print(f"FIGURE {name}: {value}", file=sys.__stderr__, flush=True)


def lease_file_record(inst: DhcpdInstance) -> tuple[str, float]:
    """The last ``my state STATE at W YYYY/MM/DD HH:MM:SS;`` the server wrote to its lease
    file: the state, and the time (UTC, as dhcpd writes it) in seconds since the epoch."""
    text = (inst.workdir / "dhcpd.leases").read_text()
    records = re.findall(r"^\s*my state ([a-z-]+) at \d+ (\S+ \S+);", text, re.M)
    assert records, "no failover state record in the lease file"
    state, when = records[-1]
    stamp = datetime.strptime(when, "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC)
    return str(state), stamp.timestamp()


def lease_file_state(inst: DhcpdInstance) -> str:
    """The last ``my state`` the server wrote to its lease file."""
    return lease_file_record(inst)[0]


async def follow_primary(
    primary: aiomapi.Client, lab: LabPair, start: float, timeout: float
) -> tuple[dict[str, float], list[tuple[float, str | None, str | None]]]:
    """Poll the primary (and the secondary's process) every 0.1 s until the secondary has
    exited and the primary has left normal. Returns the seconds from ``start`` to each
    event, and each change of the primary's (local state, view of the partner)."""
    events: dict[str, float] = {}
    changes: list[tuple[float, str | None, str | None]] = []
    deadline = start + timeout
    while "secondary exited" not in events or "primary leaves normal" not in events:
        now = round(time.monotonic() - start, 1)
        peer = await primary.failover.get("lab")
        local, partner = state_name(peer.local_state), state_name(peer.partner_state)
        if not changes or changes[-1][1:] != (local, partner):
            changes.append((now, local, partner))
        if peer.partner_state == FailoverState.SHUTDOWN:
            events.setdefault("primary hears shutdown", now)
        if peer.local_state != FailoverState.NORMAL:
            events.setdefault("primary leaves normal", now)
        if not lab.secondary.alive():
            events.setdefault("secondary exited", now)
        assert time.monotonic() < deadline, f"after {timeout} s: {events}, {changes}"
        await asyncio.sleep(0.1)
    return events, changes


async def restart_and_follow(
    lab: LabPair, pair: FailoverPair, timeout: float
) -> tuple[float, list[tuple[float, tuple[str | None, ...]]]]:
    """Start the secondary again; follow the pair to all four states normal. Returns the
    seconds from the start call and each change of the four states."""
    start = time.monotonic()
    await asyncio.to_thread(lab.start_secondary)
    seen: list[tuple[float, tuple[str | None, ...]]] = []
    deadline = start + timeout
    while True:
        status: PairStatus = await pair.status()
        now = round(time.monotonic() - start, 1)
        if not seen or seen[-1][1] != status.states:
            seen.append((now, status.states))
        if all(state == "normal" for state in status.states):
            return now, seen
        assert time.monotonic() < deadline, f"after {timeout} s: {seen}"
        await asyncio.sleep(0.1)


def mrd(pair: LabPair) -> int:
    conf = load_config(pair.primary.workdir / "dhcpd.conf")
    delay = conf.peer("lab").max_response_delay
    assert delay is not None
    return delay


def full_update_requested(inst: DhcpdInstance) -> bool:
    """Whether the (restarted) server asked its partner for every lease."""
    return "Sent update request all message" in inst.log_text()


async def test_omapi_shutdown_of_a_peer(lab: LabPair, pair: FailoverPair) -> None:
    delay = mrd(lab)
    tag = f"OMAPI shutdown, max-response-delay {delay}"
    async with asyncio.timeout(100):
        assert lease_file_state(lab.secondary) == "normal"
        start, wall = time.monotonic(), time.time()
        shutdown = asyncio.create_task(pair.secondary.control.shutdown(timeout=40))
        events, changes = await follow_primary(pair.primary, lab, start, 45)
        await shutdown
        events["shutdown() returned"] = round(time.monotonic() - start, 1)
        for name, seconds in events.items():
            figure(f"{tag}: {name} after (s)", seconds)
        figure(f"{tag}: primary (local, view of partner)", changes)
        written, when = lease_file_record(lab.secondary)
        figure(f"{tag}: state left in the secondary's lease file", written)
        figure(f"{tag}: ... stamped (s after the request, whole seconds)", round(when - wall))
        # The server writes recover on its way out: it will take every lease when it restarts.
        assert written == "recover"
        primary_states = [local for _, local, _ in changes]
        if delay == 5:
            # The partner gives up on the silent peer after max-response-delay, hears of its
            # shutdown when it reconnects (normal again for a moment, sometimes seen), and
            # goes to partner-down on its own.
            assert primary_states[:2] == ["normal", "communications-interrupted"]
            assert set(primary_states[2:-1]) <= {"normal"}
            assert primary_states[-1] == "partner-down"
            assert events["primary hears shutdown"] < events["secondary exited"]
        else:
            # The peer has exited before the partner gives up: a disconnect, nothing more.
            assert primary_states == ["normal", "communications-interrupted"]
            assert "primary hears shutdown" not in events
        restarted = time.time()
        took, seen = await restart_and_follow(lab, pair, 60)
    figure(f"{tag}: after restart, states (primary, its view, secondary, its view)", seen)
    figure(f"{tag}: after restart, normal/normal after (s)", took)
    assert full_update_requested(lab.secondary)
    assert any(states[2] == "recover" for _, states in seen)
    # recover-wait lasts until MCLT after the recover stamped in the lease file: a peer
    # restarted later than that skips it (whole-second stamps: 1 s of slack either way).
    waited = any(states[2] == "recover-wait" for _, states in seen)
    since_recover = restarted - when
    figure(f"{tag}: restarted (s after the recover stamp)", round(since_recover, 1))
    if since_recover > MCLT + 1:
        assert not waited
    elif since_recover < MCLT - 1:
        assert waited


async def test_sigterm_of_a_peer(lab: LabPair, pair: FailoverPair) -> None:
    tag = f"SIGTERM, max-response-delay {mrd(lab)}"
    async with asyncio.timeout(100):
        if not lab.secondary.alive():  # left stopped by a failed test before this one
            await asyncio.to_thread(lab.start_secondary)
        await asyncio.to_thread(dhcpd_lab.wait_failover_states, lab, "normal", "normal", timeout=30)
        before = lease_file_state(lab.secondary)
        start = time.monotonic()
        await asyncio.to_thread(lab.kill_secondary, signal.SIGTERM)
        figure(f"{tag}: process gone after (s)", round(time.monotonic() - start, 2))
        events, changes = await follow_primary(pair.primary, lab, start, 30)
        for name, seconds in events.items():
            figure(f"{tag}: {name} after (s)", seconds)
        figure(f"{tag}: primary (local, view of partner)", changes)
        # The connection drops with the process: the partner notices at once.
        assert [local for _, local, _ in changes] == ["communications-interrupted"]
        assert events["primary leaves normal"] < 1
        written = lease_file_state(lab.secondary)
        figure(f"{tag}: state left in the secondary's lease file", written)
        assert written == before == "normal"  # nothing written on the way out
        took, seen = await restart_and_follow(lab, pair, 60)
    figure(f"{tag}: after restart, states (primary, its view, secondary, its view)", seen)
    figure(f"{tag}: after restart, normal/normal after (s)", took)
    figure(f"{tag}: after restart, full update requested", full_update_requested(lab.secondary))
    assert not full_update_requested(lab.secondary)
