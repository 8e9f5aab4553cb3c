"""The tokens of omshell's command language, and its parse warnings.

Theory of operation
-------------------
omshell reads its input in chunks of at most :data:`CHUNK` bytes (a line, or a piece of a
longer line) and tokenises each chunk on its own with dhcpd's configuration lexer, in the
mode where a newline is a token. Everything here is what that lexer was seen to do when
``/usr/bin/omshell`` was fed the cases in tests/unit/test_shell.py:

* whitespace other than the newline separates tokens; ``#`` starts a comment that runs to
  the end of the line;
* ``"..."`` is a string, with the escapes ``\\t \\r \\n \\b``, ``\\NNN`` (octal, up to three
  digits), ``\\xNN`` (hex, up to two digits); any other escaped character stands for itself.
  A string without its closing quote runs to the end of the chunk (newline included) and
  warns ``eof in string constant``;
* a token that starts with a digit or ``-`` is a NUMBER while it has only digits, becomes a
  NUMBER_OR_NAME when a hex letter follows (or after ``0x``), and a NAME at any other
  letter, ``-`` or ``_``; a token that starts with a letter is a NUMBER_OR_NAME while the
  characters after the first are hex digits, else a NAME. Names may hold letters, digits,
  ``-`` and ``_``. Keywords (the commands) are NAMEs compared without regard to case;
* every other character is a token of its own.

A parse warning goes to standard error as three lines: ``<STDIN> line N: message``, the line
being read (as far as it has been read, at most 80 characters, and empty once the lexer has
read past the newline), and a caret under the token (in column 1 if the token starts past
column 80).
The caret is one column further right when the token follows whitespace, or when its first
character ended the token before it (``1abc"x``): that is what omshell does, and what
scripts that parse its errors see.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

#: omshell reads its input with a 1,024-byte buffer: a line longer than 1,023 bytes is
#: parsed as several chunks, each after its own prompt.
CHUNK: Final = 1023
#: Characters of a line the lexer keeps for warnings.
LINE_KEPT: Final = 80
#: Whitespace (C isspace in the ASCII range) other than the newline.
_BLANK: Final = frozenset(" \t\v\f\r")
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_ESCAPES: Final = {"t": "\t", "r": "\r", "n": "\n", "b": "\b"}
#: Words of dhcpd's configuration language that omshell's lexer takes for keywords (in any
#: case). They matter in one place: ``key-algorithm`` refuses them. Found by offering omshell
#: every word of dhcpd's manual pages and of the strings in its binary; there may be more.
_KEYWORD_TEXT: Final = (
    "abandoned active address after algorithm alias all allow also and append array at atsfp "
    "authenticated authentication authoring-byte-order authoritative auto-partner-down "
    "backoff-cutoff backup balance big-endian billing binary-to-ascii binding boolean "
    "boot-unknown-clients booting bootp bound break case check ciaddr class client-hostname "
    "client-identifier client-state client-updates clients close cltt code commit "
    "communications-interrupted concat config-option connect create db-time-format debug "
    "declines default default-lease-time define defined delete deleted deny do-forward-update "
    "do-forward-updates domain domain-name duplicates dynamic dynamic-bootp "
    "dynamic-bootp-lease-cutoff dynamic-bootp-lease-length else en encapsulate encode-int "
    "ends epoch error ethernet eval execute exists expire expired expiry extract-int failover "
    "fatal fddi filename fixed-address fixed-address6 fixed-prefix6 formerr free function "
    "get-lease-hostnames gethostbyname gethostname giaddr group hardware hash help hex host "
    "host-decl-name host-identifier hostname ia-na ia-pd ia-ta iaaddr iaprefix identifier "
    "ignore include infiniband infinite info initial-delay initial-interval integer interface "
    "ip-address ip6-address is key key-algorithm known known-clients lcase lease "
    "lease-id-format lease-time lease6 leased-address leasequery length let limit "
    "little-endian ll llt load local log match max max-lease-time max-life max-response-delay "
    "max-unacked-updates mclt media members min-lease-time min-secs my nameserver netmask "
    "never new next next-server no noerror normal not notauth notimp notzone null octal omapi "
    "on one-lease-per-client open option or owner packet parse-vendor-option partner "
    "partner-down paused peer pick pick-first-value pool pool6 port potential-conflict "
    "preferred-life prefix6 prepend primary primary6 pseudo range range6 rebind recover "
    "refresh reject release released remove renew request require reserved reset retry return "
    "reverse rewind script search secondary seconds secret select send server server-duid "
    "server-identifier server-name set shared-network shutdown siaddr signed size space spawn "
    "split starts startup state static string subclass subnet subnet6 substring supersede "
    "switch temporary text timeout timestamp token-ring transmission tsfp tstp ucase uid "
    "unauthenticated unknown unknown-clients unset update use-host-decl-names "
    "use-lease-addr-for-default-route user-class v6relay v6relopt vendor vendor-class with "
    "yiaddr zerolen zone"
)
KEYWORDS: Final = frozenset(_KEYWORD_TEXT.split())


class Kind(enum.Enum):
    """Token kinds. Single characters (``=``, ``:``, ``.``, ...) are :attr:`CHAR`."""

    NAME = "name"
    NUMBER = "number"
    NUMBER_OR_NAME = "number-or-name"
    STRING = "string"
    CHAR = "char"
    EOL = "end of line"
    EOF = "end of input"


@dataclass(frozen=True, slots=True)
class Token:
    """One token.

    Attributes:
        kind: its kind.
        text: its text (a string's value, without quotes; ``"\\n"`` for EOL).
        line: the line number warnings print for it.
        lexchar: its column as warnings place the caret (see the module doc).
    """

    kind: Kind
    text: str
    line: int
    lexchar: int

    def is_identifier(self) -> bool:
        """A name or keyword: what omshell takes as an object type, attribute or key name
        (a lone character outside ASCII counts too)."""
        if self.kind is Kind.CHAR:
            return ord(self.text) >= 0x80
        return self.kind in (Kind.NAME, Kind.NUMBER_OR_NAME)

    def is_plain_name(self) -> bool:
        """A NAME that is not a keyword."""
        return self.kind is Kind.NAME and self.text.lower() not in KEYWORDS

    def is_char(self, char: str) -> bool:
        return self.kind is Kind.CHAR and self.text == char

    def is_end(self) -> bool:
        return self.kind in (Kind.EOL, Kind.EOF)

    def keyword(self) -> str | None:
        """The lower-cased text of a NAME, for comparing with keywords."""
        return self.text.lower() if self.kind is Kind.NAME else None


Warn = Callable[[str], None]


class Lexer:
    """Tokens of one input chunk.

    Args:
        text: the chunk, bytes decoded as Latin-1 (so that every byte survives).
        warn: called with each warning's text, three lines with their newlines.
        source: the name warnings give the input.
    """

    def __init__(self, text: str, warn: Warn, source: str = "<STDIN>") -> None:
        self._text = text
        self._warn_out = warn
        self._source = source
        self._i = 0  # next character to read
        self._pushed: str | None = None  # a character read and given back
        self._line = 1
        self._cur: list[str] = []  # the line being read, as warnings print it
        self._col = 1  # column of the next character (1-based)
        self._peeked: Token | None = None
        self._peeked_line: list[str] | None = None
        # the token warnings are about, and the line buffer they print
        self._lexline = 1
        self._lexchar = 0
        self._token_line: list[str] = self._cur
        self._start_line: list[str] = self._cur  # the line the last token read started on

    # ------------------------------------------------------------ characters

    def _getc(self) -> str | None:
        if self._pushed is not None:
            c, self._pushed = self._pushed, None
            return c
        if self._i >= len(self._text):
            return None
        c = self._text[self._i]
        self._i += 1
        if c == "\n":
            self._line += 1
            self._cur = []
            self._col = 1
        else:
            if self._col <= LINE_KEPT:
                self._cur.append(c)
            self._col += 1
        return c

    def _ungetc(self, c: str | None) -> None:
        if c is not None:
            self._pushed = c

    # ------------------------------------------------------------ tokens

    def next(self) -> Token:
        """The next token (consumed)."""
        if self._peeked is not None:
            token, self._peeked = self._peeked, None
            assert self._peeked_line is not None
            self._token_line = self._peeked_line
        else:
            token = self._read()
            # A token ended by the newline shows the (empty) next line.
            self._token_line = self._cur
        self._lexline, self._lexchar = token.line, token.lexchar
        return token

    def peek(self) -> Token:
        """The next token, left to be read by :meth:`next`. Warnings still show the line of
        the last token read."""
        if self._peeked is None:
            self._peeked = self._read()
            # Once consumed, a peeked token's warnings show the line it is on, even when the
            # lexer has read past that line's newline since.
            self._peeked_line = self._start_line
        return self._peeked

    def skip_statement(self) -> None:
        """Skip tokens to the end of the statement: past a ``;`` (outside braces) or up to
        the end of the line, as omshell does after an error."""
        depth = 0
        while True:
            token = self.peek()
            if token.is_end():
                return
            self.next()
            if token.is_char("{"):
                depth += 1
            elif token.is_char("}"):
                if depth <= 1:
                    return
                depth -= 1
            elif token.is_char(";") and depth == 0:
                return

    def warn(self, message: str) -> None:
        """Report ``message`` about the last token read, as omshell's parse warnings look."""
        line = "".join(self._token_line)
        caret: list[str] = []
        for i, c in enumerate(line):
            if i >= self._lexchar - 1:
                break
            caret.append(" ")
            if c == "\t":
                caret.extend(" " * (-len(caret) % 8))
        if self._lexchar > LINE_KEPT:
            caret = []  # past the kept part of the line: the caret goes in column 1
        self._warn_out(
            f"{self._source} line {self._lexline}: {message}\n{line}\n{''.join(caret)}^\n"
        )

    def _start(self, c: str, pushed: bool) -> tuple[int, int]:
        """(line, lexchar) of a token whose first character ``c`` was just read;
        ``pushed``: ``c`` had been read before, as the end of the previous token."""
        start = self._i - 1  # where c is in the text (a given-back c was the last one read)
        line_start = self._text.rfind("\n", 0, start) + 1
        col = start - line_start + 1
        after_blank = start > line_start and self._text[start - 1] in _BLANK
        return self._line, col + (after_blank or pushed)

    def _read(self) -> Token:
        while True:
            pushed = self._pushed is not None
            c = self._getc()
            if c is None:
                return Token(Kind.EOF, "", self._line, self._col)
            self._start_line = self._cur
            if c == "\n":
                return Token(Kind.EOL, c, self._line, self._col)  # the line after it
            if c in _BLANK:
                continue
            if c == "#":
                while (c := self._getc()) is not None and c != "\n":
                    pass
                self._ungetc(c)
                continue
            line, lexchar = self._start(c, pushed)
            self._start_line = self._cur
            if c == '"':
                self._lexline, self._lexchar = line, lexchar
                return Token(Kind.STRING, self._read_string(), line, lexchar)
            if c.isascii() and (c.isdigit() or c == "-"):
                return Token(*self._read_number(c), line, lexchar)
            if c.isascii() and c.isalpha():
                return Token(*self._read_name(c), line, lexchar)
            return Token(Kind.CHAR, c, line, lexchar)

    def _read_string(self) -> str:
        out: list[str] = []
        while True:
            c = self._getc()
            if c is None:
                self.warn("eof in string constant")
                return "".join(out)
            if c == '"':
                return "".join(out)
            if c != "\\":
                out.append(c)
                continue
            c = self._getc()
            if c is None:
                self.warn("eof in string constant")
                return "".join(out)
            if c in _ESCAPES:
                out.append(_ESCAPES[c])
            elif c in "01234567":
                out.append(self._read_escape(c, "01234567", 3, 8))
            elif c == "x":
                out.append(self._read_escape("", "0123456789abcdefABCDEF", 2, 16))
            else:
                out.append(c)

    def _read_escape(self, first: str, digits: str, most: int, base: int) -> str:
        text = first
        while len(text) < most:
            c = self._getc()
            if c is None or c not in digits:
                self._ungetc(c)
                break
            text += c
        return chr(int(text, base) & 0xFF) if text else "\0"

    def _read_number(self, first: str) -> tuple[Kind, str]:
        kind = Kind.NUMBER
        text = first
        while True:
            c = self._getc()
            if c is None or not c.isascii():
                break
            if kind is Kind.NUMBER and c.isdigit():
                pass
            elif c in _HEX and (kind in (Kind.NUMBER, Kind.NUMBER_OR_NAME) or text in ("0x", "0X")):
                kind = Kind.NUMBER_OR_NAME  # hex digits, or the digit after 0x
            elif c in "-_" or c.isalnum():
                kind = Kind.NAME
            else:
                break
            text += c
        self._ungetc(c)
        return kind, text

    def _read_name(self, first: str) -> tuple[Kind, str]:
        kind = Kind.NUMBER_OR_NAME
        text = first
        while True:
            c = self._getc()
            if c is None or not c.isascii() or not (c in "-_" or c.isalnum()):
                break
            if c not in _HEX:
                kind = Kind.NAME
            text += c
        self._ungetc(c)
        return kind, text
