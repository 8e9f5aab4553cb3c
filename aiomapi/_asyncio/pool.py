"""A pool of OMAPI connections to one server.

Theory of operation
-------------------
A request goes straight to a connection that is *accepting*: one with nothing queued
locally, so that it either writes the request at once or holds it as its single next
request, written the moment the in-flight budget allows. Of the connections, two are
looked at in turn and the less loaded one is taken ("two choices": O(1) per request
whatever the pool size). When neither accepts, the caller waits in the pool's FIFO, and
the first connection that accepts again (a reply came back, or it has just opened) takes
the first waiter. So a burst of a thousand lookups is spread over every connection as
each frees up, including connections opened after the burst began.

Lease and host lookups go one at a time per connection (their replies have no size bound,
see :mod:`aiomapi._sansio.budget`), so their concurrency comes from connections. While callers
wait and the pool is below its size, one more connection is opened in the background: one
at a time, because dhcpd listens with a backlog of 1 and drops SYNs beyond it; dhcpd also
caps OMAPI connections near 190, so :data:`MAX_CONNECTIONS` bounds the pool well below
that. A connection that fails is dropped, and a waiter that finds no live connection opens
a new one. Requests are never retried behind the caller's back once written: an UPDATE or
DELETE may have taken effect before the connection broke.

A batch (:mod:`aiomapi._asyncio.batch`) stands in the same FIFO as a :class:`Lane`: when a
connection accepts a request and the lane is first in line, the pool offers it the
connection at once, from inside the callback that freed it, and the lane writes its next
request there (or declines, and the next in line gets it). A lane that wants more
connections joins the back of the line again, so single callers keep their place.

A call's ``timeout`` bounds the whole call: waiting for a connection to open (which itself
gives up after ``connect_timeout``), waiting in the pool's queue and in the in-flight
budget, and the reply. A call whose time ran out before its request was written fails
without sending anything.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import contextlib

from mypy_extensions import mypyc_attr

from aiomapi._asyncio.connection import Connection
from aiomapi._asyncio.deadlines import Deadlines, Expired
from aiomapi._sansio.auth import Key
from aiomapi._sansio.client import Request
from aiomapi._sansio.wire import DEFAULT_MAX_MESSAGE_SIZE, Message
from aiomapi.errors import ConnectionClosed, NetworkError, OmapiError, TimeoutError, caused

#: dhcpd closes accepted sockets past fd 200, about 190 connections (docs/dhcpd-behaviour.md,
#: "Server behaviour and limits").
MAX_CONNECTIONS = 64


@mypyc_attr(allow_interpreted_subclasses=True)  # subclassed by interpreted code
class Lane:
    """A waiter that is offered connections instead of awaiting a future (a batch)."""

    __slots__ = ()

    def offer(self, conn: Connection) -> bool:
        """``conn`` accepts a request: use it now and return True, or decline with False."""
        raise NotImplementedError

    def fail(self, error: OmapiError) -> None:
        """No connection can be had: the last attempt to open one failed with ``error``."""
        raise NotImplementedError


class Pool:
    """Up to ``size`` connections to ``host:port``, opened on demand."""

    def __init__(
        self,
        host: str,
        port: int,
        key: Key | None,
        *,
        size: int = 1,
        timeout: float | None = 10.0,
        connect_timeout: float | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        if not 1 <= size <= MAX_CONNECTIONS:
            raise ValueError(f"connections must be between 1 and {MAX_CONNECTIONS}, got {size}")
        self.host, self.port, self.size = host, port, size
        self.timeout = timeout
        self.connect_timeout = timeout if connect_timeout is None else connect_timeout
        self._key = key
        self._max_message_size = max_message_size
        self._connections: list[Connection] = []
        self._turn = 0
        self._waiters: collections.deque[asyncio.Future[Connection] | Lane] = collections.deque()
        self._deadlines: Deadlines | None = None  # made on first use, on the running loop
        self._opening: asyncio.Task[Connection] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<Pool {self.host}:{self.port} size={self.size} "
            f"live={len(self._live())} key={self._key!r}>"
        )

    @property
    def connections(self) -> list[Connection]:
        """The live connections."""
        return self._live()

    async def start(self) -> None:
        """Open the first connection (so that connect and key errors surface early)."""
        await self._acquire()

    async def request(self, request: Request, timeout: float | None) -> Message:
        """Send ``request`` on an accepting connection and wait for its reply.

        ``timeout`` covers opening a connection if one is needed, waiting for a connection
        and for room in the in-flight budget, and the reply.
        """
        conn = self._pick()
        if conn is not None and conn.accepting:
            return await conn.request(request, timeout)
        loop = asyncio.get_running_loop()
        start = loop.time()
        if conn is not None:  # every connection is busy: wait in the FIFO
            conn = await self._wait_in_line(loop, start, timeout)
            if not conn.closed:
                return await self._send_on(conn, request, start, timeout)
        # No live connection (or the one handed over has closed since): wait for one.
        deadline = asyncio.timeout(None if timeout is None else start + timeout - loop.time())
        try:
            async with deadline:
                conn = await self._wait_for_connection()
        except builtins.TimeoutError as exc:
            if not deadline.expired():
                raise  # the connection attempt itself timed out (connect_timeout)
            doing = "waiting for a free connection to" if self._connections else "connecting to"
            raise caused(
                TimeoutError(
                    f"{doing} {self.host}:{self.port} took longer than the call's timeout of "
                    f"{timeout:g} s"
                ),
                exc,
            )
        return await self._send_on(conn, request, start, timeout)

    async def _send_on(
        self, conn: Connection, request: Request, start: float, timeout: float | None
    ) -> Message:
        """Send ``request`` on ``conn`` with what is left of the call's ``timeout``."""
        if timeout is None:
            return await conn.request(request, None)
        remaining = timeout - (asyncio.get_running_loop().time() - start)
        if remaining <= 0:
            raise TimeoutError(
                f"waiting for a connection to {self.host}:{self.port} used the call's whole "
                f"timeout of {timeout:g} s"
            )
        return await conn.request(request, remaining, call_timeout=timeout)

    async def _wait_in_line(
        self, loop: asyncio.AbstractEventLoop, start: float, timeout: float | None
    ) -> Connection:
        """Wait in the FIFO for the next connection that accepts a request.

        The hot path when callers outnumber connections: one future, and a deadline that
        shares the pool's one timer with every other waiter's.
        """
        waiter: asyncio.Future[Connection] = loop.create_future()
        self._waiters.append(waiter)
        deadlines = self._deadlines
        if deadlines is None:
            deadlines = self._deadlines = Deadlines(loop)
        timer = deadlines.expire_at(start + timeout, waiter) if timeout is not None else None
        try:
            return await waiter
        except Expired as exc:
            raise caused(
                TimeoutError(
                    f"waiting for a free connection to {self.host}:{self.port} took longer than "
                    f"the call's timeout of {timeout:g} s"
                ),
                exc,
            )
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._wake(waiter.result())  # handed a connection, but gone: pass it on
            else:
                waiter.cancel()  # skipped when the waiters are woken
            raise
        finally:
            if timer is not None:
                timer.cancel()
            deadlines.forget_done()

    async def _wait_for_connection(self) -> Connection:
        """Wait in the FIFO until a live connection accepts a request."""
        loop = asyncio.get_running_loop()
        while True:
            conn = self._pick()
            if conn is not None and conn.accepting:
                return conn
            if conn is None:
                await self._open()  # the new connection wakes the first waiter
                continue
            waiter: asyncio.Future[Connection] = loop.create_future()
            self._waiters.append(waiter)
            try:
                conn = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._wake(waiter.result())  # handed a connection, but gone: pass it on
                else:
                    waiter.cancel()  # skipped when the waiters are woken
                raise
            if not conn.closed:
                return conn

    async def wait_accepting(self, timeout: float | None) -> Connection:
        """A live connection that accepts a request, waiting in the FIFO (and opening
        connections) for at most ``timeout`` seconds.

        Raises:
            aiomapi.TimeoutError, aiomapi.NetworkError: as :meth:`request` does before
                sending; aiomapi.ConnectionClosed: the pool is closed.
        """
        conn = self._pick()
        if conn is not None and conn.accepting:
            return conn
        loop = asyncio.get_running_loop()
        deadline = asyncio.timeout(None if timeout is None else loop.time() + timeout)
        try:
            async with deadline:
                return await self._wait_for_connection()
        except builtins.TimeoutError as exc:
            if not deadline.expired():
                raise
            doing = "waiting for a free connection to" if self._connections else "connecting to"
            raise caused(
                TimeoutError(
                    f"{doing} {self.host}:{self.port} took longer than the call's timeout of "
                    f"{timeout:g} s"
                ),
                exc,
            )

    def enlist(self, lane: Lane) -> None:
        """Put ``lane`` at the back of the FIFO; open another connection if there is room."""
        if self._closed:
            lane.fail(ConnectionClosed("the client is closed"))
            return
        self._waiters.append(lane)
        if (
            self._opening is None
            and len(self._connections) < self.size  # the cheap test first: this is per request
            and len(self._live()) < self.size
        ):
            self._start_opening()

    def withdraw(self, lane: Lane) -> None:
        """Take ``lane`` out of the FIFO."""
        with contextlib.suppress(ValueError):
            self._waiters.remove(lane)

    def _wake(self, conn: Connection) -> None:
        """``conn`` accepts a request (or has closed): hand it to the first waiter."""
        waiters = self._waiters
        if conn.closed:
            if waiters and self._opening is None and not self._closed:
                self._start_opening()  # a waiter must not wait for a pool with no one left
            return
        while waiters:
            waiter = waiters.popleft()
            if isinstance(waiter, Lane):
                if waiter.offer(conn):
                    return
            elif not waiter.done():
                waiter.set_result(conn)
                return

    async def _acquire(self) -> Connection:
        return self._pick() or await self._open()

    def _pick(self) -> Connection | None:
        """The less loaded of two live connections taken in turn (opening another if it is
        busy and there is room), or ``None`` if there is none yet."""
        if self._closed:
            raise ConnectionClosed("the client is closed")
        live = self._connections
        count = len(live)
        if count == 1:
            best = live[0]
        elif count:
            turn = self._turn = self._turn + 1
            best = live[turn % count]
            other = live[(turn + (count >> 1)) % count]
            if other.load < best.load:
                best = other
        else:
            return None
        if best.closed:  # drop closed connections, then choose again
            self._connections = [c for c in live if not c.closed]
            return self._pick()
        if best.load and count < self.size and self._opening is None:
            self._start_opening()
        return best

    def _start_opening(self) -> None:
        """Open one more connection in the background, unless one is being opened: one at a
        time (two at once would overshoot the pool's size, and dhcpd's backlog of 1 drops
        the second SYN)."""
        if self._opening is not None:
            return
        self._opening = asyncio.create_task(self._open_one())
        self._opening.add_done_callback(_consume_exception)

    async def _open(self) -> Connection:
        self._start_opening()  # or join the opening under way
        assert self._opening is not None
        return await asyncio.shield(self._opening)

    async def _open_one(self) -> Connection:
        try:
            conn = await Connection.open(
                self.host,
                self.port,
                self._key,
                timeout=self.connect_timeout,
                max_message_size=self._max_message_size,
            )
        except OmapiError as exc:
            self._opening = None
            if not self._live():
                self._fail_waiters(exc)  # nothing left that could serve them
            raise
        finally:
            self._opening = None
        if self._closed:
            conn.close()
            raise ConnectionClosed("the client is closed")
        self._connections.append(conn)
        conn.on_accepting = self._wake
        self._wake(conn)
        if self._waiters and len(self._connections) < self.size:
            self._start_opening()  # callers still wait: open the next one (if a woken one has not)
        return conn

    def _fail_waiters(self, error: OmapiError) -> None:
        """Fail every caller waiting for a connection; their requests were never sent."""
        waiters, self._waiters = self._waiters, collections.deque()
        for waiter in waiters:
            if isinstance(waiter, Lane):
                waiter.fail(_unsent(error, self.host, self.port))
            elif not waiter.done():
                waiter.set_exception(_unsent(error, self.host, self.port))

    def _live(self) -> list[Connection]:
        if any(c.closed for c in self._connections):
            self._connections = [c for c in self._connections if not c.closed]
        return self._connections

    async def close(self) -> None:
        """Close every connection; pending requests fail with ConnectionClosed."""
        self._closed = True
        if self._opening is not None:
            self._opening.cancel()
            with contextlib.suppress(asyncio.CancelledError, OmapiError, OSError):
                await self._opening
        for conn in self._connections:
            conn.close()
        self._connections = []
        self._fail_waiters(ConnectionClosed("the client is closed"))
        await asyncio.sleep(0)  # let transports run their close callbacks


def _unsent(error: OmapiError, host: str, port: int) -> OmapiError:
    """The error for a caller whose request could not be sent because of ``error``."""
    if isinstance(error, NetworkError | TimeoutError):
        return error
    unsent = NetworkError(f"no connection to {host}:{port}: {error}")
    unsent.__cause__ = error
    return unsent


def _consume_exception(task: asyncio.Task[Connection]) -> None:
    if not task.cancelled():
        task.exception()  # the awaiting caller reports it; don't log "never retrieved"
