"""Table-driven decoding of a reply's values into the fields of a typed object.

Each typed object (:mod:`aiomapi.typed.objects`) has a table built once at import time:
attribute name → (field name, decoder). :func:`decode_fields` walks a reply's value list once
— the ``object`` values of the reply :class:`~aiomapi._sansio.wire.Message` as they came off
the wire, with no dict of them made first — so a lease lookup costs one dict lookup and one
small decoder call per attribute (it is on the hot path of bulk lookups).

The first value of a name in the table is the field. Names not in the table, and later values
of a name that came more than once, are kept raw (a lease's binding variables, anything else
in ``extra``): dhcpd sends a lease's fields before its binding variables, so a binding
variable named like a field (``tstp`` set over OMAPI) comes second. A value that cannot be
decoded (wrong length), or a missing attribute dhcpd always sends, raises
:class:`~aiomapi.errors.RemoteProtocolError`.

Numbers dhcpd sends that are not members of an enum (a state dhcpd 4.4.3 cannot be in) are
kept as plain ``int`` rather than rejected, so one odd object never makes a lookup fail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from ipaddress import IPv4Address
from typing import Any, Final, TypeAlias

from aiomapi.errors import RemoteProtocolError
from aiomapi.typed.coders import decode_int32, decode_ip, decode_string
from aiomapi.typed.enums import (
    ControlState,
    FailoverHierarchy,
    FailoverState,
    LeaseFlags,
    LeaseState,
)
from aiomapi.typed.mac import decode_mac
from aiomapi.typed.times import decode_time

__all__ = [
    "FAST_KINDS",
    "NO_FLAGS",
    "Decoder",
    "RawValues",
    "Table",
    "as_bytes",
    "control_state",
    "decode_fields",
    "failover_address",
    "failover_state",
    "hierarchy",
    "lease_flags",
    "lease_state",
    "require",
]

Decoder: TypeAlias = Callable[[bytes], Any]
#: attribute name → (field name, decoder)
Table: TypeAlias = Mapping[str, tuple[str, Decoder]]
#: A reply's values: (name, raw bytes) in the server's order, names possibly repeated.
RawValues: TypeAlias = Sequence[tuple[str, bytes]]


def decode_fields(
    handle: int, values: RawValues, table: Table, what: str
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Decode ``values`` by ``table``: (fields by name, raw values of the other names).

    Raises:
        RemoteProtocolError: a value the table's decoder refuses.
    """
    fields: dict[str, Any] = {"handle": handle}
    unknown: dict[str, bytes] = {}
    lookup = table.get
    try:
        # One pass that assumes every name comes once (dhcpd's replies, nearly always) …
        for name, value in values:
            entry = lookup(name)
            if entry is None:
                unknown[name] = value
            else:
                fields[entry[0]] = entry[1](value)
    except ValueError:
        pass  # a bad value, or a later value of a field's name: the careful pass tells
    else:
        if len(fields) + len(unknown) == len(values) + 1:
            return fields, unknown
    # … and otherwise again, with the first value of each name.
    return _decode_carefully(handle, values, table, what)


def _decode_carefully(
    handle: int, values: RawValues, table: Table, what: str
) -> tuple[dict[str, Any], dict[str, bytes]]:
    fields: dict[str, Any] = {"handle": handle}
    unknown: dict[str, bytes] = {}
    later: list[tuple[str, bytes]] = []
    name = ""
    try:
        for name, value in values:
            entry = table.get(name)
            if entry is None:
                if name not in unknown:
                    unknown[name] = value
            elif entry[0] in fields:
                later.append((name, value))
            else:
                fields[entry[0]] = entry[1](value)
    except ValueError as exc:
        raise RemoteProtocolError(f"{what} attribute {name!r}: {exc}") from exc
    for name, value in later:  # a later value of a field's name is never the field
        unknown.setdefault(name, value)
    return fields, unknown


def require(fields: Mapping[str, Any], required: frozenset[str], what: str) -> None:
    """Raise :class:`RemoteProtocolError` unless every ``required`` field was sent."""
    if not required.issubset(fields.keys()):
        missing = ", ".join(sorted(required - fields.keys()))
        raise RemoteProtocolError(f"{what} reply without {missing}")


# ----------------------------------------------------------------- value decoders

_LEASE_STATES: Final = {m.value: m for m in LeaseState}
_FAILOVER_STATES: Final = {m.value: m for m in FailoverState}
_CONTROL_STATES: Final = {m.value: m for m in ControlState}
_HIERARCHIES: Final = {m.value: m for m in FailoverHierarchy}
# Every 1-byte flags value, built once: dhcpd sends lease flags as 1 byte
# (docs/dhcpd-behaviour.md, "Objects").
_BYTE_FLAGS: Final = tuple(LeaseFlags(i) for i in range(256))
#: A lease's flags when none are set (the default of :attr:`Lease.flags`).
NO_FLAGS: Final = _BYTE_FLAGS[0]


def lease_state(raw: bytes) -> LeaseState | int:
    n = decode_int32(raw)
    return _LEASE_STATES.get(n, n)


def failover_state(raw: bytes) -> FailoverState | int:
    n = decode_int32(raw)
    return _FAILOVER_STATES.get(n, n)


def control_state(raw: bytes) -> ControlState | int:
    n = decode_int32(raw)
    return _CONTROL_STATES.get(n, n)


def hierarchy(raw: bytes) -> FailoverHierarchy | int:
    n = decode_int32(raw)
    return _HIERARCHIES.get(n, n)


def lease_flags(raw: bytes) -> LeaseFlags:
    if len(raw) == 1:
        return _BYTE_FLAGS[raw[0]]
    return LeaseFlags(decode_int32(raw))


def as_bytes(value: bytes) -> bytes:
    return bytes(value)


def failover_address(raw: bytes) -> IPv4Address | None:
    # dhcpd 4.4.3 copies the *pointer* to its address option-cache onto the wire: 8 bytes of
    # heap address on x86-64, not an IP (docs/dhcpd-behaviour.md, "Failover"). Only 4 bytes
    # could be an address.
    return IPv4Address(bytes(raw)) if len(raw) == 4 else None


#: Decoder → the kind the compiled builder decodes the same way (``aiomapi.typed._speedups``;
#: an ``"enum"`` with its members by number). A decoder not listed is called as it is.
FAST_KINDS: Final[Mapping[Decoder, str | tuple[str, Mapping[int, Any]]]] = {
    decode_int32: "int32",
    lease_state: ("enum", _LEASE_STATES),
    failover_state: ("enum", _FAILOVER_STATES),
    control_state: ("enum", _CONTROL_STATES),
    hierarchy: ("enum", _HIERARCHIES),
    decode_ip: "ip",
    as_bytes: "bytes",
    decode_string: "string",
    decode_mac: "mac",
    decode_time: "time",
    lease_flags: "flags",
}
