"""Encoding what names an object, and what is set on one, for the typed managers.

Each function takes what a caller passes (text, addresses, :class:`~aiomapi.MacAddress`,
ints) and returns the wire bytes, checking every value before anything is sent, with a
message that names the argument. They are pure. :func:`lease_keys` and :func:`host_keys` build
a lookup's keys in one step; the managers send them as they are, without encoding them again.

Checks here are the ones the sans-IO core's safety check does not make, or makes with a less
helpful message for a caller of the typed API: an empty string is refused for every name and
identifier (a zero-length value is a null), a handle or hardware type out of range is
refused, and a MAC must parse.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address
from typing import Final, TypeAlias, TypedDict

from aiomapi.errors import LocalProtocolError, MultipleMatches
from aiomapi.facts import HTYPE_ETHER
from aiomapi.typed.attributes import encode_value
from aiomapi.typed.coders import encode_int32, encode_ip
from aiomapi.typed.mac import MacAddress

__all__ = [
    "ETHERNET",
    "HostLookup",
    "IPLike",
    "IdentifierLike",
    "Keys",
    "LeaseLookup",
    "MacLike",
    "handle_value",
    "hardware_type_value",
    "host_keys",
    "identifier_value",
    "ip_list_value",
    "lease_keys",
    "mac_value",
    "several_matches",
    "text_value",
]

#: An IPv4 address, as an object or dotted text.
IPLike: TypeAlias = IPv4Address | str
#: A hardware address: :class:`~aiomapi.MacAddress`, text in any spelling it accepts, or octets.
MacLike: TypeAlias = MacAddress | str | bytes
#: A client identifier or hash string: raw bytes, or text (colon-hex ``01:aa:bb`` is parsed).
IdentifierLike: TypeAlias = bytes | str
#: Lookup keys, already encoded for the wire.
Keys: TypeAlias = dict[str, bytes]

#: The ARP hardware type sent with a MAC unless another is given (HTYPE_ETHER).
ETHERNET: Final = HTYPE_ETHER


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


# ----------------------------------------------------------------- single values


def text_value(what: str, value: str) -> bytes:
    """A non-empty string value: an empty one would be a null, which some setters crash on."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not value:
        raise LocalProtocolError(f"{what} must not be empty (a zero-length value is a null)")
    return value.encode("utf-8", "surrogateescape")


def mac_value(value: MacLike) -> bytes:
    """The octets of a hardware address in any spelling :class:`MacAddress` takes."""
    try:
        return MacAddress(value).packed
    except ValueError as exc:
        raise LocalProtocolError(f"hardware address: {exc}") from None


def identifier_value(what: str, value: IdentifierLike) -> bytes:
    """A client identifier or hash string: bytes as they are, colon-hex parsed, else text."""
    raw = encode_value("dhcp-client-identifier", value)
    if not raw:
        raise LocalProtocolError(f"{what} must not be empty (a zero-length value is a null)")
    return raw


def hardware_type_value(value: int) -> bytes:
    """A hardware type: dhcpd wants an int32 whose first three bytes are zero
    (docs/dhcpd-behaviour.md, "Objects")."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise LocalProtocolError(f"hardware type must be 0..255, got {value!r}")
    return encode_int32(value)


def handle_value(value: int) -> bytes:
    """An object handle as a lookup key."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 0xFFFFFFFF:
        raise LocalProtocolError(f"not an object handle: {value!r}")
    return encode_int32(value)


def ip_list_value(value: IPLike | Sequence[IPLike]) -> bytes:
    """Host fixed addresses: one address, or a sequence (empty = none), 4 bytes each."""
    if isinstance(value, IPv4Address | str):
        return encode_value("ip-address", value, "host")
    return b"".join(encode_ip(ip) for ip in value)


# ----------------------------------------------------------------- lookup keys


def lease_keys(
    *,
    ip: IPLike | None = None,
    mac: MacLike | None = None,
    client_id: IdentifierLike | None = None,
    handle: int | None = None,
    hardware_type: int = ETHERNET,
) -> Keys:
    """Encoded lookup keys for a lease (docs/dhcpd-behaviour.md, "Objects"). Pure; checks
    every value.

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
        keys["handle"] = handle_value(handle)
    if ip is not None:
        keys["ip-address"] = encode_ip(ip)
    if client_id is not None:
        keys["dhcp-client-identifier"] = identifier_value("client_id", client_id)
    if mac is not None:
        keys["hardware-address"] = mac_value(mac)
        keys["hardware-type"] = hardware_type_value(hardware_type)
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
    """Encoded lookup keys for a host (docs/dhcpd-behaviour.md, "Objects"). Pure; checks
    every value.

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
        keys["handle"] = handle_value(handle)
    if client_id is not None:
        keys["dhcp-client-identifier"] = identifier_value("client_id", client_id)
    if mac is not None:
        keys["hardware-address"] = mac_value(mac)
        keys["hardware-type"] = hardware_type_value(hardware_type)
    if ip is not None:
        keys["ip-address"] = encode_ip(ip)
    if name is not None:
        keys["name"] = text_value("name", name)
    if not keys:
        raise TypeError("give at least one of name, mac, client_id, ip or handle")
    return keys


def several_matches(
    what: str, keys: Iterable[tuple[str, bytes]], exc: MultipleMatches
) -> MultipleMatches:
    """``exc`` again, saying which keys matched several ``what`` and how to look up instead."""
    shown = ", ".join(f"{k}={_show(v)}" for k, v in keys if k != "hardware-type")
    prefix = f"{exc.text}: " if exc.text else ""
    text = f"{prefix}several {what} match {shown}; look up by ip or handle instead"
    return MultipleMatches(exc.code, text)


def _show(value: bytes) -> str:
    return value.hex(":") if value else "''"
