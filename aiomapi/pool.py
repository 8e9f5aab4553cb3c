"""A pool of OMAPI connections to one server.

Theory of operation
-------------------
Each request goes to the live connection with the least load (requests in flight plus
queued). When every live connection is busy and the pool is below its size, one more
connection is opened in the background — one at a time, because dhcpd listens with a backlog
of 1 and drops SYNs beyond it (reference §8); dhcpd also caps OMAPI connections near 190,
so :data:`MAX_CONNECTIONS` bounds the pool well below that. A connection that fails is
dropped from the pool, and the next request that finds no live connection opens a new one.
Requests are never retried behind the caller's back: an UPDATE or DELETE may have taken
effect before the connection broke.
"""

from __future__ import annotations

import asyncio
import contextlib

from .auth import Key
from .connection import Connection
from .errors import ConnectionClosed, OmapiError
from .protocol import Request
from .wire import DEFAULT_MAX_MESSAGE_SIZE, Message

#: dhcpd closes accepted sockets past fd 200, about 190 connections (reference §8).
MAX_CONNECTIONS = 64


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
        reply_size_hint: int | None = None,
    ) -> None:
        if not 1 <= size <= MAX_CONNECTIONS:
            raise ValueError(f"connections must be between 1 and {MAX_CONNECTIONS}, got {size}")
        self.host, self.port, self.size = host, port, size
        self.timeout = timeout
        self.connect_timeout = timeout if connect_timeout is None else connect_timeout
        self._key = key
        self._max_message_size = max_message_size
        self._reply_size_hint = reply_size_hint
        self._connections: list[Connection] = []
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
        """Send ``request`` on the least loaded connection and wait for its reply.

        ``timeout`` covers opening a connection if one is needed, waiting for room in the
        in-flight budget, and the reply.
        """
        conn = self._pick()
        if conn is None:  # no live connection: wait for one, within the timeout
            loop = asyncio.get_running_loop()
            start = loop.time()
            conn = await self._open()
            if timeout is not None:
                timeout = max(0.0, timeout - (loop.time() - start))
        return await conn.request(request, timeout)

    async def _acquire(self) -> Connection:
        return self._pick() or await self._open()

    def _pick(self) -> Connection | None:
        """The least loaded live connection (opening another if it is busy and there is
        room), or ``None`` if there is none yet."""
        if self._closed:
            raise ConnectionClosed("the client is closed")
        live = self._live()
        if not live:
            return None
        best = live[0] if len(live) == 1 else min(live, key=_load)
        if best.load and len(live) < self.size and self._opening is None:
            self._opening = asyncio.create_task(self._open_one())
            self._opening.add_done_callback(_consume_exception)
        return best

    async def _open(self) -> Connection:
        if self._opening is None:
            self._opening = asyncio.create_task(self._open_one())
            self._opening.add_done_callback(_consume_exception)
        return await asyncio.shield(self._opening)

    async def _open_one(self) -> Connection:
        try:
            conn = await Connection.open(
                self.host,
                self.port,
                self._key,
                timeout=self.connect_timeout,
                max_message_size=self._max_message_size,
                reply_size_hint=self._reply_size_hint,
            )
        finally:
            self._opening = None
        if self._closed:
            conn.close()
            raise ConnectionClosed("the client is closed")
        self._connections.append(conn)
        return conn

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
        await asyncio.sleep(0)  # let transports run their close callbacks


def _load(conn: Connection) -> int:
    return conn.load


def _consume_exception(task: asyncio.Task[Connection]) -> None:
    if not task.cancelled():
        task.exception()  # the awaiting caller reports it; don't log "never retrieved"
