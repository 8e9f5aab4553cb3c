"""The OMAPI wire format.

Theory of operation
-------------------
A connection starts with an 8-byte startup message from each side (protocol version 100,
header size 24). After that, every message is::

    authid  authlen  op  handle  id  rid      six uint32, big-endian (24 bytes)
    message-value list                         name/value entries, then uint16 0
    object-value list                          name/value entries, then uint16 0
    signature                                  authlen bytes

An entry is ``uint16 name_len, name, uint32 value_len, value``; ``value_len == 0`` is a null
value. The signature covers bytes 4 up to the end of the object list (docs/dhcpd-behaviour.md,
"Wire format").

The ``construct`` declarations below (:data:`STARTUP`, :data:`MESSAGE`) are the single
normative definition of that format. The rest of the module is the hot path: a framer that
finds message boundaries without decoding anything (so that the signature can be checked on
the raw bytes before parsing), and a hand-written encoder/decoder that the test-suite proves
byte-identical to the declarations, including which inputs they reject.

That hot path exists twice. The Python here is the reference; ``_speedups.pyx`` beside it is
the same framer, decoder and encoder compiled (docs/speedups.md). :data:`Framer`,
:func:`decode_frame` and :func:`encode_body` are whichever :mod:`aiomapi._speedups` chose;
:class:`PureFramer`, :func:`pure_decode_frame` and :func:`pure_encode_body` are always the
Python ones, which the compiled code hands every unusual input to.

Reading a value list
--------------------
A list may name a value twice, and a value may be null. There is one rule for what such a
list says, dhcpd's, and one function for it, :func:`find_value` (with :func:`collapse_values`
for a whole list): **the last value of a name wins, and a null value reads as absent.**
dhcpd reads every list it receives into a generic object, whose ``set_value`` overwrites an
earlier value of the same name in place and whose ``get_value`` answers "not found" for a
null one; a message's own values (``type``, ``create``, ``result``…) go to the same kind of
object, so dhcpd's client library reads a reply's ``result`` the same way
(docs/dhcpd-behaviour.md, "Messages and replies"). Both roles use the rule: the server to
read requests as dhcpd would, the client to read statuses and to know which ``type`` dhcpd
will see in its own requests.

One reader keeps the *first* value instead, on purpose: the client's view of an object in a
reply (:class:`aiomapi.client.OmapiObject`, with later duplicates in its ``repeated``).
dhcpd writes a lease's own fields before its binding variables, so when a binding variable
is named like a field (``tstp`` set over OMAPI), the first value is the field and the last
is the variable; dhcpd's own client library shows the variable there (docs/dhcpd-behaviour.md,
"Objects").
"""

from __future__ import annotations

import enum
import struct
import sys
from itertools import repeat
from typing import TYPE_CHECKING, NamedTuple, NoReturn

from construct import (
    Bytes,
    ConstructError,
    GreedyBytes,
    If,
    Int16ub,
    Int32ub,
    Prefixed,
    RepeatUntil,
    Struct,
    Terminated,
    this,
)

from aiomapi import _speedups
from aiomapi.errors import LocalProtocolError, RemoteProtocolError
from aiomapi.facts import HEADER_SIZE as HEADER_SIZE
from aiomapi.facts import PROTOCOL_VERSION as PROTOCOL_VERSION

#: Largest header size a peer may announce in its startup message. dhcpd, omshell and
#: pypureomapi all announce 24; dhcpd accepts any larger size and skips the surplus
#: (docs/dhcpd-behaviour.md, "Wire format"), so some room is kept for a peer that pads its
#: header. The cap matters because a receiver must hold a whole header before it can check
#: any length in it: a startup announcing 2**32-1 would make it buffer everything the peer
#: sends. 256 is ten times the real header and costs nothing.
MAX_HEADER_SIZE = 256
UINT32_MAX = 0xFFFFFFFF
#: Longest name the 16-bit name length allows.
MAX_NAME_LENGTH = 0xFFFF
#: Default bound on one message, header to signature. dhcpd has none but allocates every
#: announced value up front (docs/dhcpd-behaviour.md, "Server behaviour and limits"); its
#: largest replies (hosts with statements, leases with many binding variables) are a few
#: KiB, so 256 KiB leaves a wide margin while keeping a hostile peer from making us buffer
#: without bound.
DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024
#: Most name/value entries in one message, both lists together, at the default message size;
#: a larger ``max_message_size`` allows one entry per 256 bytes of it. The framer records
#: where each entry lies (a tuple of three offsets, about 150 bytes of Python objects against
#: at least 7 bytes on the wire), so without a cap a message of tiny entries held 20 times
#: its size; with it the records cost less than the message bytes. dhcpd's objects carry a
#: few dozen values (a lease reply has 14 plus one per binding variable).
MAX_ENTRIES = 1024
_BYTES_PER_ENTRY = 256


class Opcode(enum.IntEnum):
    """OMAPI opcodes (docs/dhcpd-behaviour.md, "Messages and replies")."""

    OPEN = 1
    REFRESH = 2
    UPDATE = 3
    NOTIFY = 4
    STATUS = 5
    DELETE = 6


# --------------------------------------------------------------------- declarations

#: The startup message both sides send first.
STARTUP = Struct(
    "version" / Int32ub,
    "header_size" / Int32ub,
)

#: One name/value entry; an empty name terminates a list and carries no value.
ENTRY = Struct(
    "name" / Prefixed(Int16ub, GreedyBytes),
    "value" / If(this.name != b"", Prefixed(Int32ub, GreedyBytes)),
)

#: A name/value list: entries up to and including the zero-length-name terminator.
VALUE_LIST = RepeatUntil(lambda entry, _lst, _ctx: entry["name"] == b"", ENTRY)

#: The 24-byte message header, in wire order (authid first; docs/dhcpd-behaviour.md,
#: "Wire format").
HEADER = Struct(
    "authid" / Int32ub,
    "authlen" / Int32ub,
    "opcode" / Int32ub,
    "handle" / Int32ub,
    "id" / Int32ub,
    "rid" / Int32ub,
)

#: A whole message with a 24-byte header.
MESSAGE = Struct(
    "header" / HEADER,
    "message" / VALUE_LIST,
    "object" / VALUE_LIST,
    "signature" / Bytes(this.header.authlen),
    Terminated,
)

#: The startup message aiomapi sends and expects.
STARTUP_BYTES: bytes = STARTUP.build({"version": PROTOCOL_VERSION, "header_size": HEADER_SIZE})

# --------------------------------------------------------------------- message model

Values = tuple[tuple[str, bytes], ...]
#: Where one name/value entry lies in a framed message: (name start, value start, value end).
Entry = tuple[int, int, int]


class Message(NamedTuple):
    """One OMAPI message, without its authentication fields (an immutable named tuple:
    thousands are made per second on the hot path).

    Names are ``str`` (decoded as Latin-1, so any byte string survives the round trip);
    values are raw bytes, where ``b""`` is the null value.
    """

    opcode: int
    handle: int = 0
    id: int = 0
    rid: int = 0
    message: Values = ()
    object: Values = ()

    def message_value(self, name: str) -> bytes | None:
        """The message value called ``name`` by dhcpd's rule (see :func:`find_value`)."""
        return find_value(self.message, name)


def find_value(values: Values, name: str) -> bytes | None:
    """The value of ``name`` in ``values`` as dhcpd reads it: the last one, ``None`` if the
    name is absent or its last value is null (see "Reading a value list" above)."""
    found: bytes | None = None
    for key, value in values:
        if key == name:
            found = value
    return found or None


def collapse_values(values: Values) -> dict[str, bytes | None]:
    """A whole list as dhcpd's generic object holds it: each name once, where it first
    came, with its last value; a null value is ``None`` (it means "unset" to an update)."""
    out: dict[str, bytes | None] = {}
    for name, value in values:
        out[name] = value or None
    return out


def status_message(code: int, text: str | None = None) -> Message:
    """A STATUS reply body: ``result`` and, if ``text`` is given, ``message``
    (docs/dhcpd-behaviour.md, "Result codes")."""
    values: list[tuple[str, bytes]] = [("result", code.to_bytes(4, "big"))]
    if text is not None:
        values.append(("message", text.encode()))
    return Message(Opcode.STATUS, message=tuple(values))


def status_result(message: Message) -> tuple[int, str]:
    """The ``(code, text)`` of a STATUS message; the text is ``""`` when there is none.

    Raises:
        RemoteProtocolError: ``result`` is missing or not four bytes.
    """
    raw = find_value(message.message, "result")
    if raw is None or len(raw) != 4:
        raise RemoteProtocolError("status reply without a 4-byte result")
    text = find_value(message.message, "message") or b""
    return int.from_bytes(raw, "big"), text.decode("utf-8", "replace")


class Frame(NamedTuple):
    """One complete message as it came off the wire, not yet authenticated or decoded.

    Attributes:
        data: the whole message, header to signature, with the header cut to 24 bytes.
        authid: the authenticator handle from the header.
        signed_end: offset just past the object list; the signature covers
            ``data[4:signed_end]`` and is ``data[signed_end:]``.
        entries: where the framer found each entry while it walked the lists to find the
            message's end: ``(name start, value start, value end)`` per entry, ``None``
            at the end of each list. :func:`pure_decode_frame` slices ``data`` with them.
            The compiled framer leaves it empty: its decoder walks ``data`` again.
    """

    data: bytes
    authid: int
    signed_end: int
    entries: list[Entry | None]

    @property
    def signed_region(self) -> bytes:
        return self.data[4 : self.signed_end]

    @property
    def signature(self) -> bytes:
        return self.data[self.signed_end :]


# --------------------------------------------------------------------- fast encoder

_HEADER = struct.Struct(">6I")
_HEADER_TAIL = struct.Struct(">4I")  # opcode, handle, id, rid
#: Builds a named tuple from a tuple of all its fields, skipping the generated ``__new__``
#: (half the cost; the hot path makes one Frame and one Message per reply).
_new_tuple = tuple.__new__
#: Unconsumed bytes up to this size are copied into a new ``bytes`` with each read (see
#: :meth:`Framer.feed`); more than this, and the framer grows a ``bytearray`` instead.
_SMALL_REST = 4096
_STARTUP = struct.Struct(">2I")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_TERMINATOR = b"\x00\x00"


def _encode_list(out: list[bytes], values: Values) -> None:
    for name, value in values:
        raw_name = name.encode("latin-1")
        if not raw_name:
            raise LocalProtocolError("an empty name cannot be sent: it ends the list")
        if len(raw_name) > MAX_NAME_LENGTH:
            raise LocalProtocolError(f"name {name[:40]!r}… is longer than 65535 bytes")
        if len(value) > UINT32_MAX:
            raise LocalProtocolError(f"value of {name!r} is longer than 2**32-1 bytes")
        out.append(_U16.pack(len(raw_name)))
        out.append(raw_name)
        out.append(_U32.pack(len(value)))
        out.append(value)
    out.append(_TERMINATOR)


def pure_encode_body(message: Message, authid: int, authlen: int) -> bytes:
    """Encode ``message`` up to the end of its object list (no signature).

    Raises:
        LocalProtocolError: a field is out of range or a name is empty or too long.
    """
    fields = (authid, authlen, message.opcode, message.handle, message.id, message.rid)
    if any(not 0 <= f <= UINT32_MAX for f in fields):
        raise LocalProtocolError(f"header field out of uint32 range: {fields}")
    out = [_HEADER.pack(*fields)]
    _encode_list(out, message.message)
    _encode_list(out, message.object)
    return b"".join(out)


def encode_message(message: Message, authid: int = 0, signature: bytes = b"") -> bytes:
    """Encode a whole message with an already computed ``signature`` (or none)."""
    return encode_body(message, authid, len(signature)) + signature


def encode_startup(version: int = PROTOCOL_VERSION, header_size: int = HEADER_SIZE) -> bytes:
    """Encode a startup message."""
    return _STARTUP.pack(version, header_size)


def decode_startup(data: bytes) -> tuple[int, int]:
    """Decode an 8-byte startup message into ``(version, header_size)``."""
    if len(data) != 8:
        raise RemoteProtocolError(f"startup message must be 8 bytes, got {len(data)}")
    version, header_size = _STARTUP.unpack(data)
    return version, header_size


# --------------------------------------------------------------------- framer


class PureFramer:
    """Finds complete messages in a byte stream without decoding them.

    Feed bytes with :meth:`feed`; :meth:`next_frame` returns the next complete
    :class:`Frame` or ``None``. Work is proportional to the bytes fed: a partly scanned
    message resumes where the scan stopped, and consumed bytes are dropped in one slice per
    call, never one per message. The walk over the entries, the only way to find where a
    message ends, records where each entry lies, so that :func:`decode_frame` only slices.

    ``header_size`` is the peer's announced header size, :data:`HEADER_SIZE` to
    :data:`MAX_HEADER_SIZE`; bytes past the first 24 are discarded (dhcpd does the same; they
    are not covered by the signature).

    Memory is bounded whatever the peer sends. Each announced length (name, value,
    signature) is checked against ``max_message_size`` as soon as it is readable, before
    its bytes are waited for, so while it waits the framer holds at most
    ``max(max_message_size, header_size - 1)`` bytes and :attr:`max_entries` entry records;
    one :meth:`feed` adds the chunk fed until :meth:`next_frame` has taken it apart.

    Raises:
        RemoteProtocolError: (from :meth:`next_frame`) a message is larger than
            ``max_message_size`` or has more than :attr:`max_entries` entries. The framer
            then drops what it holds; the stream cannot be resynchronised, so it must not be
            fed again.
    """

    __slots__ = ("_buf", "_entries", "_hs", "_list", "_max", "_pos", "_records", "_scan")

    def __init__(
        self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE, header_size: int = HEADER_SIZE
    ) -> None:
        self._buf: bytes | bytearray = b""
        self._pos = 0  # start of the message being scanned
        self._scan = 0  # offset (from _pos) of the next entry to read; 0 = header not seen
        self._list = 0  # how many lists have been fully scanned (0, 1 or 2)
        self._entries: list[Entry | None] = []  # entries of the message being scanned
        self._max = max_message_size
        # entry records a message may need: its entries plus the two list ends (None)
        self._records = max(MAX_ENTRIES, max_message_size // _BYTES_PER_ENTRY) + 2
        self.header_size = header_size

    @property
    def header_size(self) -> int:
        """The peer's header size; set it from the peer's startup message.

        Raises:
            ValueError: (on assignment) the size is below :data:`HEADER_SIZE` or above
                :data:`MAX_HEADER_SIZE`. A protocol turns this into its own error.
        """
        return self._hs

    @header_size.setter
    def header_size(self, size: int) -> None:
        if size < HEADER_SIZE:
            raise ValueError(f"header size {size} is below {HEADER_SIZE}")
        if size > MAX_HEADER_SIZE:
            raise ValueError(f"header size {size} is above the maximum of {MAX_HEADER_SIZE}")
        self._hs = size

    @property
    def max_entries(self) -> int:
        """Most name/value entries accepted in one message (see :data:`MAX_ENTRIES`)."""
        return self._records - 2

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned in a frame."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> None:
        """Add received bytes."""
        buf, pos = self._buf, self._pos
        rest = len(buf) - pos
        if rest <= _SMALL_REST:
            # Usual case: the bytes read, after at most the start of one message. Kept as
            # immutable bytes, so that frames are cut from them with a single copy.
            self._buf = bytes(data) if not rest else bytes(buf[pos:]) + data
            self._pos = 0
            return
        if isinstance(buf, bytes):  # a large message in pieces: grow a bytearray instead
            buf = self._buf = bytearray(buf[pos:])
            pos = self._pos = 0
        elif pos > 65536 and pos * 2 > len(buf):
            del buf[:pos]  # compact rarely: amortised O(bytes)
            self._pos = 0
        buf += data

    def next_frame(self) -> Frame | None:
        """The next complete message, or ``None`` until more bytes arrive."""
        # Scan state lives in locals and is saved only when the message is incomplete. The
        # walk uses absolute offsets in the buffer; `scan` is saved relative to the message.
        buf, pos, hs = self._buf, self._pos, self._hs
        end = len(buf)
        avail = end - pos
        scan, lists = self._scan, self._list
        if scan == 0:
            if avail < hs:
                return None
            scan = hs
        u16, u32 = _U16.unpack_from, _U32.unpack_from
        entries = self._entries
        record = entries.append
        to_frame = HEADER_SIZE - hs - pos  # buffer offset -> offset in the frame's data
        bound = pos + self._max  # an entry must end by here to be accepted now
        if bound > end:
            bound = end
        at = pos + scan
        try:
            if lists < 2:
                # At most the records left for this message: an endless list of tiny entries
                # is refused here, not recorded at 20 times its size. `repeat` makes the cap
                # free (it costs no more per entry than testing `lists` did; measured).
                for _ in repeat(None, self._records - len(entries)):
                    (name_len,) = u16(buf, at)
                    if name_len == 0:
                        at += 2
                        lists += 1
                        record(None)
                        if lists == 2:
                            break
                        continue
                    value = at + 6 + name_len
                    (value_len,) = u32(buf, value - 4)
                    entry_end = value + value_len
                    if entry_end > bound:  # too big, or not all here yet
                        return self._incomplete(at - pos, lists, max(avail, entry_end - pos))
                    record((at + 2 + to_frame, value + to_frame, entry_end + to_frame))
                    at = entry_end
                else:
                    self._refuse(f"message with more than the limit of {self.max_entries} entries")
        except struct.error:  # the bytes end inside a length field: wait for more
            known = at - pos + 6 + u16(buf, at)[0] if end >= at + 2 else 0
            return self._incomplete(at - pos, lists, max(avail, known))
        scan = at - pos
        (authlen,) = u32(buf, pos + 4)
        total = scan + authlen
        if total > self._max:
            self._check_size(total)
        if avail < total:
            return self._incomplete(scan, lists, avail)
        signed_end = scan - (hs - HEADER_SIZE)
        if hs == HEADER_SIZE:
            data = buf[pos : pos + total]
        else:
            data = buf[pos : pos + HEADER_SIZE] + buf[pos + hs : pos + total]
        if not isinstance(data, bytes):
            data = bytes(data)
        (authid,) = u32(data, 0)
        self._pos = pos + total
        self._scan = self._list = 0
        self._entries = []
        return _new_tuple(Frame, (data, authid, signed_end, entries))

    def _incomplete(self, scan: int, lists: int, need: int) -> Frame | None:
        """Save the scan position of a partly received message and check its known size;
        returns ``None`` (no frame yet) for :meth:`next_frame` to pass on."""
        self._scan, self._list = scan, lists
        self._check_size(need)
        return None

    def _check_size(self, size: int) -> None:
        if size > self._max:
            self._refuse(f"message larger than the {self._max}-byte limit (at least {size} bytes)")

    def _refuse(self, reason: str) -> NoReturn:
        """Drop everything held (the connection ends here) and raise."""
        self._buf, self._pos, self._scan, self._list = b"", 0, 0, 0
        self._entries = []
        raise RemoteProtocolError(reason)


# --------------------------------------------------------------------- fast decoder


def pure_decode_frame(frame: Frame) -> Message:
    """Decode the header and both lists of a framed message.

    The framer has already checked the lists and recorded where each entry lies, so this
    only slices.
    """
    data = frame.data
    opcode, handle, tid, rid = _HEADER_TAIL.unpack_from(data, 8)
    lists: list[Values] = []
    items: list[tuple[str, bytes]] = []
    append = items.append
    for entry in frame.entries:
        if entry is None:
            lists.append(tuple(items))
            items = []
            append = items.append
            continue
        name, value, value_end = entry
        append((data[name : value - 4].decode("latin-1"), data[value:value_end]))
    return _new_tuple(Message, (opcode, handle, tid, rid, lists[0], lists[1]))


def decode_message(data: bytes, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> Message:
    """Decode exactly one whole message (24-byte header) from ``data``.

    Raises:
        RemoteProtocolError: ``data`` is not exactly one well-formed message.
    """
    framer = Framer(max_message_size)
    framer.feed(data)
    frame = framer.next_frame()
    if frame is None:
        raise RemoteProtocolError(f"truncated message ({len(data)} bytes)")
    if framer.buffered:
        raise RemoteProtocolError(f"{framer.buffered} trailing bytes after the message")
    return decode_frame(frame)


# --------------------------------------------------------------------- normative path


def build_with_construct(message: Message, authid: int = 0, signature: bytes = b"") -> bytes:
    """Encode ``message`` through the normative :data:`MESSAGE` declaration."""

    def as_list(values: Values) -> list[dict[str, bytes | None]]:
        entries: list[dict[str, bytes | None]] = [
            {"name": name.encode("latin-1"), "value": value} for name, value in values
        ]
        if any(not entry["name"] for entry in entries):
            raise LocalProtocolError("an empty name cannot be sent: it ends the list")
        return [*entries, {"name": b"", "value": None}]

    try:
        return bytes(
            MESSAGE.build(
                {
                    "header": {
                        "authid": authid,
                        "authlen": len(signature),
                        "opcode": message.opcode,
                        "handle": message.handle,
                        "id": message.id,
                        "rid": message.rid,
                    },
                    "message": as_list(message.message),
                    "object": as_list(message.object),
                    "signature": signature,
                }
            )
        )
    except (ConstructError, struct.error, OverflowError) as exc:
        raise LocalProtocolError(f"cannot encode message: {exc}") from exc


def parse_with_construct(data: bytes) -> tuple[Message, int, bytes]:
    """Decode one whole message through :data:`MESSAGE`: ``(message, authid, signature)``.

    Raises:
        RemoteProtocolError: ``data`` is not exactly one well-formed message.
    """
    try:
        parsed = MESSAGE.parse(data)
    except ConstructError as exc:
        raise RemoteProtocolError(f"malformed message: {exc}") from exc

    def as_values(entries: list[object]) -> Values:
        return tuple(
            (e.name.decode("latin-1"), bytes(e.value))  # type: ignore[attr-defined]
            for e in entries[:-1]
        )

    header = parsed.header
    message = Message(
        header.opcode,
        header.handle,
        header.id,
        header.rid,
        as_values(parsed.message),
        as_values(parsed.object),
    )
    return message, header.authid, bytes(parsed.signature)


# --------------------------------------------------------------------- compiled or pure

_compiled = _speedups.compiled("aiomapi._sansio._speedups")
if TYPE_CHECKING or _compiled is None:
    Framer = PureFramer
    decode_frame = pure_decode_frame
    encode_body = pure_encode_body
else:  # the same names, compiled (docs/speedups.md); the pure ones above stay the reference
    _compiled.bind(sys.modules[__name__])
    Framer = _compiled.Framer
    decode_frame = _compiled.decode_frame
    encode_body = _compiled.encode_body
