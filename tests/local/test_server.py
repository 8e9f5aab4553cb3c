"""The asyncio OMAPI server: aiomapi's client against it, and its limits under abuse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterable, Mapping

import pytest

import aiomapi
from aiomapi import Client, Key, OmapiServer, ServerLimits, serve
from aiomapi._sansio.wire import STARTUP_BYTES, Framer, Message, Opcode, decode_frame, encode_body
from aiomapi.errors import (
    AlreadyExists,
    InvalidArgument,
    NoKeys,
    NotFound,
    ResultCode,
    ServerError,
)
from aiomapi.server.objects import AttributeValue, ObjectType, StatusError

KEY = Key.generate("omapi_key")


class Note:
    def __init__(self, name: bytes | None = None, text: bytes = b"") -> None:
        self.name = name
        self.text = text


class NoteType(ObjectType[Note]):
    """A small application type: notes by name, ``text`` settable, deletable."""

    name = "note"

    def __init__(self) -> None:
        self.notes: dict[bytes, Note] = {b"hello": Note(b"hello", b"world")}

    def lookup(self, keys: Mapping[str, bytes]) -> Note | None:
        if "name" not in keys:
            raise StatusError(ResultCode.NOKEYS)
        if keys["name"] == b"boom":
            raise RuntimeError("a bug in the application")
        return self.notes.get(keys["name"])

    def create(self) -> Note:
        return Note()

    def set_value(self, obj: Note, name: str, value: bytes | None) -> None:
        if name == "name":
            if obj.name is not None:
                raise StatusError(ResultCode.EXISTS)
            obj.name = value
        elif name == "text":
            obj.text = value or b""
        elif name != "remote-handle":
            raise StatusError(ResultCode.UNKNOWNATTRIBUTE)

    def updated(self, obj: Note) -> None:
        if obj.name is None:
            raise StatusError(ResultCode.INVALIDARG)
        self.notes[obj.name] = obj

    def remove(self, obj: Note) -> None:
        if obj.name is not None:
            self.notes.pop(obj.name, None)

    def values(self, obj: Note) -> Iterable[tuple[str, AttributeValue]]:
        return [("name", obj.name or b""), ("text", obj.text)]


@pytest.fixture
async def server() -> AsyncIterator[OmapiServer]:
    async with OmapiServer([NoteType()], key=KEY) as srv:
        yield srv


# ---------------------------------------------------------------- raw client helpers


class Raw:
    """A hand-driven client: startup, messages, replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.framer = Framer()

    @classmethod
    async def connect(cls, port: int, *, startup: bytes = STARTUP_BYTES) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await reader.readexactly(8) == STARTUP_BYTES
        writer.write(startup)
        return cls(reader, writer)

    async def reply(self, timeout: float = 5.0) -> Message:
        async with asyncio.timeout(timeout):
            while True:
                frame = self.framer.next_frame()
                if frame is not None:
                    return decode_frame(frame)
                data = await self.reader.read(65536)
                if not data:
                    raise EOFError
                self.framer.feed(data)

    async def closed(self, timeout: float = 5.0) -> bool:
        """Whether the server closes the connection (EOF or reset) within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
        except ConnectionError:
            pass
        except TimeoutError:
            return False
        finally:
            self.close()
        return True

    def close(self) -> None:
        self.writer.close()


def note_lookup(name: bytes, id: int = 1) -> bytes:
    message = Message(Opcode.OPEN, id=id, message=(("type", b"note"),), object=(("name", name),))
    return encode_body(message, 0, 0)


# ---------------------------------------------------------------- the client against us


async def test_client_generic_operations(server: OmapiServer) -> None:
    async with Client(server.host, server.port, key=KEY) as omapi:
        note = await omapi.open("note", {"name": "hello"})
        assert note["text"] == b"world"
        created = await omapi.create("note", {"name": "new", "text": "first"})
        assert created.handle != note.handle
        await omapi.update(created, {"text": "second"})
        assert (await omapi.refresh(created))["text"] == b"second"
        with pytest.raises(AlreadyExists):
            await omapi.create("note", {"name": "new"})
        await omapi.delete(created)
        with pytest.raises(NotFound):
            await omapi.open("note", {"name": "new"})
        with pytest.raises(InvalidArgument):
            await omapi.create("note", {"text": "nameless"})


@pytest.mark.parametrize("algorithm", aiomapi.ALGORITHMS)
async def test_every_algorithm(algorithm: str) -> None:
    key = Key.generate("k", algorithm)
    async with (
        OmapiServer([NoteType()], key=key) as server,
        Client(server.host, server.port, key=key) as omapi,
    ):
        assert (await omapi.open("note", {"name": "hello"}))["text"] == b"world"


async def test_key_required(server: OmapiServer) -> None:
    async with Client(server.host, server.port) as omapi:
        with pytest.raises(NoKeys):
            await omapi.open("note", {"name": "hello"})


async def test_wrong_secret_is_refused(server: OmapiServer) -> None:
    wrong = Key(KEY.name, Key.generate("x").secret)
    async with Client(server.host, server.port, key=wrong, timeout=5) as omapi:
        with pytest.raises(ServerError) as info:
            await omapi.open("note", {"name": "hello"})
        assert info.value.code == ResultCode.INVALIDKEY


async def test_insecure_server() -> None:
    async with (
        OmapiServer([NoteType()]) as server,
        Client(server.host, server.port) as omapi,
    ):
        assert (await omapi.open("note", {"name": "hello"}))["text"] == b"world"


async def test_many_concurrent_requests_and_connections(server: OmapiServer) -> None:
    async with Client(server.host, server.port, key=KEY, connections=4) as omapi:
        results = await asyncio.gather(*(omapi.open("note", {"name": "hello"}) for _ in range(200)))
    assert {r.handle for r in results} == {results[0].handle}


async def test_failing_object_type_answers_unexpected(
    server: OmapiServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, "aiomapi.server"):
        async with Client(server.host, server.port, key=KEY) as omapi:
            with pytest.raises(ServerError) as info:
                await omapi.open("note", {"name": "boom"})
            assert info.value.code == ResultCode.UNEXPECTED
            assert (await omapi.open("note", {"name": "hello"}))["text"] == b"world"
    assert "a bug in the application" in caplog.text


async def test_serve_and_repr() -> None:
    server = await serve([NoteType()], key=KEY)
    try:
        assert server.listening
        assert f":{server.port} listening" in repr(server)
        async with server, Client(server.host, server.port, key=KEY) as omapi:
            await omapi.open("note", {"name": "hello"})  # start() again was a no-op
    finally:
        await server.close()
    assert not server.listening


async def test_serve_forever_until_cancelled() -> None:
    server = OmapiServer([NoteType()])
    task = asyncio.create_task(server.serve_forever())
    for _ in range(100):
        if server.listening:
            break
        await asyncio.sleep(0.01)
    assert server.listening
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await server.close()


def test_dispatcher_and_keys_are_exclusive() -> None:
    with pytest.raises(ValueError, match="Dispatcher"):
        OmapiServer(aiomapi.Dispatcher(), key=KEY)


# ---------------------------------------------------------------- the wire, by hand


async def test_header_size_28(server: OmapiServer) -> None:
    raw = await Raw.connect(server.port, startup=(100).to_bytes(4, "big") + (28).to_bytes(4, "big"))
    message = Message(
        Opcode.OPEN,
        id=5,
        message=(("type", b"authenticator"),),
        object=(("name", KEY.name.encode()), ("algorithm", KEY.wire_algorithm.encode())),
    )
    data = encode_body(message, 0, 0)
    raw.writer.write(data[:24] + b"\xff" * 4 + data[24:])
    reply = await raw.reply()
    assert (reply.opcode, reply.rid, reply.handle) == (Opcode.UPDATE, 5, 1)
    raw.close()


@pytest.mark.parametrize(
    "startup", [b"\x00\x00\x00\x63\x00\x00\x00\x18", b"\x00\x00\x00\x64\x00\x00\x00\x10"]
)
async def test_bad_startup_is_closed(server: OmapiServer, startup: bytes) -> None:
    raw = await Raw.connect(server.port, startup=startup)
    assert await raw.closed()


async def test_unknown_authid_is_closed(server: OmapiServer) -> None:
    raw = await Raw.connect(server.port)
    raw.writer.write(encode_body(Message(Opcode.REFRESH, 1, id=1), 3, 16) + bytes(16))
    assert await raw.closed()


async def test_earlier_replies_are_delivered_before_a_close(server: OmapiServer) -> None:
    raw = await Raw.connect(server.port)
    violation = Message(Opcode.OPEN, id=2, rid=7)  # rid != 0: dhcpd closes
    raw.writer.write(note_lookup(b"hello", 1) + encode_body(violation, 0, 0))
    reply = await raw.reply()
    assert reply.rid == 1
    assert reply.opcode == Opcode.STATUS
    assert await raw.closed()


# ---------------------------------------------------------------- limits


async def test_max_connections() -> None:
    limits = ServerLimits(max_connections=2)
    async with OmapiServer([NoteType()], limits=limits) as server:
        first = await Raw.connect(server.port)
        second = await Raw.connect(server.port)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        with contextlib.suppress(ConnectionError):
            assert await reader.read(8) == b""  # closed at once, no startup message
        writer.close()
        first.writer.write(note_lookup(b"hello"))
        assert (await first.reply()).opcode == Opcode.UPDATE
        first.close()
        second.close()


async def test_idle_timeout() -> None:
    async with OmapiServer([NoteType()], limits=ServerLimits(idle_timeout=0.2)) as server:
        raw = await Raw.connect(server.port)
        assert await raw.closed(timeout=3)
        silent_reader, silent_writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await silent_reader.readexactly(8) == STARTUP_BYTES
        # never sends its startup message
        with contextlib.suppress(ConnectionError):
            async with asyncio.timeout(3):
                assert await silent_reader.read(10) == b""
        silent_writer.close()


async def test_oversize_announcement_costs_nothing(server: OmapiServer) -> None:
    """A 4 GB value announced in a header: closed at once, other clients unaffected."""
    raw = await Raw.connect(server.port)
    header = encode_body(Message(Opcode.OPEN, id=1), 0, 0)[:24]
    raw.writer.write(header + b"\x00\x04type" + b"\xff\xff\xff\xf0" + b"x" * 10)
    assert await raw.closed()
    async with Client(server.host, server.port, key=KEY) as omapi:
        await omapi.open("note", {"name": "hello"})


async def test_a_client_that_never_reads_is_dropped_and_stalls_nobody() -> None:
    limits = ServerLimits(write_buffer_size=16 * 1024, write_timeout=0.3)
    async with OmapiServer([NoteType()], limits=limits) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        batch = note_lookup(b"hello") * 1000

        async def flood() -> bool:
            """Send requests and never read a reply, until the server gives up on us."""
            writer.write(STARTUP_BYTES)
            try:
                for _ in range(2000):  # at most ~80 MB
                    writer.write(batch)
                    await writer.drain()
            except ConnectionError:
                return True
            return False

        greedy = asyncio.create_task(flood())
        async with Client(server.host, server.port, timeout=5) as omapi:
            while not greedy.done():
                assert (await omapi.open("note", {"name": "hello"}))["text"] == b"world"
                await asyncio.sleep(0.01)
        async with asyncio.timeout(10):
            await greedy
        assert greedy.result(), "the server never dropped the client that does not read"
        writer.close()
        del reader
        for _ in range(100):
            if server.connections == 0:
                break
            await asyncio.sleep(0.05)
        assert server.connections == 0


async def test_close_ends_every_connection(server: OmapiServer) -> None:
    raw = await Raw.connect(server.port)
    raw.writer.write(note_lookup(b"hello"))
    await raw.reply()
    assert server.connections == 1
    await server.close()
    assert await raw.closed()
    assert server.connections == 0


@pytest.mark.parametrize("turns", range(6))
async def test_close_ends_a_connection_accepted_but_not_yet_served(turns: int) -> None:
    """A connection the loop has accepted but whose serving task has not run yet (closing in
    each of the loop turns after the connect) is closed too, not left open until the garbage
    collector finds its transport."""
    srv = await OmapiServer([NoteType()], key=KEY).start()
    peer = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        for _ in range(turns):
            await asyncio.sleep(0)
        await srv.close()
        assert srv.connections == 0

        def sees_the_close() -> bool:  # whatever came before it (the server's startup)
            try:
                while peer.recv(65536):
                    pass
            except ConnectionResetError:
                pass
            except TimeoutError:
                return False
            return True

        assert await asyncio.to_thread(sees_the_close)
    finally:
        peer.close()
