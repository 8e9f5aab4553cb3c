"""The client face of the sans-IO OMAPI connection: requests in, bytes out; bytes in, replies out.

Theory of operation
-------------------
:class:`ClientProtocol` is :class:`~aiomapi._sansio.connection.OmapiConnection` in the client
role: the startup exchange, framing, signatures, ids and the end of the connection are the
core's (see its module doc for the state table). What is the client's own:

1. :meth:`ClientProtocol.initiate` sends, with a key, the authenticator OPEN right behind the
   startup message (dhcpd reads them in order, so there is no need to wait); the UPDATE that
   answers it names the handle every later message is signed with;
2. :meth:`ClientProtocol.can_send` asks the in-flight budget before
   :meth:`ClientProtocol.send_request`, which returns the request id and the bytes to write
   in one ``write()`` (see docs/pipelining.md);
3. every reply is framed, authenticated on its raw bytes, decoded, matched to its request by
   ``rid`` and judged (opcode *and* result code) into a
   :class:`~aiomapi._sansio.events.ReplyReceived`.

A reply to an unknown ``rid`` is a protocol error and ends the connection. A request whose
awaiter gave up stays pending here until its reply arrives, so the stream never desyncs;
the driver just drops that event.

Replies to signed requests must be signed with our key. dhcpd sends unsigned replies only
for failures (a signature it could not verify, a request it saw as unauthenticated), so an
unsigned STATUS with a failure code is accepted as that failure; any other unsigned reply
to a signed request is an :class:`~aiomapi.errors.AuthenticationError`
(docs/dhcpd-behaviour.md, "Authentication").
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import Final

from aiomapi._sansio import safety
from aiomapi._sansio.auth import Key
from aiomapi._sansio.budget import OBJECT_REPLIES, InflightBudget, reply_bound
from aiomapi._sansio.connection import OmapiConnection, Role, State, Step
from aiomapi._sansio.events import (
    ClientEvent,
    ConnectionEnded,
    Decoded,
    HandshakeComplete,
    PipeliningStopped,
    ReplyReceived,
)
from aiomapi._sansio.wire import (
    DEFAULT_MAX_MESSAGE_SIZE,
    STARTUP_BYTES,
    Frame,
    Message,
    Opcode,
    Values,
    decode_frame,
    find_value,
    status_result,
)
from aiomapi.errors import (
    AuthenticationError,
    HandshakeError,
    LocalProtocolError,
    OmapiError,
    ProtocolError,
    RejectedWithSuccessCode,
    RemoteProtocolError,
    ServerError,
    error_for_status,
)

__all__ = [
    "ClientProtocol",
    "ConnectionEnded",
    "ConnectionFailed",
    "Event",
    "HandshakeComplete",
    "PipeliningStopped",
    "ReplyReceived",
    "Request",
    "State",
]

#: The events of the client role (:mod:`aiomapi._sansio.events`).
Event = ClientEvent
#: The name this event had before both roles shared one (see :mod:`aiomapi._sansio.events`).
ConnectionFailed = ConnectionEnded


class Request:
    """A request to send (immutable once made).

    Attributes:
        opcode: OPEN, REFRESH, UPDATE or DELETE.
        handle: the object handle (REFRESH/UPDATE/DELETE) or 0.
        message: message values (``type``, ``create``, ``exclusive``, ``update`` …).
        object: object values (lookup keys or attributes to set).
        object_type: the object's type if known; used for safety checks and to bound the
            reply's size. For OPEN it defaults to the ``type`` message value.
        decode_reply: makes the result of an object reply straight from its frame (already
            authenticated and judged an object), instead of the reply's Message being
            decoded: the :class:`~aiomapi._sansio.events.Decoded` of the reply is what it
            returns, or the OmapiError it raises. ``None``: the Message. A failure status
            is a ServerError either way.

    A plain class rather than a frozen dataclass: one is made per request, and a
    dataclass's generated ``__init__`` runs as Python even where this module is compiled
    (about 0.35 µs against 0.03). Compiled, its ``Final`` attributes are read-only.
    """

    __slots__ = ("decode_reply", "handle", "message", "object", "object_type", "opcode")

    def __init__(
        self,
        opcode: Opcode,
        handle: int = 0,
        message: Values = (),
        object: Values = (),
        object_type: str | None = None,
        decode_reply: Callable[[Frame], object] | None = None,
    ) -> None:
        self.opcode: Final = opcode
        self.handle: Final = handle
        self.message: Final = message
        self.object: Final = object
        self.object_type: Final = object_type
        self.decode_reply: Final = decode_reply

    def _fields(
        self,
    ) -> tuple[Opcode, int, Values, Values, str | None, Callable[[Frame], object] | None]:
        return (
            self.opcode,
            self.handle,
            self.message,
            self.object,
            self.object_type,
            self.decode_reply,
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not Request:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"Request(opcode={self.opcode!r}, handle={self.handle!r}, message={self.message!r}, "
            f"object={self.object!r}, object_type={self.object_type!r}"
            + (f", decode_reply={self.decode_reply!r})" if self.decode_reply is not None else ")")
        )

    @property
    def expects_object(self) -> bool:
        return self.opcode in OBJECT_REPLIES

    @property
    def resolved_type(self) -> str | None:
        """:attr:`object_type`, or for an OPEN the ``type`` dhcpd will read from it."""
        object_type = self.object_type
        if object_type is None and self.opcode is _OPEN:
            raw_type = find_value(self.message, "type")
            return raw_type.decode("latin-1") if raw_type is not None else None
        return object_type

    @property
    def reply_bound(self) -> float:
        """Upper bound of the reply's size in bytes (``math.inf`` if it has none)."""
        object_type = self.object_type  # known on the hot path: skip resolving it
        if object_type is None:
            object_type = self.resolved_type
        return _reply_bound(self.opcode, object_type)


_reply_bound = functools.lru_cache(maxsize=256)(reply_bound)

# Enum members the per-request path reads, bound once: compiled with mypyc (docs/speedups.md),
# ``Opcode.OPEN`` is a lookup through the enum's metaclass (about 70 ns); a module Final is not.
_OPEN: Final = Opcode.OPEN
_STATUS: Final = Opcode.STATUS
_UPDATE: Final = Opcode.UPDATE
_READY: Final = State.READY
#: Makes a Message from its six fields without the named tuple's interpreted ``__new__``.
_new_tuple: Final = tuple.__new__
#: A reply's opcode and ``rid`` from its header (after ``authid`` and ``authlen``).
_OPCODE_AND_RID: Final = struct.Struct(">I8xI")


# ---------------------------------------------------------------- the connection


class ClientProtocol(OmapiConnection[ClientEvent]):
    """The client side of one OMAPI connection (see the module doc).

    Args:
        key: the key to open as our authenticator; ``None`` sends unsigned messages.
        max_message_size: the largest reply accepted, header to signature.
        budget: the in-flight budget; the default keeps dhcpd 4.4.3 alive.
        first_id: the id before our first message; random by default.
    """

    def __init__(
        self,
        key: Key | None = None,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        budget: InflightBudget | None = None,
        first_id: int | None = None,
    ) -> None:
        super().__init__(Role.CLIENT, max_message_size=max_message_size, first_id=first_id)
        self.key = key
        #: the handle of our authenticator once the server opened it; 0 until then
        self.authid = 0
        self.budget = budget if budget is not None else InflightBudget()
        self._auth_id: int | None = None

    def __repr__(self) -> str:
        return f"<ClientProtocol {self.state.value} key={self.key!r} pending={len(self._pending)}>"

    @property
    def pending(self) -> int:
        """Requests sent and not yet answered (including abandoned ones)."""
        return len(self._pending)

    # ------------------------------------------------------------ outgoing

    def initiate(self) -> bytes:
        """The bytes to send as soon as the connection is up."""
        if self.key is None:
            return STARTUP_BYTES
        self._auth_id = self._allocate_id()
        auth = Message(
            Opcode.OPEN,
            id=self._auth_id,
            message=(("type", b"authenticator"),),
            object=(
                ("name", self.key.name.encode()),
                ("algorithm", self.key.wire_algorithm.encode()),
            ),
        )
        return STARTUP_BYTES + self._encode(auth, 0)

    def can_send(self, request_size: int) -> bool:
        """Whether a request of ``request_size`` bytes fits the in-flight budget now."""
        return self.state is _READY and self.budget.fits(request_size)

    def encode_request(self, request: Request) -> tuple[int, bytes]:
        """Check, number and sign ``request`` without sending it.

        Raises:
            LocalProtocolError: the request is malformed or could harm dhcpd.
        """
        safety.check_request(request.opcode, request.message, request.object, request.resolved_type)
        request_id = self._allocate_id()
        fields = (request.opcode, request.handle, request_id, 0, request.message, request.object)
        message: Message = _new_tuple(Message, fields)
        return request_id, self._encode(message, self.authid)

    def send_request(self, request: Request) -> tuple[int, bytes]:
        """Register ``request`` as sent; returns its id and the bytes to write at once.

        Raises:
            LocalProtocolError: the connection is not ready, or the request is refused.
        """
        if self.state is not _READY:
            raise LocalProtocolError(f"cannot send a request in state {self.state.value}")
        request_id, data = self.encode_request(request)
        self.commit(request_id, data, request)
        return request_id, data

    def commit(self, request_id: int, data: bytes, request: Request) -> None:
        """Record that ``data`` (from :meth:`encode_request`) is being written."""
        if self.state is not _READY:
            raise LocalProtocolError(f"cannot send a request in state {self.state.value}")
        self.budget.add(request_id, len(data), request.reply_bound)
        self._pending[request_id] = request

    # ------------------------------------------------------------ incoming

    def _started(self, events: list[ClientEvent]) -> None:
        if self.key is None:
            self._step(Step.STARTED)
            events.append(HandshakeComplete(0))
        else:
            self._step(Step.STARTED_KEYED)

    def _on_auth_reply(self, frame: Frame, events: list[ClientEvent]) -> None:
        if frame.authid != 0 or frame.signature:
            raise RemoteProtocolError("the authenticator reply must be unsigned")
        message = decode_frame(frame)
        if message.rid != self._auth_id:
            raise RemoteProtocolError(f"reply to unknown request id {message.rid} during handshake")
        assert self.key is not None
        if message.opcode == Opcode.STATUS:
            code, text = status_result(message)
            raise _HandshakeFailedError(
                HandshakeError(
                    code,
                    f"server refused {self.key.label}" + (f": {text}" if text else ""),
                )
            )
        if message.opcode != Opcode.UPDATE or message.handle == 0:
            raise RemoteProtocolError(
                f"unexpected authenticator reply (opcode {message.opcode}, handle {message.handle})"
            )
        self.authid = message.handle
        self._signers[self.authid] = self.key.signer()
        self._step(Step.AUTHENTICATED)
        events.append(HandshakeComplete(self.authid))

    def _on_reply(self, frame: Frame, events: list[ClientEvent]) -> None:
        signer = self._signer_of(frame)
        if signer is not None:
            self._verify(signer, frame)
        elif frame.signed_end != len(frame.data):
            authlen = len(frame.data) - frame.signed_end
            raise RemoteProtocolError(f"unsigned message carries a {authlen}-byte signature")
        opcode, rid = _OPCODE_AND_RID.unpack_from(frame.data, 8)
        request = self._pending.pop(rid, None)
        if request is None:
            raise RemoteProtocolError(f"reply to unknown request id {rid}")
        exceeded = self.budget.complete(rid, len(frame.data))
        if exceeded is not None:
            events.append(
                PipeliningStopped(
                    f"a {len(frame.data)}-byte reply to {request.opcode.name} exceeded the "
                    f"{exceeded:.0f}-byte bound the in-flight budget assumed; this "
                    "connection now sends one request at a time"
                )
            )
        signed = signer is not None
        decode = request.decode_reply
        result: Message | ServerError | Decoded
        if decode is not None and opcode == _UPDATE:
            self._check_object(request, signed)
            try:
                result = Decoded(decode(frame))
            except OmapiError as exc:  # this request's error, not the connection's
                result = Decoded(exc)
        else:
            result = self._judge(request, decode_frame(frame), signed)
        events.append(ReplyReceived(rid, result))

    def _judge(self, request: Request, message: Message, signed: bool) -> Message | ServerError:
        if message.opcode == _STATUS:
            code, text = status_result(message)
            if self.key is not None and not signed and code == 0:
                raise AuthenticationError("unsigned success status in answer to a signed request")
            if code != 0:
                return error_for_status(code, text)
            if text or request.expects_object:
                return RejectedWithSuccessCode(0, text or "status 0 instead of an object")
            return message
        if message.opcode != _UPDATE:
            raise RemoteProtocolError(f"server sent opcode {message.opcode} as a reply")
        self._check_object(request, signed)
        return message

    def _check_object(self, request: Request, signed: bool) -> None:
        """An object reply is an answer to this request only if it asked for an object and,
        with a key, the reply is signed."""
        if not request.expects_object:
            raise RemoteProtocolError(f"server answered {request.opcode.name} with an object")
        if self.key is not None and not signed:
            raise AuthenticationError("unsigned object in answer to a signed request")

    def _end(self, error: OmapiError) -> ConnectionEnded:
        if isinstance(error, _HandshakeFailedError):
            error = error.error
        ended = super()._end(error)
        self.budget = InflightBudget(self.budget.request_limit, self.budget.reply_limit)
        return ended

    def _handshake_done(self) -> bool:
        return self.key is None or self.authid != 0


class _HandshakeFailedError(ProtocolError):
    """Carries a :class:`HandshakeError` out of the frame loop."""

    def __init__(self, error: HandshakeError) -> None:
        super().__init__(str(error))
        self.error = error
