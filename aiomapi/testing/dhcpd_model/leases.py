"""Leases, their pool and subnet: ``lease``, ``pool``, ``subnet`` and ``shared-network``.

The rules (docs/dhcpd-behaviour.md, "Objects") are in the docstrings of the ``*Type`` classes;
the settable flags and states come from :mod:`aiomapi.facts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from aiomapi.errors import ResultCode
from aiomapi.facts import (
    HTYPE_ETHER,
    LEASE_IGNORED_ATTRIBUTES,
    LEASE_READ_ONLY_ATTRIBUTES,
    MAX_TIME,
    SENT_LEASE_FLAGS,
    SETTABLE_LEASE_FLAGS,
    SETTABLE_LEASE_STATES,
)
from aiomapi.server.objects import AttributeValue, ObjectType, StatusError, WireValues, int32
from aiomapi.typed.values import LeaseState

from ..layout import LAB_NETWORK
from .base import ModelType, hardware_key, hardware_type_key, int32_value

if TYPE_CHECKING:
    from .groups import FakeClass
    from .hosts import FakeHost

__all__ = [
    "FakeLease",
    "FakePool",
    "FakeSubnet",
    "LeaseType",
    "PoolType",
    "SubnetType",
    "chain_insert",
]

#: The low 32 bits of the made-up heap addresses (see :meth:`DhcpdModel.heap_address`).
_LOW32 = 0xFFFFFFFF

_ACTIVE = int(LeaseState.ACTIVE)
_FREE = int(LeaseState.FREE)
_BACKUP = int(LeaseState.BACKUP)
_NEVER_PAST = MAX_TIME
_EXPIRING = frozenset(int(s) for s in (LeaseState.ACTIVE, LeaseState.EXPIRED, LeaseState.RELEASED))


@dataclass(slots=True, eq=False)
class FakeSubnet:
    """The one subnet (it has no attributes over OMAPI)."""

    network: str = LAB_NETWORK


@dataclass(slots=True, eq=False)
class FakePool:
    """The one pool; its counters are computed from its leases."""

    subnet: FakeSubnet
    leases: list[FakeLease] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class FakeLease:
    """One lease. Times are dhcpd's int32 seconds (0 unset, 0x7fffffff never)."""

    ip: bytes
    pool: FakePool
    state: int = _FREE
    next_state: int = _FREE
    starts: int = 0
    ends: int = 0
    tstp: int = 0
    tsfp: int = 0
    atsfp: int = 0
    cltt: int = 0
    hardware_type: int = HTYPE_ETHER
    hardware_address: bytes | None = None
    uid: bytes | None = None
    client_hostname: bytes | None = None
    flags: int = 0
    host: FakeHost | None = None
    billing_class: FakeClass | None = None
    #: Binding variables, newest first, as wire values; ``None`` for one a client unset
    #: (dhcpd keeps it, without a value, in its place: see :meth:`LeaseType.set_variable`).
    variables: list[tuple[str, bytes | None]] = field(default_factory=list)
    #: The reply values last sent for this lease (see :meth:`LeaseType.values`): the handle
    #: table's generation and the variables they were made with, and the values. Any
    #: assignment to another field drops them.
    _reply: tuple[int, list[tuple[str, bytes | None]], WireValues] | None = field(
        default=None, init=False, repr=False
    )

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name != "_reply":
            object.__setattr__(self, "_reply", None)

    @property
    def ip_address(self) -> IPv4Address:
        return IPv4Address(self.ip)

    @property
    def hardware_key(self) -> bytes | None:
        """The hardware hash key: type byte + address, as dhcpd's ``hbuf``."""
        return hardware_key(self.hardware_type, self.hardware_address)


def _lease_preferred(cand: FakeLease, lease: FakeLease) -> bool:
    """Whether ``lease`` goes before ``cand`` in a client's lease chain (dhcpd's
    ``client_lease_preferred``: active leases first, then the most recent)."""
    expired_or_released = (int(LeaseState.EXPIRED), int(LeaseState.RELEASED))
    if cand.state == _ACTIVE:
        return lease.state == _ACTIVE and lease.ends >= cand.ends
    if cand.state in expired_or_released:
        if lease.state == _ACTIVE:
            return True
        return lease.state in expired_or_released and lease.cltt >= cand.cltt
    return lease.state in (_ACTIVE, *expired_or_released) or lease.cltt >= cand.cltt


def chain_insert(chain: list[FakeLease], lease: FakeLease) -> None:
    for i, cand in enumerate(chain):
        if _lease_preferred(cand, lease):
            chain.insert(i, lease)
            return
    chain.append(lease)


class LeaseType(ModelType[FakeLease]):
    """``lease`` (docs/dhcpd-behaviour.md, "Objects").

    Lookup keys, tried in this order whatever the list order: ``handle``, ``ip-address``,
    ``dhcp-client-identifier``, ``hardware-address`` (+ ``hardware-type``). A key that names
    a different lease than an earlier one → KEYCONFLICT; a client id or hardware address
    shared by several leases → MULTIPLE (when no earlier key picked another lease). No key →
    NOKEYS, hence 27 "can't create new object". Create and delete → 27.

    Settable: ``state`` (1–7), ``ends``, ``flags`` (1 or 4 bytes); ignored: the names in
    :data:`IGNORED`; NOPERM: ``ip-address``, ``starts``, ``pool``; INVALIDARG: ``subnet``;
    any other name — ``tstp``, ``tsfp``, ``atsfp`` and ``cltt`` included — becomes a
    binding variable (see :meth:`set_variable`).

    Side effects as dhcpd (``supersede_lease``): setting ``state`` makes it the next state;
    after a ``state``, ``ends`` or changed ``flags``, a lease whose next state differs moves
    to it — so an active lease with ``next binding state free`` (the lab's leases, and any
    lease changed once over OMAPI) is freed by an ``ends`` or ``flags`` change — and a lease
    whose ``ends`` has come is freed. See :meth:`_supersede`.
    """

    name = "lease"
    IGNORED = LEASE_IGNORED_ATTRIBUTES

    def lookup(self, keys: Mapping[str, bytes]) -> FakeLease | None:
        model = self.model
        found: FakeLease | None = None
        raw = keys.get("handle")
        if raw is not None:
            found = model.by_handle(raw, FakeLease)
        raw = keys.get("ip-address")
        if raw is not None:
            lease = model.leases.get(raw)
            if found is not None and lease is not found:
                raise StatusError(ResultCode.KEYCONFLICT)
            if lease is None:
                return None
            found = lease
        for name, index in (
            ("dhcp-client-identifier", model.leases_by_uid),
            ("hardware-address", model.leases_by_hw),
        ):
            raw = keys.get(name)
            if raw is None:
                continue
            if name == "hardware-address":
                raw = bytes([hardware_type_key(keys)]) + raw
            chain = index.get(raw)
            head = chain[0] if chain else None
            if found is not None and head is not found:
                raise StatusError(ResultCode.KEYCONFLICT)
            if chain is None or head is None:
                return None
            if len(chain) > 1:
                raise StatusError(ResultCode.MULTIPLE)
            found = head
        if found is None:
            raise StatusError(ResultCode.NOKEYS)
        return found

    def set_value(self, obj: FakeLease, name: str, value: bytes | None) -> None:
        if name == "state":
            state = int32_value(
                value
            )  # null: dhcpd segfaults (docs/dhcpd-behaviour.md, "Requests that crash dhcpd")
            if state not in SETTABLE_LEASE_STATES:
                raise StatusError(ResultCode.INVALIDARG)
            if state != obj.state:
                obj.next_state = state
                self._supersede(obj, stamp=False)
        elif name == "ends":
            obj.ends = int32_value(value)
            self._supersede(obj, stamp=True)
        elif name == "flags":
            if value is None or len(value) not in (1, 4):
                raise StatusError(ResultCode.INVALIDARG)
            flags = (obj.flags & ~SETTABLE_LEASE_FLAGS) | (
                int.from_bytes(value, "big") & SETTABLE_LEASE_FLAGS
            )
            if flags != obj.flags:
                obj.flags = flags
                self._supersede(obj, stamp=True)
        elif name in self.IGNORED:
            pass
        elif name in LEASE_READ_ONLY_ATTRIBUTES:
            raise StatusError(ResultCode.NOPERM)
        elif name == "subnet":
            raise StatusError(ResultCode.INVALIDARG)
        else:
            self.set_variable(obj, name, value)

    def set_variable(self, obj: FakeLease, name: str, value: bytes | None) -> None:
        """Set a binding variable as dhcpd 4.4.3 does from OMAPI (``binding_scope_set_value``).

        * dhcpd files a value from the wire as a *boolean* whose bits are part of a heap
          address, so whatever the length sent (1, 3, 8 bytes…) the variable reads back as
          4 bytes that are not the data. The model stores the low
          32 bits of a new :meth:`DhcpdModel.heap_address`. Names dhcpd also sends as lease
          fields (``tstp``, ``tsfp``, ``atsfp``, ``cltt``) are no exception: the field keeps
          its value and the reply carries the name twice, the field first.
        * ``remote-handle``, which the server itself sets as a number after each update,
          keeps its int32.
        * A variable that exists changes in place; a new one goes first (dhcpd's binding
          scope is a list it prepends to).
        * Null hides a variable but keeps its place: set again, it shows up where it was.
          Null on a name the lease never had → UNKNOWNATTRIBUTE. Null on a variable already
          hidden makes dhcpd segfault → INVALIDARG here.

        Checked against dhcpd by ``test_lease_update_value_lengths``,
        ``test_lease_binding_variable_unset`` and the ``lease binding variables`` scenario in
        ``tests/dhcpd/test_behaviour.py`` (see docs/dhcpd-facts.md).
        """
        variables = obj.variables
        index = next((i for i, (key, _) in enumerate(variables) if key == name), None)
        if index is None:
            if value is None:
                raise StatusError(ResultCode.UNKNOWNATTRIBUTE)
            variables.insert(0, (name, self._stored(name, value)))
        elif value is not None:
            variables[index] = (name, self._stored(name, value))
        elif variables[index][1] is None:
            raise StatusError(ResultCode.INVALIDARG)  # dhcpd segfaults
        else:
            variables[index] = (name, None)

    def _stored(self, name: str, value: bytes) -> bytes:
        if name == "remote-handle":
            return value
        return int32(self.model.heap_address() & _LOW32)

    def _supersede(self, lease: FakeLease, *, stamp: bool) -> None:
        """dhcpd's ``supersede_lease`` after an OMAPI change (verified case by case).

        A lease whose next state differs moves to it; an active, expired or released lease
        whose ``ends`` has come is freed. A move caused by ``ends`` or ``flags`` (``stamp``)
        sets ``tstp = ends``; leaving the active state clears the hostname; an active
        lease's next state is free from then on.
        """
        state = lease.next_state
        if state in _EXPIRING and lease.ends != _NEVER_PAST and lease.ends <= self.model.now():
            state = _FREE  # its time is up: freed at once, as without failover
        if state != lease.state:
            lease.state = state
            if stamp:
                lease.tstp = lease.ends
            if state != _ACTIVE:
                lease.client_hostname = None
        lease.next_state = _FREE if lease.state == _ACTIVE else lease.state

    def remove(self, obj: FakeLease) -> None:
        raise StatusError(ResultCode.NOTIMPLEMENTED)

    def values(self, obj: FakeLease) -> WireValues:
        """The lease's attributes in dhcpd's order, handles resolved.

        Lookups outnumber changes by far, so the values are kept on the lease
        (``FakeLease._reply``) until a field is assigned, its variables change, or the
        handle table forgets an object (a deleted billing class).
        """
        cached = obj._reply
        handles = self.model.handles
        if cached is not None and cached[0] == handles.generation and cached[1] == obj.variables:
            return cached[2]
        values = WireValues(self._values(obj))
        obj._reply = (handles.generation, list(obj.variables), values)
        return values

    def _values(self, obj: FakeLease) -> list[tuple[str, bytes]]:
        model = self.model
        handles = model.handles

        def ref(object_type: ObjectType[Any], target: object) -> bytes:
            return int32(handles.handle_of(object_type, target))

        out: list[tuple[str, bytes]] = [
            ("state", int32(obj.state)),
            ("ip-address", obj.ip),
        ]
        if obj.uid is not None:
            out.append(("dhcp-client-identifier", obj.uid))
        if obj.client_hostname is not None:
            out.append(("client-hostname", obj.client_hostname))
        if obj.host is not None:
            out.append(("host", ref(model.host_type, obj.host)))
        out.append(("subnet", ref(model.subnet_type, obj.pool.subnet)))
        out.append(("pool", ref(model.pool_type, obj.pool)))
        if obj.billing_class is not None:
            out.append(("billing-class", ref(model.class_type, obj.billing_class)))
        if obj.hardware_address is not None:
            out.append(("hardware-address", obj.hardware_address))
            out.append(("hardware-type", int32(obj.hardware_type)))
        out += [
            ("ends", int32(obj.ends)),
            ("starts", int32(obj.starts)),
            ("tstp", int32(obj.tstp)),
            ("tsfp", int32(obj.tsfp)),
            ("atsfp", int32(obj.atsfp)),
            ("cltt", int32(obj.cltt)),
            ("flags", bytes([obj.flags & SENT_LEASE_FLAGS])),
        ]
        out += [(name, value) for name, value in obj.variables if value is not None]
        return out


class PoolType(ObjectType[FakePool]):
    """``pool`` (docs/dhcpd-behaviour.md, "Objects"): reachable only through a lease's
    ``pool`` handle."""

    name = "pool"

    def set_value(self, obj: FakePool, name: str, value: bytes | None) -> None:
        raise StatusError(ResultCode.UNKNOWNATTRIBUTE)

    def remove(self, obj: FakePool) -> None:
        raise StatusError(ResultCode.NOTIMPLEMENTED)

    def values(self, obj: FakePool) -> list[tuple[str, AttributeValue]]:
        free = backup = 0
        for lease in obj.leases:
            if lease.state == _FREE:
                free += 1
            elif lease.state == _BACKUP:
                backup += 1
        return [
            ("lease-count", int32(len(obj.leases))),
            ("free-leases", int32(free)),
            ("backup-leases", int32(backup)),
        ]


class SubnetType(ObjectType[FakeSubnet]):
    """``subnet`` and ``shared-network`` (docs/dhcpd-behaviour.md, "Objects"): no
    attributes, no lookup."""

    def __init__(self, name: str = "subnet") -> None:
        self.name = name

    def set_value(self, obj: FakeSubnet, name: str, value: bytes | None) -> None:
        raise StatusError(ResultCode.NOTFOUND)

    def remove(self, obj: FakeSubnet) -> None:
        raise StatusError(ResultCode.NOTIMPLEMENTED)
