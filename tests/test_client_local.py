"""Client behaviour against misbehaving peers on loopback (no dhcpd needed).

These peers are deliberately broken (silent, garbage, wrong version), which a real dhcpd
cannot be made to be; everything a real dhcpd can do is tested in test_client_dhcpd.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

import aiomapi
from aiomapi.wire import STARTUP_BYTES

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    servers: list[asyncio.Server] = []
    handlers: set[asyncio.Task[None]] = set()

    async def start(handler: Handler) -> int:
        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await handler(reader, writer)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

        server = await asyncio.start_server(run, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
    for task in handlers:
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)


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
                aiomapi.protocol.Request(aiomapi.Opcode.REFRESH, handle=1), timeout=0.05
            )


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
