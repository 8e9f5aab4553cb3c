"""The sans-IO OMAPI connection, one core for both roles: bytes in, events out.

Theory of operation
-------------------
Both ends of an OMAPI connection do the same work on the bytes: each sends an 8-byte
startup message and reads the peer's (version 100, a header size the framer can hold),
then cuts the stream into messages with the :class:`~aiomapi._sansio.wire.Framer`, checks
each message's signature on its raw bytes with the authenticator its ``authid`` names, and
only then decodes it. Each numbers the messages it sends and signs them with the active
key. Either ends the connection on a protocol error or at the end of the stream.
:class:`OmapiConnection` does all of that once, for ``our_role`` :attr:`Role.CLIENT` or
:attr:`Role.SERVER`; what differs is what a message *means* to each role, and that lives in
the two faces:

* :class:`~aiomapi._sansio.client.ClientProtocol` opens an authenticator, sends requests,
  and judges replies (matched by ``rid``, in the in-flight budget);
* :class:`~aiomapi._sansio.server.ServerConnection` applies dhcpd's gates to requests and
  answers them, signing each reply with the authenticator the request came with.

The core knows nothing of sockets or clocks. A driver writes :meth:`~OmapiConnection.initiate`
when the connection is up, feeds every chunk it reads to
:meth:`~OmapiConnection.receive_data` and acts on the events
(:mod:`aiomapi._sansio.events`), and calls :meth:`~OmapiConnection.connection_lost` when the
stream ends.

States
~~~~~~
:data:`STATE_TABLE` is the whole state machine: for each ``(role, state)``, what the bytes
received in that state are (:class:`Incoming`) and which :class:`Step` leads to which state.
A step the table does not list for the current state is a bug in the core and raises
:class:`~aiomapi.errors.LocalProtocolError`, so the table is the only way a state changes::

    role    state           incoming                 step           next state
    ------  --------------  -----------------------  -------------  --------------
    client  STARTUP         the server's startup     STARTED        READY
                                                     STARTED_KEYED  AUTHENTICATING
    client  AUTHENTICATING  the authenticator reply  AUTHENTICATED  READY
    client  READY           replies                  —
    server  STARTUP         the client's startup     STARTED        READY
    server  READY           requests                 —
    any     any but CLOSED                           ENDED          CLOSED
    any     CLOSED          nothing (ignored)        —

A client with a key goes through AUTHENTICATING: it sends the authenticator OPEN right
behind its startup (dhcpd reads them in order, so there is nothing to wait for) and is ready
when the UPDATE answering it names the authenticator's handle. A server is READY as soon as
the client's startup is read; a client opens authenticators there with ordinary requests,
and the server's face registers them (``add_authenticator``) as they are executed.

Signatures
~~~~~~~~~~
The core keeps one :class:`~aiomapi._sansio.auth.Signer` per authenticator handle opened on
the connection (a client has at most one, the server any number). A message with
``authid`` 0 is unsigned; any other ``authid`` must be open here and its signature must
verify, compared in constant time. What a failure means is the role's call: the client ends
the connection, the server answers with an unsigned INVALIDKEY status, as dhcpd does
(docs/dhcpd-behaviour.md, "Authentication").
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar, cast

from aiomapi._sansio.auth import Signer
from aiomapi._sansio.events import ClientEvent, ConnectionEnded, ServerEvent
from aiomapi._sansio.wire import (
    DEFAULT_MAX_MESSAGE_SIZE,
    HEADER_SIZE,
    PROTOCOL_VERSION,
    STARTUP_BYTES,
    Frame,
    Framer,
    Message,
    decode_startup,
    encode_body,
)
from aiomapi.errors import (
    AuthenticationError,
    ConnectionClosed,
    LocalProtocolError,
    OmapiError,
    ProtocolError,
    RemoteProtocolError,
    caused,
)

__all__ = [
    "STATE_TABLE",
    "Incoming",
    "OmapiConnection",
    "Role",
    "Row",
    "State",
    "Step",
]


class Role(enum.Enum):
    """Which end of the connection we are."""

    CLIENT = "client"
    SERVER = "server"


class State(enum.Enum):
    """Where a connection is (see :data:`STATE_TABLE`)."""

    STARTUP = "startup"
    AUTHENTICATING = "authenticating"
    READY = "ready"
    #: The server role's name for READY (it used to have its own enum); the same member.
    OPEN = "ready"
    CLOSED = "closed"


class Step(enum.Enum):
    """What moves a connection from one state to the next."""

    STARTED = "the peer's startup was accepted"
    STARTED_KEYED = "the peer's startup was accepted; our authenticator is on its way"
    AUTHENTICATED = "the server opened our authenticator"
    ENDED = "protocol error, end of stream or close"


class Incoming(enum.Enum):
    """What the bytes received in a state are."""

    STARTUP = "the peer's startup message"
    AUTH_REPLY = "the answer to our authenticator OPEN"
    REPLIES = "replies to our requests"
    REQUESTS = "requests to answer"
    NOTHING = "nothing: the connection is closed"


@dataclass(frozen=True, slots=True)
class Row:
    """One ``(role, state)`` of :data:`STATE_TABLE`."""

    incoming: Incoming
    steps: Mapping[Step, State]


_ENDS: Final = {Step.ENDED: State.CLOSED}

# States the per-message path compares with, bound once: compiled with mypyc
# (docs/speedups.md), ``State.READY`` is a lookup through the enum's metaclass (about 70 ns);
# a module Final is not.
_STARTUP: Final = State.STARTUP
_READY: Final = State.READY
_CLOSED: Final = State.CLOSED

#: The state machine of both roles (see the module doc). Written as data so that it can be
#: read, and tested, in one place.
STATE_TABLE: Final[Mapping[tuple[Role, State], Row]] = {
    (Role.CLIENT, State.STARTUP): Row(
        Incoming.STARTUP,
        {Step.STARTED: State.READY, Step.STARTED_KEYED: State.AUTHENTICATING, **_ENDS},
    ),
    (Role.CLIENT, State.AUTHENTICATING): Row(
        Incoming.AUTH_REPLY, {Step.AUTHENTICATED: State.READY, **_ENDS}
    ),
    (Role.CLIENT, State.READY): Row(Incoming.REPLIES, _ENDS),
    (Role.CLIENT, State.CLOSED): Row(Incoming.NOTHING, {}),
    (Role.SERVER, State.STARTUP): Row(Incoming.STARTUP, {Step.STARTED: State.READY, **_ENDS}),
    (Role.SERVER, State.READY): Row(Incoming.REQUESTS, _ENDS),
    (Role.SERVER, State.CLOSED): Row(Incoming.NOTHING, {}),
}

#: The method of a role's face that takes each kind of incoming message; the other kinds
#: are not framed (the startup is read by the core, nothing is read once closed).
_HANDLERS: Final[Mapping[Incoming, str]] = {
    Incoming.AUTH_REPLY: "_on_auth_reply",
    Incoming.REPLIES: "_on_reply",
    Incoming.REQUESTS: "_on_request",
}

_PEER: Final = {Role.CLIENT: "server", Role.SERVER: "client"}

E = TypeVar("E", ClientEvent, ServerEvent)
FrameHandler = Callable[[Frame, list[E]], None]


class OmapiConnection(Generic[E]):
    """What both ends of an OMAPI connection do (see the module doc).

    A role's face subclasses this and provides a frame handler for each :class:`Incoming`
    kind of its role (``_on_auth_reply``, ``_on_reply``, ``_on_request``).

    Args:
        our_role: the end we are.
        max_message_size: the largest message accepted, header to signature.
        first_id: the id before the first of our own messages; random by default, as dhcpd
            and omshell do.
    """

    our_role: Role

    def __init__(
        self,
        our_role: Role,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        first_id: int | None = None,
    ) -> None:
        self.our_role = our_role
        self.state = State.STARTUP
        #: Why the connection ended; ``None`` while it is open.
        self.error: OmapiError | None = None
        self._framer = Framer(max_message_size)
        self._startup = bytearray()
        #: authenticator handle → its signer, for every authenticator open on the connection
        self._signers: dict[int, Signer] = {}
        #: our messages that still wait for an answer, by id, with what the role keeps of
        #: them (the client's requests; the server has none)
        self._pending: dict[int, Any] = {}
        self._next_id = first_id if first_id is not None else int.from_bytes(os.urandom(4))
        self._on_frame: FrameHandler[E] | None = None

    # ------------------------------------------------------------ state

    def _step(self, step: Step) -> None:
        """Take ``step`` from the current state, as :data:`STATE_TABLE` says."""
        target = STATE_TABLE[self.our_role, self.state].steps.get(step)
        if target is None:
            raise LocalProtocolError(
                f"{self.our_role.value} connection cannot take step {step.name} "
                f"in state {self.state.value}"
            )
        self.state = target
        self._on_frame = self._frame_handler(STATE_TABLE[self.our_role, target].incoming)

    def _frame_handler(self, incoming: Incoming) -> FrameHandler[E] | None:
        """The method that takes a frame of kind ``incoming``; ``None`` if frames are not
        read (startup, closed)."""
        name = _HANDLERS.get(incoming)
        return cast("FrameHandler[E]", getattr(self, name)) if name is not None else None

    @property
    def established(self) -> bool:
        """Whether requests can flow: the startup exchange is done and, where a key is in
        use, an authenticator is open."""
        return self.state is _READY and self._handshake_done()

    def _handshake_done(self) -> bool:
        return True

    @property
    def buffered(self) -> int:
        """Bytes of a message begun and not yet complete (0 before the startup is done).

        A server's deadline for the rest of a message (``ServerLimits.message_timeout``) runs
        while this is not 0.
        """
        return self._framer.buffered

    # ------------------------------------------------------------ incoming

    def initiate(self) -> bytes:
        """The bytes to write as soon as the connection is up: our startup message."""
        return STARTUP_BYTES

    def receive_data(self, data: bytes) -> list[E]:
        """Feed received bytes; returns the events they complete, in order."""
        if self.state is _CLOSED:
            return []
        events: list[E] = []
        try:
            if self.state is _STARTUP:
                data = self._receive_startup(data, events)
            if data:
                self._framer.feed(data)
            next_frame = self._framer.next_frame
            while (on_frame := self._on_frame) is not None:
                frame = next_frame()
                if frame is None:
                    break
                on_frame(frame, events)
        except ProtocolError as exc:
            events.append(cast(E, self._end(exc)))
        return events

    def connection_lost(self, error: OmapiError | None = None) -> list[E]:
        """The stream ended or was closed (``error`` says how); returns the
        :class:`~aiomapi._sansio.events.ConnectionEnded`, or nothing if it had ended."""
        if self.state is State.CLOSED:
            return []
        if error is None:
            error = ConnectionClosed(f"the {_PEER[self.our_role]} connection was closed")
        if self._framer.buffered and isinstance(error, ConnectionClosed):
            truncated = RemoteProtocolError(
                f"stream ended inside a message ({self._framer.buffered} bytes of it received)"
            )
            error = ConnectionClosed(f"{error}: {truncated}")
            error.__cause__ = truncated
        return [cast(E, self._end(error))]

    def _receive_startup(self, data: bytes, events: list[E]) -> bytes:
        """Read the peer's startup message from ``data``; returns the bytes after it."""
        need = 8 - len(self._startup)
        self._startup += data[:need]
        if len(self._startup) < 8:
            return b""
        version, header_size = decode_startup(bytes(self._startup))
        peer = _PEER[self.our_role]
        if version != PROTOCOL_VERSION:
            raise RemoteProtocolError(
                f"{peer} speaks protocol version {version}, not {PROTOCOL_VERSION}"
            )
        if header_size < HEADER_SIZE:
            raise RemoteProtocolError(f"{peer} header size {header_size} is below {HEADER_SIZE}")
        try:  # above MAX_HEADER_SIZE: the framer would have to hold that much unchecked
            self._framer.header_size = header_size
        except ValueError as exc:
            raise caused(RemoteProtocolError(f"{peer} {exc}"), None)
        self._started(events)
        return data[need:]

    def _started(self, events: list[E]) -> None:
        """The peer's startup was accepted (a role may add a step or an event)."""
        self._step(Step.STARTED)

    def _end(self, error: OmapiError) -> ConnectionEnded:
        """Close the connection for ``error``; every request still pending fails with it."""
        self._step(Step.ENDED)
        self.error = error
        pending = tuple(self._pending)
        self._pending.clear()
        return ConnectionEnded(error, pending)

    # ------------------------------------------------------------ signatures

    def _signer_of(self, frame: Frame) -> Signer | None:
        """The signer of the authenticator ``frame`` names; ``None`` for ``authid`` 0.

        Raises:
            AuthenticationError: the authenticator is not open on this connection.
        """
        authid = frame.authid
        if not authid:
            return None
        signer = self._signers.get(authid)
        if signer is None:
            raise AuthenticationError(
                f"message signed by authenticator {authid}, which is not open on this connection"
            )
        return signer

    @staticmethod
    def _verify(signer: Signer, frame: Frame) -> None:
        """Check ``frame``'s signature over its signed region, in constant time.

        Raises:
            AuthenticationError: it has none, or it does not verify.
        """
        if frame.signed_end == len(frame.data):
            raise AuthenticationError("signed message without a signature")
        signer.verify_frame(frame)

    # ------------------------------------------------------------ outgoing

    def _allocate_id(self) -> int:
        """A new id for one of our messages: not 0, not one still pending."""
        while True:
            self._next_id = (self._next_id + 1) & 0xFFFFFFFF
            if self._next_id and self._next_id not in self._pending:
                return self._next_id

    def _encode(self, message: Message, authid: int) -> bytes:
        """``message`` as bytes, signed with authenticator ``authid`` (0: unsigned)."""
        signer = self._signers.get(authid) if authid else None
        if signer is None:
            return encode_body(message, 0, 0)
        return signer.sign_body(encode_body(message, authid, signer.digest_size))
