"""dhcpd.conf text → a tree of statements: characters, tokens, blocks and includes.

Theory of operation
-------------------
A file is read in three passes, each of which can only fail with a
:class:`~aiomapi.config.ConfigError` at an exact place:

1. **Tokens**, by the lexer dhcpd.conf and dhcpd.leases share
   (:mod:`aiomapi.leasefile.lexer`); comments are dropped, and every token keeps its offset, so
   that its line and column are known.
2. **Characters.** dhcpd reads only ASCII outside quoted strings and comments: any other
   character there is a token no statement accepts, and dhcpd refuses the file. The usual
   cause is a look-alike pasted from a rendered manual page (U+2010 HYPHEN in
   ``max‐response‐delay``), which dhcpd's own message does not mention; here the error points
   at the character and names it. ASCII control characters other than the usual blanks are
   refused the same way.
3. **Blocks.** Statements end at ``;``; a statement followed by ``{`` owns the block up to the
   matching ``}`` (except the record format of an option definition, ``option NAME code N =
   { TYPE, ... };``, which belongs to its statement). Braces must balance within each file.
   ``include "FILE";`` is replaced by the statements of FILE, read the same way, at the place
   of the include (so an include inside a subnet adds to that subnet, as in dhcpd).

Where an included file is looked for: an absolute name is used as it is. dhcpd opens a
relative name from its own working directory; the readers here resolve it against
``include_dir`` when one is given (pass the directory dhcpd runs in to match dhcpd), and
otherwise against the directory of the file holding the ``include``. A file that includes
itself, directly or not, is an error (dhcpd 4.4.3 crashes on it).
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

from .model import ConfigError, Location, Statement, Token

__all__ = ["MAX_FILES", "Node", "read_file", "read_text"]

#: At most this many files are read for one configuration, counting each include of a file
#: again: a bound for a tree of includes that includes the same files over and over (dhcpd
#: itself has none).
MAX_FILES: Final = 1000

# Outside quoted strings and comments dhcpd's lexer accepts ASCII graphic characters and the
# blanks isspace() knows; anything else becomes a token of its own that no statement accepts.
_ODD_CHAR_RE: Final = re.compile(r"[^\t\n\x0b\x0c\r\x20-\x7e]")
_LOOKALIKES: Final = {
    "\u00a0": " ",
    "\u00ad": "-",
    "\u2007": " ",
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u202f": " ",
    "\u2212": "-",
    "\uff1b": ";",
}


@dataclass(frozen=True, slots=True)
class Node:
    """A statement and, if it has one, its block."""

    statement: Statement
    block: tuple[Node, ...] | None


class _Text:
    """One file's text and the places in it."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self._line_starts: list[int] | None = None

    def location(self, offset: int) -> Location:
        """The location of ``offset`` (for the odd error; tokens count lines as they go)."""
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        line = bisect_right(self._line_starts, offset)
        return Location(self.file, line, offset - self._line_starts[line - 1] + 1, offset)


def _describe(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, read with surrogateescape
        return f"the byte 0x{code - 0xDC00:02X} (not UTF-8)"
    name = unicodedata.name(char, None)
    if name is None:
        name = "a control character" if unicodedata.category(char) == "Cc" else "unnamed"
    described = f"U+{code:04X} {name}"
    ascii_twin = _LOOKALIKES.get(char)
    if ascii_twin is not None:
        described += f" (it looks like {ascii_twin!r})"
    return described


class _Reader:
    """Reads the main text and every file it includes (see the module docstring)."""

    def __init__(self, include_dir: Path | None) -> None:
        self.include_dir = include_dir
        self.files: list[str] = []
        self.stack: list[tuple[str, str]] = []  # (real path, name) of the files being read

    # -- one text

    def read(self, text: str, file: str, directory: Path, real: str | None) -> list[Node]:
        if len(self.files) >= MAX_FILES:
            raise ConfigError(f"more than {MAX_FILES} files read: includes nested too deep")
        self.files.append(file)
        if real is not None:
            self.stack.append((real, file))
        try:
            return self._read(_Text(text, file), directory)
        finally:
            if real is not None:
                self.stack.pop()

    def _read(self, src: _Text, directory: Path) -> list[Node]:
        if _ODD_CHAR_RE.search(src.text):
            self._check_characters(src, list(TOKEN_RE.finditer(src.text)))
        tokens = self._tokens(src)
        return self._blocks(src, tokens, directory)

    @staticmethod
    def _tokens(src: _Text) -> list[Token]:
        """The tokens, comments left out, each with its location: lines are counted as the
        tokens go (one pass over the text, not a search per token)."""
        text, file = src.text, src.file
        tokens: list[Token] = []
        line, line_start, previous = 1, 0, 0
        for m in TOKEN_RE.finditer(text):
            word = m.group()
            start = m.start()
            newlines = text.count("\n", previous, start)
            if newlines:
                line += newlines
                line_start = text.rindex("\n", previous, start) + 1
            previous = start
            if word[0] != "#":
                tokens.append(Token(word, Location(file, line, start - line_start + 1, start)))
                if word == '"':  # the lexer's last resort: a quote that is never closed
                    raise ConfigError("a quoted string is never closed", tokens[-1].location)
        return tokens

    def _check_characters(self, src: _Text, matches: list[re.Match[str]]) -> None:
        starts = [m.start() for m in matches]
        for odd in _ODD_CHAR_RE.finditer(src.text):
            at = odd.start()
            k = bisect_right(starts, at) - 1
            inside = k >= 0 and at < matches[k].end()
            if inside and matches[k].group()[0] in '"#' and matches[k].group() != '"':
                continue  # in a quoted string or a comment: dhcpd takes any byte there
            what = _describe(odd.group())
            if inside and not self._in_secret(matches, k):
                what += f" in {matches[k].group()!r}"
            raise ConfigError(
                f"{what}: dhcpd reads only ASCII outside quoted strings and comments",
                src.location(at),
            )

    @staticmethod
    def _in_secret(matches: list[re.Match[str]], k: int) -> bool:
        """Whether token ``k`` belongs to a ``secret`` statement (never quote it)."""
        keyword = None
        for m in reversed(matches[: k + 1]):
            word = m.group()
            if word[0] == "#":
                continue
            if word in (";", "{", "}"):
                break
            keyword = word
        return keyword is not None and keyword.lower() == "secret"

    def _blocks(self, src: _Text, tokens: list[Token], directory: Path) -> list[Node]:
        """Cut the tokens into statements and blocks; splice includes in."""
        top: list[Node] = []
        # (the statement that opened the block, its '{', the block's nodes so far)
        open_blocks: list[tuple[list[Token], Token, list[Node]]] = []
        nodes = top
        words: list[Token] = []
        record_end = -1  # inside "option NAME code N = { TYPE, ... }": the index of its '}'
        for i, tok in enumerate(tokens):
            t = tok.text
            if i <= record_end:
                words.append(tok)
            elif t == ";":
                if words:
                    if words[0].text.lower() == "include":
                        nodes.extend(self._include(words, directory))
                    else:
                        nodes.append(Node(_statement(words), None))
                    words = []
            elif t == "{":
                if not words:
                    raise ConfigError("'{' with no statement before it", tok.location)
                if words[0].text.lower() == "option":
                    # A record format (option NAME code N = { unsigned integer 8, text };)
                    # is part of the statement, not a block.
                    record_end = _record_end(tokens, i)
                    words.append(tok)
                    continue
                open_blocks.append((words, tok, nodes))
                nodes, words = [], []
            elif t == "}":
                if words:
                    raise ConfigError(
                        f"expected ';' to end {_what(words, open_blocks)} before '}}'",
                        tok.location,
                    )
                if not open_blocks:
                    raise ConfigError("'}' closes no '{'", tok.location)
                head, _, outer = open_blocks.pop()
                if head[0].text.lower() == "include":
                    raise ConfigError("include: expected ';', not a block", head[0].location)
                outer.append(Node(_statement(head), tuple(nodes)))
                nodes = outer
            else:
                words.append(tok)
        if words:
            raise ConfigError(
                f"unexpected end of file: expected ';' to end {_what(words, open_blocks)}",
                words[0].location,
            )
        if open_blocks:
            head, brace, _ = open_blocks[-1]
            raise ConfigError(
                f"unexpected end of file: the '{{' of {_what(head, open_blocks[:-1])} is never "
                "closed",
                brace.location,
            )
        return top

    # -- includes

    def _include(self, words: list[Token], directory: Path) -> list[Node]:
        where = words[0].location
        if len(words) != 2 or words[1].text[0] != '"':
            raise ConfigError('include: expected a quoted file name: include "FILE";', where)
        name = os.fsdecode(unquote(words[1].text))
        path = Path(name)
        if not path.is_absolute():
            path = (self.include_dir if self.include_dir is not None else directory) / path
        real = os.path.realpath(path)
        if any(real == on_stack for on_stack, _ in self.stack):
            chain = " -> ".join([*(file for _, file in self.stack), str(path)])
            raise ConfigError(f"include cycle: {chain}", where)
        try:
            if path.exists() and not path.is_file():  # a directory, a FIFO, /dev/zero...
                raise ConfigError(f"included file {name!r} is not a regular file", where)
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            raise ConfigError(
                f"cannot read included file {name!r}: {exc.strerror or exc}", where
            ) from None
        return self.read(text, str(path), path.parent, real)


def _record_end(tokens: list[Token], i: int) -> int:
    """``tokens[i]`` is the ``{`` of an option record format: the index of its ``}``."""
    for j in range(i + 1, len(tokens)):
        t = tokens[j].text
        if t == "}":
            return j
        if t in ("{", ";"):
            break
    raise ConfigError("option: expected '}' to end the record format", tokens[i].location)


def _what(words: list[Token], open_blocks: list[tuple[list[Token], Token, list[Node]]]) -> str:
    """How a message names the statement ``words``: by its keyword, except in a key, where
    a malformed statement can begin with the secret itself."""
    if any(head[0].text.lower() == "key" for head, _, _ in open_blocks):
        return "a statement of the key"
    return f"the {words[0].text.lower()!r} statement"


def _statement(words: list[Token]) -> Statement:
    return Statement(words[0].text.lower(), tuple(words))


def read_text(
    text: str, source: str, *, include_dir: Path | None, directory: Path
) -> tuple[list[Node], list[str]]:
    """The statement tree of ``text`` (named ``source``), includes spliced in.

    Args:
        text: the configuration.
        source: its name, for locations.
        include_dir: where relative includes are looked for; ``None``: next to the file that
            holds the include (``directory`` for ``text`` itself).
        directory: the directory of ``text``.

    Returns:
        The top-level nodes, and the name of every file read (``source`` first).

    Raises:
        ConfigError: at the first problem.
    """
    reader = _Reader(include_dir)
    real = os.path.realpath(source) if os.path.exists(source) else None
    return reader.read(text, source, directory, real), reader.files


def read_file(path: Path, *, include_dir: Path | None) -> tuple[list[Node], list[str]]:
    """:func:`read_text` for a file.

    Raises:
        OSError: the file cannot be read.
        ConfigError: at the first problem.
    """
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    return read_text(text, str(path), include_dir=include_dir, directory=path.parent)
