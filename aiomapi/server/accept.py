"""Listening sockets that never leak a connection: :class:`Acceptor`.

Theory of operation
-------------------
:func:`asyncio.start_server` has a race on Python 3.11: a connection the loop has accepted
but not yet wrapped in a transport when ``Server.close()`` runs fails an assertion inside
asyncio (the server no longer has sockets to attach it to), and its socket stays open,
unreferenced, until the garbage collector finds it. The client sees a connection that
neither answers nor closes; the test suite sees "unclosed transport" at a random later test.
A connection whose handler task has not started yet when the server is closed is leaked the
same way when that task is cancelled before its first step.

:class:`Acceptor` listens with its own sockets and accepts in a reader callback of its own
(``loop.add_reader``: asyncio's loops and uvloop), so a connection is accepted and given a
task in one synchronous step: no accepted socket ever waits in a place ``close()`` cannot
reach. The task owns the socket until it has wrapped it into streams, first thing; a task
cancelled before it ran closes the socket in its done callback. A handler that returns or
fails leaves nothing open: a transport it has not closed is aborted.

``stop()`` stops watching the listening sockets and closes them, at once; ``close()`` also
cancels every connection task and waits for them.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Awaitable, Callable

__all__ = ["Acceptor", "Handler"]

log = logging.getLogger("aiomapi.server")

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

# Pending connections the kernel queues per listening socket (asyncio's default).
BACKLOG = 100
# Out of file descriptors (or buffers): wait this long before accepting again, so that the
# loop keeps serving the connections it has instead of spinning on accept().
_RETRY_DELAY = 0.1
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class _Owned:
    """An accepted socket, owned by its connection task until the task hands it over to its
    transport; closed with the task otherwise, even a task cancelled before it ran."""

    __slots__ = ("handed_over", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.handed_over = False

    def close_unless_handed_over(self, _task: object = None) -> None:
        if not self.handed_over:
            self.sock.close()


class Acceptor:
    """Accept TCP connections on ``host``:``port`` and run ``handler(reader, writer)`` for
    each one in a task of its own.

    ``limit`` is the stream buffer size (:func:`asyncio.open_connection`'s ``limit``).
    """

    def __init__(self, handler: Handler, *, limit: int = 64 * 1024) -> None:
        self._handler = handler
        self._limit = limit
        self._listeners: list[socket.socket] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._port: int | None = None

    @property
    def listening(self) -> bool:
        return bool(self._listeners)

    @property
    def port(self) -> int | None:
        """The port listened on (the real one when started with port 0)."""
        return self._port

    @property
    def tasks(self) -> set[asyncio.Task[None]]:
        """The connection tasks not finished yet."""
        return self._tasks

    async def start(self, host: str, port: int) -> None:
        """Listen on every address ``host`` resolves to (port 0: one free port for all);
        ``""``: every interface.

        Raises:
            OSError: an address cannot be listened on (nothing is left listening).
        """
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        listeners: list[socket.socket] = []
        try:
            for family, _type, _proto, _name, address in dict.fromkeys(infos):
                if listeners and port == 0:  # the same port on every address
                    address = (address[0], int(listeners[0].getsockname()[1]), *address[2:])
                listener = socket.create_server(address, family=family, backlog=BACKLOG)
                listener.setblocking(False)
                listeners.append(listener)
        except BaseException:
            for listener in listeners:
                listener.close()
            raise
        self._loop = loop
        self._port = int(listeners[0].getsockname()[1])
        self._listeners = listeners
        self._stopped = asyncio.Event()
        self._watch()

    def stop(self) -> None:
        """Stop accepting and close the listening sockets; connections are served on."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        elif self._loop is not None and not self._loop.is_closed():
            for listener in self._listeners:
                self._loop.remove_reader(listener.fileno())
        for listener in self._listeners:
            listener.close()
        self._listeners = []
        if self._stopped is not None:
            self._stopped.set()

    async def close(self) -> None:
        """Stop accepting, then cancel every connection task and wait for it to end."""
        self.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def serve_forever(self) -> None:
        """Return when :meth:`stop` or :meth:`close` is called."""
        if self._stopped is not None:
            await self._stopped.wait()

    def _watch(self) -> None:
        assert self._loop is not None
        self._retry = None
        for listener in self._listeners:
            self._loop.add_reader(listener.fileno(), self._accept, listener)

    def _accept(self, listener: socket.socket) -> None:
        """The loop's callback for a listener with connections queued: accept them (at most a
        backlog's worth, as asyncio does) and start a task for each."""
        assert self._loop is not None
        for _ in range(BACKLOG):
            try:
                sock, _address = listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return  # none left, or the peer gave up while queued
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    raise  # a bug: the loop logs it
                log.warning("cannot accept connections for now: %s", exc)
                for each in self._listeners:
                    self._loop.remove_reader(each.fileno())
                self._retry = self._loop.call_later(_RETRY_DELAY, self._watch)
                return
            sock.setblocking(False)
            connection = _Owned(sock)
            task = self._loop.create_task(self._serve(connection))
            task.add_done_callback(connection.close_unless_handed_over)
            task.add_done_callback(self._tasks.discard)
            self._tasks.add(task)

    async def _serve(self, connection: _Owned) -> None:
        reader, writer = await asyncio.open_connection(sock=connection.sock, limit=self._limit)
        connection.handed_over = True  # the transport owns the socket now
        try:
            await self._handler(reader, writer)
        finally:
            if not writer.transport.is_closing():
                writer.transport.abort()
