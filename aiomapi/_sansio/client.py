"""Sans-IO OMAPI client connection: bytes in, events out; requests in, bytes out.

Theory of operation
-------------------
:class:`ClientProtocol` knows nothing of sockets or clocks. The driver

1. sends :meth:`ClientProtocol.initiate` (our startup message and, with a key, the
   authenticator OPEN — dhcpd reads them in order, so there is no need to wait),
2. feeds every received chunk to :meth:`ClientProtocol.receive_data` and acts on the events,
3. asks :meth:`ClientProtocol.can_send` before :meth:`ClientProtocol.send_request`, which
   returns the request id and the bytes to write in one ``write()``,
4. calls :meth:`ClientProtocol.connection_lost` when the stream ends.

States (one table, the only transitions there are)::

    STARTUP         --server startup ok, no key-->         READY
    STARTUP         --server startup ok, key-->            AUTHENTICATING
    AUTHENTICATING  --UPDATE answering the auth OPEN-->    READY
    any             --protocol error, EOF, close-->        CLOSED

Every reply is framed first, then authenticated on its raw bytes, then decoded, and matched
to its request by ``rid``. A reply to an unknown ``rid`` is a protocol error and closes the
connection. A request whose awaiter gave up stays pending here until its reply arrives, so
the stream never desyncs; the driver just drops that event.

Replies to signed requests must be signed with our key. dhcpd sends unsigned replies only
for failures (a signature it could not verify, a request it saw as unauthenticated), so an
unsigned STATUS with a failure code is accepted as that failure; any other unsigned reply
to a signed request is an :class:`~aiomapi.errors.AuthenticationError`.
"""

from __future__ import annotations

import enum
import functools
import os
from dataclasses import dataclass
from typing import Final

from aiomapi._sansio import safety
from aiomapi._sansio.auth import Key, Signer
from aiomapi._sansio.budget import InflightBudget, reply_bound
from aiomapi._sansio.wire import (
    DEFAULT_MAX_MESSAGE_SIZE,
    HEADER_SIZE,
    PROTOCOL_VERSION,
    STARTUP_BYTES,
    Frame,
    Framer,
    Message,
    Opcode,
    Values,
    decode_frame,
    decode_startup,
    encode_body,
)
from aiomapi.errors import (
    AuthenticationError,
    ConnectionClosed,
    HandshakeError,
    LocalProtocolError,
    OmapiError,
    ProtocolError,
    RejectedWithSuccessCode,
    RemoteProtocolError,
    ServerError,
    error_for_status,
)


class State(enum.Enum):
    STARTUP = "startup"
    AUTHENTICATING = "authenticating"
    READY = "ready"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Request:
    """A request to send.

    Attributes:
        opcode: OPEN, REFRESH, UPDATE or DELETE.
        handle: the object handle (REFRESH/UPDATE/DELETE) or 0.
        message: message values (``type``, ``create``, ``exclusive``, ``update`` …).
        object: object values (lookup keys or attributes to set).
        object_type: the object's type if known; used for safety checks and to bound the
            reply's size. For OPEN it defaults to the ``type`` message value.
    """

    opcode: Opcode
    handle: int = 0
    message: Values = ()
    object: Values = ()
    object_type: str | None = None

    @property
    def expects_object(self) -> bool:
        return self.opcode in _OBJECT_REPLIES

    @property
    def reply_bound(self) -> float:
        """Upper bound of the reply's size in bytes (``math.inf`` if it has none)."""
        object_type = self.object_type
        if object_type is None and self.opcode is Opcode.OPEN:
            raw_type = _first(self.message, "type")
            object_type = raw_type.decode("latin-1") if raw_type else None
        return _reply_bound(self.opcode, object_type)


_OBJECT_REPLIES: Final = frozenset({Opcode.OPEN, Opcode.REFRESH})
_reply_bound = functools.lru_cache(maxsize=256)(reply_bound)


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class HandshakeComplete:
    """The connection is ready; ``authid`` is 0 without a key."""

    authid: int


@dataclass(frozen=True, slots=True)
class ReplyReceived:
    """The answer to request ``request_id``: the server's message, or its failure."""

    request_id: int
    result: Message | ServerError


@dataclass(frozen=True, slots=True)
class ConnectionFailed:
    """The connection cannot continue. Every pending request has failed with ``error``."""

    error: OmapiError
    pending: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PipeliningStopped:
    """A reply exceeded the size the in-flight budget assumed for it; the connection has
    stopped pipelining (see :mod:`aiomapi._sansio.budget`). The driver should log ``reason``."""

    reason: str


Event = HandshakeComplete | ReplyReceived | PipeliningStopped | ConnectionFailed


_FRAMING_STATES = frozenset({State.AUTHENTICATING, State.READY})


# ---------------------------------------------------------------- the connection


class ClientProtocol:
    """The client side of one OMAPI connection (see module doc)."""

    def __init__(
        self,
        key: Key | None = None,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        budget: InflightBudget | None = None,
        first_id: int | None = None,
    ) -> None:
        self.key = key
        self.state = State.STARTUP
        self.authid = 0
        self.budget = budget if budget is not None else InflightBudget()
        self._signer: Signer | None = key.signer() if key else None
        self._framer = Framer(max_message_size)
        self._startup = bytearray()
        self._pending: dict[int, Request] = {}
        self._next_id = first_id if first_id is not None else int.from_bytes(os.urandom(4))
        self._auth_id: int | None = None
        self.error: OmapiError | None = None

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
        body = encode_body(auth, 0, 0)
        return STARTUP_BYTES + body

    def can_send(self, request_size: int) -> bool:
        """Whether a request of ``request_size`` bytes fits the in-flight budget now."""
        return self.state is State.READY and self.budget.fits(request_size)

    def encode_request(self, request: Request) -> tuple[int, bytes]:
        """Check, number and sign ``request`` without sending it.

        Raises:
            LocalProtocolError: the request is malformed or could harm dhcpd.
        """
        object_type = request.object_type
        if object_type is None and request.opcode is Opcode.OPEN:
            raw_type = _first(request.message, "type")
            object_type = raw_type.decode("latin-1") if raw_type else None
        safety.check_request(request.opcode, request.message, request.object, object_type)
        request_id = self._allocate_id()
        message = Message(
            request.opcode, request.handle, request_id, 0, request.message, request.object
        )
        if self._signer is None:
            return request_id, encode_body(message, 0, 0)
        body = encode_body(message, self.authid, self._signer.digest_size)
        return request_id, body + self._signer.sign(memoryview(body)[4:])

    def send_request(self, request: Request) -> tuple[int, bytes]:
        """Register ``request`` as sent; returns its id and the bytes to write at once.

        Raises:
            LocalProtocolError: the connection is not ready, or the request is refused.
        """
        if self.state is not State.READY:
            raise LocalProtocolError(f"cannot send a request in state {self.state.value}")
        request_id, data = self.encode_request(request)
        self.commit(request_id, data, request)
        return request_id, data

    def commit(self, request_id: int, data: bytes, request: Request) -> None:
        """Record that ``data`` (from :meth:`encode_request`) is being written."""
        if self.state is not State.READY:
            raise LocalProtocolError(f"cannot send a request in state {self.state.value}")
        self.budget.add(request_id, len(data), request.reply_bound)
        self._pending[request_id] = request

    def _allocate_id(self) -> int:
        while True:
            self._next_id = (self._next_id + 1) & 0xFFFFFFFF
            if self._next_id and self._next_id not in self._pending:
                return self._next_id

    # ------------------------------------------------------------ incoming

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed received bytes; returns the events they complete."""
        if self.state is State.CLOSED:
            return []
        events: list[Event] = []
        try:
            if self.state is State.STARTUP:
                data = self._receive_startup(data, events)
            if data:
                self._framer.feed(data)
            while self.state in _FRAMING_STATES:
                frame = self._framer.next_frame()
                if frame is None:
                    break
                events.append(self._handle_frame(frame, events))
        except ProtocolError as exc:
            events.append(self._fail(exc))
        return events

    def connection_lost(self, error: OmapiError) -> list[Event]:
        """The stream ended or was closed: fail everything still pending."""
        if self.state is State.CLOSED:
            return []
        if self._framer.buffered and isinstance(error, ConnectionClosed):
            truncated = RemoteProtocolError(
                f"stream ended inside a message ({self._framer.buffered} bytes of it received)"
            )
            error = ConnectionClosed(f"{error}: {truncated}")
            error.__cause__ = truncated
        return [self._fail(error)]

    def _receive_startup(self, data: bytes, events: list[Event]) -> bytes:
        need = 8 - len(self._startup)
        self._startup += data[:need]
        if len(self._startup) < 8:
            return b""
        version, header_size = decode_startup(bytes(self._startup))
        if version != PROTOCOL_VERSION:
            raise RemoteProtocolError(f"server speaks protocol version {version}, not 100")
        if header_size < HEADER_SIZE:
            raise RemoteProtocolError(f"server header size {header_size} is below 24")
        try:  # above MAX_HEADER_SIZE: the framer would have to hold that much unchecked
            self._framer.header_size = header_size
        except ValueError as exc:
            raise RemoteProtocolError(f"server {exc}") from None
        if self.key is None:
            self.state = State.READY
            events.append(HandshakeComplete(0))
        else:
            self.state = State.AUTHENTICATING
        return data[need:]

    def _handle_frame(self, frame: Frame, events: list[Event]) -> Event:
        if self.state is State.AUTHENTICATING:
            return self._handle_auth_reply(frame)
        signed = self._authenticate(frame)
        message = decode_frame(frame)
        request = self._pending.pop(message.rid, None)
        if request is None:
            raise RemoteProtocolError(f"reply to unknown request id {message.rid}")
        exceeded = self.budget.complete(message.rid, len(frame.data))
        if exceeded is not None:
            events.append(
                PipeliningStopped(
                    f"a {len(frame.data)}-byte reply to {request.opcode.name} exceeded the "
                    f"{exceeded:.0f}-byte bound the in-flight budget assumed; this "
                    "connection now sends one request at a time"
                )
            )
        result = self._judge(request, message, signed)
        return ReplyReceived(message.rid, result)

    def _authenticate(self, frame: Frame) -> bool:
        """Verify ``frame``'s signature; returns whether it was signed."""
        authlen = len(frame.signature)
        if frame.authid == 0:
            if authlen:
                raise RemoteProtocolError(f"unsigned message carries a {authlen}-byte signature")
            return False
        if self._signer is None or frame.authid != self.authid:
            raise AuthenticationError(f"reply signed by unknown authenticator {frame.authid}")
        self._signer.verify(frame.signed_region, frame.signature)
        return True

    def _judge(self, request: Request, message: Message, signed: bool) -> Message | ServerError:
        if message.opcode == Opcode.STATUS:
            code, text = _status_of(message)
            if self._signer is not None and not signed and code == 0:
                raise AuthenticationError("unsigned success status in answer to a signed request")
            if code != 0:
                return error_for_status(code, text)
            if text or request.expects_object:
                return RejectedWithSuccessCode(0, text or "status 0 instead of an object")
            return message
        if message.opcode != Opcode.UPDATE:
            raise RemoteProtocolError(f"server sent opcode {message.opcode} as a reply")
        if not request.expects_object:
            raise RemoteProtocolError(f"server answered {request.opcode.name} with an object")
        if self._signer is not None and not signed:
            raise AuthenticationError("unsigned object in answer to a signed request")
        return message

    def _handle_auth_reply(self, frame: Frame) -> Event:
        if frame.authid != 0 or frame.signature:
            raise RemoteProtocolError("the authenticator reply must be unsigned")
        message = decode_frame(frame)
        if message.rid != self._auth_id:
            raise RemoteProtocolError(f"reply to unknown request id {message.rid} during handshake")
        assert self.key is not None
        if message.opcode == Opcode.STATUS:
            code, text = _status_of(message)
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
        self.state = State.READY
        return HandshakeComplete(self.authid)

    def _fail(self, error: OmapiError) -> ConnectionFailed:
        if isinstance(error, _HandshakeFailedError):
            error = error.error
        self.state = State.CLOSED
        self.error = error
        pending = tuple(self._pending)
        self._pending.clear()
        self.budget = InflightBudget(self.budget.request_limit, self.budget.reply_limit)
        return ConnectionFailed(error, pending)


class _HandshakeFailedError(ProtocolError):
    """Carries a :class:`HandshakeError` out of the frame loop."""

    def __init__(self, error: HandshakeError) -> None:
        super().__init__(str(error))
        self.error = error


def _first(values: Values, name: str) -> bytes | None:
    for key, value in values:
        if key == name:
            return value
    return None


def _status_of(message: Message) -> tuple[int, str]:
    raw = message.message_value("result")
    if raw is None or len(raw) != 4:
        raise RemoteProtocolError("status reply without a 4-byte result")
    text = message.message_value("message") or b""
    return int.from_bytes(raw, "big"), text.decode("utf-8", "replace")
