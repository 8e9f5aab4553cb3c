"""Parse a lease file (``dhcpd.leases``) into a :class:`~aiomapi.leasefile.LeaseDatabase`.

Theory of operation
-------------------
:func:`parse_leases` replays the file's declarations in order, the way dhcpd does when it
starts: the last declaration of a lease wins, and a rubout (``deleted;``) removes a host, group
or class (see :mod:`aiomapi.leasefile.records`). Parsing runs in two steps:

1. **Tokens**, by the lexer dhcpd.conf and dhcpd.leases share (:mod:`aiomapi.leasefile.lexer`).
   Token offsets are only computed when needed (for an error's line number, or to keep a
   statement's text verbatim).
2. **Declarations.** A block body is cut into statements at ``;`` (or at a balanced ``{...}``
   block), then each statement is read by its keyword, case-insensitively like dhcpd. The
   grammar is the one server/confpars.c accepts (``parse_lease_declaration``,
   ``parse_host_declaration``, ``parse_group_declaration``, ``parse_class_declaration``,
   ``parse_failover_state_declaration``) and server/db.c writes.

Syntax errors (unbalanced braces, a missing ``;``, a bad date, address or number, an unknown
top-level declaration) raise :class:`~aiomapi.leasefile.LeaseFileError` with the line number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from ipaddress import IPv4Address
from os import PathLike
from pathlib import Path
from typing import Final, TypeAlias

from aiomapi.typed.values import (
    NEVER,
    UNSET,
    FailoverState,
    LeaseFlags,
    LeaseState,
    LeaseTime,
    MacAddress,
    decode_string,
)

from . import lexer
from .lexer import (
    COLON_HEX_RE,
    IPV4_RE,
    NAME_RE,
    TOKEN_RE,
    is_number,
    parse_date,
    seconds_to_time,
    token_starts,
    unquote,
)
from .records import (
    BindingValue,
    ClassRecord,
    FailoverPeerRecord,
    GroupRecord,
    HostRecord,
    LeaseDatabase,
    LeaseFileError,
    LeaseRecord,
    SubclassRecord,
)

__all__ = ["load_leases", "parse_leases"]

_VARIABLE_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_SIGNED_NUMBER_RE: Final = re.compile(r"-?[0-9]+")

_Statement: TypeAlias = tuple[int, int, list[str], bool]  # start, stop, words, has a block


class _Parser:
    """Recursive descent over the token list; see the module docstring."""

    def __init__(self, text: str, source: str | None) -> None:
        self.text = text
        self.source = source
        tokens: list[str] = TOKEN_RE.findall(text)
        if "#" in text:
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
            self._starts = token_starts(self.text)
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
        address = lexer.ipv4(word)
        if address is None:
            raise self.error(f"expected an IPv4 address, got {word!r}", k)
        return address

    def time(self, words: list[str], first: int, k: int) -> LeaseTime:
        """The date in ``words[first:]``; ``k`` is the statement's first token."""
        if len(words) <= first:
            raise self.error(f"{words[0]!r}: expected a date", k)
        head = words[first].lower()
        if head == "never" and len(words) == first + 1:
            return NEVER
        if head == "epoch":
            if len(words) != first + 2 or not is_number(words[first + 1]):
                raise self.error(f"{words[0]!r}: expected 'epoch <seconds>'", k)
            result = seconds_to_time(int(words[first + 1]), " ".join(words[first:]))
        else:
            result = parse_date(" ".join(words[first:]))
        if isinstance(result, str):
            raise self.error(result, k)
        return result

    def data(self, words: list[str], first: int, k: int, what: str) -> bytes:
        """A quoted string or colon-hex list in ``words[first:]``."""
        value = lexer.data(words[first:])
        if value is None:
            raise self.error(f"{what}: expected a quoted string or colon-separated hex", k)
        return value

    def text_or_name(self, words: list[str], first: int, k: int, what: str) -> str:
        rest = words[first:]
        if len(rest) == 1:
            w = rest[0]
            if w[0] == '"':
                return decode_string(unquote(w))
            if NAME_RE.fullmatch(w):
                return w
        raise self.error(f"{what}: expected a quoted string or a name", k)

    def hardware(self, words: list[str], k: int) -> tuple[int, MacAddress | None]:
        result = lexer.hardware(words)
        if isinstance(result, str):
            raise self.error(result, k)
        return result

    def binding_value(self, words: list[str], first: int, k: int) -> BindingValue:
        rest = words[first:]
        if len(rest) == 2 and rest[0] == "%":
            rest = ["%" + rest[1]]
        if len(rest) == 1:
            w = rest[0]
            if w[0] == '"':
                return unquote(w)
            if w[0] == "%" and _SIGNED_NUMBER_RE.fullmatch(w, 1):
                return int(w[1:])
            low = w.lower()
            if low == "true":
                return True
            if low == "false":
                return False
        joined = "".join(rest)
        if COLON_HEX_RE.fullmatch(joined):
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
        if len(words) != first + 1 or not is_number(words[first]):
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
            return decode_string(unquote(w))
        if not quoted_only and NAME_RE.fullmatch(w):
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
                if all(IPV4_RE.fullmatch(p) for p in parts):
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
    try:
        return _Parser(text, source).parse()
    except LeaseFileError:
        raise
    except ValueError:
        # int() refuses numbers past Python's 4,300-digit limit; no lease file has one.
        long_number = _LONG_NUMBER.search(text)
        if long_number is None:
            raise
        line = text.count("\n", 0, long_number.start()) + 1
        raise LeaseFileError("a number too long to be read", line, source) from None


_LONG_NUMBER = re.compile(r"\d{4000,}")


def load_leases(path: str | PathLike[str]) -> LeaseDatabase:
    """Read and parse a lease file (see :func:`parse_leases`).

    Raises:
        LeaseFileError: a syntax error, with the file name and line number.
        OSError: the file cannot be read.
    """
    p = Path(path)
    return parse_leases(p.read_text(encoding="utf-8", errors="surrogateescape"), source=str(p))
