"""``/metrics`` over HTTP on the event loop the OMAPI clients run on: :class:`MetricsServer`.

Theory of operation
-------------------
prometheus_client renders the exposition (``choose_encoder`` picks the text format or
OpenMetrics from the scraper's ``Accept``); this module only moves bytes. A request is
read, :meth:`Monitor.snapshot` is awaited (the collection, shared and rate-limited there),
and the registry is rendered from the snapshot and written back; then the connection is
closed (``Connection: close``: Prometheus opens a new one for the next scrape).

Why not prometheus_client's own ``start_http_server``: it serves from threads, so a
collector would have to block a server thread on a coroutine running in the event loop
(``run_coroutine_threadsafe``), and its server (``wsgiref``) has no time limit for reading
a request and starts a thread per connection, so a client that opens connections and sends
nothing holds threads without bound. Here everything runs on the one event loop, and each
connection is bounded:

* the request line and headers must arrive within :data:`HEAD_TIMEOUT` seconds and fit in
  :data:`MAX_HEAD` bytes (a Prometheus scrape request is about 300 bytes);
* at most :data:`MAX_CONNECTIONS` connections are served at once; more are answered 503
  at once and closed;
* a request body is never read (GET and HEAD only, anything else is 405).

``GET /metrics`` serves the metrics (gzip if the scraper accepts it), ``GET /`` a short
page pointing to it; anything else is 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
from typing import Final

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
)
from prometheus_client.exposition import choose_encoder

from aiomapi import __version__
from aiomapi.server.accept import Acceptor

from .collect import Monitor
from .metrics import MonitorCollector

__all__ = ["HEAD_TIMEOUT", "MAX_CONNECTIONS", "MAX_HEAD", "MetricsServer", "make_registry"]

log = logging.getLogger("aiomapi.monitor")

#: Seconds a client has to send its request line and headers.
HEAD_TIMEOUT: Final = 10.0
#: The most bytes of request line and headers read (also the stream reader's limit).
MAX_HEAD: Final = 8192
#: Connections served at once; more are refused with 503.
MAX_CONNECTIONS: Final = 32
#: Seconds a response may take to be taken by the client before the connection is dropped.
WRITE_TIMEOUT: Final = 30.0

_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_INDEX: Final = (
    b"<html><head><title>aiomapi exporter</title></head><body>"
    b'<h1>aiomapi exporter</h1><p><a href="/metrics">/metrics</a></p></body></html>\n'
)


def make_registry(monitor: Monitor, *, process: bool = True) -> CollectorRegistry:
    """A registry with the monitor's collector, and (``process``) prometheus_client's
    process, platform and garbage-collector metrics of this process."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(MonitorCollector(monitor))
    if process:
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            registry.register(collector)
    return registry


class MetricsServer:
    """Serves a monitor's metrics on ``host:port``.

    Args:
        monitor: what to serve.
        host, port: where to listen (port 0: any free port, see :attr:`port`).
        registry: what to render (default :func:`make_registry`).
    """

    def __init__(
        self,
        monitor: Monitor,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.monitor = monitor
        self.host = host
        self._port = port
        self.registry = registry if registry is not None else make_registry(monitor)
        self._acceptor: Acceptor | None = None
        self._active = 0
        #: Requests answered, by status code.
        self.responses: dict[int, int] = {}

    @property
    def port(self) -> int:
        """The port listened on (the real one once started with port 0)."""
        if self._acceptor is not None and self._acceptor.port is not None:
            return self._acceptor.port
        return self._port

    async def start(self) -> MetricsServer:
        """Start listening.

        Raises:
            OSError: the address cannot be listened on.
        """
        acceptor = Acceptor(self._handle, limit=MAX_HEAD)
        await acceptor.start(self.host, self._port)
        self._acceptor = acceptor
        return self

    async def close(self) -> None:
        """Stop listening and end the connections being served."""
        if self._acceptor is not None:
            await self._acceptor.close()

    async def __aenter__(self) -> MetricsServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        if self._acceptor is None:
            await self.start()
        assert self._acceptor is not None
        await self._acceptor.serve_forever()

    # ------------------------------------------------------------------ connections

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._active += 1
        try:
            if self._active > MAX_CONNECTIONS:
                await self._send(writer, 503, b"too many connections\n", head_only=False)
                return
            await self._serve_one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the client went away or stalled: nothing to answer
        finally:
            self._active -= 1
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), WRITE_TIMEOUT)

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        except asyncio.LimitOverrunError:
            await self._send(writer, 431, b"request head too large\n", head_only=False)
            return
        request = _parse_head(raw)
        if request is None:
            await self._send(writer, 400, b"bad request\n", head_only=False)
            return
        method, path, headers = request
        head_only = method == "HEAD"
        if method not in ("GET", "HEAD"):
            await self._send(writer, 405, b"GET or HEAD only\n", head_only=False, allow=True)
        elif path == "/metrics":
            status, body, extra = await self._metrics(headers)
            await self._send(writer, status, body, head_only=head_only, extra=extra)
        elif path == "/":
            html = {"Content-Type": "text/html; charset=utf-8"}
            await self._send(writer, 200, _INDEX, head_only=head_only, extra=html)
        else:
            await self._send(writer, 404, b"not found: try /metrics\n", head_only=head_only)

    async def _metrics(self, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        try:
            await self.monitor.snapshot()
            encoder, content_type = choose_encoder(headers.get("accept", ""))
            body = encoder(self.registry)
        except Exception:  # the daemon's boundary: a bug is logged and a 500, not an exit
            log.exception("rendering /metrics failed")
            return 500, b"rendering the metrics failed; see the exporter's log\n", {}
        extra = {"Content-Type": content_type}
        if "gzip" in headers.get("accept-encoding", ""):
            body = gzip.compress(body)
            extra["Content-Encoding"] = "gzip"
        return 200, body, extra

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        *,
        head_only: bool,
        extra: dict[str, str] | None = None,
        allow: bool = False,
    ) -> None:
        self.responses[status] = self.responses.get(status, 0) + 1
        headers = {
            "Content-Type": "text/plain; charset=utf-8",
            **(extra or {}),
            "Content-Length": str(len(body)),
            "Connection": "close",
            "Server": f"aiomapi-exporter/{__version__}",
        }
        if allow:
            headers["Allow"] = "GET, HEAD"
        lines = [f"HTTP/1.1 {status} {_REASONS[status]}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if not head_only:
            writer.write(body)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)


def _parse_head(raw: bytes) -> tuple[str, str, dict[str, str]] | None:
    """``(method, path, headers)`` of a request head, or ``None`` if it is not HTTP/1.x.
    Header names are lower-cased; the query string is dropped from the path."""
    try:
        text = raw.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        return None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    method, target, _version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            return None
        headers[name.lower()] = value.strip()
    return method, target.split("?", 1)[0], headers
