"""Wire coders for single OMAPI values: int32, IPv4 addresses and address lists, strings.

Decoders raise :class:`ValueError` on malformed input (the typed objects turn it into a
:class:`~aiomapi.errors.RemoteProtocolError` naming the attribute); encoders raise
:class:`~aiomapi.errors.LocalProtocolError` (also a :class:`ValueError`) for a value that must
not be sent. Which attribute takes which coder is :mod:`aiomapi.typed.attributes`' table.
The int32 coders are dhcpd's integer format, so they live with its other facts
(:mod:`aiomapi.facts`) and are re-exported here.
"""

from __future__ import annotations

import socket
from ipaddress import AddressValueError, IPv4Address, IPv6Address

from aiomapi.errors import LocalProtocolError
from aiomapi.facts import decode_int32, encode_int32

__all__ = [
    "decode_int32",
    "decode_ip",
    "decode_ip_list",
    "decode_string",
    "encode_int32",
    "encode_ip",
    "encode_string",
]


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
            IPv4 only; docs/dhcpd-behaviour.md, "Objects").
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


def decode_ip_list(raw: bytes) -> tuple[IPv4Address, ...]:
    """Decode a list of IPv4 addresses, 4 bytes each (host ``ip-address``).

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
