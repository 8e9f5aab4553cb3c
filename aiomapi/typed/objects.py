"""Typed OMAPI objects: frozen dataclasses decoded from the server's raw replies.

Theory of operation
-------------------
dhcpd answers an OPEN or REFRESH with an UPDATE message whose object values are untyped byte
strings (reference §1.3, §2.2). :class:`~aiomapi.client.OmapiObject` keeps them raw; this module
turns them into one frozen dataclass per object type (reference §5, §6), with fields named after
dhcpd's attributes in snake case and declared in the order dhcpd sends them.

Each class has a pure ``from_object`` decoder driven by a table built once at import time:
attribute name → (field name, decoder). A reply is decoded in one pass over its values, so a
lease lookup costs a dict lookup and one small decoder call per attribute (it is on the hot
path of bulk lookups). Attributes that are not in the table are kept raw: a lease's binding
variables in :attr:`Lease.variables`, anything else in ``extra``. A value that cannot be
decoded (wrong length), or a missing attribute dhcpd always sends, raises
:class:`~aiomapi.errors.RemoteProtocolError`.

Numbers dhcpd sends that are not members of an enum (a state dhcpd 4.4.3 cannot be in) are
kept as plain ``int`` rather than rejected, so one odd object never makes a lookup fail.

The ``to_*`` helpers go the other way: they check a state or flag set *before* anything is
sent, because some bad values crash dhcpd (reference §6.2, §9.6).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any, Final, Self

from aiomapi.errors import LocalProtocolError, RemoteProtocolError
from aiomapi.typed.values import (
    SETTABLE_LEASE_FLAGS,
    UNSET,
    ControlState,
    FailoverHierarchy,
    FailoverState,
    LeaseFlags,
    LeaseState,
    LeaseTime,
    MacAddress,
    decode_int32,
    decode_ip,
    decode_ip_list,
    decode_mac,
    decode_string,
    decode_time,
)

if TYPE_CHECKING:
    from aiomapi.client import OmapiObject

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

_Decoder = Callable[[bytes], Any]
#: attribute name → (field name, decoder)
_Table = Mapping[str, tuple[str, _Decoder]]


# ----------------------------------------------------------------- value decoders

_LEASE_STATES: Final = {m.value: m for m in LeaseState}
_FAILOVER_STATES: Final = {m.value: m for m in FailoverState}
_CONTROL_STATES: Final = {m.value: m for m in ControlState}
_HIERARCHIES: Final = {m.value: m for m in FailoverHierarchy}
# Every 1-byte flags value, built once: dhcpd sends lease flags as 1 byte (reference §5.1).
_BYTE_FLAGS: Final = tuple(LeaseFlags(i) for i in range(256))
_NO_FLAGS: Final = _BYTE_FLAGS[0]


def _lease_state(raw: bytes) -> LeaseState | int:
    n = decode_int32(raw)
    return _LEASE_STATES.get(n, n)


def _failover_state(raw: bytes) -> FailoverState | int:
    n = decode_int32(raw)
    return _FAILOVER_STATES.get(n, n)


def _control_state(raw: bytes) -> ControlState | int:
    n = decode_int32(raw)
    return _CONTROL_STATES.get(n, n)


def _hierarchy(raw: bytes) -> FailoverHierarchy | int:
    n = decode_int32(raw)
    return _HIERARCHIES.get(n, n)


def _lease_flags(raw: bytes) -> LeaseFlags:
    if len(raw) == 1:
        return _BYTE_FLAGS[raw[0]]
    return LeaseFlags(decode_int32(raw))


def _raw(raw: bytes) -> bytes:
    return bytes(raw)


def _failover_address(raw: bytes) -> IPv4Address | None:
    # dhcpd 4.4.3 copies the *pointer* to its address option-cache onto the wire: 8 bytes of
    # heap address on x86-64, not an IP (reference §6.2). Only 4 bytes could be an address.
    return IPv4Address(bytes(raw)) if len(raw) == 4 else None


def _decode(obj: OmapiObject, table: _Table, what: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Decode ``obj``'s values by ``table``: (fields by name, raw values of unknown names)."""
    fields: dict[str, Any] = {"handle": obj.handle}
    unknown: dict[str, bytes] = {}
    name = ""
    try:
        for name, raw in obj.values.items():
            entry = table.get(name)
            if entry is None:
                unknown[name] = raw
            else:
                fields[entry[0]] = entry[1](raw)
    except ValueError as exc:
        raise RemoteProtocolError(f"{what} attribute {name!r}: {exc}") from exc
    for name, raw in obj.repeated:  # a later value of a name is never a field
        unknown.setdefault(name, raw)
    return fields, unknown


def _require(fields: Mapping[str, Any], required: frozenset[str], what: str) -> None:
    if not required.issubset(fields.keys()):
        missing = ", ".join(sorted(required - fields.keys()))
        raise RemoteProtocolError(f"{what} reply without {missing}")


# ----------------------------------------------------------------- lease


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """A lease as dhcpd sends it (reference §5.1), fields in dhcpd's order.

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
    flags: LeaseFlags = _NO_FLAGS
    variables: Mapping[str, bytes] = field(default_factory=dict, hash=False)

    @classmethod
    def from_object(cls, obj: OmapiObject) -> Self:
        """Decode a lease reply (pure, no I/O).

        Raises:
            RemoteProtocolError: a value is malformed, or ``state``/``ip-address`` is missing.
        """
        fields, variables = _decode(obj, _LEASE_TABLE, "lease")
        _require(fields, _LEASE_REQUIRED, "lease")
        return cls(**fields, variables=variables)


_LEASE_TABLE: Final[_Table] = {
    "state": ("state", _lease_state),
    "ip-address": ("ip_address", decode_ip),
    "dhcp-client-identifier": ("dhcp_client_identifier", _raw),
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
    "flags": ("flags", _lease_flags),
}
_LEASE_REQUIRED: Final = frozenset({"state", "ip_address"})


# ----------------------------------------------------------------- host


@dataclass(frozen=True, slots=True, kw_only=True)
class Host:
    """A host declaration (reference §5.2), fields in dhcpd's order.

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
    def from_object(cls, obj: OmapiObject) -> Self:
        """Decode a host reply (pure).

        Raises:
            RemoteProtocolError: a value is malformed, or there is no ``name``.
        """
        fields, extra = _decode(obj, _HOST_TABLE, "host")
        _require(fields, _NAME_REQUIRED, "host")
        return cls(**fields, extra=extra)


_HOST_TABLE: Final[_Table] = {
    "ip-address": ("ip_addresses", decode_ip_list),
    "dhcp-client-identifier": ("dhcp_client_identifier", _raw),
    "name": ("name", decode_string),
    "hardware-address": ("hardware_address", decode_mac),
    "hardware-type": ("hardware_type", decode_int32),
}
_NAME_REQUIRED: Final = frozenset({"name"})


# ----------------------------------------------------------------- group


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """A named group (reference §5.3). Its statements are never sent back.

    Attributes:
        handle: the server's handle.
        name: the group's name.
        extra: any other attribute, raw.
    """

    handle: int
    name: str
    extra: Mapping[str, bytes] = field(default_factory=dict, hash=False)

    @classmethod
    def from_object(cls, obj: OmapiObject) -> Self:
        """Decode a group reply (pure).

        Raises:
            RemoteProtocolError: there is no ``name``, or it is malformed.
        """
        fields, extra = _decode(obj, _GROUP_TABLE, "group")
        _require(fields, _NAME_REQUIRED, "group")
        return cls(**fields, extra=extra)


_GROUP_TABLE: Final[_Table] = {"name": ("name", decode_string)}


# ----------------------------------------------------------------- class, subclass

_CLASS_TABLE: Final[_Table] = {
    "lease-limit": ("lease_limit", decode_int32),
    "leases-used": ("leases_used", decode_int32),
}
_CLASS_REQUIRED: Final = frozenset({"lease_limit", "leases_used"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Class:
    """A client class (reference §5.5).

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
    def from_object(cls, obj: OmapiObject, name: str) -> Self:
        """Decode a class reply (pure); ``name`` is the name it was opened by.

        Raises:
            RemoteProtocolError: a counter is missing or malformed.
        """
        fields, extra = _decode(obj, _CLASS_TABLE, "class")
        _require(fields, _CLASS_REQUIRED, "class")
        return cls(**fields, name=name, extra=extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subclass:
    """A subclass of a class (reference §5.5): the parent's ``name`` plus a ``hashstring``.

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
    def from_object(cls, obj: OmapiObject, name: str, hashstring: bytes) -> Self:
        """Decode a subclass reply (pure); ``name``/``hashstring`` are its lookup keys.

        Raises:
            RemoteProtocolError: a counter is missing or malformed.
        """
        fields, extra = _decode(obj, _CLASS_TABLE, "subclass")
        _require(fields, _CLASS_REQUIRED, "subclass")
        return cls(**fields, name=name, hashstring=hashstring, extra=extra)


# ----------------------------------------------------------------- failover state


@dataclass(frozen=True, slots=True, kw_only=True)
class FailoverPeer:
    """The ``failover-state`` object of one failover peer (reference §6.2), in dhcpd's order.

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
    def from_object(cls, obj: OmapiObject) -> Self:
        """Decode a failover-state reply (pure).

        Raises:
            RemoteProtocolError: a value is malformed or a mandatory attribute is missing.
        """
        fields, extra = _decode(obj, _FAILOVER_TABLE, "failover-state")
        _require(fields, _FAILOVER_REQUIRED, "failover-state")
        fields.setdefault("partner_address", None)
        fields.setdefault("local_address", None)
        return cls(**fields, extra=extra)


_FAILOVER_TABLE: Final[_Table] = {
    "name": ("name", decode_string),
    "partner-address": ("partner_address", _failover_address),
    "partner-port": ("partner_port", decode_int32),
    "local-address": ("local_address", _failover_address),
    "local-port": ("local_port", decode_int32),
    "max-outstanding-updates": ("max_outstanding_updates", decode_int32),
    "mclt": ("mclt", decode_int32),
    "load-balance-max-secs": ("load_balance_max_secs", decode_int32),
    "load-balance-hba": ("load_balance_hba", _raw),
    "partner-state": ("partner_state", _failover_state),
    "local-state": ("local_state", _failover_state),
    "partner-stos": ("partner_stos", decode_time),
    "local-stos": ("local_stos", decode_time),
    "hierarchy": ("hierarchy", _hierarchy),
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
    """The server's single ``control`` object (reference §5.4).

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
    def from_object(cls, obj: OmapiObject) -> Self:
        """Decode a control reply (pure).

        Raises:
            RemoteProtocolError: ``state`` is missing or malformed.
        """
        fields, extra = _decode(obj, _CONTROL_TABLE, "control")
        _require(fields, _STATE_REQUIRED, "control")
        return cls(**fields, extra=extra)


_CONTROL_TABLE: Final[_Table] = {"state": ("state", _control_state)}
_STATE_REQUIRED: Final = frozenset({"state"})


@dataclass(frozen=True, slots=True, kw_only=True)
class LeasePool:
    """A lease pool's counters (reference §5.7), reached through a lease's ``pool`` handle.

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
    def from_object(cls, obj: OmapiObject) -> Self:
        """Decode a pool reply (pure).

        Raises:
            RemoteProtocolError: a counter is missing or malformed.
        """
        fields, extra = _decode(obj, _POOL_TABLE, "pool")
        _require(fields, _POOL_REQUIRED, "pool")
        return cls(**fields, extra=extra)


_POOL_TABLE: Final[_Table] = {
    "lease-count": ("lease_count", decode_int32),
    "free-leases": ("free_leases", decode_int32),
    "backup-leases": ("backup_leases", decode_int32),
}
_POOL_REQUIRED: Final = frozenset({"lease_count", "free_leases", "backup_leases"})


# ----------------------------------------------------------------- checks before sending


def to_lease_state(value: LeaseState | int | str) -> LeaseState:
    """The lease state to send for ``value`` (a member, 1..7, or a name like ``"free"``).

    Raises:
        LocalProtocolError: not a lease state (dhcpd would answer INVALIDARG; a null one
            would crash it, reference §9.6).
    """
    if isinstance(value, str):
        try:
            return LeaseState.from_name(value)
        except ValueError as exc:
            raise LocalProtocolError(str(exc)) from None
    if isinstance(value, int) and not isinstance(value, bool) and value in _LEASE_STATES:
        return _LEASE_STATES[value]
    raise LocalProtocolError(f"{value!r} is not a lease state (1-7, see LeaseState)")


def to_failover_state(value: FailoverState | int | str) -> FailoverState:
    """The failover state to send for ``value`` (a member, its number, or its dhcpd name).

    Raises:
        LocalProtocolError: not one of the 13 states; dhcpd 4.4.3 exits on any other
            ``local-state`` (reference §6.2).
    """
    if isinstance(value, str):
        try:
            return FailoverState.from_name(value)
        except ValueError as exc:
            raise LocalProtocolError(str(exc)) from None
    if isinstance(value, int) and not isinstance(value, bool) and value in _FAILOVER_STATES:
        return _FAILOVER_STATES[value]
    raise LocalProtocolError(
        f"{value!r} is not a failover state (0-11 or 254, see FailoverState); "
        "dhcpd 4.4.3 exits on any other local-state"
    )


def to_lease_flags(value: LeaseFlags | int) -> LeaseFlags:
    """The lease flags to send for ``value``.

    Raises:
        LocalProtocolError: a bit other than the four a client may change (reference §5.1).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise LocalProtocolError(f"lease flags are a LeaseFlags value, not {value!r}")
    if int(value) & ~int(SETTABLE_LEASE_FLAGS):
        raise LocalProtocolError(
            f"lease flags {value:#x}: only {SETTABLE_LEASE_FLAGS!r} can be set over OMAPI"
        )
    return LeaseFlags(value)
