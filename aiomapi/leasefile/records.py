"""The records a lease file declares, and the database they replay into.

The lease file is a log: dhcpd appends a declaration every time a lease, host, group, class or
failover state changes, and rewrites the whole file about once an hour (dhcpd.leases(5)). The
*last* declaration of a lease wins, and a declaration with ``deleted;`` (a "rubout") removes a
host, group or class. :class:`LeaseDatabase` holds the result of that replay.

What is kept and what is interpreted:

* Statements we model become typed fields. Inside a lease, statements we do not model
  (``option agent.circuit-id ...``, ``on expiry { ... }``, anything unknown) are kept verbatim in
  :attr:`LeaseRecord.statements` and written back by
  :func:`~aiomapi.leasefile.format_lease`; dhcpd itself would drop a lease with an unknown
  statement, we keep it. In hosts, groups and classes, the dhcpd.conf statements
  (``option ...;``, ``if ... { }``) are kept verbatim as one text.
* Values are stored as they are written: an absent time is
  :data:`~aiomapi.typed.values.UNSET` and an absent binding state is ``None``. dhcpd fills
  in defaults when it *loads* a lease (a missing ``binding state`` depends on the current
  time, a missing ``next``/``rewind`` state copies the binding state, a missing ``tstp``
  copies ``ends``); that is left to the user of the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Final, TypeAlias

from aiomapi.typed.values import UNSET, FailoverState, LeaseFlags, LeaseState, LeaseTime, MacAddress

__all__ = [
    "BindingValue",
    "ClassRecord",
    "FailoverPeerRecord",
    "GroupRecord",
    "HostRecord",
    "LeaseDatabase",
    "LeaseFileError",
    "LeaseRecord",
    "SubclassRecord",
]


class LeaseFileError(ValueError):
    """The lease file does not parse.

    Attributes:
        message: what is wrong.
        line: the 1-based line number where it went wrong.
        source: the file name, if known.
    """

    def __init__(self, message: str, line: int, source: str | None = None) -> None:
        self.message = message
        self.line = line
        self.source = source
        where = f"{source}:{line}" if source else f"line {line}"
        super().__init__(f"{where}: {message}")


#: A lease binding variable (``set name = value;``): data is ``bytes``, ``%N`` is an ``int``,
#: ``true``/``false`` is a ``bool`` (write_binding_scope, server/db.c).
BindingValue: TypeAlias = bytes | int | bool

_NO_FLAGS: Final = LeaseFlags(0)


# ----------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """One ``lease a.b.c.d { ... }`` declaration.

    Attributes:
        ip_address: the leased address.
        starts, ends, tstp, tsfp, atsfp, cltt: lease times; UNSET when the line is absent.
        binding_state, next_binding_state, rewind_binding_state: ``None`` when absent.
            ``binding state reserved``/``bootp`` (old files) read as ACTIVE plus the flag, and
            the old statement ``abandoned;`` as binding and next state ABANDONED, like dhcpd.
        hardware_type: the ``hardware`` type number (ethernet = 1), ``None`` if no ``hardware``.
        hardware_address: the hardware address, ``None`` if absent (or written empty).
        client_identifier: the ``uid``.
        client_hostname: the ``client-hostname``.
        flags: RESERVED_LEASE (``reserved;``) and BOOTP_LEASE (``dynamic-bootp;``). dhcpd does
            not store the other two bits in the file, and neither does :func:`format_lease`.
        billing_class: the class the lease is billed to (``billing class "x";``), or the
            parent class for ``billing subclass "x" <hash>;``.
        billing_subclass: the subclass hash string for ``billing subclass``.
        variables: binding variables, ``(name, value)`` in file order; a repeated name keeps
            its first position and takes the later value. The legacy ``ddns-fwd-name x;`` and
            ``ddns-rev-name x;`` forms count as variables.
        statements: other statements, verbatim (agent options, ``on`` blocks, unknown ones).
    """

    ip_address: IPv4Address
    starts: LeaseTime = UNSET
    ends: LeaseTime = UNSET
    tstp: LeaseTime = UNSET
    tsfp: LeaseTime = UNSET
    atsfp: LeaseTime = UNSET
    cltt: LeaseTime = UNSET
    binding_state: LeaseState | None = None
    next_binding_state: LeaseState | None = None
    rewind_binding_state: LeaseState | None = None
    hardware_type: int | None = None
    hardware_address: MacAddress | None = None
    client_identifier: bytes | None = None
    client_hostname: str | None = None
    flags: LeaseFlags = _NO_FLAGS
    billing_class: str | None = None
    billing_subclass: bytes | None = None
    variables: tuple[tuple[str, BindingValue], ...] = ()
    statements: tuple[str, ...] = ()

    def variable(self, name: str) -> BindingValue | None:
        """The value of binding variable ``name``, or ``None``."""
        for key, value in self.variables:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class HostRecord:
    """One ``host NAME { ... }`` declaration (hosts created or deleted over OMAPI).

    Attributes:
        name: the host name.
        dynamic: ``dynamic;`` — created over OMAPI rather than in dhcpd.conf.
        deleted: ``deleted;`` — a rubout. Rubouts are not kept in :attr:`LeaseDatabase.hosts`;
            their names go to :attr:`LeaseDatabase.deleted_hosts`.
        hardware_type, hardware_address: as for leases.
        client_identifier: the ``uid``.
        fixed_addresses: the ``fixed-address`` list, when every entry is an IPv4 literal (dhcpd
            writes the evaluated addresses). With a DNS name in it, the whole statement stays in
            :attr:`statements` instead. dhcpd 4.4.3 writes ``fixed-address ;`` once an OMAPI
            null has cleared the addresses; that reads as no addresses.
        group: the named group (``group "x";``).
        statements: the other dhcpd.conf statements, verbatim.
    """

    name: str
    dynamic: bool = False
    deleted: bool = False
    hardware_type: int | None = None
    hardware_address: MacAddress | None = None
    client_identifier: bytes | None = None
    fixed_addresses: tuple[IPv4Address, ...] = ()
    group: str | None = None
    statements: str = ""


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """One ``group NAME { ... }`` declaration (``dynamic;``, ``static;``, ``deleted;``)."""

    name: str
    dynamic: bool = False
    static: bool = False
    deleted: bool = False
    statements: str = ""


@dataclass(frozen=True, slots=True)
class ClassRecord:
    """One ``class "NAME" { ... }`` declaration. ``statements`` keeps ``match``/``spawn``/etc."""

    name: str
    dynamic: bool = False
    deleted: bool = False
    lease_limit: int | None = None
    statements: str = ""


@dataclass(frozen=True, slots=True)
class SubclassRecord:
    """One ``subclass "CLASS" HASH { ... }`` (or ``subclass "CLASS" HASH;``) declaration."""

    class_name: str
    hashstring: bytes
    dynamic: bool = False
    deleted: bool = False
    lease_limit: int | None = None
    statements: str = ""


@dataclass(frozen=True, slots=True)
class FailoverPeerRecord:
    """One ``failover peer "NAME" state { ... }`` declaration.

    Attributes:
        name: the peer name.
        my_state, my_stos: ``my state X at DATE;`` (UNKNOWN_STATE / UNSET if absent; a state
            without ``at`` gives UNSET, where dhcpd would take the current time).
        partner_state, partner_stos: ``partner state X at DATE;`` (``peer state`` as in the
            manual page is accepted too).
        mclt: ``mclt N;`` (written by the secondary only).
    """

    name: str
    my_state: FailoverState = FailoverState.UNKNOWN_STATE
    my_stos: LeaseTime = UNSET
    partner_state: FailoverState = FailoverState.UNKNOWN_STATE
    partner_stos: LeaseTime = UNSET
    mclt: int | None = None


@dataclass(slots=True)
class LeaseDatabase:
    """Everything a lease file says, after replaying it in order.

    Attributes:
        leases: by address; a later declaration replaces an earlier one.
        hosts: live hosts by name; a rubout removes the host and records the name in
            :attr:`deleted_hosts` (dhcpd keeps rubouts of dhcpd.conf hosts forever).
        groups, deleted_groups: likewise for groups.
        classes: by name; a ``deleted`` class is removed.
        subclasses: by ``(class name, hash string)``; a ``deleted`` one is removed.
        failover_peers: by peer name; each declaration updates the fields it sets.
        server_duid: the ``server-duid`` (DHCPv6 files), or ``None``.
        authoring_byte_order: ``"little-endian"``/``"big-endian"``, or ``None``.
        other: top-level declarations kept verbatim but not modelled (DHCPv6 ``ia-na``,
            ``ia-ta``, ``ia-pd``).
    """

    leases: dict[IPv4Address, LeaseRecord] = field(default_factory=dict)
    hosts: dict[str, HostRecord] = field(default_factory=dict)
    deleted_hosts: set[str] = field(default_factory=set)
    groups: dict[str, GroupRecord] = field(default_factory=dict)
    deleted_groups: set[str] = field(default_factory=set)
    classes: dict[str, ClassRecord] = field(default_factory=dict)
    subclasses: dict[tuple[str, bytes], SubclassRecord] = field(default_factory=dict)
    failover_peers: dict[str, FailoverPeerRecord] = field(default_factory=dict)
    server_duid: bytes | None = None
    authoring_byte_order: str | None = None
    other: list[str] = field(default_factory=list)
