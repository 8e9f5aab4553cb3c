"""Sans-IO OMAPI server connection: bytes in, requests out; replies in, bytes out.

Theory of operation
-------------------
:class:`ServerConnection` is the server-side mirror of
:class:`aiomapi._sansio.client.ClientProtocol`. It knows nothing of sockets, clocks or
object types. The driver

1. writes :meth:`ServerConnection.initiate` (our startup message) as soon as the client is
   accepted — dhcpd does not wait for the client's startup either (reference §1.1);
2. feeds every received chunk to :meth:`ServerConnection.receive_data` and handles the events
   **in order**: :class:`RequestReceived` is answered with :meth:`ServerConnection.send_reply`,
   :class:`SendData` is written as is (a status the connection produced itself), and
   :class:`CloseConnection` ends the connection;
3. lets whoever executes an authenticator OPEN call :meth:`ServerConnection.add_authenticator`,
   after which messages signed with that handle are accepted on this connection.

States::

    STARTUP  --client startup, version 100, 24 <= header <= 256-->  OPEN
    STARTUP  --version != 100, header < 24 or header > 256-->        CLOSED
    OPEN     --protocol violation or oversize message-->             CLOSED

dhcpd accepts any header size of 24 or more; we refuse one above
:data:`~aiomapi._sansio.wire.MAX_HEADER_SIZE` (256), because the whole header has to be held before
any length in it can be checked.

Each message goes through the same gates, in the order dhcpd 4.4.3 applies them (verified
against the real server, reference §1.5–1.7, §2.1, §2.6):

1. framing, bounded by ``max_message_size`` (the :class:`~aiomapi._sansio.wire.Framer` checks every
   announced length against it before buffering, and caps the entries of a message, so a
   hostile length or an endless list cannot make us allocate);
2. ``authid`` not opened on this connection → close;
3. a reserved message-value name (``op``, ``id``, ``object``…) with a value → close, as dhcpd;
4. signature: wrong or missing → unsigned ``DHCP_R_INVALIDKEY`` status, request not executed.
   dhcpd executes a message with a known ``authid`` and ``authlen = 0`` as authenticated
   (§1.7); we treat it as a bad signature;
5. a reserved message-value name with a *null* value → ``DHCP_R_INVALIDARG`` status (dhcpd
   segfaults here, §9.6, so there is no behaviour to copy);
6. ``rid != 0`` → close;
7. with a key required, anything unauthenticated except an OPEN of type ``authenticator``
   → unsigned ``DHCP_R_NOKEYS`` "No authenticator on message";
8. a client STATUS or an unknown opcode → close; everything else is a :class:`RequestReceived`.

Replies are signed exactly when the request was accepted as authenticated (§1.6), with the
same authenticator; statuses the connection produces itself are never signed, except the
null-reserved-name error of step 5 on an authenticated request.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass

from aiomapi._sansio.auth import Key, Signer
from aiomapi._sansio.safety import RESERVED_MESSAGE_NAMES
from aiomapi._sansio.wire import (
    DEFAULT_MAX_MESSAGE_SIZE,
    HEADER_SIZE,
    PROTOCOL_VERSION,
    STARTUP_BYTES,
    Frame,
    Framer,
    Message,
    Opcode,
    decode_frame,
    decode_startup,
    encode_body,
)
from aiomapi.errors import AuthenticationError, RemoteProtocolError, ResultCode

__all__ = [
    "CloseConnection",
    "Event",
    "RequestReceived",
    "SendData",
    "ServerConnection",
    "ServerState",
    "last_value",
    "status_message",
]

_CLIENT_OPCODES = frozenset(
    {Opcode.OPEN, Opcode.REFRESH, Opcode.UPDATE, Opcode.NOTIFY, Opcode.DELETE}
)
_AUTHENTICATOR = b"authenticator"


class ServerState(enum.Enum):
    STARTUP = "startup"
    OPEN = "open"
    CLOSED = "closed"


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A request that passed every protocol gate and must be answered.

    Attributes:
        message: the decoded request.
        authid: the authenticator it was verified with; 0 if it was not signed.
    """

    message: Message
    authid: int


@dataclass(frozen=True, slots=True)
class SendData:
    """A reply the connection produced itself (e.g. a bad-signature status): write it."""

    data: bytes
    result: int


@dataclass(frozen=True, slots=True)
class CloseConnection:
    """The client broke the protocol; close the connection without a reply (as dhcpd does)."""

    reason: str


Event = RequestReceived | SendData | CloseConnection


def status_message(code: int, text: str | None = None) -> Message:
    """A STATUS reply body with ``result`` and optionally ``message`` (reference §2.2)."""
    values: list[tuple[str, bytes]] = [("result", code.to_bytes(4, "big"))]
    if text is not None:
        values.append(("message", text.encode()))
    return Message(Opcode.STATUS, message=tuple(values))


def last_value(values: tuple[tuple[str, bytes], ...], name: str) -> bytes | None:
    """The value dhcpd sees for ``name``: the last one sent, ``None`` if absent or null.

    dhcpd stores received values in a generic object where a repeated name replaces the
    earlier value and a null value reads as absent (reference §1.3; verified with ``type``).
    """
    found: bytes | None = None
    for key, value in values:
        if key == name:
            found = value
    return found or None


class _Close(Exception):
    """Internal: stop processing and close with this reason."""


# ---------------------------------------------------------------- the connection


class ServerConnection:
    """The server side of one OMAPI connection (see the module doc).

    Args:
        require_auth: reject unauthenticated requests other than an authenticator OPEN
            (a dhcpd with an ``omapi-key``).
        max_message_size: the largest message accepted, header to signature.
        first_id: the first id of our own messages; random by default, like dhcpd.
    """

    def __init__(
        self,
        *,
        require_auth: bool,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        first_id: int | None = None,
    ) -> None:
        self.require_auth = require_auth
        self.state = ServerState.STARTUP
        self.close_reason: str | None = None
        self._framer = Framer(max_message_size)
        self._startup = bytearray()
        self._signers: dict[int, Signer] = {}
        self._next_id = first_id if first_id is not None else int.from_bytes(os.urandom(4))

    def __repr__(self) -> str:
        return f"<ServerConnection {self.state.value} authenticators={sorted(self._signers)}>"

    @property
    def authenticators(self) -> frozenset[int]:
        """Handles of the authenticators opened on this connection."""
        return frozenset(self._signers)

    @property
    def buffered(self) -> int:
        """Bytes of a message begun and not yet complete (0 before the startup is done).

        The driver's deadline for the rest of a message (``ServerLimits.message_timeout``)
        runs while this is not 0.
        """
        return self._framer.buffered

    def initiate(self) -> bytes:
        """Our startup message, to write as soon as the connection is accepted."""
        return STARTUP_BYTES

    def add_authenticator(self, handle: int, key: Key) -> None:
        """Accept messages signed with ``key`` under ``authid = handle`` from now on."""
        if handle not in self._signers:
            self._signers[handle] = key.signer()

    # ------------------------------------------------------------ incoming

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed received bytes; returns the events they complete, in order."""
        if self.state is ServerState.CLOSED:
            return []
        events: list[Event] = []
        try:
            if self.state is ServerState.STARTUP:
                data = self._receive_startup(data)
            if data:
                self._framer.feed(data)
            while self.state is ServerState.OPEN:
                frame = self._framer.next_frame()
                if frame is None:
                    break
                event = self._handle_frame(frame)
                if event is not None:
                    events.append(event)
        except (_Close, RemoteProtocolError) as exc:
            self.state = ServerState.CLOSED
            self.close_reason = str(exc)
            events.append(CloseConnection(str(exc)))
        return events

    def connection_lost(self) -> None:
        """The stream ended; nothing more will be accepted."""
        self.state = ServerState.CLOSED

    def _receive_startup(self, data: bytes) -> bytes:
        need = 8 - len(self._startup)
        self._startup += data[:need]
        if len(self._startup) < 8:
            return b""
        version, header_size = decode_startup(bytes(self._startup))
        if version != PROTOCOL_VERSION:
            raise _Close(f"client speaks protocol version {version}, not {PROTOCOL_VERSION}")
        if header_size < HEADER_SIZE:
            raise _Close(f"client header size {header_size} is below {HEADER_SIZE}")
        try:  # above MAX_HEADER_SIZE: the framer would have to hold that much unchecked
            self._framer.header_size = header_size
        except ValueError as exc:
            raise _Close(f"client {exc}") from None
        self.state = ServerState.OPEN
        return data[need:]

    def _handle_frame(self, frame: Frame) -> Event | None:
        authid = frame.authid
        signer = self._signers.get(authid) if authid else None
        if authid and signer is None:
            raise _Close(f"message signed by authenticator {authid}, not opened here")
        message = decode_frame(frame)
        # dhcpd reads the message values into the message object before it checks the
        # signature, and drops the connection on a reserved name with a value.
        null_reserved = None
        for name, value in message.message:
            if name in RESERVED_MESSAGE_NAMES:
                if value:
                    raise _Close(f"reserved message value {name!r}")
                null_reserved = name
        if signer is not None:
            try:
                if not frame.signature:
                    # dhcpd skips the check and executes the message (reference §1.7).
                    raise AuthenticationError("signed message without a signature")
                signer.verify(frame.signed_region, frame.signature)
            except AuthenticationError:
                return self._own_status(message, 0, ResultCode.INVALIDKEY)
        if null_reserved is not None:
            return self._own_status(
                message,
                authid,
                ResultCode.INVALIDARG,
                f"null value for reserved message value {null_reserved!r}",
            )
        if message.rid:
            raise _Close(f"request with rid {message.rid}: no message of ours to answer")
        if self.require_auth and not authid and not _opens_authenticator(message):
            return self._own_status(message, 0, ResultCode.NOKEYS, "No authenticator on message")
        if message.opcode not in _CLIENT_OPCODES:
            raise _Close(f"opcode {message.opcode} from a client")
        return RequestReceived(message, authid)

    def _own_status(
        self, request: Message, authid: int, code: int, text: str | None = None
    ) -> SendData:
        return SendData(self._encode(status_message(code, text), request.id, authid), code)

    # ------------------------------------------------------------ outgoing

    def send_reply(self, request: RequestReceived, reply: Message) -> bytes:
        """Encode ``reply`` as the answer to ``request``: ``rid``, our id, and the signature.

        Only ``opcode``, ``handle`` and the two value lists of ``reply`` are used.
        """
        return self._encode(reply, request.message.id, request.authid)

    def _encode(self, reply: Message, rid: int, authid: int) -> bytes:
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        message = Message(
            reply.opcode, reply.handle, self._next_id, rid, reply.message, reply.object
        )
        signer = self._signers.get(authid) if authid else None
        if signer is None:
            return encode_body(message, 0, 0)
        body = encode_body(message, authid, signer.digest_size)
        return body + signer.sign(memoryview(body)[4:])


def _opens_authenticator(message: Message) -> bool:
    return message.opcode == Opcode.OPEN and last_value(message.message, "type") == _AUTHENTICATOR
