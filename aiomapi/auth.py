"""Keys and authenticators.

Theory of operation
-------------------
An OMAPI key is what ``dhcpd.conf`` declares::

    key omapi_key { algorithm hmac-md5; secret "base64…"; };

A client opens the key as an *authenticator* on each connection (an unsigned OPEN carrying
the key's name and algorithm string), and the server answers with the authenticator's handle,
the ``authid`` every later message carries. Messages are signed with
``HMAC-<alg>(secret, message[4:end of object list])`` and the full digest is appended
(reference §1.4–1.5). dhcpd accepts HMAC-MD5, SHA1, SHA224, SHA256, SHA384 and SHA512 (§4).

:class:`Signer` keeps one keyed ``cryptography`` HMAC context and copies it per message, so
the key schedule is computed once per connection rather than once per message. Verification
uses ``HMAC.verify``, which compares in constant time.

The secret never appears in a ``repr``, log line or exception message.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac

from .errors import AuthenticationError

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "hmac-md5": hashes.MD5,
    "hmac-sha1": hashes.SHA1,
    "hmac-sha224": hashes.SHA224,
    "hmac-sha256": hashes.SHA256,
    "hmac-sha384": hashes.SHA384,
    "hmac-sha512": hashes.SHA512,
}
#: Algorithms dhcpd 4.4 accepts for an ``omapi-key`` (reference §4).
ALGORITHMS: tuple[str, ...] = tuple(_HASHES)
_SUFFIX = ".SIG-ALG.REG.INT."


def normalise_algorithm(algorithm: str) -> str:
    """The short lower-case name (``hmac-md5``) for any spelling dhcpd or omshell accepts.

    Raises:
        ValueError: the algorithm is not one dhcpd supports for OMAPI.
    """
    name = algorithm.strip().lower().rstrip(".")
    if name.endswith(_SUFFIX.lower().rstrip(".")):
        name = name[: -len(_SUFFIX) + 1]
    if name not in _HASHES:
        raise ValueError(
            f"unsupported OMAPI key algorithm {algorithm!r}; dhcpd accepts " + ", ".join(ALGORITHMS)
        )
    return name


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
    """

    name: str
    secret: str = field(repr=False)
    algorithm: str = "hmac-md5"
    _raw: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a key needs a name")
        object.__setattr__(self, "algorithm", normalise_algorithm(self.algorithm))
        try:
            raw = base64.b64decode(self.secret.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"the secret of key {self.name!r} is not valid base64") from None
        if not raw:
            raise ValueError(f"the secret of key {self.name!r} is empty")
        object.__setattr__(self, "_raw", raw)

    def __repr__(self) -> str:
        return f"Key(name={self.name!r}, algorithm={self.algorithm!r}, secret=<hidden>)"

    __str__ = __repr__

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
        """A :class:`Signer` for this key."""
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
            ValueError: no such key, several keys and none chosen, or a malformed stanza.
        """
        return parse_keys(Path(path).read_text(), name, str(path))


_COMMENT = re.compile(r"#[^\n]*|//[^\n]*|/\*.*?\*/", re.S)
_KEY_STANZA = re.compile(r'\bkey\s+("([^"]+)"|[^\s{;]+)\s*\{(.*?)\}\s*;?', re.S)
_OMAPI_KEY = re.compile(r'\bomapi-key\s+("([^"]+)"|[^\s;]+)\s*;')
_ALGORITHM = re.compile(r"\balgorithm\s+([^\s;]+)\s*;")
_SECRET = re.compile(r'\bsecret\s+("([^"]*)"|[^\s;]+)\s*;')


def parse_keys(text: str, name: str | None = None, source: str = "configuration") -> Key:
    """Pick one key out of ``dhcpd.conf`` text (see :meth:`Key.from_dhcpd_conf`)."""
    text = _COMMENT.sub("", text)
    stanzas: dict[str, str] = {}
    for match in _KEY_STANZA.finditer(text):
        stanzas[match.group(2) or match.group(1)] = match.group(3)
    if name is None:
        chosen = _OMAPI_KEY.search(text)
        if chosen:
            name = chosen.group(2) or chosen.group(1)
        elif len(stanzas) == 1:
            name = next(iter(stanzas))
        else:
            found = ", ".join(sorted(stanzas)) or "none"
            raise ValueError(f"{source}: name the key to use (keys found: {found})")
    body = stanzas.get(name)
    if body is None:
        raise ValueError(f"{source}: no key named {name!r}")
    algorithm = _ALGORITHM.search(body)
    secret = _SECRET.search(body)
    if secret is None:
        raise ValueError(f"{source}: key {name!r} has no secret")
    value = secret.group(2) if secret.group(2) is not None else secret.group(1)
    return Key(name, value, algorithm.group(1) if algorithm else "hmac-md5")


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
