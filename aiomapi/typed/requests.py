"""How the typed layer talks to a server: the one client method it needs, and its requests.

The managers (``omapi.leases``, ``omapi.hosts``, …) hold a :class:`Requester` — in practice
the :class:`~aiomapi.Client` — and call nothing on it but :meth:`Requester.request`. They
encode their values themselves (:mod:`aiomapi.typed.keys`), build the request with the
functions here, which the client's generic operations use too, and decode the reply message
straight into a typed object. So a lookup encodes its keys once, and the one check of what
may be sent is the sans-IO core's (:func:`aiomapi._sansio.safety.check_request`), which every
request passes through whichever API built it.
"""

from __future__ import annotations

from typing import Final, Protocol

from aiomapi._sansio.client import Request
from aiomapi._sansio.wire import Message, Opcode, Values
from aiomapi.errors import LocalProtocolError

__all__ = [
    "Manager",
    "Requester",
    "check_handle",
    "delete_request",
    "open_request",
    "refresh_request",
    "update_request",
]

_TRUE: Final = (1).to_bytes(4, "big")
# ("type", name) message values of the object types opened without flags, made once each.
_TYPE_MESSAGES: dict[str, Values] = {}


class Requester(Protocol):
    """What the typed managers need of a client: send a request, return the reply."""

    async def request(self, request: Request, *, timeout: float | None = ...) -> Message:
        """Send ``request`` and return the server's reply message.

        ``timeout`` defaults to the client's own.

        Raises:
            aiomapi.ServerError: a failure status (a subclass per result code).
        """
        ...


def open_request(
    object_type: str,
    values: Values = (),
    *,
    create: bool = False,
    exclusive: bool = False,
    update: bool = False,
) -> Request:
    """An OPEN of ``object_type`` with the already encoded lookup or attribute ``values``."""
    if create or exclusive or update:
        message: list[tuple[str, bytes]] = [("type", object_type.encode())]
        if create:
            message.append(("create", _TRUE))
        if exclusive:
            message.append(("exclusive", _TRUE))
        if update:
            message.append(("update", _TRUE))
        return Request(Opcode.OPEN, message=tuple(message), object=values, object_type=object_type)
    plain = _TYPE_MESSAGES.get(object_type)
    if plain is None:
        plain = (("type", object_type.encode()),)
        if len(_TYPE_MESSAGES) < 64:  # the types dhcpd has, and then some
            _TYPE_MESSAGES[object_type] = plain
    return Request(Opcode.OPEN, message=plain, object=values, object_type=object_type)


def refresh_request(handle: int, object_type: str | None) -> Request:
    """A REFRESH of the object with this handle."""
    return Request(Opcode.REFRESH, handle=handle, object_type=object_type)


def update_request(handle: int, values: Values, object_type: str | None) -> Request:
    """An UPDATE that sets the already encoded ``values`` on the object with this handle."""
    return Request(Opcode.UPDATE, handle=handle, object=values, object_type=object_type)


def delete_request(handle: int, object_type: str | None) -> Request:
    """A DELETE of the object with this handle."""
    return Request(Opcode.DELETE, handle=handle, object_type=object_type)


def check_handle(handle: object) -> int:
    """``handle`` if it can name an object (1..2**32-1).

    Raises:
        LocalProtocolError: it cannot.
    """
    if not isinstance(handle, int) or not 0 < handle <= 0xFFFFFFFF:
        raise LocalProtocolError(f"not an object handle: {handle!r}")
    return handle


class Manager:
    """Base of the managers: holds the client and sends requests through it."""

    __slots__ = ("_client",)

    def __init__(self, client: Requester) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"

    async def _open(
        self, object_type: str, values: Values, *, create: bool = False, exclusive: bool = False
    ) -> Message:
        request = open_request(object_type, values, create=create, exclusive=exclusive)
        return await self._client.request(request)

    async def _refresh(self, handle: int, object_type: str) -> Message:
        return await self._client.request(refresh_request(handle, object_type))

    async def _update(self, handle: int, values: Values, object_type: str) -> None:
        await self._client.request(update_request(handle, values, object_type))

    async def _delete(self, handle: int, object_type: str) -> None:
        await self._client.request(delete_request(handle, object_type))
