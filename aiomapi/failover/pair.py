"""Both servers of a dhcpd failover pair, managed as one.

(Skeleton: the status, resync and host operations follow.)
"""

from __future__ import annotations

from os import PathLike
from types import TracebackType
from typing import Literal, Self

from aiomapi import Client, Key

__all__ = ["FailoverPair", "Side"]

#: One side of a pair, by its role.
Side = Literal["primary", "secondary"]


class FailoverPair:
    """The two servers of one failover peer declaration, each through its own client.

    Args:
        primary: a client of the primary server (not necessarily connected yet).
        secondary: a client of the secondary server.
        name: the failover peer name (``failover peer "NAME"``), the same on both sides.

    ``async with pair:`` connects both clients and closes them on the way out; a server that
    cannot be reached is not an error there (:meth:`status` reports it).
    """

    def __init__(self, primary: Client, secondary: Client, name: str) -> None:
        self.primary = primary
        self.secondary = secondary
        self.name = name

    def __repr__(self) -> str:
        return f"FailoverPair({self.primary!r}, {self.secondary!r}, {self.name!r})"

    def client(self, side: Side) -> Client:
        """The client of ``side``."""
        return self.primary if side == "primary" else self.secondary

    @classmethod
    def from_config(
        cls,
        path: str | PathLike[str],
        *,
        peer: str | None = None,
        primary: str | None = None,
        secondary: str | None = None,
        key: Key | None = None,
        timeout: float | None = 10.0,
    ) -> FailoverPair:
        """A pair from one server's dhcpd.conf; see :func:`aiomapi.failover.connect.resolve`.

        Args:
            path: the dhcpd.conf of either server.
            peer: the failover peer name (default: the file's only peer).
            primary, secondary: ``HOST`` or ``HOST:PORT`` overriding what the file implies.
            key: the key to sign with (default: the file's ``omapi-key``).
            timeout: seconds per request.

        Raises:
            ValueError: the file does not name what is missing from the arguments
                (:class:`aiomapi.config.ConfigError` is a ValueError).
            OSError: the file cannot be read.
        """
        from .connect import resolve

        target = resolve(config=path, peer=peer, primary=primary, secondary=secondary, key=key)
        return target.pair(timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close both clients."""
        for client in (self.primary, self.secondary):
            await client.close()
