"""Which attribute has which wire type, and the generic "Python value → wire bytes" encoder.

On the wire every OMAPI value is an untyped byte string (docs/dhcpd-behaviour.md, "Wire
format"); dhcpd decides how to read a value from the attribute's *name*. A client cannot tell
the types apart by looking at the bytes, so the knowledge "which attribute has which type"
lives in one table here, :data:`ATTRIBUTE_KINDS`. The generic encoder :func:`encode_value`
(and :func:`encode_values`, what ``omapi.open(object_type, lookup)`` sends) reads it; the typed
managers encode their few attributes directly with the same coders.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Final, TypeAlias

from aiomapi._sansio.wire import Values
from aiomapi.errors import LocalProtocolError
from aiomapi.typed.coders import _parse_ipv4, encode_int32, encode_string
from aiomapi.typed.mac import HEX_PAIR, MacAddress
from aiomapi.typed.times import TimeSentinel, encode_time

__all__ = [
    "ATTRIBUTE_KINDS",
    "Lookup",
    "ValueKind",
    "ValueLike",
    "attribute_kind",
    "encode_value",
    "encode_values",
]


class ValueKind(enum.Enum):
    """How an attribute's value is typed on the wire."""

    INT32 = "int32"  #: 4-byte unsigned integer
    HANDLE = "handle"  #: 4-byte object handle
    TIME = "time"  #: int32 seconds since the epoch; 0 = unset, 0x7fffffff = never
    LEASE_FLAGS = "lease-flags"  #: 1 byte when sent by dhcpd; 1 or 4 bytes accepted
    IP = "ip"  #: 4 bytes
    IP_LIST = "ip-list"  #: 4*n bytes
    MAC = "mac"  #: 1-20 raw octets, no hardware-type byte
    IDENTIFIER = "identifier"  #: opaque bytes, often written as colon-hex
    STRING = "string"  #: text
    BYTES = "bytes"  #: opaque bytes that are not text (e.g. the failover HBA)

    @property
    def is_integer(self) -> bool:
        """The value is a number on the wire."""
        return self in _INTEGER_KINDS


_INTEGER_KINDS: Final = frozenset(
    {ValueKind.INT32, ValueKind.HANDLE, ValueKind.TIME, ValueKind.LEASE_FLAGS}
)

_K = ValueKind

#: Attribute name → wire kind, the one place this knowledge lives (docs/dhcpd-behaviour.md,
#: "Objects" and "Failover").
#: Keys are ``(object_type, name)``; ``object_type`` ``None`` is the default for any type,
#: and a key with a type overrides it (``("interface", "state")`` is text, while ``state``
#: is an int elsewhere). Names not listed are text.
ATTRIBUTE_KINDS: Final[dict[tuple[str | None, str], ValueKind]] = {
    # message values (docs/dhcpd-behaviour.md, "Messages and replies")
    (None, "create"): _K.INT32,
    (None, "update"): _K.INT32,
    (None, "exclusive"): _K.INT32,
    (None, "result"): _K.INT32,
    (None, "type"): _K.STRING,
    (None, "message"): _K.STRING,
    # common lookup keys
    (None, "handle"): _K.HANDLE,
    (None, "name"): _K.STRING,
    (None, "ip-address"): _K.IP,
    (None, "hardware-address"): _K.MAC,
    (None, "hardware-type"): _K.INT32,
    (None, "dhcp-client-identifier"): _K.IDENTIFIER,
    # lease
    (None, "state"): _K.INT32,
    (None, "client-hostname"): _K.STRING,
    (None, "hostname"): _K.STRING,
    (None, "host"): _K.HANDLE,
    (None, "subnet"): _K.HANDLE,
    (None, "pool"): _K.HANDLE,
    (None, "billing-class"): _K.HANDLE,
    (None, "starts"): _K.TIME,
    (None, "ends"): _K.TIME,
    (None, "tstp"): _K.TIME,
    (None, "tsfp"): _K.TIME,
    (None, "atsfp"): _K.TIME,
    (None, "cltt"): _K.TIME,
    (None, "flags"): _K.INT32,
    ("lease", "flags"): _K.LEASE_FLAGS,
    # host and group
    ("host", "ip-address"): _K.IP_LIST,
    ("host", "group"): _K.STRING,
    (None, "statements"): _K.STRING,
    (None, "known"): _K.INT32,
    # class, subclass; pool
    (None, "lease-limit"): _K.INT32,
    (None, "leases-used"): _K.INT32,
    (None, "hashstring"): _K.IDENTIFIER,
    ("class", "group"): _K.STRING,
    (None, "match"): _K.STRING,
    (None, "lease-count"): _K.INT32,
    (None, "free-leases"): _K.INT32,
    (None, "backup-leases"): _K.INT32,
    # interface
    ("interface", "state"): _K.STRING,
    # authenticator
    (None, "algorithm"): _K.STRING,
    # failover-state: every integer is int32
    (None, "partner-address"): _K.BYTES,
    (None, "local-address"): _K.BYTES,
    (None, "partner-port"): _K.INT32,
    (None, "local-port"): _K.INT32,
    (None, "max-outstanding-updates"): _K.INT32,
    (None, "mclt"): _K.INT32,
    (None, "load-balance-max-secs"): _K.INT32,
    (None, "load-balance-hba"): _K.BYTES,
    (None, "partner-state"): _K.INT32,
    (None, "local-state"): _K.INT32,
    (None, "partner-stos"): _K.TIME,
    (None, "local-stos"): _K.TIME,
    (None, "hierarchy"): _K.INT32,
    (None, "last-packet-sent"): _K.INT32,
    (None, "last-timestamp-received"): _K.INT32,
    (None, "skew"): _K.INT32,
    (None, "max-response-delay"): _K.INT32,
    (None, "cur-unacked-updates"): _K.INT32,
    # lease binding variable dhcpd sets itself
    (None, "remote-handle"): _K.INT32,
}


def attribute_kind(name: str, object_type: str | None = None) -> ValueKind:
    """The wire kind of attribute ``name`` of ``object_type`` (text if unknown)."""
    if object_type is not None:
        kind = ATTRIBUTE_KINDS.get((object_type, name))
        if kind is not None:
            return kind
    return ATTRIBUTE_KINDS.get((None, name), ValueKind.STRING)


#: What :func:`encode_value` accepts. IntEnum and IntFlag members are ints.
ValueLike: TypeAlias = (
    bytes
    | bytearray
    | memoryview
    | str
    | int
    | bool
    | IPv4Address
    | MacAddress
    | datetime
    | TimeSentinel
)

_COLON_HEX = re.compile(rf"{HEX_PAIR}(?::{HEX_PAIR})+")
_IP_LIST_SPLIT = re.compile(r"[\s,]+")


def _parse_ip_list(name: str, text: str) -> bytes:
    parts = [p for p in _IP_LIST_SPLIT.split(text.strip()) if p]
    if not parts:
        raise LocalProtocolError(f"{name}: no IPv4 address in {text!r}")
    return b"".join(_parse_ipv4(p).packed for p in parts)


def _encode_str(name: str, text: str, kind: ValueKind) -> bytes:
    if kind.is_integer:
        raise LocalProtocolError(
            f"attribute {name!r} is an integer on the wire; got the str {text!r}. "
            "Pass an int (or an enum member / datetime where one applies)."
        )
    if kind is ValueKind.IP:
        return _parse_ipv4(text).packed
    if kind is ValueKind.IP_LIST:
        return _parse_ip_list(name, text)
    if kind is ValueKind.MAC:
        try:
            return MacAddress(text).packed
        except ValueError as exc:
            raise LocalProtocolError(f"{name}: {exc}") from None
    if kind is ValueKind.IDENTIFIER and _COLON_HEX.fullmatch(text.strip()):
        return bytes(int(p, 16) for p in text.strip().split(":"))
    return encode_string(text)


def encode_value(name: str, value: ValueLike, object_type: str | None = None) -> bytes:
    """Encode ``value`` for attribute ``name`` the way dhcpd expects to read it.

    Rules, by the type of ``value``:

    * ``bytes``/``bytearray``/``memoryview``: sent as they are. The one exception: an empty
      value for an integer attribute is refused, because a zero-length value is a *null* and
      dhcpd 4.4.3 segfaults on a null ``state``, ``ends``, ``flags`` or ``local-state``
      (docs/dhcpd-behaviour.md, "Requests that crash dhcpd").
    * ``bool``, ``int``, IntEnum and IntFlag members: int32 (0..2**32-1). Lease ``flags``
      (``object_type == "lease"``) is sent as 1 byte when it fits, as dhcpd sends it
      (docs/dhcpd-behaviour.md, "Objects"), else as int32.
    * :class:`~ipaddress.IPv4Address`: 4 bytes. IPv6 addresses are refused (OMAPI objects are
      IPv4 only).
    * :class:`MacAddress`: its octets.
    * ``datetime``, :data:`NEVER`, :data:`UNSET`: :func:`encode_time`.
    * ``str``: depends on the attribute's kind in :data:`ATTRIBUTE_KINDS`:

      - ``ip-address``: parsed as an IPv4 address; for ``host`` it may be a list separated by
        commas and/or blanks, giving 4*n bytes;
      - ``hardware-address``: parsed as a :class:`MacAddress` (any accepted spelling);
      - ``dhcp-client-identifier`` and ``hashstring``: colon-hex with at least two octets
        (``01:aa:bb``) is parsed into bytes, like omshell; anything else is UTF-8 text;
      - integer attributes (``state``, ``ends``, ``flags``, ``hardware-type``,
        ``local-state``, ``lease-limit``, ...): refused — pass a number;
      - every other name: UTF-8 text (``surrogateescape``, the inverse of decode_string).

    Args:
        name: the attribute name.
        value: the value.
        object_type: the object type (``"lease"``, ``"host"``, ...) if known; it selects the
            per-type rules (host ``ip-address`` lists, 1-byte lease ``flags``).

    Returns:
        The value bytes for the name/value list.

    Raises:
        LocalProtocolError: a value we refuse to send (wrong kind of str, out of range,
            IPv6, naive datetime, empty integer).
        TypeError: a value of an unsupported type.
    """
    kind = attribute_kind(name, object_type)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        if not data and kind.is_integer:
            raise LocalProtocolError(
                f"refusing an empty value for integer attribute {name!r}: a zero-length value "
                "is a null, which crashes dhcpd 4.4.3 for several attributes"
            )
        return data
    if isinstance(value, str):
        return _encode_str(name, value, kind)
    if isinstance(value, int):  # bool, IntEnum and IntFlag included
        if kind is ValueKind.LEASE_FLAGS and 0 <= value <= 0xFF:
            return bytes((int(value),))
        return encode_int32(int(value))
    if isinstance(value, IPv4Address):
        return value.packed
    if isinstance(value, IPv6Address):
        raise LocalProtocolError(f"{name}: {value} is IPv6; OMAPI objects are IPv4 only")
    if isinstance(value, MacAddress):
        return value.packed
    if isinstance(value, datetime | TimeSentinel):
        return encode_time(value)
    raise TypeError(f"cannot encode a {type(value).__name__} for attribute {name!r}")


#: Attribute name → value; ``None`` sends a null value (which unsets the attribute).
Lookup: TypeAlias = Mapping[str, "ValueLike | None"]


def encode_values(values: Lookup | None, object_type: str | None) -> Values:
    """Encode name → value pairs the way dhcpd expects them (see :func:`encode_value`).

    ``None`` is sent as a null value (which unsets an attribute).

    Raises:
        LocalProtocolError: a name that is not a non-empty string, or a value
            :func:`encode_value` refuses.
        TypeError: a value of an unsupported type.
    """
    if values is None:
        return ()
    out: list[tuple[str, bytes]] = []
    for name, value in values.items():
        if not isinstance(name, str) or not name:
            raise LocalProtocolError(f"attribute names must be non-empty strings, got {name!r}")
        out.append((name, b"" if value is None else encode_value(name, value, object_type)))
    return tuple(out)
