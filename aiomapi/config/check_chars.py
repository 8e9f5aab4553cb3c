"""Characters dhcpd will not read: every one of them, at its exact line and column.

Theory of operation
-------------------
dhcpd's lexer reads ASCII outside quoted strings and comments; any other character there
becomes a token no statement accepts and dhcpd refuses the whole file, with a message about the
statement ("invalid statement in peer declaration", "expecting number") that never names the
character. The usual culprits are look-alikes pasted from a rendered manual page, a word
processor or a chat: typographic hyphens and dashes, curly quotes, no-break and other wide
spaces, and invisible zero-width characters (a byte order mark at the start of the file among
them).

:func:`scan_characters` walks the text once with the lexer's token expression (the one
:mod:`aiomapi.config.source` uses), so it knows which characters sit in strings and comments,
and reports every other non-ASCII or control character with its Unicode name and, for a
look-alike, the ASCII character it stands for. A look-alike inside a quoted string is legal but
makes a different name (``"dhcp‐failover"`` is not ``"dhcp-failover"``): that is a note.

It also returns the text with each look-alike outside strings and comments replaced by its ASCII
twin (zero-width characters deleted), so that the rest of the check can go on reading the file
as its author meant it; :func:`relocate` maps a location in that text back to the original.
"""

from __future__ import annotations

import os
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aiomapi.leasefile.lexer import TOKEN_RE, unquote

from .check_report import Finding, Severity
from .model import Location
from .source import MAX_FILES

__all__ = [
    "CODES",
    "LOOKALIKES",
    "CharacterScan",
    "describe",
    "included_texts",
    "includes",
    "relocate",
    "scan_characters",
]

#: Look-alikes and the ASCII character each stands for ("" for an invisible one, which is
#: deleted). dhcpd quotes strings with '"' only, so curly single quotes stand for it too.
LOOKALIKES: Final[dict[str, str]] = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad\ufe63\uff0d", "-"),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2033\uff02", '"'),
    **dict.fromkeys("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008", " "),
    **dict.fromkeys("\u2009\u200a\u202f\u205f\u3000", " "),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", ""),
    "\uff1b": ";",
}
#: The codes of the findings made here, on the original text (the rest of the check reads the
#: repaired one).
CODES: Final = frozenset({"lookalike-character", "non-ascii-character", "lookalike-in-string"})
# What dhcpd reads outside strings and comments: ASCII graphic characters and the blanks.
_ODD_CHAR_RE: Final = re.compile(r"[^\t\n\x0b\x0c\r\x20-\x7e]")
_ASCII_NAMES: Final = {
    "-": "'-' (U+002D HYPHEN-MINUS)",
    '"': "'\"' (U+0022 QUOTATION MARK)",
    " ": "a plain space (U+0020)",
    ";": "';' (U+003B SEMICOLON)",
}


@dataclass(frozen=True, slots=True)
class CharacterScan:
    """What :func:`scan_characters` found in one file.

    Attributes:
        findings: one per character.
        repaired: the text with every look-alike outside strings and comments replaced by its
            ASCII twin (invisible ones deleted).
        deleted: the offsets, in the original text, of the characters deleted.
    """

    findings: tuple[Finding, ...]
    repaired: str
    deleted: tuple[int, ...]


def describe(char: str) -> str:
    """``U+2010 HYPHEN``; a byte that is not UTF-8 (read with ``surrogateescape``) is named as
    a byte, a control character as one."""
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"the byte 0x{code - 0xDC00:02X} (not UTF-8)"
    name = unicodedata.name(char, None)
    if name is None:
        kind = "a control character" if unicodedata.category(char) == "Cc" else "unnamed"
        return f"U+{code:04X} ({kind})"
    return f"U+{code:04X} {name}"


class _Lines:
    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def location(self, offset: int) -> Location:
        line = bisect_right(self.starts, offset)
        return Location(self.file, line, offset - self.starts[line - 1] + 1, offset)


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    text: str
    statement: str  # the first word of its statement, lower-case
    in_key: bool  # inside a key { ... } block


def _tokens(text: str) -> list[_Token]:
    """Every token with the statement and block it is in (comments kept: they matter here)."""
    out: list[_Token] = []
    heads: list[str] = []
    statement = ""
    for m in TOKEN_RE.finditer(text):
        word = m.group()
        in_key = "key" in heads
        if word[0] == "#":
            out.append(_Token(m.start(), m.end(), word, "", in_key))
            continue
        if word == "{":
            heads.append(statement)
            statement = ""
        elif word == "}":
            if heads:
                heads.pop()
            statement = ""
        elif word == ";":
            statement = ""
        elif not statement:
            statement = word.lower()
        out.append(_Token(m.start(), m.end(), word, statement, in_key or statement == "key"))
    return out


def scan_characters(text: str, file: str) -> CharacterScan:
    """Every character of ``text`` dhcpd will not read, and the text repaired (module doc).

    Args:
        text: one file's text (bytes that are not UTF-8 as lone surrogates).
        file: its name, for locations.
    """
    if not _ODD_CHAR_RE.search(text):
        return CharacterScan((), text, ())
    lines = _Lines(text, file)
    tokens = _tokens(text)
    starts = [t.start for t in tokens]
    replaced: dict[int, str] = {}
    # One finding per character per line (and per string): "columns 6 and 15".
    groups: dict[tuple[int, str, bool], list[tuple[Location, _Token | None]]] = {}
    for odd in _ODD_CHAR_RE.finditer(text):
        at, char = odd.start(), odd.group()
        k = bisect_right(starts, at) - 1
        token = tokens[k] if k >= 0 and at < tokens[k].end else None
        where = lines.location(at)
        quoted = token is not None and token.text[0] in '"#' and token.text != '"'
        if quoted:
            assert token is not None
            if token.text[0] == '"' and char in LOOKALIKES and not token.in_key:
                groups.setdefault((where.line, char, True), []).append((where, token))
            continue
        twin = LOOKALIKES.get(char)
        if twin is not None:
            replaced[at] = twin
        groups.setdefault((where.line, char, False), []).append((where, token))
    findings = []
    for (_, char, in_string), places in groups.items():
        where, token = places[0]
        columns = _columns([w.column for w, _ in places])
        if in_string:
            assert token is not None
            findings.append(_in_string(char, token, where, columns))
        else:
            findings.append(_outside(char, LOOKALIKES.get(char), token, where, columns))
    repaired = "".join(replaced.get(i, c) for i, c in enumerate(text)) if replaced else text
    deleted = tuple(i for i, twin in sorted(replaced.items()) if twin == "")
    return CharacterScan(tuple(findings), repaired, deleted)


def _columns(columns: list[int]) -> str:
    """`` (columns 6 and 15)`` for more than one column, else nothing."""
    if len(columns) == 1:
        return ""
    listed = ", ".join(map(str, columns[:-1])) + f" and {columns[-1]}"
    return f" (columns {listed})"


def _outside(
    char: str, twin: str | None, token: _Token | None, where: Location, columns: str
) -> Finding:
    name = describe(char) + columns
    quoted = token is not None and not token.in_key and token.statement != "secret"
    context = f" in {token.text!r}" if quoted and token is not None else ""
    if char == "\ufeff" and where.offset == 0:
        return Finding(
            Severity.ERROR,
            "lookalike-character",
            f"{name} at the start of the file: a byte order mark, invisible in most editors",
            "refuses the whole file: its first statement does not read, and whatever that "
            "statement declares is missing for the rest",
            "save the file without a byte order mark (as plain UTF-8 or ASCII)",
            where,
        )
    if twin is None:
        return Finding(
            Severity.ERROR,
            "non-ascii-character",
            f"{name}{context}: dhcpd reads only ASCII outside quoted strings and comments",
            "refuses the whole file, with a message about the statement that never names the "
            "character",
            "write it in ASCII, or put the text in a quoted string if the statement takes one",
            where,
        )
    looks = "nothing (it is invisible)" if twin == "" else repr(twin)
    fix = "delete it" if twin == "" else f"replace it with {_ASCII_NAMES[twin]}"
    return Finding(
        Severity.ERROR,
        "lookalike-character",
        f"{name}{context}: it looks like {looks}, but dhcpd reads only ASCII outside quoted "
        "strings and comments",
        "refuses the whole file, with a message about the statement that never names the character",
        fix,
        where,
    )


def _in_string(char: str, token: _Token, where: Location, columns: str) -> Finding:
    twin = LOOKALIKES[char]
    shown = "nothing (it is invisible)" if twin == "" else repr(twin)
    return Finding(
        Severity.NOTE,
        "lookalike-in-string",
        f"{describe(char)}{columns} in the quoted string {token.text!r}: it looks like {shown}",
        "keeps it as it is: a name written with it is not the same name written in ASCII "
        "(in the partner's file, or to an OMAPI client)",
        "type the ASCII character if the name is meant to match another",
        where,
    )


def relocate(location: Location, original: str, deleted: tuple[int, ...]) -> Location:
    """Where ``location`` (in the repaired text) is in the ``original`` text: after a deleted
    character the offsets, and so the columns, differ by one."""
    offset = location.offset
    for d in deleted:
        if d <= offset:
            offset += 1
        else:
            break
    if offset == location.offset:
        return location
    return _Lines(original, location.file).location(offset)


def includes(text: str) -> list[str]:
    """The names of the files ``text`` includes (``include "NAME";``), in order."""
    words = [t.text for t in _tokens(text) if t.text[0] != "#"]
    found = []
    for i, word in enumerate(words[:-2]):
        if (
            word.lower() == "include"
            and (i == 0 or words[i - 1] in ";{}")
            and words[i + 1][0] == '"'
            and words[i + 2] == ";"
        ):
            found.append(os.fsdecode(unquote(words[i + 1])))
    return found


def included_texts(path: Path, text: str) -> list[tuple[Path, str]]:
    """Every file ``path`` (whose text is ``text``) includes, directly or not, each once, with
    its text; relative names resolved next to the including file, as
    :func:`~aiomapi.config.load_config` does. A file that cannot be read is left out: the
    reader reports it."""
    found: list[tuple[Path, str]] = []
    seen = {os.path.realpath(path)}
    todo = [_resolve(path, name) for name in includes(text)]
    while todo and len(seen) < MAX_FILES:
        included = todo.pop(0)
        real = os.path.realpath(included)
        if real in seen:
            continue
        seen.add(real)
        try:
            if not included.is_file():
                continue
            inner = included.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            continue
        found.append((included, inner))
        todo += [_resolve(included, name) for name in includes(inner)]
    return found


def _resolve(including: Path, name: str) -> Path:
    return Path(name) if Path(name).is_absolute() else including.parent / name
