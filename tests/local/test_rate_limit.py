"""Rate limits: the sans-IO token bucket on a fake clock, and the pacing it gives on the loop.

The real-time checks assert lower bounds only (a limit can make a run slower, never faster),
so a loaded machine cannot make them fail.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest
import pytest_asyncio

import aiomapi
from aiomapi._asyncio.bulk import DEFAULT_BULK_RATE
from aiomapi._asyncio.pacing import BURST_SECONDS, Pacer
from aiomapi._asyncio.tokens import TokenBucket, check_rate
from aiomapi.scan import scan_leases
from aiomapi.testing import FakeDhcpd
from aiomapi.testing.dhcpd_lab import lease_ip
from aiomapi.typed.release import expire_many, release_many

N = 200
TEST_TIMEOUT = 60


# ---------------------------------------------------------------- the bucket, fake clock


def test_a_fresh_bucket_is_empty_and_fills_at_its_rate() -> None:
    bucket = TokenBucket(100, 5, now=10.0)
    assert bucket.tokens(10.0) == 0
    assert not bucket.take(10.0)
    assert bucket.delay(10.0) == pytest.approx(0.01)
    assert bucket.delay(10.004) == pytest.approx(0.006)
    assert bucket.take(10.01)
    assert not bucket.take(10.01)
    # a long idle time fills it to its capacity and no further
    assert bucket.tokens(1000.0) == 5
    assert [bucket.take(1000.0) for _ in range(6)] == [True] * 5 + [False]


def test_a_clock_that_goes_back_earns_nothing() -> None:
    bucket = TokenBucket(100, 5, now=10.0, tokens=2)
    assert bucket.tokens(9.0) == 2
    assert bucket.tokens(10.0) == 2  # the time before the step back is not earned twice
    assert bucket.tokens(10.01) == pytest.approx(3)


def test_reservations_queue_up_in_order() -> None:
    """Callers that reserve at one instant wait 1/rate, 2/rate, ... in the order they came,
    and the reserved tokens are not there for a taker that only looks."""
    bucket = TokenBucket(1000, 10, now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(5)]
    assert waits == pytest.approx([0.001, 0.002, 0.003, 0.004, 0.005])
    assert not bucket.take(0.004)
    assert bucket.delay(0.004) == pytest.approx(0.002)
    assert bucket.take(0.006)
    assert bucket.reserve(0.006, 3) == pytest.approx(0.003)


def test_any_window_sees_at_most_rate_times_its_length_plus_capacity() -> None:
    """A taker that takes whenever it can, on a clock with uneven steps."""
    rate, capacity = 500.0, 7.0
    bucket = TokenBucket(rate, capacity, now=0.0)
    taken: list[float] = []
    now = 0.0
    for step in range(20_000):
        now += (step % 13) * 0.0001 + (0.05 if step % 997 == 0 else 0)
        while bucket.take(now):
            taken.append(now)
    assert len(taken) > 1000
    for window in (0.01, 0.1, 1.0):
        right = 0
        for left, start in enumerate(taken):
            while right < len(taken) and taken[right] <= start + window:
                right += 1
            assert right - left <= rate * window + capacity + 1e-9


def test_rates_are_checked() -> None:
    for bad in (0, -1, -0.5, float("nan"), True, "5", None.__class__):
        with pytest.raises(ValueError, match="rate"):
            check_rate(bad)  # type: ignore[arg-type]
    assert check_rate(None) is None
    assert check_rate(float("inf")) is None
    assert check_rate(3) == 3.0
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0, 1, now=0)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(10, 0.5, now=0)
    with pytest.raises(ValueError, match="burst"):
        Pacer(10, burst=0.5)
    assert Pacer(DEFAULT_BULK_RATE).burst == DEFAULT_BULK_RATE * BURST_SECONDS
    assert Pacer(5).burst == 1


def test_the_client_checks_max_rate() -> None:
    for bad in (0, -3, float("nan"), True):
        with pytest.raises(ValueError, match="max_rate"):
            aiomapi.Client("127.0.0.1", max_rate=bad)
    assert aiomapi.Client("127.0.0.1").max_rate is None
    assert aiomapi.Client("127.0.0.1", max_rate=250).max_rate == 250.0


# ---------------------------------------------------------------- on the loop, real time


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeDhcpd]:
    key = aiomapi.Key.generate("omapi_key")
    async with FakeDhcpd.like_lab(N, key=key) as fake:
        yield fake


def client(server: FakeDhcpd, **kwargs: object) -> aiomapi.Client:
    return aiomapi.Client(server.host, server.port, key=server.key, **kwargs)  # type: ignore[arg-type]


async def test_pacer_waiters_are_served_in_order() -> None:
    pacer = Pacer(2000, burst=1)
    order: list[int] = []

    async def one(n: int) -> None:
        await pacer.wait()
        order.append(n)

    async with asyncio.timeout(TEST_TIMEOUT):
        await asyncio.gather(*(one(n) for n in range(30)))
    assert order == list(range(30))


async def test_get_many_keeps_to_its_rate(server: FakeDhcpd) -> None:
    """100 lookups at 200/s from an empty bucket: the 100th token is earned after 0.5 s."""
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=4) as omapi:
        started = time.monotonic()
        results = [
            r async for r in omapi.leases.get_many(ips=[lease_ip(n) for n in range(100)], rate=200)
        ]
        elapsed = time.monotonic() - started
    assert all(isinstance(r, aiomapi.Lease) for _, r in results)
    assert len(results) == 100
    assert elapsed >= 0.99 * 99 / 200, elapsed


async def test_the_client_max_rate_covers_every_call(server: FakeDhcpd) -> None:
    """max_rate=200: 40 concurrent single lookups and a 40-item get_many without a rate
    of its own share it, so the 80 requests take at least 79 / 200 s."""
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=4, max_rate=200) as omapi:
        started = time.monotonic()
        singles = asyncio.gather(*(omapi.leases.get(ip=lease_ip(n)) for n in range(40)))
        bulk = [
            r
            async for r in omapi.leases.get_many(
                ips=[lease_ip(n) for n in range(40, 80)], rate=None
            )
        ]
        leases = await singles
        elapsed = time.monotonic() - started
    assert [lease.client_hostname for lease in leases] == [f"host{n}" for n in range(40)]
    assert all(isinstance(r, aiomapi.Lease) for _, r in bulk)
    assert elapsed >= 0.99 * 79 / 200, elapsed


async def test_max_rate_wait_counts_against_the_timeout(server: FakeDhcpd) -> None:
    """At 10 a second, the 30th caller would wait about 3 s: with a 1 s timeout it fails
    without sending, saying why; the first ones are answered."""
    async with (
        asyncio.timeout(TEST_TIMEOUT),
        client(server, max_rate=10, timeout=1) as omapi,
    ):
        results = await asyncio.gather(
            *(omapi.leases.get(ip=lease_ip(n)) for n in range(30)), return_exceptions=True
        )
    assert isinstance(results[0], aiomapi.Lease)
    assert isinstance(results[-1], aiomapi.TimeoutError)
    assert "max_rate" in str(results[-1])


async def test_release_and_expire_keep_to_their_rate(server: FakeDhcpd) -> None:
    """A job costs one token to read and three to change: 10 releases at 200 requests a
    second take at least 39 / 200 s; a dry run (reads only) of 40 at least 39 / 200 s."""
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=4) as omapi:
        started = time.monotonic()
        released = [
            r async for r in release_many(omapi, [lease_ip(n) for n in range(10)], rate=200)
        ]
        elapsed = time.monotonic() - started
        assert all(r.changed for r in released), released
        assert elapsed >= 0.99 * 39 / 200, elapsed
        started = time.monotonic()
        dry = [
            r
            async for r in omapi.leases.expire_many(
                [lease_ip(n) for n in range(20, 60)], dry_run=True, rate=200
            )
        ]
        elapsed = time.monotonic() - started
        assert len(dry) == 40
        assert elapsed >= 0.99 * 39 / 200, elapsed
        for bad in (0, -1):
            with pytest.raises(ValueError, match="rate"):
                release_many(omapi, [lease_ip(1)], rate=bad)
            with pytest.raises(ValueError, match="rate"):
                expire_many(omapi, [lease_ip(1)], rate=bad)


async def test_scan_keeps_to_its_rate_and_defaults_to_the_bulk_rate(server: FakeDhcpd) -> None:
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=4) as omapi:
        started = time.monotonic()
        async with aclosing(
            scan_leases(omapi, [lease_ip(n) for n in range(60)], rate=100)
        ) as leases:
            found = [lease async for lease in leases]
        elapsed = time.monotonic() - started
        assert len(found) == 60
        assert elapsed >= 0.99 * 59 / 100, elapsed
        with pytest.raises(ValueError, match="rate"):
            scan_leases(omapi, [lease_ip(1)], rate=-2)
    import inspect

    for function in (scan_leases, release_many, expire_many):
        default = inspect.signature(function).parameters["rate"].default
        assert default == DEFAULT_BULK_RATE, function
    for method in ("get_many", "release_many", "expire_many"):
        signature = inspect.signature(getattr(aiomapi.Leases, method))
        assert signature.parameters["rate"].default == DEFAULT_BULK_RATE, method
