"""Bounded-concurrency bulk operations."""

from __future__ import annotations

import asyncio
import random

import pytest

import aiomapi
from aiomapi._asyncio.bulk import map_bounded
from aiomapi.testing import FakeDhcpd
from aiomapi.testing.dhcpd_lab import lease_ip
from aiomapi.typed.leases import Leases


class Probe:
    """An operation that records how many calls run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.started: list[int] = []

    async def __call__(self, n: int) -> int:
        self.started.append(n)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(random.random() / 1000)
            if n % 7 == 3:
                raise aiomapi.NotFound(23, "no object matches specification")
            return n * 2
        finally:
            self.running -= 1


async def test_every_item_gets_its_own_result_within_the_bound() -> None:
    probe = Probe()
    results = [r async for r in map_bounded(probe, range(500), concurrency=16)]
    assert probe.peak == 16
    assert sorted(item for item, _ in results) == list(range(500))
    for item, result in results:
        if item % 7 == 3:
            assert isinstance(result, aiomapi.NotFound)
        else:
            assert result == item * 2


async def test_ordered_results_follow_the_input() -> None:
    results = [r async for r in map_bounded(Probe(), range(200), concurrency=32, ordered=True)]
    assert [item for item, _ in results] == list(range(200))


async def test_items_are_pulled_lazily() -> None:
    probe = Probe()
    pulled = 0

    def items() -> object:
        nonlocal pulled
        for n in range(10**9):
            pulled += 1
            yield n

    stream = map_bounded(probe, items(), concurrency=8)  # type: ignore[arg-type]
    got = 0
    async for _ in stream:
        got += 1
        if got == 20:
            break
    await stream.aclose()
    assert pulled <= 20 + 2 * 8  # consumed + finished but unconsumed + running
    await asyncio.sleep(0.01)
    assert probe.running == 0  # the rest were cancelled


async def test_other_errors_propagate() -> None:
    async def broken(n: int) -> int:
        if n == 5:
            raise RuntimeError("bug")
        return n

    with pytest.raises(RuntimeError, match="bug"):
        async for _ in map_bounded(broken, range(10), concurrency=2):
            pass


async def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        async for _ in map_bounded(Probe(), range(3), concurrency=0):
            pass


# ---------------------------------------------------------------- get_many without a Client


class _OnlyRequest:
    """A requester with nothing but ``request``: get_many runs on map_bounded for it."""

    def __init__(self, client: aiomapi.Client) -> None:
        self.request = client.request


async def test_get_many_for_a_plain_requester_gives_the_same_results() -> None:
    key = aiomapi.Key.generate("omapi_key")
    ips = [lease_ip(n) for n in range(60)] + ["10.99.0.1", "not-an-ip"]
    async with (
        asyncio.timeout(30),
        FakeDhcpd.like_lab(60, key=key) as server,
        aiomapi.Client(server.host, server.port, key=key, connections=2) as omapi,
    ):
        plain = Leases(_OnlyRequest(omapi))
        fallback = [r async for r in plain.get_many(ips=ips, ordered=True, rate=None)]
        batch = [r async for r in omapi.leases.get_many(ips=ips, ordered=True, rate=None)]
        with pytest.raises(ValueError, match="rate"):
            plain.get_many(ips=ips, rate=0)
    assert [ip for ip, _ in fallback] == [ip for ip, _ in batch] == ips
    for (_, a), (_, b) in zip(fallback, batch, strict=True):
        assert type(a) is type(b)
        if isinstance(a, aiomapi.Lease):
            assert a == b
