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

import enum
from types import TracebackType
from typing import Final, Literal, Self

from aiomapi._asyncio.pool import Pool
from aiomapi._sansio.auth import Key
from aiomapi._sansio.client import Request
from aiomapi._sansio.wire import DEFAULT_MAX_MESSAGE_SIZE, Message
from aiomapi.errors import LocalProtocolError
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
    ) -> None:
        self.host = host
        self.port = port
        self.key = key
        self.timeout = timeout
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
        return await self._pool.request(request, effective)

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
