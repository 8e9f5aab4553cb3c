"""aiomapi.facts agrees with itself and with every module that names the same facts.

The facts themselves are checked against the real dhcpd by the tests each constant names
(mostly ``tests/dhcpd/test_facts_dhcpd.py``); this module only keeps the copies consistent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aiomapi import facts
from aiomapi._sansio import safety
from aiomapi.errors import LocalProtocolError
from aiomapi.testing import FakeDhcpd, dhcpd_lab, synthetic_leases
from aiomapi.testing.dhcpd_model import SENT_FLAGS, SETTABLE_FLAGS, UNSEARCHABLE_TYPES
from aiomapi.typed.values import (
    MAX_HARDWARE_ADDRESS_LEN,
    MAX_TIME,
    SETTABLE_LEASE_FLAGS,
    FailoverState,
    LeaseFlags,
    LeaseState,
)

STATUS_TEXT_NAMES = (
    "NO_AUTHENTICATOR",
    "INVALID_FLAG",
    "TYPE_REQUIRED",
    "UNSEARCHABLE",
    "LOOKUP_FAILED",
    "NO_MATCH",
    "ALREADY_EXISTS",
    "CANT_CREATE",
    "CANT_UPDATE",
    "CANT_SELECT_AUTHENTICATOR",
    "NO_MATCHING_HANDLE",
    "CANNOT_UPDATE_AUTHENTICATOR",
    "NOTIFY_NOT_IMPLEMENTED",
    "NO_REMOVE_METHOD",
)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "dhcpd-behaviour.md"
SECTIONS = (
    "Wire format",
    "Authentication",
    "Messages and replies",
    "Result codes",
    "Objects",
    "Failover",
    "Server behaviour and limits",
    "Requests that crash dhcpd",
    "omshell",
)


# ---------------------------------------------------------------- the facts among themselves


def test_settable_flags_are_flags_dhcpd_sends() -> None:
    bits = set(facts.LEASE_FLAG_BITS.values())
    assert all(bin(bit).count("1") == 1 for bit in bits)
    assert sum(bits) == facts.SETTABLE_LEASE_FLAGS
    assert facts.SETTABLE_LEASE_FLAGS & ~facts.SENT_LEASE_FLAGS == 0
    assert facts.SENT_LEASE_FLAGS < 0x100  # sent as one byte


def test_lease_states() -> None:
    assert frozenset(range(1, 8)) == facts.SETTABLE_LEASE_STATES
    assert set(facts.LEASE_STATE_NAMES) == facts.SETTABLE_LEASE_STATES


def test_failover_states() -> None:
    assert frozenset({*range(12), 254}) == facts.VALID_FAILOVER_STATES
    assert set(facts.FAILOVER_STATE_NAMES) == facts.VALID_FAILOVER_STATES
    assert len(set(facts.FAILOVER_STATE_NAMES.values())) == len(facts.FAILOVER_STATE_NAMES)


def test_status_texts_fit_their_bound() -> None:
    longest = max(len(text) for text in facts.STATUS_TEXTS)
    assert longest == len(facts.ALREADY_EXISTS) == len(facts.NO_MATCH) == 31
    assert longest <= facts.MAX_STATUS_TEXT
    assert len(facts.STATUS_TEXTS) == 16
    assert {
        getattr(facts, name).format(flag)
        for name in STATUS_TEXT_NAMES
        for flag in (("create", "update", "exclusive") if name == "INVALID_FLAG" else ("",))
    } == facts.STATUS_TEXTS
    assert all(text.isascii() for text in facts.STATUS_TEXTS)


def test_digests() -> None:
    assert tuple(facts.DIGEST_SIZES) == facts.ALGORITHMS
    assert facts.MAX_DIGEST == 64 == facts.DIGEST_SIZES["hmac-sha512"]
    assert facts.SIG_ALG_SUFFIX.startswith(".")
    assert facts.SIG_ALG_SUFFIX.endswith(".")


def test_abort_offsets_are_where_authlen_straddles_a_ring_end() -> None:
    """A message's ``authlen`` is its bytes 4..7; a fresh output buffer's first ring ends at
    RING_CAPACITY, a wrapped input ring at OMAPI_BUF_SIZE."""

    def straddles(start: int, edge: int) -> bool:
        return start + 4 < edge <= start + 7

    window = range(3900, 4100)
    output = tuple(s for s in window if straddles(s, facts.RING_CAPACITY))
    assert output == facts.OUTPUT_ABORT_OFFSETS
    assert tuple(s for s in window if straddles(s, facts.OMAPI_BUF_SIZE)) == (
        facts.INPUT_ABORT_OFFSETS
    )
    assert facts.RING_CAPACITY == facts.OMAPI_BUF_SIZE - 1


def test_connection_limit_is_below_the_descriptor_cap() -> None:
    assert facts.LISTEN_BACKLOG == 1
    assert facts.CONNECTION_LIMIT < facts.MAX_FD_VALUE


def test_lease_attribute_sets_are_disjoint() -> None:
    assert not facts.LEASE_IGNORED_ATTRIBUTES & facts.LEASE_READ_ONLY_ATTRIBUTES
    assert "local-state" not in facts.FAILOVER_IGNORED_ATTRIBUTES


def test_null_crashes_name_real_types() -> None:
    assert set(facts.NULL_CRASHES) <= {
        "lease",
        "host",
        "group",
        "class",
        "subclass",
        "control",
        "failover-state",
    }
    assert "state" in facts.NULL_CRASHES["lease"]
    assert "local-state" in facts.NULL_CRASHES["failover-state"]
    assert "authenticator" in facts.RESERVED_MESSAGE_NAMES


@pytest.mark.parametrize("n", [0, 1, 0x7FFFFFFF, 0xFFFFFFFF])
def test_int32_round_trip(n: int) -> None:
    raw = facts.encode_int32(n)
    assert len(raw) == facts.INT32_SIZE
    assert facts.decode_int32(raw) == n


def test_int32_refusals() -> None:
    with pytest.raises(LocalProtocolError):
        facts.encode_int32(-1)
    with pytest.raises(LocalProtocolError):
        facts.encode_int32(1 << 32)
    with pytest.raises(TypeError):
        facts.encode_int32("1")  # type: ignore[arg-type]
    for raw in (b"", b"\x01", b"\x00" * 3, b"\x00" * 5):
        with pytest.raises(ValueError, match="4 bytes"):
            facts.decode_int32(raw)


# ---------------------------------------------------------------- the enums of the typed layer


def test_lease_enums_match() -> None:
    assert {int(s): s.dhcpd_name for s in LeaseState} == dict(facts.LEASE_STATE_NAMES)
    assert {f.name: int(f) for f in LeaseFlags} == dict(facts.LEASE_FLAG_BITS)
    assert int(SETTABLE_LEASE_FLAGS) == facts.SETTABLE_LEASE_FLAGS
    all_flags = 0
    for flag in LeaseFlags:
        all_flags |= int(flag)
    assert facts.SETTABLE_LEASE_FLAGS & ~all_flags == 0  # settable ⊆ the flag enum


def test_failover_enum_matches() -> None:
    assert {int(s) for s in FailoverState} == facts.VALID_FAILOVER_STATES
    assert {int(s): s.dhcpd_name for s in FailoverState} == dict(facts.FAILOVER_STATE_NAMES)


# ---------------------------------------------------------------- other copies of the facts
# Modules that still define a fact themselves must agree with aiomapi.facts until they import it.


def test_typed_values_agree() -> None:
    assert MAX_HARDWARE_ADDRESS_LEN == facts.MAX_HARDWARE_ADDRESS_LEN
    assert MAX_TIME == facts.MAX_TIME
    from aiomapi.typed import values

    assert values.encode_int32(0x01020304) == facts.encode_int32(0x01020304)
    assert values.decode_int32(b"\x01\x02\x03\x04") == facts.decode_int32(b"\x01\x02\x03\x04")


def test_auth_and_server_agree() -> None:
    from aiomapi._sansio import auth
    from aiomapi.server import objects

    assert tuple(getattr(auth, "ALGORITHMS", facts.ALGORITHMS)) == facts.ALGORITHMS
    for module in (auth, objects):
        suffix = getattr(module, "_SUFFIX", facts.SIG_ALG_SUFFIX)
        assert suffix == facts.SIG_ALG_SUFFIX, module.__name__
    for name in STATUS_TEXT_NAMES:  # a module that reads aiomapi.facts may drop its own names
        assert getattr(objects, name, getattr(facts, name)) == getattr(facts, name), name


def test_budget_agrees() -> None:
    from aiomapi._sansio import budget

    for name in ("MAX_STATUS_TEXT", "MAX_DIGEST"):
        assert getattr(budget, name, getattr(facts, name)) == getattr(facts, name), name


def test_safety_reads_the_facts() -> None:
    assert safety.NULL_CRASHES is facts.NULL_CRASHES
    assert safety.RESERVED_MESSAGE_NAMES is facts.RESERVED_MESSAGE_NAMES
    assert safety.VALID_FAILOVER_STATES is facts.VALID_FAILOVER_STATES


def test_testing_reads_the_facts() -> None:
    assert SETTABLE_FLAGS == facts.SETTABLE_LEASE_FLAGS
    assert SENT_FLAGS == facts.SENT_LEASE_FLAGS
    assert UNSEARCHABLE_TYPES is facts.UNSEARCHABLE_TYPES
    assert dhcpd_lab.FAILOVER_STATES is facts.FAILOVER_STATE_NAMES
    assert set(dhcpd_lab.ALGORITHMS) == set(facts.ALGORITHMS)


def test_fake_and_lab_share_one_lease_layout() -> None:
    """The lab writes lease i with the same data FakeDhcpd gets from synthetic_leases."""
    [record] = synthetic_leases(1, first=dhcpd_lab.lease_ip(7))
    assert str(record.ip_address) == dhcpd_lab.lease_ip(7)
    fake = FakeDhcpd.like_lab(3)
    lease = fake.lease(dhcpd_lab.lease_ip(2))
    assert lease is not None
    assert lease.hardware_address == bytes.fromhex(dhcpd_lab.lease_mac(2).replace(":", ""))
    assert lease.client_hostname == b"host2"
    assert len(fake.model.leases) == 3 + dhcpd_lab.FREE_ADDRESSES


# ---------------------------------------------------------------- the document


def test_docs_have_the_sections_others_cite() -> None:
    text = DOCS.read_text()
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert [h for h in headings if h in SECTIONS] == list(SECTIONS)


def test_every_section_a_fact_cites_exists() -> None:
    source = Path(facts.__file__).read_text()
    cited = set(re.findall(r'docs/dhcpd-behaviour\.md, "([^"]+)"', source))
    assert cited
    assert cited <= set(SECTIONS)


def _test_exists(file: str, test: str) -> bool:
    tests = Path(__file__).resolve().parents[1]
    paths = [p for p in tests.glob(f"*/{file}") if p.is_file()]
    return any(re.search(rf"^(async )?def {test}\(", p.read_text(), re.M) for p in paths)


def test_every_test_a_fact_names_exists() -> None:
    """``file.py::test`` in aiomapi/facts.py names a test function of the suite."""
    source = Path(facts.__file__).read_text()
    named = set(re.findall(r"(test_\w+\.py)::(test_\w+)", source))
    assert named
    missing = [f"{file}::{test}" for file, test in sorted(named) if not _test_exists(file, test)]
    assert not missing


@pytest.mark.parametrize("page", ["dhcpd-behaviour.md", "dhcpd-facts.md"])
def test_every_test_the_docs_name_exists(page: str) -> None:
    """Tests named ``file.py::test``, or bare as ```test_name```, exist in the suite."""
    text = (DOCS.parent / page).read_text()
    named = set(re.findall(r"(test_\w+\.py)::(test_\w+)", text))
    named |= {("test_*.py", test) for test in re.findall(r"`(test_\w+)(?:\[[^\]]*\])?`", text)}
    assert named
    missing = [f"{file}::{test}" for file, test in sorted(named) if not _test_exists(file, test)]
    assert not missing
