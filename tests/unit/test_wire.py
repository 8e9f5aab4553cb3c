"""The wire format: the construct declaration, the fast codec, and their equivalence."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiomapi._sansio.wire import (
    HEADER,
    MESSAGE,
    STARTUP,
    STARTUP_BYTES,
    Framer,
    Message,
    Opcode,
    build_with_construct,
    collapse_values,
    decode_frame,
    decode_message,
    decode_startup,
    encode_body,
    encode_message,
    find_value,
    parse_with_construct,
    status_message,
    status_result,
)
from aiomapi.errors import LocalProtocolError, RemoteProtocolError

from .. import captures

# ------------------------------------------------------------------ hand-built bytes


def entry(name: bytes, value: bytes) -> bytes:
    return struct.pack(">H", len(name)) + name + struct.pack(">I", len(value)) + value


LOOKUP_BYTES = (
    bytes.fromhex("00000000 00000000 00000001 00000000 0000002a 00000000")
    + entry(b"type", b"lease")
    + b"\x00\x00"
    + entry(b"ip-address", bytes([10, 0, 0, 1]))
    + b"\x00\x00"
)
LOOKUP_MESSAGE = Message(
    Opcode.OPEN, 0, 42, 0, (("type", b"lease"),), (("ip-address", bytes([10, 0, 0, 1])),)
)


def test_startup_is_version_100_header_24() -> None:
    assert bytes.fromhex("00000064 00000018") == STARTUP_BYTES
    assert STARTUP.parse(captures.SERVER_STARTUP) == {"version": 100, "header_size": 24}
    assert decode_startup(captures.SERVER_STARTUP) == (100, 24)


def test_header_is_in_wire_order_authid_first() -> None:
    parsed = HEADER.parse(bytes(range(24)))
    assert parsed.authid == 0x00010203
    assert parsed.authlen == 0x04050607
    assert parsed.opcode == 0x08090A0B
    assert parsed.rid == 0x14151617


@pytest.mark.parametrize("build", [encode_message, build_with_construct])
def test_encoders_match_hand_built_bytes(build: object) -> None:
    assert build(LOOKUP_MESSAGE) == LOOKUP_BYTES  # type: ignore[operator]


@pytest.mark.parametrize("parse", [decode_message, lambda d: parse_with_construct(d)[0]])
def test_decoders_match_hand_built_bytes(parse: object) -> None:
    assert parse(LOOKUP_BYTES) == LOOKUP_MESSAGE  # type: ignore[operator]


def test_null_value_has_zero_length_and_no_bytes() -> None:
    message = Message(Opcode.UPDATE, 5, 1, 0, (), (("ip-address", b""),))
    data = encode_message(message)
    assert data[24:] == b"\x00\x00" + entry(b"ip-address", b"") + b"\x00\x00"
    assert decode_message(data) == message


def test_signature_follows_the_object_list() -> None:
    data = encode_message(LOOKUP_MESSAGE, authid=7, signature=b"S" * 16)
    assert data[:8] == bytes.fromhex("00000007 00000010")
    assert data.endswith(b"\x00\x00" + b"S" * 16)
    message, authid, signature = parse_with_construct(data)
    assert (message, authid, signature) == (LOOKUP_MESSAGE, 7, b"S" * 16)


# ------------------------------------------------------------------ captured dhcpd bytes


def test_captured_lease_reply_decodes_identically() -> None:
    fast = decode_message(captures.LEASE_REPLY)
    normative, authid, signature = parse_with_construct(captures.LEASE_REPLY)
    assert fast == normative
    assert authid == 1
    assert len(signature) == 16
    assert fast.opcode == Opcode.UPDATE
    assert fast.rid == 8
    values = dict(fast.object)
    assert values["ip-address"] == bytes([10, 100, 1, 5])
    assert values["client-hostname"] == b"host5"
    assert values["flags"] == b"\x00"  # the one 1-byte value dhcpd sends
    assert list(values)[:2] == ["state", "ip-address"]


def test_captured_requests_are_rebuilt_byte_for_byte() -> None:
    for data in (captures.AUTH_REQUEST, captures.LOOKUP, captures.NOTFOUND_REQUEST):
        message, authid, signature = parse_with_construct(data)
        assert encode_message(message, authid, signature) == data
        assert build_with_construct(message, authid, signature) == data


def test_captured_status_reply() -> None:
    message = decode_message(captures.NOTFOUND_REPLY)
    assert message.opcode == Opcode.STATUS
    assert message.message_value("result") == (23).to_bytes(4, "big")
    assert message.message_value("message") == b"no object matches specification"
    assert status_result(message) == (23, "no object matches specification")


# ------------------------------------------------------------------ reading value lists


REPEATED = (("type", b"host"), ("x", b"1"), ("type", b"lease"), ("x", b""), ("y", b""))


def test_the_last_value_of_a_name_wins_and_a_null_reads_as_absent() -> None:
    """dhcpd's generic object: set_value overwrites in place, get_value of a null is "not
    found" (docs/dhcpd-behaviour.md, "Messages and replies")."""
    assert find_value(REPEATED, "type") == b"lease"
    assert find_value(REPEATED, "x") is None  # its last value is null
    assert find_value(REPEATED, "y") is None
    assert find_value(REPEATED, "missing") is None
    assert Message(Opcode.OPEN, message=REPEATED).message_value("type") == b"lease"


def test_a_collapsed_list_keeps_first_places_and_last_values() -> None:
    collapsed = collapse_values(REPEATED)
    assert collapsed == {"type": b"lease", "x": None, "y": None}
    assert list(collapsed) == ["type", "x", "y"]
    assert all(find_value(REPEATED, name) == value for name, value in collapsed.items())


def test_status_message_and_status_result_are_inverse() -> None:
    assert status_result(status_message(5, "x")) == (5, "x")
    assert status_result(status_message(0)) == (0, "")
    assert status_message(3).message == (("result", (3).to_bytes(4, "big")),)
    repeated = Message(Opcode.STATUS, message=(("result", bytes(4)), ("result", b"\0\0\0\x17")))
    assert status_result(repeated) == (23, "")
    for broken in ((), (("result", b"\0"),), (("result", bytes(4)), ("result", b""))):
        with pytest.raises(RemoteProtocolError, match="4-byte result"):
            status_result(Message(Opcode.STATUS, message=broken))


# ------------------------------------------------------------------ framer


def stream() -> bytes:
    return captures.AUTH_REPLY + captures.LEASE_REPLY + captures.NOTFOUND_REPLY


def frames_of(framer: Framer) -> list[bytes]:
    out = []
    while (frame := framer.next_frame()) is not None:
        out.append(frame.data)
    return out


def test_framer_whole_stream() -> None:
    framer = Framer()
    framer.feed(stream())
    assert frames_of(framer) == [
        captures.AUTH_REPLY,
        captures.LEASE_REPLY,
        captures.NOTFOUND_REPLY,
    ]
    assert framer.buffered == 0


def test_framer_byte_by_byte() -> None:
    framer = Framer()
    got: list[bytes] = []
    for byte in stream():
        framer.feed(bytes([byte]))
        got.extend(frames_of(framer))
    assert got == [captures.AUTH_REPLY, captures.LEASE_REPLY, captures.NOTFOUND_REPLY]


def test_framer_keeps_trailing_bytes() -> None:
    framer = Framer()
    framer.feed(captures.LEASE_REPLY + captures.NOTFOUND_REPLY[:30])
    assert frames_of(framer) == [captures.LEASE_REPLY]
    assert framer.buffered == 30
    framer.feed(captures.NOTFOUND_REPLY[30:])
    assert frames_of(framer) == [captures.NOTFOUND_REPLY]


def test_framer_signed_region_and_signature() -> None:
    framer = Framer()
    framer.feed(captures.LEASE_REPLY)
    frame = framer.next_frame()
    assert frame is not None
    assert frame.authid == 1
    assert frame.signature == captures.LEASE_REPLY[-16:]
    assert bytes(frame.signed_region) == captures.LEASE_REPLY[4:-16]
    captures.KEY.signer().verify(frame.signed_region, frame.signature)


def test_framer_drops_extra_header_bytes() -> None:
    """A peer announcing a 28-byte header: bytes 24-27 are skipped and not signed."""
    long_header = LOOKUP_BYTES[:24] + b"XXXX" + LOOKUP_BYTES[24:]
    framer = Framer(header_size=28)
    framer.feed(long_header)
    frame = framer.next_frame()
    assert frame is not None
    assert frame.data == LOOKUP_BYTES
    assert decode_frame(frame) == LOOKUP_MESSAGE


def test_framer_rejects_an_announced_oversize_value_at_once() -> None:
    """A 300 MB value length is refused after the length field, not after buffering."""
    framer = Framer(max_message_size=64 * 1024)
    framer.feed(LOOKUP_BYTES[:24] + struct.pack(">H", 4) + b"type" + struct.pack(">I", 300 << 20))
    with pytest.raises(RemoteProtocolError, match="limit"):
        framer.next_frame()


def test_framer_rejects_oversize_signature() -> None:
    data = bytearray(LOOKUP_BYTES)
    data[4:8] = struct.pack(">I", 1 << 30)
    framer = Framer()
    framer.feed(bytes(data))
    with pytest.raises(RemoteProtocolError):
        framer.next_frame()


def test_framer_rejects_small_header_size() -> None:
    with pytest.raises(ValueError, match="below 24"):
        Framer(header_size=20)


def test_decode_message_rejects_truncated_and_trailing() -> None:
    with pytest.raises(RemoteProtocolError, match="truncated"):
        decode_message(LOOKUP_BYTES[:-1])
    with pytest.raises(RemoteProtocolError, match="trailing"):
        decode_message(LOOKUP_BYTES + b"\x00")


# ------------------------------------------------------------------ local errors


def test_empty_name_is_refused_by_both_encoders() -> None:
    bad = Message(Opcode.OPEN, object=(("", b"x"),))
    with pytest.raises(LocalProtocolError):
        encode_message(bad)
    with pytest.raises(LocalProtocolError):
        build_with_construct(bad)


def test_out_of_range_header_fields_are_refused_by_both_encoders() -> None:
    bad = Message(Opcode.OPEN, handle=1 << 32)
    with pytest.raises(LocalProtocolError):
        encode_body(bad, 0, 0)
    with pytest.raises(LocalProtocolError):
        build_with_construct(bad)


# ------------------------------------------------------------------ differential properties

names = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=255), min_size=1, max_size=20)
values = st.binary(max_size=64)
value_lists = st.lists(st.tuples(names, values), max_size=6).map(tuple)
u32 = st.integers(0, 0xFFFFFFFF)
messages = st.builds(Message, u32, u32, u32, u32, value_lists, value_lists)


@given(messages, u32, st.binary(max_size=64))
@settings(max_examples=300)
def test_fast_encoder_is_byte_identical_to_construct(
    message: Message, authid: int, signature: bytes
) -> None:
    assert encode_message(message, authid, signature) == build_with_construct(
        message, authid, signature
    )


@given(messages, u32, st.binary(max_size=64))
@settings(max_examples=300)
def test_fast_decoder_agrees_with_construct(
    message: Message, authid: int, signature: bytes
) -> None:
    data = build_with_construct(message, authid, signature)
    assert decode_message(data) == message
    assert parse_with_construct(data) == (message, authid, signature)
    framer = Framer()
    framer.feed(data)
    frame = framer.next_frame()
    assert frame is not None
    assert (frame.authid, frame.signature) == (authid, signature)


# values from empty to well past the framer's small-buffer limit (4 KiB); the large ones
# repeat a short random pattern (random 12 KB values would exhaust hypothesis' entropy)
large_values = st.builds(
    lambda pattern, size: (pattern * (size // len(pattern) + 1))[:size],
    st.binary(min_size=1, max_size=16),
    st.integers(3000, 12000),
)
stream_values = st.one_of(values, large_values)
stream_messages = st.builds(
    Message,
    u32,
    u32,
    u32,
    u32,
    value_lists,
    st.lists(st.tuples(names, stream_values), max_size=3).map(tuple),
)


@given(
    st.lists(stream_messages, min_size=1, max_size=5),
    st.lists(st.integers(1, 9000), min_size=1, max_size=30),
)
@settings(max_examples=150, deadline=None)
def test_framer_gives_every_message_of_a_stream_read_in_any_pieces(
    messages_sent: list[Message], pieces: list[int]
) -> None:
    data = b"".join(encode_message(m, 7, bytes(16)) for m in messages_sent)
    framer = Framer()
    got: list[Message] = []
    offset = turn = 0
    while offset < len(data):
        size = pieces[turn % len(pieces)]
        framer.feed(data[offset : offset + size])
        offset, turn = offset + size, turn + 1
        while (frame := framer.next_frame()) is not None:
            assert (frame.authid, frame.signature) == (7, bytes(16))
            got.append(decode_frame(frame))
    assert got == messages_sent
    assert framer.buffered == 0


def _outcome(parse: object, data: bytes) -> object:
    try:
        result = parse(data)  # type: ignore[operator]
    except RemoteProtocolError:
        return "rejected"
    return result


@given(st.binary(max_size=200))
@settings(max_examples=500)
def test_any_bytes_are_decoded_or_rejected_identically(data: bytes) -> None:
    fast = _outcome(decode_message, data)
    normative = _outcome(lambda d: parse_with_construct(d)[0], data)
    assert fast == normative


@given(messages, st.integers(0, 400), st.binary(min_size=1, max_size=8))
@settings(max_examples=300)
def test_mutated_messages_are_decoded_or_rejected_identically(
    message: Message, position: int, patch: bytes
) -> None:
    data = bytearray(build_with_construct(message))
    position %= len(data)
    data[position : position + len(patch)] = patch
    assert _outcome(decode_message, bytes(data)) == _outcome(
        lambda d: parse_with_construct(d)[0], bytes(data)
    )


def test_message_declaration_is_the_normative_struct() -> None:
    # The whole-message declaration accepts exactly one message and nothing after it.
    MESSAGE.parse(LOOKUP_BYTES)
    with pytest.raises(Exception, match="expected end of stream"):
        MESSAGE.parse(LOOKUP_BYTES + b"\x00")
