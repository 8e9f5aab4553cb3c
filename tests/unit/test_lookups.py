"""The per-item steps of ``leases.get_many`` (aiomapi.typed.lookups), and the plain classes the
per-request path makes (Request, ReplyReceived), against what they replaced.

CI runs this module compiled (mypyc) and from source (AIOMAPI_NO_EXTENSIONS=1).
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiomapi import _speedups
from aiomapi._sansio.client import Request
from aiomapi._sansio.events import Decoded, ReplyReceived
from aiomapi._sansio.wire import Message, Opcode
from aiomapi.errors import LocalProtocolError, MultipleMatches, NotFound, RemoteProtocolError
from aiomapi.typed.coders import encode_ip
from aiomapi.typed.enums import LeaseState
from aiomapi.typed.lookups import lease_by_ip, lease_by_keys, lease_result
from aiomapi.typed.objects import Lease, lease_from_reply
from aiomapi.typed.requests import open_request

addresses = st.integers(0, 2**32 - 1).map(IPv4Address)


@given(addresses, st.booleans())
def test_the_request_for_an_address_is_the_generic_open(addr: IPv4Address, as_text: bool) -> None:
    item = str(addr) if as_text else addr
    expected = open_request("lease", (("ip-address", encode_ip(addr)),))
    made = lease_by_ip(item)
    assert made.decode_reply is lease_from_reply
    assert (made.opcode, made.handle, made.message, made.object, made.object_type) == (
        expected.opcode,
        expected.handle,
        expected.message,
        expected.object,
        expected.object_type,
    )
    assert made.opcode is Opcode.OPEN
    assert made.resolved_type == "lease"
    assert made.reply_bound == expected.reply_bound


def test_the_request_for_other_keys_carries_the_same_decoder() -> None:
    keys = (
        ("hardware-address", bytes.fromhex("020000000005")),
        ("hardware-type", bytes(3) + b"\1"),
    )
    made = lease_by_keys(keys)
    expected = open_request("lease", keys)
    assert made.decode_reply is lease_from_reply
    assert (made.opcode, made.message, made.object, made.resolved_type) == (
        expected.opcode,
        expected.message,
        expected.object,
        "lease",
    )


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ("10.0.0.256", "not an IPv4 address"),
        ("fe80::1", "IPv6"),
        (IPv6Address("fe80::1"), "IPv6"),
        ("", "not an IPv4 address"),
    ],
)
def test_what_is_no_address_is_a_local_error(item: object, why: str) -> None:
    with pytest.raises(LocalProtocolError, match=why):
        lease_by_ip(item)


@pytest.mark.parametrize("item", [167772161, b"\n\x00\x00\x01", None])
def test_a_value_of_another_type_says_what_could_not_be_looked_up(item: object) -> None:
    with pytest.raises(LocalProtocolError, match=r"cannot look up ip") as info:
        lease_by_ip(item)
    assert isinstance(info.value.__cause__, TypeError)


def test_spaces_around_an_address_are_accepted_as_encode_ip_accepts_them() -> None:
    assert lease_by_ip(" 10.0.0.1 ").object == (("ip-address", b"\n\x00\x00\x01"),)


def test_a_lease_reply_becomes_the_lease() -> None:
    values = (("state", (2).to_bytes(4, "big")), ("ip-address", b"\n\x00\x00\x07"))
    reply = Message(Opcode.UPDATE, handle=9, object=values)
    lease = lease_result(lease_by_ip("10.0.0.7"), reply)
    assert lease == Lease.from_values(9, values)
    assert isinstance(lease, Lease)
    assert lease.ip_address == ipaddress.ip_address("10.0.0.7")
    assert lease.state is LeaseState.ACTIVE


def test_a_reply_that_is_no_lease_is_the_items_error_on_the_message_path_too() -> None:
    request = open_request("lease", (("hardware-address", bytes(6)),))
    reply = Message(Opcode.UPDATE, handle=9, object=(("ip-address", b"\n\x00\x00\x07"),))
    result = lease_result(request, reply)
    assert isinstance(result, RemoteProtocolError)
    assert "state" in str(result)


def test_an_error_stays_the_items_result_and_several_matches_name_the_keys() -> None:
    request = lease_by_ip("10.0.0.7")
    missing = NotFound(3, "no object matches")
    assert lease_result(request, missing) is missing
    several = lease_result(request, MultipleMatches(12, "more than one"))
    assert isinstance(several, MultipleMatches)
    assert "ip-address=0a:00:00:07" in str(several)


def test_a_reply_decoded_by_the_request_is_the_items_result() -> None:
    request = lease_by_ip("10.0.0.7")
    lease = Lease.from_values(9, (("state", (2).to_bytes(4, "big")), ("ip-address", bytes(4))))
    assert lease_result(request, Decoded(lease)) is lease
    broken = RemoteProtocolError("lease reply without state")
    assert lease_result(request, Decoded(broken)) is broken
    with pytest.raises(TypeError, match="decoded into str"):
        lease_result(request, Decoded("not a lease"))


def test_request_and_reply_received_compare_hash_and_show_as_the_dataclasses_did() -> None:
    a = Request(Opcode.REFRESH, handle=5, object_type="lease")
    b = Request(Opcode.REFRESH, 5, (), (), "lease")
    assert a == b
    assert hash(a) == hash(b)
    assert a != Request(Opcode.REFRESH, handle=6, object_type="lease")
    assert a != (Opcode.REFRESH, 5, (), (), "lease")
    assert repr(a) == (
        "Request(opcode=<Opcode.REFRESH: 2>, handle=5, message=(), object=(), object_type='lease')"
    )
    reply = Message(Opcode.STATUS, rid=4)
    assert ReplyReceived(4, reply) == ReplyReceived(4, reply)
    assert ReplyReceived(4, reply) != ReplyReceived(5, reply)
    assert hash(ReplyReceived(4, reply)) == hash(ReplyReceived(4, reply))
    assert repr(ReplyReceived(4, reply)).startswith("ReplyReceived(request_id=4, result=Message(")


@pytest.mark.skipif(not _speedups.DRIVER_ACTIVE, reason="read-only where compiled (Final)")
def test_compiled_requests_and_replies_cannot_be_changed() -> None:
    request = Request(Opcode.OPEN, object_type="lease")
    with pytest.raises(AttributeError):
        request.handle = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ReplyReceived(1, Message(Opcode.STATUS)).request_id = 2  # type: ignore[misc]
