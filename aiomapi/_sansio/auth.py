"""Keys and authenticators.

Theory of operation
-------------------
An OMAPI key is what ``dhcpd.conf`` declares::

    key omapi_key { algorithm hmac-md5; secret "base64…"; };

A client opens the key as an *authenticator* on each connection (an unsigned OPEN carrying
the key's name and algorithm string), and the server answers with the authenticator's handle,
the ``authid`` every later message carries. Messages are signed with
``HMAC-<alg>(secret, message[4:end of object list])`` and the full digest is appended.
dhcpd accepts HMAC-MD5, SHA1, SHA224, SHA256, SHA384 and SHA512 (docs/dhcpd-behaviour.md,
"Authentication").

:class:`Signer` keeps one keyed ``cryptography`` HMAC context and copies it per message, so
the key schedule is computed once per connection rather than once per message. Verification
uses ``HMAC.verify``, which compares in constant time. Where the compiled hot path is in
use (docs/speedups.md), an ``hmac-md5`` key signs with its compiled signer instead
(``_hmac.pyx``, MD5 from OpenSSL's libcrypto), which keeps the two keyed MD5 states the same
way and has the same methods and errors.

Nothing a user typed as a key is ever echoed
---------------------------------------------
A key spec is positional (``NAME:SECRET``), so a swapped spec puts the secret where the name
belongs, and a malformed one can put it where the algorithm belongs; a broken ``dhcpd.conf``
stanza can do the same. No message, ``repr`` or exception made here therefore contains any
part of a key spec or key file: not the secret, not the name (which may be the secret), not
a rejected algorithm string, not the names of other keys in a file. A key is shown by
:attr:`Key.label`, e.g. ``key #3f2a9c1b (hmac-md5)``: the algorithm, which is checked against
a fixed list, and the first 32 bits of the SHA-256 of the name (:func:`key_fingerprint`), so
that an operator can still tell keys apart. The fingerprint gives an attacker nothing new even
when the name is the secret: every signed OMAPI message already lets an eavesdropper test a
guessed secret, against a full HMAC rather than 32 bits of a hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac

from aiomapi import _speedups

if TYPE_CHECKING:
    from aiomapi._sansio.wire import Frame
from aiomapi.errors import AuthenticationError

_compiled_hmac = _speedups.compiled(_speedups.HMAC_MODULE)

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "hmac-md5": hashes.MD5,
    "hmac-sha1": hashes.SHA1,
    "hmac-sha224": hashes.SHA224,
    "hmac-sha256": hashes.SHA256,
    "hmac-sha384": hashes.SHA384,
    "hmac-sha512": hashes.SHA512,
}
#: Algorithms dhcpd 4.4 accepts for an ``omapi-key`` (docs/dhcpd-behaviour.md, "Authentication").
ALGORITHMS: tuple[str, ...] = tuple(_HASHES)
_SUFFIX = ".SIG-ALG.REG.INT."
# 128 bits, the secret tsig-keygen makes for HMAC-MD5 (its weakest algorithm): a key spec's
# name that decodes to this much is taken for a secret given in the name's place.
_SECRET_LOOKALIKE_BYTES = 16
_SPEC_FORMS = "a key is given as NAME:SECRET or ALGORITHM:NAME:SECRET"


def normalise_algorithm(algorithm: str) -> str:
    """The short lower-case name (``hmac-md5``) for any spelling dhcpd or omshell accepts.

    Raises:
        ValueError: the algorithm is not one dhcpd supports for OMAPI. The message does not
            repeat the string given: in a swapped key spec it can be the secret.
    """
    name = algorithm.strip().lower().rstrip(".")
    if name.endswith(_SUFFIX.lower().rstrip(".")):
        name = name[: -len(_SUFFIX) + 1]
    if name not in _HASHES:
        raise ValueError("unsupported OMAPI key algorithm; dhcpd accepts " + ", ".join(ALGORITHMS))
    return name


def key_fingerprint(name: str) -> str:
    """The fingerprint that :attr:`Key.label` shows for a key called ``name``.

    ``#`` and the first 8 hex digits of the SHA-256 of the name in UTF-8. Compute it for the
    names you know to find which key a message is about.
    """
    return "#" + hashlib.sha256(name.encode(errors="surrogatepass")).hexdigest()[:8]


def _looks_like_a_secret(text: str) -> bool:
    """Whether ``text`` is padded base64 of at least 16 bytes, as generated secrets are.

    A key name that passes has 24 or more characters, all letters, digits, ``+`` or ``/``,
    and a length divisible by four: possible, but not the names people give keys.
    """
    try:
        return len(base64.b64decode(text.strip(), validate=True)) >= _SECRET_LOOKALIKE_BYTES
    except (binascii.Error, ValueError):
        return False


@dataclass(frozen=True, slots=True)
class Key:
    """An OMAPI key as ``dhcpd.conf`` declares it.

    Args:
        name: the key's name (``key NAME { … }``).
        secret: the secret in base64, exactly as ``dhcpd.conf`` writes it.
        algorithm: ``hmac-md5`` (the default, as for omshell) or ``hmac-sha1`` …
            ``hmac-sha512``; dhcpd's long form ``HMAC-MD5.SIG-ALG.REG.INT.`` is accepted too.

    Raises:
        ValueError: the secret is not valid base64, is empty, or the algorithm is unknown.
            The message names neither the key nor the secret (see the module doc).
    """

    name: str = field(repr=False)
    secret: str = field(repr=False)
    algorithm: str = "hmac-md5"
    _raw: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a key needs a name")
        object.__setattr__(self, "algorithm", normalise_algorithm(self.algorithm))
        # Decoded outside the handler so that no exception made here carries the secret's
        # decoding error as its __context__.
        raw: bytes | None
        try:
            raw = base64.b64decode(self.secret.strip(), validate=True)
        except (binascii.Error, ValueError):
            raw = None
        if raw is None:
            hint = (
                ", and its name looks like a secret: were name and secret swapped?"
                if _looks_like_a_secret(self.name)
                else ""
            )
            raise ValueError(f"the key's secret is not valid base64{hint}")
        if not raw:
            raise ValueError("the key's secret is empty")
        object.__setattr__(self, "_raw", raw)

    def __repr__(self) -> str:
        return f"Key(name={self.fingerprint}, algorithm={self.algorithm!r}, secret=<hidden>)"

    __str__ = __repr__

    @property
    def fingerprint(self) -> str:
        """:func:`key_fingerprint` of the name: shows which key without showing the name."""
        return key_fingerprint(self.name)

    @property
    def label(self) -> str:
        """How messages refer to this key, e.g. ``key #3f2a9c1b (hmac-md5)``.

        Neither the name nor the secret appears: when a key spec was given the wrong way
        round, the name is the secret.
        """
        return f"key {self.fingerprint} ({self.algorithm})"

    @classmethod
    def from_spec(cls, spec: str) -> Key:
        """A key from ``NAME:SECRET`` or ``ALGORITHM:NAME:SECRET`` (as the CLI takes it).

        Base64 has no ``:``, so the parts split unambiguously.

        Raises:
            ValueError: not one of the two forms; the parts make no key; or the NAME part
                looks like a generated secret and the SECRET part does not (given the wrong
                way round, the secret would be sent to the server in clear as the key's
                name). No message repeats any part of the spec.
        """
        parts = spec.split(":")
        if len(parts) == 2:
            parts.insert(0, "hmac-md5")
        if len(parts) != 3:
            raise ValueError(_SPEC_FORMS)
        algorithm, name, secret = parts
        if _looks_like_a_secret(name) and not _looks_like_a_secret(secret):
            raise ValueError(
                f"the NAME part of the key looks like a secret and the SECRET part does not: "
                f"were they swapped? ({_SPEC_FORMS})"
            )
        return cls(name, secret, algorithm)

    @classmethod
    def generate(cls, name: str, algorithm: str = "hmac-md5", size: int = 32) -> Key:
        """A new key with ``size`` random bytes of secret."""
        return cls(name, base64.b64encode(os.urandom(size)).decode(), algorithm)

    @property
    def wire_algorithm(self) -> str:
        """The algorithm string sent to dhcpd, e.g. ``HMAC-MD5.SIG-ALG.REG.INT.``."""
        return self.algorithm.upper() + _SUFFIX

    @property
    def digest_size(self) -> int:
        """Length of a signature made with this key."""
        return _HASHES[self.algorithm].digest_size  # type: ignore[return-value]

    def signer(self) -> Signer:
        """A :class:`Signer` for this key (compiled for ``hmac-md5`` where it can be)."""
        if self.algorithm == "hmac-md5" and _compiled_hmac is not None:
            signer: Signer = _compiled_hmac.HmacMd5Signer(self._raw)
            return signer
        return Signer(self._raw, self.algorithm)

    def dhcpd_conf(self) -> str:
        """The ``key`` stanza for ``dhcpd.conf``. Contains the secret: handle with care."""
        return f'key {self.name} {{ algorithm {self.algorithm}; secret "{self.secret}"; }};\n'

    @classmethod
    def from_dhcpd_conf(cls, path: str | os.PathLike[str], name: str | None = None) -> Key:
        """Read a ``key`` stanza from a ``dhcpd.conf`` (or ``omapi.conf``) file.

        Args:
            path: the configuration file.
            name: the key to read. ``None`` picks the key named by ``omapi-key``, or the
                only key in the file.

        Raises:
            ValueError: no such key, several keys and none chosen, a malformed stanza, or
                the file is not UTF-8. The message gives the path, never the file's text.
            OSError: the file cannot be read.
        """
        data = Path(path).read_bytes()
        # Decoded outside the handler: a UnicodeDecodeError shows a byte of the file and
        # carries all of it, and must not ride along as __context__.
        try:
            text = data.decode()
        except UnicodeDecodeError as exc:
            bad = exc.start
        else:
            return parse_keys(text, name, str(path))
        raise ValueError(f"{path}: not UTF-8 text (at byte offset {bad})")


#: dhcpd.conf comments run from ``#`` to the end of the line, outside quoted strings. (Not
#: ``//``: a base64 secret can contain it.)
_COMMENT = re.compile(r'("(?:[^"\\]|\\.)*")|#[^\n]*')
_KEY_STANZA = re.compile(r'\bkey\s+("([^"]+)"|[^\s{;]+)\s*\{(.*?)\}\s*;?', re.S)
_OMAPI_KEY = re.compile(r'\bomapi-key\s+("([^"]+)"|[^\s;]+)\s*;')
_ALGORITHM = re.compile(r"\balgorithm\s+([^\s;]+)\s*;")
_SECRET = re.compile(r'\bsecret\s+("([^"]*)"|[^\s;]+)\s*;')


def parse_keys(text: str, name: str | None = None, source: str = "configuration") -> Key:
    """Pick one key out of ``dhcpd.conf`` text (see :meth:`Key.from_dhcpd_conf`).

    Messages give ``source`` and counts, never names or other text of the file (a broken
    stanza can put the secret anywhere).
    """
    text = _COMMENT.sub(lambda m: m.group(1) or "", text)
    stanzas: dict[str, str] = {}
    for match in _KEY_STANZA.finditer(text):
        stanzas[match.group(2) or match.group(1)] = match.group(3)
    declares = f"it declares {len(stanzas)} key{'' if len(stanzas) == 1 else 's'}"
    if name is None:
        chosen = _OMAPI_KEY.search(text)
        if chosen:
            name = chosen.group(2) or chosen.group(1)
            if name not in stanzas:
                raise ValueError(f"{source}: omapi-key names a key not declared ({declares})")
        elif len(stanzas) == 1:
            name = next(iter(stanzas))
        else:
            raise ValueError(f"{source}: name the key to use ({declares}, no omapi-key)")
    body = stanzas.get(name)
    if body is None:
        raise ValueError(f"{source}: no key by the name asked for ({declares})")
    algorithm = _ALGORITHM.search(body)
    secret = _SECRET.search(body)
    if secret is None:
        raise ValueError(f"{source}: the key has no secret statement")
    value = secret.group(2) if secret.group(2) is not None else secret.group(1)
    try:
        return Key(name, value, algorithm.group(1) if algorithm else "hmac-md5")
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


class Signer:
    """Signs and verifies messages with one key; reuses a keyed HMAC context."""

    __slots__ = ("_base", "digest_size")

    def __init__(self, secret: bytes, algorithm: str) -> None:
        algo = _HASHES[normalise_algorithm(algorithm)]()
        self._base = hmac.HMAC(secret, algo)
        self.digest_size: int = algo.digest_size

    def __repr__(self) -> str:
        return f"<Signer digest_size={self.digest_size}>"

    def sign(self, data: bytes | memoryview) -> bytes:
        """The signature of ``data`` (the signed region of a message)."""
        ctx = self._base.copy()
        ctx.update(data)
        return ctx.finalize()

    def sign_body(self, body: bytes) -> bytes:
        """``body`` (a message up to the end of its object list) with its signature."""
        return body + self.sign(memoryview(body)[4:])

    def verify_frame(self, frame: Frame) -> None:
        """Check ``frame``'s signature over its signed region, in constant time.

        Raises:
            AuthenticationError: the signature does not match.
        """
        self.verify(frame.signed_region, frame.signature)

    def verify(self, data: bytes | memoryview, signature: bytes) -> None:
        """Check ``signature`` over ``data`` in constant time.

        Raises:
            AuthenticationError: the signature does not match.
        """
        if len(signature) != self.digest_size:
            raise AuthenticationError(
                f"signature is {len(signature)} bytes, expected {self.digest_size}"
            )
        ctx = self._base.copy()
        ctx.update(data)
        try:
            ctx.verify(signature)
        except InvalidSignature:
            raise AuthenticationError("signature does not verify") from None
