"""The words of dhcpd's files: tokens, quoted strings, numbers, addresses and dates.

Theory of operation
-------------------
dhcpd reads ``dhcpd.conf`` and ``dhcpd.leases`` with one lexer (common/conflex.c), and so do
:mod:`aiomapi.leasefile` and :mod:`aiomapi.config`: this module is the part they share. It is
internal to aiomapi; the public names are those the two packages export.

**Tokens.** One regular expression, :data:`TOKEN_RE`, splits the text the way dhcpd's lexer does
for these files: quoted strings (with dhcpd's escapes ``\\t \\r \\n \\b \\ooo \\xhh``), the
punctuation ``{ } ; = ,``, ``#`` comments to the end of the line, and "atoms" — every other run
of non-blank characters. Where dhcpd's lexer would split an atom further (``10.0.0.1`` is seven
tokens to dhcpd, one atom here), the statement parsers split it again. A lone ``"`` token means
a string that is never closed. The regular expression finds tokens without their offsets; a
parser that needs offsets (for an error's line, or to keep text verbatim) runs
:func:`token_starts` over the same text, which the lease parser only does when it must: that is
what keeps a 50,000-lease file at about a second.

**Values.** :func:`ipv4`, :func:`data` and :func:`hardware` read the value of a statement from
its words and return ``None`` or an error message instead of raising, so that each parser wraps
the failure in its own exception with its own location.

**Dates** (lease files only): ``W YYYY/MM/DD HH:MM:SS`` (UTC, weekday ignored, an optional
trailing offset in seconds), ``epoch N`` (the ``db-time-format local`` form) or ``never``. As in
dhcpd's ``parse_date_core``, any date in year 2038 or later reads as ``never``. 0 reads as
unset.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from ipaddress import IPv4Address
from typing import Final

from aiomapi.typed.values import (
    MAX_TIME,
    NEVER,
    UNSET,
    LeaseTime,
    MacAddress,
    encode_string,
    time_to_seconds,
)

__all__ = [
    "COLON_HEX_RE",
    "HARDWARE_TYPES_BY_NAME",
    "HARDWARE_TYPE_NAMES",
    "IPV4_RE",
    "NAME_RE",
    "TOKEN_RE",
    "colon_hex",
    "data",
    "format_time",
    "hardware",
    "ipv4",
    "is_number",
    "name_or_quoted",
    "parse_date",
    "printable",
    "quote",
    "quote_text",
    "seconds_to_time",
    "token_starts",
    "unquote",
]

#: Hardware type number → the name dhcpd writes (``hardware_types[]`` in common/tables.c);
#: other numbers are written ``unknown-N``.
HARDWARE_TYPE_NAMES: Final[dict[int, str]] = {
    1: "ethernet",
    6: "token-ring",
    8: "fddi",
    32: "infiniband",
}
HARDWARE_TYPES_BY_NAME: Final = {v: k for k, v in HARDWARE_TYPE_NAMES.items()}

# ----------------------------------------------------------------- tokens

#: string | punctuation | comment | atom | a lone quote (an unterminated string)
TOKEN_RE: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[{};=,]|#[^\n]*|[^\s"#{};=,]+|"', re.DOTALL)
# dhcpd's escapes (conflex.c read_string): \t \r \n \b, \ooo octal (first digit 0-3), \xhh;
# any other escaped character stands for itself.
_ESCAPE_RE: Final = re.compile(rb"\\(?:([0-3][0-7]{0,2})|x([0-9a-fA-F]{1,2})|(.))", re.DOTALL)
_SIMPLE_ESCAPES: Final = {b"t": b"\t", b"r": b"\r", b"n": b"\n", b"b": b"\b"}
COLON_HEX_RE: Final = re.compile(r"[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2})*")
#: a dotted name as parse_host_name() reads it, unquoted
NAME_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*)*\.?")
IPV4_RE: Final = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})", re.ASCII)
_NUMBER_RE: Final = re.compile(r"[0-9]+")


def token_starts(text: str, *, skip_comments: bool = True) -> list[int]:
    """The offset of every token :data:`TOKEN_RE` finds in ``text``, comments left out."""
    matches = TOKEN_RE.finditer(text)
    if skip_comments and "#" in text:
        return [m.start() for m in matches if text[m.start()] != "#"]
    return [m.start() for m in matches]


def is_number(word: str) -> bool:
    """Whether ``word`` is a run of decimal digits."""
    return _NUMBER_RE.fullmatch(word) is not None


def _escape_repl(m: re.Match[bytes]) -> bytes:
    octal, hexa, other = m.groups()
    if octal is not None:
        return bytes((int(octal, 8),))
    if hexa is not None:
        return bytes((int(hexa, 16),))
    return _SIMPLE_ESCAPES.get(other, other)


def unquote(token: str) -> bytes:
    """The bytes of a quoted string token (quotes included)."""
    raw = encode_string(token[1:-1])
    if b"\\" not in raw:
        return raw
    return _ESCAPE_RE.sub(_escape_repl, raw)


def _quotify_piece(b: int) -> str:
    if b == 0x22 or b == 0x5C:  # " and \
        return "\\" + chr(b)
    if 0x20 <= b < 0x7F:
        return chr(b)
    return f"\\{b:03o}"


_QUOTIFY: Final = tuple(_quotify_piece(b) for b in range(256))


def quote(data: bytes) -> str:
    """A quoted string for ``data``, as dhcpd's quotify_buf() writes it."""
    return '"' + "".join([_QUOTIFY[b] for b in data]) + '"'


def quote_text(text: str) -> str:
    """:func:`quote` for text (lone surrogates stand for their original bytes)."""
    return quote(encode_string(text))


def colon_hex(data: bytes) -> str:
    """``data`` as colon-separated lower-case hex, ``01:ab``."""
    return ":".join(f"{b:02x}" for b in data)


def printable(data: bytes) -> bool:
    """Whether dhcpd would write ``data`` as a quoted string (db_printable_len(), server/db.c)."""
    return all(0x20 <= b < 0x7F and b != 0x22 and b != 0x5C for b in data)


def name_or_quoted(name: str) -> str:
    """``name`` bare when it is a dotted name, else quoted."""
    return name if NAME_RE.fullmatch(name) else quote_text(name)


# ----------------------------------------------------------------- values


def ipv4(word: str) -> IPv4Address | None:
    """The IPv4 address in ``word``, or ``None``.

    dhcpd reads each octet as a decimal number, so ``010.0.0.1`` is 10.0.0.1 (``ipaddress``
    refuses leading zeros).
    """
    try:
        return IPv4Address(word)
    except ValueError:
        m = IPV4_RE.fullmatch(word)
        if m is not None and all(int(g) <= 255 for g in m.groups()):
            return IPv4Address(bytes(int(g) for g in m.groups()))
    return None


def data(words: list[str]) -> bytes | None:
    """A quoted string, or colon-separated hex split over ``words``; ``None`` if neither."""
    if len(words) == 1 and words[0][0] == '"':
        return unquote(words[0])
    joined = "".join(words)
    if COLON_HEX_RE.fullmatch(joined):
        return bytes(int(p, 16) for p in joined.split(":"))
    return None


def hardware(words: list[str]) -> tuple[int, MacAddress | None] | str:
    """``hardware TYPE ADDRESS``: (type number, address), or an error message.

    ``words[0]`` is the keyword. The type is a name of :data:`HARDWARE_TYPE_NAMES` or
    ``unknown-N``; no address (``hardware ethernet;``) gives ``None``.
    """
    if len(words) < 2:
        return "hardware: expected a hardware type"
    type_name = words[1].lower()
    htype = HARDWARE_TYPES_BY_NAME.get(type_name)
    if htype is None:
        number = type_name.removeprefix("unknown-")
        if number == type_name or not is_number(number) or int(number) > 255:
            return f"hardware: unknown hardware type {words[1]!r}"
        htype = int(number)
    if len(words) == 2:  # "hardware ethernet ;": type, no address
        return htype, None
    try:
        return htype, MacAddress("".join(words[2:]))
    except ValueError as exc:
        return f"hardware: {exc}"


# ----------------------------------------------------------------- dates

_DATE_RE: Final = re.compile(
    r"(\d+)\s+(\d+)\s*/\s*(\d+)\s*/\s*(\d+)\s+(\d+)\s*:\s*(\d+)\s*:\s*(\d+)(?:\s+([+-]?\d+))?",
    re.ASCII,
)


@lru_cache(maxsize=4096)
def parse_date(text: str) -> LeaseTime | str:
    """Parse the words of a date joined by blanks; a str result is an error message."""
    m = _DATE_RE.fullmatch(text)
    if m is None:
        return f"bad date {text!r}: expected 'W YYYY/MM/DD HH:MM:SS', 'epoch N' or 'never'"
    _, y, mo, d, h, mi, s, tz = m.groups()
    year, month, day = int(y), int(mo), int(d)
    hour, minute, second = int(h), int(mi), int(s)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        return f"bad date {text!r}: a field is out of range"
    # parse_date_core(): years above 1900 are taken as they are, smaller ones as offsets
    # from 1900; anything from 2038 on is MAX_TIME ("never").
    if year > 1900:
        year -= 1900
    if year >= 138:
        return NEVER
    year += 1900
    days = datetime(year, month, 1).toordinal() - _EPOCH_ORDINAL + day - 1
    seconds = ((days * 24 + hour) * 60 + minute) * 60 + second + (int(tz) if tz else 0)
    return seconds_to_time(seconds, text)


_EPOCH_ORDINAL: Final = datetime(1970, 1, 1).toordinal()


def seconds_to_time(seconds: int, text: str) -> LeaseTime | str:
    """Seconds since the epoch as a lease time; a str result is an error message about
    ``text``."""
    if seconds == 0:
        return UNSET
    if seconds < 0:
        return f"date {text!r} is before 1970"
    if seconds >= MAX_TIME:
        return NEVER
    return datetime.fromtimestamp(seconds, UTC)


def format_time(t: LeaseTime) -> str:
    """A date as dhcpd's print_time() writes it (without the ';')."""
    if t is NEVER:
        return "never"
    seconds = time_to_seconds(t)
    d = datetime.fromtimestamp(seconds, UTC)
    if d.year >= 2038:
        # dhcpd reads any date in 2038 as "never"; the epoch form keeps the exact time.
        return f"epoch {seconds}"
    return (
        f"{d.isoweekday() % 7} {d.year}/{d.month:02d}/{d.day:02d} "
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}"
    )
