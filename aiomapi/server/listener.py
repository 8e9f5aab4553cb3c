"""The asyncio OMAPI server.

Theory of operation
-------------------
:class:`OmapiServer` listens with an :class:`~aiomapi.server.accept.Acceptor` (which, unlike
:func:`asyncio.start_server`, leaks no connection accepted as the server closes) and runs one
coroutine per connection that reads, feeds the bytes to a
:class:`~aiomapi._sansio.server.ServerConnection`, hands accepted requests to the shared
:class:`~aiomapi.server.objects.Dispatcher` and writes the replies — strictly in request
order, as dhcpd does. Nothing here interprets the protocol.

Turns
~~~~~
Connections are served in turns: a turn serves at most ``turn_requests`` requests, found in
at most ``read_size`` bytes, and sends their replies with one ``write()``. A connection whose
client has sent more than a turn's worth then waits in a queue for its next turn, and the
queue grants one turn per iteration of the event loop. However many connections are
backlogged, a request that arrives is read in the next iteration and served in the one
after, behind a backlogged turn or two and the first turns of whatever arrived at the same
moment. With 20 connections pipelining 1,200 lookups each, another client's lookup is
answered in 1-2 ms (p99 about 10 ms on a busy two-core machine); before, it waited 0.6-1.8 s,
because dispatching never suspends for in-memory object types, so one connection's 64 KiB
read (a thousand lookups) was served to the end before anyone else was read. Yielding with
``sleep(0)`` after each turn is not enough: every backlogged connection then takes a turn in
every iteration, and a newcomer waits two turns of each of them (40 ms with 20 flooders).
memcached bounds the work per connection the same way (``-R``, 20 requests per event).
Throughput is the same within the noise of our measurements (about 30,000 signed lookups
a second from 20 pipelining connections on a two-core machine, before and after): sending a
turn's replies with one ``write()`` instead of one per reply pays for the queue.

Replies are flow-controlled per connection: above ``write_buffer_size`` of unsent replies a
connection waits for its client to read, for at most ``write_timeout``, then is dropped. A
client that resets its connection in the middle of a pipeline is not served further.

Connection slots
~~~~~~~~~~~~~~~~
A connection must make progress to keep its slot, and at the connection limits a newcomer
takes the slot of the most stalled connection in its way: :mod:`aiomapi.server.slots`.
This module keeps each slot's state (``established``, ``stalled_since``) and enforces the
deadlines (``startup_timeout``, ``message_timeout``, ``idle_timeout``) on the reads.

Other hardening (dhcpd has none of these; docs/dhcpd-behaviour.md, "Server behaviour and
limits" and "Requests that crash dhcpd"):

* ``max_message_size``: enforced by the framer on every announced length before anything is
  buffered, so a value length of 2**32-1 costs nothing (dhcpd allocates it up front).
* A protocol violation closes the connection as in dhcpd, but only after the replies to
  earlier requests have been delivered (dhcpd drops them); a client that does not
  take them within ``write_timeout`` loses them.
* A failing object type (an exception other than
  :class:`~aiomapi.server.objects.StatusError`) is answered with ISC_R_UNEXPECTED and logged;
  the connection and the server carry on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

from aiomapi._sansio.auth import Key
from aiomapi._sansio.events import AutoReply, ConnectionEnded, RequestReceived
from aiomapi._sansio.server import ServerConnection
from aiomapi._sansio.wire import Message, status_message
from aiomapi.errors import ResultCode
from aiomapi.server.accept import Acceptor
from aiomapi.server.limits import ServerLimits
from aiomapi.server.objects import Dispatcher, ObjectType
from aiomapi.server.slots import Slot, SlotTable

__all__ = ["OmapiServer", "ServerLimits", "serve"]

log = logging.getLogger("aiomapi.server")

# asyncio's stream buffer per connection: reading from the socket pauses above twice this.
# It only needs to hold a few turns' worth; the default 64 KiB of asyncio is kept.
_STREAM_LIMIT = 64 * 1024


class _Turns:
    """The queue of connections with a backlog: one turn per event-loop iteration, in order.

    A connection that has more to do than one turn waits here before each further turn (see
    "Turns" in the module doc). The grant is a callback that wakes the first waiter and, if
    more wait, schedules itself for the next iteration.
    """

    __slots__ = ("_granting", "_waiting")

    def __init__(self) -> None:
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._granting = False

    async def wait(self) -> None:
        """Return when it is this connection's turn again."""
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._waiting.append(turn)
        if not self._granting:
            self._granting = True
            loop.call_soon(self._grant, loop)
        await turn

    def _grant(self, loop: asyncio.AbstractEventLoop) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():  # a cancelled wait (eviction, close) gives its turn up
                turn.set_result(None)
                break
        if self._waiting:
            loop.call_soon(self._grant, loop)
        else:
            self._granting = False


class _Expired(Exception):
    """Internal: a deadline of the slot policy passed (the rule is the message)."""


def _failed(message: Message) -> Message:
    """The reply when an object type raised: one faulty type must not take the connection
    (or the server) down; the client gets an error it can act on, the log the traceback."""
    log.exception("object type failed on %r", message)
    return status_message(ResultCode.UNEXPECTED, "internal server error")


class _Watchdog:
    """The deadline of one connection's reads, on one timer that is seldom moved.

    Each read has a deadline (see "Connection slots" above), and nearly every read moves it
    later (``idle_timeout`` counts from the last request). ``asyncio.timeout_at`` around
    each read schedules and cancels a timer per request, a fifth of the server's work on a
    lease lookup. Here the timer stays where it was armed: when it fires before the
    deadline (which moved later meanwhile), it re-arms itself for the deadline; only a
    deadline that moves *earlier* re-arms it at once. When it fires past the deadline while
    the connection waits for bytes, it cancels the connection's task, and the read turns
    the cancellation into :class:`_Expired`.
    """

    __slots__ = ("_armed_at", "_handle", "_loop", "_task", "fired", "reading", "rule", "when")

    def __init__(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[None]) -> None:
        self._loop = loop
        self._task = task
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at = 0.0
        self.when: float | None = None
        self.rule = ""
        self.reading = False
        self.fired = False

    def set(self, when: float | None, rule: str) -> None:
        """The deadline of the next read (``None``: none)."""
        self.when, self.rule = when, rule
        if when is None:
            return  # a timer already armed finds no deadline and stops
        handle = self._handle
        if handle is None or when < self._armed_at:
            if handle is not None:
                handle.cancel()
            self._arm(when)

    def _arm(self, when: float) -> None:
        self._armed_at = when
        self._handle = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        when = self.when
        if when is None:
            return
        if when > self._armed_at:  # moved later since the timer was armed
            self._arm(when)
        elif self.reading and not self.fired:
            self.fired = True
            self._task.cancel()
        # else: not waiting for the client now; set() re-arms before the next read

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class OmapiServer:
    """An OMAPI server for the given object types.

    Args:
        types: the :class:`~aiomapi.server.objects.ObjectType` instances to serve, or a ready
            :class:`~aiomapi.server.objects.Dispatcher` (then ``key``/``known_keys`` must not
            be given).
        key: the ``omapi-key``; with it every request except the authenticator OPEN must be
            signed. ``None`` serves unsigned requests.
        known_keys: other keys clients may open (see :class:`Dispatcher`).
        host: address to listen on; ``127.0.0.1`` by default.
        port: TCP port; 0 picks a free one (see :attr:`port` after :meth:`start`).
        limits: resource limits.

    Use ``async with OmapiServer(...) as server:`` or :meth:`start` / :meth:`close`.
    """

    def __init__(
        self,
        types: Iterable[ObjectType[Any]] | Dispatcher = (),
        *,
        key: Key | None = None,
        known_keys: Iterable[Key] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        limits: ServerLimits | None = None,
    ) -> None:
        self.limits = limits if limits is not None else ServerLimits()
        if isinstance(types, Dispatcher):
            if key is not None or known_keys:
                raise ValueError("pass the keys to the Dispatcher, not to OmapiServer")
            self.dispatcher = types
        else:
            self.dispatcher = Dispatcher(
                types, key=key, known_keys=known_keys, max_handles=self.limits.max_handles
            )
        self.host = host
        self.port = port
        # Owns the connection tasks (close() ends every one it started) …
        self._acceptor: Acceptor | None = None
        # … and the slots they hold: an evicted connection gives its slot up at once.
        self._slots = SlotTable(self.limits)
        self._turns = _Turns()

    def __repr__(self) -> str:
        state = "listening" if self.listening else "stopped"
        return f"<OmapiServer {self.host}:{self.port} {state} connections={self.connections}>"

    @property
    def listening(self) -> bool:
        return self._acceptor is not None and self._acceptor.listening

    @property
    def connections(self) -> int:
        """Connections holding a slot now."""
        return len(self._slots)

    async def start(self) -> Self:
        """Start listening (no-op if already started).

        Raises:
            OSError: the address is taken.
        """
        if self._acceptor is not None:
            return self
        self._turns = _Turns()  # nothing of an earlier event loop
        acceptor = Acceptor(self._serve_client, limit=_STREAM_LIMIT)
        await acceptor.start(self.host, self.port)
        self._acceptor = acceptor
        assert acceptor.port is not None
        self.port = acceptor.port
        return self

    async def serve_forever(self) -> None:
        """Serve until cancelled or closed (starts the server if needed)."""
        if self._acceptor is None:
            await self.start()
        assert self._acceptor is not None
        with contextlib.suppress(asyncio.CancelledError):
            await self._acceptor.serve_forever()

    def stop_listening(self) -> None:
        """Refuse new connections; existing ones are served on."""
        if self._acceptor is not None:
            self._acceptor.stop()

    async def close(self) -> None:
        """Stop listening and close every connection, those accepted a moment ago included."""
        if self._acceptor is not None:
            await self._acceptor.close()

    async def close_connections(self) -> None:
        """Close every open connection (the listener is left as it is)."""
        if self._acceptor is None:
            return
        tasks = list(self._acceptor.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------ one connection

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        slot = self._slots.take(task, writer)
        if slot is None:
            writer.transport.abort()
            return
        graceful = False
        try:
            await self._run_connection(slot, reader, writer)
            graceful = True
        except asyncio.CancelledError:
            pass  # evicted, or the server is closing; the socket is closed below
        except (ConnectionError, OSError) as exc:
            log.debug("connection from %s: %s", slot.peer, exc)
        except _Expired as exc:
            log.debug("closing the connection from %s: %s passed", slot.peer, exc)
        except TimeoutError:
            log.debug("dropping the connection from %s: its replies go unread", slot.peer)
        finally:
            try:
                if graceful:  # deliver the replies already written, within write_timeout
                    writer.close()
                    # Waiting on the client to take them: evictable meanwhile.
                    slot.stalled_since = asyncio.get_running_loop().time()
                    async with asyncio.timeout(self.limits.write_timeout):
                        await writer.wait_closed()
            except (TimeoutError, ConnectionError, OSError, asyncio.CancelledError):
                # The client does not take its replies, or the server is closing: drop them
                # with the connection. (This task ends here either way; asyncio's server
                # callback would log a cancellation that escaped it.)
                pass
            finally:
                writer.transport.abort()
                self._slots.release(slot)

    async def _run_connection(
        self, slot: Slot, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        limits = self.limits
        loop = asyncio.get_running_loop()
        conn = ServerConnection(
            require_auth=self.dispatcher.require_auth, max_message_size=limits.max_message_size
        )
        transport = writer.transport
        transport.set_write_buffer_limits(high=limits.write_buffer_size)
        writer.write(conn.initiate())
        last_request = slot.accepted
        task = slot.task
        watchdog = _Watchdog(loop, task)
        try:
            await self._serve_requests(slot, conn, reader, writer, watchdog, last_request)
        finally:
            watchdog.stop()

    async def _serve_requests(
        self,
        slot: Slot,
        conn: ServerConnection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        watchdog: _Watchdog,
        last_request: float,
    ) -> None:
        limits = self.limits
        loop = asyncio.get_running_loop()
        transport = writer.transport
        task = slot.task
        handle = self.dispatcher.handle
        while True:
            # --- wait for bytes, under the deadline that applies now
            deadline, rule = None, ""
            if not slot.established:
                if limits.startup_timeout is not None:
                    deadline, rule = slot.accepted + limits.startup_timeout, "startup_timeout"
            elif conn.buffered:
                if slot.stalled_since is None:
                    slot.stalled_since = loop.time()
                if limits.message_timeout is not None:
                    deadline = slot.stalled_since + limits.message_timeout
                    rule = "message_timeout"
            if limits.idle_timeout is not None:
                idle_end = last_request + limits.idle_timeout
                if deadline is None or idle_end < deadline:
                    deadline, rule = idle_end, "idle_timeout"
            watchdog.set(deadline, rule)
            watchdog.reading = True
            try:
                data = await reader.read(limits.read_size)
            except asyncio.CancelledError:
                if watchdog.fired and task.uncancel() == 0:
                    raise _Expired(watchdog.rule) from None
                raise
            finally:
                watchdog.reading = False
            if not data or transport.is_closing():
                conn.connection_lost()
                return
            events = conn.receive_data(data)
            if events:  # a message is complete: the next one, if begun, has a fresh clock
                slot.stalled_since = None
            # --- serve the requests found, a turn at a time
            for first in range(0, len(events), limits.turn_requests):
                if first:
                    await self._turns.wait()
                out: list[bytes] = []
                closing: ConnectionEnded | None = None
                for event in events[first : first + limits.turn_requests]:
                    if isinstance(event, RequestReceived):
                        try:
                            reply = await handle(conn, event.message)
                        except Exception:
                            reply = _failed(event.message)
                        out.append(conn.send_reply(event, reply))
                    elif isinstance(event, AutoReply):
                        out.append(event.data)
                    else:
                        assert isinstance(event, ConnectionEnded)
                        closing = event
                        break
                if transport.is_closing():  # the client is gone: its pipeline goes unserved
                    conn.connection_lost()
                    return
                if out:
                    transport.write(b"".join(out))  # what StreamWriter.write does, a call less
                    last_request = loop.time()
                if closing is not None:
                    log.debug("closing the connection from %s: %s", slot.peer, closing.reason)
                    return
                if transport.get_write_buffer_size() > limits.write_buffer_size:
                    slot.stalled_since = loop.time()  # waiting on the client to read
                    async with asyncio.timeout(limits.write_timeout):
                        await writer.drain()
                    slot.stalled_since = None
            if not slot.established:
                slot.established = conn.established
            if len(data) == limits.read_size:
                # The stream may hold more (read() returns what is there, up to the size
                # asked), so the next read is a backlog too. Fewer bytes than asked: the
                # stream is empty and the next read waits for the client.
                await self._turns.wait()


async def serve(
    types: Iterable[ObjectType[Any]] | Dispatcher = (),
    *,
    key: Key | None = None,
    known_keys: Iterable[Key] = (),
    host: str = "127.0.0.1",
    port: int = 0,
    limits: ServerLimits | None = None,
) -> OmapiServer:
    """Start an :class:`OmapiServer` and return it (listening).

    ``server = await aiomapi.serve([MyType()], key=key, port=7911)`` then
    ``await server.serve_forever()``, or ``async with server: ...``.
    """
    return await OmapiServer(
        types, key=key, known_keys=known_keys, host=host, port=port, limits=limits
    ).start()
