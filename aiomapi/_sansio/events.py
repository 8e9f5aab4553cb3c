"""What the sans-IO connection tells its driver: one module of events for both roles.

Theory of operation
-------------------
:meth:`~aiomapi._sansio.connection.OmapiConnection.receive_data` turns bytes into a list of
these events, in the order the bytes completed them. The names pair across the two roles:
what one side sends, the other receives::

    client role         on the wire                   server role
    ------------------  ----------------------------  -----------------------------------
    initiate()          startup (and OPEN)  ------->  receive_data()
    receive_data()      <------------------  startup  initiate()
    HandshakeComplete                                 established (a property, see below)
    send_request()      request  ------------------>  RequestReceived
    ReplyReceived       <--------------------  reply  send_reply(), or an AutoReply
    PipeliningStopped                                 (no budget on this side)
    ConnectionEnded                                   ConnectionEnded

Each side ends on its own (a protocol error, a failed signature, the end of the stream);
the other learns of it when the stream ends.

The server learns that a client has finished its handshake from
:attr:`~aiomapi._sansio.connection.OmapiConnection.established`, not from an event: the step
that completes it, opening an authenticator, is taken by whoever executes the OPEN (see
:meth:`~aiomapi._sansio.server.ServerConnection.add_authenticator`), not by the bytes.

The old names stay importable from :mod:`aiomapi._sansio.client` and
:mod:`aiomapi._sansio.server`: ``ConnectionFailed`` and ``CloseConnection`` are
:class:`ConnectionEnded`, ``SendData`` is :class:`AutoReply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiomapi._sansio.wire import Message
from aiomapi.errors import OmapiError, ServerError

__all__ = [
    "AutoReply",
    "ClientEvent",
    "ConnectionEnded",
    "Decoded",
    "Event",
    "HandshakeComplete",
    "PipeliningStopped",
    "ReplyReceived",
    "RequestReceived",
    "ServerEvent",
]


@dataclass(frozen=True, slots=True)
class HandshakeComplete:
    """The client's connection is ready for requests; ``authid`` is 0 without a key."""

    authid: int


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A request that passed every protocol gate and must be answered (server role).

    Attributes:
        message: the decoded request.
        authid: the authenticator it was verified with; 0 if it was not signed.
    """

    message: Message
    authid: int


class Decoded:
    """A reply made into its result by its request's own decoder
    (:attr:`~aiomapi._sansio.client.Request.decode_reply`) instead of into a Message:
    ``value`` is what the decoder returned, or the :class:`~aiomapi.OmapiError` it raised
    (a reply it could not make sense of is that request's error, not the connection's)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value: Final = value

    def __eq__(self, other: object) -> bool:
        if type(other) is not Decoded:
            return NotImplemented
        return bool(self.value == other.value)

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"Decoded(value={self.value!r})"


class ReplyReceived:
    """The answer to request ``request_id`` (client role): the server's message, its
    failure, or the result its request's decoder made of it (:class:`Decoded`).

    A plain class rather than a frozen dataclass like the others: one is made per reply, and
    a dataclass's generated ``__init__`` runs as Python even where this module is compiled.
    Compiled, its ``Final`` attributes are read-only.
    """

    __slots__ = ("request_id", "result")

    def __init__(self, request_id: int, result: Message | ServerError | Decoded) -> None:
        self.request_id: Final = request_id
        self.result: Final = result

    def __eq__(self, other: object) -> bool:
        if type(other) is not ReplyReceived:
            return NotImplemented
        return self.request_id == other.request_id and self.result == other.result

    def __hash__(self) -> int:
        return hash((self.request_id, self.result))

    def __repr__(self) -> str:
        return f"ReplyReceived(request_id={self.request_id!r}, result={self.result!r})"


@dataclass(frozen=True, slots=True)
class AutoReply:
    """A STATUS the server connection composed itself (a bad signature, a missing
    authenticator): write ``data`` in its turn with the other replies. ``result`` is its code.
    """

    data: bytes
    result: int


@dataclass(frozen=True, slots=True)
class PipeliningStopped:
    """A reply exceeded the size the in-flight budget assumed for it; the connection has
    stopped pipelining (see :mod:`aiomapi._sansio.budget`). The driver should log ``reason``."""

    reason: str


@dataclass(frozen=True, slots=True)
class ConnectionEnded:
    """The connection cannot continue; close it without writing anything more.

    Attributes:
        error: why: the peer broke the protocol, a signature failed, the stream ended.
        pending: ids of the requests that were waiting for a reply (client role; always
            empty for the server). Each of them has failed with ``error``.
    """

    error: OmapiError
    pending: tuple[int, ...] = ()

    @property
    def reason(self) -> str:
        """``error`` as text, for a log line."""
        return str(self.error)


#: The events a client connection returns.
ClientEvent = HandshakeComplete | ReplyReceived | PipeliningStopped | ConnectionEnded
#: The events a server connection returns.
ServerEvent = RequestReceived | AutoReply | ConnectionEnded
#: Any event.
Event = (
    HandshakeComplete
    | RequestReceived
    | ReplyReceived
    | AutoReply
    | PipeliningStopped
    | ConnectionEnded
)
