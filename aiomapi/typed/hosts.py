"""``omapi.hosts``: look up, create, change, replace and delete host declarations.

Lookups encode their keys once (:func:`~aiomapi.typed.keys.host_keys`) and decode the reply
message straight into a :class:`~aiomapi.Host`. Changes follow the safe pattern
(docs/dhcpd-behaviour.md, "Messages and replies"): OPEN without flags for the handle, then an
UPDATE with only what changes, then a lookup by handle. (An OPEN with ``update=1`` would
re-apply the host's ``name`` as an attribute, which dhcpd refuses.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from aiomapi.errors import NotFound
from aiomapi.typed.keys import (
    ETHERNET,
    HostLookup,
    IdentifierLike,
    IPLike,
    Keys,
    MacLike,
    hardware_type_value,
    host_keys,
    identifier_value,
    ip_list_value,
    mac_value,
    text_value,
)
from aiomapi.typed.objects import Host
from aiomapi.typed.requests import Manager

__all__ = ["Hosts"]


class Hosts(Manager):
    """``omapi.hosts``: host declarations (docs/dhcpd-behaviour.md, "Objects").

    Lookups take one or more of ``name``, ``mac`` (+ ``hardware_type``), ``client_id``,
    ``ip`` and ``handle`` (see :func:`host_keys`; ``ip`` goes through the lease with that
    address). Deleted hosts are not found.
    """

    __slots__ = ()

    async def get(self, **lookup: Unpack[HostLookup]) -> Host:
        """The host matching every given key.

        Args:
            lookup: ``name``, ``mac`` (+ ``hardware_type``), ``client_id``, ``ip`` and/or
                ``handle``; see :func:`host_keys` (``ip`` goes through the lease).

        Raises:
            NotFound: no such host (with ``ip``: no lease has that address, or no host has
                that lease's hardware address).
            KeyConflict: the keys name different hosts.
            InvalidArgument: ``handle`` belongs to an object that is not a host.
            TypeError, LocalProtocolError: bad arguments (nothing is sent).
        """
        reply = await self._open("host", tuple(host_keys(**lookup).items()))
        return Host.from_values(reply.handle, reply.object)

    async def create(
        self,
        *,
        name: str | None = None,
        hardware_address: MacLike | None = None,
        ip_address: IPLike | Sequence[IPLike] | None = None,
        client_id: IdentifierLike | None = None,
        statements: str | None = None,
        group: str | None = None,
        hardware_type: int = ETHERNET,
    ) -> Host:
        """Create a host (OPEN with create + exclusive).

        ``hardware_type`` is always sent with ``hardware_address``: without it dhcpd gives the
        host type 0, and it then matches neither Ethernet clients nor MAC lookups.

        Args:
            name: unique name; dhcpd makes one up (``nh…``) if omitted.
            hardware_address: the client's MAC.
            ip_address: fixed address(es).
            client_id: the client identifier.
            statements: dhcpd.conf statements for the host, e.g. ``"option routers 10.0.0.1;"``.
                dhcpd never sends them back.
            group: the name of an existing group; its statements apply beneath the host's own.
            hardware_type: ARP type of ``hardware_address`` (1 = Ethernet).

        Raises:
            AlreadyExists: a host with this name, or with this MAC or client identifier,
                exists.
            KeyConflict: the name is new but the MAC or client identifier is taken.
            InvalidArgument: neither ``hardware_address`` nor ``client_id`` given.
            NotFound: ``group`` does not exist.
            BadParse: ``statements`` do not parse (dhcpd logs why).
            LocalProtocolError: a value cannot be sent.
        """
        values: Keys = {}
        if name is not None:
            values["name"] = text_value("name", name)
        if hardware_address is not None:
            values["hardware-address"] = mac_value(hardware_address)
            values["hardware-type"] = hardware_type_value(hardware_type)
        if client_id is not None:
            values["dhcp-client-identifier"] = identifier_value("client_id", client_id)
        values.update(_host_settings(ip_address, group, statements))
        reply = await self._open("host", tuple(values.items()), create=True, exclusive=True)
        return Host.from_values(reply.handle, reply.object)

    async def update(
        self,
        *,
        ip_address: IPLike | Sequence[IPLike] | None = None,
        group: str | None = None,
        statements: str | None = None,
        **lookup: Unpack[HostLookup],
    ) -> Host:
        """Change a host's fixed addresses, group or statements; returns the host.

        The name, MAC and client identifier of a host cannot change (dhcpd: EXISTS); use
        :meth:`upsert`, which replaces the host when they differ.

        Args:
            ip_address: new fixed address(es); an empty sequence removes them all.
            group: name of an existing group. Sent before ``statements``; setting a group
                later replaces the host's own statements (dhcpd swaps the host's group).
            statements: statements for a host that has none of its own yet.
            lookup: which host, as for :meth:`get`.

        Raises:
            NotFound: no such host, or no such group.
            AlreadyExists: the host already has statements of its own.
            BadParse: ``statements`` do not parse.
            TypeError: no lookup key or no change given.
        """
        settings = _host_settings(ip_address, group, statements, clear=True)
        if not settings:
            raise TypeError("give at least one of ip_address, group or statements")
        host = await self.get(**lookup)
        await self._update(host.handle, tuple(settings.items()), "host")
        return await self.get(handle=host.handle)

    async def delete(self, **lookup: Unpack[HostLookup]) -> None:
        """Delete a host (also one declared in dhcpd.conf; dhcpd records the deletion).

        Args:
            lookup: which host, as for :meth:`get`.

        Raises:
            NotFound: no such host (already deleted included).
        """
        host = await self.get(**lookup)
        await self._delete(host.handle, "host")

    async def upsert(
        self,
        *,
        name: str,
        hardware_address: MacLike | None = None,
        ip_address: IPLike | Sequence[IPLike] | None = None,
        client_id: IdentifierLike | None = None,
        statements: str | None = None,
        group: str | None = None,
        hardware_type: int = ETHERNET,
    ) -> Host:
        """Make host ``name`` exactly as described, whether or not it exists; returns it.

        Idempotent. A missing host is created. An existing one is left alone if it already
        matches, and its fixed addresses and group are updated in place if only they differ.
        It is replaced (deleted, then created) if its MAC, hardware type or client identifier
        differ — dhcpd cannot change those — or if ``statements`` are given, since dhcpd
        never sends statements back and cannot change them once set.

        Args: as for :meth:`create`; ``ip_address=None`` means no fixed address.

        Raises:
            as :meth:`create`.
        """
        identity = _identity(hardware_address, hardware_type, client_id)
        addresses = ip_list_value(ip_address) if ip_address is not None else b""

        async def create() -> Host:
            return await self.create(
                name=name,
                hardware_address=hardware_address,
                ip_address=ip_address,
                client_id=client_id,
                statements=statements,
                group=group,
                hardware_type=hardware_type,
            )

        try:
            current = await self.get(name=name)
        except NotFound:
            return await create()
        if statements is not None or identity != _identity_of(current):
            await self._delete(current.handle, "host")
            return await create()
        settings = _host_diff(current, addresses, group)
        if not settings:
            return current
        await self._update(current.handle, tuple(settings.items()), "host")
        return await self.get(handle=current.handle)


def _host_diff(current: Host, addresses: bytes, group: str | None) -> Keys:
    """What to UPDATE on ``current`` so it has these fixed addresses and group.

    The group is always sent when given: dhcpd never says which group a host is in.
    """
    settings: Keys = {}
    if addresses != b"".join(ip.packed for ip in current.ip_addresses):
        settings["ip-address"] = addresses
    if group is not None:
        settings["group"] = text_value("group", group)
    return settings


def _host_settings(
    ip_address: IPLike | Sequence[IPLike] | None,
    group: str | None,
    statements: str | None,
    *,
    clear: bool = False,
) -> Keys:
    """Host attributes settable at any time, in a safe order (group before statements).

    An empty address list is sent as a null (which clears them) only if ``clear``.
    """
    values: Keys = {}
    if ip_address is not None:
        addresses = ip_list_value(ip_address)
        if addresses or clear:
            values["ip-address"] = addresses
    if group is not None:
        values["group"] = text_value("group", group)
    if statements is not None:
        values["statements"] = text_value("statements", statements)
    return values


def _identity(
    mac: MacLike | None, hardware_type: int, client_id: IdentifierLike | None
) -> tuple[bytes | None, int | None, bytes | None]:
    packed = mac_value(mac) if mac is not None else None
    cid = identifier_value("client_id", client_id) if client_id is not None else None
    return packed, (hardware_type if packed is not None else None), cid


def _identity_of(host: Host) -> tuple[bytes | None, int | None, bytes | None]:
    packed = host.hardware_address.packed if host.hardware_address is not None else None
    return packed, (host.hardware_type if packed is not None else None), host.dhcp_client_identifier
