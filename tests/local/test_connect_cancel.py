"""A cancellation that lands just as the socket connects leaves no transport open.

asyncio delivers ``create_connection``'s result to a task that may already be due to be
cancelled (a timeout firing in the same iteration); the result is then lost, and so would be
the transport inside it. ``Connection.open`` keeps the protocol from the moment the loop makes
it and closes it on any failure.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aiomapi._asyncio.connection import Connection
from aiomapi.testing import FakeDhcpd, synthetic_leases


async def test_cancelled_right_after_connecting_closes_the_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    real = loop.create_connection
    made: list[tuple[asyncio.BaseTransport, asyncio.BaseProtocol]] = []

    async def connect_then_lose_the_result(*args: Any, **kwargs: Any) -> Any:
        if "sock" in kwargs:  # the server's side of the connection: left alone
            return await real(*args, **kwargs)
        made.append(await real(*args, **kwargs))
        raise asyncio.CancelledError  # as if the task's cancel arrived with the result

    async with FakeDhcpd(leases=synthetic_leases(2)) as server:
        monkeypatch.setattr(loop, "create_connection", connect_then_lose_the_result)
        with pytest.raises(asyncio.CancelledError):
            await Connection.open(server.host, server.port, None, timeout=5)
        monkeypatch.undo()
        assert len(made) == 1
        transport, protocol = made[0]
        assert isinstance(protocol, Connection)
        assert transport.is_closing()
        assert protocol.closed
