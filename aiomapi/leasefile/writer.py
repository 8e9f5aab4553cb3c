"""Write lease-file declarations the way dhcpd 4.4 writes them (server/db.c).

Each ``format_*`` function writes one declaration in the order and spelling of dhcpd's own
writer, so that dhcpd reads back exactly what was written; :func:`format_database` writes a whole
file in the order of ``new_lease_file()``. Quoting, hex and dates come from
:mod:`aiomapi.leasefile.lexer`, the same rules the parser reads them with.
"""

from __future__ import annotations

from typing import Literal

from aiomapi.typed.values import UNSET, LeaseFlags, LeaseTime, MacAddress

from .lexer import (
    HARDWARE_TYPE_NAMES,
    colon_hex,
    format_time,
    name_or_quoted,
    printable,
    quote,
    quote_text,
)
from .records import (
    BindingValue,
    ClassRecord,
    FailoverPeerRecord,
    GroupRecord,
    HostRecord,
    LeaseDatabase,
    LeaseRecord,
    SubclassRecord,
)

__all__ = [
    "format_class",
    "format_database",
    "format_failover_peer",
    "format_group",
    "format_host",
    "format_lease",
    "format_subclass",
]


def _hardware_line(htype: int | None, haddr: MacAddress | None) -> str:
    if htype is None and haddr is None:
        return ""
    number = 1 if htype is None else htype
    if not 0 <= number <= 255:
        raise ValueError(f"hardware type {number} is not 0..255")
    type_name = HARDWARE_TYPE_NAMES.get(number, f"unknown-{number}")
    return f"\n  hardware {type_name} {'' if haddr is None else haddr};"


def _binding_value(value: BindingValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"%{value}"
    return quote(value)


def format_lease(record: LeaseRecord, *, lease_id_format: Literal["octal", "hex"] = "octal") -> str:
    """Write a lease declaration the way dhcpd 4.4's write_lease() does (server/db.c).

    Fields that are UNSET/``None`` are left out; everything else is written, in dhcpd's order:
    times, binding states, ``reserved;``/``dynamic-bootp;``, billing, ``hardware``, ``uid``,
    ``set`` variables, other statements (in their order; ``client-hostname`` goes before the
    first ``on`` block, where dhcpd puts it). A hardware address without a type is written as
    ethernet.

    Args:
        record: the lease.
        lease_id_format: how to write the ``uid``: ``"octal"`` (dhcpd's default, a quoted
            string with ``\\ooo`` escapes) or ``"hex"`` (colon-separated hex).

    Returns:
        The declaration, ending in a newline.

    Raises:
        ValueError: a time dhcpd cannot store (naive, before 1970, 2038-01-19 or later; use
            NEVER) or a hardware type outside 0..255.
    """
    r = record
    out = [f"lease {r.ip_address} {{"]
    for name in ("starts", "ends", "tstp", "tsfp", "atsfp", "cltt"):
        t: LeaseTime = getattr(r, name)
        if t is not UNSET:
            out.append(f"\n  {name} {format_time(t)};")
    if r.binding_state is not None:
        out.append(f"\n  binding state {r.binding_state.dhcpd_name};")
    if r.next_binding_state is not None:
        out.append(f"\n  next binding state {r.next_binding_state.dhcpd_name};")
    if r.rewind_binding_state is not None:
        out.append(f"\n  rewind binding state {r.rewind_binding_state.dhcpd_name};")
    if r.flags & LeaseFlags.RESERVED_LEASE:
        out.append("\n  reserved;")
    if r.flags & LeaseFlags.BOOTP_LEASE:
        out.append("\n  dynamic-bootp;")
    if r.billing_class is not None:
        if r.billing_subclass is None:
            out.append(f"\n  billing class {quote_text(r.billing_class)};")
        else:
            out.append(
                f"\n  billing subclass {quote_text(r.billing_class)} "
                f"{_hash_string(r.billing_subclass)};"
            )
    out.append(_hardware_line(r.hardware_type, r.hardware_address))
    if r.client_identifier:
        uid = r.client_identifier
        out.append(f"\n  uid {colon_hex(uid) if lease_id_format == 'hex' else quote(uid)};")
    for name, value in r.variables:
        out.append(f"\n  set {name} = {_binding_value(value)};")
    # dhcpd writes agent options before client-hostname and "on" blocks after it; keep the
    # statements' order and put client-hostname before the first "on" block.
    first_on = next(
        (k for k, st in enumerate(r.statements) if st.split(None, 1)[0].lower() == "on"),
        len(r.statements),
    )
    out.extend(f"\n  {statement}" for statement in r.statements[:first_on])
    if r.client_hostname is not None:
        out.append(f"\n  client-hostname {quote_text(r.client_hostname)};")
    out.extend(f"\n  {statement}" for statement in r.statements[first_on:])
    out.append("\n}\n")
    return "".join(out)


def _hash_string(data: bytes) -> str:
    # print_hash_string(), server/db.c: quoted if printable, else colon-hex
    return quote(data) if data and printable(data) else colon_hex(data)


def format_host(record: HostRecord) -> str:
    """Write a host declaration the way dhcpd's write_host() does (server/db.c).

    A rubout (``deleted``) carries only ``dynamic;`` and ``deleted;``. The name is written
    bare when it is a dotted name, else quoted.
    """
    r = record
    out = [f"host {name_or_quoted(r.name)} {{"]
    if r.dynamic:
        out.append("\n  dynamic;")
    if r.deleted:
        out.append("\n  deleted;")
        out.append("\n}\n")
        return "".join(out)
    out.append(_hardware_line(r.hardware_type, r.hardware_address))
    if r.client_identifier:
        uid = r.client_identifier
        out.append(f"\n  uid {quote(uid) if printable(uid) else colon_hex(uid)};")
    if r.fixed_addresses:
        out.append(f"\n  fixed-address {','.join(str(a) for a in r.fixed_addresses)};")
    if r.group is not None:
        out.append(f"\n  group {quote_text(r.group)};")
    if r.statements:
        out.append(f"\n  {r.statements}")
    out.append("\n}\n")
    return "".join(out)


def format_group(record: GroupRecord) -> str:
    """Write a group declaration the way dhcpd's write_group() does."""
    r = record
    out = [f"group {name_or_quoted(r.name)} {{"]
    if r.dynamic:
        out.append("\n  dynamic;")
    if r.static:
        out.append("\n  static;")
    if r.deleted:
        out.append("\n  deleted;")
    elif r.statements:
        out.append(f"\n  {r.statements}")
    out.append("\n}\n")
    return "".join(out)


def _class_body(dynamic: bool, deleted: bool, lease_limit: int | None, statements: str) -> str:
    out = []
    if deleted:
        out.append("\n  deleted;")
    elif dynamic:
        out.append("\n  dynamic;")
    if lease_limit is not None:
        out.append(f"\n  lease limit {lease_limit};")
    if statements:
        out.append(f"\n  {statements}")
    out.append("\n}\n")
    return "".join(out)


def format_class(record: ClassRecord) -> str:
    """Write a class declaration the way dhcpd's write_named_billing_class() does."""
    r = record
    body = _class_body(r.dynamic, r.deleted, r.lease_limit, r.statements)
    return f"class {quote_text(r.name)} {{{body}"


def format_subclass(record: SubclassRecord) -> str:
    """Write a subclass declaration the way dhcpd's write_named_billing_class() does."""
    r = record
    if not r.hashstring:
        raise ValueError("a subclass needs a non-empty hash string")
    body = _class_body(r.dynamic, r.deleted, r.lease_limit, r.statements)
    return f"subclass {quote_text(r.class_name)} {_hash_string(r.hashstring)} {{{body}"


def format_failover_peer(record: FailoverPeerRecord) -> str:
    """Write a failover state declaration the way dhcpd's write_failover_state() does.

    An UNSET time is written as the epoch (1970), which reads back as UNSET.
    """
    r = record

    def when(t: LeaseTime) -> str:
        return "4 1970/01/01 00:00:00" if t is UNSET else format_time(t)

    out = [
        f"\nfailover peer {quote_text(r.name)} state {{",
        f"\n  my state {r.my_state.dhcpd_name} at {when(r.my_stos)};",
        f"\n  partner state {r.partner_state.dhcpd_name} at {when(r.partner_stos)};",
    ]
    if r.mclt is not None:
        out.append(f"\n  mclt {r.mclt};")
    out.append("\n}\n")
    return "".join(out)


def format_database(db: LeaseDatabase, *, version: str = "4.4.3-P1") -> str:
    """Write a whole lease file, in the order of dhcpd's new_lease_file()/write_leases().

    Header comments and ``authoring-byte-order`` (little-endian unless the database says
    otherwise), then classes and subclasses, groups and group rubouts, host rubouts, hosts,
    failover states and leases.

    Args:
        db: the database.
        version: the dhcpd version named in the header comment.
    """
    out = [
        "# The format of this file is documented in the dhcpd.leases(5) manual page.\n",
        f"# This lease file was written by isc-dhcp-{version}\n\n",
        "# authoring-byte-order entry is generated, DO NOT DELETE\n",
        f"authoring-byte-order {db.authoring_byte_order or 'little-endian'};\n\n",
    ]
    if db.server_duid is not None:
        out.append(f"server-duid {quote(db.server_duid)};\n\n")
    out.extend(format_class(c) + "\n" for c in db.classes.values())
    out.extend(format_subclass(s) + "\n" for s in db.subclasses.values())
    out.extend(format_group(g) for g in db.groups.values())
    out.extend(format_group(GroupRecord(name, deleted=True)) for name in sorted(db.deleted_groups))
    out.extend(format_host(HostRecord(name, deleted=True)) for name in sorted(db.deleted_hosts))
    out.extend(format_host(h) for h in db.hosts.values())
    out.extend(format_failover_peer(f) for f in db.failover_peers.values())
    out.extend(format_lease(lease) for lease in db.leases.values())
    out.extend(text + "\n" for text in db.other)
    return "".join(out)
