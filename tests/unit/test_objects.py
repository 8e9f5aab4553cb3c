"""Typed objects (aiomapi.typed.objects) and the pure parts of the managers, without a server.

Replies are hand-built from the attribute orders and wire types in docs/dhcpd-behaviour.md,
"Objects" and "Failover" (and one dhcpd capture); every check that must refuse a value before
it is sent is exercised here and, at the protocol level, on ClientProtocol. The managers are
driven through a recording client, so what they send is checked request by request.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, datetime
from ipaddress import IPv4Address
from typing import Any

import pytest

import aiomapi
from aiomapi._sansio.client import ClientProtocol, Request
from aiomapi._sansio.wire import Message, Opcode, decode_message, encode_message
from aiomapi.client import OmapiObject
from aiomapi.typed.managers import _LeaseChange, host_keys, lease_keys
from aiomapi.typed.objects import (
    Class,
    ControlObject,
    FailoverPeer,
    Group,
    Host,
    Lease,
    LeasePool,
    Subclass,
    to_failover_state,
    to_lease_flags,
    to_lease_state,
)
from aiomapi.typed.values import (
    MAX_HARDWARE_ADDRESS_LEN,
    NEVER,
    UNSET,
    ControlState,
    FailoverHierarchy,
    FailoverState,
    LeaseFlags,
    LeaseState,
    MacAddress,
)

from .. import captures


def i32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def reply(handle: int, values: list[tuple[str, bytes]], object_type: str) -> OmapiObject:
    """An UPDATE reply as dhcpd sends it, through the real wire codec."""
    data = encode_message(Message(Opcode.UPDATE, handle, 77, 5, (), tuple(values)))
    return OmapiObject.from_message(decode_message(data), object_type)


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


TOO_LONG = MAX_HARDWARE_ADDRESS_LEN + 1
T_START = 1_700_000_000
T_END = 1_700_003_600
MAC = bytes.fromhex("020000000305")

# In dhcpd's order (docs/dhcpd-behaviour.md, "Objects"), every optional attribute present.
LEASE_VALUES = [
    ("state", i32(2)),
    ("ip-address", bytes([10, 100, 1, 5])),
    ("dhcp-client-identifier", b"\x01" + MAC),
    ("client-hostname", b"host5"),
    ("host", i32(40)),
    ("subnet", i32(3)),
    ("pool", i32(4)),
    ("billing-class", i32(41)),
    ("hardware-address", MAC),
    ("hardware-type", i32(1)),
    ("ends", i32(T_END)),
    ("starts", i32(T_START)),
    ("tstp", i32(0x7FFFFFFF)),
    ("tsfp", i32(0)),
    ("atsfp", i32(0)),
    ("cltt", i32(T_START)),
    ("flags", b"\x04"),
    ("remote-handle", i32(9)),
    ("ddns-fwd-name", b"host5.example."),
]


# ---------------------------------------------------------------- lease


def test_lease_decodes_every_attribute() -> None:
    lease = Lease.from_object(reply(12, LEASE_VALUES, "lease"))
    assert lease.handle == 12
    assert lease.state is LeaseState.ACTIVE
    assert lease.ip_address == IPv4Address("10.100.1.5")
    assert lease.dhcp_client_identifier == b"\x01" + MAC
    assert lease.client_hostname == "host5"
    assert (lease.host, lease.subnet, lease.pool, lease.billing_class) == (40, 3, 4, 41)
    assert lease.hardware_address == MacAddress("02:00:00:00:03:05")
    assert lease.hardware_type == 1
    assert lease.ends == datetime.fromtimestamp(T_END, UTC)
    assert lease.starts == datetime.fromtimestamp(T_START, UTC)
    assert lease.ends.tzinfo is UTC  # type: ignore[union-attr]
    assert lease.tstp is NEVER
    assert lease.tsfp is UNSET
    assert lease.atsfp is UNSET
    assert lease.cltt == lease.starts
    assert lease.flags is LeaseFlags.RESERVED_LEASE
    # binding variables stay raw: the wire does not say what they are
    assert lease.variables == {"remote-handle": i32(9), "ddns-fwd-name": b"host5.example."}


def test_lease_fields_follow_dhcpds_order() -> None:
    expected = ["handle"] + [name.replace("-", "_") for name, _ in LEASE_VALUES[:17]]
    assert field_names(Lease) == [*expected, "variables"]


def test_lease_without_optional_attributes() -> None:
    # a free lease: no client id, hostname, host, billing class or hardware address
    values = [
        ("state", i32(1)),
        ("ip-address", bytes([10, 100, 1, 0])),
        ("subnet", i32(3)),
        ("pool", i32(4)),
        *[(t, i32(0)) for t in ("ends", "starts", "tstp", "tsfp", "atsfp", "cltt")],
        ("flags", b"\x00"),
    ]
    lease = Lease.from_object(reply(2, values, "lease"))
    assert lease.state is LeaseState.FREE
    assert lease.client_hostname is None
    assert lease.dhcp_client_identifier is None
    assert lease.hardware_address is None
    assert lease.hardware_type is None
    assert lease.host is None
    assert lease.ends is UNSET
    assert lease.flags == LeaseFlags(0)
    assert lease.variables == {}


def test_captured_dhcpd_lease_reply() -> None:
    obj = OmapiObject.from_message(decode_message(captures.LEASE_REPLY), "lease")
    lease = Lease.from_object(obj)
    assert lease.ip_address == IPv4Address("10.100.1.5")
    assert lease.client_hostname == "host5"
    assert lease.state is LeaseState.ACTIVE
    assert lease.hardware_address == MacAddress("02:00:00:00:00:05")
    assert lease.hardware_type == 1
    assert isinstance(lease.ends, datetime)
    assert lease.pool is not None


def test_unknown_numbers_are_kept_as_int() -> None:
    lease = Lease.from_object(
        reply(1, [("state", i32(9)), ("ip-address", bytes(4)), ("flags", b"\x81")], "lease")
    )
    assert lease.state == 9
    assert not isinstance(lease.state, LeaseState)
    assert lease.flags == 0x81  # internal bits kept, not dropped silently


def test_four_byte_flags_are_read_too() -> None:
    lease = Lease.from_object(
        reply(1, [("state", i32(1)), ("ip-address", bytes(4)), ("flags", i32(2))], "lease")
    )
    assert lease.flags is LeaseFlags.BOOTP_LEASE


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([("state", b"\0\0\2"), ("ip-address", bytes(4))], "'state'"),
        ([("state", i32(2)), ("ip-address", bytes(5))], "'ip-address'"),
        ([("state", i32(2)), ("ip-address", bytes(4)), ("ends", b"")], "'ends'"),
        (
            [("state", i32(2)), ("ip-address", bytes(4)), ("hardware-address", bytes(TOO_LONG))],
            "hardware",
        ),
        ([("state", i32(2))], "ip_address"),
        ([("ip-address", bytes(4))], "state"),
    ],
)
def test_malformed_lease_is_a_remote_protocol_error(
    values: list[tuple[str, bytes]], match: str
) -> None:
    with pytest.raises(aiomapi.RemoteProtocolError, match=match):
        Lease.from_object(reply(1, values, "lease"))


def test_objects_are_frozen_slotted_and_hashable() -> None:
    lease = Lease.from_object(reply(12, LEASE_VALUES, "lease"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        lease.state = LeaseState.FREE  # type: ignore[misc]
    assert not hasattr(lease, "__dict__")
    assert hash(lease) == hash(Lease.from_object(reply(12, LEASE_VALUES, "lease")))
    assert lease == Lease.from_object(reply(12, LEASE_VALUES, "lease"))


# ---------------------------------------------------------------- host, group, class


def test_host_decodes_in_dhcpds_order() -> None:
    values = [
        ("ip-address", bytes([10, 200, 0, 1, 10, 200, 0, 2])),
        ("dhcp-client-identifier", b"\x01abc"),
        ("name", b"printer"),
        ("hardware-address", MAC),
        ("hardware-type", i32(1)),
    ]
    host = Host.from_object(reply(30, values, "host"))
    assert host.ip_addresses == (IPv4Address("10.200.0.1"), IPv4Address("10.200.0.2"))
    assert host.ip_address == IPv4Address("10.200.0.1")
    assert host.dhcp_client_identifier == b"\x01abc"
    assert host.name == "printer"
    assert host.hardware_address == MacAddress(MAC)
    assert host.hardware_type == 1
    assert (
        field_names(Host)
        == [
            "handle",
            "ip_addresses",  # dhcpd's ip-address: 4*n bytes
            *(name.replace("-", "_") for name, _ in values[1:]),
            "extra",
        ]
    )


def test_host_minimal_and_unknown() -> None:
    host = Host.from_object(reply(31, [("name", b"h"), ("known", i32(1))], "host"))
    assert host.ip_addresses == ()
    assert host.ip_address is None
    assert host.hardware_address is None
    assert host.extra == {"known": i32(1)}


def test_host_without_name_is_refused() -> None:
    with pytest.raises(aiomapi.RemoteProtocolError, match="name"):
        Host.from_object(reply(31, [("hardware-address", MAC)], "host"))
    with pytest.raises(aiomapi.RemoteProtocolError, match="ip-address"):
        Host.from_object(reply(31, [("name", b"h"), ("ip-address", bytes(6))], "host"))


def test_group_class_subclass() -> None:
    assert Group.from_object(reply(8, [("name", b"g1")], "group")) == Group(handle=8, name="g1")
    counters = [("lease-limit", i32(5)), ("leases-used", i32(2))]
    cls = Class.from_object(reply(9, counters, "class"), "vendor")
    assert (cls.handle, cls.name, cls.lease_limit, cls.leases_used) == (9, "vendor", 5, 2)
    sub = Subclass.from_object(reply(10, counters, "subclass"), "vendor", b"\x01\x02")
    assert (sub.name, sub.hashstring, sub.lease_limit, sub.leases_used) == (
        "vendor",
        b"\x01\x02",
        5,
        2,
    )
    with pytest.raises(aiomapi.RemoteProtocolError, match="leases_used"):
        Class.from_object(reply(9, counters[:1], "class"), "vendor")
    with pytest.raises(aiomapi.RemoteProtocolError, match="name"):
        Group.from_object(reply(8, [], "group"))


# ---------------------------------------------------------------- failover, control, pool

HBA = bytes([0xFF] * 16 + [0] * 16)
# In dhcpd's order (docs/dhcpd-behaviour.md, "Failover"); the addresses are what dhcpd 4.4.3
# really sends.
FAILOVER_VALUES = [
    ("name", b"lab"),
    ("partner-address", bytes.fromhex("70df9a4b71550000")),
    ("partner-port", i32(647)),
    ("local-address", bytes.fromhex("a0df9a4b71550000")),
    ("local-port", i32(647)),
    ("max-outstanding-updates", i32(10)),
    ("mclt", i32(5)),
    ("load-balance-max-secs", i32(5)),
    ("load-balance-hba", HBA),
    ("partner-state", i32(2)),
    ("local-state", i32(254)),
    ("partner-stos", i32(T_START)),
    ("local-stos", i32(T_END)),
    ("hierarchy", i32(0)),
    ("last-packet-sent", i32(0)),
    ("last-timestamp-received", i32(0)),
    ("skew", i32(0)),
    ("max-response-delay", i32(5)),
    ("cur-unacked-updates", i32(0)),
]


def test_failover_peer_decodes_every_attribute() -> None:
    peer = FailoverPeer.from_object(reply(6, FAILOVER_VALUES, "failover-state"))
    assert peer.name == "lab"
    # 8 bytes of dhcpd's heap are not an address: reported unavailable
    assert peer.partner_address is None
    assert peer.local_address is None
    assert (peer.partner_port, peer.local_port) == (647, 647)
    assert (peer.max_outstanding_updates, peer.mclt, peer.load_balance_max_secs) == (10, 5, 5)
    assert peer.load_balance_hba == HBA
    assert peer.partner_state is FailoverState.NORMAL
    assert peer.local_state is FailoverState.RECOVER_WAIT
    assert peer.partner_stos == datetime.fromtimestamp(T_START, UTC)
    assert peer.local_stos == datetime.fromtimestamp(T_END, UTC)
    assert peer.hierarchy is FailoverHierarchy.PRIMARY
    assert peer.last_packet_sent is UNSET
    assert peer.last_timestamp_received is UNSET
    assert (peer.skew, peer.max_response_delay, peer.cur_unacked_updates) == (0, 5, 0)
    assert peer.extra == {}
    names = [n.replace("-", "_") for n, _ in FAILOVER_VALUES]
    assert field_names(FailoverPeer) == ["handle", *names, "extra"]


def test_failover_peer_optional_parts() -> None:
    values = [
        (n, bytes([10, 254, 0, 2]) if n == "partner-address" else v)
        for n, v in FAILOVER_VALUES
        if n not in ("load-balance-hba", "local-address")
    ]
    values = [(n, i32(1) if n == "hierarchy" else v) for n, v in values]
    peer = FailoverPeer.from_object(reply(6, values, "failover-state"))
    assert peer.partner_address == IPv4Address("10.254.0.2")  # a real address would be used
    assert peer.local_address is None
    assert peer.load_balance_hba is None
    assert peer.hierarchy is FailoverHierarchy.SECONDARY


@pytest.mark.parametrize("state", list(FailoverState))
def test_every_failover_state_decodes(state: FailoverState) -> None:
    values = [(n, i32(state) if n == "local-state" else v) for n, v in FAILOVER_VALUES]
    assert FailoverPeer.from_object(reply(6, values, "failover-state")).local_state is state


def test_failover_peer_missing_state() -> None:
    values = [(n, v) for n, v in FAILOVER_VALUES if n != "local-state"]
    with pytest.raises(aiomapi.RemoteProtocolError, match="local_state"):
        FailoverPeer.from_object(reply(6, values, "failover-state"))


def test_control_states() -> None:
    running = ControlObject.from_object(reply(7, [("state", i32(0))], "control"))
    assert running.state is ControlState.STARTUP  # what a running dhcpd 4.4.3 reports
    after = ControlObject.from_object(reply(7, [("state", i32(4))], "control"))
    assert after.state == 4  # the post-shutdown bug value, kept as a plain int
    assert not isinstance(after.state, ControlState)


def test_pool_counters() -> None:
    values = [("lease-count", i32(201)), ("free-leases", i32(101)), ("backup-leases", i32(100))]
    pool = LeasePool.from_object(reply(4, values, "pool"))
    assert pool == LeasePool(handle=4, lease_count=201, free_leases=101, backup_leases=100)
    with pytest.raises(aiomapi.RemoteProtocolError, match="lease_count"):
        LeasePool.from_object(reply(3, [], "pool"))  # e.g. a subnet's handle


# ---------------------------------------------------------------- checks before sending


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (LeaseState.ACTIVE, LeaseState.ACTIVE),
        (4, LeaseState.RELEASED),
        ("released", LeaseState.RELEASED),
        ("Backup", LeaseState.BACKUP),
    ],
)
def test_lease_state_coercion(value: LeaseState | int | str, expected: LeaseState) -> None:
    assert to_lease_state(value) is expected


@pytest.mark.parametrize("value", [0, 8, 9, -1, True, "bootp", "reserved", 2.0])
def test_lease_state_refused(value: object) -> None:
    with pytest.raises(aiomapi.LocalProtocolError):
        to_lease_state(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("state", list(FailoverState))
def test_failover_state_coercion(state: FailoverState) -> None:
    assert to_failover_state(state) is state
    assert to_failover_state(int(state)) is state
    assert to_failover_state(state.dhcpd_name) is state


@pytest.mark.parametrize("value", [12, 99, 253, 255, -1, True, "partner_up", None])
def test_failover_state_refused(value: object) -> None:
    with pytest.raises(aiomapi.LocalProtocolError, match=r"failover state|unknown"):
        to_failover_state(value)  # type: ignore[arg-type]


def test_lease_flags_coercion() -> None:
    both = LeaseFlags.RESERVED_LEASE | LeaseFlags.BOOTP_LEASE
    assert to_lease_flags(both) == both
    assert to_lease_flags(0) == LeaseFlags(0)
    assert to_lease_flags(64) is LeaseFlags.UNICAST_BROADCAST_HACK
    for bad in (1, 16, 32, 128, 256, -1, True):
        with pytest.raises(aiomapi.LocalProtocolError):
            to_lease_flags(bad)


def test_lease_keys_encoding() -> None:
    assert lease_keys(ip="10.100.1.5") == {"ip-address": bytes([10, 100, 1, 5])}
    assert lease_keys(mac="02-00-00-00-03-05", hardware_type=6) == {
        "hardware-address": MAC,
        "hardware-type": i32(6),
    }
    assert lease_keys(client_id="01:02:00:00:00:03:05", handle=7) == {
        "handle": i32(7),
        "dhcp-client-identifier": b"\x01" + MAC,
    }
    assert lease_keys(client_id=b"dup") == {"dhcp-client-identifier": b"dup"}


def test_host_keys_encoding() -> None:
    assert host_keys(name="printer", ip=IPv4Address("10.0.0.1")) == {
        "ip-address": bytes([10, 0, 0, 1]),
        "name": b"printer",
    }
    assert host_keys(mac=MacAddress(MAC))["hardware-type"] == i32(1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ip": "10.0.0.300"},
        {"ip": "2001:db8::1"},
        {"mac": "not a mac"},
        {"mac": b""},
        {"mac": bytes(TOO_LONG)},
        {"mac": MAC, "hardware_type": 256},
        {"client_id": b""},
        {"handle": 0},
        {"handle": 2**32},
    ],
)
def test_bad_lookup_keys_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(aiomapi.LocalProtocolError):
        lease_keys(**kwargs)  # type: ignore[arg-type]


def test_lookups_need_a_key() -> None:
    with pytest.raises(TypeError):
        lease_keys()
    with pytest.raises(TypeError):
        host_keys(hardware_type=1)
    with pytest.raises(aiomapi.LocalProtocolError):
        host_keys(name="")  # a null name


def test_lease_update_order_keeps_the_state() -> None:
    # dhcpd moves an active lease to free on any ends/flags change: the state goes last
    change = _LeaseChange.check(T_END, None, None)
    assert list(change.values(LeaseState.ACTIVE).items()) == [
        ("ends", i32(T_END)),
        ("state", LeaseState.ACTIVE),
    ]
    change = _LeaseChange.check(NEVER, "free", LeaseFlags.RESERVED_LEASE)
    assert list(change.values(LeaseState.ACTIVE).items()) == [
        ("ends", i32(0x7FFFFFFF)),
        ("flags", LeaseFlags.RESERVED_LEASE),
        ("state", LeaseState.FREE),
    ]
    assert _LeaseChange.check(None, 2, None).values(9) == {"state": LeaseState.ACTIVE}
    assert _LeaseChange.check(None, None, 0).values(9) == {"flags": LeaseFlags(0)}


def test_lease_update_checks_everything_first() -> None:
    with pytest.raises(TypeError):
        _LeaseChange.check(None, None, None)
    with pytest.raises(aiomapi.LocalProtocolError, match="naive"):
        _LeaseChange.check(datetime(2030, 1, 1), None, None)
    with pytest.raises(aiomapi.LocalProtocolError):
        _LeaseChange.check(None, 8, None)
    with pytest.raises(aiomapi.LocalProtocolError):
        _LeaseChange.check(None, None, 1)


# The typed API refuses before it sends anything: this client has no server at all.


@pytest.fixture
def offline() -> aiomapi.Client:
    return aiomapi.Client("192.0.2.1", 9, timeout=0.01)


async def test_typed_api_refuses_before_any_io(offline: aiomapi.Client) -> None:
    with pytest.raises(aiomapi.LocalProtocolError):
        await offline.leases.update(ip="10.0.0.1", state=0)
    with pytest.raises(aiomapi.LocalProtocolError):
        await offline.leases.update(ip="10.0.0.1", flags=LeaseFlags(16))
    with pytest.raises(aiomapi.LocalProtocolError, match="exits"):
        await offline.failover.set_local_state("lab", 99)
    with pytest.raises(aiomapi.LocalProtocolError):
        await offline.groups.create("g", statements="")
    with pytest.raises(aiomapi.LocalProtocolError):
        await offline.subclasses.get("c", b"")
    with pytest.raises(aiomapi.LocalProtocolError):
        await offline.hosts.create(name="h", hardware_address="zz")
    with pytest.raises(TypeError):
        await offline.hosts.update(name="h")  # nothing to change
    with pytest.raises(aiomapi.LocalProtocolError):
        await offline.pools.of_lease(
            Lease(handle=1, state=LeaseState.FREE, ip_address=IPv4Address("10.0.0.1"))
        )


# And the protocol layer refuses the same requests on its own (safety.check_request).


@pytest.mark.parametrize(
    ("object_type", "name", "value"),
    [
        ("failover-state", "local-state", i32(99)),
        ("failover-state", "local-state", i32(12)),
        ("failover-state", "local-state", b""),
        ("lease", "state", b""),
        ("lease", "ends", b""),
        ("lease", "flags", b""),
        ("control", "state", b""),
        ("group", "name", b""),
    ],
)
def test_protocol_layer_refuses_crashing_values(object_type: str, name: str, value: bytes) -> None:
    request = Request(Opcode.UPDATE, handle=5, object=((name, value),), object_type=object_type)
    with pytest.raises(aiomapi.LocalProtocolError):
        ClientProtocol().encode_request(request)


def test_protocol_layer_lets_valid_states_through() -> None:
    for state in FailoverState:
        request = Request(
            Opcode.UPDATE,
            handle=5,
            object=(("local-state", i32(state)),),
            object_type="failover-state",
        )
        request_id, data = ClientProtocol().encode_request(request)
        assert request_id
        assert data


def test_the_exception_tree_is_one_tree() -> None:
    """Every public exception is an OmapiError; ResultCode is an IntEnum; the connection
    error has a clean name and keeps its old one."""
    for name in aiomapi.__all__:
        value = getattr(aiomapi, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, aiomapi.OmapiError), name
    assert issubclass(aiomapi.HandshakeError, aiomapi.ServerError)
    assert issubclass(aiomapi.StatusError, aiomapi.OmapiError)
    assert aiomapi.ConnectionError_ is aiomapi.NetworkError
    assert issubclass(aiomapi.ConnectionClosed, aiomapi.NetworkError)
    assert issubclass(aiomapi.NetworkError, ConnectionError)
    assert isinstance(aiomapi.ResultCode.NOTFOUND, enum.IntEnum)
    assert aiomapi.ResultCode(23) is aiomapi.ResultCode.NOTFOUND
    assert "NetworkError" in repr(aiomapi.NetworkError("x"))


# ---------------------------------------------------------------- straight from the reply


@pytest.mark.parametrize(
    ("cls", "handle", "values", "args"),
    [
        (Lease, 12, LEASE_VALUES, ()),
        (Host, 30, [("name", b"h"), ("ip-address", bytes(8)), ("known", i32(1))], ()),
        (Group, 8, [("name", b"g1")], ()),
        (Class, 9, [("lease-limit", i32(0)), ("leases-used", i32(2))], ("vendor",)),
        (Subclass, 10, [("lease-limit", i32(0)), ("leases-used", i32(2))], ("v", b"\x01")),
        (FailoverPeer, 6, FAILOVER_VALUES, ()),
        (ControlObject, 7, [("state", i32(0))], ()),
        (
            LeasePool,
            4,
            [("lease-count", i32(9)), ("free-leases", i32(1)), ("backup-leases", i32(0))],
            (),
        ),
    ],
)
def test_from_values_is_from_object_without_the_copy(
    cls: Any, handle: int, values: list[tuple[str, bytes]], args: tuple[object, ...]
) -> None:
    message = decode_message(
        encode_message(Message(Opcode.UPDATE, handle, 77, 5, (), tuple(values)))
    )
    direct = cls.from_values(message.handle, message.object, *args)
    assert direct == cls.from_object(OmapiObject.from_message(message), *args)
    assert direct.handle == handle


def test_a_name_sent_twice_first_is_the_field_later_is_raw() -> None:
    # A binding variable named like a field comes after the fields, with any length.
    values = [
        *LEASE_VALUES,
        ("tstp", b"not a time"),
        ("ddns-fwd-name", b"second"),
        ("ends", i32(1)),
    ]
    message = Message(Opcode.UPDATE, 12, 1, 2, (), tuple(values))
    lease = Lease.from_values(message.handle, message.object)
    assert lease.tstp is NEVER
    assert lease.ends == datetime.fromtimestamp(T_END, UTC)
    assert list(lease.variables.items()) == [
        ("remote-handle", i32(9)),
        ("ddns-fwd-name", b"host5.example."),
        ("tstp", b"not a time"),
        ("ends", i32(1)),
    ]
    assert lease == Lease.from_object(OmapiObject.from_message(message))


def test_a_bad_first_value_is_still_refused_when_names_repeat() -> None:
    values = (("state", i32(2)), ("ip-address", bytes(5)), ("ip-address", bytes(4)))
    with pytest.raises(aiomapi.RemoteProtocolError, match="'ip-address'"):
        Lease.from_values(1, values)


class Recorder:
    """A client for the managers that answers every request with one canned reply."""

    def __init__(self, reply: Message) -> None:
        self.reply = reply
        self.sent: list[tuple[Request, object]] = []

    async def request(self, request: Request, *, timeout: float | None = 10.0) -> Message:
        ClientProtocol().encode_request(request)  # the sans-IO core's check, as on the wire
        self.sent.append((request, timeout))
        return self.reply


LEASE_REPLY = Message(Opcode.UPDATE, 12, 1, 2, (), tuple(LEASE_VALUES))


async def test_a_lease_lookup_sends_its_keys_as_built() -> None:
    client = Recorder(LEASE_REPLY)
    leases = aiomapi.Leases(client)
    lease = await leases.get(ip="10.100.1.5", mac="02-00-00-00-03-05")
    assert lease == Lease.from_values(12, tuple(LEASE_VALUES))
    ((request, _),) = client.sent
    assert request == Request(
        Opcode.OPEN,
        message=(("type", b"lease"),),
        object=tuple(lease_keys(ip="10.100.1.5", mac="02-00-00-00-03-05").items()),
        object_type="lease",
    )


async def test_get_by_keys_is_the_lookup_alone_and_fetch_its_old_name() -> None:
    client = Recorder(LEASE_REPLY)
    leases = aiomapi.Leases(client)
    keys = lease_keys(ip="10.100.1.5")
    assert await leases.get_by_keys(keys) == await leases.fetch(keys)
    assert await leases.get_by_keys({"ip-address": "10.100.1.5"}) == await leases.get(
        ip="10.100.1.5"
    )
    assert len({request for request, _ in client.sent}) == 1
    with pytest.raises(aiomapi.LocalProtocolError):
        await leases.get_by_keys({"hardware-type": b""})  # a null int32: not sent
    assert len(client.sent) == 4


async def test_shutdown_goes_through_the_client_with_its_timeout() -> None:
    client = Recorder(Message(Opcode.UPDATE, 7, 1, 2, (), (("state", i32(0)),)))
    await aiomapi.Control(client).shutdown(timeout=3.5)
    (opened, _), (update, timeout) = client.sent
    assert opened.opcode is Opcode.OPEN
    assert update == Request(
        Opcode.UPDATE, handle=7, object=(("state", i32(2)),), object_type="control"
    )
    assert timeout == 3.5
