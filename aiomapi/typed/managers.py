"""The typed object API: ``omapi.leases``, ``omapi.hosts``, ``omapi.groups`` and friends.

Theory of operation
-------------------
Each manager holds the :class:`~aiomapi.client.Client` and turns keyword arguments into the
generic operations (OPEN, REFRESH, UPDATE, DELETE), and replies into the frozen dataclasses of
:mod:`aiomapi.typed.objects`.

* **Lookups** build their keys with a pure function (:func:`lease_keys`, :func:`host_keys`)
  that encodes and checks every value before anything is sent, then do one OPEN without flags.
  :meth:`Leases.fetch` is that single step for pre-built keys, so bulk lookups can reuse it.
* **Changes** follow the safe pattern of reference §2.3: OPEN without flags to get the handle,
  then a client UPDATE with only the attributes to change, then a lookup by handle to return
  the new state. (An OPEN with ``update=1`` would re-apply the lookup keys as attributes, which
  dhcpd refuses for a lease's ``ip-address`` and a host's ``name``.)
* **Values that could hurt dhcpd** (null values, failover states outside the enum, lease
  states outside 1..7) are refused with :class:`~aiomapi.errors.LocalProtocolError` before the
  first request; the protocol layer checks every request again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypedDict, Unpack

from aiomapi._asyncio.bulk import DEFAULT_CONCURRENCY, map_bounded
from aiomapi._sansio.client import Request
from aiomapi._sansio.wire import Opcode
from aiomapi.errors import (
    LocalProtocolError,
    MultipleMatches,
    NetworkError,
    NotFound,
    OmapiError,
)
from aiomapi.typed.objects import (
    Class,
    ControlObject,
    FailoverPeer,
    Group,
    Host,
    Lease,
    LeasePool,
    Subclass,
    to_failover_state,
    to_lease_flags,
    to_lease_state,
)
from aiomapi.typed.values import (
    ControlState,
    FailoverState,
    LeaseFlags,
    LeaseState,
    LeaseTime,
    MacAddress,
    ValueLike,
    encode_int32,
    encode_ip,
    encode_time,
    encode_value,
)

if TYPE_CHECKING:
    from aiomapi.client import Client

__all__ = [
    "Classes",
    "Control",
    "Failover",
    "Groups",
    "HostLookup",
    "Hosts",
    "IPLike",
    "IdentifierLike",
    "LeaseLookup",
    "Leases",
    "MacLike",
    "Pools",
    "Subclasses",
    "host_keys",
    "lease_keys",
]

#: An IPv4 address, as an object or dotted text.
IPLike: TypeAlias = IPv4Address | str
#: A hardware address: :class:`~aiomapi.MacAddress`, text in any spelling it accepts, or octets.
MacLike: TypeAlias = MacAddress | str | bytes
#: A client identifier or hash string: raw bytes, or text (colon-hex ``01:aa:bb`` is parsed).
IdentifierLike: TypeAlias = bytes | str
#: Lookup keys, already encoded for the wire.
Keys: TypeAlias = dict[str, bytes]

ETHERNET: Final = 1  # ARP hardware type (HTYPE_ETHER)


class LeaseLookup(TypedDict, total=False):
    """The keywords that name a lease (see :func:`lease_keys`); give at least one."""

    ip: IPLike
    mac: MacLike
    client_id: IdentifierLike
    handle: int
    hardware_type: int


class HostLookup(TypedDict, total=False):
    """The keywords that name a host (see :func:`host_keys`); give at least one."""

    name: str
    mac: MacLike
    client_id: IdentifierLike
    ip: IPLike
    handle: int
    hardware_type: int


# ----------------------------------------------------------------- encoding helpers


def _text(what: str, value: str) -> bytes:
    """A non-empty string value: an empty one would be a null, which some setters crash on."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not value:
        raise LocalProtocolError(f"{what} must not be empty (a zero-length value is a null)")
    return value.encode("utf-8", "surrogateescape")


def _mac(value: MacLike) -> bytes:
    try:
        return MacAddress(value).packed
    except ValueError as exc:
        raise LocalProtocolError(f"hardware address: {exc}") from None


def _identifier(what: str, value: IdentifierLike) -> bytes:
    raw = encode_value("dhcp-client-identifier", value)
    if not raw:
        raise LocalProtocolError(f"{what} must not be empty (a zero-length value is a null)")
    return raw


def _hardware_type(value: int) -> bytes:
    # dhcpd wants an int32 whose first three bytes are zero (reference §5.1).
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise LocalProtocolError(f"hardware type must be 0..255, got {value!r}")
    return encode_int32(value)


def _handle(value: int) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 0xFFFFFFFF:
        raise LocalProtocolError(f"not an object handle: {value!r}")
    return encode_int32(value)


def _ip_list(value: IPLike | Sequence[IPLike]) -> bytes:
    """Host fixed addresses: one address, or a sequence (empty = none), 4 bytes each."""
    if isinstance(value, IPv4Address | str):
        return encode_value("ip-address", value, "host")
    return b"".join(encode_ip(ip) for ip in value)


def _show(value: bytes) -> str:
    return value.hex(":") if value else "''"


def lease_keys(
    *,
    ip: IPLike | None = None,
    mac: MacLike | None = None,
    client_id: IdentifierLike | None = None,
    handle: int | None = None,
    hardware_type: int = ETHERNET,
) -> Keys:
    """Encoded lookup keys for a lease (reference §5.1). Pure; checks every value.

    Args:
        ip: the lease's address.
        mac: the client's hardware address; sent with ``hardware_type``.
        client_id: the client identifier (bytes, or colon-hex / text).
        handle: the lease's handle.
        hardware_type: the ARP type sent with ``mac`` (1 = Ethernet).

    Returns:
        attribute name → wire bytes; several keys must all name the same lease.

    Raises:
        TypeError: no key given.
        LocalProtocolError: a value cannot be sent.
    """
    keys: Keys = {}
    if handle is not None:
        keys["handle"] = _handle(handle)
    if ip is not None:
        keys["ip-address"] = encode_ip(ip)
    if client_id is not None:
        keys["dhcp-client-identifier"] = _identifier("client_id", client_id)
    if mac is not None:
        keys["hardware-address"] = _mac(mac)
        keys["hardware-type"] = _hardware_type(hardware_type)
    if not keys:
        raise TypeError("give at least one of ip, mac, client_id or handle")
    return keys


def host_keys(
    *,
    name: str | None = None,
    mac: MacLike | None = None,
    client_id: IdentifierLike | None = None,
    ip: IPLike | None = None,
    handle: int | None = None,
    hardware_type: int = ETHERNET,
) -> Keys:
    """Encoded lookup keys for a host (reference §5.2). Pure; checks every value.

    Args:
        name: the host's name.
        mac: its hardware address; sent with ``hardware_type``, which is part of the match.
        client_id: its client identifier.
        ip: an address *leased* to the host's MAC: dhcpd finds the lease with this address
            and looks the host up by that lease's hardware address. A host's own
            fixed-address is not searched.
        handle: the host's handle.
        hardware_type: the ARP type sent with ``mac`` (1 = Ethernet).

    Returns:
        attribute name → wire bytes; several keys must all name the same host.

    Raises:
        TypeError: no key given.
        LocalProtocolError: a value cannot be sent.
    """
    keys: Keys = {}
    if handle is not None:
        keys["handle"] = _handle(handle)
    if client_id is not None:
        keys["dhcp-client-identifier"] = _identifier("client_id", client_id)
    if mac is not None:
        keys["hardware-address"] = _mac(mac)
        keys["hardware-type"] = _hardware_type(hardware_type)
    if ip is not None:
        keys["ip-address"] = encode_ip(ip)
    if name is not None:
        keys["name"] = _text("name", name)
    if not keys:
        raise TypeError("give at least one of name, mac, client_id, ip or handle")
    return keys


def _several(what: str, keys: Mapping[str, bytes], exc: MultipleMatches) -> MultipleMatches:
    shown = ", ".join(f"{k}={_show(v)}" for k, v in keys.items() if k != "hardware-type")
    prefix = f"{exc.text}: " if exc.text else ""
    text = f"{prefix}several {what} match {shown}; look up by ip or handle instead"
    return MultipleMatches(exc.code, text)


def _now() -> bytes:
    return encode_time(int(time.time()))


# ----------------------------------------------------------------- managers


class _Manager:
    __slots__ = ("_client",)

    def __init__(self, client: Client) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"


@dataclass(frozen=True, slots=True)
class _LeaseChange:
    """Checked new values for a lease, before anything is sent."""

    ends: bytes | None
    flags: LeaseFlags | None
    state: LeaseState | None

    @classmethod
    def check(
        cls,
        ends: LeaseTime | int | None,
        state: LeaseState | int | str | None,
        flags: LeaseFlags | int | None,
    ) -> _LeaseChange:
        if ends is None and state is None and flags is None:
            raise TypeError("give at least one of ends, state or flags")
        return cls(
            encode_time(ends) if ends is not None else None,
            to_lease_flags(flags) if flags is not None else None,
            to_lease_state(state) if state is not None else None,
        )

    def values(self, current: LeaseState | int) -> dict[str, ValueLike]:
        """The UPDATE values, in the order that leaves the lease in the intended state.

        dhcpd moves a lease along its pending transition on *every* change of ``ends`` or
        ``flags`` (an active lease becomes free at once, whatever the new end), so those go
        first and the state last: the requested one, or else the current one again.
        """
        out: dict[str, ValueLike] = {}
        if self.ends is not None:
            out["ends"] = self.ends
        if self.flags is not None:
            out["flags"] = self.flags
        state = self.state
        if state is None and isinstance(current, LeaseState):
            state = current
        if state is not None:
            out["state"] = state
        return out


class Leases(_Manager):
    """``omapi.leases``: look up leases and change their ``ends``, ``state`` and ``flags``.

    dhcpd cannot create or delete leases (NotImplementedByServer).
    """

    __slots__ = ()

    async def get(self, **lookup: Unpack[LeaseLookup]) -> Lease:
        """The lease with this address, hardware address, client identifier or handle.

        Args:
            lookup: ``ip``, ``mac`` (+ ``hardware_type``), ``client_id`` and/or ``handle``;
                see :func:`lease_keys`.

        Raises:
            NotFound: no such lease.
            MultipleMatches: several leases have this ``mac`` or ``client_id``.
            KeyConflict: the keys name different leases.
            InvalidArgument: ``handle`` belongs to an object that is not a lease.
            TypeError, LocalProtocolError: bad arguments (nothing is sent).
        """
        return await self.fetch(lease_keys(**lookup))

    async def fetch(self, keys: Mapping[str, bytes]) -> Lease:
        """One lease lookup with keys from :func:`lease_keys` (the step bulk lookups reuse).

        Raises:
            NotFound, MultipleMatches, KeyConflict, InvalidArgument: as for :meth:`get`.
        """
        try:
            obj = await self._client.open("lease", keys)
        except MultipleMatches as exc:
            raise _several("leases", keys, exc) from exc
        return Lease.from_object(obj)

    def get_many(
        self,
        *,
        ips: Iterable[IPLike] | None = None,
        macs: Iterable[MacLike] | None = None,
        client_ids: Iterable[IdentifierLike] | None = None,
        hardware_type: int = ETHERNET,
        concurrency: int = DEFAULT_CONCURRENCY,
        ordered: bool = False,
    ) -> AsyncGenerator[tuple[Any, Lease | OmapiError], None]:
        """Look up many leases: ``async for ip, result in omapi.leases.get_many(ips=…)``.

        Exactly one of ``ips``, ``macs`` or ``client_ids`` is given; it may be any iterable,
        including a lazy generator (items are pulled as lookups finish).

        Yields:
            ``(item, result)`` for every item, where ``item`` is what was passed in and
            ``result`` is the :class:`Lease`, or the :class:`~aiomapi.OmapiError` for that
            item (``NotFound``, ``MultipleMatches``, ``LocalProtocolError`` for a value that
            cannot be sent, …): one failure never aborts the batch. Results come as they
            complete; ``ordered=True`` yields them in input order instead.

        At most ``concurrency`` lookups are pending at once; the client's in-flight budget
        decides how many of them are on the wire. Spread them over several connections with
        ``Client(connections=N)``. Leaving the loop early cancels the rest.

        Raises:
            TypeError: not exactly one of ``ips``, ``macs``, ``client_ids``.
        """
        given = [
            (n, v)
            for n, v in (("ip", ips), ("mac", macs), ("client_id", client_ids))
            if v is not None
        ]
        if len(given) != 1:
            raise TypeError("get_many() takes exactly one of ips=, macs=, client_ids=")
        name, items = given[0]
        fetch = self.fetch

        async def lookup(item: Any) -> Lease:
            try:
                if name == "ip":
                    keys = {"ip-address": encode_ip(item)}
                elif name == "mac":
                    keys = lease_keys(mac=item, hardware_type=hardware_type)
                else:
                    keys = lease_keys(client_id=item)
            except (TypeError, ValueError) as exc:
                if isinstance(exc, OmapiError):
                    raise
                raise LocalProtocolError(f"cannot look up {name} {item!r}: {exc}") from exc
            return await fetch(keys)

        return map_bounded(lookup, items, concurrency=concurrency, ordered=ordered)

    async def refresh(self, lease: Lease | int) -> Lease:
        """``lease`` (or the lease with this handle) as the server has it now."""
        handle = lease.handle if isinstance(lease, Lease) else lease
        return await self.fetch({"handle": _handle(handle)})

    async def update(
        self,
        *,
        ends: LeaseTime | int | None = None,
        state: LeaseState | int | str | None = None,
        flags: LeaseFlags | int | None = None,
        **lookup: Unpack[LeaseLookup],
    ) -> Lease:
        """Change a lease's ``ends``, ``flags`` and/or binding ``state``; returns the new lease.

        Sent in one UPDATE as ``ends``, ``flags``, then ``state``. dhcpd runs a lease through
        its pending transition whenever ``ends`` or ``flags`` change (an active lease becomes
        free at once, dropping its client-hostname), so the state is sent last: the given one,
        or the lease's current state again, which keeps e.g. an active lease active with its
        new end. A new ``state=ACTIVE`` with an ``ends`` in the past expires at once.

        Args:
            ends: the new end (aware datetime, NEVER, UNSET or epoch seconds).
            state: the new binding state (member, 1..7, or a name such as ``"released"``).
            flags: the new flags (only the bits in SETTABLE_LEASE_FLAGS).
            lookup: which lease, as for :meth:`get`.

        Raises:
            LocalProtocolError: a value that must not be sent (checked before any request).
            TypeError: no lookup key or no change given.
            NotFound, MultipleMatches, ...: as for :meth:`get`.
        """
        change = _LeaseChange.check(ends, state, flags)
        lease = await self.fetch(lease_keys(**lookup))
        return await self._apply(lease, change.values(lease.state))

    async def release(self, **lookup: Unpack[LeaseLookup]) -> Lease:
        """Release a lease as a DHCPRELEASE would; returns the lease afterwards.

        Sends ``state=released`` and then ``ends=now``. The state change makes dhcpd run its
        release actions; the new end then completes it as dhcpd's own release does: without
        failover the lease is free at once. (``ends`` first would expire the lease instead of
        releasing it, and leave it stuck in ``released`` until the next pool timer.)

        Args:
            lookup: which lease, as for :meth:`get`.

        Raises:
            NotFound, MultipleMatches, ...: as for :meth:`get`.
        """
        lease = await self.fetch(lease_keys(**lookup))
        return await self._apply(lease, {"state": LeaseState.RELEASED, "ends": _now()})

    async def expire(self, **lookup: Unpack[LeaseLookup]) -> Lease:
        """End a lease now, as if its time had run out; returns the lease afterwards.

        Sends only ``ends=now``: dhcpd then makes the lease's pending transition itself, as
        when its time runs out. An active lease becomes free. On a failover peer a lease
        that dhcpd has touched since it started (made active, or acknowledged by the
        partner) becomes expired instead, and free only once the partner acknowledges the
        binding update. dhcpd 4.4.3's partner refuses that while its own end for the lease
        is more than 65 s away (dhcpd logs "invalid state transition: active to expired"):
        the lease then stays expired here and active there. Check the partner when it
        matters.

        Args:
            lookup: which lease, as for :meth:`get`.

        Raises:
            NotFound, MultipleMatches, ...: as for :meth:`get`.
        """
        lease = await self.fetch(lease_keys(**lookup))
        return await self._apply(lease, {"ends": _now()})

    async def _apply(self, lease: Lease, values: Mapping[str, ValueLike]) -> Lease:
        await self._client.update(lease.handle, values, "lease")
        return await self.refresh(lease)


class Hosts(_Manager):
    """``omapi.hosts``: host declarations (reference §5.2).

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
        return Host.from_object(await self._client.open("host", host_keys(**lookup)))

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
            values["name"] = _text("name", name)
        if hardware_address is not None:
            values["hardware-address"] = _mac(hardware_address)
            values["hardware-type"] = _hardware_type(hardware_type)
        if client_id is not None:
            values["dhcp-client-identifier"] = _identifier("client_id", client_id)
        values.update(_host_settings(ip_address, group, statements))
        return Host.from_object(await self._client.create("host", values))

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
        await self._client.update(host.handle, settings, "host")
        return await self.get(handle=host.handle)

    async def delete(self, **lookup: Unpack[HostLookup]) -> None:
        """Delete a host (also one declared in dhcpd.conf; dhcpd records the deletion).

        Args:
            lookup: which host, as for :meth:`get`.

        Raises:
            NotFound: no such host (already deleted included).
        """
        host = await self.get(**lookup)
        await self._client.delete(host.handle, "host")

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
        addresses = _ip_list(ip_address) if ip_address is not None else b""

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
            await self._client.delete(current.handle, "host")
            return await create()
        settings = _host_diff(current, addresses, group)
        if not settings:
            return current
        await self._client.update(current.handle, settings, "host")
        return await self.get(handle=current.handle)


def _host_diff(current: Host, addresses: bytes, group: str | None) -> Keys:
    """What to UPDATE on ``current`` so it has these fixed addresses and group.

    The group is always sent when given: dhcpd never says which group a host is in.
    """
    settings: Keys = {}
    if addresses != b"".join(ip.packed for ip in current.ip_addresses):
        settings["ip-address"] = addresses
    if group is not None:
        settings["group"] = _text("group", group)
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
        addresses = _ip_list(ip_address)
        if addresses or clear:
            values["ip-address"] = addresses
    if group is not None:
        values["group"] = _text("group", group)
    if statements is not None:
        values["statements"] = _text("statements", statements)
    return values


def _identity(
    mac: MacLike | None, hardware_type: int, client_id: IdentifierLike | None
) -> tuple[bytes | None, int | None, bytes | None]:
    packed = _mac(mac) if mac is not None else None
    cid = _identifier("client_id", client_id) if client_id is not None else None
    return packed, (hardware_type if packed is not None else None), cid


def _identity_of(host: Host) -> tuple[bytes | None, int | None, bytes | None]:
    packed = host.hardware_address.packed if host.hardware_address is not None else None
    return packed, (host.hardware_type if packed is not None else None), host.dhcp_client_identifier


class Groups(_Manager):
    """``omapi.groups``: named groups of statements (reference §5.3).

    Hosts and classes name a group through their ``group`` attribute.
    """

    __slots__ = ()

    async def create(self, name: str | None = None, *, statements: str) -> Group:
        """Create a group.

        Args:
            name: unique name; dhcpd makes one up (``ng…``) if omitted.
            statements: dhcpd.conf statements (required by dhcpd; never sent back).

        Raises:
            AlreadyExists: the name is taken.
            BadParse: ``statements`` do not parse.
            LocalProtocolError: an empty name or statements.
        """
        values: Keys = {}
        if name is not None:
            values["name"] = _text("name", name)
        values["statements"] = _text("statements", statements)
        return Group.from_object(await self._client.create("group", values))

    async def get(self, name: str | None = None, *, handle: int | None = None) -> Group:
        """The group with this name and/or handle.

        Raises:
            NotFound: no such group (deleted included).
            TypeError: neither given.
        """
        keys: Keys = {}
        if handle is not None:
            keys["handle"] = _handle(handle)
        if name is not None:
            keys["name"] = _text("name", name)
        if not keys:
            raise TypeError("give a group name or handle")
        return Group.from_object(await self._client.open("group", keys))

    async def delete(self, name: str | None = None, *, handle: int | None = None) -> None:
        """Delete a group (also one from dhcpd.conf).

        Raises:
            NotFound: no such group.
        """
        group = await self.get(name, handle=handle)
        await self._client.delete(group.handle, "group")


class Classes(_Manager):
    """``omapi.classes``: client classes (reference §5.5). Looked up by name only."""

    __slots__ = ()

    async def create(
        self, name: str, *, match: str | None = None, group: str | None = None
    ) -> Class:
        """Create a class.

        Args:
            name: the class name.
            match: ``"hardware"`` makes subclasses match on hardware type + MAC; dhcpd
                supports no other expression over OMAPI (InvalidArgument).
            group: the name of an existing group whose statements the class uses.

        Raises:
            AlreadyExists: a class with this name exists.
            InvalidArgument: ``match`` is not ``"hardware"``.
            NotFound: ``group`` does not exist.
        """
        values: Keys = {"name": _text("name", name)}
        if match is not None:
            values["match"] = _text("match", match)
        if group is not None:
            values["group"] = _text("group", group)
        return Class.from_object(await self._client.create("class", values), name)

    async def get(self, name: str) -> Class:
        """The class called ``name``.

        Raises:
            NotFound: no such class (deleted included).
        """
        obj = await self._client.open("class", {"name": _text("name", name)})
        return Class.from_object(obj, name)

    async def delete(self, name: str) -> None:
        """Delete the class called ``name``.

        Raises:
            NotFound: no such class.
        """
        cls = await self.get(name)
        await self._client.delete(cls.handle, "class")


class Subclasses(_Manager):
    """``omapi.subclasses``: subclasses, named by their parent class and a hash string."""

    __slots__ = ()

    async def create(self, name: str, hashstring: IdentifierLike) -> Subclass:
        """Add a subclass to class ``name``.

        Args:
            name: the parent class.
            hashstring: what the parent's ``match`` must evaluate to (bytes, or colon-hex
                text such as ``"01:02:00:00:00:00:05"`` for hardware type 1 + MAC).

        Raises:
            NotFound: no class ``name``.
            AlreadyExists: the parent already has this hash string.
        """
        keys = _subclass_keys(name, hashstring)
        obj = await self._client.create("subclass", keys)
        return Subclass.from_object(obj, name, keys["hashstring"])

    async def get(self, name: str, hashstring: IdentifierLike) -> Subclass:
        """The subclass of ``name`` with this hash string.

        Raises:
            NotFound: no such class or subclass.
        """
        keys = _subclass_keys(name, hashstring)
        obj = await self._client.open("subclass", keys)
        return Subclass.from_object(obj, name, keys["hashstring"])

    async def delete(self, name: str, hashstring: IdentifierLike) -> None:
        """Remove the subclass of ``name`` with this hash string.

        Raises:
            NotFound: no such class or subclass.
        """
        sub = await self.get(name, hashstring)
        await self._client.delete(sub.handle, "subclass")


def _subclass_keys(name: str, hashstring: IdentifierLike) -> Keys:
    # Both are required: without hashstring dhcpd hands back a blank, unentered subclass.
    return {"name": _text("name", name), "hashstring": _identifier("hashstring", hashstring)}


class Failover(_Manager):
    """``omapi.failover``: the ``failover-state`` of each failover peer (reference §6)."""

    __slots__ = ()

    async def get(self, name: str) -> FailoverPeer:
        """The state of failover peer ``name``.

        Raises:
            NotFound: no failover peer of that name.
        """
        obj = await self._client.open("failover-state", {"name": _text("name", name)})
        return FailoverPeer.from_object(obj)

    async def set_local_state(self, name: str, state: FailoverState | int | str) -> FailoverPeer:
        """Move this server's side of peer ``name`` to ``state``; returns the new status.

        dhcpd makes the move without checking that the transition makes sense, writes it to
        the lease file and tells the partner, which may move on by itself (reference §6.2).

        Raises:
            LocalProtocolError: ``state`` is not one of the 13 failover states (dhcpd 4.4.3
                exits on any other value); nothing is sent.
            NotFound: no such peer.
        """
        new = to_failover_state(state)
        peer = await self.get(name)
        await self._client.update(peer.handle, {"local-state": new}, "failover-state")
        return await self.get(name)

    async def partner_down(self, name: str) -> FailoverPeer:
        """Declare the partner of peer ``name`` down (local state partner-down).

        Use it only when the partner is really down: with the partner connected, both
        move on through potential-conflict back to normal within a few seconds.

        Raises:
            NotFound: no such peer.
        """
        return await self.set_local_state(name, FailoverState.PARTNER_DOWN)


class Control(_Manager):
    """``omapi.control``: the server's control object (reference §5.4)."""

    __slots__ = ()

    async def get(self) -> ControlObject:
        """The control object (its state reads 0 while dhcpd 4.4.3 runs)."""
        return ControlObject.from_object(await self._client.open("control", {}))

    async def shutdown(self, *, timeout: float | None = 30.0) -> None:
        """Ask dhcpd to shut down (control ``state = 2``, reference §5.4).

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
        control = await self._client.open("control", {})
        state = (("state", encode_int32(ControlState.SHUTDOWN)),)
        request = Request(Opcode.UPDATE, handle=control.handle, object=state, object_type="control")
        with contextlib.suppress(NetworkError):  # dhcpd resets instead of answering
            await self._client.request(request, timeout=timeout)


class Pools(_Manager):
    """``omapi.pools``: lease pool counters, reached through a lease's ``pool`` handle.

    dhcpd has no pool lookup; only the handle in a lease reply leads to a pool.
    """

    __slots__ = ()

    async def get(self, handle: int) -> LeasePool:
        """The pool with this handle.

        Raises:
            LocalProtocolError: the handle names an object that is not a pool.
            NotFound: no object has this handle.
        """
        obj = await self._client.refresh(handle, "pool")
        if "lease-count" not in obj:
            raise LocalProtocolError(f"handle {handle} is not a pool")
        return LeasePool.from_object(obj)

    async def of_lease(self, lease: Lease) -> LeasePool:
        """The pool ``lease`` belongs to.

        Raises:
            LocalProtocolError: the lease reply carried no pool handle.
        """
        if lease.pool is None:
            raise LocalProtocolError(f"lease {lease.ip_address} has no pool handle")
        return await self.get(lease.pool)
