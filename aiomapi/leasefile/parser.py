"""Read and write dhcpd's lease file (``dhcpd.leases``) as ISC dhcpd 4.4 does.

Theory of operation
-------------------
The lease file is a log: dhcpd appends a declaration every time a lease, host, group, class or
failover state changes, and rewrites the whole file about once an hour (dhcpd.leases(5)). The
*last* declaration of a lease wins, and a declaration with ``deleted;`` (a "rubout") removes a
host, group or class. :func:`parse_leases` replays the log the same way into a
:class:`LeaseDatabase`, the seed of an in-memory dhcpd stand-in.

Parsing runs in two steps:

1. **Tokens.** One regular expression splits the text the way dhcpd's lexer (common/conflex.c)
   does for this file: quoted strings (with dhcpd's escapes ``\\t \\r \\n \\b \\ooo \\xhh``),
   the punctuation ``{ } ; = ,``, ``#`` comments to the end of the line, and "atoms" — every
   other run of non-blank characters. Where dhcpd's lexer would split an atom further (``10.0.0.1``
   is seven tokens to dhcpd, one atom here), the statement parser splits it again. Token start
   offsets are only computed when needed (for an error's line number, or to keep a statement's
   text verbatim), which keeps a 50,000-lease file at about a second.
2. **Declarations.** A block body is cut into statements at ``;`` (or at a balanced ``{...}``
   block), then each statement is read by its keyword, case-insensitively like dhcpd. The
   grammar is the one server/confpars.c accepts (``parse_lease_declaration``,
   ``parse_host_declaration``, ``parse_group_declaration``, ``parse_class_declaration``,
   ``parse_failover_state_declaration``) and server/db.c writes.

What is kept and what is interpreted:

* Statements we model become typed fields. Inside a lease, statements we do not model
  (``option agent.circuit-id ...``, ``on expiry { ... }``, anything unknown) are kept verbatim in
  :attr:`LeaseRecord.statements` and written back by :func:`format_lease`; dhcpd itself would
  drop a lease with an unknown statement, we keep it. In hosts, groups and classes, the
  dhcpd.conf statements (``option ...;``, ``if ... { }``) are kept verbatim as one text.
* Syntax errors (unbalanced braces, a missing ``;``, a bad date, address or number, an unknown
  top-level declaration) raise :class:`LeaseFileError` with the line number.
* Values are stored as they are written: an absent time is :data:`~aiomapi.values.UNSET` and an
  absent binding state is ``None``. dhcpd fills in defaults when it *loads* a lease (a missing
  ``binding state`` depends on the current time, a missing ``next``/``rewind`` state copies the
  binding state, a missing ``tstp`` copies ``ends``); that is left to the user of the database.

Dates: ``W YYYY/MM/DD HH:MM:SS`` (UTC, weekday ignored, an optional trailing offset in seconds),
``epoch N`` (the ``db-time-format local`` form) or ``never``. As in dhcpd's ``parse_date_core``,
any date in year 2038 or later reads as ``never``. 0 reads as unset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from ipaddress import IPv4Address
from os import PathLike
from pathlib import Path
from typing import Final, Literal, TypeAlias

from aiomapi.values import (
    MAX_TIME,
    NEVER,
    UNSET,
    FailoverState,
    LeaseFlags,
    LeaseState,
    LeaseTime,
    MacAddress,
    decode_string,
    encode_string,
    time_to_seconds,
)

__all__ = [
    "HARDWARE_TYPE_NAMES",
    "BindingValue",
    "ClassRecord",
    "FailoverPeerRecord",
    "GroupRecord",
    "HostRecord",
    "LeaseDatabase",
    "LeaseFileError",
    "LeaseRecord",
    "SubclassRecord",
    "format_class",
    "format_database",
    "format_failover_peer",
    "format_group",
    "format_host",
    "format_lease",
    "format_subclass",
    "load_leases",
    "parse_leases",
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


#: Hardware type number → the name dhcpd writes (``hardware_types[]`` in common/tables.c);
#: other numbers are written ``unknown-N``.
HARDWARE_TYPE_NAMES: Final[dict[int, str]] = {
    1: "ethernet",
    6: "token-ring",
    8: "fddi",
    32: "infiniband",
}
_HARDWARE_TYPES_BY_NAME: Final = {v: k for k, v in HARDWARE_TYPE_NAMES.items()}

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


# ----------------------------------------------------------------- lexical helpers

# string | punctuation | comment | atom | a lone quote (an unterminated string)
_TOKEN_RE: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[{};=,]|#[^\n]*|[^\s"#{};=,]+|"', re.DOTALL)
# dhcpd's escapes (conflex.c read_string): \t \r \n \b, \ooo octal (first digit 0-3), \xhh;
# any other escaped character stands for itself.
_ESCAPE_RE: Final = re.compile(rb"\\(?:([0-3][0-7]{0,2})|x([0-9a-fA-F]{1,2})|(.))", re.DOTALL)
_SIMPLE_ESCAPES: Final = {b"t": b"\t", b"r": b"\r", b"n": b"\n", b"b": b"\b"}
_COLON_HEX_RE: Final = re.compile(r"[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2})*")
# a dotted name as parse_host_name() reads it, unquoted
_NAME_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*)*\.?")
_VARIABLE_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_DATE_RE: Final = re.compile(
    r"(\d+)\s+(\d+)\s*/\s*(\d+)\s*/\s*(\d+)\s+(\d+)\s*:\s*(\d+)\s*:\s*(\d+)(?:\s+([+-]?\d+))?",
    re.ASCII,
)
_IPV4_RE: Final = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})", re.ASCII)
_NUMBER_RE: Final = re.compile(r"[0-9]+")
_SIGNED_NUMBER_RE: Final = re.compile(r"-?[0-9]+")


def _is_number(word: str) -> bool:
    return _NUMBER_RE.fullmatch(word) is not None


def _escape_repl(m: re.Match[bytes]) -> bytes:
    octal, hexa, other = m.groups()
    if octal is not None:
        return bytes((int(octal, 8),))
    if hexa is not None:
        return bytes((int(hexa, 16),))
    return _SIMPLE_ESCAPES.get(other, other)


def _unquote(token: str) -> bytes:
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


def _quote(data: bytes) -> str:
    """A quoted string for ``data``, as dhcpd's quotify_buf() writes it."""
    return '"' + "".join([_QUOTIFY[b] for b in data]) + '"'


def _quote_text(text: str) -> str:
    return _quote(encode_string(text))


def _hex(data: bytes) -> str:
    return ":".join(f"{b:02x}" for b in data)


def _printable(data: bytes) -> bool:
    # db_printable_len(), server/db.c
    return all(0x20 <= b < 0x7F and b != 0x22 and b != 0x5C for b in data)


def _name_or_quoted(name: str) -> str:
    return name if _NAME_RE.fullmatch(name) else _quote_text(name)


# ----------------------------------------------------------------- dates


@lru_cache(maxsize=4096)
def _date(text: str) -> LeaseTime | str:
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
    return _seconds_to_time(seconds, text)


_EPOCH_ORDINAL: Final = datetime(1970, 1, 1).toordinal()


def _seconds_to_time(seconds: int, text: str) -> LeaseTime | str:
    if seconds == 0:
        return UNSET
    if seconds < 0:
        return f"date {text!r} is before 1970"
    if seconds >= MAX_TIME:
        return NEVER
    return datetime.fromtimestamp(seconds, UTC)


def _format_time(t: LeaseTime) -> str:
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


# ----------------------------------------------------------------- the parser

_Statement: TypeAlias = tuple[int, int, list[str], bool]  # start, stop, words, has a block


class _Parser:
    """Recursive descent over the token list; see the module docstring."""

    def __init__(self, text: str, source: str | None) -> None:
        self.text = text
        self.source = source
        tokens: list[str] = _TOKEN_RE.findall(text)
        self.has_comments = "#" in text
        if self.has_comments:
            tokens = [t for t in tokens if t[0] != "#"]
        self.toks = tokens
        self.n = len(tokens)
        self._starts: list[int] | None = None
        self.db = LeaseDatabase()
        if '"' in tokens:  # the lexer's last resort: a quote that is never closed
            raise self.error("unterminated quoted string", tokens.index('"'))

    # -- positions, only computed when needed

    def starts(self) -> list[int]:
        if self._starts is None:
            text = self.text
            matches = _TOKEN_RE.finditer(text)
            if self.has_comments:
                self._starts = [m.start() for m in matches if text[m.start()] != "#"]
            else:
                self._starts = [m.start() for m in matches]
        return self._starts

    def error(self, message: str, k: int) -> LeaseFileError:
        pos = self.starts()[k] if k < self.n else len(self.text)
        return LeaseFileError(message, self.text.count("\n", 0, pos) + 1, self.source)

    def verbatim(self, start: int, stop: int) -> str:
        """The source text of tokens start..stop-1."""
        starts = self.starts()
        return self.text[starts[start] : starts[stop - 1] + len(self.toks[stop - 1])]

    def verbatim_statement(self, st: _Statement) -> str:
        start, stop, _, block = st
        return self.verbatim(start, stop if block else stop + 1)

    # -- structure

    def block_end(self, k: int) -> int:
        """``toks[k]`` is ``{``: the index just past its matching ``}``."""
        toks = self.toks
        depth = 0
        for j in range(k, self.n):
            t = toks[j]
            if t == "{":
                depth += 1
            elif t == "}":
                depth -= 1
                if depth == 0:
                    return j + 1
        raise self.error("unexpected end of file: '{' is never closed", k)

    def expect_lbrace(self, k: int, what: str) -> int:
        if k >= self.n or self.toks[k] != "{":
            raise self.error(f"expected '{{' after {what}", k)
        return k + 1

    def body(self, i: int) -> tuple[list[_Statement], int]:
        """Cut the block body starting at ``toks[i]`` (after ``{``) into statements.

        Returns the statements and the index after the closing ``}``. A simple statement's
        ``stop`` is the index of its ``;``; a statement with a block ends after its ``}``.
        """
        toks, n = self.toks, self.n
        out: list[_Statement] = []
        opening = i - 1
        while True:
            if i >= n:
                raise self.error("unexpected end of file: missing '}'", opening)
            t = toks[i]
            if t == "}":
                return out, i + 1
            if t == ";":
                i += 1
                continue
            # Fast path: a ';' close by (C speed), with no brace before it.
            try:
                j = toks.index(";", i, i + _STATEMENT_WINDOW)
            except ValueError:
                j = -1
            if j >= 0:
                words = toks[i:j]
                if "{" not in words and "}" not in words:
                    out.append((i, j, words, False))
                    i = j + 1
                    continue
            # Slow path: walk to the first ';', '{' or '}' (never further, so never quadratic).
            b = i
            while b < n and toks[b] not in _STATEMENT_ENDS:
                b += 1
            if b >= n:
                raise self.error(f"unexpected end of file: expected ';' after {t!r}", i)
            if toks[b] == ";":
                out.append((i, b, toks[i:b], False))
                i = b + 1
            elif toks[b] == "}":
                raise self.error(f"expected ';' to end the {t!r} statement", b)
            else:
                end = self.block_end(b)
                out.append((i, end, toks[i:end], True))
                i = end

    # -- values

    def ipv4(self, word: str, k: int) -> IPv4Address:
        try:
            return IPv4Address(word)
        except ValueError:
            m = _IPV4_RE.fullmatch(word)  # dhcpd also reads "010.0.0.1" (decimal octets)
            if m is not None and all(int(g) <= 255 for g in m.groups()):
                return IPv4Address(bytes(int(g) for g in m.groups()))
        raise self.error(f"expected an IPv4 address, got {word!r}", k)

    def time(self, words: list[str], first: int, k: int) -> LeaseTime:
        """The date in ``words[first:]``; ``k`` is the statement's first token."""
        if len(words) <= first:
            raise self.error(f"{words[0]!r}: expected a date", k)
        head = words[first].lower()
        if head == "never" and len(words) == first + 1:
            return NEVER
        if head == "epoch":
            if len(words) != first + 2 or not _is_number(words[first + 1]):
                raise self.error(f"{words[0]!r}: expected 'epoch <seconds>'", k)
            result = _seconds_to_time(int(words[first + 1]), " ".join(words[first:]))
        else:
            result = _date(" ".join(words[first:]))
        if isinstance(result, str):
            raise self.error(result, k)
        return result

    def data(self, words: list[str], first: int, k: int, what: str) -> bytes:
        """A quoted string or colon-hex list in ``words[first:]``."""
        rest = words[first:]
        if len(rest) == 1 and rest[0][0] == '"':
            return _unquote(rest[0])
        joined = "".join(rest)
        if _COLON_HEX_RE.fullmatch(joined):
            return bytes(int(p, 16) for p in joined.split(":"))
        raise self.error(f"{what}: expected a quoted string or colon-separated hex", k)

    def text_or_name(self, words: list[str], first: int, k: int, what: str) -> str:
        rest = words[first:]
        if len(rest) == 1:
            w = rest[0]
            if w[0] == '"':
                return decode_string(_unquote(w))
            if _NAME_RE.fullmatch(w):
                return w
        raise self.error(f"{what}: expected a quoted string or a name", k)

    def hardware(self, words: list[str], k: int) -> tuple[int, MacAddress | None]:
        if len(words) < 2:
            raise self.error("hardware: expected a hardware type", k)
        type_name = words[1].lower()
        htype = _HARDWARE_TYPES_BY_NAME.get(type_name)
        if htype is None:
            number = type_name.removeprefix("unknown-")
            if number == type_name or not _is_number(number) or int(number) > 255:
                raise self.error(f"hardware: unknown hardware type {words[1]!r}", k)
            htype = int(number)
        if len(words) == 2:  # "hardware ethernet ;": type, no address
            return htype, None
        try:
            return htype, MacAddress("".join(words[2:]))
        except ValueError as exc:
            raise self.error(f"hardware: {exc}", k) from None

    def binding_value(self, words: list[str], first: int, k: int) -> BindingValue:
        rest = words[first:]
        if len(rest) == 2 and rest[0] == "%":
            rest = ["%" + rest[1]]
        if len(rest) == 1:
            w = rest[0]
            if w[0] == '"':
                return _unquote(w)
            if w[0] == "%" and _SIGNED_NUMBER_RE.fullmatch(w, 1):
                return int(w[1:])
            low = w.lower()
            if low == "true":
                return True
            if low == "false":
                return False
        joined = "".join(rest)
        if _COLON_HEX_RE.fullmatch(joined):
            return bytes(int(p, 16) for p in joined.split(":"))
        raise self.error(
            f"{words[0]!r}: expected a quoted string, colon-hex, %number, true or false", k
        )

    def state(self, word: str, k: int) -> tuple[LeaseState, LeaseFlags]:
        name = word.lower()
        if name == "reserved":
            return LeaseState.ACTIVE, LeaseFlags.RESERVED_LEASE
        if name == "bootp":
            return LeaseState.ACTIVE, LeaseFlags.BOOTP_LEASE
        try:
            return LeaseState.from_name(name), LeaseFlags(0)
        except ValueError:
            raise self.error(f"{word!r} is not a binding state", k) from None

    def int_value(self, words: list[str], first: int, k: int) -> int:
        if len(words) != first + 1 or not _is_number(words[first]):
            raise self.error(f"{' '.join(words[:first])!r}: expected a number", k)
        return int(words[first])

    # -- top level

    def parse(self) -> LeaseDatabase:
        toks, n = self.toks, self.n
        i = 0
        while i < n:
            t = toks[i]
            kw = t.lower()
            if kw == "lease":
                i = self.lease(i)
            elif kw == "host":
                i = self.host(i)
            elif kw == "group":
                i = self.group(i)
            elif kw == "class" or kw == "subclass":
                i = self.klass(i, kw == "subclass")
            elif kw == "failover":
                i = self.failover(i)
            elif kw in ("server-duid", "authoring-byte-order"):
                i = self.top_statement(i, kw)
            elif kw in ("ia-na", "ia-ta", "ia-pd"):
                k = i + 1
                while k < n and toks[k] != "{":
                    k += 1
                end = self.block_end(self.expect_lbrace(k, t) - 1)
                self.db.other.append(self.verbatim(i, end))
                i = end
            elif t == ";":
                i += 1
            else:
                raise self.error(f"unexpected {t!r} at the top level of a lease file", i)
        return self.db

    def top_statement(self, i: int, kw: str) -> int:
        toks = self.toks
        try:
            j = toks.index(";", i)
        except ValueError:
            raise self.error(f"expected ';' after {toks[i]!r}", i) from None
        words = toks[i:j]
        if "{" in words or "}" in words:
            raise self.error(f"expected ';' after {toks[i]!r}", i)
        if kw == "server-duid":
            self.db.server_duid = self.data(words, 1, i, "server-duid")
        else:
            order = " ".join(words[1:]).lower()
            if order not in ("little-endian", "big-endian"):
                raise self.error("authoring-byte-order must be little-endian or big-endian", i)
            self.db.authoring_byte_order = order
        return j + 1

    def lease(self, i: int) -> int:
        if i + 1 >= self.n:
            raise self.error("lease: expected an IPv4 address", i + 1)
        ip = self.ipv4(self.toks[i + 1], i + 1)
        statements, after = self.body(self.expect_lbrace(i + 2, "the lease address"))
        times: dict[str, LeaseTime] = {}
        binding: LeaseState | None = None
        next_binding: LeaseState | None = None
        rewind: LeaseState | None = None
        htype: int | None = None
        haddr: MacAddress | None = None
        uid: bytes | None = None
        hostname: str | None = None
        flags = LeaseFlags(0)
        billing_class: str | None = None
        billing_subclass: bytes | None = None
        variables: dict[str, BindingValue] = {}
        other: list[str] = []
        for st in statements:
            k, _, words, block = st
            kw = words[0].lower()
            if block:
                other.append(self.verbatim_statement(st))
            elif kw in _TIME_FIELDS:
                times[kw] = self.time(words, 1, k)
            elif kw == "binding" or kw == "next" or kw == "rewind":
                first = 1 if kw == "binding" else 2
                if (
                    len(words) != first + 2
                    or words[first].lower() != "state"
                    or (kw != "binding" and words[1].lower() != "binding")
                ):
                    raise self.error(f"expected '{kw} ... state <state>;'", k)
                state, extra = self.state(words[first + 1], k)
                flags |= extra
                if kw == "binding":
                    binding = state
                elif kw == "next":
                    next_binding = state
                else:
                    rewind = state
            elif kw == "hardware":
                htype, haddr = self.hardware(words, k)
            elif kw == "uid":
                uid = self.data(words, 1, k, "uid") or None
            elif kw == "client-hostname":
                hostname = self.text_or_name(words, 1, k, "client-hostname")
            elif kw == "set":
                if len(words) < 4 or words[2] != "=" or not _VARIABLE_RE.fullmatch(words[1]):
                    raise self.error("expected 'set <name> = <value>;'", k)
                variables[words[1]] = self.binding_value(words, 3, k)
            elif kw == "ddns-fwd-name" or kw == "ddns-rev-name":
                variables[kw] = self.binding_value(words, 1, k)
            elif kw == "reserved" and len(words) == 1:
                flags |= LeaseFlags.RESERVED_LEASE
            elif (kw == "dynamic-bootp" or kw == "bootp") and len(words) == 1:
                flags |= LeaseFlags.BOOTP_LEASE
            elif kw == "abandoned" and len(words) == 1:
                binding = next_binding = LeaseState.ABANDONED
            elif kw == "billing":
                sub = len(words) >= 2 and words[1].lower() == "subclass"
                if len(words) < 3 or words[1].lower() not in ("class", "subclass"):
                    raise self.error("expected 'billing class \"name\";'", k)
                if sub:
                    if len(words) < 4:
                        raise self.error("billing subclass: expected a hash string", k)
                    billing_subclass = self.data(words, 3, k, "billing subclass")
                else:
                    if len(words) != 3:
                        raise self.error("expected 'billing class \"name\";'", k)
                    billing_subclass = None
                billing_class = self.text_or_name(words[:3], 2, k, "billing class")
            else:
                other.append(self.verbatim_statement(st))
        self.db.leases[ip] = LeaseRecord(
            ip_address=ip,
            starts=times.get("starts", UNSET),
            ends=times.get("ends", UNSET),
            tstp=times.get("tstp", UNSET),
            tsfp=times.get("tsfp", UNSET),
            atsfp=times.get("atsfp", UNSET),
            cltt=times.get("cltt", UNSET),
            binding_state=binding,
            next_binding_state=next_binding,
            rewind_binding_state=rewind,
            hardware_type=htype,
            hardware_address=haddr,
            client_identifier=uid,
            client_hostname=hostname,
            flags=flags,
            billing_class=billing_class,
            billing_subclass=billing_subclass,
            variables=tuple(variables.items()),
            statements=tuple(other),
        )
        return after

    def decl_name(self, k: int, what: str, *, quoted_only: bool = False) -> str:
        if k >= self.n:
            raise self.error(f"{what}: expected a name", k)
        w = self.toks[k]
        if w[0] == '"':
            return decode_string(_unquote(w))
        if not quoted_only and _NAME_RE.fullmatch(w):
            return w
        expected = "a quoted name" if quoted_only else "a name"
        raise self.error(f"{what}: expected {expected}, got {w!r}", k)

    def flag_statement(self, words: list[str], names: Iterable[str]) -> str | None:
        if len(words) == 1:
            kw = words[0].lower()
            if kw in names:
                return kw
        return None

    def host(self, i: int) -> int:
        name = self.decl_name(i + 1, "host")
        statements, after = self.body(self.expect_lbrace(i + 2, f"host {name}"))
        dynamic = deleted = False
        htype: int | None = None
        haddr: MacAddress | None = None
        uid: bytes | None = None
        fixed: tuple[IPv4Address, ...] = ()
        group: str | None = None
        other: list[str] = []
        for st in statements:
            k, _, words, block = st
            kw = words[0].lower()
            flag = None if block else self.flag_statement(words, ("dynamic", "deleted"))
            if flag == "dynamic":
                dynamic = True
            elif flag == "deleted":
                deleted = True
            elif block:
                other.append(self.verbatim_statement(st))
            elif kw == "hardware":
                htype, haddr = self.hardware(words, k)
            elif kw == "uid":
                uid = self.data(words, 1, k, "uid") or None
            elif kw == "group":
                group = self.text_or_name(words, 1, k, "group")
            elif kw == "fixed-address":
                # dhcpd writes "fixed-address ;" after a null ip-address cleared the list
                parts = [w for w in words[1:] if w != ","]
                if all(_IPV4_RE.fullmatch(p) for p in parts):
                    fixed = tuple(self.ipv4(p, k) for p in parts)
                else:
                    other.append(self.verbatim_statement(st))
            else:
                other.append(self.verbatim_statement(st))
        record = HostRecord(
            name=name,
            dynamic=dynamic,
            deleted=deleted,
            hardware_type=htype,
            hardware_address=haddr,
            client_identifier=uid,
            fixed_addresses=fixed,
            group=group,
            statements="\n  ".join(other),
        )
        db = self.db
        if deleted:
            db.hosts.pop(name, None)
            db.deleted_hosts.add(name)
        else:
            db.hosts[name] = record
            db.deleted_hosts.discard(name)
        return after

    def group(self, i: int) -> int:
        k = i + 1
        name: str | None = None
        if k < self.n and self.toks[k] != "{":
            name = self.decl_name(k, "group")
            k += 1
        statements, after = self.body(self.expect_lbrace(k, "group name"))
        flags: set[str] = set()
        other: list[str] = []
        for st in statements:
            flag = None if st[3] else self.flag_statement(st[2], ("dynamic", "static", "deleted"))
            if flag is not None:
                flags.add(flag)
            else:
                other.append(self.verbatim_statement(st))
        if name is None:  # an anonymous group names nothing dhcpd could store
            return after
        db = self.db
        if "deleted" in flags:
            db.groups.pop(name, None)
            db.deleted_groups.add(name)
        else:
            db.groups[name] = GroupRecord(
                name=name,
                dynamic="dynamic" in flags,
                static="static" in flags,
                statements="\n  ".join(other),
            )
            db.deleted_groups.discard(name)
        return after

    def klass(self, i: int, sub: bool) -> int:
        what = "subclass" if sub else "class"
        name = self.decl_name(i + 1, what, quoted_only=True)
        k = i + 2
        hashstring = b""
        if sub:
            j = k
            while j < self.n and self.toks[j] not in ("{", ";", "}"):
                j += 1
            if j == k:
                raise self.error("subclass: expected a hash string", k)
            hashstring = self.data(self.toks[k - 1 : j], 1, k, "subclass")
            k = j
        if sub and k < self.n and self.toks[k] == ";":  # subclass "x" 01:02; has no body
            statements: list[_Statement] = []
            after = k + 1
        else:
            statements, after = self.body(self.expect_lbrace(k, f'{what} "{name}"'))
        dynamic = deleted = False
        lease_limit: int | None = None
        other: list[str] = []
        for st in statements:
            start, _, words, block = st
            flag = None if block else self.flag_statement(words, ("dynamic", "deleted"))
            if flag == "dynamic":
                dynamic = True
            elif flag == "deleted":
                deleted = True
            elif (
                not block
                and len(words) >= 2
                and [w.lower() for w in words[:2]]
                == [
                    "lease",
                    "limit",
                ]
            ):
                lease_limit = self.int_value(words, 2, start)
            else:
                other.append(self.verbatim_statement(st))
        db = self.db
        text = "\n  ".join(other)
        if sub:
            key = (name, hashstring)
            if deleted:
                db.subclasses.pop(key, None)
            else:
                db.subclasses[key] = SubclassRecord(
                    name, hashstring, dynamic, deleted, lease_limit, text
                )
        elif deleted:
            db.classes.pop(name, None)
        else:
            db.classes[name] = ClassRecord(name, dynamic, deleted, lease_limit, text)
        return after

    def failover(self, i: int) -> int:
        toks = self.toks
        if i + 1 >= self.n or toks[i + 1].lower() != "peer":
            raise self.error("expected 'failover peer \"name\" state {'", i)
        name = self.decl_name(i + 2, "failover peer")
        if i + 3 >= self.n or toks[i + 3].lower() != "state":
            raise self.error(f"failover peer {name!r}: expected 'state'", i + 3)
        statements, after = self.body(self.expect_lbrace(i + 4, "failover peer ... state"))
        previous = self.db.failover_peers.get(name) or FailoverPeerRecord(name)
        my_state, my_stos = previous.my_state, previous.my_stos
        partner_state, partner_stos = previous.partner_state, previous.partner_stos
        mclt = previous.mclt
        for k, _, words, block in statements:
            kw = words[0].lower()
            if not block and kw in ("my", "partner", "peer"):
                if len(words) < 3 or words[1].lower() != "state":
                    raise self.error(f"expected '{words[0]} state <state> at <date>;'", k)
                try:
                    state = FailoverState.from_name(words[2])
                except ValueError:
                    raise self.error(f"{words[2]!r} is not a failover state", k) from None
                if len(words) == 3:
                    stos: LeaseTime = UNSET
                elif words[3].lower() == "at":
                    stos = self.time(words, 4, k)
                else:
                    raise self.error("expected 'at <date>' after the failover state", k)
                if kw == "my":
                    my_state, my_stos = state, stos
                else:
                    partner_state, partner_stos = state, stos
            elif not block and kw == "mclt":
                mclt = self.int_value(words, 1, k)
            else:
                raise self.error(f"unexpected {words[0]!r} in a failover state declaration", k)
        self.db.failover_peers[name] = FailoverPeerRecord(
            name, my_state, my_stos, partner_state, partner_stos, mclt
        )
        return after


_TIME_FIELDS: Final = frozenset({"starts", "ends", "tstp", "tsfp", "atsfp", "cltt"})
# How far Parser.body() looks for a ';' at C speed before walking token by token; any longer
# statement is rare (dhcpd writes at most ~25 tokens per statement).
_STATEMENT_WINDOW: Final = 64
_STATEMENT_ENDS: Final = frozenset({";", "{", "}"})


def parse_leases(text: str, *, source: str | None = None) -> LeaseDatabase:
    """Parse the text of a lease file.

    Args:
        text: the file's text. Bytes that are not UTF-8 should arrive as lone surrogates
            (``errors="surrogateescape"``), as :func:`load_leases` reads them; strings then
            keep their exact bytes.
        source: a file name for error messages.

    Returns:
        The database after replaying every declaration in order.

    Raises:
        LeaseFileError: a syntax error, with its line number.
    """
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise LeaseFileError(
            "text that cannot be encoded (a lone surrogate)", line, source
        ) from None
    return _Parser(text, source).parse()


def load_leases(path: str | PathLike[str]) -> LeaseDatabase:
    """Read and parse a lease file (see :func:`parse_leases`).

    Raises:
        LeaseFileError: a syntax error, with the file name and line number.
        OSError: the file cannot be read.
    """
    p = Path(path)
    return parse_leases(p.read_text(encoding="utf-8", errors="surrogateescape"), source=str(p))


# ----------------------------------------------------------------- writers


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
    return _quote(value)


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
            out.append(f"\n  {name} {_format_time(t)};")
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
            out.append(f"\n  billing class {_quote_text(r.billing_class)};")
        else:
            out.append(
                f"\n  billing subclass {_quote_text(r.billing_class)} "
                f"{_hash_string(r.billing_subclass)};"
            )
    out.append(_hardware_line(r.hardware_type, r.hardware_address))
    if r.client_identifier:
        uid = r.client_identifier
        out.append(f"\n  uid {_hex(uid) if lease_id_format == 'hex' else _quote(uid)};")
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
        out.append(f"\n  client-hostname {_quote_text(r.client_hostname)};")
    out.extend(f"\n  {statement}" for statement in r.statements[first_on:])
    out.append("\n}\n")
    return "".join(out)


def _hash_string(data: bytes) -> str:
    # print_hash_string(), server/db.c: quoted if printable, else colon-hex
    return _quote(data) if data and _printable(data) else _hex(data)


def format_host(record: HostRecord) -> str:
    """Write a host declaration the way dhcpd's write_host() does (server/db.c).

    A rubout (``deleted``) carries only ``dynamic;`` and ``deleted;``. The name is written
    bare when it is a dotted name, else quoted.
    """
    r = record
    out = [f"host {_name_or_quoted(r.name)} {{"]
    if r.dynamic:
        out.append("\n  dynamic;")
    if r.deleted:
        out.append("\n  deleted;")
        out.append("\n}\n")
        return "".join(out)
    out.append(_hardware_line(r.hardware_type, r.hardware_address))
    if r.client_identifier:
        uid = r.client_identifier
        out.append(f"\n  uid {_quote(uid) if _printable(uid) else _hex(uid)};")
    if r.fixed_addresses:
        out.append(f"\n  fixed-address {','.join(str(a) for a in r.fixed_addresses)};")
    if r.group is not None:
        out.append(f"\n  group {_quote_text(r.group)};")
    if r.statements:
        out.append(f"\n  {r.statements}")
    out.append("\n}\n")
    return "".join(out)


def format_group(record: GroupRecord) -> str:
    """Write a group declaration the way dhcpd's write_group() does."""
    r = record
    out = [f"group {_name_or_quoted(r.name)} {{"]
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
    return f"class {_quote_text(r.name)} {{{body}"


def format_subclass(record: SubclassRecord) -> str:
    """Write a subclass declaration the way dhcpd's write_named_billing_class() does."""
    r = record
    if not r.hashstring:
        raise ValueError("a subclass needs a non-empty hash string")
    body = _class_body(r.dynamic, r.deleted, r.lease_limit, r.statements)
    return f"subclass {_quote_text(r.class_name)} {_hash_string(r.hashstring)} {{{body}"


def format_failover_peer(record: FailoverPeerRecord) -> str:
    """Write a failover state declaration the way dhcpd's write_failover_state() does.

    An UNSET time is written as the epoch (1970), which reads back as UNSET.
    """
    r = record

    def when(t: LeaseTime) -> str:
        return "4 1970/01/01 00:00:00" if t is UNSET else _format_time(t)

    out = [
        f"\nfailover peer {_quote_text(r.name)} state {{",
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
        out.append(f"server-duid {_quote(db.server_duid)};\n\n")
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
