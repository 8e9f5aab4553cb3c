"""One behavioural suite, run against the real ISC dhcpd 4.4.3 and against FakeDhcpd.

Both are started with the same data (the lab's lease layout plus a few special leases and
dhcpd.conf declarations), so the stand-in cannot drift from the real server:

* the typed-API tests run once per backend (the ``backend`` fixture is parametrised over
  ``real`` and ``fake``) and assert the same things on both;
* the wire scenarios replay a list of raw requests against a fresh real dhcpd and a fresh
  fake and require identical replies — opcodes, handles, result codes, status texts,
  attribute names, order and values — apart from clock-dependent values, generated names,
  and the lease binding variables a client set, which dhcpd fills with part of a heap
  address (see ``normalise``).

Tests that leave the real server in a state a fake loaded from its lease file could not
reproduce (binding variables set over OMAPI: ``true`` in the file, a heap address in
memory) run on a server of their own, ``scratch_omapi``, so that
``test_fake_loaded_from_the_real_lease_file`` holds in any test order.

Where the real dhcpd lab cannot run (not root, no dhcpd), the real half is skipped.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from ipaddress import IPv4Address
from pathlib import Path

import pytest

import aiomapi
from aiomapi import Key, LeaseState, MacAddress
from aiomapi._sansio.client import Request
from aiomapi._sansio.wire import STARTUP_BYTES, Framer, Message, Opcode, decode_frame, encode_body
from aiomapi.errors import ResultCode
from aiomapi.facts import MAX_HARDWARE_ADDRESS_LEN, NO_MATCH, SETTABLE_LEASE_FLAGS
from aiomapi.leasefile import (
    ClassRecord,
    HostRecord,
    LeaseRecord,
    SubclassRecord,
    format_lease,
    load_leases,
    parse_leases,
)
from aiomapi.testing import FakeDhcpd, FakeFailoverPeer, dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, FailoverPair, lease_ip, lease_mac
from aiomapi.testing.layout import FREE_ADDRESSES, LAB_ENDS, lab_lease

from ..conftest import FAILOVER_MAX_RESPONSE_DELAY, FAILOVER_MCLT, start_lab

SECRET = "YmVoYXZpb3VyLXN1aXRlLXNlY3JldC0wMDAwMDAwMQ=="
KEY = Key(dhcpd_lab.KEY_NAME, SECRET, "hmac-md5")
STARTED = datetime(2024, 1, 4, tzinfo=UTC)  # starts and cltt of the leases

# ---------------------------------------------------------------- the shared data

N_LEASES = 20  # leases 0..19, then FREE_ADDRESSES free pool addresses (as the lab makes them)
DUP_MAC = "02:00:00:00:ff:01"  # leases 10 and 11
DUP_UID = b"dup-uid"  # leases 12 and 13
UID_14 = bytes.fromhex("01020000000e0e")  # lease 14, which also has binding variables
NO_NEXT = 15  # a lease without "next binding state"
LONG_MACS = {16: 17, 18: 19, 19: 20}  # lease → octets of its hardware address
CFG_MAC = "0a:00:00:00:aa:01"
HASH = bytes.fromhex("010a0000000001")
EXTRA_CONF = f"""
class "cfg-class" {{ match hardware; }}
subclass "cfg-class" {HASH.hex(":")};
host cfg-host {{ hardware ethernet {CFG_MAC}; fixed-address 10.100.200.1; }}
"""


def long_mac(i: int) -> MacAddress:
    """Lease ``i``'s hardware address, longer than the 16 octets once taken for the limit."""
    return MacAddress(bytes([0x0A, i]) + bytes(range(1, LONG_MACS[i] - 1)))


def lease_record(i: int) -> LeaseRecord:
    """Lab lease ``i`` (aiomapi.testing.layout), or the special lease this suite puts there."""
    record = lab_lease(i, now=STARTED)
    if i in (10, 11):
        return replace(record, hardware_address=MacAddress(DUP_MAC))
    if i in (12, 13):
        return replace(record, client_identifier=DUP_UID)
    if i == 14:
        return replace(
            record, client_identifier=UID_14, variables=(("foo", b"bar"), ("flag", True))
        )
    if i in LONG_MACS:
        return replace(record, hardware_address=long_mac(i))
    if i == NO_NEXT:
        return replace(record, next_binding_state=None, rewind_binding_state=None)
    return record


def leases_text() -> str:
    groups = 'group "file-group" {\n  dynamic;\n  default-lease-time 300;\n}\n'
    return groups + "".join(format_lease(lease_record(i)) for i in range(N_LEASES))


def make_fake() -> FakeDhcpd:
    return FakeDhcpd(
        key=KEY,
        database=parse_leases(leases_text()),
        classes=[ClassRecord("cfg-class", statements="match hardware;")],
        subclasses=[SubclassRecord("cfg-class", HASH)],
        hosts=[
            HostRecord(
                "cfg-host",
                hardware_type=1,
                hardware_address=MacAddress(CFG_MAC),
                fixed_addresses=(IPv4Address("10.100.200.1"),),
            )
        ],
        pool_range=(lease_ip(0), lease_ip(N_LEASES + FREE_ADDRESSES - 1)),
        interfaces=["lease0"],
    )


def start_real(workdir: Path, port: int) -> DhcpdInstance:
    return start_lab(
        dhcpd_lab.start_single,
        workdir,
        port,
        N_LEASES,
        secret=SECRET,
        leases_text=leases_text(),
        extra_conf=EXTRA_CONF,
    )


# ---------------------------------------------------------------- the backends


@dataclass(frozen=True)
class Backend:
    kind: str
    host: str
    port: int
    key: Key


@pytest.fixture(scope="module")
def real_server(
    tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]
) -> Iterator[DhcpdInstance]:
    inst = start_real(tmp_path_factory.mktemp("behaviour"), lab_port())
    yield inst
    dhcpd_lab.stop(inst)


@pytest.fixture(scope="module")
def scratch_server(
    tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]
) -> Iterator[DhcpdInstance]:
    """A second real server with the same data, for changes its lease file cannot carry."""
    inst = start_real(tmp_path_factory.mktemp("behaviour-scratch"), lab_port())
    yield inst
    dhcpd_lab.stop(inst)


@asynccontextmanager
async def serve(request: pytest.FixtureRequest, real_fixture: str) -> AsyncIterator[Backend]:
    """The real server of ``real_fixture`` or a fresh fake, by ``request.param``."""
    if request.param == "real":
        inst: DhcpdInstance = request.getfixturevalue(real_fixture)
        yield Backend("real", inst.host, inst.port, KEY)
        assert inst.alive()
    else:
        async with make_fake() as fake:
            yield Backend("fake", fake.host, fake.port, KEY)


@pytest.fixture(params=[pytest.param("real", marks=pytest.mark.dhcpd), "fake"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """``(host, port, key)`` of a real dhcpd or of a FakeDhcpd with the same data.

    The real server is shared by the module; the fake is fresh per test. Tests therefore
    use leases and names of their own.
    """
    async with serve(request, "real_server") as served:
        yield served


@pytest.fixture
async def omapi(backend: Backend) -> AsyncIterator[aiomapi.Client]:
    async with aiomapi.Client(backend.host, backend.port, key=backend.key, timeout=10) as client:
        yield client


@pytest.fixture(params=[pytest.param("real", marks=pytest.mark.dhcpd), "fake"])
async def scratch_omapi(request: pytest.FixtureRequest) -> AsyncIterator[aiomapi.Client]:
    """A client of ``scratch_server`` or of a fresh fake (module-shared real server: tests
    use leases of their own)."""
    async with (
        serve(request, "scratch_server") as served,
        aiomapi.Client(served.host, served.port, key=served.key, timeout=10) as client,
    ):
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def unique_mac() -> str:
    return str(MacAddress(b"\x0a" + uuid.uuid4().bytes[:5]))


# ---------------------------------------------------------------- typed API: leases


async def test_lease_by_ip(omapi: aiomapi.Client) -> None:
    lease = await omapi.leases.get(ip=lease_ip(5))
    assert lease.state is LeaseState.ACTIVE
    assert lease.ip_address == IPv4Address(lease_ip(5))
    assert lease.client_hostname == "host5"
    assert lease.hardware_address == MacAddress(lease_mac(5))
    assert lease.hardware_type == 1
    assert lease.ends == LAB_ENDS == lease.tstp
    assert lease.starts == STARTED == lease.cltt
    assert lease.tsfp is aiomapi.UNSET
    assert lease.flags == aiomapi.LeaseFlags(0)
    assert lease.dhcp_client_identifier is None
    assert lease.variables == {}
    assert await omapi.leases.get(handle=lease.handle) == lease
    assert await omapi.leases.get(mac=lease_mac(5)) == lease


async def test_lease_lookup_errors(omapi: aiomapi.Client) -> None:
    with pytest.raises(aiomapi.NotFound) as info:
        await omapi.leases.get(ip="10.99.0.1")
    assert (info.value.code, info.value.text) == (23, NO_MATCH)
    with pytest.raises(aiomapi.NotFound):
        await omapi.leases.get(mac="02:00:00:ff:ff:ff")
    with pytest.raises(aiomapi.KeyConflict):
        await omapi.leases.get(ip=lease_ip(1), mac=lease_mac(2))
    with pytest.raises(aiomapi.MultipleMatches):
        await omapi.leases.get(mac=DUP_MAC)
    with pytest.raises(aiomapi.MultipleMatches):
        await omapi.leases.get(client_id=DUP_UID)
    lease = await omapi.leases.get(ip=lease_ip(1))
    assert lease.pool is not None
    with pytest.raises(aiomapi.InvalidArgument):
        await omapi.leases.get(handle=lease.pool)


async def test_lease_client_id_and_variables(omapi: aiomapi.Client) -> None:
    lease = await omapi.leases.get(client_id=UID_14)
    assert lease.ip_address == IPv4Address(lease_ip(14))
    assert lease.dhcp_client_identifier == UID_14
    assert lease.variables == {"foo": b"bar", "flag": b"\x00\x00\x00\x01"}


async def test_free_pool_address(omapi: aiomapi.Client) -> None:
    lease = await omapi.leases.get(ip=lease_ip(N_LEASES + 3))
    assert lease.state is LeaseState.FREE
    assert lease.hardware_address is None
    assert lease.ends is aiomapi.UNSET
    assert lease.starts is aiomapi.UNSET
    pool = await omapi.pools.of_lease(lease)
    assert pool.lease_count == N_LEASES + FREE_ADDRESSES
    assert pool.backup_leases == 0


async def test_lease_update_ends(omapi: aiomapi.Client) -> None:
    ends = datetime.fromtimestamp(int(time.time()) + 86400, UTC)
    lease = await omapi.leases.update(ip=lease_ip(1), ends=ends)
    assert lease.ends == ends
    assert lease.state is LeaseState.ACTIVE


async def test_lease_state_change_drops_hostname(omapi: aiomapi.Client) -> None:
    lease = await omapi.leases.update(ip=lease_ip(2), state=LeaseState.EXPIRED)
    assert lease.state is LeaseState.EXPIRED
    assert lease.client_hostname is None


async def test_lease_release_and_expire(omapi: aiomapi.Client) -> None:
    assert (await omapi.leases.release(ip=lease_ip(3))).state is LeaseState.FREE
    assert (await omapi.leases.expire(ip=lease_ip(4))).state is LeaseState.FREE


async def test_lease_without_next_state_survives_an_ends_change(omapi: aiomapi.Client) -> None:
    raw = await omapi.open("lease", {"ip-address": lease_ip(NO_NEXT)})
    await omapi.update(raw, {"ends": int(time.time()) + 86400})
    assert (await omapi.leases.get(ip=lease_ip(NO_NEXT))).state is LeaseState.ACTIVE


async def test_lease_cannot_be_created_or_deleted(omapi: aiomapi.Client) -> None:
    with pytest.raises(aiomapi.NotImplementedByServer):
        await omapi.open("lease", {"foo": "bar"})
    lease = await omapi.leases.get(ip=lease_ip(6))
    with pytest.raises(aiomapi.NotImplementedByServer):
        await omapi.delete(lease.handle, "lease")
    with pytest.raises(aiomapi.PermissionDenied):
        await omapi.update(lease.handle, {"ip-address": lease_ip(7)}, "lease")


async def test_hardware_addresses_up_to_20_octets(omapi: aiomapi.Client) -> None:
    """dhcpd takes hardware addresses of up to 20 octets: in its lease file, on a lease
    lookup, on a host create. A longer one is INVALIDARG on a host and matches nothing."""
    for i, octets in LONG_MACS.items():
        lease = await omapi.leases.get(mac=long_mac(i))
        assert lease.ip_address == IPv4Address(lease_ip(i))
        assert lease.hardware_address == long_mac(i)
        assert len(lease.hardware_address.packed) == octets
    for octets in (16, 17, MAX_HARDWARE_ADDRESS_LEN):
        mac = MacAddress(b"\x0a" + (uuid.uuid4().bytes * 2)[: octets - 1])
        host = await omapi.hosts.create(name=unique("h"), hardware_address=mac)
        assert host.hardware_address == mac
        assert (await omapi.hosts.get(mac=mac)).handle == host.handle
    too_long = b"\x0a" + uuid.uuid4().bytes + bytes(MAX_HARDWARE_ADDRESS_LEN - 16)
    with pytest.raises(aiomapi.InvalidArgument):
        await omapi.create("host", {"name": unique("h"), "hardware-address": too_long})
    with pytest.raises(aiomapi.NotFound):
        await omapi.open("lease", {"hardware-address": too_long})
    with pytest.raises(aiomapi.NotFound):
        await omapi.open("host", {"hardware-address": too_long})


# ---------------------------------------------------------------- lease values of any length

#: The value lengths each lease update is tried with. Never 0: a null state, ends or flags
#: crashes dhcpd.
VALUE_LENGTHS = (1, 2, 3, 4, 5, 8)
_OK, _INVAL, _PERM = 0, int(ResultCode.INVALIDARG), int(ResultCode.NOPERM)
#: name → the status of an update with a value of each of VALUE_LENGTHS (see ``pattern``).
#: Names dhcpd has no case for become binding variables: tstp, tsfp, atsfp, cltt included.
_ANY = len(VALUE_LENGTHS)
UPDATE_STATUS = {
    "tstp": (_OK,) * _ANY,
    "tsfp": (_OK,) * _ANY,
    "cltt": (_OK,) * _ANY,
    "atsfp": (_OK,) * _ANY,
    "starts": (_PERM,) * _ANY,
    "ends": (_INVAL, _INVAL, _INVAL, _OK, _INVAL, _INVAL),
    "state": (_INVAL,) * _ANY,  # 0x10111213 is no binding state
    "flags": (_OK, _INVAL, _INVAL, _OK, _INVAL, _INVAL),
    "ip-address": (_PERM,) * _ANY,
    "hardware-address": (_OK,) * _ANY,  # accepted and ignored
    "myvar": (_OK,) * _ANY,
}
BINDING_NAMES = frozenset({"tstp", "tsfp", "cltt", "atsfp", "myvar"})


def pattern(n: int) -> bytes:
    """``n`` bytes 0x10, 0x11, …; as an int32 (n = 4) a time in 1978, BOOTP in the flags."""
    return bytes(range(0x10, 0x10 + n))


Pairs = list[tuple[str, bytes]]


async def lease_values(omapi: aiomapi.Client, handle: int) -> Pairs:
    """A lease as sent, names that come twice included (an OmapiObject keeps one)."""
    reply = await omapi.request(Request(Opcode.REFRESH, handle=handle, object_type="lease"))
    return list(reply.object)


def split_lease(values: Pairs) -> tuple[Pairs, Pairs]:
    """(the lease's fields, its binding variables): dhcpd sends the variables after flags."""
    end = [name for name, _ in values].index("flags") + 1
    return values[:end], values[end:]


async def update_status(
    omapi: aiomapi.Client, handle: int, values: Mapping[str, bytes | None]
) -> int:
    try:
        await omapi.update(handle, values, "lease")
    except aiomapi.ServerError as exc:
        return exc.code
    return 0


@pytest.mark.parametrize("name", list(UPDATE_STATUS))
async def test_lease_update_value_lengths(scratch_omapi: aiomapi.Client, name: str) -> None:
    """Each name with values of 1 to 8 bytes: the status, the lease as sent, typed lookup.

    A name dhcpd has no case for becomes a binding variable that reads back as 4 bytes
    (part of a heap address) whatever was sent; for ``tstp``, ``tsfp``, ``atsfp`` and
    ``cltt`` the lease then carries the name twice: the field, unchanged, then the variable.
    """
    address = lease_ip(list(UPDATE_STATUS).index(name))  # a lease of its own
    handle = (await scratch_omapi.open("lease", {"ip-address": address})).handle
    for n, expected in zip(VALUE_LENGTHS, UPDATE_STATUS[name], strict=True):
        case = f"{name} = {n} bytes"
        before = await lease_values(scratch_omapi, handle)
        assert await update_status(scratch_omapi, handle, {name: pattern(n)}) == expected, case
        lease = await scratch_omapi.leases.get(ip=address)  # the typed lookup works
        assert lease.ip_address == IPv4Address(address), case
        after = await lease_values(scratch_omapi, handle)
        fields, variables = split_lease(after)
        if expected != _OK:
            assert after == before, case
        elif name in BINDING_NAMES:
            assert fields == split_lease(before)[0], case
            assert [len(value) for key, value in variables if key == name] == [4], case
        elif name == "hardware-address":
            assert fields == split_lease(before)[0], case
        elif name == "ends":
            assert dict(fields)["ends"] == pattern(4), case
        else:  # flags: the settable bits of the last byte
            assert dict(fields)["flags"] == bytes([pattern(n)[-1] & SETTABLE_LEASE_FLAGS]), case


async def test_lease_binding_variable_unset(
    scratch_omapi: aiomapi.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Null hides a variable, which keeps its place; null on a name never set is refused.

    (A second null on the same variable kills dhcpd: see test_lease_binding_dhcpd.py. That
    is why aiomapi refuses every null written to a lease; this test lifts that one guard to
    show what dhcpd does.)
    """
    monkeypatch.setattr(aiomapi._sansio.safety, "GUARD_LEASE_NULLS", False)
    handle = (await scratch_omapi.open("lease", {"ip-address": lease_ip(17)})).handle
    unknown = int(ResultCode.UNKNOWNATTRIBUTE)
    assert await update_status(scratch_omapi, handle, {"never-set": None}) == unknown
    assert split_lease(await lease_values(scratch_omapi, handle))[1] == []
    for values in ({"aa": b"1"}, {"bb": b"1"}, {"aa": None}):
        assert await update_status(scratch_omapi, handle, values) == _OK
    variables = split_lease(await lease_values(scratch_omapi, handle))[1]
    assert [name for name, _ in variables] == ["bb", "remote-handle"]
    assert await update_status(scratch_omapi, handle, {"zz": None}) == unknown
    assert await update_status(scratch_omapi, handle, {"aa": b"22"}) == _OK
    variables = split_lease(await lease_values(scratch_omapi, handle))[1]
    assert [name for name, _ in variables] == ["bb", "remote-handle", "aa"]
    assert [len(value) for _, value in variables] == [4, 4, 4]


# ---------------------------------------------------------------- typed API: the rest


async def test_host_lifecycle(omapi: aiomapi.Client) -> None:
    name, mac = unique("h"), unique_mac()
    host = await omapi.hosts.create(name=name, hardware_address=mac, ip_address="10.100.50.1")
    assert host.name == name
    assert host.hardware_address == MacAddress(mac)
    assert host.hardware_type == 1
    assert host.ip_addresses == (IPv4Address("10.100.50.1"),)
    assert (await omapi.hosts.get(mac=mac)).handle == host.handle
    with pytest.raises(aiomapi.AlreadyExists):
        await omapi.hosts.create(name=name, hardware_address=mac)
    with pytest.raises(aiomapi.KeyConflict):
        await omapi.hosts.create(name=unique("h"), hardware_address=mac)
    updated = await omapi.hosts.update(name=name, ip_address=["10.100.50.2", "10.100.50.3"])
    assert updated.ip_addresses == (IPv4Address("10.100.50.2"), IPv4Address("10.100.50.3"))
    await omapi.hosts.delete(name=name)
    with pytest.raises(aiomapi.NotFound):
        await omapi.hosts.get(name=name)


async def test_host_errors_and_quirks(omapi: aiomapi.Client) -> None:
    with pytest.raises(aiomapi.InvalidArgument):
        await omapi.hosts.create(name=unique("h"))  # no identifier
    with pytest.raises(aiomapi.NotFound):
        await omapi.hosts.create(name=unique("h"), hardware_address=unique_mac(), group="nope")
    with pytest.raises(aiomapi.BadParse):
        await omapi.hosts.create(
            name=unique("h"), hardware_address=unique_mac(), statements="garbage garbage"
        )
    made_up = await omapi.hosts.create(hardware_address=unique_mac())
    assert made_up.name is not None
    assert re.fullmatch(r"nh[0-9a-f]+", made_up.name)
    blank = await omapi.open("host", {"known": 1})  # no key: a blank, unentered host
    assert blank.values == {}


async def test_host_from_conf_and_by_lease_ip(omapi: aiomapi.Client) -> None:
    host = await omapi.hosts.get(name="cfg-host")
    assert host.hardware_address == MacAddress(CFG_MAC)
    assert host.ip_addresses == (IPv4Address("10.100.200.1"),)
    with pytest.raises(aiomapi.NotFound):  # a fixed address is not searched
        await omapi.hosts.get(ip="10.100.200.1")
    mac = lease_mac(8)
    name = unique("h")
    await omapi.hosts.create(name=name, hardware_address=mac)
    assert (await omapi.hosts.get(ip=lease_ip(8))).name == name  # through the lease's MAC


async def test_groups(omapi: aiomapi.Client) -> None:
    name = unique("g")
    group = await omapi.groups.create(name, statements="default-lease-time 600;")
    assert group.name == name
    assert (await omapi.groups.get(name)).handle == group.handle
    assert (await omapi.groups.get("file-group")).name == "file-group"
    with pytest.raises(aiomapi.AlreadyExists):
        await omapi.groups.create(name, statements="default-lease-time 1;")
    await omapi.groups.delete(name)
    with pytest.raises(aiomapi.NotFound):
        await omapi.groups.get(name)


async def test_classes_and_subclasses(omapi: aiomapi.Client) -> None:
    assert (await omapi.classes.get("cfg-class")).name == "cfg-class"
    assert (await omapi.subclasses.get("cfg-class", HASH)).name == "cfg-class"
    name = unique("c")
    await omapi.classes.create(name, match="hardware")
    sub = await omapi.subclasses.create(name, "01:0a:00:00:00:00:09")
    assert sub.hashstring == bytes.fromhex("010a0000000009")
    with pytest.raises(aiomapi.NotFound):
        await omapi.subclasses.create(unique("nope"), "01:0a:00:00:00:00:09")
    await omapi.subclasses.delete(name, "01:0a:00:00:00:00:09")
    await omapi.classes.delete(name)
    with pytest.raises(aiomapi.NotFound):
        await omapi.classes.get(name)


async def test_control_and_failover(omapi: aiomapi.Client) -> None:
    assert (await omapi.control.get()).state == 0
    with pytest.raises(aiomapi.NotFound):
        await omapi.failover.get("lab")  # a single server has no failover peer


async def test_authentication(backend: Backend) -> None:
    async with aiomapi.Client(backend.host, backend.port, timeout=5) as anonymous:
        with pytest.raises(aiomapi.NoKeys):
            await anonymous.leases.get(ip=lease_ip(1))
    wrong = Key(KEY.name, Key.generate("x").secret)
    async with aiomapi.Client(backend.host, backend.port, key=wrong, timeout=5) as impostor:
        with pytest.raises(aiomapi.InvalidKey):
            await impostor.leases.get(ip=lease_ip(1))


async def test_fake_loaded_from_the_real_lease_file(real_server: DhcpdInstance) -> None:
    """dhcpd's own rewrite of its lease file, loaded into a fake, answers as dhcpd does."""
    db = load_leases(real_server.workdir / "dhcpd.leases")
    last = lease_ip(N_LEASES + FREE_ADDRESSES - 1)
    fake = FakeDhcpd(key=KEY, database=db, pool_range=(lease_ip(0), last))
    ips = [lease_ip(i) for i in range(N_LEASES + FREE_ADDRESSES)]
    async with (
        fake,
        aiomapi.Client(fake.host, fake.port, key=KEY) as fake_client,
        aiomapi.Client(real_server.host, real_server.port, key=KEY) as real_client,
    ):
        for address in ips:
            real = await real_client.open("lease", {"ip-address": address})
            mine = await fake_client.open("lease", {"ip-address": address})
            ignore = {"subnet", "pool", "remote-handle"}  # handles differ between servers
            assert {k: v for k, v in mine.values.items() if k not in ignore} == {
                k: v for k, v in real.values.items() if k not in ignore
            }, address


@pytest.mark.failover
async def test_failover_state_matches_dhcpd(failover_pair: FailoverPair) -> None:
    peer = FakeFailoverPeer(
        dhcpd_lab.PEER_NAME.encode(),
        mclt=FAILOVER_MCLT,
        max_response_delay=FAILOVER_MAX_RESPONSE_DELAY,
    )
    primary = failover_pair.primary
    key = primary.key
    async with (
        FakeDhcpd.like_lab(0, key=key, failover_peers=[peer]) as fake,
        aiomapi.Client(fake.host, fake.port, key=key) as fake_client,
        aiomapi.Client(primary.host, primary.port, key=key) as real_client,
    ):
        for client in (real_client, fake_client):
            with pytest.raises(aiomapi.NotFound):
                await client.failover.get("nope")
            with pytest.raises(aiomapi.NotImplementedByServer):
                await client.create("failover-state", {"name": "nope"})
        real = await real_client.failover.get(dhcpd_lab.PEER_NAME)
        mine = await fake_client.failover.get(dhcpd_lab.PEER_NAME)
        moving = {"handle", "partner_stos", "local_stos", "cur_unacked_updates"}
        assert {f: getattr(mine, f) for f in mine.__dataclass_fields__ if f not in moving} == {
            f: getattr(real, f) for f in real.__dataclass_fields__ if f not in moving
        }


# ---------------------------------------------------------------- wire scenarios


class Raw:
    """A raw client that signs (or not) whatever it is told to send."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.framer = Framer()
        self.signer = KEY.signer()
        self.authid = 0
        self.next_id = 1000

    @classmethod
    async def connect(cls, host: str, port: int) -> Raw:
        reader, writer = await asyncio.open_connection(host, port)
        raw = cls(reader, writer)
        assert await reader.readexactly(8) == STARTUP_BYTES
        writer.write(STARTUP_BYTES)
        auth = Step(1, mv=AUTH, ov=KEY_VALUES, sign=False)
        reply = await raw.send(auth)
        assert isinstance(reply, tuple)
        assert reply[0] == Opcode.UPDATE
        assert isinstance(reply[1], int)
        raw.authid = reply[1]
        return raw

    async def send(self, step: Step, last: int = 0) -> tuple[object, ...] | str:
        self.next_id += 1
        handle = last if step.handle == LAST else step.handle
        message = Message(step.op, handle, self.next_id, step.rid, step.mv, step.ov)
        if step.sign:
            authid = step.authid if step.authid is not None else self.authid
            authlen = self.signer.digest_size if step.authlen is None else step.authlen
            body = encode_body(message, authid, authlen)
            sig = self.signer.sign(body[4:]) if step.sig is None else step.sig
            data = body + sig[:authlen]
        else:
            data = encode_body(message, 0, 0)
        self.writer.write(data)
        try:
            async with asyncio.timeout(5):
                while True:
                    frame = self.framer.next_frame()
                    if frame is not None:
                        return normalise(decode_frame(frame), bool(frame.signature))
                    chunk = await self.reader.read(65536)
                    if not chunk:
                        return "closed"
                    self.framer.feed(chunk)
        except ConnectionError:
            return "closed"

    def close(self) -> None:
        self.writer.close()


LAST = -1  # "the handle of the last object returned" in a step


@dataclass(frozen=True)
class Step:
    op: int
    mv: tuple[tuple[str, bytes], ...] = ()
    ov: tuple[tuple[str, bytes], ...] = ()
    handle: int = 0
    sign: bool = True
    rid: int = 0
    authid: int | None = None
    authlen: int | None = None
    sig: bytes | None = None


#: Lease binding variables the scenarios set over the wire: dhcpd shows part of a heap
#: address for them (only their length is compared).
WIRE_VARIABLES = frozenset({"tstp", "tsfp", "cltt", "atsfp", "myvar", "aa", "bb", "cc", "dd", "ee"})


def normalise(message: Message, signed: bool) -> tuple[object, ...]:
    """A reply with the values that depend on the clock or on dhcpd's memory masked."""
    now = time.time()
    out: list[object] = [message.opcode, message.handle, signed]
    if message.opcode == Opcode.STATUS:
        code, text = message.message_value("result"), message.message_value("message")
        out += [int.from_bytes(code or b"", "big"), text]
        return tuple(out)
    variables = False  # a lease's binding variables come after its flags
    for name, value in message.object:
        shown: object = value
        if variables and name in WIRE_VARIABLES:
            shown = f"heap address ({len(value)} bytes)"
        variables = variables or name == "flags"
        clock = len(value) == 4 and name in ("starts", "cltt", "ends", "tstp", "local-stos")
        if clock and abs(int.from_bytes(value, "big") - now) < 600:
            shown = "now"
        if name == "name" and re.fullmatch(rb"n[hg][0-9a-f]+", value):
            shown = "generated"
        out.append((name, shown))
    return tuple(out)


def i32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def ip(i: int) -> tuple[str, bytes]:
    return ("ip-address", IPv4Address(lease_ip(i)).packed)


def mac(text: str) -> tuple[str, bytes]:
    return ("hardware-address", MacAddress(text).packed)


def typ(name: bytes, *flags: str) -> tuple[tuple[str, bytes], ...]:
    return (("type", name), *((flag, i32(1)) for flag in flags))


def upd(*values: tuple[str, bytes], handle: int = LAST) -> Step:
    return Step(Opcode.UPDATE, ov=values, handle=handle)


REFRESH_LAST = Step(Opcode.REFRESH, handle=LAST)
AUTH = (("type", b"authenticator"),)
KEY_VALUES = (("name", KEY.name.encode()), ("algorithm", b"hmac-md5.sig-alg.reg.int."))
L = typ(b"lease")
H = typ(b"host")
G = typ(b"group")
C = typ(b"class")
S = typ(b"subclass")
CREATE = ("create", "exclusive")

SCENARIOS: dict[str, list[Step]] = {
    "protocol": [
        Step(Opcode.OPEN, mv=L, ov=(ip(5),), sign=False),
        Step(Opcode.REFRESH, handle=1, sign=False),
        Step(Opcode.STATUS, sign=False),
        Step(Opcode.NOTIFY),
        Step(Opcode.OPEN, mv=L, ov=(ip(5),), sig=bytes(16)),
        Step(Opcode.OPEN, mv=L, ov=(ip(5),), authlen=8),
        Step(Opcode.OPEN, mv=AUTH, ov=KEY_VALUES, sign=False),
        Step(Opcode.OPEN, mv=AUTH, ov=KEY_VALUES),
        Step(Opcode.OPEN, mv=AUTH, ov=KEY_VALUES[:1]),
        Step(Opcode.OPEN, mv=AUTH, ov=(KEY_VALUES[0], ("algorithm", b"hmac-md5"))),
        Step(Opcode.OPEN, mv=AUTH),
        Step(Opcode.OPEN, mv=typ(b"authenticator", "create"), ov=KEY_VALUES),
        Step(Opcode.OPEN, mv=typ(b"authenticator", *CREATE), ov=KEY_VALUES),
        Step(Opcode.UPDATE, ov=(("name", b"x"),), handle=1),
        Step(Opcode.REFRESH, handle=1),
        Step(Opcode.DELETE, handle=1),
        Step(Opcode.REFRESH, handle=0),
        Step(Opcode.REFRESH, handle=99999),
        Step(Opcode.DELETE, handle=99999),
        Step(Opcode.OPEN, ov=(ip(5),)),
        Step(Opcode.OPEN, mv=(("create", i32(1)),), ov=(ip(5),)),
        Step(Opcode.OPEN, mv=(("type", b"Lease"),), ov=(ip(5),)),
        Step(Opcode.OPEN, mv=(*L, ("create", b"\x01")), ov=(ip(5),)),
        Step(Opcode.OPEN, mv=(*L, ("update", b"\x00" * 3)), ov=(ip(5),)),
        Step(Opcode.OPEN, mv=(*L, ("exclusive", b"\x00" * 5)), ov=(ip(5),)),
        Step(Opcode.OPEN, mv=(*L, ("create", b"")), ov=(ip(5),)),
        Step(Opcode.OPEN, mv=(("type", b"foo"), *L), ov=(ip(5),)),
        Step(Opcode.OPEN, mv=(*L, ("padding", b"x" * 10)), ov=(ip(5),)),
        *(Step(Opcode.OPEN, mv=typ(t), ov=(ip(5),)) for t in (b"generic", b"message", b"pool")),
        Step(Opcode.OPEN, mv=typ(b"control")),
        Step(Opcode.OPEN, mv=typ(b"control", *CREATE)),
        Step(Opcode.OPEN, mv=typ(b"control", "create")),
        Step(Opcode.OPEN, mv=typ(b"interface"), ov=(("name", b"lease0"),)),
        Step(Opcode.OPEN, mv=(*L, ("op", i32(1))), ov=(ip(5),)),
        Step(Opcode.OPEN, mv=L, ov=(ip(5),), rid=5),
        Step(9),
        Step(Opcode.OPEN, mv=L, ov=(ip(5),), authid=77),
    ],
    "lease lookups": [
        *(Step(Opcode.OPEN, mv=L, ov=(ip(i),)) for i in (0, 5, 10, 11, 12, 14, 15, 20, 35, 36)),
        Step(Opcode.OPEN, mv=L, ov=(mac(DUP_MAC),)),
        Step(Opcode.OPEN, mv=L, ov=(ip(10), mac(DUP_MAC))),
        Step(Opcode.OPEN, mv=L, ov=(ip(11), mac(DUP_MAC))),
        Step(Opcode.OPEN, mv=L, ov=(("dhcp-client-identifier", DUP_UID),)),
        Step(Opcode.OPEN, mv=L, ov=(ip(12), ("dhcp-client-identifier", DUP_UID))),
        Step(Opcode.OPEN, mv=L, ov=(ip(13), ("dhcp-client-identifier", DUP_UID))),
        Step(Opcode.OPEN, mv=L, ov=(("dhcp-client-identifier", UID_14), mac(lease_mac(14)))),
        Step(Opcode.OPEN, mv=L, ov=(mac(lease_mac(3)), ("hardware-type", b"\x01"))),
        Step(Opcode.OPEN, mv=L, ov=(mac(lease_mac(3)), ("hardware-type", i32(6)))),
        Step(Opcode.OPEN, mv=L, ov=(ip(3), mac(lease_mac(4)))),
        Step(Opcode.OPEN, mv=L, ov=(mac("02:00:00:00:ee:ee"), ip(3))),
        Step(Opcode.OPEN, mv=L, ov=(("ip-address", b"\x0a\x63\x01\x01"), mac(lease_mac(3)))),
        Step(Opcode.OPEN, mv=L, ov=(("ip-address", b"\x0a\x64\x01"),)),
        Step(Opcode.OPEN, mv=L, ov=(ip(99), ip(3))),
        Step(Opcode.OPEN, mv=L, ov=(("ip-address", b""),)),
        Step(Opcode.OPEN, mv=L, ov=(("handle", i32(1)),)),
        Step(Opcode.OPEN, mv=L, ov=(("handle", i32(99999)),)),
        Step(Opcode.OPEN, mv=L, ov=(("handle", b"\x00\x01"),)),
        Step(Opcode.OPEN, mv=L, ov=(("handle", i32(2)), ip(3))),
        Step(Opcode.OPEN, mv=typ(b"lease", "create"), ov=(ip(9),)),
        Step(Opcode.OPEN, mv=typ(b"lease", *CREATE), ov=(ip(3),)),
        Step(Opcode.OPEN, mv=typ(b"lease", "update"), ov=(ip(3),)),
        Step(Opcode.OPEN, mv=L),
        *(Step(Opcode.OPEN, mv=L, ov=(mac(str(long_mac(i))),)) for i in LONG_MACS),
        Step(Opcode.OPEN, mv=L, ov=(("hardware-address", bytes(MAX_HARDWARE_ADDRESS_LEN + 1)),)),
    ],
    "lease values by length": [
        step
        for i, name in enumerate(UPDATE_STATUS)
        for step in (
            Step(Opcode.OPEN, mv=L, ov=(ip(i),)),
            *(s for n in VALUE_LENGTHS for s in (upd((name, pattern(n))), REFRESH_LAST)),
        )
    ],
    "lease binding variables": [
        Step(Opcode.OPEN, mv=L, ov=(ip(17),)),
        upd(("never-set", b"")),
        REFRESH_LAST,
        upd(("aa", b"1")),
        upd(("bb", b"1")),
        upd(("aa", b"")),
        REFRESH_LAST,
        upd(("zz", b"")),
        upd(("aa", b"22")),
        REFRESH_LAST,
        upd(("cc", b"1"), ("dd", b"22")),
        upd(("ee", b"1"), ("state", b"\x01")),
        upd(("tstp", b"\x01"), ("ee", b"2")),
        REFRESH_LAST,
    ],
    "lease updates": [
        Step(Opcode.OPEN, mv=L, ov=(ip(NO_NEXT),)),
        upd(("state", i32(2))),
        upd(("state", i32(9))),
        upd(("state", b"\x02")),
        upd(("flags", b"\x00\x00")),
        upd(("flags", b"\x04")),
        Step(Opcode.REFRESH, handle=LAST),
        upd(("flags", b"\x01")),
        upd(("flags", i32(0))),
        Step(Opcode.REFRESH, handle=LAST),
        Step(Opcode.OPEN, mv=L, ov=(ip(7),)),
        *(
            upd((n, b"zz"))
            for n in ("client-hostname", "hardware-address", "host", "billing-class")
        ),
        *(upd((n, i32(1))) for n in ("ip-address", "starts", "pool", "subnet")),
        upd(("ends", b"\x01")),
        Step(Opcode.REFRESH, handle=LAST),
        upd(("ends", i32(int(time.time()) + 7200))),
        Step(Opcode.REFRESH, handle=LAST),
        upd(("state", i32(3))),
        Step(Opcode.REFRESH, handle=LAST),
        upd(("state", i32(2))),
        Step(Opcode.REFRESH, handle=LAST),
        Step(Opcode.DELETE, handle=LAST),
        Step(Opcode.OPEN, mv=L, ov=(ip(16),)),
        upd(("ends", i32(int(time.time()) - 10))),
        Step(Opcode.REFRESH, handle=LAST),
        Step(Opcode.OPEN, mv=typ(b"lease", "update"), ov=(mac(lease_mac(17)),), handle=77),
        Step(Opcode.OPEN, mv=L, ov=(ip(18),)),
        upd(("ends", i32(int(time.time()) + 3600)), ("ip-address", i32(1))),
        Step(Opcode.REFRESH, handle=LAST),
        Step(Opcode.REFRESH, handle=3),
        Step(Opcode.REFRESH, handle=4),
        upd(("lease-count", i32(1)), handle=4),
        upd(("x", i32(1)), handle=3),
        Step(Opcode.DELETE, handle=4),
    ],
    "hosts": [
        Step(Opcode.OPEN, mv=H, ov=(("name", b"cfg-host"),)),
        Step(Opcode.OPEN, mv=H, ov=(mac(CFG_MAC),)),
        Step(Opcode.OPEN, mv=H, ov=(mac(CFG_MAC), ("hardware-type", i32(2)))),
        Step(Opcode.OPEN, mv=H, ov=(("ip-address", IPv4Address("10.100.200.1").packed),)),
        Step(Opcode.OPEN, mv=H, ov=(("name", b"zz"), mac(CFG_MAC))),
        Step(Opcode.OPEN, mv=H, ov=(("handle", i32(1)),)),
        Step(Opcode.OPEN, mv=H),
        Step(Opcode.OPEN, mv=typ(b"host", *CREATE), ov=(("name", b"h1"),)),
        Step(
            Opcode.OPEN,
            mv=typ(b"host", *CREATE),
            ov=(
                ("name", b"h1"),
                mac("0a:0b:0c:0d:0e:0f"),
                ("hardware-type", i32(1)),
                ("ip-address", b"\x0a\x64\x02\x01"),
            ),
        ),
        Step(Opcode.OPEN, mv=typ(b"host", *CREATE), ov=(("name", b"h1"), mac("0a:0b:0c:0d:0e:0f"))),
        Step(Opcode.OPEN, mv=typ(b"host", *CREATE), ov=(("name", b"h2"), mac("0a:0b:0c:0d:0e:0f"))),
        Step(
            Opcode.OPEN,
            mv=typ(b"host", *CREATE),
            ov=(("name", b"cfg-host"), mac("0a:0b:0c:0d:0e:aa"), ("hardware-type", i32(1))),
        ),
        Step(Opcode.OPEN, mv=typ(b"host", *CREATE), ov=(("name", b"h3"), mac("0a:0b:0c:0d:0e:11"))),
        Step(Opcode.OPEN, mv=H, ov=(mac("0a:0b:0c:0d:0e:11"),)),
        Step(Opcode.OPEN, mv=H, ov=(mac("0a:0b:0c:0d:0e:11"), ("hardware-type", i32(0)))),
        Step(
            Opcode.OPEN,
            mv=typ(b"host", *CREATE),
            ov=(("dhcp-client-identifier", b"\x01abc"), ("statements", b'option host-name "x";')),
        ),
        Step(
            Opcode.OPEN,
            mv=typ(b"host", "create"),
            ov=(("name", b"h1"), ("ip-address", b"\x0a\x64\x03\x09")),
        ),
        Step(Opcode.OPEN, mv=H, ov=(("name", b"h1"),)),
        upd(("ip-address", b"\x0a\x64\x03\x04\x0a\x64\x03\x05")),
        upd(("ip-address", b"\x0a\x64\x03")),
        Step(Opcode.REFRESH, handle=LAST),
        upd(("ip-address", b"")),
        upd(("name", b"other")),
        upd(mac("02:00:00:00:00:09")),
        upd(("dhcp-client-identifier", b"xyz")),
        upd(("dhcp-client-identifier", b"xyz2")),
        upd(("hardware-type", i32(6))),
        Step(Opcode.REFRESH, handle=LAST),
        upd(("hardware-type", b"\x01")),
        upd(("group", b"nogroup")),
        upd(("group", b"file-group")),
        upd(("statements", b"this is not valid")),
        upd(("statements", b"default-lease-time 100;")),
        upd(("statements", b"default-lease-time 200;")),
        upd(("known", i32(1))),
        upd(("foo", i32(1))),
        upd(),
        Step(Opcode.DELETE, handle=LAST),
        Step(Opcode.DELETE, handle=LAST),
        Step(Opcode.REFRESH, handle=LAST),
        Step(Opcode.OPEN, mv=H, ov=(("name", b"h1"),)),
        *(
            Step(
                Opcode.OPEN,
                mv=typ(b"host", *CREATE),
                ov=(("name", f"long{n}".encode()), ("hardware-address", bytes([n]) * n)),
            )
            for n in (16, 17, MAX_HARDWARE_ADDRESS_LEN, MAX_HARDWARE_ADDRESS_LEN + 1)
        ),
        Step(
            Opcode.OPEN,
            mv=H,
            ov=(("hardware-address", bytes([17]) * 17), ("hardware-type", i32(0))),
        ),
    ],
    "groups, classes, control": [
        Step(Opcode.OPEN, mv=G),
        Step(Opcode.OPEN, mv=G, ov=(("name", b"file-group"),)),
        Step(Opcode.OPEN, mv=G, ov=(("handle", i32(3)), ("name", b"nog"))),
        Step(Opcode.OPEN, mv=G, ov=(("name", b"nog"),)),
        Step(Opcode.OPEN, mv=typ(b"group", *CREATE), ov=(("name", b"g2"),)),
        Step(
            Opcode.OPEN,
            mv=typ(b"group", *CREATE),
            ov=(("name", b"g2"), ("statements", b"default-lease-time 1;")),
        ),
        Step(
            Opcode.OPEN, mv=typ(b"group", *CREATE), ov=(("statements", b"default-lease-time 1;"),)
        ),
        Step(
            Opcode.OPEN,
            mv=typ(b"group", *CREATE),
            ov=(("name", b"g3"), ("statements", b"garbage garbage")),
        ),
        upd(("name", b"x")),
        upd(("statements", b"max-lease-time 1;")),
        upd(("foo", b"x")),
        Step(Opcode.DELETE, handle=LAST),
        Step(Opcode.REFRESH, handle=LAST),
        Step(Opcode.DELETE, handle=LAST),
        Step(Opcode.OPEN, mv=C),
        Step(Opcode.OPEN, mv=C, ov=(("name", b"cfg-class"),)),
        upd(("name", b"cz")),
        upd(("match", b"hardware")),
        upd(("match", b"option foo")),
        upd(("option", b"x")),
        upd(("statements", b"x")),
        upd(("group", b"file-group")),
        upd(("group", b"nog")),
        Step(Opcode.OPEN, mv=typ(b"class", *CREATE), ov=(("match", b"hardware"),)),
        Step(Opcode.OPEN, mv=typ(b"class", *CREATE), ov=(("name", b"c2"), ("match", b"hard"))),
        Step(Opcode.OPEN, mv=typ(b"class", *CREATE), ov=(("name", b"c3"), ("match", b"hw"))),
        Step(
            Opcode.OPEN, mv=typ(b"class", *CREATE), ov=(("name", b"c4"), ("group", b"file-group"))
        ),
        Step(Opcode.OPEN, mv=S, ov=(("name", b"cfg-class"),)),
        Step(Opcode.OPEN, mv=S, ov=(("name", b"cfg-class"), ("hashstring", HASH))),
        Step(Opcode.OPEN, mv=S, ov=(("name", b"cfg-class"), ("hashstring", b"\x01\x02"))),
        Step(
            Opcode.OPEN,
            mv=typ(b"subclass", *CREATE),
            ov=(("name", b"c2"), ("hashstring", b"\x01\x02")),
        ),
        Step(
            Opcode.OPEN,
            mv=typ(b"subclass", *CREATE),
            ov=(("name", b"cx"), ("hashstring", b"\x01\x02")),
        ),
        Step(Opcode.OPEN, mv=typ(b"subclass", *CREATE), ov=(("name", b"c2"),)),
        Step(Opcode.DELETE, handle=LAST),
        Step(Opcode.REFRESH, handle=LAST),
        Step(Opcode.OPEN, mv=C, ov=(("name", b"c2"),)),
        Step(Opcode.DELETE, handle=LAST),
        Step(Opcode.OPEN, mv=C, ov=(("name", b"c2"),)),
        Step(Opcode.OPEN, mv=typ(b"control"), ov=(("foo", b"x"),)),
        upd(("state", i32(1))),
        upd(("state", b"\x02")),
        upd(("foo", i32(3)), ("state", i32(2))),
        Step(Opcode.DELETE, handle=LAST),
        Step(Opcode.OPEN, mv=typ(b"failover-state"), ov=(("name", b"lab"),)),
        Step(Opcode.OPEN, mv=typ(b"failover-state")),
    ],
}


async def replay(host: str, port: int, steps: list[Step]) -> list[object]:
    raw = await Raw.connect(host, port)
    results: list[object] = []
    last = 0
    try:
        for step in steps:
            result = await raw.send(step, last)
            results.append(result)
            if result == "closed":
                raw.close()
                raw = await Raw.connect(host, port)
            elif result[0] == Opcode.UPDATE:
                last = int(result[1])  # type: ignore[call-overload]
    finally:
        raw.close()
    return results


@pytest.mark.dhcpd
@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_same_bytes_as_dhcpd(
    scenario: str, tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]
) -> None:
    """Fresh servers on both sides, so that even the handle numbers must agree."""
    steps = SCENARIOS[scenario]
    workdir = tmp_path_factory.mktemp("scenario")
    inst = await asyncio.to_thread(start_real, workdir, lab_port())
    try:
        real = await replay(inst.host, inst.port, steps)
    finally:
        await asyncio.to_thread(dhcpd_lab.stop, inst)
    async with make_fake() as fake:
        fake_results = await replay(fake.host, fake.port, steps)
    mismatches = [
        f"step {i} {steps[i]}:\n  real {r}\n  fake {f}"
        for i, (r, f) in enumerate(zip(real, fake_results, strict=True))
        if r != f
    ]
    assert not mismatches, "\n".join(mismatches)
