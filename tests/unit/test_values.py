"""Tests for aiomapi.typed.values: hand-built wire bytes, round-trip properties, error cases."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta, timezone
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiomapi.errors import LocalProtocolError
from aiomapi.typed.values import (
    ATTRIBUTE_KINDS,
    MAX_TIME,
    NEVER,
    SETTABLE_LEASE_FLAGS,
    UNSET,
    ControlState,
    FailoverHierarchy,
    FailoverState,
    LeaseFlags,
    LeaseState,
    MacAddress,
    TimeSentinel,
    ValueKind,
    attribute_kind,
    decode_int32,
    decode_ip,
    decode_ip_list,
    decode_mac,
    decode_string,
    decode_time,
    encode_int32,
    encode_ip,
    encode_string,
    encode_time,
    encode_value,
)

MAC6 = b"\xaa\xbb\xcc\xdd\xee\xff"

# ----------------------------------------------------------------- MacAddress


@pytest.mark.parametrize(
    "text",
    [
        "aa:bb:cc:dd:ee:ff",
        "AA:BB:CC:DD:EE:FF",
        "aa-bb-cc-dd-ee-ff",
        "AA-BB-cc:dd:ee:ff",
        "aabb.ccdd.eeff",
        "AABB.CCDD.EEFF",
        "aabbccddeeff",
        "  aa:bb:cc:dd:ee:ff\n",
    ],
)
def test_mac_spellings(text: str) -> None:
    mac = MacAddress(text)
    assert mac.packed == MAC6
    assert str(mac) == "aa:bb:cc:dd:ee:ff"
    assert repr(mac) == "MacAddress('aa:bb:cc:dd:ee:ff')"


def test_mac_single_digit_octets() -> None:
    assert MacAddress("a:b:c:d:e:f").packed == bytes.fromhex("0a0b0c0d0e0f")
    assert MacAddress("0:1:2:3:4:5").packed == bytes(range(6))
    assert str(MacAddress("a:b:c:d:e:f")) == "0a:0b:0c:0d:0e:0f"


def test_mac_lengths() -> None:
    assert MacAddress("01").packed == b"\x01"
    twenty = ":".join(["ff"] * 20)  # HARDWARE_ADDR_LEN; dhcpd writes 17-octet hosts too
    assert MacAddress(twenty).packed == b"\xff" * 20
    assert MacAddress(b"\x01").packed == b"\x01"
    assert MacAddress(bytearray(b"\x01" * 17)).packed == b"\x01" * 17
    assert MacAddress(memoryview(MAC6)).packed == MAC6


@pytest.mark.parametrize(
    "text",
    [
        "",
        ":",
        "aa:bb:cc:dd:ee:",
        "aa::bb",
        "aaa:bb:cc:dd:ee:ff",
        "gg:bb:cc:dd:ee:ff",
        ":".join(["ff"] * 21),
        "aabb.ccdd",
        "aabb.ccdd.eeff.0011",
        "aabbccddeef",
        "aabbccddeeff00",
        "aa bb cc dd ee ff",
        "aa:bb.cc:dd",
    ],
)
def test_mac_invalid_text(text: str) -> None:
    with pytest.raises(ValueError, match="invalid MAC address"):
        MacAddress(text)


@pytest.mark.parametrize("raw", [b"", b"\x00" * 21])
def test_mac_invalid_bytes(raw: bytes) -> None:
    with pytest.raises(ValueError, match="1 to 20 octets"):
        MacAddress(raw)


@given(st.binary(max_size=24))
def test_decode_mac_is_mac_address_of_the_octets(raw: bytes) -> None:
    if 1 <= len(raw) <= 20:
        mac = decode_mac(raw)
        assert type(mac) is MacAddress
        assert mac == MacAddress(raw)
        assert hash(mac) == hash(MacAddress(raw))
        assert str(mac) == str(MacAddress(raw))
        assert pickle.loads(pickle.dumps(mac)) == mac
        with pytest.raises(AttributeError):
            mac._packed = b"\x00"
    else:
        with pytest.raises(ValueError, match="1 to 20 octets"):
            decode_mac(raw)


def test_mac_invalid_type() -> None:
    with pytest.raises(TypeError):
        MacAddress(42)  # type: ignore[arg-type]


def test_mac_equality_and_hash() -> None:
    a = MacAddress("aa:bb:cc:dd:ee:ff")
    b = MacAddress("AABB.CCDD.EEFF")
    c = MacAddress(a)
    assert a == b == c
    assert hash(a) == hash(b)
    assert len({a, b, c}) == 1
    assert a != MacAddress("aa:bb:cc:dd:ee:fe")
    assert sorted([a, MacAddress("00:00:00:00:00:01")])[0] == MacAddress("00:00:00:00:00:01")


def test_mac_never_equals_str_or_bytes() -> None:
    mac = MacAddress("aa:bb:cc:dd:ee:ff")
    assert mac != "aa:bb:cc:dd:ee:ff"
    assert mac != MAC6
    assert mac.__eq__("aa:bb:cc:dd:ee:ff") is NotImplemented
    assert mac.__eq__(MAC6) is NotImplemented
    with pytest.raises(TypeError):
        _ = mac < "aa"


def test_mac_immutable_and_picklable() -> None:
    mac = MacAddress(MAC6)
    with pytest.raises(AttributeError):
        mac._packed = b"\x00"
    with pytest.raises(AttributeError):
        mac.other = 1
    assert pickle.loads(pickle.dumps(mac)) == mac
    assert copy.deepcopy(mac) == mac
    assert bytes(mac) == MAC6
    assert len(mac) == 6


_octets = st.binary(min_size=1, max_size=20)


@st.composite
def _mac_spelling(draw: st.DrawFn) -> tuple[bytes, str]:
    raw = draw(_octets)
    forms = ["colon", "dash", "mixed", "short"]
    if len(raw) == 6:
        forms += ["cisco", "bare"]
    form = draw(st.sampled_from(forms))
    upper = draw(st.booleans())
    pairs = [f"{b:02x}" for b in raw]
    if form == "colon":
        text = ":".join(pairs)
    elif form == "dash":
        text = "-".join(pairs)
    elif form == "mixed":
        seps = draw(st.lists(st.sampled_from(":-"), min_size=len(raw), max_size=len(raw)))
        text = pairs[0] + "".join(s + p for s, p in zip(seps, pairs[1:], strict=False))
    elif form == "short":
        text = ":".join(f"{b:x}" for b in raw)
    elif form == "cisco":
        h = raw.hex()
        text = f"{h[0:4]}.{h[4:8]}.{h[8:12]}"
    else:
        text = raw.hex()
    return raw, text.upper() if upper else text


@given(_mac_spelling())
def test_mac_parse_any_spelling(case: tuple[bytes, str]) -> None:
    raw, text = case
    mac = MacAddress(text)
    assert mac.packed == raw
    assert MacAddress(str(mac)) == mac
    assert str(mac) == ":".join(f"{b:02x}" for b in raw)


@given(_octets)
def test_mac_str_round_trip(raw: bytes) -> None:
    mac = MacAddress(raw)
    assert MacAddress(str(mac)) == mac
    assert eval(repr(mac), {"MacAddress": MacAddress}) == mac


@given(st.text(max_size=60))
def test_mac_parse_never_crashes_otherwise(text: str) -> None:
    try:
        mac = MacAddress(text)
    except ValueError:
        return
    assert 1 <= len(mac.packed) <= 20


# ----------------------------------------------------------------- times


def test_decode_time_hand_built() -> None:
    assert decode_time(b"\x00\x00\x00\x00") is UNSET
    assert decode_time(b"\x7f\xff\xff\xff") is NEVER
    # 2026-01-01 00:00:00 UTC = (56 * 365 + 14 leap days) * 86400 = 1767225600 = 0x6955b900
    assert decode_time(b"\x69\x55\xb9\x00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert decode_time(b"\x00\x00\x00\x01") == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    t = decode_time(b"\x80\x00\x00\x00")  # past MAX_TIME: a real date, not NEVER
    assert t == datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC)
    assert isinstance(t, datetime)
    assert t.tzinfo is UTC


def test_decode_time_cache_gives_the_same_answers() -> None:
    # More distinct times than the cache holds (4096): it starts over and stays exact.
    first = 1_700_000_000
    for i in range(5000):
        raw = (first + i).to_bytes(4, "big")
        assert decode_time(raw) == datetime.fromtimestamp(first + i, UTC)
    assert decode_time(bytes(4)) is UNSET
    assert decode_time(b"\x7f\xff\xff\xff") is NEVER
    # Not bytes (not hashable, or a subclass): decoded without the cache, same answer.
    array = bytearray(b"\x69\x55\xb9\x00")
    assert decode_time(array) == datetime(2026, 1, 1, tzinfo=UTC)  # type: ignore[arg-type]
    assert decode_time(memoryview(b"\x7f\xff\xff\xff")) is NEVER  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [b"", b"\x00" * 3, b"\x00" * 5, b"\x00"])
def test_decode_time_wrong_length(raw: bytes) -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        decode_time(raw)


def test_encode_time_hand_built() -> None:
    assert encode_time(NEVER) == b"\x7f\xff\xff\xff"
    assert encode_time(UNSET) == b"\x00\x00\x00\x00"
    assert encode_time(datetime(2026, 1, 1, tzinfo=UTC)) == b"\x69\x55\xb9\x00"
    # another zone, same instant
    cet = timezone(timedelta(hours=1))
    assert encode_time(datetime(2026, 1, 1, 1, tzinfo=cet)) == b"\x69\x55\xb9\x00"
    # sub-second part is dropped
    assert encode_time(datetime(2026, 1, 1, 0, 0, 0, 999999, tzinfo=UTC)) == b"\x69\x55\xb9\x00"
    assert encode_time(5) == b"\x00\x00\x00\x05"
    assert encode_time(MAX_TIME) == b"\x7f\xff\xff\xff"
    assert encode_time(datetime(2038, 1, 19, 3, 14, 6, tzinfo=UTC)) == b"\x7f\xff\xff\xfe"


def test_encode_time_errors() -> None:
    with pytest.raises(ValueError, match="naive"):
        encode_time(datetime(2026, 1, 1))
    with pytest.raises(LocalProtocolError, match="outside"):
        encode_time(datetime(2038, 1, 19, 3, 14, 7, tzinfo=UTC))
    with pytest.raises(LocalProtocolError, match="outside"):
        encode_time(datetime(2100, 1, 1, tzinfo=UTC))
    with pytest.raises(LocalProtocolError, match="outside"):
        encode_time(datetime(1970, 1, 1, tzinfo=UTC))
    with pytest.raises(LocalProtocolError, match="outside"):
        encode_time(datetime(1960, 1, 1, tzinfo=UTC))
    with pytest.raises(LocalProtocolError):
        encode_time(-1)
    with pytest.raises(LocalProtocolError):
        encode_time(MAX_TIME + 1)
    with pytest.raises(TypeError):
        encode_time("never")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_time(True)


_lease_datetimes = st.datetimes(
    min_value=datetime(1970, 1, 1, 0, 0, 1),
    max_value=datetime(2038, 1, 19, 3, 14, 6),
    timezones=st.just(UTC),
).map(lambda d: d.replace(microsecond=0))


@given(_lease_datetimes)
def test_time_round_trip(t: datetime) -> None:
    raw = encode_time(t)
    assert len(raw) == 4
    assert decode_time(raw) == t


@given(st.integers(min_value=0, max_value=MAX_TIME))
def test_time_round_trip_from_wire(n: int) -> None:
    raw = n.to_bytes(4, "big")
    assert encode_time(decode_time(raw)) == raw


def test_sentinels() -> None:
    assert NEVER is TimeSentinel.NEVER
    assert UNSET is TimeSentinel.UNSET
    assert len({NEVER, UNSET}) == 2


# ----------------------------------------------------------------- enums


def test_lease_state() -> None:
    assert [(s.name, int(s)) for s in LeaseState] == [
        ("FREE", 1),
        ("ACTIVE", 2),
        ("EXPIRED", 3),
        ("RELEASED", 4),
        ("ABANDONED", 5),
        ("RESET", 6),
        ("BACKUP", 7),
    ]
    assert LeaseState.ACTIVE.dhcpd_name == "active"
    assert LeaseState.from_name("Backup") is LeaseState.BACKUP
    assert LeaseState.decode(2) is LeaseState.ACTIVE
    assert LeaseState.decode(9) == 9
    with pytest.raises(ValueError, match="unknown LeaseState 'bootp'"):
        LeaseState.from_name("bootp")


def test_lease_flags() -> None:
    assert int(LeaseFlags.BOOTP_LEASE) == 2
    assert int(LeaseFlags.RESERVED_LEASE) == 4
    assert int(LeaseFlags.MS_NULL_TERMINATION) == 8
    assert int(LeaseFlags.UNICAST_BROADCAST_HACK) == 64
    assert int(SETTABLE_LEASE_FLAGS) == 2 | 4 | 8 | 64
    assert LeaseFlags.RESERVED_LEASE.dhcpd_name == "reserved-lease"
    both = LeaseFlags.RESERVED_LEASE | LeaseFlags.BOOTP_LEASE
    assert both.dhcpd_name == "bootp-lease|reserved-lease"
    assert LeaseFlags(0).dhcpd_name == ""


def test_failover_state() -> None:
    expected = {
        "unknown-state": 0,
        "startup": 1,
        "normal": 2,
        "communications-interrupted": 3,
        "partner-down": 4,
        "potential-conflict": 5,
        "recover": 6,
        "paused": 7,
        "shutdown": 8,
        "recover-done": 9,
        "resolution-interrupted": 10,
        "conflict-done": 11,
        "recover-wait": 254,
    }
    assert {s.dhcpd_name: int(s) for s in FailoverState} == expected
    for name, value in expected.items():
        assert FailoverState.from_name(name) == value
    assert FailoverState.from_name("partner-down") is FailoverState.PARTNER_DOWN
    assert FailoverState.decode(99) == 99
    with pytest.raises(ValueError, match="FailoverState"):
        FailoverState.from_name("partner_up")


def test_control_state_quirks() -> None:
    assert [int(s) for s in ControlState] == [0, 1, 2]
    assert ControlState.decode(0) is ControlState.STARTUP  # what a running dhcpd reports
    assert ControlState.decode(2) is ControlState.SHUTDOWN
    four = ControlState.decode(4)  # after a shutdown request (docs/dhcpd-behaviour.md, "Objects")
    assert four == 4
    assert not isinstance(four, ControlState)
    assert int(FailoverHierarchy.PRIMARY) == 0
    assert int(FailoverHierarchy.SECONDARY) == 1
    assert FailoverHierarchy.SECONDARY.dhcpd_name == "secondary"


# ----------------------------------------------------------------- wire coders


def test_int32() -> None:
    assert encode_int32(0) == b"\x00\x00\x00\x00"
    assert encode_int32(1) == b"\x00\x00\x00\x01"
    assert encode_int32(0x01020304) == b"\x01\x02\x03\x04"
    assert encode_int32(0xFFFFFFFF) == b"\xff\xff\xff\xff"
    assert decode_int32(b"\x01\x02\x03\x04") == 0x01020304
    assert decode_int32(b"\xff\xff\xff\xff") == 0xFFFFFFFF
    for bad in (-1, 2**32):
        with pytest.raises(LocalProtocolError):
            encode_int32(bad)
    for raw in (b"", b"\x01", b"\x00" * 5):
        with pytest.raises(ValueError, match="4 bytes"):
            decode_int32(raw)


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_int32_round_trip(n: int) -> None:
    assert decode_int32(encode_int32(n)) == n


def test_ip() -> None:
    assert encode_ip("10.100.1.5") == b"\x0a\x64\x01\x05"
    assert encode_ip(IPv4Address("192.0.2.1")) == b"\xc0\x00\x02\x01"
    assert decode_ip(b"\x0a\x64\x01\x05") == IPv4Address("10.100.1.5")
    assert decode_ip_list(b"") == ()
    assert decode_ip_list(b"\x0a\x00\x00\x01\x0a\x00\x00\x02") == (
        IPv4Address("10.0.0.1"),
        IPv4Address("10.0.0.2"),
    )
    with pytest.raises(ValueError, match="4 bytes"):
        decode_ip(b"\x0a\x00\x00")
    with pytest.raises(ValueError, match="4\\*n"):
        decode_ip_list(b"\x0a\x00\x00\x01\x0a")
    with pytest.raises(LocalProtocolError, match="IPv4 only"):
        encode_ip("2001:db8::1")
    with pytest.raises(LocalProtocolError, match="IPv4 only"):
        encode_ip(IPv6Address("2001:db8::1"))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="not an IPv4"):
        encode_ip("10.0.0.256")


def test_string() -> None:
    assert decode_string(b"host5") == "host5"
    assert decode_string("h\u00e9".encode()) == "h\u00e9"
    raw = b"\xff\xfeabc"
    text = decode_string(raw)
    assert encode_string(text) == raw


@given(st.binary(max_size=64))
def test_string_lossless(raw: bytes) -> None:
    assert encode_string(decode_string(raw)) == raw


# ----------------------------------------------------------------- encode_value


def test_attribute_table() -> None:
    assert attribute_kind("state") is ValueKind.INT32
    assert attribute_kind("state", "interface") is ValueKind.STRING
    assert attribute_kind("ip-address", "host") is ValueKind.IP_LIST
    assert attribute_kind("ip-address", "lease") is ValueKind.IP
    assert attribute_kind("flags", "lease") is ValueKind.LEASE_FLAGS
    assert attribute_kind("ends") is ValueKind.TIME
    assert attribute_kind("no-such-thing") is ValueKind.STRING
    assert all(isinstance(k, ValueKind) for k in ATTRIBUTE_KINDS.values())


@pytest.mark.parametrize(
    ("name", "value", "object_type", "expected"),
    [
        # bytes-likes pass through
        ("anything", b"\x01\x02", None, b"\x01\x02"),
        ("anything", bytearray(b"\x03"), None, b"\x03"),
        ("anything", memoryview(b"\x04\x05"), None, b"\x04\x05"),
        ("ip-address", b"\x0a\x00\x00\x01", "lease", b"\x0a\x00\x00\x01"),
        # ints, bools and enum members
        ("state", LeaseState.ACTIVE, "lease", b"\x00\x00\x00\x02"),
        ("state", 2, None, b"\x00\x00\x00\x02"),
        ("hardware-type", 1, "host", b"\x00\x00\x00\x01"),
        ("create", True, None, b"\x00\x00\x00\x01"),
        ("exclusive", False, None, b"\x00\x00\x00\x00"),
        ("local-state", FailoverState.PARTNER_DOWN, "failover-state", b"\x00\x00\x00\x04"),
        ("state", ControlState.SHUTDOWN, "control", b"\x00\x00\x00\x02"),
        # lease flags: one byte, as dhcpd sends it
        ("flags", LeaseFlags.RESERVED_LEASE, "lease", b"\x04"),
        ("flags", 0, "lease", b"\x00"),
        ("flags", LeaseFlags.BOOTP_LEASE | LeaseFlags.UNICAST_BROADCAST_HACK, "lease", b"\x42"),
        ("flags", 0x100, "lease", b"\x00\x00\x01\x00"),
        ("flags", 4, None, b"\x00\x00\x00\x04"),
        # addresses
        ("ip-address", IPv4Address("10.100.1.5"), "lease", b"\x0a\x64\x01\x05"),
        ("ip-address", "10.100.1.5", "lease", b"\x0a\x64\x01\x05"),
        ("ip-address", "10.100.1.5", None, b"\x0a\x64\x01\x05"),
        ("ip-address", "10.0.0.1, 10.0.0.2", "host", b"\x0a\x00\x00\x01\x0a\x00\x00\x02"),
        (
            "ip-address",
            "10.0.0.1 10.0.0.2,10.0.0.3",
            "host",
            bytes.fromhex("0a0000010a0000020a000003"),
        ),
        (
            "hardware-address",
            MacAddress("00:11:22:33:44:55"),
            "host",
            bytes.fromhex("001122334455"),
        ),
        ("hardware-address", "00-11-22-33-44-55", "host", bytes.fromhex("001122334455")),
        ("hardware-address", "0011.2233.4455", None, bytes.fromhex("001122334455")),
        # identifiers: colon-hex or text
        (
            "dhcp-client-identifier",
            "01:00:11:22:33:44:55",
            "lease",
            bytes.fromhex("01001122334455"),
        ),
        ("dhcp-client-identifier", "my-client", "host", b"my-client"),
        ("dhcp-client-identifier", "01", "host", b"01"),
        ("hashstring", "1:2:0:0:0:0:5", "subclass", bytes.fromhex("01020000000005")),
        ("hashstring", "ab", "subclass", b"ab"),
        # text
        ("name", "host5", "host", b"host5"),
        ("client-hostname", "h\u00e9", "lease", "h\u00e9".encode()),
        ("statements", 'option host-name "x";', "host", b'option host-name "x";'),
        ("type", "lease", None, b"lease"),
        ("state", "up", "interface", b"up"),
        ("partner-address", "abc", "failover-state", b"abc"),
        ("group", "g1", "host", b"g1"),
        ("name", decode_string(b"\xff"), "host", b"\xff"),
        # times
        ("ends", datetime(2026, 1, 1, tzinfo=UTC), "lease", b"\x69\x55\xb9\x00"),
        ("ends", NEVER, "lease", b"\x7f\xff\xff\xff"),
        ("tstp", UNSET, "lease", b"\x00\x00\x00\x00"),
    ],
)
def test_encode_value(name: str, value: object, object_type: str | None, expected: bytes) -> None:
    assert encode_value(name, value, object_type) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "value", "object_type", "match"),
    [
        ("state", "active", "lease", "integer on the wire"),
        ("ends", "2026-01-01", "lease", "integer on the wire"),
        ("starts", "0", "lease", "integer on the wire"),
        ("flags", "4", "lease", "integer on the wire"),
        ("hardware-type", "1", "host", "integer on the wire"),
        ("local-state", "normal", "failover-state", "integer on the wire"),
        ("lease-limit", "5", "class", "integer on the wire"),
        ("handle", "3", None, "integer on the wire"),
        ("ip-address", "2001:db8::1", "lease", "IPv4 only"),
        ("ip-address", IPv6Address("2001:db8::1"), "lease", "IPv4 only"),
        ("ip-address", "10.0.0.1, 2001:db8::1", "host", "IPv4 only"),
        ("ip-address", "10.0.0.1, 10.0.0.1", "lease", "not an IPv4"),
        ("ip-address", " , ", "host", "no IPv4 address"),
        ("ip-address", "nonsense", None, "not an IPv4"),
        ("hardware-address", "00:11:22:33:44", "host", None),
        ("hardware-address", "zz:11:22:33:44:55", "host", "invalid MAC"),
        ("state", -1, "lease", "32-bit"),
        ("state", 2**32, "lease", "32-bit"),
        ("ends", datetime(2026, 1, 1), "lease", "naive"),
        ("ends", datetime(2040, 1, 1, tzinfo=UTC), "lease", "outside"),
        ("state", b"", "lease", "empty value"),
        ("local-state", b"", "failover-state", "empty value"),
        ("flags", bytearray(), "lease", "empty value"),
    ],
)
def test_encode_value_refused(
    name: str, value: object, object_type: str | None, match: str | None
) -> None:
    if match is None:  # valid 5-octet hardware address: not an error
        assert encode_value(name, value, object_type) == bytes.fromhex("0011223344")  # type: ignore[arg-type]
        return
    with pytest.raises(LocalProtocolError, match=match):
        encode_value(name, value, object_type)  # type: ignore[arg-type]


def test_encode_value_refusals_are_value_errors() -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the point is the builtin base class
        encode_value("state", "active", "lease")


def test_encode_value_empty_bytes_for_text_is_a_null() -> None:
    # a null host ip-address clears the fixed address (docs/dhcpd-behaviour.md, "Objects")
    assert encode_value("ip-address", b"", "host") == b""


def test_encode_value_unsupported_type() -> None:
    with pytest.raises(TypeError):
        encode_value("name", 1.5, "host")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_value("name", None, "host")  # type: ignore[arg-type]


@given(
    st.one_of(
        st.text(alphabet="0123456789. x:", max_size=20),
        st.ip_addresses(v=4).map(str),
        st.tuples(*[st.integers(0, 300)] * 4).map(lambda t: ".".join(f"{n:03d}" for n in t)),
    )
)
def test_fast_ip_encoding_accepts_exactly_what_ipaddress_accepts(text: str) -> None:
    from aiomapi.typed.values import _parse_ipv4

    try:
        expected: bytes | None = _parse_ipv4(text).packed
    except LocalProtocolError:
        expected = None
    try:
        got: bytes | None = encode_ip(text)
    except LocalProtocolError:
        got = None
    assert got == expected


def test_enums_print_their_dhcpd_names() -> None:
    """str(), f-strings and print show dhcpd's names; a format spec shows the number."""
    from aiomapi import FailoverState, LeaseFlags, LeaseState

    assert str(LeaseState.ACTIVE) == "active"
    assert f"{LeaseState.ACTIVE}" == "active"
    assert f"{LeaseState.ACTIVE:d}" == "2"
    assert str(FailoverState.PARTNER_DOWN) == "partner-down"
    assert int(LeaseState.ACTIVE) == 2
    assert str(LeaseFlags(0)) == "none"
    assert str(LeaseFlags.BOOTP_LEASE | LeaseFlags.RESERVED_LEASE) == "bootp-lease|reserved-lease"
