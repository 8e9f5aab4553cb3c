"""The batch path under ``omapi.leases.get_many``, against the in-memory dhcpd and silent peers.

The same contract as the task-per-item path it replaced: one result per item, ``ordered=``,
lazy pulls with bounded memory, early exit, per-item timeouts, a server that dies mid-batch;
and what is new: no task and no future per item, and single callers keep their turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import pytest
import pytest_asyncio

import aiomapi
from aiomapi._asyncio.pool import Lane
from aiomapi._sansio.wire import STARTUP_BYTES
from aiomapi.server.accept import Acceptor
from aiomapi.testing import FakeDhcpd
from aiomapi.testing.dhcpd_lab import lease_ip, lease_mac
from aiomapi.typed.lookups import lease_by_ip

N = 500  # leases of the fake server
MISSING = "10.99.0.1"
TEST_TIMEOUT = 60


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeDhcpd]:
    key = aiomapi.Key.generate("omapi_key")
    async with FakeDhcpd.like_lab(N, key=key) as fake:
        yield fake


def client(server: FakeDhcpd, **kwargs: object) -> aiomapi.Client:
    return aiomapi.Client(server.host, server.port, key=server.key, **kwargs)  # type: ignore[arg-type]


def items_with_gaps(count: int) -> Iterator[str]:
    for n in range(count):
        yield lease_ip(n % N)
        if n % 97 == 0:
            yield MISSING
        if n % 331 == 5:
            yield "not-an-ip"


def check(item: str, result: object) -> None:
    """``result`` answers ``item``: its lease, NotFound, or the refusal of a bad address."""
    if item == MISSING:
        assert isinstance(result, aiomapi.NotFound), result
    elif item == "not-an-ip":
        assert isinstance(result, aiomapi.LocalProtocolError), result
    else:
        assert isinstance(result, aiomapi.Lease), result
        assert str(result.ip_address) == item
        assert result.client_hostname == f"host{INDEX[item]}"


INDEX = {lease_ip(i): i for i in range(N)}


def lanes(omapi: aiomapi.Client) -> list[object]:
    """Batches standing in the pool's line."""
    return [w for w in omapi.pool._waiters if isinstance(w, Lane)]


async def settled(omapi: aiomapi.Client) -> None:
    """Wait (bounded) until no connection has anything in flight or queued."""
    for _ in range(200):
        if all(conn.load == 0 for conn in omapi.pool.connections):
            return
        await asyncio.sleep(0.01)
    raise AssertionError([repr(c) for c in omapi.pool.connections])


@pytest.mark.parametrize("ordered", [False, True])
@pytest.mark.parametrize("connections", [1, 4])
async def test_every_item_gets_its_own_result(
    server: FakeDhcpd, ordered: bool, connections: int
) -> None:
    wanted = list(items_with_gaps(1500))
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=connections) as omapi:
        results = [
            r
            async for r in omapi.leases.get_many(
                ips=iter(wanted), ordered=ordered, concurrency=64, rate=None
            )
        ]
        await settled(omapi)
        assert not lanes(omapi)
    assert len(results) == len(wanted)
    if ordered:
        assert [item for item, _ in results] == wanted
    else:
        assert Counter(item for item, _ in results) == Counter(wanted)
    for item, result in results:
        check(item, result)


async def test_a_request_with_its_own_decoder_is_refused_where_it_would_be_awaited(
    server: FakeDhcpd,
) -> None:
    """Its result only a ReplySink receives: awaiting it as a Message is refused at once
    (no reply is waited for), and the same connection goes on answering."""
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=1) as omapi:
        with pytest.raises(aiomapi.LocalProtocolError, match="own reply decoder"):
            await omapi.request(lease_by_ip(lease_ip(1)))
        lease = await omapi.leases.get(ip=lease_ip(1))
    assert lease.client_hostname == "host1"


async def test_macs_and_client_ids_go_the_same_way(server: FakeDhcpd) -> None:
    macs = [lease_mac(i) for i in range(0, N, 7)]
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=3) as omapi:
        found = [r async for r in omapi.leases.get_many(macs=macs, ordered=True, rate=None)]
    assert [m for m, _ in found] == macs
    for (mac, lease), i in zip(found, range(0, N, 7), strict=True):
        assert isinstance(lease, aiomapi.Lease)
        assert str(lease.hardware_address) == mac
        assert lease.client_hostname == f"host{i}"


@pytest.mark.skipif(
    os.environ.get("AIOMAPI_EVENT_LOOP") == "uvloop", reason="counts on the stdlib loop's factories"
)
async def test_no_task_and_no_future_per_item(server: FakeDhcpd) -> None:
    """20,000 lookups start a handful of tasks (connections being opened, the server's own)
    and, on the client's side, a future per wake-up of the consumer, not per item."""
    count = 20_000
    loop = asyncio.get_running_loop()
    tasks = 0
    client_futures = 0
    create_future = loop.create_future

    def counting_future() -> asyncio.Future[object]:
        nonlocal client_futures
        if "aiomapi/_asyncio" in sys._getframe(1).f_code.co_filename:
            client_futures += 1
        return create_future()

    def counting_task(loop: asyncio.AbstractEventLoop, coro: object, **kw: object) -> object:
        nonlocal tasks
        tasks += 1
        return asyncio.Task(coro, loop=loop, **kw)  # type: ignore[arg-type]

    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=8) as omapi:
        loop.create_future = counting_future  # type: ignore[method-assign]
        loop.set_task_factory(counting_task)  # type: ignore[arg-type]
        try:
            done = 0
            ips = (lease_ip(n % N) for n in range(count))
            async for ip, result in omapi.leases.get_many(ips=ips, rate=None):
                assert isinstance(result, aiomapi.Lease)
                assert str(result.ip_address) == ip
                done += 1
        finally:
            loop.set_task_factory(None)
            del loop.create_future
    assert done == count
    assert tasks <= 40, tasks  # the old path started 256 workers and a step per lookup
    assert client_futures <= count // 2, client_futures


async def loads_during_a_batch(
    server: FakeDhcpd, connections: int, count: int
) -> tuple[Counter[int], int]:
    """Run a get_many of ``count`` lookups over a pool of ``connections``; how often each
    connection load was seen as results came in, and how many connections the pool had."""
    loads: Counter[int] = Counter()
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=connections) as omapi:
        ips = [lease_ip(n % N) for n in range(count)]
        async with aclosing(omapi.leases.get_many(ips=ips, rate=None)) as results:
            async for ip, result in results:
                check(ip, result)
                loads.update(conn.load for conn in omapi.pool.connections)
        opened = len(omapi.pool.connections)
        await settled(omapi)
    return loads, opened


async def test_a_batch_queues_nothing_ahead_on_a_connection(server: FakeDhcpd) -> None:
    """Lease lookups: one on the wire per connection and nothing waiting behind it (the next
    is written from the callback of the reply); every connection of the pool is used."""
    loads, opened = await loads_during_a_batch(server, connections=4, count=2_000)
    assert opened == 4
    assert max(loads) == 1, loads  # 2 would be one written and one queued behind it
    assert loads[1] > 0


async def test_a_batch_on_a_lone_connection_queues_one_ahead(server: FakeDhcpd) -> None:
    """With one connection nothing else keeps the server busy while the next request is
    prepared: the batch keeps one queued behind the one on the wire, never more."""
    loads, opened = await loads_during_a_batch(server, connections=1, count=1_000)
    assert opened == 1
    assert max(loads) == 2, loads
    assert loads[2] > loads[1], loads  # ahead nearly all the time


async def test_single_callers_keep_their_turn(server: FakeDhcpd) -> None:
    """While a long batch keeps every connection busy, single lookups, generic opens and
    host calls of the same client still go through, well before the batch ends."""
    total = 200_000
    consumed = 0
    started = asyncio.Event()
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=2) as omapi:

        async def batch() -> None:
            nonlocal consumed
            ips = (lease_ip(n % N) for n in range(total))
            async with aclosing(omapi.leases.get_many(ips=ips, rate=None)) as results:
                async for ip, result in results:
                    assert isinstance(result, aiomapi.Lease)
                    assert str(result.ip_address) == ip
                    consumed += 1
                    if consumed == 200:
                        started.set()

        running = asyncio.create_task(batch())
        await started.wait()
        for n in range(60):
            lease = await omapi.leases.get(ip=lease_ip(n))
            assert lease.client_hostname == f"host{n}"
            obj = await omapi.open("lease", {"ip-address": lease_ip(n + 1)})
            assert obj.values["ip-address"] == bytes(map(int, lease_ip(n + 1).split(".")))
            with pytest.raises(aiomapi.NotFound):
                await omapi.hosts.get(name=f"nobody{n}")
        together = await asyncio.gather(*(omapi.leases.get(ip=lease_ip(n)) for n in range(100)))
        assert [lease.client_hostname for lease in together] == [f"host{n}" for n in range(100)]
        assert not running.done()
        assert consumed < total  # the single calls were not made to wait for the batch
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await settled(omapi)
        assert not lanes(omapi)


async def test_leaving_early_takes_back_what_was_not_written(server: FakeDhcpd) -> None:
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=4) as omapi:
        for stop_after in (1, 7, 300):
            seen = 0
            async with aclosing(
                omapi.leases.get_many(ips=(lease_ip(n % N) for n in range(10**6)), rate=None)
            ) as results:
                async for ip, result in results:
                    check(ip, result)
                    seen += 1
                    if seen == stop_after:
                        break
            assert not lanes(omapi)
            await settled(omapi)  # written lookups were answered and drained, none left queued
        # nothing desynced: every answer is still its own question's
        async for ip, result in omapi.leases.get_many(ips=list(items_with_gaps(600)), rate=None):
            check(ip, result)


async def test_a_long_generator_is_pulled_lazily_in_bounded_memory(server: FakeDhcpd) -> None:
    pulled = 0

    def endless() -> Iterator[str]:
        nonlocal pulled
        for n in range(10**9):
            pulled += 1
            yield lease_ip(n % N)

    window = 32
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=4) as omapi:
        consumed = 0
        sizes: list[int] = []
        tracemalloc.start()
        try:
            async with aclosing(
                omapi.leases.get_many(ips=endless(), concurrency=window, rate=None)
            ) as results:
                async for ip, result in results:
                    assert isinstance(result, aiomapi.Lease)
                    assert str(result.ip_address) == ip
                    consumed += 1
                    assert pulled <= consumed + window
                    if consumed in (1_000, 10_000):
                        gc.collect()
                        sizes.append(tracemalloc.get_traced_memory()[0])
                    if consumed == 10_000:
                        break
        finally:
            tracemalloc.stop()
    assert consumed == 10_000
    # ten times the items, not ten times the memory: 9,000 more lookups may not keep even
    # 30 bytes each
    assert sizes[1] - sizes[0] < 256 * 1024, sizes


async def test_a_server_dying_mid_batch_fails_what_is_left(server: FakeDhcpd) -> None:
    """Every item gets exactly one result: its lease before the server closed, a
    connection error after; the iteration ends instead of hanging."""
    wanted = [lease_ip(n % N) for n in range(4000)]
    seen: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=4, timeout=5) as omapi:
        closed = False
        async for ip, result in omapi.leases.get_many(ips=wanted, rate=None):
            seen[ip] += 1
            if isinstance(result, aiomapi.OmapiError):
                assert closed, result
                assert isinstance(result, aiomapi.NetworkError), result
                errors[type(result).__name__] += 1
            else:
                assert str(result.ip_address) == ip
            if sum(seen.values()) == 1000 and not closed:
                closed = True
                await server.close()
    assert seen == Counter(wanted)
    assert sum(errors.values()) >= 2000, errors


async def test_a_silent_server_times_each_item_out() -> None:
    """A server that starts up and never answers: each lookup fails on its own timeout (or
    with its connection, which a timeout closed); nothing hangs."""

    async def startup_then_silent(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(STARTUP_BYTES)
        try:
            await reader.read()  # never answers; returns at EOF
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    server = Acceptor(startup_then_silent)
    await server.start("127.0.0.1", 0)
    port = server.port
    assert port is not None
    try:
        async with (
            asyncio.timeout(TEST_TIMEOUT),
            aiomapi.Client("127.0.0.1", port, timeout=0.3, connections=2) as omapi,
        ):
            items = [lease_ip(n) for n in range(12)]
            results = [r async for r in omapi.leases.get_many(ips=items, rate=None)]
    finally:
        await server.close()
    assert sorted(ip for ip, _ in results) == sorted(items)
    kinds = Counter(type(r).__name__ for _, r in results)
    assert set(kinds) <= {"TimeoutError", "ConnectionClosed"}, kinds
    assert kinds["TimeoutError"] >= 1
    timeouts = [r for _, r in results if isinstance(r, aiomapi.TimeoutError)]
    assert all("within 0.3 s" in str(r) or "0.3 s" in str(r) for r in timeouts), timeouts


async def test_a_bug_in_the_items_is_raised(server: FakeDhcpd) -> None:
    def broken() -> Iterator[str]:
        yield lease_ip(1)
        yield lease_ip(2)
        raise RuntimeError("bug in the items")

    async with asyncio.timeout(TEST_TIMEOUT), client(server) as omapi:
        with pytest.raises(RuntimeError, match="bug in the items"):
            async for _ in omapi.leases.get_many(ips=broken(), rate=None):
                pass
        await settled(omapi)
        assert not lanes(omapi)
        assert (await omapi.leases.get(ip=lease_ip(3))).client_hostname == "host3"


async def test_a_closed_client_gives_every_item_the_error(server: FakeDhcpd) -> None:
    omapi = await client(server).connect()
    await omapi.close()
    async with asyncio.timeout(TEST_TIMEOUT):
        results = [r async for r in omapi.leases.get_many(ips=[lease_ip(1), lease_ip(2)])]
    assert len(results) == 2
    assert all(isinstance(r, aiomapi.ConnectionClosed) for _, r in results), results


async def test_bad_arguments_fail_at_the_call(server: FakeDhcpd) -> None:
    async with client(server) as omapi:
        for bad in (0, -5, float("nan"), True, "fast"):
            with pytest.raises(ValueError, match="rate"):
                omapi.leases.get_many(ips=[lease_ip(1)], rate=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="concurrency"):
            omapi.leases.get_many(ips=[lease_ip(1)], concurrency=0)
