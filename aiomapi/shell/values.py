"""How omshell reads a value typed after ``set`` (and a ``port`` or a key secret).

omshell's lexer hands over tokens; these functions turn them into bytes or numbers exactly as
omshell (dhcpctl/omshell.c, C ``atoi`` on a 64-bit machine) does, warnings included:

* a number is C ``atoi`` saturated to a long, then taken as a C int (:func:`atoi`,
  :func:`int32`);
* ``10.1.2.3`` is octets, any count of them, an empty one (``1..2``) being 0
  (:func:`dotted`);
* ``01:02:ab`` is octets in hex (:func:`colon_hex`);
* a key secret is base64 spread over as many tokens as the lexer made of it
  (:func:`parse_base64`).
"""

from __future__ import annotations

import base64

from .lexer import Kind, Lexer, Token

__all__ = ["atoi", "b64", "colon_hex", "dotted", "int32", "parse_base64"]

_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_LONG_MAX = 2**63 - 1


def atoi(text: str) -> int:
    """C ``atoi`` on a 64-bit machine: sign and leading digits, saturated to a long."""
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("-")[: len(text)]
    n = 0
    for c in digits:
        if not c.isdigit():
            break
        n = n * 10 + int(c)
    return max(-_LONG_MAX - 1, min(_LONG_MAX, sign * n))


def int32(n: int) -> int:
    """``n`` as a C int (two's complement, 32 bits)."""
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n >= 1 << 31 else n


def dotted(first: Token, lexer: Lexer) -> tuple[bytes, Token] | None:
    """Octets typed as ``10.1.2.3`` (any count; an empty octet, ``1..2``, is 0). Returns the
    octets and the token after them, or ``None`` after warning of an octet above 255."""
    octets = bytearray()
    token = first
    while token.kind is Kind.NUMBER:
        n = int32(atoi(token.text))
        if n > 255:
            lexer.warn(f"dotted octet > 255: {token.text}")
            lexer.skip_statement()
            return None
        octets.append(n & 0xFF)
        token = lexer.next()
        if not token.is_char("."):
            break
        token = lexer.next()
        while token.is_char("."):
            octets.append(0)
            token = lexer.next()
    return bytes(octets), token


def colon_hex(first: Token, lexer: Lexer) -> tuple[bytes, Token]:
    """Octets typed as ``01:02:ab``. Returns the octets and the token after them."""
    octets = bytearray()
    token = first
    while True:
        octets.append(_hex_octet(token, lexer))
        token = lexer.next()
        if not token.is_char(":"):
            return bytes(octets), token
        token = lexer.next()
        if token.kind not in (Kind.NUMBER, Kind.NUMBER_OR_NAME):
            return bytes(octets), token


def _hex_octet(token: Token, lexer: Lexer) -> int:
    """One octet of a colon-hex value, with omshell's warnings for a bad one."""
    text = token.text
    negative = text.startswith("-")
    value = 0
    for c in text[negative:]:
        if c.isdigit():
            digit = ord(c) - ord("0")
        elif c.isalpha():
            digit = ord(c.lower()) - ord("a") + 10
        else:
            digit = 99
        if digit >= 16:
            lexer.warn(f"Bogus number {text}: digit {digit} not in base 16")
            return 0
        value = value * 16 + digit
    limit = 128 if negative else 255
    if value > limit:
        lexer.warn(f"{'-' if negative else ''}{value:x} exceeds max ({limit}) for precision.")
    return (-value if negative else value) & 0xFF


def parse_base64(lexer: Lexer) -> bytes | None:
    """A key secret: the next token and every base64-looking token after it, decoded.

    Returns ``None`` after warning of a character that is not base64.
    """
    text = lexer.next().text  # the first token, whatever it is
    while _base64_part(lexer.peek(), padded=text.endswith("=")):
        text += lexer.next().text
    out = bytearray()
    acc = bits = 0
    for c in text:
        if c == "=":
            continue
        digit = _BASE64.find(c)
        if digit < 0:
            code = ord(c) - 256 if ord(c) >= 0x80 else ord(c)  # a C char is signed
            lexer.warn(f"invalid base64 character {code}.")
            lexer.skip_statement()
            return None
        acc, bits = (acc << 6) | digit, bits + 6
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
            acc &= (1 << bits) - 1
    if acc:
        lexer.warn(f"partial base64 value left over: {acc}.")
    return bytes(out)


def _base64_part(token: Token, *, padded: bool) -> bool:
    """Whether ``token`` continues a key secret (after padding, only more padding)."""
    if token.is_char("="):
        return True
    if padded or token.kind in (Kind.EOL, Kind.EOF):
        return False
    return token.text[:1] in _BASE64 and (token.kind is not Kind.CHAR or token.text in "+/")


def b64(secret: bytes) -> str:
    return base64.b64encode(secret).decode("ascii")
