"""Requests that wait in the pool's line (callers outnumber connections), on loopback.

A caller whose request finds every connection busy waits in the pool's FIFO; these tests pin
what it sees there: its timeout, its cancellation, a refusal, and the connection's error,
each without harm to the others, and nothing written for a request that gave up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

import aiomapi
from aiomapi._sansio.client import Request
from aiomapi._sansio.wire import STARTUP_BYTES
from aiomapi.server.accept import Acceptor
from aiomapi.testing import FakeDhcpd, synthetic_leases
from aiomapi.testing.layout import lease_ip

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest_asyncio.fixture
async def silent_peer() -> AsyncIterator[tuple[int, list[int]]]:
    """A server that starts up and never answers; yields its port and, per connection it
    accepted, how many bytes it received."""
    received: list[int] = []

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = len(received)
        received.append(0)
        writer.write(STARTUP_BYTES)
        try:
            while chunk := await reader.read(4096):
                received[index] += len(chunk)
        finally:
            writer.close()

    acceptor = Acceptor(run)
    await acceptor.start("127.0.0.1", 0)
    assert acceptor.port is not None
    yield acceptor.port, received
    await acceptor.close()


def lookup(ip: str) -> Request:
    return Request(
        aiomapi.Opcode.OPEN,
        message=(("type", b"lease"),),
        object=(("ip-address", ipaddress.IPv4Address(ip).packed),),
    )


@dataclasses.dataclass
class Busy:
    """A client of the silent peer with one connection, on which one lookup is written and
    one queued behind it (lease lookups go one at a time): the connection no longer accepts,
    and a new request waits in the pool's line."""

    client: aiomapi.Client
    received: list[int]  # bytes the peer received, per connection
    written: int  # what the first connection had received when it was busy


@pytest_asyncio.fixture
async def busy(silent_peer: tuple[int, list[int]]) -> AsyncIterator[Busy]:
    port, received = silent_peer
    async with aiomapi.Client("127.0.0.1", port, timeout=30, connections=1) as client:
        calls = [
            asyncio.create_task(client.request(lookup("10.0.0.1"), timeout=30)) for _ in range(2)
        ]
        for _ in range(50):
            await asyncio.sleep(0.01)
            [conn] = client.pool.connections
            if not conn.accepting:
                break
        else:
            raise AssertionError("the connection still accepts requests")
        yield Busy(client, received, received[0])
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)


async def test_a_request_that_times_out_in_line_is_never_written(busy: Busy) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(aiomapi.TimeoutError, match="waiting for a free connection") as info:
        await busy.client.request(lookup("10.0.0.3"), timeout=0.2)
    assert "timeout of 0.2 s" in str(info.value)
    assert 0.15 <= loop.time() - start < 5
    [conn] = busy.client.pool.connections
    assert not conn.closed  # the others' connection is untouched
    await asyncio.sleep(0.05)
    assert busy.received == [busy.written]  # nothing more reached the server


async def test_a_request_cancelled_in_line_leaves_the_line(busy: Busy) -> None:
    waiting = asyncio.create_task(busy.client.request(lookup("10.0.0.3")))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not busy.client.pool.connections[0].closed
    await asyncio.sleep(0.05)
    assert busy.received == [busy.written]


async def test_a_request_sent_after_waiting_in_line_times_out_like_any_other(
    silent_peer: tuple[int, list[int]],
) -> None:
    """The first connection dies of its own timeout; the request in line is written on the
    connection opened next, and when it gets no reply either, it says so (with what was left
    of its timeout) and closes that connection too."""
    port, received = silent_peer
    async with aiomapi.Client("127.0.0.1", port, timeout=30, connections=1) as client:
        first = asyncio.create_task(client.request(lookup("10.0.0.1"), timeout=0.2))
        second = asyncio.create_task(client.request(lookup("10.0.0.2"), timeout=30))
        await asyncio.sleep(0.05)
        [conn] = client.pool.connections
        assert not conn.accepting
        with pytest.raises(aiomapi.TimeoutError, match="no reply") as info:
            await client.request(lookup("10.0.0.3"), timeout=1.0)
        assert "the call's 1 s" in str(info.value)  # what was left of it, after waiting
        with pytest.raises(aiomapi.TimeoutError, match="no reply"):
            await first
        with pytest.raises(aiomapi.ConnectionClosed, match="earlier request got no reply"):
            await second
        assert conn.closed
        assert len(received) == 2
        assert received[1] > 0  # written on the second connection
        assert all(c.closed for c in client.pool._connections)


async def test_a_refused_request_in_line_fails_alone() -> None:
    """A request that the safety checks refuse fails when its turn in line comes, and the
    connection goes on to the callers behind it."""
    async with (
        FakeDhcpd(leases=synthetic_leases(20)) as server,
        aiomapi.Client(server.host, server.port, timeout=5, connections=1) as client,
    ):
        ips = [lease_ip(i) for i in range(8)]
        good = [asyncio.create_task(client.leases.get(ip=ip)) for ip in ips[:4]]
        await asyncio.sleep(0)
        refused = asyncio.create_task(
            client.update(5, {"local-state": None}, object_type="failover-state")
        )
        more = [asyncio.create_task(client.leases.get(ip=ip)) for ip in ips[4:]]
        with pytest.raises(aiomapi.LocalProtocolError, match="crashes"):
            await refused
        leases = await asyncio.gather(*good, *more)
        assert [str(lease.ip_address) for lease in leases] == ips


async def test_callers_beyond_the_connections_all_get_their_own_reply() -> None:
    async with (
        FakeDhcpd(leases=synthetic_leases(200)) as server,
        aiomapi.Client(server.host, server.port, timeout=5, connections=3) as client,
    ):
        ips = [lease_ip(i % 200) for i in range(300)]
        leases = await asyncio.gather(*(client.leases.get(ip=ip) for ip in ips))
        assert [str(lease.ip_address) for lease in leases] == ips
        assert client.pool._deadlines is not None
        client.pool._deadlines.forget_done()
        assert len(client.pool._deadlines) == 0
        assert all(conn.load == 0 for conn in client.pool.connections)
        assert len(client.pool.connections) == 3  # opened as needed, never beyond the size


async def test_a_closing_client_fails_the_requests_in_line(busy: Busy) -> None:
    waiting = asyncio.create_task(busy.client.request(lookup("10.0.0.3")))
    await asyncio.sleep(0.05)
    await busy.client.close()
    with pytest.raises(aiomapi.ConnectionClosed):
        await waiting
