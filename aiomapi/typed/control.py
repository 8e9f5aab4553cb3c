"""``omapi.failover``, ``omapi.control``, ``omapi.pools``: the server-wide objects — each
failover peer's state, the control object that shuts dhcpd down, and the lease pools' counters.
"""

from __future__ import annotations

import contextlib
from typing import Final

from aiomapi.errors import LocalProtocolError, NetworkError
from aiomapi.typed.coders import encode_int32
from aiomapi.typed.enums import ControlState, FailoverState, to_failover_state
from aiomapi.typed.keys import text_value
from aiomapi.typed.objects import ControlObject, FailoverPeer, Lease, LeasePool
from aiomapi.typed.requests import Manager, check_handle, update_request

__all__ = ["Control", "Failover", "Pools"]

_SHUTDOWN: Final = (("state", encode_int32(ControlState.SHUTDOWN)),)


class Failover(Manager):
    """``omapi.failover``: the ``failover-state`` of each failover peer
    (docs/dhcpd-behaviour.md, "Failover")."""

    __slots__ = ()

    async def get(self, name: str) -> FailoverPeer:
        """The state of failover peer ``name``.

        Raises:
            NotFound: no failover peer of that name.
        """
        reply = await self._open("failover-state", (("name", text_value("name", name)),))
        return FailoverPeer.from_values(reply.handle, reply.object)

    async def set_local_state(self, name: str, state: FailoverState | int | str) -> FailoverPeer:
        """Move this server's side of peer ``name`` to ``state``; returns the new status.

        dhcpd makes the move without checking that the transition makes sense, writes it to
        the lease file and tells the partner, which may move on by itself
        (docs/dhcpd-behaviour.md, "Failover").

        Raises:
            LocalProtocolError: ``state`` is not one of the 13 failover states (dhcpd 4.4.3
                exits on any other value); nothing is sent.
            NotFound: no such peer.
        """
        new = to_failover_state(state)
        peer = await self.get(name)
        await self._update(peer.handle, (("local-state", encode_int32(new)),), "failover-state")
        return await self.get(name)

    async def partner_down(self, name: str) -> FailoverPeer:
        """Declare the partner of peer ``name`` down (local state partner-down).

        Use it only when the partner is really down: with the partner connected, both
        move on through potential-conflict back to normal within a few seconds.

        Raises:
            NotFound: no such peer.
        """
        return await self.set_local_state(name, FailoverState.PARTNER_DOWN)


class Control(Manager):
    """``omapi.control``: the server's control object (docs/dhcpd-behaviour.md, "Objects")."""

    __slots__ = ()

    async def get(self) -> ControlObject:
        """The control object (its state reads 0 while dhcpd 4.4.3 runs)."""
        reply = await self._open("control", ())
        return ControlObject.from_values(reply.handle, reply.object)

    async def shutdown(self, *, timeout: float | None = 30.0) -> None:
        """Ask dhcpd to shut down (control ``state = 2``; docs/dhcpd-behaviour.md,
        "Objects").

        What dhcpd 4.4.3 does then: it closes its OMAPI listener at once (new connections
        are refused) and stops answering OMAPI requests, this one included; it resets the
        open OMAPI connections 5-11 s later, then disables DHCP on its interfaces and exits
        about a second after that. This method returns when the server answers or drops the
        connection; the client is of no further use for this server.

        Args:
            timeout: seconds to wait for the answer or the disconnect.

        Raises:
            aiomapi.TimeoutError: neither came within ``timeout``.
        """
        control = await self._open("control", ())
        request = update_request(control.handle, _SHUTDOWN, "control")
        with contextlib.suppress(NetworkError):  # dhcpd resets instead of answering
            await self._client.request(request, timeout=timeout)


class Pools(Manager):
    """``omapi.pools``: lease pool counters, reached through a lease's ``pool`` handle.

    dhcpd has no pool lookup; only the handle in a lease reply leads to a pool. These are
    dhcpd's *address* pools (:class:`~aiomapi.LeasePool`), not the client's pool of TCP
    connections (``Client(connections=N)``, ``omapi.pool``).
    """

    __slots__ = ()

    async def get(self, handle: int) -> LeasePool:
        """The pool with this handle.

        Raises:
            LocalProtocolError: the handle names an object that is not a pool.
            NotFound: no object has this handle.
        """
        reply = await self._refresh(check_handle(handle), "pool")
        if not any(name == "lease-count" for name, _ in reply.object):
            raise LocalProtocolError(f"handle {handle} is not a pool")
        return LeasePool.from_values(reply.handle, reply.object)

    async def of_lease(self, lease: Lease) -> LeasePool:
        """The pool ``lease`` belongs to.

        Raises:
            LocalProtocolError: the lease reply carried no pool handle.
        """
        if lease.pool is None:
            raise LocalProtocolError(f"lease {lease.ip_address} has no pool handle")
        return await self.get(lease.pool)
