"""The public asyncio client and its generic object operations.

:class:`Client` is what applications hold: ``async with aiomapi.Client(host, key=key) as
omapi``. Its generic operations (:meth:`Client.open`, :meth:`Client.create`,
:meth:`Client.update`, :meth:`Client.refresh`, :meth:`Client.delete`) map one to one onto
OMAPI requests and return :class:`OmapiObject` with the raw bytes the server sent; the
typed object API is built on them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Literal, Self

from aiomapi._asyncio.pool import Pool
from aiomapi._sansio.auth import Key
from aiomapi._sansio.client import Request
from aiomapi._sansio.wire import DEFAULT_MAX_MESSAGE_SIZE, Message, Opcode, Values
from aiomapi.errors import LocalProtocolError
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
from aiomapi.typed.values import ValueLike, encode_value

DEFAULT_PORT = 7911
DEFAULT_TIMEOUT = 10.0
#: Connections a client may open. Lease and host lookups go one at a time per connection
#: (their replies have no size bound, see :mod:`aiomapi._sansio.budget`), so concurrent lookups need
#: connections; they are opened only as concurrent load needs them, one at a time. dhcpd
#: serves about 190 OMAPI connections in all.
DEFAULT_CONNECTIONS = 8

#: Attribute name → value; ``None`` sends a null value (which unsets the attribute).
Lookup = Mapping[str, "ValueLike | None"]
_TRUE = (1).to_bytes(4, "big")


class _Default(enum.Enum):
    TIMEOUT = "the client's timeout"


#: Stands for "use the client's timeout".
DEFAULT: Final = _Default.TIMEOUT


@dataclass(frozen=True, slots=True)
class OmapiObject:
    """An object as the server sent it.

    Attributes:
        handle: the server's handle for the object (valid for the life of the server).
        values: attribute name → the raw bytes the server sent, in the server's order. When
            a name comes twice, its first value is here.
        object_type: the type it was opened as, when known.
        repeated: later values of names that came more than once, in order. dhcpd sends
            a lease's fields before its binding variables, so a binding variable named like
            a field (``tstp`` set over OMAPI) lands here.
    """

    handle: int
    values: Mapping[str, bytes] = field(default_factory=dict)
    object_type: str | None = None
    repeated: tuple[tuple[str, bytes], ...] = ()

    def __getitem__(self, name: str) -> bytes:
        return self.values[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def get(self, name: str, default: bytes | None = None) -> bytes | None:
        """The raw value of ``name``, or ``default``."""
        return self.values.get(name, default)

    def int(self, name: str) -> int | None:
        """``name`` read as a big-endian integer (int32 values), or ``None`` if absent."""
        raw = self.values.get(name)
        return int.from_bytes(raw, "big") if raw is not None else None

    @classmethod
    def from_message(cls, message: Message, object_type: str | None = None) -> OmapiObject:
        values = dict(message.object)
        if len(values) == len(message.object):
            return cls(message.handle, values, object_type)
        values = {}
        repeated: list[tuple[str, bytes]] = []
        for name, value in message.object:
            if name in values:
                repeated.append((name, value))
            else:
                values[name] = value
        return cls(message.handle, values, object_type, tuple(repeated))


def encode_values(values: Lookup | None, object_type: str | None) -> Values:
    """Encode name → value pairs the way dhcpd expects them (see :func:`values.encode_value`).

    ``None`` is sent as a null value (which unsets an attribute).
    """
    if values is None:
        return ()
    out: list[tuple[str, bytes]] = []
    for name, value in values.items():
        if not isinstance(name, str) or not name:
            raise LocalProtocolError(f"attribute names must be non-empty strings, got {name!r}")
        out.append((name, b"" if value is None else encode_value(name, value, object_type)))
    return tuple(out)


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
        message: list[tuple[str, bytes]] = [("type", object_type.encode())]
        if create:
            message.append(("create", _TRUE))
        if exclusive:
            message.append(("exclusive", _TRUE))
        if update:
            message.append(("update", _TRUE))
        request = Request(
            Opcode.OPEN,
            message=tuple(message),
            object=encode_values(lookup, object_type),
            object_type=object_type,
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
        message = await self.request(
            Request(Opcode.REFRESH, handle=handle, object_type=object_type)
        )
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
        await self.request(
            Request(Opcode.UPDATE, handle=handle, object=encoded, object_type=object_type)
        )

    async def delete(self, obj: OmapiObject | int, object_type: str | None = None) -> None:
        """Delete the object with this handle."""
        handle, object_type = _handle_of(obj, object_type)
        await self.request(Request(Opcode.DELETE, handle=handle, object_type=object_type))


def _handle_of(obj: OmapiObject | int, object_type: str | None) -> tuple[int, str | None]:
    if isinstance(obj, OmapiObject):
        return obj.handle, object_type or obj.object_type
    if not isinstance(obj, int) or not 0 < obj <= 0xFFFFFFFF:
        raise LocalProtocolError(f"not an object handle: {obj!r}")
    return obj, object_type


def key_from_spec(spec: str) -> Key:
    """A key from ``name:secret`` or ``algorithm:name:secret`` (see :meth:`Key.from_spec`,
    which refuses a spec whose parts look swapped, without echoing any of it)."""
    return Key.from_spec(spec)
