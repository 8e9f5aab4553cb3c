"""Load balancing rules as pure functions, and explain_who_serves / who-serves on fake servers.

What dhcpd itself does is checked in test_loadbalance_dhcpd.py; here the functions are held
to the rules (property tests) and to answers seen on the real pair.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

import aiomapi
from aiomapi import FailoverState, MacAddress
from aiomapi.failover import explain_who_serves
from aiomapi.failover.cli import add_who_serves_parser, decision_json, run_who_serves
from aiomapi.failover.loadbalance import (
    HBA_LEN,
    Decision,
    bucket_owner,
    client_key,
    hba_from_split,
    load_balance_hash,
    parse_client_id,
    service_of,
    who_serves,
)
from aiomapi.testing import FakeDhcpd, FakeFailoverPeer

S = FailoverState
SPLIT_128 = hba_from_split(128)
hbas = st.binary(min_size=HBA_LEN, max_size=HBA_LEN)
macs = st.binary(min_size=1, max_size=16)
buckets = st.integers(0, 255)


# ---------------------------------------------------------------- the hash


def test_single_byte_keys_run_through_a_permutation() -> None:
    # A one-byte key b hashes to T[1 ^ b], so these are the table's 256 entries.
    assert sorted(load_balance_hash(bytes([b])) for b in range(256)) == list(range(256))


def test_empty_key_is_bucket_zero() -> None:
    assert load_balance_hash(b"") == 0


@given(st.binary(max_size=600))
def test_bucket_is_a_byte(key: bytes) -> None:
    assert 0 <= load_balance_hash(key) <= 255


@given(st.binary(min_size=1, max_size=64))
def test_key_is_walked_from_its_last_byte(key: bytes) -> None:
    # The last step takes the first byte: hashing the key is one table step applied to
    # the state left by the rest of the key, walked from the same length seed.
    table = [load_balance_hash(bytes([1 ^ i])) for i in range(256)]
    h = len(key) & 0xFF
    for byte in key[:0:-1]:
        h = table[h ^ byte]
    assert load_balance_hash(key) == table[h ^ key[0]]


@given(st.binary(min_size=300, max_size=600))
def test_long_keys_seed_with_length_modulo_256(key: bytes) -> None:
    table = [load_balance_hash(bytes([1 ^ i])) for i in range(256)]
    h = len(key) % 256
    for byte in reversed(key):
        h = table[h ^ byte]
    assert load_balance_hash(key) == h


# Buckets of lab hardware addresses (dhcpd_lab.lease_mac) whose owners the real pair
# confirmed, under split 128 and under the test's custom HBA.
@pytest.mark.parametrize(
    ("mac", "bucket"),
    [
        ("02:00:00:00:00:00", 4),
        ("02:00:00:00:00:01", 133),
        ("02:00:00:00:00:02", 45),
        ("02:00:00:00:00:03", 182),
        ("02:00:00:00:00:04", 150),
        ("02:00:00:00:00:05", 13),
    ],
)
def test_known_buckets(mac: str, bucket: int) -> None:
    assert load_balance_hash(client_key(mac=mac)) == bucket


# ---------------------------------------------------------------- keys


def test_key_is_the_hardware_address_without_its_type() -> None:
    assert client_key(mac="02:00:00:00:00:01") == bytes.fromhex("020000000001")
    assert client_key(mac=MacAddress("0200.0000.0001")) == bytes.fromhex("020000000001")
    assert client_key(mac=bytes(range(16))) == bytes(range(16))


def test_client_identifier_wins_and_is_hashed_whole() -> None:
    key = client_key(mac="02:00:00:00:00:01", client_id="01:02:00:00:00:00:01")
    assert key == bytes.fromhex("01020000000001")  # the type byte stays in
    assert client_key(client_id=b"\x00abc") == b"\x00abc"
    assert client_key(client_id="laptop-7") == b"laptop-7"  # not hex octets: text


def test_bad_keys() -> None:
    with pytest.raises(TypeError):
        client_key()
    with pytest.raises(ValueError, match="at most 16"):
        client_key(mac=bytes(17))  # chaddr is 16 bytes
    with pytest.raises(ValueError, match="at least one byte"):
        client_key(client_id=b"")
    with pytest.raises(TypeError):
        parse_client_id(7)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "raw"),
    [("01:aa:bb", b"\x01\xaa\xbb"), ("1-a", b"\x01\x0a"), ("ab", b"ab"), ("01:zz", b"01:zz")],
)
def test_client_id_spellings(text: str, raw: bytes) -> None:
    assert parse_client_id(text) == raw


# ---------------------------------------------------------------- the HBA


@given(hbas, buckets)
def test_owner_is_the_buckets_bit_least_significant_first(hba: bytes, bucket: int) -> None:
    # Least significant bit first within each byte = bit ``bucket`` of the HBA read as a
    # little-endian integer.
    bit = int.from_bytes(hba, "little") >> bucket & 1
    assert bucket_owner(hba, bucket) == ("primary" if bit else "secondary")


@given(st.integers(0, 256))
def test_split_gives_the_first_n_buckets_to_the_primary(n: int) -> None:
    hba = hba_from_split(n)
    assert len(hba) == HBA_LEN
    assert sum(bin(b).count("1") for b in hba) == n
    assert all(bucket_owner(hba, b) == ("primary" if b < n else "secondary") for b in range(256))


def test_split_128_is_sixteen_ff_then_sixteen_00() -> None:
    assert bytes([0xFF] * 16 + [0] * 16) == SPLIT_128
    assert hba_from_split(100)[12] == 0x0F  # buckets 96..99: the low four bits


def test_bad_hba_and_buckets() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        bucket_owner(bytes(31), 0)
    with pytest.raises(ValueError, match=r"0\.\.255"):
        bucket_owner(SPLIT_128, 256)
    with pytest.raises(ValueError, match=r"0\.\.256"):
        hba_from_split(257)


# ---------------------------------------------------------------- who serves


@given(hbas, macs, st.integers(1, 0xFFFF), st.integers(0, 0xFFFF))
def test_normal_pair_within_max_secs_owner_alone_answers(
    hba: bytes, mac: bytes, max_secs: int, secs: int
) -> None:
    d = who_serves(hba, max_secs, mac=mac, secs=secs)
    assert d.bucket == load_balance_hash(mac)
    assert (d.hba_byte, d.hba_bit) == (d.bucket >> 3, d.bucket & 7)
    assert d.bucket_owner == bucket_owner(hba, d.bucket)
    assert d.serving == ("both" if secs > max_secs else d.bucket_owner)


@given(hbas, macs, st.integers(0, 0xFFFF))
def test_without_max_secs_both_answer(hba: bytes, mac: bytes, secs: int) -> None:
    assert who_serves(hba, 0, mac=mac, secs=secs).serving == "both"


@given(macs)
def test_without_an_hba_a_normal_pair_answers_nobody(mac: bytes) -> None:
    d = who_serves(None, 5, mac=mac)
    assert (d.bucket_owner, d.serving) == (None, "none")
    assert who_serves(None, 5, mac=mac, secs=6).serving == "both"


def test_each_peer_uses_its_own_max_secs() -> None:
    # 02:00:00:00:00:00 is bucket 4, the primary's under split 128.
    mac = "02:00:00:00:00:00"
    assert who_serves(SPLIT_128, 5, mac=mac, secs=7, secondary_max_secs=9).serving == "primary"
    assert who_serves(SPLIT_128, 5, mac=mac, secs=10, secondary_max_secs=9).serving == "both"
    other = "02:00:00:00:00:01"  # bucket 133: the secondary's
    assert who_serves(SPLIT_128, 9, mac=mac, secs=7, secondary_max_secs=5).serving == "both"
    assert who_serves(SPLIT_128, 9, mac=other, secs=7, secondary_max_secs=5).serving == "secondary"
    assert who_serves(SPLIT_128, 5, mac=other, secs=5).serving == "secondary"  # not greater


@pytest.mark.parametrize(
    ("state", "service"),
    [
        (S.NORMAL, "cooperating"),
        (S.COMMUNICATIONS_INTERRUPTED, "own-pool"),
        (S.PARTNER_DOWN, "partner-down"),
        *(
            (s, "silent")
            for s in S
            if s not in (S.NORMAL, S.COMMUNICATIONS_INTERRUPTED, S.PARTNER_DOWN)
        ),
    ],
)
def test_service_of_each_state(state: S, service: str) -> None:
    assert service_of(state) == service
    assert service_of(int(state)) == service


_ANSWERS = {"cooperating": None, "own-pool": True, "partner-down": True, "silent": False}


@given(st.sampled_from([*S, None]), st.sampled_from([*S, None]), macs)
def test_states_decide_before_the_hash(primary: S | None, secondary: S | None, mac: bytes) -> None:
    d = who_serves(SPLIT_128, 5, mac=mac, primary_state=primary, secondary_state=secondary)
    answers = []
    for role, state in (("primary", primary), ("secondary", secondary)):
        rule = False if state is None else _ANSWERS[service_of(state)]
        if rule is None:  # normal: the hash decides
            rule = d.bucket_owner == role
        if rule:
            answers.append(role)
    assert d.serving == ("both" if len(answers) == 2 else answers[0] if answers else "none")


def test_named_states() -> None:
    mac = "02:00:00:00:00:01"  # the secondary's bucket
    ci = S.COMMUNICATIONS_INTERRUPTED
    d = who_serves(SPLIT_128, 5, mac=mac, primary_state=ci, secondary_state=ci)
    assert d.serving == "both"
    assert any("backup leases" in r for r in d.reasons)
    d = who_serves(SPLIT_128, 5, mac=mac, primary_state=S.PARTNER_DOWN, secondary_state=None)
    assert d.serving == "primary"
    assert any("not running" in r for r in d.reasons)
    d = who_serves(SPLIT_128, 5, mac=mac, secondary_state=S.RECOVER_WAIT)
    assert d.serving == "none"  # the primary leaves it to a partner that answers nobody
    assert any("recover-wait" in r for r in d.reasons)


@given(hbas, macs, st.integers(0, 0xFFFF))
def test_bootp_like_discover_request_not_balanced(hba: bytes, mac: bytes, secs: int) -> None:
    discover = who_serves(hba, 5, mac=mac, secs=secs)
    assert who_serves(hba, 5, mac=mac, secs=secs, message_type="BOOTP") == discover
    assert who_serves(hba, 5, mac=mac, secs=secs, message_type="DHCPREQUEST").serving == "both"


def test_reasons_explain_in_words() -> None:
    d = who_serves(SPLIT_128, 5, mac="02:00:00:00:00:01")
    assert d.key_source == "mac"
    assert d.reasons[0].startswith("key: the hardware address 02:00:00:00:00:01; bucket 133")
    assert "gives bucket 133 to the secondary" in d.reasons[1]
    assert "leaves the bucket to its partner" in d.reasons[2]
    d = who_serves(SPLIT_128, 5, mac="02:00:00:00:00:01", secs=6)
    assert any("secs 6 > the primary's load balance max seconds 5" in r for r in d.reasons)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.serving = "none"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"secs": -1}, "16-bit"),
        ({"secs": 0x10000}, "16-bit"),
        ({"primary_state": 99}, "99"),
        ({"secondary_max_secs": -1}, "negative"),
    ],
)
def test_bad_arguments(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        who_serves(SPLIT_128, 5, mac="02:00:00:00:00:01", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32 bytes"):
        who_serves(bytes(8), 5, mac="02:00:00:00:00:01")


# ---------------------------------------------------------------- a live pair (fake)

KEY = aiomapi.Key("omapi_key", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0")
HBA = bytes((i * 0x9D + 0x3C) & 0xFF for i in range(32))


def fake_peer(hierarchy: int, local: S, partner: S, max_secs: int) -> FakeFailoverPeer:
    return FakeFailoverPeer(
        b"lab",
        hierarchy=hierarchy,
        local_state=int(local),
        partner_state=int(partner),
        load_balance_max_secs=max_secs,
        load_balance_hba=HBA,
    )


@contextlib.asynccontextmanager
async def fake_pair(
    primary: tuple[S, S], secondary: tuple[S, S], max_secs: tuple[int, int] = (5, 9)
) -> AsyncIterator[tuple[aiomapi.Client, aiomapi.Client]]:
    peers = (fake_peer(0, *primary, max_secs[0]), fake_peer(1, *secondary, max_secs[1]))
    async with (
        FakeDhcpd(key=KEY, failover_peers=[peers[0]]) as a,
        FakeDhcpd(key=KEY, failover_peers=[peers[1]]) as b,
        aiomapi.Client(a.host, a.port, key=KEY) as p,
        aiomapi.Client(b.host, b.port, key=KEY) as s,
    ):
        yield p, s


N = S.NORMAL
CI = S.COMMUNICATIONS_INTERRUPTED
PD = S.PARTNER_DOWN


async def test_explain_reads_both_peers() -> None:
    async with fake_pair((N, N), (N, N)) as (p, s):
        for secs in (0, 5, 6, 9, 10):
            for mac in ("02:00:00:00:00:00", "02:00:00:00:00:01", "0a:1b:00:00:00:07"):
                d = await explain_who_serves(p, s, "lab", mac=mac, secs=secs)
                want = who_serves(HBA, 5, mac=mac, secs=secs, secondary_max_secs=9)
                assert d.serving == want.serving
                assert d.reasons[2:] == want.reasons
                assert d.reasons[0].startswith("read from the primary: local state normal")
                assert "load balance max seconds 9" in d.reasons[1]
        # either order
        d = await explain_who_serves(s, p, "lab", client_id="01:02:03")
        assert d == dataclasses.replace(
            await explain_who_serves(p, s, "lab", client_id="01:02:03"), reasons=d.reasons
        )


@pytest.mark.parametrize(
    ("primary", "secondary", "ask_secondary", "serving"),
    [
        ((CI, N), (CI, N), True, "both"),
        ((CI, N), (CI, N), False, "both"),  # the partner is taken to be cut off too
        ((PD, CI), (CI, N), True, "both"),  # still running, still answering from backup
        ((PD, CI), (CI, N), False, "primary"),  # declared down: not running
        ((N, S.RECOVER), (S.RECOVER, N), True, "none"),  # the primary leaves bucket 133
    ],
)
async def test_explain_states(
    primary: tuple[S, S], secondary: tuple[S, S], ask_secondary: bool, serving: str
) -> None:
    async with fake_pair(primary, secondary) as (p, s):
        d = await explain_who_serves(
            p, s if ask_secondary else None, "lab", mac="02:00:00:00:00:01"
        )
    assert d.serving == serving
    if not ask_secondary:
        assert any("the secondary was not asked" in r for r in d.reasons)


async def test_explain_only_the_secondary() -> None:
    async with fake_pair((N, N), (N, N)) as (_, s):
        d = await explain_who_serves(s, None, "lab", mac="02:00:00:00:00:00", secs=7)
    # max secs 9 taken for both: nobody is past it, the hash decides
    assert d.serving == who_serves(HBA, 9, mac="02:00:00:00:00:00").serving
    assert any("same load balance max seconds" in r for r in d.reasons)


async def test_explain_refuses_two_primaries_and_unknown_peers() -> None:
    async with fake_pair((N, N), (N, N)) as (p, _):
        with pytest.raises(ValueError, match="both servers are the primary"):
            await explain_who_serves(p, p, "lab", mac="02:00:00:00:00:00")
        with pytest.raises(aiomapi.NotFound):
            await explain_who_serves(p, None, "nope", mac="02:00:00:00:00:00")


# ---------------------------------------------------------------- the command


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aiomapi failover")
    add_who_serves_parser(parser.add_subparsers())
    return parser.parse_args(argv)


async def test_command_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    async with fake_pair((N, N), (N, N)) as (p, s):
        args = parse(
            [
                "who-serves",
                "--server", p.host, "--port", str(p.port),
                "--partner-server", s.host, "--partner-port", str(s.port),
                "--key", f"{KEY.name}:{KEY.secret}", "--peer", "lab",
                "--mac", "02:00:00:00:00:01", "--json",
            ]
        )  # fmt: skip
        assert await asyncio.to_thread(run_who_serves, args) == 0
        out = json.loads(capsys.readouterr().out)
        want = who_serves(HBA, 5, mac="02:00:00:00:00:01", secondary_max_secs=9)
        assert out["bucket"] == 133
        assert out["serving"] == want.serving
        assert out == decision_json(await explain_who_serves(p, s, "lab", mac="02:00:00:00:00:01"))
        args = parse(
            [
                "who-serves", "--server", p.host, "--port", str(p.port),
                "--key", f"{KEY.name}:{KEY.secret}", "--peer", "lab",
                "--client-id", "01:02:03", "--secs", "6",
            ]
        )  # fmt: skip
        assert await args.command(args) == 0
    text = capsys.readouterr().out
    bucket = load_balance_hash(bytes([1, 2, 3]))
    assert text.startswith(f"bucket {bucket} (HBA byte {bucket >> 3}, bit {bucket & 7}):")
    assert "serving: both" in text
    assert "the secondary was not asked" in text


def test_command_needs_one_client_and_a_peer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIOMAPI_PEER", raising=False)
    monkeypatch.setenv("AIOMAPI_HOST", "127.0.0.1")
    with pytest.raises(SystemExit):
        parse(["who-serves", "--peer", "lab"])
    with pytest.raises(SystemExit):
        parse(["who-serves", "--peer", "lab", "--mac", "a:b:c:d:e:f", "--client-id", "x"])
    with pytest.raises(SystemExit):
        parse(["who-serves", "--mac", "a:b:c:d:e:f"])
    assert parse(["who-serves", "--peer", "lab", "--mac", "a:b:c:d:e:f"]).secs == 0


def test_decision_json_fields() -> None:
    d = who_serves(SPLIT_128, 5, client_id=b"\x01\x02\x03")
    out = decision_json(d)
    assert list(out)[:2] == ["bucket", "serving"]
    assert out["key"] == "01:02:03"
    assert out["key_source"] == "client-id"
    assert isinstance(d, Decision)
