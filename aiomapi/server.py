"""The asyncio OMAPI server.

Theory of operation
-------------------
:class:`OmapiServer` listens with :func:`asyncio.start_server` and runs one coroutine per
connection that reads, feeds the bytes to a :class:`~aiomapi.server_protocol.ServerConnection`,
hands accepted requests to the shared :class:`~aiomapi.server_objects.Dispatcher` and writes
the replies — strictly in request order, as dhcpd does. Nothing here interprets the protocol.

Hardening (dhcpd has none of these; reference §8, §9):

* ``max_connections``: connections beyond it are accepted and closed at once, as dhcpd does
  past its fd limit (about 190).
* ``max_message_size``: enforced by the framer on every announced length before anything is
  buffered, so a value length of 2**32-1 costs nothing (dhcpd allocates it up front, §1.8).
* ``idle_timeout``: a connection that sends nothing for that long (startup included) is closed.
* Output: the transport's write buffer has a high-water mark; above it we stop reading from
  that client and wait for it to drain, for at most ``write_timeout``, then drop the client.
  A client that never reads therefore costs a bounded buffer and never stalls other clients.
* A protocol violation closes the connection as in dhcpd, but only after the replies to
  earlier requests have been delivered (dhcpd drops them, §2.6); a client that does not
  take them within ``write_timeout`` loses them.
* A failing object type (an exception other than
  :class:`~aiomapi.server_objects.StatusError`) is answered with ISC_R_UNEXPECTED and logged;
  the connection and the server carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from .auth import Key
from .errors import ResultCode
from .server_objects import Dispatcher, ObjectType
from .server_protocol import (
    CloseConnection,
    RequestReceived,
    SendData,
    ServerConnection,
    status_message,
)
from .wire import DEFAULT_MAX_MESSAGE_SIZE, Message

__all__ = ["OmapiServer", "ServerLimits", "serve"]

log = logging.getLogger("aiomapi.server")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Resource limits of an :class:`OmapiServer`.

    Attributes:
        max_connections: concurrent connections; more are closed on accept. dhcpd manages
            about 190 (reference §8); 256 leaves room for a pool of clients.
        max_message_size: the largest request, header to signature (see
            :data:`aiomapi.wire.DEFAULT_MAX_MESSAGE_SIZE`).
        idle_timeout: seconds without receiving anything before a connection is closed;
            ``None`` waits forever, as dhcpd does.
        write_timeout: seconds a client may leave more than ``write_buffer_size`` bytes of
            replies unread before it is dropped.
        write_buffer_size: high-water mark of each connection's output buffer.
        read_size: bytes read per ``read()``.
        max_handles: object handles handed out over the server's life (see
            :class:`~aiomapi.server_objects.HandleTable`).
    """

    max_connections: int = 256
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    idle_timeout: float | None = 600.0
    write_timeout: float = 30.0
    write_buffer_size: int = 256 * 1024
    read_size: int = 64 * 1024
    max_handles: int = 1_000_000


class OmapiServer:
    """An OMAPI server for the given object types.

    Args:
        types: the :class:`~aiomapi.server_objects.ObjectType` instances to serve, or a ready
            :class:`~aiomapi.server_objects.Dispatcher` (then ``key``/``known_keys`` must not
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
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    def __repr__(self) -> str:
        state = "listening" if self.listening else "stopped"
        return f"<OmapiServer {self.host}:{self.port} {state} connections={len(self._tasks)}>"

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    @property
    def connections(self) -> int:
        """Connections being served now."""
        return len(self._tasks)

    async def start(self) -> Self:
        """Start listening (no-op if already started).

        Raises:
            OSError: the address is taken.
        """
        if self._server is not None:
            return self
        self._server = await asyncio.start_server(
            self._serve_client, self.host, self.port, limit=self.limits.read_size
        )
        sockname = self._server.sockets[0].getsockname()
        self.port = int(sockname[1])
        return self

    async def serve_forever(self) -> None:
        """Serve until cancelled or closed (starts the server if needed)."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        with contextlib.suppress(asyncio.CancelledError):
            await self._server.serve_forever()

    def stop_listening(self) -> None:
        """Refuse new connections; existing ones are served on."""
        if self._server is not None:
            self._server.close()

    async def close(self) -> None:
        """Stop listening and close every connection."""
        self.stop_listening()
        await self.close_connections()
        if self._server is not None:
            await self._server.wait_closed()

    async def close_connections(self) -> None:
        """Close every open connection (the listener is left as it is)."""
        tasks = list(self._tasks)
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
        if len(self._tasks) >= self.limits.max_connections:
            writer.transport.abort()
            return
        self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        graceful = False
        try:
            await self._run_connection(reader, writer)
            graceful = True
        except asyncio.CancelledError:
            pass  # the server is closing; the socket is closed below
        except (ConnectionError, OSError) as exc:
            log.debug("connection from %s: %s", peer, exc)
        except TimeoutError:
            log.debug("connection from %s timed out", peer)
        finally:
            try:
                if graceful:  # deliver the replies already written, within write_timeout
                    writer.close()
                    async with asyncio.timeout(self.limits.write_timeout):
                        await writer.wait_closed()
            except (TimeoutError, ConnectionError, OSError, asyncio.CancelledError):
                # The client does not take its replies, or the server is closing: drop them
                # with the connection. (This task ends here either way; asyncio's server
                # callback would log a cancellation that escaped it.)
                pass
            finally:
                writer.transport.abort()
                self._tasks.discard(task)

    async def _run_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        limits = self.limits
        conn = ServerConnection(
            require_auth=self.dispatcher.require_auth, max_message_size=limits.max_message_size
        )
        transport = writer.transport
        transport.set_write_buffer_limits(high=limits.write_buffer_size)
        writer.write(conn.initiate())
        while True:
            async with asyncio.timeout(limits.idle_timeout):
                data = await reader.read(limits.read_size)
            if not data:
                conn.connection_lost()
                return
            for event in conn.receive_data(data):
                if isinstance(event, RequestReceived):
                    reply = await self._dispatch(conn, event.message)
                    writer.write(conn.send_reply(event, reply))
                elif isinstance(event, SendData):
                    writer.write(event.data)
                else:
                    assert isinstance(event, CloseConnection)
                    log.debug("closing connection: %s", event.reason)
                    return
                if transport.get_write_buffer_size() > limits.write_buffer_size:
                    async with asyncio.timeout(limits.write_timeout):
                        await writer.drain()

    async def _dispatch(self, conn: ServerConnection, message: Message) -> Message:
        try:
            return await self.dispatcher.handle(conn, message)
        except Exception:
            # One faulty object type must not take the connection (or the server) down; the
            # client gets an error it can act on and the traceback goes to the log.
            log.exception("object type failed on %r", message)
            return status_message(ResultCode.UNEXPECTED, "internal server error")


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
