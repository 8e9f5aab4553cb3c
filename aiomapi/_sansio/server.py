"""The server face of the sans-IO OMAPI connection: bytes in, requests out; replies in, bytes out.

Theory of operation
-------------------
:class:`ServerConnection` is :class:`~aiomapi._sansio.connection.OmapiConnection` in the
server role: the startup exchange, framing, signatures, ids and the end of the connection
are the core's (see its module doc for the state table). It knows nothing of object types.
The driver

1. writes :meth:`ServerConnection.initiate` (our startup message) as soon as the client is
   accepted; dhcpd does not wait for the client's startup either (docs/dhcpd-behaviour.md,
   "Wire format");
2. feeds every received chunk to :meth:`ServerConnection.receive_data` and handles the events
   **in order**: a :class:`~aiomapi._sansio.events.RequestReceived` is answered with
   :meth:`ServerConnection.send_reply`, an :class:`~aiomapi._sansio.events.AutoReply` (a
   status the connection composed itself) is written as it is, and a
   :class:`~aiomapi._sansio.events.ConnectionEnded` ends the connection without a reply;
3. lets whoever executes an authenticator OPEN call :meth:`ServerConnection.add_authenticator`,
   after which messages signed with that handle are accepted on this connection.

dhcpd accepts any header size of 24 or more; the core refuses one above
:data:`~aiomapi._sansio.wire.MAX_HEADER_SIZE` (256), because the whole header has to be held
before any length in it can be checked.

Each message goes through the same gates, in the order dhcpd 4.4.3 applies them (verified
against the real server; docs/dhcpd-behaviour.md, "Authentication" and "Messages and
replies"):

1. framing, bounded by ``max_message_size`` (the :class:`~aiomapi._sansio.wire.Framer` checks
   every announced length against it before buffering, and caps the entries of a message, so
   a hostile length or an endless list cannot make us allocate);
2. ``authid`` not opened on this connection → close;
3. a reserved message-value name (``op``, ``id``, ``object``…) with a value → close, as dhcpd;
4. signature: wrong or missing → unsigned ``DHCP_R_INVALIDKEY`` status, request not executed.
   dhcpd executes a message with a known ``authid`` and ``authlen = 0`` as authenticated;
   we treat it as a bad signature;
5. a reserved message-value name with a *null* value → ``DHCP_R_INVALIDARG`` status (dhcpd
   segfaults here, so there is no behaviour to copy; docs/dhcpd-behaviour.md, "Requests that
   crash dhcpd");
6. ``rid != 0`` → close;
7. with a key required, anything unauthenticated except an OPEN of type ``authenticator``
   → unsigned ``DHCP_R_NOKEYS`` "No authenticator on message";
8. a client STATUS or an unknown opcode → close; everything else is a request.

Replies are signed exactly when the request was accepted as authenticated, with the same
authenticator; statuses the connection composes itself are never signed, except the
null-reserved-name error of step 5 on an authenticated request.
"""

from __future__ import annotations

from aiomapi._sansio.auth import Key
from aiomapi._sansio.connection import OmapiConnection, Role, State
from aiomapi._sansio.events import (
    AutoReply,
    ConnectionEnded,
    RequestReceived,
    ServerEvent,
)
from aiomapi._sansio.wire import (
    DEFAULT_MAX_MESSAGE_SIZE,
    Frame,
    Message,
    Opcode,
    decode_frame,
    find_value,
    status_message,
)
from aiomapi.errors import AuthenticationError, RemoteProtocolError, ResultCode
from aiomapi.facts import NO_AUTHENTICATOR, RESERVED_MESSAGE_NAMES

__all__ = [
    "AutoReply",
    "CloseConnection",
    "ConnectionEnded",
    "Event",
    "RequestReceived",
    "SendData",
    "ServerConnection",
    "ServerState",
    "last_value",
    "status_message",
]

#: The events of the server role (:mod:`aiomapi._sansio.events`).
Event = ServerEvent
#: Names from before both roles shared one core and one events module.
CloseConnection = ConnectionEnded
SendData = AutoReply
ServerState = State
last_value = find_value

_CLIENT_OPCODES = frozenset(
    {Opcode.OPEN, Opcode.REFRESH, Opcode.UPDATE, Opcode.NOTIFY, Opcode.DELETE}
)
_AUTHENTICATOR = b"authenticator"


class ServerConnection(OmapiConnection[ServerEvent]):
    """The server side of one OMAPI connection (see the module doc).

    Args:
        require_auth: reject unauthenticated requests other than an authenticator OPEN
            (a dhcpd with an ``omapi-key``).
        max_message_size: the largest message accepted, header to signature.
        first_id: the id before our first message; random by default, like dhcpd.
    """

    def __init__(
        self,
        *,
        require_auth: bool,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        first_id: int | None = None,
    ) -> None:
        super().__init__(Role.SERVER, max_message_size=max_message_size, first_id=first_id)
        self.require_auth = require_auth

    def __repr__(self) -> str:
        return f"<ServerConnection {self.state.value} authenticators={sorted(self._signers)}>"

    @property
    def authenticators(self) -> frozenset[int]:
        """Handles of the authenticators opened on this connection."""
        return frozenset(self._signers)

    @property
    def close_reason(self) -> str | None:
        """Why the connection ended, as text; ``None`` while it is open."""
        return None if self.error is None else str(self.error)

    def add_authenticator(self, handle: int, key: Key) -> None:
        """Accept messages signed with ``key`` under ``authid = handle`` from now on."""
        if handle not in self._signers:
            self._signers[handle] = key.signer()

    def _handshake_done(self) -> bool:
        return not self.require_auth or bool(self._signers)

    # ------------------------------------------------------------ incoming

    def _on_request(self, frame: Frame, events: list[ServerEvent]) -> None:
        signer = self._signer_of(frame)  # an authid not opened here closes the connection
        message = decode_frame(frame)
        # dhcpd reads the message values into the message object before it checks the
        # signature, and drops the connection on a reserved name with a value.
        null_reserved = None
        for name, value in message.message:
            if name in RESERVED_MESSAGE_NAMES:
                if value:
                    raise RemoteProtocolError(f"reserved message value {name!r}")
                null_reserved = name
        authid = 0
        if signer is not None:
            try:
                self._verify(signer, frame)
            except AuthenticationError:
                events.append(self._auto_reply(message, 0, ResultCode.INVALIDKEY))
                return
            authid = frame.authid
        if null_reserved is not None:
            events.append(
                self._auto_reply(
                    message,
                    authid,
                    ResultCode.INVALIDARG,
                    f"null value for reserved message value {null_reserved!r}",
                )
            )
            return
        if message.rid:
            raise RemoteProtocolError(
                f"request with rid {message.rid}: no message of ours to answer"
            )
        if self.require_auth and not authid and not _opens_authenticator(message):
            events.append(self._auto_reply(message, 0, ResultCode.NOKEYS, NO_AUTHENTICATOR))
            return
        if message.opcode not in _CLIENT_OPCODES:
            raise RemoteProtocolError(f"opcode {message.opcode} from a client")
        events.append(RequestReceived(message, authid))

    def _auto_reply(
        self, request: Message, authid: int, code: int, text: str | None = None
    ) -> AutoReply:
        return AutoReply(self._reply(status_message(code, text), request.id, authid), code)

    # ------------------------------------------------------------ outgoing

    def send_reply(self, request: RequestReceived, reply: Message) -> bytes:
        """Encode ``reply`` as the answer to ``request``: ``rid``, our id, and the signature.

        Only ``opcode``, ``handle`` and the two value lists of ``reply`` are used.
        """
        return self._reply(reply, request.message.id, request.authid)

    def _reply(self, reply: Message, rid: int, authid: int) -> bytes:
        message = Message(
            reply.opcode, reply.handle, self._allocate_id(), rid, reply.message, reply.object
        )
        return self._encode(message, authid)


def _opens_authenticator(message: Message) -> bool:
    return message.opcode == Opcode.OPEN and find_value(message.message, "type") == _AUTHENTICATOR
