"""The sans-IO server connection and the dispatcher, driven with plain bytes.

Fixtures are the bytes captured from dhcpd 4.4.3 (tests/data/dhcpd_captures.json): the
server side must accept the captured requests and reproduce dhcpd's captured replies byte
for byte, signatures included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

import pytest

from aiomapi._sansio.auth import Key
from aiomapi._sansio.server import (
    CloseConnection,
    Event,
    RequestReceived,
    SendData,
    ServerConnection,
    ServerState,
    last_value,
    status_message,
)
from aiomapi._sansio.wire import (
    STARTUP_BYTES,
    Framer,
    Message,
    Opcode,
    decode_frame,
    encode_body,
    encode_message,
    encode_startup,
)
from aiomapi.errors import ResultCode
from aiomapi.server.objects import (
    AttributeValue,
    Dispatcher,
    HandleTable,
    ObjectType,
    Ref,
    StatusError,
    collapse_values,
    int32,
)

from .. import captures
from .test_connection_pair import Chunker, byte_by_byte, whole

KEY = captures.KEY
OTHER_KEY = Key.generate("other")
TRUE = int32(1)


def odd_chunks(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), 5):
        yield data[i : i + 5]


CHUNKERS = [whole, byte_by_byte, odd_chunks]


def feed(conn: ServerConnection, data: bytes, chunker: Chunker = whole) -> list[Event]:
    events: list[Event] = []
    for chunk in chunker(data):
        events += conn.receive_data(chunk)
    return events


def started(require_auth: bool = True, **kwargs: int) -> ServerConnection:
    conn = ServerConnection(require_auth=require_auth, **kwargs)
    assert conn.initiate() == captures.SERVER_STARTUP
    assert feed(conn, STARTUP_BYTES) == []
    assert conn.state is ServerState.OPEN
    return conn


def authenticated(first_id: int | None = None) -> ServerConnection:
    conn = ServerConnection(require_auth=True, first_id=first_id)
    feed(conn, STARTUP_BYTES)
    conn.add_authenticator(1, KEY)
    return conn


def signed(message: Message, key: Key = KEY, authid: int = 1) -> bytes:
    signer = key.signer()
    body = encode_body(message, authid, signer.digest_size)
    return body + signer.sign(body[4:])


def lookup(ip: bytes = b"\x0a\x64\x01\x05", **kwargs: int) -> Message:
    return Message(
        Opcode.OPEN, message=(("type", b"lease"),), object=(("ip-address", ip),), **kwargs
    )


def decode(data: bytes) -> Message:
    """One whole message, signed or not."""
    framer = Framer()
    framer.feed(data)
    frame = framer.next_frame()
    assert frame is not None
    assert framer.buffered == 0
    return decode_frame(frame)


def status_of(data: bytes) -> tuple[int, str | None, int, bool]:
    """(result, text, rid, signed) of an encoded STATUS reply."""
    authid = int.from_bytes(data[:4], "big")
    message = decode(data)
    assert message.opcode == Opcode.STATUS
    text = message.message_value("message")
    code = message.message_value("result")
    assert code is not None
    return int.from_bytes(code, "big"), text.decode() if text else None, message.rid, authid != 0


# ---------------------------------------------------------------- startup


@pytest.mark.parametrize("chunker", CHUNKERS)
def test_startup_then_captured_authenticator_open(chunker: Chunker) -> None:
    conn = ServerConnection(require_auth=True)
    events = feed(conn, STARTUP_BYTES + captures.AUTH_REQUEST, chunker)
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, RequestReceived)
    assert event.authid == 0
    assert event.message.opcode == Opcode.OPEN
    assert last_value(event.message.message, "type") == b"authenticator"


@pytest.mark.parametrize(("version", "header_size"), [(99, 24), (101, 24), (100, 23), (100, 0)])
def test_bad_startup_closes(version: int, header_size: int) -> None:
    conn = ServerConnection(require_auth=False)
    events = feed(conn, encode_startup(version, header_size) + captures.AUTH_REQUEST)
    assert len(events) == 1
    assert isinstance(events[0], CloseConnection)
    assert conn.state is ServerState.CLOSED
    assert conn.receive_data(captures.AUTH_REQUEST) == []


@pytest.mark.parametrize("chunker", CHUNKERS)
def test_larger_header_extra_bytes_are_discarded(chunker: Chunker) -> None:
    """Header size 28: four extra header bytes, not covered by the signature
    (docs/dhcpd-behaviour.md, "Wire format")."""
    conn = ServerConnection(require_auth=True)
    feed(conn, encode_startup(100, 28))
    conn.add_authenticator(1, KEY)
    data = captures.LOOKUP
    events = feed(conn, data[:24] + b"JUNK" + data[24:], chunker)
    assert len(events) == 1
    assert isinstance(events[0], RequestReceived)
    assert events[0].authid == 1


# ---------------------------------------------------------------- captured bytes


@pytest.mark.parametrize("chunker", CHUNKERS)
def test_captured_signed_lookup_is_accepted(chunker: Chunker) -> None:
    conn = authenticated()
    events = feed(conn, captures.LOOKUP + captures.NOTFOUND_REQUEST, chunker)
    assert [type(e) for e in events] == [RequestReceived, RequestReceived]
    assert all(isinstance(e, RequestReceived) and e.authid == 1 for e in events)


def test_trailing_bytes_stay_buffered() -> None:
    conn = authenticated()
    events = feed(conn, captures.LOOKUP + captures.NOTFOUND_REQUEST[:30])
    assert len(events) == 1
    assert isinstance(events[0], RequestReceived)
    events = feed(conn, captures.NOTFOUND_REQUEST[30:])
    assert len(events) == 1
    assert isinstance(events[0], RequestReceived)


def test_replies_are_byte_identical_to_dhcpd() -> None:
    """Our encoder and signer reproduce dhcpd's captured replies exactly."""
    auth_reply = decode(captures.AUTH_REPLY)
    lease_reply = decode(captures.LEASE_REPLY)
    notfound_reply = decode(captures.NOTFOUND_REPLY)

    conn = ServerConnection(require_auth=True, first_id=auth_reply.id - 1)
    (auth_request,) = feed(conn, STARTUP_BYTES + captures.AUTH_REQUEST)
    assert isinstance(auth_request, RequestReceived)
    reply = Message(Opcode.UPDATE, 1, object=auth_reply.object)
    assert conn.send_reply(auth_request, reply) == captures.AUTH_REPLY

    conn.add_authenticator(1, KEY)
    lookup_event, missing_event = feed(conn, captures.LOOKUP + captures.NOTFOUND_REQUEST)
    assert isinstance(lookup_event, RequestReceived)
    assert isinstance(missing_event, RequestReceived)
    reply = Message(Opcode.UPDATE, lease_reply.handle, object=lease_reply.object)
    assert conn.send_reply(lookup_event, reply) == captures.LEASE_REPLY
    reply = status_message(ResultCode.NOTFOUND, "no object matches specification")
    assert notfound_reply.message == reply.message
    assert conn.send_reply(missing_event, reply) == captures.NOTFOUND_REPLY


# ---------------------------------------------------------------- authentication gates


def test_unknown_authid_closes() -> None:
    conn = started()
    (event,) = feed(conn, captures.LOOKUP)  # signed with authid 1, never opened here
    assert isinstance(event, CloseConnection)
    assert "authenticator 1" in event.reason


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d[:-1] + bytes([d[-1] ^ 1]),  # one bit of the signature
        lambda d: d[:36] + bytes([d[36] ^ 1]) + d[37:],  # one bit of the body ("lease")
        lambda d: d[:4] + int32(8) + d[8:-8],  # authlen shorter than the digest
    ],
    ids=["signature", "body", "short"],
)
def test_bad_signature_is_unsigned_invalidkey(tamper: Callable[[bytes], bytes]) -> None:
    conn = authenticated()
    (event,) = feed(conn, tamper(captures.LOOKUP))
    assert isinstance(event, SendData)
    result, text, rid, is_signed = status_of(event.data)
    assert (result, text, is_signed) == (ResultCode.INVALIDKEY, None, False)
    assert rid == decode(captures.LOOKUP).id
    # the connection stays usable
    (event,) = feed(conn, captures.LOOKUP)
    assert isinstance(event, RequestReceived)


def test_known_authid_without_signature_is_rejected() -> None:
    """dhcpd executes this as authenticated (docs/dhcpd-behaviour.md, "Authentication"); we
    do not."""
    conn = authenticated()
    data = encode_body(lookup(id=5), 1, 0)
    (event,) = feed(conn, data)
    assert isinstance(event, SendData)
    assert status_of(event.data) == (ResultCode.INVALIDKEY, None, 5, False)


def test_unauthenticated_request_gets_nokeys() -> None:
    conn = authenticated()
    (event,) = feed(conn, encode_message(lookup(id=9)))
    assert isinstance(event, SendData)
    assert status_of(event.data) == (
        ResultCode.NOKEYS,
        "No authenticator on message",
        9,
        False,
    )


@pytest.mark.parametrize("opcode", [Opcode.REFRESH, Opcode.STATUS, Opcode.NOTIFY, 9])
def test_unauthenticated_gate_comes_before_opcode(opcode: int) -> None:
    conn = started()
    (event,) = feed(conn, encode_message(Message(opcode, id=3)))
    assert isinstance(event, SendData)
    assert status_of(event.data)[0] == ResultCode.NOKEYS


def test_insecure_server_accepts_unsigned() -> None:
    conn = started(require_auth=False)
    (event,) = feed(conn, encode_message(lookup()))
    assert isinstance(event, RequestReceived)
    assert event.authid == 0


def test_unsigned_with_signature_bytes_counts_as_unsigned() -> None:
    conn = authenticated()
    data = encode_body(lookup(), 0, 16) + b"\x01" * 16
    (event,) = feed(conn, data)
    assert isinstance(event, SendData)
    assert status_of(event.data)[0] == ResultCode.NOKEYS


def test_signed_reply_uses_the_request_authenticator() -> None:
    conn = authenticated()
    conn.add_authenticator(7, OTHER_KEY)
    (event,) = feed(conn, signed(lookup(id=4), OTHER_KEY, 7))
    assert isinstance(event, RequestReceived)
    assert event.authid == 7
    data = conn.send_reply(event, status_message(0))
    assert data[:4] == int32(7)
    body, signature = data[:-16], data[-16:]
    OTHER_KEY.signer().verify(body[4:], signature)


# ---------------------------------------------------------------- protocol violations


@pytest.mark.parametrize(
    "message",
    [
        lookup(rid=5),
        Message(Opcode.STATUS, id=1),
        Message(9, id=1),
        Message(0, id=1),
        Message(Opcode.OPEN, message=(("type", b"lease"), ("op", TRUE))),
        Message(Opcode.OPEN, message=(("authenticator", b"x"),)),
    ],
    ids=["rid", "status", "op9", "op0", "reserved-op", "reserved-authenticator"],
)
@pytest.mark.parametrize("chunker", CHUNKERS)
def test_violations_close(message: Message, chunker: Chunker) -> None:
    conn = authenticated()
    events = feed(conn, signed(message) + captures.LOOKUP, chunker)
    assert len(events) == 1
    assert isinstance(events[0], CloseConnection)
    assert conn.state is ServerState.CLOSED


@pytest.mark.parametrize("name", ["op", "id", "object", "handle", "rid", "authid", "notify-object"])
@pytest.mark.parametrize("authenticate", [True, False])
def test_null_reserved_message_value_is_invalidarg(name: str, authenticate: bool) -> None:
    """dhcpd segfaults on these (docs/dhcpd-behaviour.md, "Requests that crash dhcpd"); we
    answer and carry on."""
    conn = authenticated()
    message = Message(Opcode.OPEN, id=12, message=(("type", b"lease"), (name, b"")))
    data = signed(message) if authenticate else encode_message(message)
    events = feed(conn, data + captures.LOOKUP)
    assert len(events) == 2
    first, second = events
    assert isinstance(first, SendData)
    result, text, rid, is_signed = status_of(first.data)
    assert (result, rid, is_signed) == (ResultCode.INVALIDARG, 12, authenticate)
    assert text is not None
    assert name in text
    assert isinstance(second, RequestReceived)


def test_oversize_message_closes_before_buffering() -> None:
    conn = started(require_auth=False, max_message_size=1000)
    header = encode_body(Message(Opcode.OPEN, id=1), 0, 0)[:24]
    announce = b"\x00\x04name" + int32(0xFFFFFFF0)
    (event,) = feed(conn, header + announce)
    assert isinstance(event, CloseConnection)
    assert "limit" in event.reason


def test_notify_is_a_request() -> None:
    conn = authenticated()
    (event,) = feed(conn, signed(Message(Opcode.NOTIFY, id=2)))
    assert isinstance(event, RequestReceived)


def test_reply_ids_count_up_from_first_id() -> None:
    conn = authenticated(first_id=41)
    (event,) = feed(conn, captures.LOOKUP)
    assert isinstance(event, RequestReceived)
    for expected in (42, 43):
        data = conn.send_reply(event, status_message(0))
        assert decode(data).id == expected


def test_last_value_and_collapse() -> None:
    values = (("type", b"foo"), ("x", b"1"), ("type", b"lease"), ("x", b""))
    assert last_value(values, "type") == b"lease"
    assert last_value(values, "x") is None
    assert last_value(values, "missing") is None
    assert collapse_values(values) == {"type": b"lease", "x": None}
    assert list(collapse_values(values)) == ["type", "x"]


# ---------------------------------------------------------------- dispatcher


class Box:
    def __init__(self, name: bytes | None = None) -> None:
        self.name = name
        self.color: bytes | None = None
        self.log: list[str] = []


class BoxType(ObjectType[Box]):
    """A small test type: lookup by name, create needs a name, ``color`` is settable."""

    name = "box"

    def __init__(self) -> None:
        self.boxes: dict[bytes, Box] = {b"one": Box(b"one")}

    def lookup(self, keys: Mapping[str, bytes]) -> Box | None:
        if "bad" in keys:
            raise StatusError(ResultCode.KEYCONFLICT)
        if "name" not in keys:
            raise StatusError(ResultCode.NOKEYS)
        return self.boxes.get(keys["name"])

    def create(self) -> Box:
        return Box()

    def set_value(self, obj: Box, name: str, value: bytes | None) -> None:
        obj.log.append(name)
        if name == "name":
            if obj.name is not None:
                raise StatusError(ResultCode.EXISTS)
            obj.name = value
        elif name == "color":
            obj.color = value
        elif name == "same":
            raise StatusError(ResultCode.UNCHANGED)
        elif name != "remote-handle":
            raise StatusError(ResultCode.UNKNOWNATTRIBUTE)

    def updated(self, obj: Box) -> None:
        if obj.name is None:
            raise StatusError(ResultCode.INVALIDARG)
        self.boxes[obj.name] = obj

    def remove(self, obj: Box) -> None:
        if obj.name is not None:
            del self.boxes[obj.name]

    def values(self, obj: Box) -> Iterable[tuple[str, AttributeValue]]:
        out: list[tuple[str, AttributeValue]] = []
        if obj.name is not None:
            out.append(("name", obj.name))
        if obj.color is not None:
            out.append(("color", obj.color))
        return out


class AsyncBoxType(BoxType):
    """The same type with coroutine methods."""

    name = "abox"

    async def lookup(self, keys: Mapping[str, bytes]) -> Box | None:  # type: ignore[override]
        return super().lookup(keys)

    async def values(self, obj: Box) -> Iterable[tuple[str, AttributeValue]]:  # type: ignore[override]
        return [*super().values(obj), ("self", Ref(self, obj))]


class Session:
    def __init__(self) -> None:
        self.opened: list[tuple[int, Key]] = []

    def add_authenticator(self, handle: int, key: Key) -> None:
        self.opened.append((handle, key))


def open_msg(
    type_: bytes | None, obj: tuple[tuple[str, bytes], ...] = (), **flags: bool
) -> Message:
    mv: list[tuple[str, bytes]] = [] if type_ is None else [("type", type_)]
    mv += [(name, TRUE) for name, on in flags.items() if on]
    return Message(Opcode.OPEN, message=tuple(mv), object=obj)


def status(reply: Message) -> tuple[int, str | None]:
    assert reply.opcode == Opcode.STATUS, reply
    code = reply.message_value("result")
    text = reply.message_value("message")
    assert code is not None
    return int.from_bytes(code, "big"), text.decode() if text is not None else None


@pytest.fixture
def dispatcher() -> Dispatcher:
    return Dispatcher([BoxType(), AsyncBoxType()], key=KEY, known_keys=[OTHER_KEY])


async def test_authenticator_open(dispatcher: Dispatcher) -> None:
    session = Session()
    for spelling in (b"HMAC-MD5.SIG-ALG.REG.INT.", b"hmac-md5.sig-alg.reg.int."):
        reply = await dispatcher.handle(
            session,
            open_msg(b"authenticator", (("name", b"omapi_key"), ("algorithm", spelling))),
        )
        assert reply.opcode == Opcode.UPDATE
        assert reply.handle == 1
        assert reply.object == (
            ("name", b"omapi_key"),
            ("algorithm", b"hmac-md5.SIG-ALG.REG.INT."),
        )
    assert session.opened == [(1, KEY), (1, KEY)]


NO_MATCH = (23, "no object matches specification")
LONG_MD5 = b"HMAC-MD5.SIG-ALG.REG.INT."
INVALIDARG = ResultCode.INVALIDARG
CANT_UPDATE = "can't update object"


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ((("name", b"omapi_key"), ("algorithm", b"hmac-md5")), NO_MATCH),
        ((("name", b"omapi_key"), ("algorithm", LONG_MD5[:-1])), NO_MATCH),
        ((("name", b"omapi_key"),), NO_MATCH),
        ((("name", b"nope"), ("algorithm", LONG_MD5)), NO_MATCH),
        ((), (27, "can't create new object")),
        (
            (("name", b"other"), ("algorithm", LONG_MD5)),
            (ResultCode.INVALIDKEY, "can't select authenticator"),
        ),
    ],
)
async def test_authenticator_refused(
    dispatcher: Dispatcher, obj: tuple[tuple[str, bytes], ...], expected: tuple[int, str]
) -> None:
    session = Session()
    assert status(await dispatcher.handle(session, open_msg(b"authenticator", obj))) == expected
    assert session.opened == []


async def test_known_key_is_selectable_without_omapi_key() -> None:
    dispatcher = Dispatcher(key=None, known_keys=[OTHER_KEY])
    session = Session()
    obj = (("name", b"other"), ("algorithm", b"hmac-md5.SIG-ALG.REG.INT."))
    reply = await dispatcher.handle(session, open_msg(b"authenticator", obj))
    assert reply.opcode == Opcode.UPDATE
    assert session.opened == [(1, OTHER_KEY)]


async def test_authenticator_quirks(dispatcher: Dispatcher) -> None:
    session = Session()
    obj = (("name", b"omapi_key"), ("algorithm", b"hmac-md5.SIG-ALG.REG.INT."))
    assert status(
        await dispatcher.handle(session, open_msg(b"authenticator", obj, create=True))
    ) == (0, "can't update object")
    assert status(
        await dispatcher.handle(
            session, open_msg(b"authenticator", obj, create=True, exclusive=True)
        )
    ) == (18, "specified object already exists")
    await dispatcher.handle(session, open_msg(b"authenticator", obj))
    update = Message(Opcode.UPDATE, 1, object=(("name", b"x"),))
    assert status(await dispatcher.handle(session, update)) == (0, "cannot update authenticator")
    assert status(await dispatcher.handle(session, Message(Opcode.DELETE, 1))) == (
        27,
        "no remove method for object",
    )
    refresh = await dispatcher.handle(session, Message(Opcode.REFRESH, 1))
    assert refresh.opcode == Opcode.UPDATE
    assert refresh.handle == 1


@pytest.mark.parametrize("type_name", [b"box", b"abox"])
async def test_open_lifecycle(dispatcher: Dispatcher, type_name: bytes) -> None:
    session = Session()
    found = await dispatcher.handle(session, open_msg(type_name, (("name", b"one"),)))
    assert found.opcode == Opcode.UPDATE
    assert found.handle == 1
    again = await dispatcher.handle(session, open_msg(type_name, (("name", b"one"),)))
    assert again.handle == 1  # same object, same handle

    created = await dispatcher.handle(
        session, open_msg(type_name, (("name", b"two"), ("color", b"red")), create=True)
    )
    assert created.opcode == Opcode.UPDATE
    assert created.handle == 2
    assert dict(created.object)["color"] == b"red"

    upd = Message(Opcode.UPDATE, 2, object=(("color", b"blue"),))
    assert status(await dispatcher.handle(session, upd)) == (0, None)
    refreshed = await dispatcher.handle(session, Message(Opcode.REFRESH, 2))
    assert dict(refreshed.object)["color"] == b"blue"
    assert status(await dispatcher.handle(session, Message(Opcode.DELETE, 2))) == (0, None)
    # handles are never reused
    third = await dispatcher.handle(session, open_msg(type_name, (("name", b"3"),), create=True))
    assert third.handle == 3


async def test_ref_values_become_handles(dispatcher: Dispatcher) -> None:
    reply = await dispatcher.handle(Session(), open_msg(b"abox", (("name", b"one"),)))
    assert dict(reply.object)["self"] == int32(reply.handle)


def flags_msg(*flags: tuple[str, bytes]) -> Message:
    return Message(Opcode.OPEN, message=(("type", b"box"), *flags))


ONE = (("name", b"one"),)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            open_msg(b"box", ONE, create=True, exclusive=True),
            (18, "specified object already exists"),
        ),
        (open_msg(b"box", (("name", b"zzz"),)), NO_MATCH),
        (open_msg(b"box", (("bad", b"1"),)), (ResultCode.KEYCONFLICT, "object lookup failed")),
        (open_msg(None, create=True), (INVALIDARG, "type required on create")),
        (open_msg(b"Box", ONE), (23, "no matching handle")),
        (open_msg(None), (23, "no matching handle")),
        (open_msg(b"box", ONE, update=True), (18, CANT_UPDATE)),
        (
            open_msg(b"box", (("name", b"n"), ("junk", b"1")), create=True),
            (ResultCode.UNKNOWNATTRIBUTE, CANT_UPDATE),
        ),
        (open_msg(b"box", (), create=True), (INVALIDARG, CANT_UPDATE)),
        (open_msg(b"box", (("color", b"x"),), create=True), (INVALIDARG, CANT_UPDATE)),
        (flags_msg(("create", b"\x01")), (INVALIDARG, "invalid create flag value")),
        (flags_msg(("update", b"\x00" * 3)), (INVALIDARG, "invalid update flag value")),
        (
            flags_msg(("exclusive", b""), ("exclusive", b"12345")),
            (INVALIDARG, "invalid exclusive flag value"),
        ),
        (Message(Opcode.REFRESH, 99), (23, "no matching handle")),
        (Message(Opcode.UPDATE, 99, object=(("color", b"x"),)), (23, "no matching handle")),
        (Message(Opcode.DELETE, 99), (23, "no matching handle")),
        (Message(Opcode.NOTIFY), (27, "notify not implemented yet")),
    ],
)
async def test_open_errors(
    dispatcher: Dispatcher, message: Message, expected: tuple[int, str | None]
) -> None:
    assert status(await dispatcher.handle(Session(), message)) == expected


async def test_nokeys_hands_out_a_blank_object(dispatcher: Dispatcher) -> None:
    reply = await dispatcher.handle(Session(), open_msg(b"box", (("color", b"x"),)))
    assert reply.opcode == Opcode.UPDATE
    assert reply.object == ()


async def test_values_are_applied_in_order_with_remote_handle_last(dispatcher: Dispatcher) -> None:
    box_type = dispatcher.types[b"box"]
    assert isinstance(box_type, BoxType)
    reply = await dispatcher.handle(Session(), open_msg(b"box", (("name", b"one"),)))
    box = box_type.boxes[b"one"]
    message = Message(
        Opcode.UPDATE, reply.handle, object=(("color", b"1"), ("same", b"x"), ("color", b"2"))
    )
    assert status(await dispatcher.handle(Session(), message)) == (0, None)
    assert box.log == ["color", "same", "remote-handle"]  # repeated name: first place, last value
    assert box.color == b"2"


async def test_a_type_without_remove(dispatcher: Dispatcher) -> None:
    class Plain(ObjectType[Box]):
        name = "plain"

        def lookup(self, keys: Mapping[str, bytes]) -> Box:
            return Box(b"p")

    dispatcher.register(Plain())
    reply = await dispatcher.handle(Session(), open_msg(b"plain", (("x", b"1"),)))
    delete = Message(Opcode.DELETE, reply.handle)
    assert status(await dispatcher.handle(Session(), delete)) == (27, "no remove method for object")
    upd = Message(Opcode.UPDATE, reply.handle, object=(("x", b"1"),))
    assert status(await dispatcher.handle(Session(), upd)) == (
        ResultCode.UNKNOWNATTRIBUTE,
        "can't update object",
    )


async def test_unsearchable_type(dispatcher: Dispatcher) -> None:
    class Hidden(ObjectType[Box]):
        name = "hidden"
        searchable = False

    dispatcher.register(Hidden())
    reply = await dispatcher.handle(Session(), open_msg(b"hidden", (("x", b"1"),)))
    assert status(reply) == (27, "unsearchable object type")


def test_handle_table() -> None:
    table = HandleTable(limit=2)
    box_type = BoxType()
    a, b, c = Box(), Box(), Box()
    assert table.handle_of(box_type, a) == 1
    assert table.handle_of(box_type, b) == 2
    assert table.handle_of(box_type, a) == 1
    assert table.get(2) == (box_type, b)
    assert table.get(0) is None
    assert table.get(3) is None
    with pytest.raises(StatusError) as info:
        table.handle_of(box_type, c)
    assert info.value.code == ResultCode.NOMEMORY
    table.forget(b)
    assert table.get(2) is None
    assert len(table) == 2


async def test_handle_limit_answers_nomemory() -> None:
    dispatcher = Dispatcher([BoxType()], max_handles=1)
    session = Session()
    assert (await dispatcher.handle(session, open_msg(b"box", (("name", b"one"),)))).handle == 1
    reply = await dispatcher.handle(session, open_msg(b"box", (("x", b"1"),)))
    assert status(reply) == (ResultCode.NOMEMORY, None)


def test_register_needs_a_name() -> None:
    with pytest.raises(ValueError, match="no type name"):
        Dispatcher([ObjectType()])
