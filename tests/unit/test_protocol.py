"""The sans-IO client connection, driven with plain bytes (captured from dhcpd 4.4.3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiomapi._sansio.client import (
    ClientProtocol,
    ConnectionFailed,
    Event,
    HandshakeComplete,
    ReplyReceived,
    Request,
    State,
)
from aiomapi._sansio.events import Decoded
from aiomapi._sansio.wire import STARTUP_BYTES, Frame, Message, Opcode, encode_message
from aiomapi.errors import (
    AuthenticationError,
    ConnectionClosed,
    HandshakeError,
    LocalProtocolError,
    NoKeys,
    NotFound,
    ProtocolError,
    RejectedWithSuccessCode,
    RemoteProtocolError,
)

from .. import captures
from .test_connection_pair import Chunker, byte_by_byte, whole

LOOKUP = Request(
    Opcode.OPEN, message=(("type", b"lease"),), object=(("ip-address", b"\nd\x01\x05"),)
)
MISSING = Request(
    Opcode.OPEN, message=(("type", b"lease"),), object=(("ip-address", b"\nc\x01\x05"),)
)


def odd_chunks(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), 7):
        yield data[i : i + 7]


CHUNKERS = [whole, byte_by_byte, odd_chunks]


def feed(proto: ClientProtocol, data: bytes, chunker: Chunker) -> list[Event]:
    events: list[Event] = []
    for chunk in chunker(data):
        events.extend(proto.receive_data(chunk))
    return events


def ready_protocol(chunker: Chunker = whole) -> ClientProtocol:
    proto = ClientProtocol(captures.KEY, first_id=6)
    assert proto.initiate() == STARTUP_BYTES + captures.AUTH_REQUEST
    events = feed(proto, captures.SERVER_STARTUP + captures.AUTH_REPLY, chunker)
    assert events == [HandshakeComplete(1)]
    assert proto.state is State.READY
    return proto


@pytest.mark.parametrize("chunker", CHUNKERS)
def test_handshake_and_requests_reproduce_dhcpd_capture(chunker: Chunker) -> None:
    proto = ready_protocol(chunker)
    assert proto.send_request(LOOKUP) == (8, captures.LOOKUP)
    assert proto.send_request(MISSING) == (9, captures.NOTFOUND_REQUEST)
    events = feed(proto, captures.LEASE_REPLY + captures.NOTFOUND_REPLY, chunker)
    assert len(events) == 2
    lease, missing = events
    assert isinstance(lease, ReplyReceived)
    assert lease.request_id == 8
    assert isinstance(lease.result, Message)
    assert dict(lease.result.object)["client-hostname"] == b"host5"
    assert isinstance(missing, ReplyReceived)
    assert isinstance(missing.result, NotFound)
    assert missing.result.code == 23
    assert missing.result.text == "no object matches specification"
    assert proto.pending == 0


def test_startup_and_first_reply_in_one_chunk_with_trailing_bytes() -> None:
    proto = ClientProtocol(captures.KEY, first_id=6)
    proto.initiate()
    events = proto.receive_data(captures.SERVER_STARTUP + captures.AUTH_REPLY + b"\x00\x00")
    assert events == [HandshakeComplete(1)]
    assert proto._framer.buffered == 2  # kept for the next message


def test_unsigned_connection_needs_no_handshake() -> None:
    proto = ClientProtocol(None)
    assert proto.initiate() == STARTUP_BYTES
    assert proto.receive_data(captures.SERVER_STARTUP) == [HandshakeComplete(0)]
    request_id, data = proto.send_request(LOOKUP)
    assert data[:8] == b"\x00" * 8  # authid 0, authlen 0
    reply = Message(Opcode.UPDATE, 5, 1, request_id, (), (("state", b"\x00\x00\x00\x02"),))
    [event] = proto.receive_data(encode_message(reply))
    assert event == ReplyReceived(request_id, reply)


def test_a_request_with_its_own_decoder_gets_what_it_made_of_the_reply() -> None:
    """An object reply goes to the request's decoder (as its frame); a failure status does
    not; what the decoder raises is that request's error and the connection goes on."""
    seen: list[bytes] = []

    def decode(frame: Frame) -> object:
        seen.append(frame.data)
        if b"bad" in frame.data:
            raise RemoteProtocolError("a lease without a state")
        return ("decoded", len(frame.data))

    proto = ClientProtocol(None)
    proto.initiate()
    proto.receive_data(captures.SERVER_STARTUP)
    asking = Request(Opcode.OPEN, message=LOOKUP.message, object=LOOKUP.object, decode_reply=decode)
    rid, _ = proto.send_request(asking)
    reply = encode_message(Message(Opcode.UPDATE, 5, 1, rid, (), (("state", b"\0\0\0\2"),)))
    assert proto.receive_data(reply) == [ReplyReceived(rid, Decoded(("decoded", len(reply))))]
    assert seen == [reply]

    rid, _ = proto.send_request(asking)
    bad = encode_message(Message(Opcode.UPDATE, 5, 2, rid, (), (("bad", b"1"),)))
    [event] = proto.receive_data(bad)
    assert isinstance(event, ReplyReceived)
    assert isinstance(event.result, Decoded)
    assert isinstance(event.result.value, RemoteProtocolError)
    assert proto.state is State.READY

    rid, _ = proto.send_request(asking)
    status = Message(Opcode.STATUS, 0, 3, rid, (("result", (23).to_bytes(4, "big")),), ())
    [event] = proto.receive_data(encode_message(status))
    assert isinstance(event, ReplyReceived)
    assert isinstance(event.result, NotFound)
    assert len(seen) == 2  # a status is not the decoder's

    rid, _ = proto.send_request(Request(Opcode.DELETE, handle=5, decode_reply=decode))
    answer = Message(Opcode.UPDATE, 5, 4, rid, (), (("state", b"\0\0\0\2"),))
    [ended] = proto.receive_data(encode_message(answer))
    assert isinstance(ended, ConnectionFailed)  # an object in answer to a DELETE: judged first
    assert "answered DELETE with an object" in str(ended.error)
    assert len(seen) == 2


def failed(events: list[Event]) -> ConnectionFailed:
    assert len(events) == 1
    assert isinstance(events[0], ConnectionFailed)
    return events[0]


def test_wrong_protocol_version_fails_the_connection() -> None:
    proto = ClientProtocol(captures.KEY)
    proto.initiate()
    event = failed(proto.receive_data(bytes.fromhex("00000065 00000018")))
    assert isinstance(event.error, RemoteProtocolError)
    assert "version 101" in str(event.error)
    assert proto.state is State.CLOSED
    assert proto.receive_data(b"more") == []


def test_small_header_size_fails_the_connection() -> None:
    proto = ClientProtocol(None)
    event = failed(proto.receive_data(bytes.fromhex("00000064 00000010")))
    assert "header size" in str(event.error)


def test_refused_key_is_a_handshake_error() -> None:
    proto = ClientProtocol(captures.KEY, first_id=6)
    proto.initiate()
    status = Message(
        Opcode.STATUS,
        rid=7,
        message=(
            ("result", (23).to_bytes(4, "big")),
            ("message", b"no object matches specification"),
        ),
    )
    event = failed(proto.receive_data(captures.SERVER_STARTUP + encode_message(status)))
    assert isinstance(event.error, HandshakeError)
    assert event.error.code == 23
    assert captures.KEY.label in str(event.error)
    assert captures.SECRET not in str(event.error)


def test_bad_signature_closes_the_connection_and_fails_pending() -> None:
    proto = ready_protocol()
    proto.send_request(LOOKUP)
    tampered = bytearray(captures.LEASE_REPLY)
    tampered[60] ^= 0x01
    event = failed(proto.receive_data(bytes(tampered)))
    assert isinstance(event.error, AuthenticationError)
    assert event.pending == (8,)
    assert proto.pending == 0


def test_unsigned_object_reply_to_signed_request_is_rejected() -> None:
    proto = ready_protocol()
    proto.send_request(LOOKUP)
    forged = Message(Opcode.UPDATE, 2, 1, 8, (), (("state", b"\x00\x00\x00\x02"),))
    event = failed(proto.receive_data(encode_message(forged)))
    assert isinstance(event.error, AuthenticationError)


def test_unsigned_success_status_to_signed_request_is_rejected() -> None:
    proto = ready_protocol()
    proto.send_request(Request(Opcode.DELETE, handle=5))
    forged = Message(Opcode.STATUS, rid=8, message=(("result", bytes(4)),))
    event = failed(proto.receive_data(encode_message(forged)))
    assert isinstance(event.error, AuthenticationError)


def test_unsigned_failure_status_is_accepted_as_that_failure() -> None:
    """dhcpd answers requests it could not verify with unsigned statuses
    (docs/dhcpd-behaviour.md, "Authentication")."""
    proto = ready_protocol()
    proto.send_request(LOOKUP)
    status = Message(Opcode.STATUS, rid=8, message=(("result", (393225).to_bytes(4, "big")),))
    [event] = proto.receive_data(encode_message(status))
    assert isinstance(event, ReplyReceived)
    assert isinstance(event.result, NoKeys)
    assert proto.state is State.READY


def test_status_zero_with_text_is_a_failure() -> None:
    """dhcpd reports e.g. 'cannot update authenticator' as result 0 (docs/dhcpd-behaviour.md,
    "Result codes")."""
    proto = ClientProtocol(None)
    proto.receive_data(STARTUP_BYTES)
    request_id, _ = proto.send_request(Request(Opcode.UPDATE, handle=1, object=(("name", b"x"),)))
    status = Message(
        Opcode.STATUS,
        rid=request_id,
        message=(("result", bytes(4)), ("message", b"cannot update authenticator")),
    )
    [event] = proto.receive_data(encode_message(status))
    assert isinstance(event, ReplyReceived)
    assert isinstance(event.result, RejectedWithSuccessCode)
    assert event.result.text == "cannot update authenticator"


def test_status_zero_without_text_is_success_for_update() -> None:
    proto = ClientProtocol(None)
    proto.receive_data(STARTUP_BYTES)
    request_id, _ = proto.send_request(Request(Opcode.UPDATE, handle=1, object=(("x", b"y"),)))
    status = Message(Opcode.STATUS, rid=request_id, message=(("result", bytes(4)),))
    [event] = proto.receive_data(encode_message(status))
    assert isinstance(event, ReplyReceived)
    assert isinstance(event.result, Message)


def test_status_zero_in_answer_to_open_is_a_failure() -> None:
    proto = ClientProtocol(None)
    proto.receive_data(STARTUP_BYTES)
    request_id, _ = proto.send_request(LOOKUP)
    status = Message(Opcode.STATUS, rid=request_id, message=(("result", bytes(4)),))
    [event] = proto.receive_data(encode_message(status))
    assert isinstance(event, ReplyReceived)
    assert isinstance(event.result, RejectedWithSuccessCode)


def test_object_in_answer_to_delete_is_a_protocol_error() -> None:
    proto = ClientProtocol(None)
    proto.receive_data(STARTUP_BYTES)
    request_id, _ = proto.send_request(Request(Opcode.DELETE, handle=3))
    event = failed(proto.receive_data(encode_message(Message(Opcode.UPDATE, 3, 1, request_id))))
    assert isinstance(event.error, RemoteProtocolError)


def test_unknown_rid_is_a_protocol_error() -> None:
    proto = ready_protocol()
    proto.send_request(LOOKUP)
    event = failed(proto.receive_data(captures.NOTFOUND_REPLY))  # answers id 9: never sent
    assert "unknown request id 9" in str(event.error)
    assert event.pending == (8,)


def test_status_without_result_is_a_protocol_error() -> None:
    proto = ClientProtocol(None)
    proto.receive_data(STARTUP_BYTES)
    request_id, _ = proto.send_request(LOOKUP)
    event = failed(proto.receive_data(encode_message(Message(Opcode.STATUS, rid=request_id))))
    assert "result" in str(event.error)


def test_connection_lost_fails_everything_pending() -> None:
    proto = ready_protocol()
    first, _ = proto.send_request(LOOKUP)
    second, _ = proto.send_request(MISSING)
    event = failed(proto.connection_lost(ConnectionClosed("gone")))
    assert event.pending == (first, second)
    assert proto.connection_lost(ConnectionClosed("again")) == []
    with pytest.raises(LocalProtocolError, match="closed"):
        proto.send_request(LOOKUP)


def test_truncated_stream_is_reported_as_such() -> None:
    proto = ready_protocol()
    proto.send_request(LOOKUP)
    assert proto.receive_data(captures.LEASE_REPLY[:100]) == []
    event = failed(proto.connection_lost(ConnectionClosed("peer closed the connection")))
    assert isinstance(event.error, ConnectionClosed)
    assert "inside a message (100 bytes" in str(event.error)
    assert isinstance(event.error.__cause__, RemoteProtocolError)


def test_requests_before_ready_are_refused() -> None:
    proto = ClientProtocol(captures.KEY)
    proto.initiate()
    with pytest.raises(LocalProtocolError, match="startup"):
        proto.send_request(LOOKUP)


# ------------------------------------------------------------------ refusals
# (docs/dhcpd-behaviour.md, "Requests that crash dhcpd")


@pytest.mark.parametrize(
    "request_",
    [
        Request(Opcode.OPEN, message=(("type", b"lease"), ("op", b""))),
        Request(Opcode.OPEN, message=(("type", b"lease"), ("id", b"\x00\x00\x00\x01"))),
        Request(Opcode.OPEN, message=(("object", b""),)),
        Request(Opcode.UPDATE, handle=4, object=(("state", b""),), object_type="lease"),
        Request(Opcode.UPDATE, handle=4, object=(("ends", b""),)),  # type unknown: refused
        Request(Opcode.UPDATE, handle=4, object=(("local-state", b"\x00\x00\x00\x63"),)),
        Request(Opcode.UPDATE, handle=4, object=(("local-state", b"\x04"),)),
        Request(
            Opcode.OPEN,
            message=(("type", b"failover-state"), ("update", b"\x00\x00\x00\x01")),
            object=(("name", b"peer"), ("local-state", (12).to_bytes(4, "big"))),
        ),
        Request(
            Opcode.OPEN,
            message=(("type", b"group"), ("create", b"\x00\x00\x00\x01")),
            object=(("name", b""),),
        ),
        Request(Opcode.UPDATE, handle=4, object=(("statements", b""),), object_type="group"),
        Request(Opcode.UPDATE, handle=4, object=(("match", b""),), object_type="class"),
        Request(Opcode.UPDATE, handle=4, object=(("group", b""),), object_type="class"),
        Request(Opcode.UPDATE, handle=4, object=(("hashstring", b""),), object_type="subclass"),
        Request(Opcode.UPDATE, handle=4, object=(("hashstring", b""),)),  # type unknown
        Request(Opcode.STATUS),
    ],
)
def test_requests_that_crash_dhcpd_are_refused(request_: Request) -> None:
    proto = ClientProtocol(None)
    proto.receive_data(STARTUP_BYTES)
    with pytest.raises(LocalProtocolError):
        proto.send_request(request_)
    assert proto.pending == 0


def test_the_type_dhcpd_reads_decides_what_is_refused() -> None:
    """dhcpd takes the last of repeated message values; so do the safety checks."""
    proto = ClientProtocol(None)
    proto.receive_data(STARTUP_BYTES)
    create = ("create", (1).to_bytes(4, "big"))
    group_behind_host = Request(
        Opcode.OPEN,
        message=(("type", b"host"), ("type", b"group"), create),
        object=(("name", b""),),
    )
    with pytest.raises(LocalProtocolError, match="crashes"):
        proto.send_request(group_behind_host)
    host_behind_group = Request(
        Opcode.OPEN,
        message=(("type", b"group"), ("type", b"host"), create),
        object=(("name", b""),),
    )
    proto.send_request(host_behind_group)  # a host without a name is dhcpd's to refuse
    assert proto.pending == 1


@pytest.mark.parametrize("state", [*range(12), 254])
def test_valid_failover_states_are_sent(state: int) -> None:
    proto = ClientProtocol(None)
    proto.receive_data(STARTUP_BYTES)
    proto.send_request(
        Request(Opcode.UPDATE, handle=4, object=(("local-state", state.to_bytes(4, "big")),))
    )
    assert proto.pending == 1


def test_null_host_attribute_is_allowed() -> None:
    """Unsetting a host's fixed address is legitimate (docs/dhcpd-behaviour.md, "Objects")."""
    proto = ClientProtocol(None)
    proto.receive_data(STARTUP_BYTES)
    proto.send_request(
        Request(Opcode.UPDATE, handle=4, object=(("ip-address", b""),), object_type="host")
    )
    assert proto.pending == 1


# ------------------------------------------------------------------ fuzzing


@given(st.binary(max_size=600))
@settings(max_examples=400)
def test_any_bytes_after_handshake_give_events_or_a_protocol_error(data: bytes) -> None:
    proto = ready_protocol()
    proto.send_request(LOOKUP)
    events = proto.receive_data(data)
    for event in events:
        if isinstance(event, ConnectionFailed):
            assert isinstance(event.error, ProtocolError)
            assert proto.state is State.CLOSED
        else:
            assert isinstance(event, ReplyReceived)


@given(st.binary(max_size=100))
@settings(max_examples=300)
def test_any_bytes_during_startup_give_events_or_a_protocol_error(data: bytes) -> None:
    proto = ClientProtocol(captures.KEY)
    proto.initiate()
    for event in proto.receive_data(data):
        assert isinstance(event, ConnectionFailed | HandshakeComplete)
        if isinstance(event, ConnectionFailed):
            assert isinstance(event.error, ProtocolError | HandshakeError)


@pytest.mark.parametrize("object_type", ["lease", None])
def test_nulls_written_to_a_lease_are_refused(object_type: str | None) -> None:
    """A second null on a lease binding variable segfaults dhcpd 4.4.3, and whether one was
    sent before is server state: every null written to a lease is refused before sending."""
    proto = ClientProtocol(captures.KEY)
    update = Request(Opcode.UPDATE, handle=5, object=(("myvar", b""),), object_type=object_type)
    with pytest.raises(LocalProtocolError, match="second null"):
        proto.encode_request(update)
    open_update = Request(
        Opcode.OPEN,
        message=(("type", b"lease"), ("update", (1).to_bytes(4, "big"))),
        object=(("ip-address", bytes(4)), ("myvar", b"")),
    )
    with pytest.raises(LocalProtocolError, match="second null"):
        proto.encode_request(open_update)
    # an ``update`` flag of zero bytes is false: that OPEN is a lookup, which writes nothing
    proto.encode_request(
        Request(
            Opcode.OPEN,
            message=(("type", b"lease"), ("update", bytes(4))),
            object=(("ip-address", bytes(4)), ("myvar", b"")),
        )
    )
    # a lookup carries no null, and a null on a host (clearing its fixed address) is allowed
    proto.encode_request(
        Request(Opcode.UPDATE, handle=5, object=(("ip-address", b""),), object_type="host")
    )
