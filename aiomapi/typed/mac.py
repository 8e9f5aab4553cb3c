"""Hardware (MAC) addresses: :class:`MacAddress`, its spellings, and its wire decoder.

On the wire a hardware address is its raw octets, without the hardware-type byte dhcpd keeps
in front of it internally (docs/dhcpd-behaviour.md, "Objects"); the type travels separately
as ``hardware-type``. A :class:`MacAddress` is a value: hashable, immutable, ordered by its
octets, and never equal to a ``str`` (whose spelling would decide the answer).
"""

from __future__ import annotations

import re
from typing import Final

from aiomapi.facts import MAX_HARDWARE_ADDRESS_LEN  # dhcpd 4.4.3 takes 20 octets, not 16

__all__ = ["MAX_HARDWARE_ADDRESS_LEN", "MacAddress", "decode_mac"]

HEX_PAIR: Final = r"[0-9a-fA-F]{1,2}"
# Colon or dash separated octets; the separators may be mixed ("AA-BB-cc:dd:ee:ff").
_MAC_SEPARATED = re.compile(rf"{HEX_PAIR}(?:[:-]{HEX_PAIR}){{0,{MAX_HARDWARE_ADDRESS_LEN - 1}}}")
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
