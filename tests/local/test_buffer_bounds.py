"""A hostile peer cannot make either side buffer without bound (issue 8, item 2).

Before anything is checked, a receiver must hold the peer's header; after that, every
announced length is checked against ``max_message_size`` before its bytes are waited for.
So whatever a peer sends, the framer holds at most ``max(max_message_size, header size)``
bytes of one message while it waits, on top of the one chunk a read hands it, and records
at most ``Framer.max_entries`` entries.

Sans-IO tests drive the framer and both connection cores with plain bytes; the asyncio
tests stream tens of MiB at a real aiomapi server and at aiomapi's client and read the
process's resident size. Every stream is capped and every wait has a timeout, so a broken
guard fails the test instead of exhausting the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import aiomapi
from aiomapi import Key
from aiomapi._sansio.client import ClientProtocol, ConnectionFailed, HandshakeComplete
from aiomapi._sansio.server import CloseConnection, RequestReceived, ServerConnection
from aiomapi._sansio.wire import (
    DEFAULT_MAX_MESSAGE_SIZE,
    HEADER_SIZE,
    MAX_ENTRIES,
    MAX_HEADER_SIZE,
    PROTOCOL_VERSION,
    STARTUP_BYTES,
    Framer,
    Message,
    Opcode,
    decode_frame,
    encode_body,
    encode_startup,
)
from aiomapi.errors import ConnectionClosed, RemoteProtocolError
from aiomapi.server.accept import Acceptor
from aiomapi.testing import FakeDhcpd

KEY = Key.generate("omapi_key")
MiB = 1 << 20
HUGE_HEADER_SIZES = [MAX_HEADER_SIZE + 1, 0xFFFF, 0xFFFFFFFF]
#: One null-valued entry ``"a" = null``: 7 bytes that never end a list.
ENTRY = struct.pack(">H", 1) + b"a" + struct.pack(">I", 0)
#: An unsigned header (authid, authlen, op, handle, id, rid) of an OPEN with id 1.
HEADER = struct.pack(">6I", 0, 0, Opcode.OPEN, 0, 1, 0)


def lookup_bytes(header_size: int = HEADER_SIZE) -> bytes:
    """An unsigned lease lookup, its header padded to ``header_size`` bytes."""
    body = encode_body(
        Message(
            Opcode.OPEN, id=1, message=(("type", b"lease"),), object=(("ip-address", b"\n" * 4),)
        ),
        0,
        0,
    )
    return body[:HEADER_SIZE] + b"P" * (header_size - HEADER_SIZE) + body[HEADER_SIZE:]


def held_bound(framer_max: int, header_size: int = HEADER_SIZE) -> int:
    """The most a waiting framer may hold: one message, or the header it waits for."""
    return max(framer_max, header_size - 1)


def repeat(pattern: bytes, chunk: int) -> bytes:
    """A ``chunk``-sized piece of ``pattern`` repeated, aligned so pieces join up."""
    return pattern * max(1, chunk // len(pattern))


def feed_in_chunks(
    framer: Framer, limit: int, head: bytes, chunk: bytes, cap: int
) -> tuple[int, int, str]:
    """Feed ``head`` then ``chunk`` repeatedly (at most ``cap`` bytes in all), taking frames
    after each piece; the framer must never hold more than one message while it waits.

    Returns:
        ``(bytes fed when the framer refused the stream, frames taken, its reason)``.
    """
    bound = held_bound(limit, framer.header_size)
    fed = frames = 0
    piece = head
    while fed < cap:
        framer.feed(piece)
        fed += len(piece)
        piece = chunk
        try:
            while (frame := framer.next_frame()) is not None:
                frames += 1
                assert len(frame.data) <= limit
        except RemoteProtocolError as exc:
            refusal = str(exc)
            break
        assert framer.buffered <= bound, f"{framer.buffered} bytes held after {fed} fed"
        assert len(framer._entries) <= framer.max_entries + 2
    else:
        raise AssertionError(f"{cap} bytes fed and never refused ({frames} frames)")
    assert "limit" in refusal
    return fed, frames, refusal


# ---------------------------------------------------------------- the framer


@pytest.mark.parametrize("header_size", HUGE_HEADER_SIZES)
def test_framer_refuses_a_header_size_above_the_maximum(header_size: int) -> None:
    with pytest.raises(ValueError, match="header size"):
        Framer(header_size=header_size)
    framer = Framer()
    with pytest.raises(ValueError, match="header size"):
        framer.header_size = header_size
    assert framer.header_size == HEADER_SIZE


def test_framer_takes_the_largest_header_size() -> None:
    framer = Framer(header_size=MAX_HEADER_SIZE)
    framer.feed(lookup_bytes(MAX_HEADER_SIZE) * 2)
    first, second = framer.next_frame(), framer.next_frame()
    assert first is not None
    assert second is not None
    assert first.data == second.data == lookup_bytes()
    assert framer.buffered == 0


def test_framer_huge_header_size_cannot_be_used_to_buffer() -> None:
    """What a startup announcing 2**32-1 did: the framer waited for that header, forever."""
    framer = Framer()
    with contextlib.suppress(ValueError):
        framer.header_size = 0xFFFFFFFF
    chunk = bytes(64 * 1024)
    for _ in range(16 * MiB // len(chunk)):
        framer.feed(chunk)
        while framer.next_frame() is not None:  # zeros behind a 24-byte header: empty messages
            pass
        assert framer.buffered <= held_bound(DEFAULT_MAX_MESSAGE_SIZE, MAX_HEADER_SIZE)


#: An entry of 100 bytes: a list of these passes the size limit before the entry cap.
WIDE_ENTRY = struct.pack(">H", 1) + b"w" + struct.pack(">I", 93) + bytes(93)


@pytest.mark.parametrize("entry", [ENTRY, WIDE_ENTRY], ids=["tiny", "wide"])
@pytest.mark.parametrize("chunk_size", [1, 4096, 65536, 262144])
def test_framer_refuses_an_endless_list(chunk_size: int, entry: bytes) -> None:
    """A list that never ends: refused once it passes the entry cap (tiny entries) or the
    size limit (wide ones), holding no more than one message meanwhile."""
    limit = 64 * 1024
    framer = Framer(max_message_size=limit)
    chunk = repeat(entry, chunk_size)
    fed, frames, refusal = feed_in_chunks(
        framer, limit, HEADER, chunk, cap=2 * limit + 2 * len(chunk)
    )
    assert frames == 0
    assert fed <= limit + len(chunk) + len(entry)
    assert ("entries" if entry is ENTRY else "byte limit") in refusal


@pytest.mark.parametrize("chunk_size", [1, 4096, 262144])
def test_framer_refuses_one_giant_value_before_its_bytes(chunk_size: int) -> None:
    limit = 64 * 1024
    framer = Framer(max_message_size=limit)
    head = HEADER + struct.pack(">H", 4) + b"type" + struct.pack(">I", 0xFFFFFFF0)
    fed, _, _ = feed_in_chunks(framer, limit, head, bytes(chunk_size), cap=8 * MiB)
    assert fed == len(head)  # refused on the length field, before any of the value


def test_framer_takes_a_message_of_exactly_the_limit_streamed_in_pieces() -> None:
    limit = 64 * 1024
    head = HEADER + struct.pack(">H", 4) + b"data"
    value_len = limit - len(head) - 4 - 4  # value length field, then two list terminators
    framer = Framer(max_message_size=limit)
    data = head + struct.pack(">I", value_len) + bytes(value_len) + b"\x00" * 4
    for offset in range(0, len(data) - 4096, 4096):
        framer.feed(data[offset : offset + 4096])
        assert framer.next_frame() is None
        assert framer.buffered <= limit
    framer.feed(data[offset + 4096 :])
    frame = framer.next_frame()
    assert frame is not None
    assert frame.data == data


def test_framer_refuses_a_value_past_the_limit_on_its_length_field() -> None:
    limit = 64 * 1024
    head = HEADER + struct.pack(">H", 4) + b"data"
    ends_past = limit - len(head) - 4 + 1  # the entry alone ends one byte past the limit
    framer = Framer(max_message_size=limit)
    framer.feed(head + struct.pack(">I", ends_past))
    with pytest.raises(RemoteProtocolError, match="limit"):
        framer.next_frame()
    assert framer.buffered == 0  # dropped with the connection


def test_framer_refuses_a_message_one_byte_over_when_its_lists_end() -> None:
    limit = 64 * 1024
    head = HEADER + struct.pack(">H", 4) + b"data"
    value_len = limit - len(head) - 4 - 4 + 1
    framer = Framer(max_message_size=limit)
    framer.feed(head + struct.pack(">I", value_len) + bytes(value_len))
    assert framer.next_frame() is None  # could still fit: both list ends are yet to come
    framer.feed(b"\x00" * 4)
    with pytest.raises(RemoteProtocolError, match="limit"):
        framer.next_frame()


def test_entry_cap_grows_with_the_message_size() -> None:
    assert Framer().max_entries == MAX_ENTRIES
    assert Framer(max_message_size=4096).max_entries == MAX_ENTRIES
    assert Framer(max_message_size=4 * MiB).max_entries == 4 * MiB // 256


def entries_message(count: int) -> bytes:
    return HEADER + ENTRY * count + b"\x00\x00\x00\x00"


@pytest.mark.parametrize("chunk_size", [None, 1, 100])
def test_framer_entry_cap_holds_whole_or_in_pieces(chunk_size: int | None) -> None:
    for count, refused in ((MAX_ENTRIES, False), (MAX_ENTRIES + 1, True)):
        data = entries_message(count)
        framer = Framer()
        size = chunk_size or len(data)
        frames = []
        with contextlib.ExitStack() as stack:
            if refused:
                stack.enter_context(pytest.raises(RemoteProtocolError, match="entries"))
            for offset in range(0, len(data), size):
                framer.feed(data[offset : offset + size])
                while (frame := framer.next_frame()) is not None:
                    frames.append(frame)
                assert len(framer._entries) <= framer.max_entries + 2
        if not refused:
            assert len(frames) == 1
            assert len(decode_frame(frames[0]).message) == MAX_ENTRIES


def test_framer_refuses_a_huge_signature_before_its_bytes() -> None:
    framer = Framer()
    head = struct.pack(">6I", 1, 0xFFFFFFF0, Opcode.OPEN, 0, 1, 0) + b"\x00\x00\x00\x00"
    fed, _, _ = feed_in_chunks(framer, DEFAULT_MAX_MESSAGE_SIZE, head, bytes(4096), cap=8 * MiB)
    assert fed == len(head)


def test_framer_zeros_after_a_header_are_empty_messages_not_a_backlog() -> None:
    """Zeros close both lists at once: the framer hands out 28-byte messages (for the
    protocol layer to reject) and holds nothing."""
    framer = Framer()
    chunk = bytes(28 * 2000)
    taken = 0
    for _ in range(8 * MiB // len(chunk)):
        framer.feed(chunk)
        while framer.next_frame() is not None:
            taken += 1
        assert framer.buffered == 0
    assert taken == 8 * MiB // len(chunk) * 2000


_U16, _U32 = struct.Struct(">H"), struct.Struct(">I")
stream_pieces = st.one_of(
    st.binary(max_size=40),
    st.integers(0, 400).map(bytes),
    st.integers(0, 40).map(lambda n: ENTRY * n),
    st.integers(0, 0xFFFF).map(_U16.pack),
    st.one_of(st.integers(0, 700), st.integers(0, 0xFFFFFFFF)).map(_U32.pack),
)


@given(
    pieces=st.lists(stream_pieces, max_size=30),
    cuts=st.lists(st.integers(1, 300), min_size=1, max_size=10),
    limit=st.integers(24, 600),
    header_size=st.integers(HEADER_SIZE, MAX_HEADER_SIZE),
)
@settings(max_examples=400, deadline=None)
def test_any_stream_in_any_pieces_is_framed_waited_for_or_refused(
    pieces: list[bytes], cuts: list[int], limit: int, header_size: int
) -> None:
    """Frames, waiting or the remote protocol error, and never more than one message held."""
    data = b"".join(pieces)
    framer = Framer(max_message_size=limit, header_size=header_size)
    offset = turn = 0
    while offset < len(data):
        size = cuts[turn % len(cuts)]
        framer.feed(data[offset : offset + size])
        offset, turn = offset + size, turn + 1
        try:
            while (frame := framer.next_frame()) is not None:
                assert len(frame.data) <= limit
        except RemoteProtocolError:
            assert framer.buffered == 0
            return
        assert framer.buffered <= held_bound(limit, header_size)
        assert len(framer._entries) <= framer.max_entries + 2


# ---------------------------------------------------------------- the connection cores


def startup(header_size: int) -> bytes:
    return encode_startup(PROTOCOL_VERSION, header_size)


@pytest.mark.parametrize("key", [None, KEY], ids=["unsigned", "key"])
@pytest.mark.parametrize("header_size", HUGE_HEADER_SIZES)
def test_client_refuses_a_server_header_size_above_the_maximum(
    header_size: int, key: Key | None
) -> None:
    proto = ClientProtocol(key)
    proto.initiate()
    events = proto.receive_data(startup(header_size) + bytes(64 * 1024))
    assert len(events) == 1
    assert isinstance(events[0], ConnectionFailed)
    assert isinstance(events[0].error, RemoteProtocolError)
    assert f"header size {header_size}" in str(events[0].error)
    assert str(MAX_HEADER_SIZE) in str(events[0].error)
    assert proto._framer.buffered == 0
    assert proto.receive_data(bytes(64 * 1024)) == []


def test_client_takes_the_largest_header_size() -> None:
    proto = ClientProtocol(None)
    assert proto.receive_data(startup(MAX_HEADER_SIZE)) == [HandshakeComplete(0)]
    assert proto._framer.header_size == MAX_HEADER_SIZE


@pytest.mark.parametrize("header_size", HUGE_HEADER_SIZES)
def test_server_refuses_a_client_header_size_above_the_maximum(header_size: int) -> None:
    conn = ServerConnection(require_auth=False)
    events = conn.receive_data(startup(header_size) + bytes(64 * 1024))
    assert len(events) == 1
    assert isinstance(events[0], CloseConnection)
    assert f"header size {header_size}" in events[0].reason
    assert str(MAX_HEADER_SIZE) in events[0].reason
    assert conn._framer.buffered == 0
    assert conn.receive_data(bytes(64 * 1024)) == []


def test_server_refuses_a_huge_header_size_sent_in_pieces() -> None:
    """The startup split anywhere: still refused, and the zeros after it never buffered."""
    conn = ServerConnection(require_auth=False)
    data = startup(0xFFFFFFFF)
    assert conn.receive_data(data[:5]) == []
    [event] = conn.receive_data(data[5:] + bytes(1000))
    assert isinstance(event, CloseConnection)
    for _ in range(100):
        assert conn.receive_data(bytes(64 * 1024)) == []
    assert conn._framer.buffered == 0


def test_server_takes_the_largest_header_size() -> None:
    conn = ServerConnection(require_auth=False)
    [event] = conn.receive_data(startup(MAX_HEADER_SIZE) + lookup_bytes(MAX_HEADER_SIZE))
    assert isinstance(event, RequestReceived)
    assert event.message.message == (("type", b"lease"),)


def test_server_core_refuses_endless_entries_and_stops_buffering() -> None:
    limit = 4096
    conn = ServerConnection(require_auth=False, max_message_size=limit)
    assert conn.receive_data(STARTUP_BYTES + HEADER) == []
    chunk = repeat(ENTRY, 1000)
    for _ in range(2 * limit // len(chunk) + 2):
        events = conn.receive_data(chunk)
        assert conn._framer.buffered <= limit
        assert len(conn._framer._entries) <= conn._framer.max_entries + 2
        if events:
            [event] = events
            assert isinstance(event, CloseConnection)
            assert "limit" in event.reason
            assert conn._framer.buffered == 0  # dropped with the connection
            break
    else:
        raise AssertionError("never closed")


# ---------------------------------------------------------------- asyncio: resident size


def rss() -> int:
    """This process's resident set size in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


needs_proc = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads the resident size from /proc"
)

#: Bytes each hostile stream sends at most, and the resident growth allowed meanwhile.
STREAM_CAP = 64 * MiB
RSS_ALLOWANCE = 20 * MiB
CHUNK = 256 * 1024

#: (startup, what follows it, the chunk streamed after that) of each hostile stream
HOSTILE_STREAMS = {
    # the reported attack: a startup announcing a 4 GiB header, then zeros
    "huge-header-size": (startup(0xFFFFFFFF), b"", bytes(CHUNK)),
    # a valid startup, then a value announced at nearly 4 GiB
    "huge-value": (
        STARTUP_BYTES,
        HEADER + struct.pack(">H", 4) + b"type" + struct.pack(">I", 0xFFFFFFF0),
        bytes(CHUNK),
    ),
    # a valid startup, then a message-value list that never ends
    "endless-list": (STARTUP_BYTES, HEADER, repeat(ENTRY, CHUNK)),
}


async def stream_until_closed(
    writer: asyncio.StreamWriter, chunk: bytes, samples: list[int]
) -> int:
    """Write ``chunk`` until the peer goes away or STREAM_CAP is sent; sample the resident
    size every MiB. Returns the bytes written."""
    sent = next_sample = 0
    with contextlib.suppress(ConnectionError):
        async with asyncio.timeout(60):
            while sent < STREAM_CAP:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
                if sent >= next_sample:
                    samples.append(rss())
                    next_sample += MiB
    samples.append(rss())
    return sent


async def closed_by_peer(reader: asyncio.StreamReader, timeout: float) -> bool:
    try:
        async with asyncio.timeout(timeout):
            for _ in range(1000):
                if not await reader.read(65536):
                    return True
    except ConnectionError:
        return True
    except TimeoutError:
        pass
    return False


@pytest.fixture
async def fake() -> AsyncIterator[FakeDhcpd]:
    async with FakeDhcpd.like_lab(20, key=KEY) as server:
        yield server


@needs_proc
@pytest.mark.parametrize("attack", list(HOSTILE_STREAMS))
async def test_server_closes_a_hostile_stream_with_bounded_memory(
    fake: FakeDhcpd, attack: str
) -> None:
    first, then, chunk = HOSTILE_STREAMS[attack]
    async with aiomapi.Client(fake.host, fake.port, key=KEY, timeout=10) as omapi:
        reader, writer = await asyncio.open_connection(fake.host, fake.port)
        try:
            assert await reader.readexactly(8) == STARTUP_BYTES
            before = rss()
            samples: list[int] = []
            writer.write(first + then)

            async def legitimate() -> int:
                served = 0
                for i in range(20):
                    lease = await omapi.leases.get(ip=f"10.100.1.{i}")
                    assert lease.client_hostname == f"host{i}"
                    served += 1
                return served

            sent, served = await asyncio.gather(
                stream_until_closed(writer, chunk, samples), legitimate()
            )
            growth = max(samples) - before
            closed = await closed_by_peer(reader, timeout=5)
        finally:
            writer.close()
        print(f"server, {attack}: {sent / MiB:.1f} MiB sent, RSS +{growth / MiB:.1f} MiB")
        assert closed, f"connection still open after {sent / MiB:.1f} MiB"
        assert growth < RSS_ALLOWANCE, f"RSS grew {growth / MiB:.1f} MiB"
        assert served == 20
        lease = await omapi.leases.get(ip="10.100.1.3")  # and still serving afterwards
        assert lease.client_hostname == "host3"


@needs_proc
@pytest.mark.parametrize("key", [None, KEY], ids=["unsigned", "key"])
@pytest.mark.parametrize("attack", list(HOSTILE_STREAMS))
async def test_client_fails_against_a_hostile_server_with_bounded_memory(
    attack: str, key: Key | None
) -> None:
    first, then, chunk = HOSTILE_STREAMS[attack]
    sent: list[int] = []
    samples: list[int] = []

    async def hostile(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer a client's first message (the authenticator OPEN or, unsigned, its first
        request) with the attack, so that the client has something pending to fail."""
        try:
            writer.write(first)
            if then:
                received = 0
                async with asyncio.timeout(10):
                    while received <= len(STARTUP_BYTES):
                        data = await reader.read(65536)
                        if not data:
                            return
                        received += len(data)
                writer.write(then)
            sent.append(await stream_until_closed(writer, chunk, samples))
        finally:
            writer.transport.abort()

    server = Acceptor(hostile)
    await server.start("127.0.0.1", 0)
    port = server.port
    assert port is not None
    before = rss()
    try:
        with pytest.raises((RemoteProtocolError, ConnectionClosed)) as caught:
            async with aiomapi.Client("127.0.0.1", port, key=key, timeout=10) as omapi:
                await omapi.leases.get(ip="10.100.1.1")
    finally:
        await server.close()
    growth = max([*samples, rss()]) - before
    print(f"client, {attack}: {sum(sent) / MiB:.1f} MiB sent, RSS +{growth / MiB:.1f} MiB")
    error = caught.value
    cause = error.__cause__ if isinstance(error, ConnectionClosed) else error
    assert isinstance(cause, RemoteProtocolError), repr(error)
    assert "header size" in str(cause) or "limit" in str(cause) or "unknown request" in str(cause)
    assert growth < RSS_ALLOWANCE, f"RSS grew {growth / MiB:.1f} MiB"
