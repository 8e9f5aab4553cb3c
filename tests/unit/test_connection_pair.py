"""The client core against the server core, joined by plain bytes (h11's ConnectionPair).

No sockets and no clock: what :class:`ClientProtocol` writes is fed to
:class:`ServerConnection` and back, whole, a byte at a time, or in pieces that end inside
the next message. A small responder plays dhcpd's part (it opens the authenticator, echoes
objects, answers updates with success), so every exchange is both roles' own bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from aiomapi._sansio.auth import ALGORITHMS, Key
from aiomapi._sansio.client import ClientProtocol, Request
from aiomapi._sansio.connection import STATE_TABLE, Role, State, Step
from aiomapi._sansio.events import (
    AutoReply,
    ClientEvent,
    ConnectionEnded,
    HandshakeComplete,
    ReplyReceived,
    RequestReceived,
    ServerEvent,
)
from aiomapi._sansio.server import ServerConnection
from aiomapi._sansio.wire import Message, Opcode, find_value, status_message
from aiomapi.errors import (
    AuthenticationError,
    ConnectionClosed,
    HandshakeError,
    InvalidKey,
    LocalProtocolError,
    RemoteProtocolError,
    ResultCode,
)

Chunker = Callable[[bytes], Iterator[bytes]]


def whole(data: bytes) -> Iterator[bytes]:
    yield data


def byte_by_byte(data: bytes) -> Iterator[bytes]:
    for i in range(len(data)):
        yield data[i : i + 1]


def in_pieces_of_13(data: bytes) -> Iterator[bytes]:
    """Pieces that end inside headers, lists and signatures, with the start of the next
    message trailing behind the end of the last."""
    for i in range(0, len(data), 13):
        yield data[i : i + 13]


CHUNKERS = [whole, byte_by_byte, in_pieces_of_13]
SIGNED = [Key.generate("pair-key", algorithm) for algorithm in ALGORITHMS]
KEYS: list[Key | None] = [None, *SIGNED]
AUTH_HANDLE = 1
OBJECT_HANDLE = 7


def key_id(key: Key | None) -> str:
    return key.algorithm if key is not None else "unsigned"


keys = pytest.mark.parametrize("key", KEYS, ids=key_id)
signed_keys = pytest.mark.parametrize("key", SIGNED, ids=key_id)
chunkers = pytest.mark.parametrize("chunker", CHUNKERS)

LOOKUP = Request(
    Opcode.OPEN, message=(("type", b"host"),), object=(("name", b"pc1"),), object_type="host"
)
UPDATE = Request(Opcode.UPDATE, handle=OBJECT_HANDLE, object=(("name", b"pc2"),))
DELETE = Request(Opcode.DELETE, handle=OBJECT_HANDLE)


class Pair:
    """A client core and a server core joined by bytes.

    Args:
        key: the client's key; the server requires one exactly when it is given.
        chunker: how bytes are cut on their way in either direction.
        server_key: the key the server knows, if not ``key``.
    """

    def __init__(
        self, key: Key | None, chunker: Chunker = whole, server_key: Key | None = None
    ) -> None:
        self.client = ClientProtocol(key, first_id=100)
        self.server = ServerConnection(require_auth=key is not None, first_id=500)
        self.known_key = server_key if server_key is not None else key
        self.chunker = chunker

    def to_server(self, data: bytes) -> list[ServerEvent]:
        events: list[ServerEvent] = []
        for chunk in self.chunker(data):
            events += self.server.receive_data(chunk)
        return events

    def to_client(self, data: bytes) -> list[ClientEvent]:
        events: list[ClientEvent] = []
        for chunk in self.chunker(data):
            events += self.client.receive_data(chunk)
        return events

    def start(self) -> list[ClientEvent]:
        """Both startups, and the authenticator OPEN; returns the client's events."""
        served = self.serve(self.to_server(self.client.initiate()))
        return self.to_client(self.server.initiate() + served)

    def send(self, *requests: Request) -> tuple[list[int], list[ServerEvent]]:
        """Send ``requests`` in one write; returns their ids and the server's events."""
        ids, data = [], b""
        for request in requests:
            request_id, encoded = self.client.send_request(request)
            ids.append(request_id)
            data += encoded
        return ids, self.to_server(data)

    def serve(self, events: list[ServerEvent]) -> bytes:
        """What the server writes for ``events``, in order, up to an end."""
        out = b""
        for event in events:
            if isinstance(event, RequestReceived):
                out += self.server.send_reply(event, self.answer(event.message))
            elif isinstance(event, AutoReply):
                out += event.data
            else:
                break
        return out

    def answer(self, request: Message) -> Message:
        """The responder: what the dispatcher and object types would make of ``request``."""
        if find_value(request.message, "type") == b"authenticator":
            key = self.known_key
            if key is None or find_value(request.object, "name") != key.name.encode():
                return status_message(ResultCode.NOTFOUND, "no object matches specification")
            self.server.add_authenticator(AUTH_HANDLE, key)
            return Message(Opcode.UPDATE, AUTH_HANDLE, object=request.object)
        if request.opcode == Opcode.OPEN:
            return Message(Opcode.UPDATE, OBJECT_HANDLE, object=request.object)
        return status_message(ResultCode.SUCCESS)


def started(key: Key | None, chunker: Chunker = whole) -> Pair:
    pair = Pair(key, chunker)
    assert pair.start() == [HandshakeComplete(AUTH_HANDLE if key else 0)]
    return pair


def tamper(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


# ---------------------------------------------------------------- startup and handshake


@keys
@chunkers
def test_startup_and_handshake(key: Key | None, chunker: Chunker) -> None:
    pair = started(key, chunker)
    assert pair.client.state is State.READY
    assert pair.server.state is State.READY
    assert pair.client.established
    assert pair.server.established
    assert pair.server.authenticators == (frozenset({AUTH_HANDLE}) if key else frozenset())
    assert pair.client.authid == (AUTH_HANDLE if key else 0)


@signed_keys
def test_the_server_is_not_established_until_the_authenticator_is_open(key: Key) -> None:
    pair = Pair(key)
    [opening] = pair.to_server(pair.client.initiate())
    assert isinstance(opening, RequestReceived)
    assert opening.authid == 0
    assert pair.server.state is State.READY
    assert not pair.server.established
    assert not pair.client.established
    pair.to_client(pair.server.initiate() + pair.serve([opening]))
    assert pair.server.established
    assert pair.client.established


@signed_keys
def test_a_key_the_server_does_not_know_fails_the_handshake(key: Key) -> None:
    pair = Pair(key, server_key=Key.generate("other-key", key.algorithm))
    [ended] = pair.start()
    assert isinstance(ended, ConnectionEnded)
    assert isinstance(ended.error, HandshakeError)
    assert ended.error.code == ResultCode.NOTFOUND
    assert pair.client.state is State.CLOSED
    assert not pair.server.established


# ---------------------------------------------------------------- requests and replies


@keys
@chunkers
def test_requests_and_replies_pair_up(key: Key | None, chunker: Chunker) -> None:
    pair = started(key, chunker)
    ids, events = pair.send(LOOKUP, UPDATE, DELETE)
    assert len(set(ids)) == 3
    assert [e.message for e in events if isinstance(e, RequestReceived)] == [
        Message(r.opcode, r.handle, request_id, 0, r.message, r.object)
        for request_id, r in zip(ids, (LOOKUP, UPDATE, DELETE), strict=True)
    ]
    assert all(isinstance(e, RequestReceived) and e.authid == pair.client.authid for e in events)

    replies = pair.to_client(pair.serve(events))
    assert [e.request_id for e in replies if isinstance(e, ReplyReceived)] == ids
    lookup, update, delete = (e.result for e in replies if isinstance(e, ReplyReceived))
    assert isinstance(lookup, Message)
    assert (lookup.opcode, lookup.handle, lookup.rid) == (Opcode.UPDATE, OBJECT_HANDLE, ids[0])
    assert lookup.object == LOOKUP.object
    assert lookup.id == (502 if key else 501)  # the server's ids count up from first_id
    assert isinstance(update, Message)
    assert isinstance(delete, Message)
    assert (update.opcode, update.rid, delete.rid) == (Opcode.STATUS, ids[1], ids[2])
    assert pair.client.pending == 0


@keys
def test_trailing_bytes_wait_for_the_rest(key: Key | None) -> None:
    pair = started(key)
    first, data_1 = pair.client.send_request(LOOKUP)
    second, data_2 = pair.client.send_request(DELETE)
    [request_1] = pair.server.receive_data(data_1 + data_2[:5])
    assert pair.server.buffered == 5
    [request_2] = pair.server.receive_data(data_2[5:])
    assert pair.server.buffered == 0

    assert isinstance(request_1, RequestReceived)
    assert isinstance(request_2, RequestReceived)
    reply_1 = pair.serve([request_1])
    reply_2 = pair.serve([request_2])
    [answer_1] = pair.client.receive_data(reply_1 + reply_2[:30])
    assert pair.client.buffered == 30
    [answer_2] = pair.client.receive_data(reply_2[30:])
    assert isinstance(answer_1, ReplyReceived)
    assert isinstance(answer_2, ReplyReceived)
    assert (answer_1.request_id, answer_2.request_id) == (first, second)


def test_ids_skip_zero_when_they_wrap() -> None:
    pair = Pair(SIGNED[0])
    pair.client = ClientProtocol(SIGNED[0], first_id=0xFFFFFFFE)
    pair.server = ServerConnection(require_auth=True, first_id=0xFFFFFFFF)
    assert pair.start() == [HandshakeComplete(AUTH_HANDLE)]  # the OPEN was 0xFFFFFFFF
    ids, events = pair.send(DELETE)
    assert ids == [1]
    [reply] = pair.to_client(pair.serve(events))
    assert isinstance(reply, ReplyReceived)
    assert isinstance(reply.result, Message)
    assert reply.result.id == 2  # the server's authenticator reply took 1, 0 was skipped


# ---------------------------------------------------------------- bad signatures


@signed_keys
@chunkers
def test_a_bad_request_signature_is_answered_unsigned_and_both_carry_on(
    key: Key, chunker: Chunker
) -> None:
    pair = started(key, chunker)
    request_id, data = pair.client.send_request(UPDATE)
    [auto] = pair.to_server(tamper(data, len(data) - 1))
    assert isinstance(auto, AutoReply)
    assert auto.result == ResultCode.INVALIDKEY
    assert auto.data[:4] == bytes(4)  # unsigned, as dhcpd answers it

    [reply] = pair.to_client(auto.data)
    assert isinstance(reply, ReplyReceived)
    assert reply.request_id == request_id
    assert isinstance(reply.result, InvalidKey)
    assert pair.client.state is State.READY
    _, events = pair.send(DELETE)
    [answer] = pair.to_client(pair.serve(events))
    assert isinstance(answer, ReplyReceived)
    assert isinstance(answer.result, Message)


@signed_keys
@chunkers
def test_a_bad_reply_signature_ends_the_client(key: Key, chunker: Chunker) -> None:
    pair = started(key, chunker)
    ids, events = pair.send(LOOKUP, DELETE)
    reply = pair.serve(events)
    [ended] = pair.to_client(tamper(reply, reply.index(b"pc1")))
    assert isinstance(ended, ConnectionEnded)
    assert isinstance(ended.error, AuthenticationError)
    assert ended.pending == tuple(ids)
    assert pair.client.state is State.CLOSED
    assert pair.client.receive_data(reply) == []
    with pytest.raises(LocalProtocolError, match="closed"):
        pair.client.send_request(DELETE)


@signed_keys
def test_a_message_signed_by_an_authenticator_not_open_ends_the_server(key: Key) -> None:
    pair = started(key)
    _, data = pair.client.send_request(DELETE)
    forged = (AUTH_HANDLE + 1).to_bytes(4, "big") + data[4:]
    [ended] = pair.server.receive_data(forged)
    assert isinstance(ended, ConnectionEnded)
    assert f"authenticator {AUTH_HANDLE + 1}" in ended.reason
    assert pair.server.state is State.CLOSED


# ---------------------------------------------------------------- the end


@keys
def test_close_from_either_side(key: Key | None) -> None:
    pair = started(key)
    ids, _ = pair.send(DELETE)
    closed = ConnectionClosed("closed by the driver")
    assert pair.client.connection_lost(closed) == [ConnectionEnded(closed, tuple(ids))]
    [server_end] = pair.server.connection_lost()
    assert isinstance(server_end, ConnectionEnded)
    assert isinstance(server_end.error, ConnectionClosed)
    assert server_end.pending == ()
    assert pair.client.state is pair.server.state is State.CLOSED
    assert pair.client.connection_lost(ConnectionClosed("again")) == []
    assert pair.server.connection_lost() == []


def test_a_protocol_violation_ends_the_server_then_the_client() -> None:
    pair = started(None)
    _, data = pair.client.send_request(DELETE)
    with_rid = data[:20] + (99).to_bytes(4, "big") + data[24:]  # rid: a reply, not a request
    [ended] = pair.server.receive_data(with_rid)
    assert isinstance(ended, ConnectionEnded)
    assert isinstance(ended.error, RemoteProtocolError)
    assert "rid 99" in ended.reason
    assert pair.server.close_reason == ended.reason
    # the server's driver closes the socket; the client's driver reports the end of stream
    [client_end] = pair.client.connection_lost(ConnectionClosed("server closed"))
    assert isinstance(client_end, ConnectionEnded)
    assert client_end.pending != ()


@keys
def test_a_stream_that_ends_inside_a_message_says_so(key: Key | None) -> None:
    pair = started(key)
    _, data = pair.client.send_request(LOOKUP)
    assert pair.server.receive_data(data[:-3]) == []
    [ended] = pair.server.connection_lost()
    assert isinstance(ended, ConnectionEnded)
    assert isinstance(ended.error, ConnectionClosed)
    assert f"inside a message ({len(data) - 3} bytes" in ended.reason


# ---------------------------------------------------------------- the state table


@pytest.mark.parametrize("role", list(Role))
def test_the_state_table_is_closed_under_its_steps(role: Role) -> None:
    rows = {state: row for (r, state), row in STATE_TABLE.items() if r is role}
    assert State.STARTUP in rows
    for state, row in rows.items():
        assert set(row.steps.values()) <= set(rows), (role, state)
        if state is State.CLOSED:
            assert row.steps == {}
        else:
            assert row.steps[Step.ENDED] is State.CLOSED


def test_a_step_the_table_does_not_list_is_refused() -> None:
    conn = ServerConnection(require_auth=False)
    with pytest.raises(LocalProtocolError, match="AUTHENTICATED"):
        conn._step(Step.AUTHENTICATED)
    assert conn.state is State.STARTUP
