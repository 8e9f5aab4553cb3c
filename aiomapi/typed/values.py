"""Typed values for OMAPI attributes.

Theory of operation
-------------------
On the wire every OMAPI value is an untyped byte string (reference §1.3). dhcpd decides how to
read a value from the attribute's *name*: integers must be exactly 4 big-endian bytes (lease
``flags`` also accepts 1 byte), IP addresses are 4 raw bytes, MAC addresses are the raw octets
without the hardware-type byte, strings are raw bytes without a NUL. A client cannot tell the
types apart by looking at the bytes, so the knowledge "which attribute has which type" lives in
one table here, :data:`ATTRIBUTE_KINDS`, and both the generic encoder (:func:`encode_value`) and
the typed object layer read it.

The module has three layers:

* value types: :class:`MacAddress` (a hashable value that never compares equal to a string),
  lease times (:data:`LeaseTime`: an aware UTC :class:`~datetime.datetime` or one of the
  sentinels :data:`NEVER` and :data:`UNSET`), and IntEnums for the numbers dhcpd sends
  (:class:`LeaseState`, :class:`LeaseFlags`, :class:`FailoverState`, :class:`ControlState`,
  :class:`FailoverHierarchy`);
* wire coders for single values (``encode_int32``/``decode_int32`` and friends). Decoders
  raise :class:`ValueError` on malformed input; encoders raise
  :class:`~aiomapi.errors.LocalProtocolError` (also a :class:`ValueError`) for values we refuse
  to send;
* :func:`encode_value`, the generic "Python value → wire bytes" rule set used by the low-level
  ``omapi.open(object_type, lookup)`` API.

Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

import enum
import re
import socket
from datetime import UTC, datetime
from ipaddress import AddressValueError, IPv4Address, IPv6Address
from typing import Final, Self, TypeAlias

from aiomapi.errors import LocalProtocolError

__all__ = [
    "ATTRIBUTE_KINDS",
    "MAX_HARDWARE_ADDRESS_LEN",
    "MAX_TIME",
    "NEVER",
    "SETTABLE_LEASE_FLAGS",
    "UNSET",
    "ControlState",
    "FailoverHierarchy",
    "FailoverState",
    "LeaseFlags",
    "LeaseState",
    "LeaseTime",
    "MacAddress",
    "TimeSentinel",
    "ValueKind",
    "ValueLike",
    "attribute_kind",
    "decode_int32",
    "decode_ip",
    "decode_ip_list",
    "decode_mac",
    "decode_string",
    "decode_time",
    "encode_int32",
    "encode_ip",
    "encode_string",
    "encode_time",
    "encode_value",
    "time_to_seconds",
]

# ----------------------------------------------------------------- MAC addresses

#: Longest hardware address dhcpd handles: HARDWARE_ADDR_LEN (includes/dhcpd.h, 20 in 4.4.3).
#: host_set_value() accepts up to ``sizeof hbuf - 1`` = 20 octets over OMAPI and dhcpd writes
#: them to the lease file (a 17-octet host was seen in a dhcpd-written file), so a decoder must
#: take them; reference §5.2 says 16, which is not the limit in the source.
MAX_HARDWARE_ADDRESS_LEN: Final = 20

_HEX_PAIR = r"[0-9a-fA-F]{1,2}"
# Colon or dash separated octets; the separators may be mixed ("AA-BB-cc:dd:ee:ff").
_MAC_SEPARATED = re.compile(rf"{_HEX_PAIR}(?:[:-]{_HEX_PAIR}){{0,{MAX_HARDWARE_ADDRESS_LEN - 1}}}")
_MAC_SPLIT = re.compile(r"[:-]")
_MAC_CISCO = re.compile(r"[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}")
_MAC_BARE = re.compile(r"[0-9a-fA-F]{12}")


class MacAddress:
    """A hardware (MAC) address: 1 to 20 octets, immutable and hashable.

    Accepted spellings of a ``str``, case-insensitive, surrounding blanks ignored:

    * octets separated by ``:`` or ``-`` (1-20 octets, each one or two hex digits, so
      ``a:b:c:d:e:f`` works);
    * Cisco dotted form ``aabb.ccdd.eeff``;
    * 12 bare hex digits ``aabbccddeeff``.

    ``bytes``/``bytearray``/``memoryview`` (1-20 bytes) give the octets directly, and another
    :class:`MacAddress` is copied.

    Equality and hashing use the octets. A MAC never equals a ``str`` or ``bytes``:
    ``mac == "AA:BB:..."`` would silently depend on spelling (the pypureomapi pitfall), so
    compare ``mac == MacAddress(text)`` instead. ``str()`` gives the lower-case colon form.

    Raises:
        ValueError: the text is not a MAC address, or the length is not 1-20 octets.
        TypeError: the argument is of another type.
    """

    __slots__ = ("_packed",)
    _packed: bytes

    def __init__(self, value: str | bytes | bytearray | memoryview | MacAddress) -> None:
        if isinstance(value, MacAddress):
            packed = value._packed
        elif isinstance(value, str):
            packed = _parse_mac(value)
        elif isinstance(value, bytes | bytearray | memoryview):
            packed = bytes(value)
            if not 1 <= len(packed) <= MAX_HARDWARE_ADDRESS_LEN:
                raise ValueError(
                    f"a MAC address has 1 to {MAX_HARDWARE_ADDRESS_LEN} octets, got {len(packed)}"
                )
        else:
            raise TypeError(f"cannot make a MacAddress from {type(value).__name__}")
        object.__setattr__(self, "_packed", packed)

    @property
    def packed(self) -> bytes:
        """The octets, as sent on the wire."""
        return self._packed

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"MacAddress is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"MacAddress is immutable (cannot delete {name!r})")

    def __reduce__(self) -> tuple[type[MacAddress], tuple[bytes]]:
        return (MacAddress, (self._packed,))

    def __str__(self) -> str:
        return ":".join(f"{b:02x}" for b in self._packed)

    def __repr__(self) -> str:
        return f"MacAddress({str(self)!r})"

    def __bytes__(self) -> bytes:
        return self._packed

    def __len__(self) -> int:
        return len(self._packed)

    def __hash__(self) -> int:
        return hash((MacAddress, self._packed))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MacAddress):
            return self._packed == other._packed
        return NotImplemented

    def __lt__(self, other: object) -> bool:
        if isinstance(other, MacAddress):
            return self._packed < other._packed
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, MacAddress):
            return self._packed <= other._packed
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, MacAddress):
            return self._packed > other._packed
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, MacAddress):
            return self._packed >= other._packed
        return NotImplemented


def _parse_mac(text: str) -> bytes:
    s = text.strip()
    if _MAC_SEPARATED.fullmatch(s):
        return bytes(int(part, 16) for part in _MAC_SPLIT.split(s))
    if _MAC_CISCO.fullmatch(s):
        return bytes.fromhex(s.replace(".", ""))
    if _MAC_BARE.fullmatch(s):
        return bytes.fromhex(s)
    raise ValueError(
        f"invalid MAC address {text!r}: expected 1-{MAX_HARDWARE_ADDRESS_LEN} hex octets "
        "separated by ':' or '-', Cisco 'aabb.ccdd.eeff', or 12 bare hex digits"
    )


# ----------------------------------------------------------------- lease times

#: dhcpd's MAX_TIME (includes/dhcpd.h): the time that means "never".
MAX_TIME: Final = 0x7FFFFFFF


class TimeSentinel(enum.Enum):
    """The two lease times that are not points in time."""

    #: The time is "never" (dhcpd's MAX_TIME, 0x7fffffff; ``never`` in the lease file).
    NEVER = "never"
    #: The time is not set (0 on the wire; the line is absent from the lease file).
    UNSET = "unset"


NEVER: Final = TimeSentinel.NEVER
UNSET: Final = TimeSentinel.UNSET

#: A lease time: an aware UTC datetime, :data:`NEVER` or :data:`UNSET`.
LeaseTime: TypeAlias = datetime | TimeSentinel


def decode_time(raw: bytes) -> LeaseTime:
    """Decode a lease time: int32 seconds since the epoch (reference §5.1).

    Args:
        raw: exactly 4 bytes.

    Returns:
        :data:`UNSET` for 0, :data:`NEVER` for 0x7fffffff, else an aware UTC datetime.

    Raises:
        ValueError: ``raw`` is not 4 bytes long.
    """
    seconds = decode_int32(raw)
    if seconds == 0:
        return UNSET
    if seconds == MAX_TIME:
        return NEVER
    cached = _TIMES.get(seconds)
    if cached is None:
        if len(_TIMES) >= _TIMES_CACHED:
            _TIMES.clear()
        cached = _TIMES[seconds] = datetime.fromtimestamp(seconds, UTC)
    return cached


# Lease replies repeat the same few timestamps (ends = tstp, starts = cltt, …): a small
# cache of immutable datetimes saves most of fromtimestamp's cost on the lookup hot path.
_TIMES: dict[int, datetime] = {}
_TIMES_CACHED = 4096


def time_to_seconds(t: LeaseTime | int) -> int:
    """The wire number for a lease time (the inverse of :func:`decode_time`).

    Raises:
        LocalProtocolError: a naive datetime, or a time dhcpd cannot represent: before
            1970-01-01 00:00:01 UTC (0 would read back as unset) or at/after 2038-01-19
            03:14:07 UTC (0x7fffffff means never; dhcpd's times are 31-bit). An ``int`` must
            be in 0..0x7fffffff.
    """
    if t is NEVER:
        return MAX_TIME
    if t is UNSET:
        return 0
    if isinstance(t, datetime):
        if t.tzinfo is None or t.utcoffset() is None:
            raise LocalProtocolError(
                f"lease time {t!r} is naive; use an aware datetime, e.g. tzinfo=datetime.UTC"
            )
        seconds = int(t.timestamp() // 1)
        if not 0 < seconds < MAX_TIME:
            raise LocalProtocolError(
                f"lease time {t.isoformat()} is outside what dhcpd can store "
                "(after 1970-01-01T00:00:00Z, before 2038-01-19T03:14:07Z); use NEVER or UNSET"
            )
        return seconds
    if isinstance(t, int) and not isinstance(t, bool):
        if not 0 <= t <= MAX_TIME:
            raise LocalProtocolError(f"lease time {t} is outside 0..{MAX_TIME:#x}")
        return t
    raise TypeError(f"a lease time is a datetime, NEVER, UNSET or int, not {type(t).__name__}")


def encode_time(t: LeaseTime | int) -> bytes:
    """Encode a lease time as int32 seconds since the epoch.

    Args:
        t: an aware datetime, :data:`NEVER` (→ 0x7fffffff), :data:`UNSET` (→ 0), or the raw
            number of seconds (0..0x7fffffff).

    Raises:
        LocalProtocolError: see :func:`time_to_seconds`.
    """
    return time_to_seconds(t).to_bytes(4, "big")


# ----------------------------------------------------------------- enums


class _DhcpdEnum(enum.IntEnum):
    """An IntEnum whose member names are dhcpd's, upper-cased with ``-`` → ``_``."""

    @property
    def dhcpd_name(self) -> str:
        """The name as dhcpd logs it and writes it to the lease file."""
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_name(cls, name: str) -> Self:
        """The member for dhcpd's spelling (``"partner-down"``); case-insensitive.

        Raises:
            ValueError: no member has that name.
        """
        try:
            return cls[name.strip().upper().replace("-", "_")]
        except KeyError:
            known = ", ".join(m.dhcpd_name for m in cls)
            raise ValueError(f"unknown {cls.__name__} {name!r}; expected one of {known}") from None

    @classmethod
    def decode(cls, value: int) -> Self | int:
        """The member for ``value``, or the plain int if dhcpd sent a number we do not know."""
        try:
            return cls(value)
        except ValueError:
            return value


class LeaseState(_DhcpdEnum):
    """Lease binding states (``binding_state_t``; reference §7)."""

    FREE = 1
    ACTIVE = 2
    EXPIRED = 3
    RELEASED = 4
    ABANDONED = 5
    RESET = 6
    BACKUP = 7


class LeaseFlags(enum.IntFlag):
    """The lease ``flags`` bits dhcpd sends and accepts (reference §5.1, §7).

    The internal bits STATIC_LEASE (1), ON_UPDATE_QUEUE (16), ON_ACK_QUEUE (32) and
    ON_DEFERRED_QUEUE (128) are masked out by dhcpd and never appear.
    """

    BOOTP_LEASE = 2
    RESERVED_LEASE = 4
    MS_NULL_TERMINATION = 8
    UNICAST_BROADCAST_HACK = 64

    @property
    def dhcpd_name(self) -> str:
        """dhcpd's C macro name in lower case with ``-``; combined flags joined by ``|``."""
        return "|".join(m.name.lower().replace("_", "-") for m in self if m.name)


#: The flags a client may change with an UPDATE (reference §5.1): all four.
SETTABLE_LEASE_FLAGS: Final = (
    LeaseFlags.BOOTP_LEASE
    | LeaseFlags.RESERVED_LEASE
    | LeaseFlags.MS_NULL_TERMINATION
    | LeaseFlags.UNICAST_BROADCAST_HACK
)


class FailoverState(_DhcpdEnum):
    """Failover states (``enum failover_state``, includes/failover.h; reference §6.1).

    Only these values are safe to set as ``local-state``: anything else kills dhcpd 4.4.3
    (reference §6.2).
    """

    UNKNOWN_STATE = 0
    STARTUP = 1
    NORMAL = 2
    COMMUNICATIONS_INTERRUPTED = 3
    PARTNER_DOWN = 4
    POTENTIAL_CONFLICT = 5
    RECOVER = 6
    PAUSED = 7
    SHUTDOWN = 8
    RECOVER_DONE = 9
    RESOLUTION_INTERRUPTED = 10
    CONFLICT_DONE = 11
    RECOVER_WAIT = 254


class ControlState(_DhcpdEnum):
    """The ``control`` object's ``state`` (reference §5.4).

    Quirks of dhcpd 4.4.3: the state reads 0 (STARTUP) while the server is running, because
    dhcpd's own validator rejects its attempt to set RUNNING; after a shutdown request it reads
    4, a bug that reads the value's length instead of the value. Use :meth:`decode`, which keeps
    such numbers as plain ints. Only SHUTDOWN (2) may be set; anything else is INVALIDARG.
    """

    STARTUP = 0
    RUNNING = 1
    SHUTDOWN = 2


class FailoverHierarchy(_DhcpdEnum):
    """The failover-state ``hierarchy`` attribute (reference §6.2)."""

    PRIMARY = 0
    SECONDARY = 1


# ----------------------------------------------------------------- wire coders


def encode_int32(n: int) -> bytes:
    """Encode an unsigned 32-bit big-endian integer.

    Raises:
        LocalProtocolError: ``n`` is outside 0..2**32-1.
    """
    if not isinstance(n, int):
        raise TypeError(f"expected an int, got {type(n).__name__}")
    if not 0 <= n <= 0xFFFFFFFF:
        raise LocalProtocolError(f"{n} does not fit an unsigned 32-bit integer")
    return int(n).to_bytes(4, "big")


def decode_int32(raw: bytes) -> int:
    """Decode an unsigned 32-bit big-endian integer.

    Raises:
        ValueError: ``raw`` is not exactly 4 bytes.
    """
    if len(raw) != 4:
        raise ValueError(f"an int32 value is 4 bytes, got {len(raw)}")
    return int.from_bytes(raw, "big")


def _parse_ipv4(text: str) -> IPv4Address:
    s = text.strip()
    try:
        return IPv4Address(s)
    except AddressValueError:
        pass
    try:
        IPv6Address(s)
    except AddressValueError:
        raise LocalProtocolError(f"{text!r} is not an IPv4 address") from None
    raise LocalProtocolError(f"{text!r} is an IPv6 address; OMAPI objects are IPv4 only")


def encode_ip(addr: IPv4Address | str) -> bytes:
    """Encode an IPv4 address as its 4 bytes.

    Raises:
        LocalProtocolError: not an IPv4 address (IPv6 included: dhcpd's OMAPI objects are
            IPv4 only, reference §1.3).
    """
    if isinstance(addr, IPv4Address):
        return addr.packed
    if isinstance(addr, IPv6Address):
        raise LocalProtocolError(f"{addr} is an IPv6 address; OMAPI objects are IPv4 only")
    if isinstance(addr, str):
        try:
            return socket.inet_pton(socket.AF_INET, addr)  # 10x faster than IPv4Address()
        except OSError:
            return _parse_ipv4(addr).packed  # accepts what it accepts, and says why not
    raise TypeError(f"expected an IPv4Address or str, got {type(addr).__name__}")


def decode_ip(raw: bytes) -> IPv4Address:
    """Decode a 4-byte IPv4 address.

    Raises:
        ValueError: ``raw`` is not exactly 4 bytes.
    """
    if len(raw) != 4:
        raise ValueError(f"an IPv4 address is 4 bytes, got {len(raw)}")
    return IPv4Address(bytes(raw))


def decode_mac(raw: bytes) -> MacAddress:
    """Decode a hardware address value: :class:`MacAddress` of the octets, checked as
    ``MacAddress(raw)`` checks them, without its type dispatch (lease replies carry one).

    Raises:
        ValueError: ``raw`` is not 1 to 20 octets.
    """
    if not 1 <= len(raw) <= MAX_HARDWARE_ADDRESS_LEN:
        raise ValueError(
            f"a MAC address has 1 to {MAX_HARDWARE_ADDRESS_LEN} octets, got {len(raw)}"
        )
    mac = object.__new__(MacAddress)
    object.__setattr__(mac, "_packed", bytes(raw))
    return mac


def decode_ip_list(raw: bytes) -> tuple[IPv4Address, ...]:
    """Decode a list of IPv4 addresses, 4 bytes each (host ``ip-address``, reference §5.2).

    Raises:
        ValueError: the length is not a multiple of 4.
    """
    if len(raw) % 4:
        raise ValueError(f"an IPv4 address list is 4*n bytes, got {len(raw)}")
    data = bytes(raw)
    return tuple(IPv4Address(data[i : i + 4]) for i in range(0, len(data), 4))


def decode_string(raw: bytes) -> str:
    """Decode a string value.

    OMAPI strings are raw bytes with no declared encoding. They are decoded as UTF-8 with
    ``errors="surrogateescape"``: valid UTF-8 reads naturally, and any other byte becomes a
    lone surrogate, so :func:`encode_string` gives back exactly the bytes received.
    """
    return bytes(raw).decode("utf-8", "surrogateescape")


def encode_string(text: str) -> bytes:
    """Encode a string value: UTF-8, ``surrogateescape`` (the inverse of decode_string)."""
    return text.encode("utf-8", "surrogateescape")


# ----------------------------------------------------------------- attribute table


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

#: Attribute name → wire kind, the one place this knowledge lives (reference §5, §6.2).
#: Keys are ``(object_type, name)``; ``object_type`` ``None`` is the default for any type,
#: and a key with a type overrides it (``("interface", "state")`` is text, while ``state``
#: is an int elsewhere). Names not listed are text.
ATTRIBUTE_KINDS: Final[dict[tuple[str | None, str], ValueKind]] = {
    # message values (reference §1.3, §2)
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
    # lease (§5.1)
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
    # host (§5.2) and group (§5.3)
    ("host", "ip-address"): _K.IP_LIST,
    ("host", "group"): _K.STRING,
    (None, "statements"): _K.STRING,
    (None, "known"): _K.INT32,
    # class, subclass (§5.5); pool (§5.7)
    (None, "lease-limit"): _K.INT32,
    (None, "leases-used"): _K.INT32,
    (None, "hashstring"): _K.IDENTIFIER,
    ("class", "group"): _K.STRING,
    (None, "match"): _K.STRING,
    (None, "lease-count"): _K.INT32,
    (None, "free-leases"): _K.INT32,
    (None, "backup-leases"): _K.INT32,
    # interface (§5.8)
    ("interface", "state"): _K.STRING,
    # authenticator (§5.9)
    (None, "algorithm"): _K.STRING,
    # failover-state (§6.2): every integer is int32
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
    # lease binding variable dhcpd sets itself (§5.1)
    (None, "remote-handle"): _K.INT32,
}


def attribute_kind(name: str, object_type: str | None = None) -> ValueKind:
    """The wire kind of attribute ``name`` of ``object_type`` (text if unknown)."""
    if object_type is not None:
        kind = ATTRIBUTE_KINDS.get((object_type, name))
        if kind is not None:
            return kind
    return ATTRIBUTE_KINDS.get((None, name), ValueKind.STRING)


# ----------------------------------------------------------------- generic encoding

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

_COLON_HEX = re.compile(rf"{_HEX_PAIR}(?::{_HEX_PAIR})+")
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
      (reference §5.1, §9.6).
    * ``bool``, ``int``, IntEnum and IntFlag members: int32 (0..2**32-1). Lease ``flags``
      (``object_type == "lease"``) is sent as 1 byte when it fits, as dhcpd sends it
      (reference §5.1), else as int32.
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
                "is a null, which crashes dhcpd 4.4.3 for several attributes (reference §9.6)"
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
