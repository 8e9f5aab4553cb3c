"""An in-memory model of dhcpd 4.4.3's OMAPI objects, as server object types.

Theory of operation
-------------------
:class:`DhcpdModel` holds the state a dhcpd keeps for OMAPI — leases with their address,
client-id and hardware indexes, hosts, groups, classes and subclasses, failover peers, the
control object, one subnet with one pool — and one
:class:`~aiomapi.server.objects.ObjectType` per dhcpd type that reproduces what dhcpd does
with it (reference §5–§7): lookup keys and the order they are tried in, which attribute may
be set and which error comes back, when objects are entered, what a reply lists and in which
order. Every rule below was checked against a running dhcpd 4.4.3-P1; the tests in
``tests/dhcpd/test_behaviour.py`` keep checking it against both.

Where dhcpd crashes, exits or corrupts memory, the model answers with an error instead and
says so where it does (the docstrings of the ``*Type`` classes list each case):

* a null value for lease ``state``/``ends``/``flags``, control ``state``, failover
  ``local-state``, group/class ``name`` (dhcpd segfaults, §9.6) → INVALIDARG;
* a second null for the same lease binding variable (dhcpd segfaults) → INVALIDARG;
* failover ``local-state`` outside the state enum (dhcpd exits) → INVALIDARG.

Other known differences: a binding variable set over OMAPI reads back as 4 bytes, as in
dhcpd, but where dhcpd shows part of a heap address the model shows a made-up one;
failover ``partner-address``/``local-address`` are the IPv4 address padded to 8 bytes
(dhcpd leaks 8 bytes of a pointer), ``statements`` are checked by a keyword heuristic rather
than dhcpd's parser, nothing is written to a lease file, there is no DHCP and no failover
partner: states change only when a client (or the test) changes them.

The model reads the clock only through the ``clock`` callable it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any, TypeVar

from aiomapi.errors import ResultCode
from aiomapi.server.objects import (
    AttributeValue,
    HandleTable,
    ObjectType,
    Ref,
    StatusError,
    int32,
)
from aiomapi.typed.values import MAX_HARDWARE_ADDRESS_LEN, MAX_TIME, FailoverState, LeaseState

__all__ = [
    "UNSEARCHABLE_TYPES",
    "ClassType",
    "ControlType",
    "DhcpdModel",
    "FailoverStateType",
    "FakeClass",
    "FakeControl",
    "FakeFailoverPeer",
    "FakeGroup",
    "FakeHost",
    "FakeInterface",
    "FakeLease",
    "FakePool",
    "FakeSubclass",
    "FakeSubnet",
    "GroupType",
    "HostType",
    "InterfaceType",
    "LeaseType",
    "PoolType",
    "SubclassType",
    "SubnetType",
    "statements_parse",
]

ObjT = TypeVar("ObjT")

#: Types dhcpd registers without a lookup method (reference §5.10).
UNSEARCHABLE_TYPES = (
    "connection",
    "listener",
    "io",
    "generic",
    "protocol",
    "protocol-listener",
    "message",
    "waiter",
    "failover-link",
    "failover-listener",
)

#: Lease flags a client can change (reference §5.1) and the ones dhcpd sends (§7).
SETTABLE_FLAGS = 2 | 4 | 8 | 64
SENT_FLAGS = SETTABLE_FLAGS
HTYPE_ETHER = 1
#: The low 32 bits of the made-up heap addresses (see :meth:`DhcpdModel.heap_address`).
_LOW32 = 0xFFFFFFFF

_ACTIVE = int(LeaseState.ACTIVE)
_FREE = int(LeaseState.FREE)
_BACKUP = int(LeaseState.BACKUP)
_VALID_FAILOVER_STATES = frozenset(int(s) for s in FailoverState)
_NEVER_PAST = MAX_TIME
_EXPIRING = frozenset(int(s) for s in (LeaseState.ACTIVE, LeaseState.EXPIRED, LeaseState.RELEASED))


# ---------------------------------------------------------------- state


@dataclass(slots=True, eq=False)
class FakeSubnet:
    """The one subnet (it has no attributes over OMAPI)."""

    network: str = "10.100.0.0/14"


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

    @property
    def ip_address(self) -> IPv4Address:
        return IPv4Address(self.ip)

    @property
    def hardware_key(self) -> bytes | None:
        """The hardware hash key: type byte + address, as dhcpd's ``hbuf``."""
        return _hardware_key(self.hardware_type, self.hardware_address)


def _hardware_key(hardware_type: int, hardware_address: bytes | None) -> bytes | None:
    """dhcpd's hardware hash key (``hbuf``): the type byte, then the address."""
    if hardware_address is None:
        return None
    return bytes([hardware_type & 0xFF]) + hardware_address


@dataclass(slots=True, eq=False)
class FakeHost:
    """One host declaration. A host made over OMAPI starts with hardware type 0 (§5.2)."""

    name: bytes | None = None
    hardware_type: int = 0
    hardware_address: bytes | None = None
    uid: bytes | None = None
    fixed_address: bytes | None = None
    group: FakeGroup | None = None
    statements: bytes | None = None
    dynamic: bool = True
    deleted: bool = False
    #: The (name, client id, hardware key) it is indexed under.
    indexed: tuple[bytes | None, bytes | None, bytes | None] = (None, None, None)

    @property
    def hardware_key(self) -> bytes | None:
        """The hardware hash key: type byte + address, as dhcpd's ``hbuf``."""
        return _hardware_key(self.hardware_type, self.hardware_address)


@dataclass(slots=True, eq=False)
class FakeGroup:
    name: bytes | None = None
    statements: bytes | None = None
    dynamic: bool = True
    deleted: bool = False


@dataclass(slots=True, eq=False)
class FakeClass:
    name: bytes | None = None
    #: dhcpd.conf classes belong to the root group; setting ``group`` on them gives EXISTS.
    group: FakeGroup | None = None
    in_group: bool = False
    match: bytes | None = None
    lease_limit: int = 0
    leases_used: int = 0
    subclasses: dict[bytes, FakeSubclass] = field(default_factory=dict)
    dynamic: bool = True
    deleted: bool = False


@dataclass(slots=True, eq=False)
class FakeSubclass:
    parent: FakeClass | None = None
    hashstring: bytes | None = None
    lease_limit: int = 0
    leases_used: int = 0
    deleted: bool = False


@dataclass(slots=True, eq=False)
class FakeFailoverPeer:
    """A failover peer's state object (reference §6.2). Fields in dhcpd's reply order."""

    name: bytes
    partner_address: str = "10.254.0.2"
    partner_port: int = 647
    local_address: str = "10.254.0.1"
    local_port: int = 647
    max_outstanding_updates: int = 10
    mclt: int = 30
    load_balance_max_secs: int = 5
    load_balance_hba: bytes | None = b"\xff" * 16 + b"\x00" * 16
    partner_state: int = int(FailoverState.NORMAL)
    local_state: int = int(FailoverState.NORMAL)
    partner_stos: int = 0
    local_stos: int = 0
    hierarchy: int = 0
    last_packet_sent: int = 0
    last_timestamp_received: int = 0
    skew: int = 0
    max_response_delay: int = 30
    cur_unacked_updates: int = 0


@dataclass(slots=True, eq=False)
class FakeControl:
    """The control object. It reads 0 while running and 4 after a shutdown request (§5.4)."""

    state: int = 0


@dataclass(slots=True, eq=False)
class FakeInterface:
    name: bytes | None = None
    up: bool = True


# ---------------------------------------------------------------- helpers


def _int32(value: bytes | None) -> int:
    """A value that must be a 4-byte integer (``omapi_get_int_value``), else INVALIDARG."""
    if value is None or len(value) != 4:
        raise StatusError(ResultCode.INVALIDARG)
    return int.from_bytes(value, "big")


def _hardware_type_key(keys: Mapping[str, bytes]) -> int:
    """The ``hardware-type`` lookup key: int32 with three zero high bytes, default 1."""
    raw = keys.get("hardware-type")
    if raw is None:
        return HTYPE_ETHER
    if len(raw) != 4 or raw[:3] != b"\x00\x00\x00":
        raise StatusError(ResultCode.INVALIDARG)
    return raw[3]


_KEYWORDS = frozenset(
    """
    option supersede default prepend append send set unset define if elsif else on switch
    case return log execute zone key fixed-address hardware filename server-name next-server
    default-lease-time max-lease-time min-lease-time dynamic-bootp-lease-cutoff
    dynamic-bootp-lease-length boot-unknown-clients one-lease-per-client get-lease-hostnames
    use-host-decl-names use-lease-addr-for-default-route min-secs allow deny ignore
    authoritative not always-broadcast always-reply-rfc1048 ddns-hostname ddns-domainname
    ddns-rev-domainname ddns-update-style ddns-updates ddns-ttl update-optimization
    update-static-leases update-conflict-detection ping-check ping-timeout
    stash-agent-options server-identifier vendor-option-space site-option-space
    infinite-is-reserved ignore-client-uids abandon-lease-time do-forward-updates
    client-updates adaptive-lease-time-threshold delayed-ack max-ack-delay echo-client-id
    release-on-roam ping-cltt-secs dhcp-cache-threshold lease-id-format fqdn-reply
    host-identifier match spawn lease-limit local-address local-port omapi-port
    log-threshold-high log-threshold-low dynamic static deleted known unknown-clients
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# a string | punctuation | an atom | a lone quote (an unterminated string)
_STATEMENT_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{};]|[^\s"{};]+|"', re.S)


def statements_parse(text: bytes) -> bool:
    """Whether ``text`` looks like dhcpd.conf statements dhcpd would accept.

    A heuristic, not dhcpd's parser: every statement must start with a known keyword,
    quotes and braces must balance, and every statement must end with ``;`` or a block.
    """
    try:
        tokens = _STATEMENT_TOKEN.findall(text.decode("utf-8"))
    except UnicodeDecodeError:
        return False
    depth = 0
    expect_keyword = True
    for token in tokens:
        if token.startswith('"') and (len(token) < 2 or not token.endswith('"')):
            return False
        if token == "{":
            depth += 1
            expect_keyword = True
        elif token == "}":
            depth -= 1
            if depth < 0:
                return False
            expect_keyword = True
        elif token == ";":
            expect_keyword = True
        elif expect_keyword:
            if token.lower() not in _KEYWORDS:
                return False
            expect_keyword = False
    return depth == 0 and expect_keyword


# ---------------------------------------------------------------- the model


class DhcpdModel:
    """The state of one fake dhcpd and its OMAPI object types.

    Args:
        handles: the server's handle table (``handle`` lookup keys resolve through it).
        clock: seconds since the epoch, for expiry, ``stos`` and generated names.
        on_shutdown: called after a client set the control ``state`` to 2.
    """

    def __init__(
        self,
        handles: HandleTable,
        *,
        clock: Callable[[], float],
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        self.handles = handles
        self.clock = clock
        self.on_shutdown = on_shutdown
        self.subnet = FakeSubnet()
        self.pool = FakePool(self.subnet)
        self.leases: dict[bytes, FakeLease] = {}
        self.leases_by_uid: dict[bytes, list[FakeLease]] = {}
        self.leases_by_hw: dict[bytes, list[FakeLease]] = {}
        self.hosts_by_name: dict[bytes, FakeHost] = {}
        self.hosts_by_uid: dict[bytes, FakeHost] = {}
        self.hosts_by_hw: dict[bytes, FakeHost] = {}
        self.groups: dict[bytes, FakeGroup] = {}
        self.classes: dict[bytes, FakeClass] = {}
        self.failover_peers: dict[bytes, FakeFailoverPeer] = {}
        self.interfaces: dict[bytes, FakeInterface] = {}
        self.control = FakeControl()
        self._heap = 0

        self.lease_type = LeaseType(self)
        self.host_type = HostType(self)
        self.group_type = GroupType(self)
        self.class_type = ClassType(self)
        self.subclass_type = SubclassType(self)
        self.failover_type = FailoverStateType(self)
        self.control_type = ControlType(self)
        self.pool_type = PoolType()
        self.subnet_type = SubnetType()
        self.interface_type = InterfaceType(self)

    def object_types(self) -> list[ObjectType[Any]]:
        """Every type this dhcpd serves, the unsearchable ones included."""
        types: list[ObjectType[Any]] = [
            self.lease_type,
            self.host_type,
            self.group_type,
            self.class_type,
            self.subclass_type,
            self.failover_type,
            self.control_type,
            self.pool_type,
            self.subnet_type,
            SubnetType("shared-network"),
            self.interface_type,
        ]
        types.extend(_Unsearchable(name) for name in UNSEARCHABLE_TYPES)
        return types

    def now(self) -> int:
        return int(self.clock())

    def heap_address(self) -> int:
        """A new made-up heap address, for the values where dhcpd shows one of its own."""
        self._heap += 1
        return 0x55F0C0DE0000 + self._heap * 0x40

    def generated_name(self, prefix: str) -> bytes:
        """A name like dhcpd's ``nh<hex time><hex pointer>`` for unnamed hosts and groups."""
        return f"{prefix}{self.now():x}{self.heap_address():x}".encode()

    # ------------------------------------------------------------ leases

    def add_lease(self, lease: FakeLease) -> None:
        """Enter a lease (replacing one with the same address)."""
        old = self.leases.get(lease.ip)
        if old is not None:
            self._unindex_lease(old)
            lease.pool.leases.remove(old)
        self.leases[lease.ip] = lease
        lease.pool.leases.append(lease)
        if lease.uid is not None:
            _chain_insert(self.leases_by_uid.setdefault(lease.uid, []), lease)
        key = lease.hardware_key
        if key is not None:
            _chain_insert(self.leases_by_hw.setdefault(key, []), lease)

    def _unindex_lease(self, lease: FakeLease) -> None:
        for index, key in (
            (self.leases_by_uid, lease.uid),
            (self.leases_by_hw, lease.hardware_key),
        ):
            if key is not None and lease in index.get(key, ()):
                index[key].remove(lease)
                if not index[key]:
                    del index[key]

    # ------------------------------------------------------------ hosts

    def enter_host(self, host: FakeHost) -> None:
        """(Re-)index a host under its name, client id and hardware key."""
        self.unindex_host(host)
        host.indexed = (host.name, host.uid, host.hardware_key)
        for index, key in zip(
            (self.hosts_by_name, self.hosts_by_uid, self.hosts_by_hw), host.indexed, strict=True
        ):
            if key is not None:
                index[key] = host

    def unindex_host(self, host: FakeHost) -> None:
        """Drop a host from the indexes it was entered in."""
        for index, key in zip(
            (self.hosts_by_name, self.hosts_by_uid, self.hosts_by_hw), host.indexed, strict=True
        ):
            if key is not None and index.get(key) is host:
                del index[key]
        host.indexed = (None, None, None)

    def live_host(self, index: Mapping[bytes, FakeHost], key: bytes) -> FakeHost | None:
        host = index.get(key)
        return host if host is not None and not host.deleted else None

    def live_group(self, name: bytes) -> FakeGroup | None:
        group = self.groups.get(name)
        return group if group is not None and not group.deleted else None

    def live_class(self, name: bytes) -> FakeClass | None:
        klass = self.classes.get(name)
        return klass if klass is not None and not klass.deleted else None

    # ------------------------------------------------------------ lookups by handle

    def by_handle(self, raw: bytes, kind: type[ObjT]) -> ObjT:
        """The object a ``handle`` key names: INVALIDARG for a bad length or another type."""
        if len(raw) != 4:
            raise StatusError(ResultCode.INVALIDARG)
        entry = self.handles.get(int.from_bytes(raw, "big"))
        if entry is None:
            raise StatusError(ResultCode.NOTFOUND)
        obj = entry[1]
        if not isinstance(obj, kind):
            raise StatusError(ResultCode.INVALIDARG)
        return obj


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


def _chain_insert(chain: list[FakeLease], lease: FakeLease) -> None:
    for i, cand in enumerate(chain):
        if _lease_preferred(cand, lease):
            chain.insert(i, lease)
            return
    chain.append(lease)


# ---------------------------------------------------------------- types


class _ModelType(ObjectType[ObjT]):
    def __init__(self, model: DhcpdModel) -> None:
        self.model = model


class LeaseType(_ModelType[FakeLease]):
    """``lease`` (reference §5.1).

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
    IGNORED = frozenset(
        {
            "client-hostname",
            "hostname",
            "hardware-address",
            "hardware-type",
            "dhcp-client-identifier",
            "host",
            "billing-class",
        }
    )

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
                raw = bytes([_hardware_type_key(keys)]) + raw
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
            state = _int32(value)  # null: dhcpd segfaults (§9.6)
            if not 1 <= state <= 7:
                raise StatusError(ResultCode.INVALIDARG)
            if state != obj.state:
                obj.next_state = state
                self._supersede(obj, stamp=False)
        elif name == "ends":
            obj.ends = _int32(value)
            self._supersede(obj, stamp=True)
        elif name == "flags":
            if value is None or len(value) not in (1, 4):
                raise StatusError(ResultCode.INVALIDARG)
            flags = (obj.flags & ~SETTABLE_FLAGS) | (int.from_bytes(value, "big") & SETTABLE_FLAGS)
            if flags != obj.flags:
                obj.flags = flags
                self._supersede(obj, stamp=True)
        elif name in self.IGNORED:
            pass
        elif name in ("ip-address", "starts", "pool"):
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
            state = _FREE  # its time is up: freed at once, as without failover (§5.1)
        if state != lease.state:
            lease.state = state
            if stamp:
                lease.tstp = lease.ends
            if state != _ACTIVE:
                lease.client_hostname = None
        lease.next_state = _FREE if lease.state == _ACTIVE else lease.state

    def remove(self, obj: FakeLease) -> None:
        raise StatusError(ResultCode.NOTIMPLEMENTED)

    def values(self, obj: FakeLease) -> list[tuple[str, AttributeValue]]:
        model = self.model
        out: list[tuple[str, AttributeValue]] = [
            ("state", int32(obj.state)),
            ("ip-address", obj.ip),
        ]
        if obj.uid is not None:
            out.append(("dhcp-client-identifier", obj.uid))
        if obj.client_hostname is not None:
            out.append(("client-hostname", obj.client_hostname))
        if obj.host is not None:
            out.append(("host", Ref(model.host_type, obj.host)))
        out.append(("subnet", Ref(model.subnet_type, obj.pool.subnet)))
        out.append(("pool", Ref(model.pool_type, obj.pool)))
        if obj.billing_class is not None:
            out.append(("billing-class", Ref(model.class_type, obj.billing_class)))
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
            ("flags", bytes([obj.flags & SENT_FLAGS])),
        ]
        out += [(name, value) for name, value in obj.variables if value is not None]
        return out


class HostType(_ModelType[FakeHost]):
    """``host`` (reference §5.2).

    Lookup keys in order: ``handle``, ``dhcp-client-identifier``, ``hardware-address``
    (+ ``hardware-type``, part of the match), ``ip-address`` (through the lease with that
    address and its hardware address; the fixed address is not searched), ``name``.
    Deleted hosts are not found; no key → a blank, unentered host (NOKEYS quirk).

    Settable: ``name``, ``hardware-address``, ``dhcp-client-identifier`` and ``statements``
    once each (EXISTS after), ``hardware-type``, ``ip-address`` (null clears), ``group``
    (an existing group, else NOTFOUND), ``known`` (ignored); anything else UNKNOWNATTRIBUTE.
    ``updated`` needs a hardware address or client id (INVALIDARG), names unnamed hosts and
    enters them. Deleting marks the host deleted (REFRESH still shows it; delete again is 0).
    A hardware address over :data:`~aiomapi.typed.values.MAX_HARDWARE_ADDRESS_LEN` octets is
    INVALIDARG, as in dhcpd.
    """

    name = "host"

    def lookup(self, keys: Mapping[str, bytes]) -> FakeHost | None:
        model = self.model
        found: FakeHost | None = None
        raw = keys.get("handle")
        if raw is not None:
            found = model.by_handle(raw, FakeHost)
            if found is not None and found.deleted:
                found = None
        raw = keys.get("dhcp-client-identifier")
        if raw is not None:
            found = _match(found, model.hosts_by_uid.get(raw))
            if found is None:
                return None
        raw = keys.get("hardware-address")
        if raw is not None:
            htype = _hardware_type_key(keys)
            found = _match(found, model.hosts_by_hw.get(bytes([htype]) + raw))
            if found is None:
                return None
        raw = keys.get("ip-address")
        if raw is not None:
            lease = model.leases.get(raw)
            if lease is None and found is None:
                return None
            if lease is not None:
                key = lease.hardware_key
                host = model.hosts_by_hw.get(key) if key is not None else None
                if host is not None and found is not None and host is not found:
                    raise StatusError(ResultCode.KEYCONFLICT)
                if host is None or host.deleted:
                    if found is None:
                        return None
                elif found is None:
                    found = host
        raw = keys.get("name")
        if raw is not None:
            found = _match(found, model.hosts_by_name.get(raw))
            if found is None:
                return None
        if found is None:
            raise StatusError(ResultCode.NOKEYS)
        return found

    def create(self) -> FakeHost:
        return FakeHost()

    def set_value(self, obj: FakeHost, name: str, value: bytes | None) -> None:
        model = self.model
        if name == "known":
            return
        if name == "ip-address":
            obj.fixed_address = value
            return
        if name not in (
            "name",
            "group",
            "hardware-address",
            "hardware-type",
            "dhcp-client-identifier",
            "statements",
        ):
            raise StatusError(ResultCode.UNKNOWNATTRIBUTE)
        if value is None:
            raise StatusError(ResultCode.INVALIDARG)
        if name == "name":
            if obj.name is not None:
                raise StatusError(ResultCode.EXISTS)
            obj.name = value  # uniqueness is checked when the host is entered
        elif name == "group":
            group = model.live_group(value)
            if group is None:
                raise StatusError(ResultCode.NOTFOUND)
            obj.group = group
        elif name == "hardware-address":
            if obj.hardware_address is not None:
                raise StatusError(ResultCode.EXISTS)
            if len(value) > MAX_HARDWARE_ADDRESS_LEN:
                raise StatusError(ResultCode.INVALIDARG)
            obj.hardware_address = value
        elif name == "hardware-type":
            obj.hardware_type = _int32(value)
        elif name == "dhcp-client-identifier":
            if obj.uid is not None:
                raise StatusError(ResultCode.EXISTS)
            obj.uid = value
        else:  # statements
            if obj.statements is not None:
                raise StatusError(ResultCode.EXISTS)
            if not statements_parse(value):
                raise StatusError(ResultCode.BADPARSE)
            obj.statements = value

    def updated(self, obj: FakeHost) -> None:
        if obj.deleted:
            return
        model = self.model
        if obj.hardware_address is None and obj.uid is None:
            raise StatusError(ResultCode.INVALIDARG)
        if obj.name is None:
            obj.name = model.generated_name("nh")
        other = model.live_host(model.hosts_by_name, obj.name)
        if other is not None and other is not obj:
            raise StatusError(ResultCode.EXISTS)
        model.enter_host(obj)

    def remove(self, obj: FakeHost) -> None:
        obj.deleted = True

    def values(self, obj: FakeHost) -> list[tuple[str, AttributeValue]]:
        out: list[tuple[str, AttributeValue]] = []
        if obj.fixed_address is not None:
            out.append(("ip-address", obj.fixed_address))
        if obj.uid is not None:
            out.append(("dhcp-client-identifier", obj.uid))
        if obj.name is not None:
            out.append(("name", obj.name))
        if obj.hardware_address is not None:
            out.append(("hardware-address", obj.hardware_address))
            out.append(("hardware-type", int32(obj.hardware_type)))
        return out


def _match(found: FakeHost | None, host: FakeHost | None) -> FakeHost | None:
    """One step of dhcpd's host lookup: a different host → KEYCONFLICT, none → ``None``."""
    if found is not None and host is not found:
        raise StatusError(ResultCode.KEYCONFLICT)
    if host is None or host.deleted:
        return None
    return host


class GroupType(_ModelType[FakeGroup]):
    """``group`` (reference §5.3).

    Lookup: ``handle`` (a live group found by handle is returned without looking further),
    then ``name``; no key → a blank group. Set: ``name`` and ``statements`` once each
    (EXISTS), ``statements`` must parse (BADPARSE); anything else NOTFOUND. ``updated``
    needs statements (INVALIDARG) and names unnamed groups ``ng…``. Deleting a group also
    drops its handle (REFRESH then says "no matching handle"). Difference: a null ``name``
    is INVALIDARG (dhcpd segfaults).
    """

    name = "group"

    def lookup(self, keys: Mapping[str, bytes]) -> FakeGroup | None:
        raw = keys.get("handle")
        if raw is not None:
            group = self.model.by_handle(raw, FakeGroup)
            if group is not None and not group.deleted:
                return group
        raw = keys.get("name")
        if raw is not None:
            return self.model.live_group(raw)
        raise StatusError(ResultCode.NOKEYS)

    def create(self) -> FakeGroup:
        return FakeGroup()

    def set_value(self, obj: FakeGroup, name: str, value: bytes | None) -> None:
        if name == "name":
            if value is None:
                raise StatusError(ResultCode.INVALIDARG)  # dhcpd segfaults (§9.6)
            if obj.name is not None or self.model.live_group(value) is not None:
                raise StatusError(ResultCode.EXISTS)
            obj.name = value
        elif name == "statements":
            if value is None:
                raise StatusError(ResultCode.INVALIDARG)
            if obj.statements is not None:
                raise StatusError(ResultCode.EXISTS)
            if not statements_parse(value):
                raise StatusError(ResultCode.BADPARSE)
            obj.statements = value
        else:
            raise StatusError(ResultCode.NOTFOUND)

    def updated(self, obj: FakeGroup) -> None:
        if obj.deleted:
            return
        if obj.statements is None:
            raise StatusError(ResultCode.INVALIDARG)
        if obj.name is None:
            obj.name = self.model.generated_name("ng")
        self.model.groups[obj.name] = obj

    def remove(self, obj: FakeGroup) -> None:
        obj.deleted = True
        self.model.handles.forget(obj)  # dhcpd drops a deleted group's handle (verified)

    def values(self, obj: FakeGroup) -> list[tuple[str, AttributeValue]]:
        return [("name", obj.name)] if obj.name is not None else []


class ClassType(_ModelType[FakeClass]):
    """``class`` (reference §5.5).

    Lookup by ``name`` only (a ``handle`` key is ignored); no name → a blank class.
    Set: ``name`` once; ``group`` an existing group (NOTFOUND), once (EXISTS); ``match`` only
    ``hardware`` (a prefix of up to 8 characters; else INVALIDARG), once (EXISTS); ``option``
    always INVALIDARG; anything else UNKNOWNATTRIBUTE. ``updated`` needs a name. Deleting
    drops the handle, as for groups (subclasses too).
    """

    name = "class"
    _HARDWARE = b"hardware"

    def lookup(self, keys: Mapping[str, bytes]) -> FakeClass | None:
        raw = keys.get("name")
        if raw is None:
            raise StatusError(ResultCode.NOKEYS)
        return self.model.live_class(raw)

    def create(self) -> FakeClass:
        return FakeClass()

    def set_value(self, obj: FakeClass, name: str, value: bytes | None) -> None:
        if name not in ("name", "group", "match", "option"):
            raise StatusError(ResultCode.UNKNOWNATTRIBUTE)
        if value is None or name == "option":
            raise StatusError(ResultCode.INVALIDARG)  # null name: dhcpd segfaults (§9.6)
        if name == "name":
            if obj.name is not None:
                raise StatusError(ResultCode.EXISTS)
            obj.name = value
        elif name == "group":
            group = self.model.live_group(value)
            if group is None:
                raise StatusError(ResultCode.NOTFOUND)
            if obj.group is not None or obj.in_group:
                raise StatusError(ResultCode.EXISTS)
            obj.group = group
        else:  # match
            n = min(len(value), len(self._HARDWARE))
            if not value or value[:n] != self._HARDWARE[:n]:
                raise StatusError(ResultCode.INVALIDARG)
            if obj.match is not None:
                raise StatusError(ResultCode.EXISTS)
            obj.match = self._HARDWARE

    def updated(self, obj: FakeClass) -> None:
        if obj.deleted:
            return
        if obj.name is None:
            raise StatusError(ResultCode.INVALIDARG)
        self.model.classes[obj.name] = obj

    def remove(self, obj: FakeClass) -> None:
        obj.deleted = True
        self.model.handles.forget(obj)  # as for groups (verified)

    def values(self, obj: FakeClass) -> list[tuple[str, AttributeValue]]:
        return [("lease-limit", int32(obj.lease_limit)), ("leases-used", int32(obj.leases_used))]


class SubclassType(_ModelType[FakeSubclass]):
    """``subclass`` (reference §5.5).

    Lookup needs ``name`` (the parent class) and ``hashstring``; with either missing the
    client gets a blank subclass (NOKEYS quirk). Create: ``name`` must name an existing class
    (NOTFOUND), and both must be set (INVALIDARG).
    """

    name = "subclass"

    def lookup(self, keys: Mapping[str, bytes]) -> FakeSubclass | None:
        name, hashstring = keys.get("name"), keys.get("hashstring")
        if name is None or hashstring is None:
            raise StatusError(ResultCode.NOKEYS)
        parent = self.model.live_class(name)
        if parent is None:
            return None
        sub = parent.subclasses.get(hashstring)
        return sub if sub is not None and not sub.deleted else None

    def create(self) -> FakeSubclass:
        return FakeSubclass()

    def set_value(self, obj: FakeSubclass, name: str, value: bytes | None) -> None:
        if name == "name":
            if value is None:
                raise StatusError(ResultCode.INVALIDARG)  # dhcpd segfaults (§9.6)
            parent = self.model.live_class(value)
            if parent is None:
                raise StatusError(ResultCode.NOTFOUND)
            obj.parent = parent
        elif name == "hashstring":
            if value is None:
                raise StatusError(ResultCode.INVALIDARG)
            obj.hashstring = value
        else:
            raise StatusError(ResultCode.UNKNOWNATTRIBUTE)

    def updated(self, obj: FakeSubclass) -> None:
        if obj.deleted:
            return
        if obj.parent is None or obj.hashstring is None:
            raise StatusError(ResultCode.INVALIDARG)
        obj.parent.subclasses[obj.hashstring] = obj

    def remove(self, obj: FakeSubclass) -> None:
        obj.deleted = True
        self.model.handles.forget(obj)  # as for groups (verified)
        parent, key = obj.parent, obj.hashstring
        if parent is not None and key is not None and parent.subclasses.get(key) is obj:
            del parent.subclasses[key]

    def values(self, obj: FakeSubclass) -> list[tuple[str, AttributeValue]]:
        return [("lease-limit", int32(obj.lease_limit)), ("leases-used", int32(obj.leases_used))]


class FailoverStateType(_ModelType[FakeFailoverPeer]):
    """``failover-state`` (reference §6.2).

    Lookup: ``handle``, ``name``; no key → 27. Set: ``local-state`` (int32, stamps
    ``local-stos``); the other attributes dhcpd sends are accepted and ignored; anything
    else NOTFOUND. Create and delete → 27. Differences: a state outside the enum is
    INVALIDARG (dhcpd logs a fatal error and exits) and a null one too (dhcpd segfaults).
    """

    name = "failover-state"
    IGNORED = frozenset(
        {
            "name",
            "partner-address",
            "local-address",
            "partner-port",
            "local-port",
            "max-outstanding-updates",
            "mclt",
            "load-balance-max-secs",
            "load-balance-hba",
            "partner-state",
            "partner-stos",
            "local-stos",
            "hierarchy",
            "last-packet-sent",
            "last-timestamp-received",
            "skew",
            "max-response-delay",
            "cur-unacked-updates",
        }
    )

    def lookup(self, keys: Mapping[str, bytes]) -> FakeFailoverPeer | None:
        found: FakeFailoverPeer | None = None
        raw = keys.get("handle")
        if raw is not None:
            found = self.model.by_handle(raw, FakeFailoverPeer)
        raw = keys.get("name")
        if raw is not None:
            peer = self.model.failover_peers.get(raw)
            if found is not None and peer is not found:
                raise StatusError(ResultCode.KEYCONFLICT)
            found = peer
            if found is None:
                return None
        if found is None:
            raise StatusError(ResultCode.NOKEYS)
        return found

    def set_value(self, obj: FakeFailoverPeer, name: str, value: bytes | None) -> None:
        if name == "local-state":
            state = _int32(value)
            if state not in _VALID_FAILOVER_STATES:
                raise StatusError(ResultCode.INVALIDARG)  # dhcpd: log_fatal, exits
            obj.local_state = state
            obj.local_stos = self.model.now()
        elif name not in self.IGNORED:
            raise StatusError(ResultCode.NOTFOUND)

    def remove(self, obj: FakeFailoverPeer) -> None:
        raise StatusError(ResultCode.NOTIMPLEMENTED)

    def values(self, obj: FakeFailoverPeer) -> list[tuple[str, AttributeValue]]:
        out: list[tuple[str, AttributeValue]] = [
            ("name", obj.name),
            ("partner-address", IPv4Address(obj.partner_address).packed + bytes(4)),
            ("partner-port", int32(obj.partner_port)),
            ("local-address", IPv4Address(obj.local_address).packed + bytes(4)),
            ("local-port", int32(obj.local_port)),
            ("max-outstanding-updates", int32(obj.max_outstanding_updates)),
            ("mclt", int32(obj.mclt)),
            ("load-balance-max-secs", int32(obj.load_balance_max_secs)),
        ]
        if obj.load_balance_hba is not None:
            out.append(("load-balance-hba", obj.load_balance_hba))
        out += [
            ("partner-state", int32(obj.partner_state)),
            ("local-state", int32(obj.local_state)),
            ("partner-stos", int32(obj.partner_stos)),
            ("local-stos", int32(obj.local_stos)),
            ("hierarchy", int32(obj.hierarchy)),
            ("last-packet-sent", int32(obj.last_packet_sent)),
            ("last-timestamp-received", int32(obj.last_timestamp_received)),
            ("skew", int32(obj.skew)),
            ("max-response-delay", int32(obj.max_response_delay)),
            ("cur-unacked-updates", int32(obj.cur_unacked_updates)),
        ]
        return out


class ControlType(_ModelType[FakeControl]):
    """``control`` (reference §5.4): always found; ``state = 2`` shuts the fake down (status
    0 first, then ``on_shutdown``); other values INVALIDARG (a null one too: dhcpd
    segfaults); other names NOTFOUND; delete NOPERM."""

    name = "control"

    def lookup(self, keys: Mapping[str, bytes]) -> FakeControl:
        return self.model.control

    def set_value(self, obj: FakeControl, name: str, value: bytes | None) -> None:
        if name != "state":
            raise StatusError(ResultCode.NOTFOUND)
        if _int32(value) != 2:
            raise StatusError(ResultCode.INVALIDARG)
        obj.state = 4  # dhcpd reads the value's length after a shutdown request (§5.4)
        if self.model.on_shutdown is not None:
            self.model.on_shutdown()

    def remove(self, obj: FakeControl) -> None:
        raise StatusError(ResultCode.NOPERM)

    def values(self, obj: FakeControl) -> list[tuple[str, AttributeValue]]:
        return [("state", int32(obj.state))]


class PoolType(ObjectType[FakePool]):
    """``pool`` (reference §5.7): reachable only through a lease's ``pool`` handle."""

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
    """``subnet`` and ``shared-network`` (reference §5.7): no attributes, no lookup."""

    def __init__(self, name: str = "subnet") -> None:
        self.name = name

    def set_value(self, obj: FakeSubnet, name: str, value: bytes | None) -> None:
        raise StatusError(ResultCode.NOTFOUND)

    def remove(self, obj: FakeSubnet) -> None:
        raise StatusError(ResultCode.NOTIMPLEMENTED)


class InterfaceType(_ModelType[FakeInterface]):
    """``interface`` (reference §5.8): lookup by ``handle`` or ``name``; no key → a blank
    interface; ``state`` is ``up``/``down``; delete takes it down."""

    name = "interface"

    def lookup(self, keys: Mapping[str, bytes]) -> FakeInterface | None:
        found: FakeInterface | None = None
        raw = keys.get("handle")
        if raw is not None:
            found = self.model.by_handle(raw, FakeInterface)
        raw = keys.get("name")
        if raw is not None:
            iface = self.model.interfaces.get(raw)
            if found is not None and iface is not found:
                raise StatusError(ResultCode.KEYCONFLICT)
            return iface
        if found is None:
            raise StatusError(ResultCode.NOKEYS)
        return found

    def create(self) -> FakeInterface:
        return FakeInterface()

    def set_value(self, obj: FakeInterface, name: str, value: bytes | None) -> None:
        raise StatusError(ResultCode.NOTFOUND)

    def remove(self, obj: FakeInterface) -> None:
        obj.up = False

    def values(self, obj: FakeInterface) -> list[tuple[str, AttributeValue]]:
        return [("state", b"up" if obj.up else b"down")]


class _Unsearchable(ObjectType[object]):
    searchable = False

    def __init__(self, name: str) -> None:
        self.name = name
