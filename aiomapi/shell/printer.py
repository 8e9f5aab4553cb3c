"""How omshell prints an attribute's value.

omshell keeps two kinds of values on its object:

* values the **server** sent: untyped bytes (docs/dhcpd-behaviour.md, "Wire format"). All
  bytes printable ASCII (0x20-0x7e) → in double quotes, cut off after :data:`MAX_STRING`
  characters; otherwise
  lower-case hex octets joined by ``:``, or an empty line when that would take more than
  :data:`MAX_HEX_OCTETS` octets (a 1,024-byte buffer holds 341 ``xx:`` triples);
* values **set locally** and not yet replaced by the server's: an int (``set x = 5``),
  printed in decimal as a signed 32-bit number; a string (``set x = "a"``), printed between
  quotes as it is, with no cut-off and no escaping; or bytes (``set x = 1:2``,
  ``set x = 10.0.0.1``), printed by the server rule.

A name whose value is null (``unset x``) prints ``<null>``. Every limit here was measured on
``/usr/bin/omshell`` (tests/unit/test_shell.py keeps the cases, tests/dhcpd compares it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Printable values longer than this are cut to this many characters.
MAX_STRING: Final = 1022
#: Non-printable values with more octets than this print as an empty line.
MAX_HEX_OCTETS: Final = 341


@dataclass(frozen=True, slots=True)
class LocalInt:
    """An int set with ``set NAME = 123``: sent as 4 bytes, printed in decimal."""

    value: int  # -2**31 .. 2**31-1

    def wire(self) -> bytes:
        return (self.value & 0xFFFFFFFF).to_bytes(4, "big")


@dataclass(frozen=True, slots=True)
class LocalString:
    """A string set with ``set NAME = "text"``: sent and printed as it is."""

    value: bytes

    def wire(self) -> bytes:
        return self.value


#: What a name on omshell's object can hold: bytes (from the server, or colon/dotted
#: numbers typed locally), a local int or string, or ``None`` (null).
Value = bytes | LocalInt | LocalString | None


def is_printable(data: bytes) -> bool:
    """Whether omshell prints ``data`` as a quoted string (every byte 0x20..0x7e)."""
    return all(0x20 <= b < 0x7F for b in data)


def format_bytes(data: bytes) -> str:
    """``data`` as omshell prints bytes: quoted if printable, else colon hex (see module doc)."""
    if is_printable(data):
        return '"' + data[:MAX_STRING].decode("ascii") + '"'
    if len(data) > MAX_HEX_OCTETS:
        return ""
    return data.hex(":")


def format_value(value: Value) -> str:
    """The text after ``NAME = `` for ``value``."""
    if value is None:
        return "<null>"
    if isinstance(value, LocalInt):
        return str(value.value)
    if isinstance(value, LocalString):
        return '"' + value.value.decode("latin-1") + '"'
    return format_bytes(value)


def wire_value(value: Value) -> bytes | None:
    """The bytes omshell sends for ``value`` (``None``: a null value)."""
    if value is None:
        return None
    if isinstance(value, (LocalInt, LocalString)):
        return value.wire()
    return value
