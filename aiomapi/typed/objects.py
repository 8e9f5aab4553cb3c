"""Typed OMAPI objects: frozen dataclasses decoded from the server's replies.

Theory of operation
-------------------
dhcpd answers an OPEN or REFRESH with an UPDATE message whose object values are untyped byte
strings (docs/dhcpd-behaviour.md, "Messages and replies"). This module turns them into one
frozen dataclass per object type (docs/dhcpd-behaviour.md, "Objects" and "Failover"), with
fields named after dhcpd's attributes in snake case and declared in the order dhcpd sends them.

Each class decodes with a pure ``from_values(handle, values)``: ``values`` is the reply
message's value list as it came off the wire, walked once by the class's table
(:mod:`aiomapi.typed.decoding`), so a lookup makes no intermediate object. ``from_object`` does
the same from an :class:`~aiomapi.typed.raw.OmapiObject` (what the generic operations return).
Attributes that are not in a class's table are kept raw: a lease's binding variables in
:attr:`Lease.variables`, anything else in ``extra``.

The checks that go the other way, ``to_lease_state``, ``to_failover_state`` and
``to_lease_flags``, live in :mod:`aiomapi.typed.enums` and are re-exported here.

:meth:`Lease.from_values`, on the hot path of every lease lookup, is compiled where the
extension is in use (:data:`LEASE_PLAN`, from ``aiomapi/typed/_speedups.pyx``; docs/
speedups.md): it builds the usual reply in C and hands any other to
:func:`pure_lease_from_values`, the reference, so that both give the same lease or the same
error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any, Final, Self, TypeVar

from aiomapi import _speedups
from aiomapi._sansio.wire import Frame, decode_frame
from aiomapi.typed.coders import decode_int32, decode_ip, decode_ip_list, decode_string
from aiomapi.typed.decoding import (
    _BYTE_FLAGS,
    FAST_KINDS,
    NO_FLAGS,
    RawValues,
    Table,
    as_bytes,
    control_state,
    decode_fields,
    failover_address,
    failover_state,
    hierarchy,
    lease_flags,
    lease_state,
    require,
)
from aiomapi.typed.enums import (
    ControlState,
    FailoverHierarchy,
    FailoverState,
    LeaseFlags,
    LeaseState,
    to_failover_state,
    to_lease_flags,
    to_lease_state,
)
from aiomapi.typed.mac import MAX_HARDWARE_ADDRESS_LEN, MacAddress, decode_mac
from aiomapi.typed.raw import OmapiObject
from aiomapi.typed.times import _TIMES, UNSET, LeaseTime, decode_time

__all__ = [
    "Class",
    "ControlObject",
    "FailoverPeer",
    "Group",
    "Host",
    "Lease",
    "LeasePool",
    "Subclass",
    "to_failover_state",
    "to_lease_flags",
    "to_lease_state",
]


def _values_of(obj: OmapiObject) -> RawValues:
    """``obj``'s values in the order they came: first values, then the repeated ones."""
    return (*obj.values.items(), *obj.repeated)


# ----------------------------------------------------------------- lease


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """A lease as dhcpd sends it (docs/dhcpd-behaviour.md, "Objects"), fields in dhcpd's order.

    Attributes:
        handle: the server's handle for this lease.
        state: the binding state (a plain int only if dhcpd sent an unknown number).
        ip_address: the leased address.
        dhcp_client_identifier: the client identifier, if the lease has one.
        client_hostname: the name the client sent, if any. dhcpd drops it whenever the lease
            leaves ``active`` (also on the way through ``free`` when ``ends`` changes).
        host, subnet, pool, billing_class: handles of related objects (``pool`` leads to
            the pool counters, see ``omapi.pools.of_lease``); ``None`` when not sent.
        hardware_address, hardware_type: the client's MAC and its ARP type (1 = Ethernet).
        ends, starts, tstp, tsfp, atsfp, cltt: times; :data:`~aiomapi.NEVER` or
            :data:`~aiomapi.UNSET` where they are not points in time.
        flags: the ephemeral lease flags.
        variables: the lease's binding scope, raw (``set x = ...`` in the lease file, DDNS
            names, ``remote-handle``): dhcpd sends numbers and booleans as int32 and data as
            bytes, and the wire does not say which is which.
    """

    handle: int
    state: LeaseState | int
    ip_address: IPv4Address
    dhcp_client_identifier: bytes | None = None
    client_hostname: str | None = None
    host: int | None = None
    subnet: int | None = None
    pool: int | None = None
    billing_class: int | None = None
    hardware_address: MacAddress | None = None
    hardware_type: int | None = None
    ends: LeaseTime = UNSET
    starts: LeaseTime = UNSET
    tstp: LeaseTime = UNSET
    tsfp: LeaseTime = UNSET
    atsfp: LeaseTime = UNSET
    cltt: LeaseTime = UNSET
    flags: LeaseFlags = NO_FLAGS
    variables: Mapping[str, bytes] = field(default_factory=dict, hash=False)

    @classmethod
    def from_values(cls, handle: int, values: RawValues) -> Self:
        """Decode a lease reply: its handle and value list (pure, no I/O).

        Compiled where the extension is (docs/speedups.md); :func:`pure_lease_from_values`
        is the reference.

        Raises:
            RemoteProtocolError: a value is malformed, or ``state``/``ip-address`` is missing.
        """
        lease: Self = build_lease(cls, handle, values)
        return lease

    @classmethod
    def from_object(cls, obj: OmapiObject) -> Self:
        """Decode a lease reply kept as an :class:`~aiomapi.OmapiObject` (pure)."""
        return cls.from_values(obj.handle, _values_of(obj))


_LEASE_TABLE: Final[Table] = {
    "state": ("state", lease_state),
    "ip-address": ("ip_address", decode_ip),
    "dhcp-client-identifier": ("dhcp_client_identifier", as_bytes),
    "client-hostname": ("client_hostname", decode_string),
    "host": ("host", decode_int32),
    "subnet": ("subnet", decode_int32),
    "pool": ("pool", decode_int32),
    "billing-class": ("billing_class", decode_int32),
    "hardware-address": ("hardware_address", decode_mac),
    "hardware-type": ("hardware_type", decode_int32),
    "ends": ("ends", decode_time),
    "starts": ("starts", decode_time),
    "tstp": ("tstp", decode_time),
    "tsfp": ("tsfp", decode_time),
    "atsfp": ("atsfp", decode_time),
    "cltt": ("cltt", decode_time),
    "flags": ("flags", lease_flags),
}
_LEASE_REQUIRED: Final = frozenset({"state", "ip_address"})

_L = TypeVar("_L", bound=Lease)


def pure_lease_from_values(cls: type[_L], handle: int, values: RawValues) -> _L:
    """:meth:`Lease.from_values` in pure Python: the reference the compiled one follows."""
    fields, variables = decode_fields(handle, values, _LEASE_TABLE, "lease")
    require(fields, _LEASE_REQUIRED, "lease")
    return cls(**fields, variables=variables)


def lease_plan(module: Any, fallback: Callable[..., Any] | None = None) -> Any:
    """The compiled lease builder from ``module`` (``aiomapi.typed._speedups``): a ``Plan``
    whose ``build(cls, handle, values)`` makes what :func:`pure_lease_from_values` makes,
    and calls ``fallback`` (that function by default) for any reply it leaves to it."""
    context = {
        "IPv4Address": IPv4Address,
        "MacAddress": MacAddress,
        "mac_max": MAX_HARDWARE_ADDRESS_LEN,
        "times": _TIMES,
        "decode_time": decode_time,
        "byte_flags": _BYTE_FLAGS,
    }
    return module.Plan(
        Lease,
        _LEASE_TABLE,
        _LEASE_REQUIRED,
        "variables",
        fallback or pure_lease_from_values,
        FAST_KINDS,
        context,
    )


def _lease_plan_or_none() -> Any:
    module = _speedups.compiled("aiomapi.typed._speedups")
    if module is None:
        return None
    try:
        return lease_plan(module)
    except TypeError as exc:  # a Python whose classes cannot be filled slot by slot
        logging.getLogger("aiomapi").info("Lease is built in pure Python: %s", exc)
        return None


#: The compiled lease builder, if the extension is in use (docs/speedups.md).
LEASE_PLAN: Final = _lease_plan_or_none()
#: What :meth:`Lease.from_values` runs: ``build_lease(cls, handle, values)``, compiled or pure.
build_lease: Callable[[type[Any], int, RawValues], Any] = (
    LEASE_PLAN.build if LEASE_PLAN is not None else pure_lease_from_values
)


def lease_from_reply(frame: Frame) -> Lease:
    """The Lease in an object reply's frame, as ``Lease.from_values(message.handle,
    message.object)`` makes it from the decoded message: compiled, straight from the bytes
    (the message and its value pairs are never made) where the reply is the usual one; else
    through the decoded message, whose reference judges it.

    Raises:
        RemoteProtocolError: as :meth:`Lease.from_values`.
    """
    if LEASE_PLAN is not None:
        lease: Lease | None = LEASE_PLAN.build_reply(Lease, frame.data, frame.signed_end)
        if lease is not None:
            return lease
    message = decode_frame(frame)
    return Lease.from_values(message.handle, message.object)


# ----------------------------------------------------------------- host


@dataclass(frozen=True, slots=True, kw_only=True)
class Host:
    """A host declaration (docs/dhcpd-behaviour.md, "Objects"), fields in dhcpd's order.

    dhcpd never sends a host's ``group`` or ``statements``: they can be set, not read.

    Attributes:
        handle: the server's handle for this host.
        ip_addresses: the fixed addresses (empty if none).
        dhcp_client_identifier: the client identifier, if set.
        name: the host's name (dhcpd makes one up, ``nh…``, if it was created without).
        hardware_address, hardware_type: the MAC and its ARP type, if set.
        extra: any other attribute, raw.
    """

    handle: int
    ip_addresses: tuple[IPv4Address, ...] = ()
    dhcp_client_identifier: bytes | None = None
    name: str
    hardware_address: MacAddress | None = None
    hardware_type: int | None = None
    extra: Mapping[str, bytes] = field(default_factory=dict, hash=False)

    @property
    def ip_address(self) -> IPv4Address | None:
        """The first fixed address, or ``None``."""
        return self.ip_addresses[0] if self.ip_addresses else None

    @classmethod
    def from_values(cls, handle: int, values: RawValues) -> Self:
        """Decode a host reply: its handle and value list (pure, no I/O).

        Raises:
            RemoteProtocolError: a value is malformed, or there is no ``name``.
        """
        fields, extra = decode_fields(handle, values, _HOST_TABLE, "host")
        require(fields, _NAME_REQUIRED, "host")
        return cls(**fields, extra=extra)

    @classmethod
    def from_object(cls, obj: OmapiObject) -> Self:
        """Decode a host reply kept as an :class:`~aiomapi.OmapiObject` (pure)."""
        return cls.from_values(obj.handle, _values_of(obj))


_HOST_TABLE: Final[Table] = {
    "ip-address": ("ip_addresses", decode_ip_list),
    "dhcp-client-identifier": ("dhcp_client_identifier", as_bytes),
    "name": ("name", decode_string),
    "hardware-address": ("hardware_address", decode_mac),
    "hardware-type": ("hardware_type", decode_int32),
}
_NAME_REQUIRED: Final = frozenset({"name"})


# ----------------------------------------------------------------- group


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """A named group (docs/dhcpd-behaviour.md, "Objects"). Its statements are never sent back.

    Attributes:
        handle: the server's handle.
        name: the group's name.
        extra: any other attribute, raw.
    """

    handle: int
    name: str
    extra: Mapping[str, bytes] = field(default_factory=dict, hash=False)

    @classmethod
    def from_values(cls, handle: int, values: RawValues) -> Self:
        """Decode a group reply: its handle and value list (pure, no I/O).

        Raises:
            RemoteProtocolError: there is no ``name``, or it is malformed.
        """
        fields, extra = decode_fields(handle, values, _GROUP_TABLE, "group")
        require(fields, _NAME_REQUIRED, "group")
        return cls(**fields, extra=extra)

    @classmethod
    def from_object(cls, obj: OmapiObject) -> Self:
        """Decode a group reply kept as an :class:`~aiomapi.OmapiObject` (pure)."""
        return cls.from_values(obj.handle, _values_of(obj))


_GROUP_TABLE: Final[Table] = {"name": ("name", decode_string)}


# ----------------------------------------------------------------- class, subclass

_CLASS_TABLE: Final[Table] = {
    "lease-limit": ("lease_limit", decode_int32),
    "leases-used": ("leases_used", decode_int32),
}
_CLASS_REQUIRED: Final = frozenset({"lease_limit", "leases_used"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Class:
    """A client class (docs/dhcpd-behaviour.md, "Objects").

    dhcpd sends only the two counters; ``name`` is the one the class was looked up by.

    Attributes:
        handle: the server's handle.
        name: the class name.
        lease_limit: the class's ``lease limit`` (0 = none).
        leases_used: leases currently billed to the class.
        extra: any other attribute, raw.
    """

    handle: int
    name: str
    lease_limit: int
    leases_used: int
    extra: Mapping[str, bytes] = field(default_factory=dict, hash=False)

    @classmethod
    def from_values(cls, handle: int, values: RawValues, name: str) -> Self:
        """Decode a class reply; ``name`` is the name it was opened by (pure).

        Raises:
            RemoteProtocolError: a counter is missing or malformed.
        """
        fields, extra = decode_fields(handle, values, _CLASS_TABLE, "class")
        require(fields, _CLASS_REQUIRED, "class")
        return cls(**fields, name=name, extra=extra)

    @classmethod
    def from_object(cls, obj: OmapiObject, name: str) -> Self:
        """Decode a class reply kept as an :class:`~aiomapi.OmapiObject` (pure)."""
        return cls.from_values(obj.handle, _values_of(obj), name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subclass:
    """A subclass of a class: the parent's ``name`` plus a ``hashstring`` (docs/
    dhcpd-behaviour.md, "Objects").

    dhcpd sends only the counters; ``name`` and ``hashstring`` are the lookup keys.

    Attributes:
        handle: the server's handle.
        name: the parent class's name (dhcpd's ``name`` attribute of a subclass).
        hashstring: the value the parent's ``match`` expression is compared with, e.g.
            hardware type + MAC (``01:02:00:…``) for ``match hardware``.
        lease_limit: the lease limit inherited from the parent.
        leases_used: leases currently billed to the subclass.
        extra: any other attribute, raw.
    """

    handle: int
    name: str
    hashstring: bytes
    lease_limit: int
    leases_used: int
    extra: Mapping[str, bytes] = field(default_factory=dict, hash=False)

    @classmethod
    def from_values(cls, handle: int, values: RawValues, name: str, hashstring: bytes) -> Self:
        """Decode a subclass reply; ``name``/``hashstring`` are its lookup keys (pure).

        Raises:
            RemoteProtocolError: a counter is missing or malformed.
        """
        fields, extra = decode_fields(handle, values, _CLASS_TABLE, "subclass")
        require(fields, _CLASS_REQUIRED, "subclass")
        return cls(**fields, name=name, hashstring=hashstring, extra=extra)

    @classmethod
    def from_object(cls, obj: OmapiObject, name: str, hashstring: bytes) -> Self:
        """Decode a subclass reply kept as an :class:`~aiomapi.OmapiObject` (pure)."""
        return cls.from_values(obj.handle, _values_of(obj), name, hashstring)


# ----------------------------------------------------------------- failover state


@dataclass(frozen=True, slots=True, kw_only=True)
class FailoverPeer:
    """The ``failover-state`` object of one failover peer, in dhcpd's order
    (docs/dhcpd-behaviour.md, "Failover").

    Attributes:
        handle: the server's handle.
        name: the peer name (``failover peer "NAME"``).
        partner_address, local_address: always ``None`` with dhcpd 4.4.3, which sends 8 bytes
            of its own memory (a heap pointer) instead of the address; they are reported as
            unavailable rather than as a made-up address. A 4-byte value would be decoded.
        partner_port, local_port: the failover TCP ports.
        max_outstanding_updates: ``max-unacked-updates``.
        mclt: maximum client lead time, seconds (a secondary learns it from the primary).
        load_balance_max_secs: ``load balance max seconds``; 0 = load balancing disabled.
        load_balance_hba: the 32-byte hash bucket assignment, if the peer has one.
        partner_state: the state the partner last reported (it lags while they cannot talk).
        local_state: this server's state.
        partner_stos, local_stos: when each entered its state.
        hierarchy: primary or secondary.
        last_packet_sent, last_timestamp_received: as dhcpd sends them (read as unset in tests).
        skew: clock skew, seconds.
        max_response_delay: seconds of silence before the partner counts as gone.
        cur_unacked_updates: binding updates waiting for the partner's ack.
        extra: any other attribute, raw.
    """

    handle: int
    name: str
    partner_address: IPv4Address | None = None
    partner_port: int
    local_address: IPv4Address | None = None
    local_port: int
    max_outstanding_updates: int
    mclt: int
    load_balance_max_secs: int
    load_balance_hba: bytes | None = None
    partner_state: FailoverState | int
    local_state: FailoverState | int
    partner_stos: LeaseTime = UNSET
    local_stos: LeaseTime = UNSET
    hierarchy: FailoverHierarchy | int
    last_packet_sent: LeaseTime = UNSET
    last_timestamp_received: LeaseTime = UNSET
    skew: int = 0
    max_response_delay: int
    cur_unacked_updates: int = 0
    extra: Mapping[str, bytes] = field(default_factory=dict, hash=False)

    @classmethod
    def from_values(cls, handle: int, values: RawValues) -> Self:
        """Decode a failover-state reply: its handle and value list (pure).

        Raises:
            RemoteProtocolError: a value is malformed or a mandatory attribute is missing.
        """
        fields, extra = decode_fields(handle, values, _FAILOVER_TABLE, "failover-state")
        require(fields, _FAILOVER_REQUIRED, "failover-state")
        fields.setdefault("partner_address", None)
        fields.setdefault("local_address", None)
        return cls(**fields, extra=extra)

    @classmethod
    def from_object(cls, obj: OmapiObject) -> Self:
        """Decode a failover-state reply kept as an :class:`~aiomapi.OmapiObject` (pure)."""
        return cls.from_values(obj.handle, _values_of(obj))


_FAILOVER_TABLE: Final[Table] = {
    "name": ("name", decode_string),
    "partner-address": ("partner_address", failover_address),
    "partner-port": ("partner_port", decode_int32),
    "local-address": ("local_address", failover_address),
    "local-port": ("local_port", decode_int32),
    "max-outstanding-updates": ("max_outstanding_updates", decode_int32),
    "mclt": ("mclt", decode_int32),
    "load-balance-max-secs": ("load_balance_max_secs", decode_int32),
    "load-balance-hba": ("load_balance_hba", as_bytes),
    "partner-state": ("partner_state", failover_state),
    "local-state": ("local_state", failover_state),
    "partner-stos": ("partner_stos", decode_time),
    "local-stos": ("local_stos", decode_time),
    "hierarchy": ("hierarchy", hierarchy),
    "last-packet-sent": ("last_packet_sent", decode_time),
    "last-timestamp-received": ("last_timestamp_received", decode_time),
    "skew": ("skew", decode_int32),
    "max-response-delay": ("max_response_delay", decode_int32),
    "cur-unacked-updates": ("cur_unacked_updates", decode_int32),
}
_FAILOVER_REQUIRED: Final = frozenset(
    {
        "name",
        "partner_port",
        "local_port",
        "max_outstanding_updates",
        "mclt",
        "load_balance_max_secs",
        "partner_state",
        "local_state",
        "hierarchy",
        "max_response_delay",
    }
)


# ----------------------------------------------------------------- control, pool


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlObject:
    """The server's single ``control`` object (docs/dhcpd-behaviour.md, "Objects").

    Attributes:
        handle: the server's handle.
        state: reads :attr:`~aiomapi.ControlState.STARTUP` (0) while dhcpd 4.4.3 runs (a
            dhcpd bug); a number outside :class:`~aiomapi.ControlState` is kept as an int.
        extra: any other attribute, raw.
    """

    handle: int
    state: ControlState | int
    extra: Mapping[str, bytes] = field(default_factory=dict, hash=False)

    @classmethod
    def from_values(cls, handle: int, values: RawValues) -> Self:
        """Decode a control reply: its handle and value list (pure, no I/O).

        Raises:
            RemoteProtocolError: ``state`` is missing or malformed.
        """
        fields, extra = decode_fields(handle, values, _CONTROL_TABLE, "control")
        require(fields, _STATE_REQUIRED, "control")
        return cls(**fields, extra=extra)

    @classmethod
    def from_object(cls, obj: OmapiObject) -> Self:
        """Decode a control reply kept as an :class:`~aiomapi.OmapiObject` (pure)."""
        return cls.from_values(obj.handle, _values_of(obj))


_CONTROL_TABLE: Final[Table] = {"state": ("state", control_state)}
_STATE_REQUIRED: Final = frozenset({"state"})


@dataclass(frozen=True, slots=True, kw_only=True)
class LeasePool:
    """A lease pool's counters, reached through a lease's ``pool`` handle
    (docs/dhcpd-behaviour.md, "Objects").

    Attributes:
        handle: the server's handle.
        lease_count: leases in the pool.
        free_leases: leases in state free.
        backup_leases: leases in state backup (failover: the secondary's share).
        extra: any other attribute, raw.
    """

    handle: int
    lease_count: int
    free_leases: int
    backup_leases: int
    extra: Mapping[str, bytes] = field(default_factory=dict, hash=False)

    @classmethod
    def from_values(cls, handle: int, values: RawValues) -> Self:
        """Decode a pool reply: its handle and value list (pure, no I/O).

        Raises:
            RemoteProtocolError: a counter is missing or malformed.
        """
        fields, extra = decode_fields(handle, values, _POOL_TABLE, "pool")
        require(fields, _POOL_REQUIRED, "pool")
        return cls(**fields, extra=extra)

    @classmethod
    def from_object(cls, obj: OmapiObject) -> Self:
        """Decode a pool reply kept as an :class:`~aiomapi.OmapiObject` (pure)."""
        return cls.from_values(obj.handle, _values_of(obj))


_POOL_TABLE: Final[Table] = {
    "lease-count": ("lease_count", decode_int32),
    "free-leases": ("free_leases", decode_int32),
    "backup-leases": ("backup_leases", decode_int32),
}
_POOL_REQUIRED: Final = frozenset({"lease_count", "free_leases", "backup_leases"})
