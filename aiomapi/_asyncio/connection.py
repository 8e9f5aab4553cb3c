"""One asyncio OMAPI connection serving many concurrent awaiters.

Theory of operation
-------------------
:class:`Connection` is a thin driver around :class:`~aiomapi._sansio.client.ClientProtocol`: it
writes what the core says to write, feeds it what the socket reads, and resolves one future
per request id. Requests that do not fit the in-flight budget wait in a FIFO queue and are
written, each with one ``write()`` (asyncio sets ``TCP_NODELAY``), as replies free budget.

* An awaiter that is cancelled or times out before its request was written is simply
  removed from the queue.
* If it had been written, the core keeps expecting the reply, so the stream stays in sync;
  the late reply is dropped. A *timeout* of a written request also closes the connection:
  dhcpd answers strictly in order, so a reply that does not come means every reply behind it
  is stuck as well; the pool opens a fresh connection for the next request.
* When the connection fails or is closed, every pending and queued request fails with
  :class:`~aiomapi.errors.ConnectionClosed` (or the protocol error that caused it).

A reply goes to a future (:meth:`Connection.request`) or to a :class:`ReplySink`
(:meth:`Connection.send`): an object whose :meth:`ReplySink.deliver` is called from
``data_received`` itself. The batch path (:mod:`aiomapi._asyncio.batch`) uses sinks, so a
batch costs no future and no task per request, and the same rules hold for both: the
budget decides what is written, a sink whose owner gave up has its reply drained, and a
failing connection delivers its error to every sink.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias, cast

from mypy_extensions import mypyc_attr

from aiomapi._asyncio.deadlines import Deadlines, Expired
from aiomapi._sansio.auth import Key
from aiomapi._sansio.budget import InflightBudget
from aiomapi._sansio.client import ClientProtocol, Request
from aiomapi._sansio.events import (
    ClientEvent,
    ConnectionEnded,
    Decoded,
    HandshakeComplete,
    PipeliningStopped,
    ReplyReceived,
)
from aiomapi._sansio.wire import DEFAULT_MAX_MESSAGE_SIZE, Message
from aiomapi.errors import (
    ConnectionClosed,
    LocalProtocolError,
    NetworkError,
    OmapiError,
    TimeoutError,
    caused,
)

log = logging.getLogger("aiomapi")

#: Committed requests are joined into one write up to this size: well below the MSS of any
#: real link, so dhcpd reads whole messages (docs/pipelining.md, "Why it is safe").
COALESCE_BYTES = 1024


@mypyc_attr(allow_interpreted_subclasses=True)  # subclassed by interpreted code
class ReplySink:
    """Where :meth:`Connection.send` delivers a reply, instead of a future.

    :meth:`deliver` runs inside ``data_received`` (or when the connection fails): keep it
    short and let it raise nothing.
    """

    __slots__ = ()

    def done(self) -> bool:
        """Whether the owner no longer wants the reply (it is then dropped)."""
        raise NotImplementedError

    def deliver(self, result: Message | OmapiError | Decoded) -> None:
        """The reply (already judged: a failure status comes as its ServerError; made into
        a :class:`Decoded` where the request has its own decoder), or the error that ended
        the connection."""
        raise NotImplementedError


#: Who receives a reply.
Receiver: TypeAlias = "asyncio.Future[Message] | ReplySink"


@dataclass(slots=True)
class Queued:
    """A request waiting for room in the in-flight budget."""

    request_id: int
    data: bytes
    request: Request
    sink: Receiver


class Connection(asyncio.Protocol):
    """One connection to an OMAPI server. Create it with :meth:`open`."""

    def __init__(self, protocol: ClientProtocol, peer: str) -> None:
        self.peer = peer
        self._proto = protocol
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._ready: asyncio.Future[None] = self._loop.create_future()
        self._futures: dict[int, Receiver] = {}
        self._queue: collections.deque[Queued] = collections.deque()
        self._closed_error: OmapiError | None = None
        self._outbox: list[bytes] = []  # committed requests waiting for one joint write
        self._outbox_bytes = 0
        self._deadlines = Deadlines(self._loop)
        #: Called when this connection accepts a request again (see :attr:`accepting`) and
        #: when it closes; the pool hands it to a waiting caller.
        self.on_accepting: Callable[[Connection], None] | None = None

    def __repr__(self) -> str:
        state = "closed" if self.closed else self._proto.state.value
        return (
            f"<Connection {self.peer} {state} "
            f"in-flight={self._proto.pending} queued={len(self._queue)}>"
        )

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        key: Key | None,
        *,
        timeout: float | None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        budget: InflightBudget | None = None,
    ) -> Connection:
        """Connect and complete the startup and authenticator exchange.

        ``budget`` replaces the default in-flight budget (tests use it to show what the
        default prevents).

        Raises:
            aiomapi.TimeoutError: connect or handshake took longer than ``timeout``.
            aiomapi.NetworkError: the TCP connection could not be made or was lost.
            aiomapi.HandshakeError: the server refused the key.
        """
        loop = asyncio.get_running_loop()
        peer = f"{host}:{port}"
        core = ClientProtocol(key, max_message_size=max_message_size, budget=budget)
        # The protocol is kept as soon as the loop makes it: a timeout or a cancellation
        # that lands after the socket connected but before create_connection returned
        # would otherwise leave its transport open, unreferenced, until the collector
        # finds it ("unclosed transport").
        made: list[Connection] = []

        def make() -> Connection:
            made.append(cls(core, peer))
            return made[-1]

        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                try:
                    _transport, conn = await loop.create_connection(make, host, port)
                except OSError as exc:
                    raise caused(NetworkError(f"cannot connect to {peer}: {exc}"), exc)
                await conn._ready
        except builtins.TimeoutError as exc:
            for unfinished in made:
                unfinished.close()
            if not deadline.expired():
                raise
            raise caused(TimeoutError(f"connecting to {peer} took longer than {timeout} s"), exc)
        except BaseException:
            for unfinished in made:
                unfinished.close()
            raise
        return conn

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport; uvloop's is not a subclass of asyncio.Transport, so no
        # isinstance check here (it failed inside the callback and every connect hung).
        self._transport = cast(asyncio.Transport, transport)
        self._transport.write(self._proto.initiate())

    def data_received(self, data: bytes) -> None:
        self._dispatch(self._proto.receive_data(data))

    def eof_received(self) -> bool | None:
        self._dispatch(
            self._proto.connection_lost(ConnectionClosed(f"{self.peer} closed the connection"))
        )
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f": {exc}" if exc else ""
        self._dispatch(
            self._proto.connection_lost(ConnectionClosed(f"connection to {self.peer} lost{reason}"))
        )
        self._transport = None

    # ------------------------------------------------------------ requests

    @property
    def closed(self) -> bool:
        return self._closed_error is not None

    @property
    def accepting(self) -> bool:
        """Whether a request given now is written at once or is the only one queued."""
        return not self._queue and self._closed_error is None

    @property
    def writable(self) -> bool:
        """Whether a request given now would be written at once rather than queued (for a
        request of any size when none is in flight; otherwise as the budget allows one of
        no size, so a larger one may still be queued)."""
        return not self._queue and self._closed_error is None and self._proto.can_send(0)

    @property
    def load(self) -> int:
        """Requests in flight or queued on this connection."""
        return self._proto.pending + len(self._queue)

    async def request(
        self, request: Request, timeout: float | None, *, call_timeout: float | None = None
    ) -> Message:
        """Send ``request`` and wait for its reply.

        ``call_timeout``, when given, is the caller's whole timeout of which ``timeout`` is
        what is left (the rest went to connecting); error messages quote both.

        Raises:
            aiomapi.ServerError: the server answered with a failure status.
            aiomapi.TimeoutError: no reply within ``timeout`` seconds.
            aiomapi.ConnectionClosed: the connection failed before the reply came.
            aiomapi.LocalProtocolError: the request was refused before sending (also: it has
                its own reply decoder, whose result only :meth:`send` delivers).
        """
        if self._closed_error is not None:
            raise caused(
                ConnectionClosed(f"connection to {self.peer} is closed"), self._closed_error
            )
        if request.decode_reply is not None:
            raise LocalProtocolError(
                "a request with its own reply decoder is sent with a ReplySink, not awaited"
            )
        request_id, data = self._proto.encode_request(request)
        future: asyncio.Future[Message] = self._loop.create_future()
        self._futures[request_id] = future
        if not self._queue and self._proto.can_send(len(data)):
            self._write(request_id, data, request)
            queued = None
            if self.on_accepting is not None:
                self.on_accepting(self)  # there may be room for more
        else:
            queued = Queued(request_id, data, request, future)
            self._queue.append(queued)
        timer = (
            self._deadlines.expire_at(self._loop.time() + timeout, future)
            if timeout is not None
            else None
        )
        try:
            return await future
        except Expired as exc:
            spent = _describe(timeout, call_timeout)
            if self._unqueue(queued):
                raise caused(
                    TimeoutError(
                        f"request waited {spent} for room in the in-flight budget of {self.peer}"
                    ),
                    exc,
                )
            error = TimeoutError(f"no reply from {self.peer} within {spent}")
            self.close(error)
            raise caused(error, exc)
        except asyncio.CancelledError:
            self._unqueue(queued)
            raise
        finally:
            if timer is not None:
                timer.cancel()
            self._futures.pop(request_id, None)
            self._deadlines.forget_done()

    def send(self, request: Request, sink: ReplySink) -> Queued | None:
        """Send ``request``; its reply (or the connection's error) goes to ``sink``.

        Written at once if the budget allows, else queued; the queue entry is returned so
        that :meth:`unqueue` can take it back. Deadlines are the caller's (see
        :meth:`expire`).

        Raises:
            aiomapi.ConnectionClosed: the connection is closed.
            aiomapi.LocalProtocolError: the request was refused before sending.
        """
        if self._closed_error is not None:
            raise caused(
                ConnectionClosed(f"connection to {self.peer} is closed"), self._closed_error
            )
        request_id, data = self._proto.encode_request(request)
        self._futures[request_id] = sink
        if not self._queue and self._proto.can_send(len(data)):
            self._write(request_id, data, request)
            if self.on_accepting is not None:
                self.on_accepting(self)  # there may be room for more
            return None
        queued = Queued(request_id, data, request, sink)
        self._queue.append(queued)
        return queued

    def unqueue(self, queued: Queued | None) -> bool:
        """Take back a request that was never written; False if it had been written."""
        return self._unqueue(queued)

    def expire(self, sink: ReplySink, queued: Queued | None, timeout: float) -> None:
        """``sink``'s request ran out of ``timeout``: it gets the TimeoutError.

        As for :meth:`request`: a request still queued is taken back; one that was written
        closes the connection, since every reply behind it is stuck too.
        """
        if self._unqueue(queued):
            sink.deliver(
                TimeoutError(
                    f"request waited {timeout:g} s for room in the in-flight budget of {self.peer}"
                )
            )
            return
        error = TimeoutError(f"no reply from {self.peer} within {timeout:g} s")
        sink.deliver(error)
        self.close(error)

    def _unqueue(self, queued: Queued | None) -> bool:
        """Drop a request that was never written; False if it had been written."""
        if queued is None:
            return False
        try:
            self._queue.remove(queued)
        except ValueError:
            return False
        self._futures.pop(queued.request_id, None)
        return True

    def _write(self, request_id: int, data: bytes, request: Request) -> None:
        """Commit a request and write it.

        A request alone in flight is written at once. Requests committed while others are
        in flight are joined into one ``write()`` at the end of this turn of the event loop
        (or as soon as :data:`COALESCE_BYTES` are waiting): fewer system calls for us and
        fewer reads for dhcpd, which still receives whole messages (docs/pipelining.md, "Why it
        is safe").
        """
        self._proto.commit(request_id, data, request)
        outbox = self._outbox
        if not outbox and self._proto.pending == 1:
            assert self._transport is not None
            self._transport.write(data)
            return
        outbox.append(data)
        self._outbox_bytes += len(data)
        if self._outbox_bytes >= COALESCE_BYTES:
            self._flush()
        elif len(outbox) == 1:
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        outbox = self._outbox
        if not outbox:
            return
        self._outbox = []
        self._outbox_bytes = 0
        if self._transport is not None and self._closed_error is None:
            self._transport.write(outbox[0] if len(outbox) == 1 else b"".join(outbox))

    def _drain_queue(self) -> None:
        queue = self._queue
        while queue and self._proto.can_send(len(queue[0].data)):
            item = queue.popleft()
            if item.sink.done():  # cancelled while queued, not yet unqueued
                continue
            self._write(item.request_id, item.data, item.request)
        self._flush()

    # ------------------------------------------------------------ events

    def _dispatch(self, events: list[ClientEvent]) -> None:
        for event in events:
            if isinstance(event, ReplyReceived):
                receiver = self._futures.pop(event.request_id, None)
                if receiver is None or receiver.done():
                    continue  # the awaiter gave up; the reply is drained
                result = event.result
                if isinstance(receiver, ReplySink):
                    receiver.deliver(result)
                elif isinstance(result, Message):
                    receiver.set_result(result)
                elif isinstance(result, Decoded):  # refused by request(); never awaited
                    receiver.set_exception(
                        LocalProtocolError("a request with its own decoder awaited as a Message")
                    )
                else:
                    receiver.set_exception(result)
            elif isinstance(event, HandshakeComplete):
                if not self._ready.done():
                    self._ready.set_result(None)
            elif isinstance(event, ConnectionEnded):
                self._fail(event.error)
            elif isinstance(event, PipeliningStopped):
                log.warning("OMAPI connection to %s: %s", self.peer, event.reason)
        if self._queue and self._closed_error is None:
            self._drain_queue()
        if not self._queue and self.on_accepting is not None:
            self.on_accepting(self)

    def _fail(self, error: OmapiError) -> None:
        if self._closed_error is not None:
            return
        self._closed_error = error
        if not isinstance(error, ConnectionClosed):
            log.warning("OMAPI connection to %s failed: %s", self.peer, error)
        if not self._ready.done():
            self._ready.set_exception(error)
            self._ready.exception()  # mark retrieved: open() may already have given up
        self._outbox = []
        self._outbox_bytes = 0
        self._deadlines.clear()
        receivers = list(self._futures.values())
        receivers.extend(item.sink for item in self._queue)
        self._futures.clear()
        self._queue.clear()
        for receiver in receivers:
            if not receiver.done():
                if isinstance(receiver, ReplySink):
                    receiver.deliver(_closed_because(error, self.peer))
                else:
                    receiver.set_exception(_closed_because(error, self.peer))
        if self._transport is not None:
            self._transport.abort()

    def close(self, error: OmapiError | None = None) -> None:
        """Close the connection; pending requests fail with ``error`` or ConnectionClosed."""
        if self._closed_error is None:
            self._dispatch(
                self._proto.connection_lost(
                    error or ConnectionClosed(f"connection to {self.peer} closed")
                )
            )
        if self._transport is not None:
            self._transport.close()


def _describe(timeout: float | None, call_timeout: float | None) -> str:
    if call_timeout is None or timeout is None or call_timeout == timeout:
        return f"{timeout:g} s"
    return (
        f"{timeout:.3g} s (what was left of the call's {call_timeout:g} s after connecting "
        "or waiting for a free connection)"
    )


def _closed_because(error: OmapiError, peer: str) -> OmapiError:
    """The exception for requests pending when the connection failed with ``error``."""
    if isinstance(error, ConnectionClosed):
        return error
    if isinstance(error, TimeoutError):
        # Another request's deadline passed; this one's has not, so it is no timeout.
        closed = ConnectionClosed(
            f"connection to {peer} closed because an earlier request got no reply in time "
            f"(dhcpd answers in order, so no reply behind it would come either): {error}"
        )
    else:
        closed = ConnectionClosed(f"connection to {peer} failed: {error}")
    closed.__cause__ = error
    return closed
