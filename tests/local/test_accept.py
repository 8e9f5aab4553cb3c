"""The Acceptor: every accepted connection is served or closed, never left open."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable
from typing import Any

import pytest

from aiomapi.server.accept import Acceptor

from ..server_load import closed_within

TIMEOUT = 5.0


async def echo_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(await reader.readexactly(4))
    await writer.drain()
    writer.close()


async def echoes(port: int | None) -> bytes:
    """What an echo_once server at ``port`` sends back for ``ping``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ping")
    echoed = await asyncio.wait_for(reader.readexactly(4), TIMEOUT)
    writer.close()
    return echoed


async def test_serves_each_connection_in_a_task_of_its_own() -> None:
    acceptor = Acceptor(echo_once)
    await acceptor.start("127.0.0.1", 0)
    assert acceptor.listening
    assert acceptor.port
    try:
        pairs = [await asyncio.open_connection("127.0.0.1", acceptor.port) for _ in range(3)]
        for i, (_reader, writer) in enumerate(pairs):
            writer.write(b"abc%d" % i)
        for i, (reader, writer) in enumerate(pairs):
            assert await asyncio.wait_for(reader.readexactly(4), TIMEOUT) == b"abc%d" % i
            assert await closed_within(reader, TIMEOUT)
            writer.close()
    finally:
        await acceptor.close()
    assert not acceptor.tasks


async def test_a_handler_that_leaves_its_connection_open_has_it_closed() -> None:
    async def forgetful(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"bye")

    async def failing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise ValueError("a bug in the handler")

    for handler in (forgetful, failing):
        acceptor = Acceptor(handler)
        await acceptor.start("127.0.0.1", 0)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", acceptor.port)
            assert await closed_within(reader, TIMEOUT)
            writer.close()
        finally:
            await acceptor.close()


async def test_stop_refuses_new_connections_and_serves_the_others_on() -> None:
    release = asyncio.Event()
    serving = asyncio.Event()

    async def waits(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        serving.set()
        await release.wait()
        writer.write(b"done")
        writer.close()

    acceptor = Acceptor(waits)
    await acceptor.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", acceptor.port)
        await asyncio.wait_for(serving.wait(), TIMEOUT)
        forever = asyncio.create_task(acceptor.serve_forever())
        acceptor.stop()
        await asyncio.wait_for(forever, TIMEOUT)  # serve_forever returns when stopped
        assert not acceptor.listening
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", acceptor.port)
        release.set()
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b"done"
        writer.close()
    finally:
        await acceptor.close()


@pytest.mark.parametrize("turns", range(6))
async def test_close_ends_connections_in_every_stage_of_being_accepted(turns: int) -> None:
    """Closing in each loop turn after a connect: queued in the kernel, accepted, task not
    started, streams being made, handler running. The peer sees each one closed."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    acceptor = Acceptor(handler)
    await acceptor.start("127.0.0.1", 0)
    peer = socket.create_connection(("127.0.0.1", acceptor.port or 0), timeout=TIMEOUT)
    try:
        for _ in range(turns):
            await asyncio.sleep(0)
        await acceptor.close()
        assert not acceptor.tasks

        def sees_the_close() -> bool:
            try:
                return peer.recv(1) == b""
            except ConnectionResetError:
                return True
            except TimeoutError:
                return False

        assert await asyncio.to_thread(sees_the_close)
    finally:
        peer.close()


async def test_out_of_file_descriptors_pauses_accepting_then_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_accept: Callable[..., Any] = socket.socket.accept
    refusals = 0

    def accept(self: socket.socket) -> tuple[socket.socket, Any]:
        nonlocal refusals
        if self.getsockname()[1] == acceptor.port and refusals < 2:
            refusals += 1
            raise OSError(errno.EMFILE, "Too many open files")
        return real_accept(self)  # type: ignore[no-any-return]

    acceptor = Acceptor(echo_once)
    await acceptor.start("127.0.0.1", 0)
    monkeypatch.setattr(socket.socket, "accept", accept)
    try:
        with caplog.at_level(logging.WARNING, logger="aiomapi.server"):
            assert await echoes(acceptor.port) == b"ping"
        assert refusals == 2
        assert caplog.text.count("cannot accept connections for now") == 2
    finally:
        await acceptor.close()


async def test_an_address_taken_is_an_os_error_and_leaves_nothing_listening() -> None:
    first = Acceptor(echo_once)
    await first.start("127.0.0.1", 0)
    try:
        second = Acceptor(echo_once)
        with pytest.raises(OSError, match="in use"):
            await second.start("127.0.0.1", first.port or 0)
        assert not second.listening
        assert second.port is None
    finally:
        await first.close()


async def test_an_empty_host_is_every_interface_on_one_port() -> None:
    acceptor = Acceptor(echo_once)
    await acceptor.start("", 0)
    try:
        ports = {s.getsockname()[1] for s in acceptor._listeners}
        assert ports == {acceptor.port}
        assert await echoes(acceptor.port) == b"ping"
    finally:
        await acceptor.close()
