"""Keys, algorithm names, signing and verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiomapi import ALGORITHMS, AuthenticationError, Key
from aiomapi._sansio.auth import normalise_algorithm

SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
STDLIB = {
    "hmac-md5": hashlib.md5,
    "hmac-sha1": hashlib.sha1,
    "hmac-sha224": hashlib.sha224,
    "hmac-sha256": hashlib.sha256,
    "hmac-sha384": hashlib.sha384,
    "hmac-sha512": hashlib.sha512,
}


def test_all_dhcpd_algorithms_are_supported() -> None:
    assert set(ALGORITHMS) == set(STDLIB)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_signature_matches_an_independent_hmac(algorithm: str) -> None:
    data = b"\x00\x00\x00\x10" + bytes(range(200))
    expected = hmac.new(base64.b64decode(SECRET), data, STDLIB[algorithm]).digest()
    signer = Key("k", SECRET, algorithm).signer()
    assert signer.sign(data) == expected
    assert signer.digest_size == len(expected)
    signer.verify(data, expected)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_verify_rejects_flipped_bits_and_wrong_lengths(algorithm: str) -> None:
    signer = Key("k", SECRET, algorithm).signer()
    good = signer.sign(b"payload")
    bad = bytes([good[0] ^ 1]) + good[1:]
    with pytest.raises(AuthenticationError, match="does not verify"):
        signer.verify(b"payload", bad)
    with pytest.raises(AuthenticationError, match="bytes"):
        signer.verify(b"payload", good[:-1])
    with pytest.raises(AuthenticationError):
        signer.verify(b"payload!", good)


@pytest.mark.parametrize(
    ("spelling", "short", "wire"),
    [
        ("hmac-md5", "hmac-md5", "HMAC-MD5.SIG-ALG.REG.INT."),
        ("HMAC-SHA256", "hmac-sha256", "HMAC-SHA256.SIG-ALG.REG.INT."),
        ("hmac-sha512.SIG-ALG.REG.INT.", "hmac-sha512", "HMAC-SHA512.SIG-ALG.REG.INT."),
        ("HMAC-SHA1.sig-alg.reg.int", "hmac-sha1", "HMAC-SHA1.SIG-ALG.REG.INT."),
    ],
)
def test_algorithm_spellings(spelling: str, short: str, wire: str) -> None:
    key = Key("k", SECRET, spelling)
    assert key.algorithm == short
    # the trailing dot is required by dhcpd (docs/dhcpd-behaviour.md, "Authentication")
    assert key.wire_algorithm == wire


@pytest.mark.parametrize("bad", ["hmac-md4", "md5", "", "hmac-sha256.example."])
def test_unknown_algorithms_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        normalise_algorithm(bad)


def test_bad_secrets_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="not valid base64") as info:
        Key("k", "not*base64!")
    assert "not*base64!" not in str(info.value)
    with pytest.raises(ValueError, match="empty"):
        Key("k", "")


@given(st.binary(min_size=8, max_size=64))
def test_secret_never_appears_in_repr_or_str(raw: bytes) -> None:
    secret = base64.b64encode(raw).decode()
    key = Key("omapi_key", secret)
    for text in (repr(key), str(key), repr(key.signer()), f"{key}", f"{key!r}", key.label):
        assert secret not in text
        # Nor the name: given the wrong way round, the name is the secret.
        assert "omapi_key" not in text
        assert key.fingerprint in text or "Signer" in text


def test_secret_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    key = Key("omapi_key", SECRET)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("aiomapi").info("using %s and %r", key, key)
    assert SECRET not in caplog.text
    assert "hidden" in caplog.text


def test_keys_compare_by_value() -> None:
    assert Key("k", SECRET) == Key("k", SECRET, "HMAC-MD5")
    assert Key("k", SECRET) != Key("k", SECRET, "hmac-sha1")


CONF = """
# a dhcpd.conf
key other { algorithm hmac-md5; secret "b3RoZXI="; };
key "omapi_key" {
    algorithm hmac-sha256;   # comment
    secret "%s";
};
omapi-port 7911;
omapi-key omapi_key;
subnet 10.0.0.0 netmask 255.0.0.0 { }
"""


def test_from_dhcpd_conf_picks_the_omapi_key(tmp_path: Path) -> None:
    path = tmp_path / "dhcpd.conf"
    path.write_text(CONF % SECRET)
    key = Key.from_dhcpd_conf(path)
    assert key == Key("omapi_key", SECRET, "hmac-sha256")
    assert Key.from_dhcpd_conf(path, "other") == Key("other", "b3RoZXI=")


def test_from_dhcpd_conf_errors(tmp_path: Path) -> None:
    path = tmp_path / "dhcpd.conf"
    path.write_text('key a { secret "YQ=="; }; key b { secret "Yg=="; };')
    with pytest.raises(ValueError, match="name the key"):
        Key.from_dhcpd_conf(path)
    with pytest.raises(ValueError, match="no key by the name asked for"):
        Key.from_dhcpd_conf(path, "c")
    assert Key.from_dhcpd_conf(path, "a").algorithm == "hmac-md5"  # dhcpd's default
    path.write_text("key a { algorithm hmac-md5; };")
    with pytest.raises(ValueError, match="no secret"):
        Key.from_dhcpd_conf(path)


def test_dhcpd_conf_stanza_round_trips(tmp_path: Path) -> None:
    key = Key.generate("gen", "hmac-sha384")
    path = tmp_path / "k.conf"
    path.write_text(key.dhcpd_conf())
    assert Key.from_dhcpd_conf(path) == key


def test_a_secret_with_slashes_survives_the_comment_stripper(tmp_path: Path) -> None:
    """Base64 secrets can hold ``//`` (and dhcpd.conf has only ``#`` comments): one random
    secret in 64 has it, so this once failed the round trip above at random."""
    secret = base64.b64encode(b"\xff\xff\xff" * 8).decode()
    assert "//" in secret
    path = tmp_path / "k.conf"
    path.write_text(f'# a comment\nkey "k#1" {{ secret "{secret}"; }}; # trailing\n')
    key = Key.from_dhcpd_conf(path)
    assert key == Key("k#1", secret)
