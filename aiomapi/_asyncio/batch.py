"""The batch path: many requests through the pool with no task and no future per request.

Theory of operation
-------------------
A :class:`Batch` is a pump. It stands in the pool's FIFO of waiting callers as a
:class:`~aiomapi._asyncio.pool.Lane`. When a connection accepts a request and the batch is
first in line, the pool offers it the connection from inside the callback that freed it
(``data_received`` of the reply that just came); the batch pulls the next item from its
iterator, encodes it and hands it to :meth:`Connection.send
<aiomapi._asyncio.connection.Connection.send>` with a small ticket as the reply's
:class:`~aiomapi._asyncio.connection.ReplySink`. The reply, when it comes, is delivered to
the ticket in the same way, and the ticket puts it on the batch's ready queue. The consumer
(the ``async for``) sleeps on one future only when that queue is empty, and then takes every
result that came in while it slept.

What goes on the wire is decided exactly as for any other request: the connection asks the
per-connection in-flight budget (:mod:`aiomapi._sansio.budget`). The batch writes on a
connection only while it can write at once (:attr:`Connection.writable
<aiomapi._asyncio.connection.Connection.writable>`) and queues nothing ahead on it: when a
reply comes, the connection is offered again from inside the callback that received it,
and the next request is written there. For lease lookups, whose replies have no size
bound, that is one request on the wire per connection, the next one written the moment
its reply is in. Queueing one ahead, as earlier versions did, gave 10-15 % fewer lookups
a second with 4 to 16 connections in alternating runs against the real dhcpd; the
client's instructions per lookup differ by only 2 % (callgrind), so the rest is in when
requests reach dhcpd and replies come back, which those runs did not take apart. The
exception is a pool of one connection: there nothing else
keeps dhcpd busy while the next request is prepared, so the batch queues one ahead,
written the moment the reply is in (against the real dhcpd: 8,300-9,100 lookups/s
without it, 11,300-12,100 with). A connection the pool offers while another caller's
request is on it also takes one request, queued, so that no offer is declined for being
busy.

A batch spreads over the pool's connections and opens more, up to the pool's size, as a
crowd of callers would. After each connection it uses it goes to the back of the line, so
single callers of the same client keep their turn.

The rest of a lookup's life is as for :meth:`Pool.request
<aiomapi._asyncio.pool.Pool.request>`:

* each request has the call's ``timeout``, counted from when it is handed to the
  connection; one timer serves every ticket of a batch (their deadlines come in order).
  A request that was written and got no reply in time closes its connection, and the
  other requests on it fail with ``ConnectionClosed``;
* a connection that fails delivers its error to every ticket on it; nothing is retried;
* with no live connection the consumer itself waits for one (opening it), and if that
  fails, the items it would have sent each get that error, as callers waiting for a
  connection would;
* items are pulled lazily; the items pulled and not yet yielded are at most
  ``window``, so a generator of a million items costs memory for ``window`` of them;
* leaving the ``async for`` takes back the requests not yet written; replies to those
  written are drained by their connections.

Rate limits (:class:`~aiomapi._asyncio.pacing.Pacer`) are asked before each request; when a
token is missing the batch declines the connections it is offered and arms one timer.

This module runs compiled with mypyc (docs/speedups.md), which compiles no async generator:
the ``async for`` the consumer runs is :func:`aiomapi._asyncio.batch_results.results`, a
loop that only suspends and resumes; every decision it acts on is a method here
(:meth:`Batch.next_result`, :meth:`Batch.idle`).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from typing import Any, Final, Generic, TypeAlias, TypeVar

from aiomapi._asyncio.batch_results import Batcher, Idle, results
from aiomapi._asyncio.connection import Connection, Queued, ReplySink
from aiomapi._asyncio.deadlines import RESOLUTION
from aiomapi._asyncio.pacing import Pacer
from aiomapi._asyncio.pool import Lane, Pool
from aiomapi._sansio.client import Request
from aiomapi._sansio.events import Decoded
from aiomapi._sansio.wire import Message
from aiomapi.errors import OmapiError

__all__ = ["Batch", "Batcher", "Encode", "Finish"]

K = TypeVar("K")
V = TypeVar("V")

#: Turns an item into its request; an OmapiError it raises is that item's result.
Encode: TypeAlias = Callable[[K], Request]
#: Turns a request's reply (or its error) into the item's result; runs in the consumer, so
#: anything but an OmapiError it raises ends the batch.
Finish: TypeAlias = Callable[[Request, Message | OmapiError | Decoded], V | OmapiError]

#: While a rate limit holds the batch back it sleeps at least this long, so that a wake-up
#: sends several requests rather than one (20 at 2,000/s). The bucket holds 50 ms of tokens,
#: so the rate is kept exactly; only its grain is 10 ms. Measured on the embedded server at
#: 2,000/s: 1 ms cost the client 89-93 µs a lookup, 5 ms 48-50, 10 ms 44 (20 ms no better);
#: at 1,000/s, 125 µs against 52.
RATE_TICK: Final = 0.01

# Bound once: compiled with mypyc, reading an enum member is a lookup through its metaclass.
_DONE: Final = Idle.DONE
_CONNECT: Final = Idle.CONNECT
_WAIT: Final = Idle.WAIT


class _Ticket(ReplySink, Generic[K]):
    """One request of a batch, from its sending to its reply."""

    __slots__ = ("batch", "conn", "deadline", "finished", "index", "item", "queued", "request")

    def __init__(self, batch: Batch[K, Any], index: int, item: K, request: Request) -> None:
        self.batch = batch
        self.index = index
        self.item = item
        self.request = request
        self.conn: Connection | None = None
        self.queued: Queued | None = None
        self.deadline = 0.0
        self.finished = False

    def done(self) -> bool:
        return self.finished

    def deliver(self, result: Message | OmapiError | Decoded) -> None:
        if not self.finished:
            self.finished = True
            self.batch._arrived(self, result)


#: A result waiting for the consumer: (index, item, request or None, reply or error).
_Ready: TypeAlias = tuple[int, K, Request | None, Message | OmapiError | Decoded]


class Batch(Lane, Generic[K, V]):
    """Requests for ``items`` through ``pool``, results as ``(item, result)`` (module doc).

    Args:
        pool: the client's pool.
        items: any iterable, pulled lazily.
        encode: the request for an item.
        finish: the item's result from the reply.
        window: the most items pulled and not yet yielded (at least 1).
        ordered: yield in input order instead of as replies come.
        timeout: seconds for each request once handed to a connection; ``None``: none.
        pacers: rate limits every request must pass.
    """

    __slots__ = (
        "_bug",
        "_closed",
        "_deadlines",
        "_encode",
        "_enlisted",
        "_exhausted",
        "_finish",
        "_held",
        "_in_flight",
        "_live",
        "_loop",
        "_next_index",
        "_ordered",
        "_outstanding",
        "_pacers",
        "_pool",
        "_pulled",
        "_rate_timer",
        "_ready",
        "_source",
        "_taken",
        "_timeout",
        "_timer",
        "_wakeup",
        "_window",
    )

    def __init__(
        self,
        pool: Pool,
        items: Iterable[K],
        encode: Encode[K],
        finish: Finish[V],
        *,
        window: int,
        ordered: bool = False,
        timeout: float | None = None,
        pacers: tuple[Pacer, ...] = (),
    ) -> None:
        if window < 1:
            raise ValueError(f"concurrency must be at least 1, got {window}")
        self._pool = pool
        self._source: Iterator[K] = iter(items)
        self._encode = encode
        self._finish = finish
        self._window = window
        self._ordered = ordered
        self._timeout = timeout
        self._pacers = pacers
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pulled = 0
        self._outstanding = 0  # pulled and not yet yielded
        self._in_flight = 0  # handed to a connection, no reply yet
        self._exhausted = False
        self._closed = False
        self._bug: BaseException | None = None
        self._enlisted = False
        self._ready: collections.deque[_Ready[K]] = collections.deque()
        self._live: set[_Ticket[K]] = set()
        self._deadlines: collections.deque[_Ticket[K]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._rate_timer: asyncio.TimerHandle | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._held: dict[int, tuple[K, V | OmapiError]] = {}
        self._next_index = 0
        self._taken = False  # a result was taken since room was last used

    def __repr__(self) -> str:
        return (
            f"<Batch pulled={self._pulled} in-flight={self._in_flight} "
            f"ready={len(self._ready)} enlisted={self._enlisted}>"
        )

    # ------------------------------------------------------------ the consumer

    def results(self) -> AsyncGenerator[tuple[K, V | OmapiError], None]:
        """Run the batch; ``(item, result)`` for every item."""
        return results(self)

    def begin(self) -> None:
        """The consumer starts: bind the running loop, send what can be sent."""
        self._loop = asyncio.get_running_loop()
        self._refill()

    def next_result(self) -> tuple[K, V | OmapiError] | None:
        """The next ``(item, result)`` to yield, or ``None`` when none is ready.

        Room that the results yielded since the last call opened is used first (the
        consumer has taken them); in input order (``ordered``), results that came early
        are held until the ones before them are yielded.
        """
        held = self._held
        while True:
            if held and self._next_index in held:
                entry = held.pop(self._next_index)
                self._next_index += 1
                self._outstanding -= 1
                return entry
            if self._taken:
                self._taken = False
                if not self._enlisted:
                    self._refill()
            if not self._ready:
                return None
            index, item, request, raw = self._ready.popleft()
            value: V | OmapiError
            if request is not None:
                value = self._finish(request, raw)
            else:
                assert isinstance(raw, OmapiError)  # an item's error, nothing sent
                value = raw
            self._taken = True
            if self._ordered:
                held[index] = (item, value)
                continue
            self._outstanding -= 1
            return item, value

    def idle(self) -> Idle:
        """What the consumer does when no result is ready (raises a bug in the items)."""
        if self._bug is not None:
            raise self._bug
        if not self._in_flight:
            if self._exhausted:
                return _DONE
            if not self._enlisted and self._rate_timer is None:
                return _CONNECT
        return _WAIT

    def sleep(self) -> asyncio.Future[None]:
        """The future the consumer waits on until a result comes (or something changes)."""
        loop = self._loop
        assert loop is not None
        waiter = self._wakeup = loop.create_future()
        return waiter

    def woke(self) -> None:
        self._wakeup = None

    async def without_connection(self) -> None:
        """Nothing in flight and no place in line: wait for a connection (opening one)."""
        try:
            conn = await self._pool.wait_accepting(self._timeout)
        except OmapiError as exc:
            # The items that would have waited for it get the error, as callers would.
            for _ in range(max(1, self._window - self._outstanding)):
                if self._pull_failed(exc):
                    break
            return
        self._use(conn)
        self._enlist()

    def _pull_failed(self, error: OmapiError) -> bool:
        """Pull one item and give it ``error``; True when there is none left."""
        pulled = self._pull()
        if pulled is None:
            return True
        self._ready.append((pulled[0], pulled[1], None, error))
        return False

    # ------------------------------------------------------------ the pool's side

    def offer(self, conn: Connection) -> bool:
        """The pool offers ``conn`` (we were first in line)."""
        self._enlisted = False
        used = self._use(conn)
        self._enlist()
        return used

    def fail(self, error: OmapiError) -> None:
        """No connection could be opened: the consumer will try itself and report."""
        self._enlisted = False
        self._wake()

    # ------------------------------------------------------------ sending

    def _wants(self) -> bool:
        return (
            self._outstanding < self._window
            and not self._exhausted
            and not self._closed
            and self._bug is None
        )

    def _enlist(self) -> None:
        if not self._enlisted and self._rate_timer is None and self._wants():
            self._enlisted = True
            self._pool.enlist(self)

    def _refill(self) -> None:
        """Room may have opened: use idle connections, then stand in line for more."""
        if self._enlisted or self._rate_timer is not None or not self._wants():
            return
        for conn in tuple(self._pool.connections):
            if conn.writable and not self._use(conn):
                break
        self._enlist()

    def _use(self, conn: Connection) -> bool:
        """Send on ``conn`` while it writes at once; whether any request was sent.

        A connection offered while it cannot write at once (the pool hands over one that
        accepts: another caller's request may have just been written on it) still takes
        one request, queued, so that an offer is never declined for being busy: the pool
        would offer it to this batch again at once. A pool of one connection gets one
        request queued ahead (module doc).
        """
        sent = False
        pacers = self._pacers
        ahead = self._pool.size == 1  # see the module doc: one ahead on a lone connection
        while self._wants() and (conn.writable or ((ahead or not sent) and conn.accepting)):
            if pacers and not self._paced():
                break
            if not self._send_one(conn):
                break
            sent = True
        return sent

    def _paced(self) -> bool:
        """Take a token from every limit, or arm the timer and return False."""
        loop = self._loop
        assert loop is not None
        now = loop.time()
        delay = max(p.delay(now) for p in self._pacers)
        if delay > 0:
            if self._rate_timer is None:
                self._rate_timer = loop.call_at(now + max(delay, RATE_TICK), self._rate_due)
            return False
        for pacer in self._pacers:
            pacer.take(now)
        return True

    def _rate_due(self) -> None:
        self._rate_timer = None
        self._refill()
        if not self._in_flight:
            self._wake()  # the consumer may have to find a connection itself

    def _pull(self) -> tuple[int, K] | None:
        """The next item and its index, or None when the items are exhausted (or broke)."""
        try:
            item = next(self._source)
        except StopIteration:
            self._exhausted = True
            self._wake()
            return None
        except Exception as exc:  # a bug in the items: the consumer raises it
            self._bug = exc
            self._wake()
            return None
        index = self._pulled
        self._pulled = index + 1
        self._outstanding += 1
        return index, item

    def _send_one(self, conn: Connection) -> bool:
        """Pull items until one is sent on ``conn``; items that cannot be sent get their
        error at once. False if none was sent."""
        while self._wants():
            pulled = self._pull()
            if pulled is None:
                return False
            index, item = pulled
            try:
                request = self._encode(item)
            except OmapiError as exc:
                self._ready.append((index, item, None, exc))
                self._wake()
                continue
            ticket = _Ticket(self, index, item, request)
            ticket.conn = conn
            self._live.add(ticket)
            self._in_flight += 1
            try:
                ticket.queued = conn.send(request, ticket)
            except OmapiError as exc:
                self._live.discard(ticket)
                self._in_flight -= 1
                ticket.finished = True
                self._ready.append((index, item, None, exc))
                self._wake()
                continue
            if self._timeout is not None and not ticket.finished:
                self._arm(ticket)
            return True
        return False

    # ------------------------------------------------------------ replies

    def _arrived(self, ticket: _Ticket[K], result: Message | OmapiError | Decoded) -> None:
        self._live.discard(ticket)
        self._in_flight -= 1
        self._ready.append((ticket.index, ticket.item, ticket.request, result))
        waiter = self._wakeup
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake(self) -> None:
        waiter = self._wakeup
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ------------------------------------------------------------ deadlines

    def _arm(self, ticket: _Ticket[K]) -> None:
        loop = self._loop
        assert loop is not None
        assert self._timeout is not None
        ticket.deadline = loop.time() + self._timeout
        deadlines = self._deadlines
        while deadlines and deadlines[0].finished:
            deadlines.popleft()
        deadlines.append(ticket)
        if self._timer is None:
            self._timer = loop.call_at(ticket.deadline, self._expire_due)

    def _expire_due(self) -> None:
        self._timer = None
        loop = self._loop
        assert loop is not None
        assert self._timeout is not None
        now = loop.time()
        deadlines = self._deadlines
        while deadlines:
            ticket = deadlines[0]
            if not ticket.finished:
                if ticket.deadline > now + RESOLUTION:
                    self._timer = loop.call_at(ticket.deadline, self._expire_due)
                    return
                assert ticket.conn is not None
                ticket.conn.expire(ticket, ticket.queued, self._timeout)
            deadlines.popleft()

    # ------------------------------------------------------------ the end

    def close(self) -> None:
        """Stop: leave the line, take back what was not written, drop the timers."""
        self._closed = True
        if self._enlisted:
            self._enlisted = False
            self._pool.withdraw(self)
        for timer in (self._timer, self._rate_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._rate_timer = None
        live, self._live = self._live, set()
        for ticket in live:
            ticket.finished = True  # a reply still to come is drained by its connection
            if ticket.conn is not None:
                ticket.conn.unqueue(ticket.queued)
        self._deadlines.clear()
        self._ready.clear()
