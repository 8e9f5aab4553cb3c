"""Deadlines for many futures, served by one timer while they come in order.

Theory of operation
-------------------
Every request of a client usually has the same timeout, so deadlines arrive in the order
they fall. :class:`Deadlines` keeps them in a FIFO served by a single ``call_at`` timer:
arming one costs an append, and a future that finishes in time costs nothing but its
removal from the head (:meth:`Deadlines.forget_done`). A deadline earlier than the last
one gets a timer of its own, which :meth:`Deadlines.expire_at` returns for the caller to
cancel. An expired future fails with :class:`Expired`, which the caller turns into the
error that says what took too long.

When the timer fires, every deadline within :data:`RESOLUTION` of the loop's time expires
in the same pass, as asyncio's own loop runs every timer due within its clock's
resolution. uvloop's clock counts whole milliseconds: without the allowance, two requests
sent a few microseconds apart with the same timeout could expire a millisecond apart, and
the second would fail with the first's ConnectionClosed instead of its own timeout.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
from typing import Any

#: Deadlines this close to the loop's time count as due: the coarsest clock aiomapi runs on
#: (uvloop's, in milliseconds).
RESOLUTION = 0.001


class Expired(builtins.TimeoutError):
    """Set on a future whose deadline passed."""


def expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(Expired())


class Deadlines:
    """Deadlines of futures on one event loop (see module doc)."""

    __slots__ = ("_loop", "_queue", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: collections.deque[tuple[float, asyncio.Future[Any]]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        """Deadlines still kept (finished futures at the head are dropped lazily)."""
        return len(self._queue)

    def expire_at(self, deadline: float, future: asyncio.Future[Any]) -> asyncio.TimerHandle | None:
        """Make ``future`` fail with :class:`Expired` at ``deadline`` (loop time) unless it
        is done before; returns a timer to cancel if the deadline needed one of its own."""
        queue = self._queue
        if queue and deadline < queue[-1][0]:
            return self._loop.call_at(deadline, expire, future)
        queue.append((deadline, future))
        if self._timer is None:
            self._timer = self._loop.call_at(deadline, self._expire_due)
        return None

    def forget_done(self) -> None:
        """Drop finished futures from the head of the FIFO."""
        queue = self._queue
        while queue and queue[0][1].done():
            queue.popleft()

    def clear(self) -> None:
        """Forget every deadline (the futures are failed or abandoned by the caller)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()

    def _expire_due(self) -> None:
        self._timer = None
        queue = self._queue
        now = self._loop.time()
        while queue:
            deadline, future = queue[0]
            if not future.done():
                if deadline > now + RESOLUTION:
                    self._timer = self._loop.call_at(deadline, self._expire_due)
                    return
                expire(future)
            queue.popleft()
