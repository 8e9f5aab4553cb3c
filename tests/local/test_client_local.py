"""Client behaviour against misbehaving peers on loopback (no dhcpd needed).

These peers are deliberately broken (silent, garbage, wrong version), which a real dhcpd
cannot be made to be; everything a real dhcpd can do is tested in test_client_dhcpd.py.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

import aiomapi
from aiomapi._asyncio.deadlines import RESOLUTION, Deadlines, Expired
from aiomapi._sansio.wire import STARTUP_BYTES
from aiomapi.server.accept import Acceptor
from aiomapi.testing import FakeDhcpd, synthetic_leases

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    acceptors: list[Acceptor] = []

    async def start(handler: Handler) -> int:
        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await handler(reader, writer)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

        acceptor = Acceptor(run)
        await acceptor.start("127.0.0.1", 0)
        acceptors.append(acceptor)
        assert acceptor.port is not None
        return acceptor.port

    yield start
    for acceptor in acceptors:
        await acceptor.close()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # never answers; returns at EOF
    writer.close()


async def startup_then_silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(STARTUP_BYTES)
    await reader.read()
    writer.close()


async def test_connect_timeout_when_the_server_never_starts_up(
    peer: Callable[[Handler], Awaitable[int]],
) -> None:
    port = await peer(silent)
    with pytest.raises(aiomapi.TimeoutError) as info:
        async with aiomapi.Client("127.0.0.1", port, timeout=0.2):
            pass
    assert isinstance(info.value, TimeoutError)
    assert "connecting" in str(info.value)


async def test_request_timeout_closes_the_stuck_connection(
    peer: Callable[[Handler], Awaitable[int]],
) -> None:
    port = await peer(startup_then_silent)
    async with aiomapi.Client("127.0.0.1", port, timeout=0.2) as client:
        [conn] = client.pool.connections
        first = asyncio.create_task(client.open("lease", {"ip-address": "10.0.0.1"}))
        second = asyncio.create_task(
            client.open(
                "lease",
                {"ip-address": "10.0.0.2"},
            )
        )
        results = await asyncio.gather(first, second, return_exceptions=True)
        assert all(isinstance(r, aiomapi.TimeoutError) for r in results), results
        assert conn.closed
        # a per-call timeout overrides the client's
        with pytest.raises(aiomapi.TimeoutError):
            await client.request(
                aiomapi._sansio.client.Request(aiomapi.Opcode.REFRESH, handle=1), timeout=0.05
            )


async def test_each_request_expires_at_its_own_deadline(
    peer: Callable[[Handler], Awaitable[int]],
) -> None:
    # deadlines share one timer while they come in order; an earlier one than the last
    # (a shorter per-call timeout) must still fire on time, not when the later ones do
    port = await peer(startup_then_silent)
    async with aiomapi.Client("127.0.0.1", port, timeout=30) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()
        slow = asyncio.create_task(client.open("lease", {"ip-address": "10.0.0.1"}))
        await asyncio.sleep(0)
        with pytest.raises(aiomapi.TimeoutError):  # queued behind the first, or written
            await client.request(
                aiomapi._sansio.client.Request(aiomapi.Opcode.REFRESH, handle=1), timeout=0.2
            )
        assert loop.time() - start < 10  # not held back to the 30 s deadline before it
        slow.cancel()
        with pytest.raises((asyncio.CancelledError, aiomapi.ConnectionClosed)):
            await slow


async def test_finished_requests_leave_no_deadlines_behind() -> None:
    key = aiomapi.Key.generate("k")
    async with (
        FakeDhcpd(key=key, leases=synthetic_leases(50)) as server,
        aiomapi.Client(server.host, server.port, key=key, timeout=5) as client,
    ):
        for _ in range(3):
            results = await asyncio.gather(
                *(client.leases.get(ip=f"10.100.1.{i}") for i in range(50))
            )
            assert len(results) == 50
            # every finished request took its deadline along, on each connection and in
            # the pool's line of waiting callers
            assert len(client.pool.connections) > 1
            for conn in client.pool.connections:
                assert len(conn._deadlines) == 0
            assert client.pool._deadlines is not None
            assert len(client.pool._deadlines) == 0


async def test_wrong_protocol_version_is_a_clear_error(
    peer: Callable[[Handler], Awaitable[int]],
) -> None:
    async def wrong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(bytes.fromhex("00000065 00000018"))
        await reader.read()

    port = await peer(wrong)
    with pytest.raises(aiomapi.RemoteProtocolError, match="version 101"):
        async with aiomapi.Client("127.0.0.1", port, timeout=2):
            pass


async def test_garbage_after_startup_fails_pending_requests(
    peer: Callable[[Handler], Awaitable[int]],
) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(STARTUP_BYTES)
        await reader.read(8)
        await reader.read(100)  # the request
        # a header, then an entry announcing a 4 GiB value
        writer.write(bytes(24) + b"\x00\x04type" + b"\xff" * 4)
        await reader.read()

    port = await peer(garbage)
    async with aiomapi.Client("127.0.0.1", port, timeout=2) as client:
        with pytest.raises(aiomapi.ConnectionClosed) as info:
            await client.open("lease", {"ip-address": "10.0.0.1"})
        assert isinstance(info.value.__cause__, aiomapi.RemoteProtocolError)


async def test_server_closing_mid_request(peer: Callable[[Handler], Awaitable[int]]) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(STARTUP_BYTES)
        await reader.read(8)
        await reader.read(100)
        writer.close()

    port = await peer(hang_up)
    async with aiomapi.Client("127.0.0.1", port, timeout=2) as client:
        with pytest.raises(aiomapi.ConnectionClosed, match=r"closed the connection|lost"):
            await client.open("lease", {"ip-address": "10.0.0.1"})


async def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(aiomapi.ConnectionError_, match="cannot connect") as info:
            async with aiomapi.Client("127.0.0.1", port, timeout=2):
                pass
    assert isinstance(info.value, ConnectionError)


async def test_local_refusals_need_no_server(peer: Callable[[Handler], Awaitable[int]]) -> None:
    port = await peer(startup_then_silent)
    async with aiomapi.Client("127.0.0.1", port, timeout=2) as client:
        with pytest.raises(aiomapi.LocalProtocolError, match="crashes"):
            await client.update(5, {"local-state": None}, object_type="failover-state")
        with pytest.raises(aiomapi.LocalProtocolError, match="4-byte state"):
            await client.update(5, {"local-state": 99})
        with pytest.raises(aiomapi.LocalProtocolError):
            await client.open("lease", {"ip-address": "fe80::1"})
        with pytest.raises(aiomapi.LocalProtocolError, match="handle"):
            await client.refresh(0)
        assert client.pool.connections[0].load == 0


def test_client_repr_hides_the_secret() -> None:
    key = aiomapi.Key.generate("k")
    client = aiomapi.Client("127.0.0.1", key=key)
    assert key.secret not in repr(client)
    assert key.secret not in repr(client.pool)


async def test_call_timeout_covers_connecting(
    peer: Callable[[Handler], Awaitable[int]],
) -> None:
    """A server that accepts and stays silent (a stopped dhcpd): with ``timeout=1`` and
    ``connect_timeout=8``, each of 20 calls fails after its own second, saying it was
    connecting; when the server answers later, nothing was sent on the late connection."""
    received = bytearray()
    late_startup = asyncio.Event()

    async def silent_then_late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await late_startup.wait()
        writer.write(STARTUP_BYTES)
        async with asyncio.timeout(3):
            with contextlib.suppress(builtins.TimeoutError):
                while chunk := await asyncio.wait_for(reader.read(4096), 0.5):
                    received.extend(chunk)

    port = await peer(silent_then_late)
    loop = asyncio.get_running_loop()
    client = aiomapi.Client("127.0.0.1", port, timeout=1, connect_timeout=8)
    try:

        async def call() -> tuple[float, BaseException | None]:
            start = loop.time()
            try:
                await client.leases.get(ip="10.100.1.1")
            except BaseException as exc:
                return loop.time() - start, exc
            return loop.time() - start, None

        async with asyncio.timeout(6):
            results = await asyncio.gather(*(call() for _ in range(20)))
        for took, error in results:
            assert isinstance(error, aiomapi.TimeoutError), error
            assert "connecting to" in str(error)
            assert "timeout of 1 s" in str(error)
            assert 0.9 <= took < 2.5, took
        late_startup.set()
        await asyncio.sleep(1.0)
        assert bytes(received) == STARTUP_BYTES  # our startup only: no request was sent
    finally:
        await client.close()


async def test_the_running_loop_is_the_one_asked_for() -> None:
    """AIOMAPI_EVENT_LOOP=uvloop runs this suite on uvloop; make sure it really does."""
    loop = asyncio.get_running_loop()
    wanted = os.environ.get("AIOMAPI_EVENT_LOOP", "asyncio")
    assert ("uvloop" in type(loop).__module__) == (wanted == "uvloop")


async def test_deadlines_less_than_a_clock_tick_apart_expire_together() -> None:
    """Two requests sent microseconds apart with one timeout expire in the same pass, not a
    tick of uvloop's millisecond clock apart (else the second would see the first close its
    connection and fail with ConnectionClosed instead of its own timeout)."""
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop)
    now = loop.time()
    first, second = loop.create_future(), loop.create_future()
    deadlines.expire_at(now + 0.05, first)
    deadlines.expire_at(now + 0.05 + RESOLUTION / 2, second)
    seen: list[bool] = []
    first.add_done_callback(lambda _: seen.append(second.done()))
    await asyncio.sleep(0.2)
    assert seen == [True]
    assert isinstance(second.exception(), Expired)


async def test_deadlines_share_one_timer_and_fire_in_order() -> None:
    """The FIFO of deadlines (connections and the pool's line of callers share its code)."""
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop)
    now = loop.time()
    futures = [loop.create_future() for _ in range(4)]
    assert deadlines.expire_at(now + 0.05, futures[0]) is None
    assert deadlines.expire_at(now + 0.10, futures[1]) is None
    own = deadlines.expire_at(now + 0.02, futures[2])  # earlier than the last: own timer
    assert own is not None
    assert deadlines.expire_at(now + 0.15, futures[3]) is None
    futures[1].set_result(None)  # finished in time
    await asyncio.sleep(0.2)
    assert isinstance(futures[0].exception(), Expired)
    assert isinstance(futures[2].exception(), Expired)
    assert isinstance(futures[3].exception(), Expired)
    assert futures[1].result() is None
    assert len(deadlines) == 0
