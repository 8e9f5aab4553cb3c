"""Rate limits: the sans-IO token bucket on a fake clock, and the pacing it gives on the loop.

The real-time checks assert lower bounds only (a limit can make a run slower, never faster),
so a loaded machine cannot make them fail.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

import aiomapi
from aiomapi._asyncio.bulk import DEFAULT_BULK_RATE
from aiomapi._asyncio.pacing import BURST_SECONDS, Pacer
from aiomapi._sansio.tokens import TokenBucket, check_rate
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


def test_the_last_reservation_is_given_back_and_the_next_caller_takes_its_turn() -> None:
    bucket = TokenBucket(100, 5, now=0.0)
    assert bucket.reserve(0.0) == pytest.approx(0.01)
    assert bucket.reserve(0.0) == pytest.approx(0.02)
    assert bucket.refund(0.005, 1, due=0.02)
    assert bucket.tokens(0.005) == pytest.approx(-0.5)
    # the next caller queues up right behind the first, in the turn given back
    assert bucket.reserve(0.005) == pytest.approx(0.015)
    # given back one after the other from the end, the bucket is as if none had reserved
    assert bucket.refund(0.006, 1, due=0.02)
    assert bucket.refund(0.006, 1, due=0.01)
    assert bucket.tokens(0.006) == pytest.approx(0.6)


def test_a_reservation_with_a_later_one_behind_it_stays_spent() -> None:
    """Giving back the first of two would let a third caller share the second's turn."""
    bucket = TokenBucket(100, 1, now=0.0)
    bucket.reserve(0.0)
    bucket.reserve(0.0)
    assert not bucket.refund(0.005, 1, due=0.01)
    assert bucket.tokens(0.005) == pytest.approx(-1.5)
    assert bucket.reserve(0.005) == pytest.approx(0.025)  # after the second's turn at 0.02


def test_a_reservation_whose_turn_has_come_stays_spent() -> None:
    """Once its turn has come the balance is back above zero: a taker may spend it."""
    bucket = TokenBucket(100, 2, now=0.0)
    bucket.reserve(0.0)
    assert not bucket.refund(0.015, 1, due=0.01)  # even when nothing was taken since
    assert bucket.tokens(0.015) == pytest.approx(0.5)
    assert bucket.take(0.02)
    assert not bucket.refund(0.02, 1, due=0.01)
    assert bucket.tokens(0.02) == pytest.approx(0)
    assert not bucket.refund(0.5, 1, due=0.5)  # a turn this bucket never gave
    assert bucket.tokens(0.5) == pytest.approx(2)


def test_a_refund_never_fills_the_bucket_above_its_capacity() -> None:
    bucket = TokenBucket(100, 5, now=0.0, tokens=5)
    assert bucket.reserve(0.0, 8) == pytest.approx(0.03)
    assert bucket.refund(0.0, 8, due=0.03)
    assert bucket.tokens(0.0) == 5
    assert [bucket.take(0.0) for _ in range(6)] == [True] * 5 + [False]


def test_refunds_hold_on_a_clock_that_has_run_for_years() -> None:
    """Loop times near 10^8 s (three years up) come in steps of 1.5e-8 s, so a turn's time
    is not exact: the last one is still given back, and still told from the one before."""
    rate = 50_000.0  # a turn every 2e-5 s
    for k in range(40):
        start = 1e8 + k * 0.37
        bucket = TokenBucket(rate, 250, now=start)
        dues = [start + bucket.reserve(start) for _ in range(3)]
        now = start + k * 1e-6  # before the first turn, 2e-5 s on
        assert not bucket.refund(now, 1, due=dues[1]), k
        assert bucket.refund(now, 1, due=dues[2]), k
        assert bucket.refund(now, 1, due=dues[1]), k
        assert bucket.tokens(now) == pytest.approx(-1 + k * 1e-6 * rate, abs=1e-2), k


_Op = tuple[str, float]
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.floats(0, 3, allow_nan=False)),
        st.tuples(st.just("reserve"), st.sampled_from([1.0, 1.0, 3.0])),
        st.tuples(st.just("take"), st.just(0.0)),
        st.tuples(st.just("cancel"), st.integers(0, 1_000).map(float)),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(
    rate=st.sampled_from([1.0, 7.5, 100.0, 5_000.0]),
    capacity=st.sampled_from([1.0, 2.5, 10.0]),
    start=st.sampled_from([0.0, 12_345.678, 1e8]),
    ops=_OPS,
)
def test_refunds_never_let_a_window_see_more_than_rate_times_its_length_plus_capacity(
    rate: float, capacity: float, start: float, ops: list[_Op]
) -> None:
    """Callers reserve, take, and are cancelled while waiting, in any order, on a fake
    clock; a cancelled caller asks for its tokens back. Every token spent (a take at once,
    a reservation of up to capacity tokens that was not cancelled, at its turn) is one
    request; any window of T s sees at most rate * T + capacity of them, and the first t s
    at most rate * t (the bucket starts empty). A refund is granted exactly when nobody
    reserved after it: given back unconditionally, the tokens of a caller cancelled from the
    middle of the queue let later callers share turns, and this fails."""
    bucket = TokenBucket(rate, capacity, now=start)
    now = start
    used: list[float] = []
    # Reservations not given back, oldest first: (count, due, cancelled).
    held: list[tuple[float, float, bool]] = []
    for op, arg in ops:
        if op == "wait":
            now += arg / rate
        elif op == "reserve":
            count = arg if arg <= capacity else 1.0  # more at once is a burst of its own
            held.append((count, now + bucket.reserve(now, count), False))
        elif op == "take":
            if bucket.take(now):
                used.append(now - start)
        else:
            # a caller cancelled while it waits, or after its turn came but before it sent
            unused = [i for i, (_, _, cancelled) in enumerate(held) if not cancelled]
            if not unused:
                continue
            i = unused[int(arg) % len(unused)]
            count, due, _ = held[i]
            last = i == len(held) - 1
            refunded = bucket.refund(now, count, due)
            if due > now:
                assert refunded is last
            else:
                assert not refunded or last
            if refunded:
                held.pop()
            else:
                held[i] = (count, due, True)  # stays spent, never used
    for count, due, cancelled in held:
        if not cancelled:
            used.extend([due - start] * int(count))
    used.sort()
    # what the clock's last digit is worth in tokens: at 10^8 s, a step of 1.5e-8 s
    slack = 1e-6 + rate * 8 * math.ulp(now)
    # j - i + 1 spent in [used[i], used[j]] is at most rate * span + capacity: with
    # w(k) = rate * used[k] - k, that is w(i) - w(j) + 1 <= capacity for every i <= j.
    highest = float("-inf")
    for j, at in enumerate(used):
        assert j + 1 <= rate * at + slack, f"{j + 1} spent in the first {at} s"
        highest = max(highest, rate * at - j)
        assert highest - (rate * at - j) + 1 <= capacity + slack, f"{at} s: over the rate"


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
    # 5 ms apart: uvloop's timers have a resolution of 1 ms, so turns 0.5 ms apart (2,000/s)
    # could fire in the same tick in either order (seen once in CI's uvloop pass)
    pacer = Pacer(200, burst=1)
    order: list[int] = []

    async def one(n: int) -> None:
        await pacer.wait()
        order.append(n)

    async with asyncio.timeout(TEST_TIMEOUT):
        await asyncio.gather(*(one(n) for n in range(30)))
    assert order == list(range(30))


async def _sleeping(task: asyncio.Task[None]) -> None:
    """Let ``task`` run up to its first sleep (a few loop passes, bounded)."""
    for _ in range(10):
        await asyncio.sleep(0)
    assert not task.done()


async def test_a_cancelled_waiter_gives_its_turn_to_the_next_caller() -> None:
    """At 5 a second from an empty bucket, the first caller's turn is 0.2 s on. Cancelled,
    it gives it back: the next caller waits for that turn (0.2 s, not 0.4), and no less."""
    rate = 5.0
    pacer = Pacer(rate, burst=1)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(TEST_TIMEOUT):
        started = loop.time()
        first = asyncio.create_task(pacer.wait())
        await _sleeping(first)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        # without the refund a whole token more is owed: 0.4 s from the start
        assert pacer.delay(loop.time()) <= 1 / rate
        await pacer.wait()
        assert loop.time() - started >= 0.99 / rate


async def test_a_waiter_cancelled_ahead_of_others_keeps_its_turn_spent() -> None:
    """Two wait; the first is cancelled and keeps its turn (the second's turn, 2/rate on,
    was reckoned behind it); then the second is cancelled, and being last, gives its back."""
    rate = 2.0
    pacer = Pacer(rate, burst=1)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(TEST_TIMEOUT):
        started = loop.time()
        waiters = [asyncio.create_task(pacer.wait()) for _ in range(2)]
        await _sleeping(waiters[1])
        waiters[0].cancel()
        await asyncio.gather(waiters[0], return_exceptions=True)
        # two tokens still owed: the next token is the third, 1.5 s from the start
        assert pacer.delay(loop.time()) > 1.25 - (loop.time() - started)
        waiters[1].cancel()
        await asyncio.gather(waiters[1], return_exceptions=True)
        # the first's turn stays spent, the second's is back: the next is the second token
        delay = pacer.delay(loop.time())
        assert 0.75 - (loop.time() - started) < delay <= 1.0
    assert all(w.cancelled() for w in waiters)


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


async def test_a_call_the_rate_wait_would_leave_no_time_to_send_gives_up_at_once(
    server: FakeDhcpd,
) -> None:
    """At 10 a second the first call waits 0.1 s (the bucket starts empty). With a timeout
    5 ms longer, it would be sent with 5 ms left, time out and close its connection: it
    fails at once instead, sending nothing; 20 ms longer, it is sent and answered."""
    margin = aiomapi.client.MIN_TIME_TO_SEND
    async with (
        asyncio.timeout(TEST_TIMEOUT),
        client(server, max_rate=10, timeout=0.1 + margin / 2) as omapi,
    ):
        with pytest.raises(aiomapi.TimeoutError, match="would leave less than"):
            await omapi.leases.get(ip=lease_ip(1))  # at once, not after waiting
        [conn] = omapi.pool.connections
        assert not conn.closed  # nothing was written, so nothing timed out on it
        assert conn.load == 0
    async with (
        asyncio.timeout(TEST_TIMEOUT),
        client(server, max_rate=10, timeout=0.1 + margin * 2) as omapi,
    ):
        lease = await omapi.leases.get(ip=lease_ip(1))
        assert lease.client_hostname == "host1"


async def test_calls_that_give_up_on_max_rate_give_their_tokens_back(server: FakeDhcpd) -> None:
    """At 2 a second with a 0.8 s timeout, the first call waits 0.5 s and five more, each
    owed a whole second or more, fail at once. Their tokens go back: once the first is
    answered the next call is owed 0.5 s at most, where five spent tokens would make it
    3 s and fail it. A call cancelled while it waits gives its token back too: the call
    after it, 0.1 s on, is owed 0.9 s, which fits in a 1.2 s timeout, not 1.4 s."""
    async with asyncio.timeout(TEST_TIMEOUT), client(server, max_rate=2, timeout=0.8) as omapi:
        results = await asyncio.gather(
            *(omapi.leases.get(ip=lease_ip(n)) for n in range(6)), return_exceptions=True
        )
        assert isinstance(results[0], aiomapi.Lease), results[0]
        assert all(isinstance(r, aiomapi.TimeoutError) for r in results[1:]), results
        lease = await omapi.leases.get(ip=lease_ip(7))
        assert lease.client_hostname == "host7"
    async with asyncio.timeout(TEST_TIMEOUT), client(server, max_rate=2, timeout=1.2) as omapi:
        first = asyncio.create_task(omapi.leases.get(ip=lease_ip(1)))
        cancelled = asyncio.create_task(omapi.leases.get(ip=lease_ip(2)))
        await asyncio.sleep(0.1)  # both wait for their turns, 0.5 and 1 s on
        assert not cancelled.done()
        cancelled.cancel()
        await asyncio.gather(cancelled, return_exceptions=True)  # it gives back as it ends
        assert cancelled.cancelled()
        third = await omapi.leases.get(ip=lease_ip(3))
        assert third.client_hostname == "host3"
        assert (await first).client_hostname == "host1"


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
