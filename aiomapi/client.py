"""The public asyncio client and its generic object operations.

:class:`Client` is what applications hold: ``async with aiomapi.Client(host, key=key) as
omapi``. Its generic operations (:meth:`Client.open`, :meth:`Client.create`,
:meth:`Client.update`, :meth:`Client.refresh`, :meth:`Client.delete`) map one to one onto
OMAPI requests and return :class:`~aiomapi.typed.raw.OmapiObject` with the raw bytes the
server sent. The typed object API (``omapi.leases``, ``omapi.hosts``, …) is a set of managers
(:mod:`aiomapi.typed.managers`) that hold the client and call only :meth:`Client.request`.

Layers: this module imports the managers; they know the client only as the
:class:`~aiomapi.typed.requests.Requester` protocol, so nothing below imports it back.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator, Callable, Iterable
from types import TracebackType
from typing import Final, Literal, Self, TypeVar

from aiomapi._asyncio.batch import Batch
from aiomapi._asyncio.bulk import DEFAULT_BULK_RATE
from aiomapi._asyncio.pacing import Pacer, check_rate
from aiomapi._asyncio.pool import Pool
from aiomapi._sansio.auth import Key
from aiomapi._sansio.client import Request
from aiomapi._sansio.events import Decoded
from aiomapi._sansio.wire import DEFAULT_MAX_MESSAGE_SIZE, Message
from aiomapi.errors import LocalProtocolError, OmapiError, TimeoutError
from aiomapi.typed.attributes import Lookup, encode_values
from aiomapi.typed.managers import (
    Classes,
    Control,
    Failover,
    Groups,
    Hosts,
    Leases,
    Pools,
    Subclasses,
)
from aiomapi.typed.raw import OmapiObject
from aiomapi.typed.requests import (
    check_handle,
    delete_request,
    open_request,
    refresh_request,
    update_request,
)

__all__ = [
    "DEFAULT",
    "DEFAULT_BULK_RATE",
    "DEFAULT_CONNECTIONS",
    "DEFAULT_PORT",
    "DEFAULT_TIMEOUT",
    "Client",
    "Lookup",
    "OmapiObject",
    "encode_values",
    "key_from_spec",
]

DEFAULT_PORT = 7911
DEFAULT_TIMEOUT = 10.0
#: Connections a client may open. Lease and host lookups go one at a time per connection
#: (their replies have no size bound, see :mod:`aiomapi._sansio.budget`), so concurrent lookups need
#: connections; they are opened only as concurrent load needs them, one at a time. dhcpd
#: serves about 190 OMAPI connections in all.
DEFAULT_CONNECTIONS = 8
#: A call whose wait for ``max_rate`` would leave it less than this (seconds) of its timeout
#: gives up at once instead, and gives its turn back: sent with so little time left, its
#: request would reach dhcpd only to time out there and close the connection it was written
#: on. A round trip to dhcpd on a LAN takes well under a millisecond.
MIN_TIME_TO_SEND: Final = 0.01


K = TypeVar("K")
V = TypeVar("V")


class _Default(enum.Enum):
    TIMEOUT = "the client's timeout"


#: Stands for "use the client's timeout".
DEFAULT: Final = _Default.TIMEOUT


class Client:
    """An OMAPI client for one server.

    Args:
        host: the server's address (dhcpd listens on IPv4).
        port: its ``omapi-port``.
        key: the ``omapi-key``; ``None`` uses the null authenticator (unsigned messages,
            accepted only by servers without an ``omapi-key``).
        timeout: seconds for each request (queueing included); also the connect and
            handshake timeout unless ``connect_timeout`` is given. ``None`` waits forever.
            Expiry raises :class:`aiomapi.TimeoutError`.
        connections: the most connections to spread requests over, opened one at a time as
            concurrent load needs them. Lookups of leases and hosts go one at a time per
            connection (see docs/pipelining.md), so this bounds their concurrency.
        max_message_size: the largest reply accepted.
        max_rate: at most this many requests a second over the whole client (every call,
            the bulk calls included, which also have a ``rate=`` of their own); ``None``,
            the default, sets no limit. Requests beyond it wait their turn, in order, and
            the wait counts against their timeout.

    Raises:
        ValueError: ``max_rate`` not above 0, ``connections`` out of range.

    Use it as ``async with Client(...) as omapi:``, or call :meth:`connect` and
    :meth:`close` yourself.
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        key: Key | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        connect_timeout: float | None = None,
        connections: int = DEFAULT_CONNECTIONS,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_rate: float | None = None,
    ) -> None:
        rate = check_rate(max_rate, "max_rate")
        self.host = host
        self.port = port
        self.key = key
        self.timeout = timeout
        self.max_rate = rate
        self._pacer = Pacer(rate) if rate is not None else None
        self._pool = Pool(
            host,
            port,
            key,
            size=connections,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_message_size=max_message_size,
        )
        # The typed object API (aiomapi.typed.managers): omapi.leases.get(ip=...), ...
        # Each manager calls only self.request (the typed.requests.Requester protocol).
        self.leases = Leases(self)
        self.hosts = Hosts(self)
        self.groups = Groups(self)
        self.classes = Classes(self)
        self.subclasses = Subclasses(self)
        self.failover = Failover(self)
        self.control = Control(self)
        self.pools = Pools(self)

    def __repr__(self) -> str:
        return f"Client({self.host!r}, {self.port}, key={self.key!r})"

    @property
    def pool(self) -> Pool:
        """The connection pool (for inspection)."""
        return self._pool

    async def connect(self) -> Self:
        """Open the first connection and authenticate.

        Raises:
            aiomapi.TimeoutError, aiomapi.NetworkError, aiomapi.HandshakeError.
        """
        await self._pool.start()
        return self

    async def close(self) -> None:
        """Close all connections; pending requests fail with ConnectionClosed."""
        await self._pool.close()

    async def __aenter__(self) -> Self:
        return await self.connect()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------ generic operations

    async def request(
        self, request: Request, *, timeout: float | Literal[_Default.TIMEOUT] | None = DEFAULT
    ) -> Message:
        """Send a raw request and return the server's reply message.

        Raises:
            aiomapi.ServerError: a failure status (a subclass per result code).
        """
        effective = self.timeout if timeout is DEFAULT else timeout
        if self._pacer is not None:
            effective = await self._wait_for_rate(self._pacer, effective)
        return await self._pool.request(request, effective)

    async def _wait_for_rate(self, pacer: Pacer, timeout: float | None) -> float | None:
        """Wait for a token of ``max_rate``; what is left of ``timeout``.

        A call that will not wait (the wait would leave it less than
        :data:`MIN_TIME_TO_SEND` of its timeout) or is cancelled while waiting gives its
        token back (:meth:`Pacer.refund`).

        Raises:
            aiomapi.TimeoutError: the wait would leave less than :data:`MIN_TIME_TO_SEND`
                of ``timeout``.
        """
        loop = asyncio.get_running_loop()
        now = loop.time()
        delay = pacer.reserve(now)
        if delay <= 0:
            return timeout
        if timeout is not None and timeout - delay < MIN_TIME_TO_SEND:
            # Nothing ran since the reservation, so it is the last one and goes back whole:
            # a call that gives up costs later callers no turn.
            pacer.refund(now, 1.0, now + delay)
            raise TimeoutError(
                f"waiting {delay:.3g} s for the client's max_rate of {pacer.rate:g} requests "
                f"a second would leave less than {MIN_TIME_TO_SEND:g} s of the call's timeout "
                f"of {timeout:g} s to send it in"
            )
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            pacer.refund(loop.time(), 1.0, now + delay)
            raise
        return None if timeout is None else timeout - delay

    def batch(
        self,
        encode: Callable[[K], Request],
        items: Iterable[K],
        finish: Callable[[Request, Message | OmapiError | Decoded], V | OmapiError],
        *,
        window: int,
        ordered: bool = False,
        rate: float | None = DEFAULT_BULK_RATE,
    ) -> AsyncGenerator[tuple[K, V | OmapiError], None]:
        """Send one request per item on the batch path; ``(item, result)`` for each.

        The typed bulk calls are built on it (``omapi.leases.get_many``); see
        :mod:`aiomapi._asyncio.batch` for how it works. Every request has the client's
        timeout and passes the in-flight budget and ``max_rate`` like any other.

        Args:
            encode: the request for an item; an OmapiError it raises is the item's result.
            items: any iterable, pulled lazily.
            finish: the item's result from its reply or error.
            window: the most items pulled and not yet yielded.
            ordered: yield in input order instead of as the replies come.
            rate: at most this many requests a second for this batch; ``None``: no limit
                of its own.

        Raises:
            ValueError: ``window`` below 1 or ``rate`` not above 0 (at the call).
        """
        checked = check_rate(rate)
        pacers = tuple(
            p for p in (Pacer(checked) if checked is not None else None, self._pacer) if p
        )
        batch: Batch[K, V] = Batch(
            self._pool,
            items,
            encode,
            finish,
            window=window,
            ordered=ordered,
            timeout=self.timeout,
            pacers=pacers,
        )
        return batch.results()

    async def open(
        self,
        object_type: str,
        lookup: Lookup | None = None,
        *,
        create: bool = False,
        exclusive: bool = False,
        update: bool = False,
    ) -> OmapiObject:
        """Look up an object of ``object_type`` by the attributes in ``lookup``.

        Lookup values may be bytes, str, int, ``ipaddress.IPv4Address``, MAC strings or
        :class:`aiomapi.MacAddress`; they are encoded by attribute name as dhcpd expects
        (``ip-address`` → 4 bytes, ``hardware-address`` → the MAC's bytes, ints → int32).

        Raises:
            aiomapi.NotFound: nothing matches.
            aiomapi.MultipleMatches, aiomapi.KeyConflict, aiomapi.InvalidArgument, …
        """
        request = open_request(
            object_type,
            encode_values(lookup, object_type),
            create=create,
            exclusive=exclusive,
            update=update,
        )
        return OmapiObject.from_message(await self.request(request), object_type)

    async def create(
        self, object_type: str, values: Lookup, *, exclusive: bool = True
    ) -> OmapiObject:
        """Create an object (OPEN with ``create``; ``exclusive`` fails if it exists).

        Raises:
            aiomapi.AlreadyExists: ``exclusive`` and the object exists.
        """
        return await self.open(object_type, values, create=True, exclusive=exclusive)

    async def refresh(self, obj: OmapiObject | int, object_type: str | None = None) -> OmapiObject:
        """Read the object with this handle again."""
        handle, object_type = _handle_of(obj, object_type)
        message = await self.request(refresh_request(handle, object_type))
        return OmapiObject.from_message(message, object_type)

    async def update(
        self, obj: OmapiObject | int, values: Lookup, object_type: str | None = None
    ) -> None:
        """Set attributes on the object with this handle; ``None`` values unset.

        The server answers with a bare status: :meth:`refresh` to see the result.
        """
        handle, object_type = _handle_of(obj, object_type)
        encoded = encode_values(values, object_type)
        if not encoded:
            raise LocalProtocolError("an update needs at least one value")
        await self.request(update_request(handle, encoded, object_type))

    async def delete(self, obj: OmapiObject | int, object_type: str | None = None) -> None:
        """Delete the object with this handle."""
        handle, object_type = _handle_of(obj, object_type)
        await self.request(delete_request(handle, object_type))


def _handle_of(obj: OmapiObject | int, object_type: str | None) -> tuple[int, str | None]:
    if isinstance(obj, OmapiObject):
        return obj.handle, object_type or obj.object_type
    return check_handle(obj), object_type


#: The former name of :meth:`aiomapi.Key.from_spec`, where making a key from a spec belongs.
key_from_spec = Key.from_spec
