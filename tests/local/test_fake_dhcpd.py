"""aiomapi.testing.FakeDhcpd: seeding, the typed API against it, and where it refuses to
follow dhcpd (inputs that crash the real server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from ipaddress import IPv4Address
from pathlib import Path

import pytest

import aiomapi
from aiomapi import (
    NEVER,
    AlreadyExists,
    FailoverState,
    Key,
    KeyConflict,
    LeaseState,
    MacAddress,
    MultipleMatches,
    NotFound,
    NotImplementedByServer,
)
from aiomapi._sansio.wire import (
    STARTUP_BYTES,
    Framer,
    Message,
    Opcode,
    Values,
    decode_frame,
    encode_body,
)
from aiomapi.errors import ResultCode
from aiomapi.leasefile import ClassRecord, FailoverPeerRecord, GroupRecord, HostRecord
from aiomapi.testing import (
    LAB_ENDS,
    FakeDhcpd,
    FakeFailoverPeer,
    FakeHost,
    synthetic_leases,
)
from aiomapi.testing.dhcpd_model import statements_parse

pytest_plugins = ["aiomapi.testing.pytest_plugin", "pytester"]

KEY = Key.generate("omapi_key")

LEASES_FILE = """\
# The format of this file is documented in the dhcpd.leases(5) manual page.
authoring-byte-order little-endian;

group "files" {
  dynamic;
  default-lease-time 300;
}
host filehost {
  dynamic;
  hardware ethernet 0a:00:00:00:00:07;
  fixed-address 10.100.9.7;
  group "files";
}
lease 10.100.1.1 {
  starts 3 2024/01/03 10:00:00;
  ends 4 2037/12/31 23:59:59;
  cltt 3 2024/01/03 10:00:00;
  binding state active;
  next binding state free;
  hardware ethernet 02:00:00:00:00:01;
  uid "\\001\\002\\000\\000\\000\\000\\001";
  set vendor = "acme";
  client-hostname "one";
}
lease 10.100.1.2 {
  starts 3 2024/01/03 10:00:00;
  ends 3 2024/01/03 11:00:00;
  binding state free;
  hardware ethernet 02:00:00:00:00:02;
}
lease 10.100.1.3 {
  starts 3 2024/01/03 10:00:00;
  ends never;
  binding state active;
  hardware ethernet 02:00:00:00:00:01;
}
failover peer "lab" state {
  my state partner-down at 3 2024/01/03 10:00:00;
  partner state communications-interrupted at 3 2024/01/03 09:00:00;
}
"""


@pytest.fixture
async def fake() -> AsyncIterator[FakeDhcpd]:
    async with FakeDhcpd.like_lab(100, key=KEY, failover_peers=[FakeFailoverPeer(b"lab")]) as srv:
        yield srv


@pytest.fixture
async def omapi(fake: FakeDhcpd) -> AsyncIterator[aiomapi.Client]:
    async with aiomapi.Client(fake.host, fake.port, key=KEY, timeout=5) as client:
        yield client


# ---------------------------------------------------------------- seeding


def test_synthetic_leases_layout() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    first, last = synthetic_leases(1000, now=now)[::999]
    assert first.ip_address == IPv4Address("10.100.1.0")
    assert last.ip_address == IPv4Address("10.100.4.231")
    assert last.hardware_address == MacAddress("02:00:00:00:03:e7")
    assert last.client_hostname == "host999"
    assert last.binding_state is LeaseState.ACTIVE
    assert last.ends == LAB_ENDS == datetime(2037, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert last.starts == now == last.cltt


def test_fifty_thousand_leases_load_fast() -> None:
    started = time.perf_counter()
    fake = FakeDhcpd.like_lab(50_000)
    elapsed = time.perf_counter() - started
    assert len(fake.model.leases) == 50_016
    assert elapsed < 5, f"50,000 leases took {elapsed:.1f} s"
    lease = fake.lease("10.100.196.79")  # 50,000 - 1 = 0xc34f → 10.100.1.0 + 49,999
    assert lease is not None
    assert lease.client_hostname == b"host49999"


async def test_leases_file(tmp_path: Path) -> None:
    path = tmp_path / "dhcpd.leases"
    path.write_text(LEASES_FILE)
    async with (
        FakeDhcpd(key=KEY, leases_file=path) as fake,
        aiomapi.Client(fake.host, fake.port, key=KEY) as omapi,
    ):
        one = await omapi.leases.get(ip="10.100.1.1")
        assert one.client_hostname == "one"
        assert one.dhcp_client_identifier == bytes.fromhex("01020000000001")
        assert one.variables == {"vendor": b"acme"}
        assert one.tstp == one.ends  # dhcpd fills in tstp = ends
        free = await omapi.leases.get(ip="10.100.1.2")
        assert free.state is LeaseState.FREE
        assert (await omapi.leases.get(ip="10.100.1.3")).ends is NEVER
        with pytest.raises(MultipleMatches):
            await omapi.leases.get(mac="02:00:00:00:00:01")
        host = await omapi.hosts.get(name="filehost")
        assert host.hardware_address == MacAddress("0a:00:00:00:00:07")
        assert (await omapi.groups.get("files")).name == "files"
        peer = await omapi.failover.get("lab")
        assert peer.local_state is FailoverState.PARTNER_DOWN
        assert peer.partner_state is FailoverState.COMMUNICATIONS_INTERRUPTED
        assert fake.host_named("filehost") is not None


async def test_python_records() -> None:
    async with (
        FakeDhcpd(
            key=KEY,
            leases=synthetic_leases(3),
            groups=[GroupRecord("g", statements="default-lease-time 1;")],
            hosts=[HostRecord("h", hardware_address=MacAddress("0a:00:00:00:00:01"), group="g")],
            classes=[ClassRecord("c", statements="match hardware;")],
            failover_peers=[FailoverPeerRecord("p", my_state=FailoverState.NORMAL)],
        ) as fake,
        aiomapi.Client(fake.host, fake.port, key=KEY) as omapi,
    ):
        assert (await omapi.hosts.get(mac="0a:00:00:00:00:01")).name == "h"
        assert (await omapi.classes.get("c")).name == "c"
        assert (await omapi.failover.get("p")).local_state is FailoverState.NORMAL
        with pytest.raises(NotFound):
            await omapi.leases.get(ip="10.100.1.3")  # no pool_range: only the three leases


# ---------------------------------------------------------------- the typed API


async def test_lease_lookups(omapi: aiomapi.Client) -> None:
    by_ip = await omapi.leases.get(ip="10.100.1.5")
    assert by_ip.client_hostname == "host5"
    assert by_ip.hardware_address == MacAddress("02:00:00:00:00:05")
    by_mac = await omapi.leases.get(mac="02:00:00:00:00:05")
    assert by_mac.handle == by_ip.handle
    free = await omapi.leases.get(ip="10.100.1.100")  # a pool address past the leases
    assert free.state is LeaseState.FREE
    assert free.hardware_address is None
    with pytest.raises(NotFound):
        await omapi.leases.get(ip="10.99.1.5")
    with pytest.raises(KeyConflict):
        await omapi.leases.get(ip="10.100.1.5", mac="02:00:00:00:00:06")
    pool = await omapi.pools.of_lease(by_ip)
    assert (pool.lease_count, pool.free_leases) == (116, 16)


async def test_lease_changes(omapi: aiomapi.Client, fake: FakeDhcpd) -> None:
    lease = await omapi.leases.update(ip="10.100.1.7", state=LeaseState.EXPIRED)
    assert lease.state is LeaseState.EXPIRED
    assert lease.client_hostname is None  # dhcpd drops it when a lease leaves active
    model_lease = fake.lease("10.100.1.7")
    assert model_lease is not None
    assert model_lease.state == LeaseState.EXPIRED
    freed = await omapi.leases.expire(ip="10.100.1.8")
    assert freed.state is LeaseState.FREE
    with pytest.raises(NotImplementedByServer):
        await omapi.delete(lease.handle, "lease")


async def test_host_lifecycle(omapi: aiomapi.Client) -> None:
    host = await omapi.hosts.create(
        name="printer", hardware_address="0a:0b:0c:0d:0e:0f", ip_address="10.100.50.1"
    )
    assert host.name == "printer"
    assert (await omapi.hosts.get(mac="0a:0b:0c:0d:0e:0f")).handle == host.handle
    with pytest.raises(AlreadyExists):
        await omapi.hosts.create(name="printer", hardware_address="0a:0b:0c:0d:0e:10")
    updated = await omapi.hosts.update(name="printer", ip_address="10.100.50.2")
    assert updated.ip_addresses == (IPv4Address("10.100.50.2"),)
    await omapi.hosts.delete(name="printer")
    with pytest.raises(NotFound):
        await omapi.hosts.get(name="printer")
    nameless = await omapi.hosts.create(hardware_address="0a:0b:0c:0d:0e:11")
    assert nameless.name is not None
    assert nameless.name.startswith("nh")


async def test_groups_classes_subclasses(omapi: aiomapi.Client) -> None:
    group = await omapi.groups.create("office", statements="default-lease-time 600;")
    assert group.name == "office"
    await omapi.hosts.create(name="desk", hardware_address="0a:00:00:00:01:01", group="office")
    klass = await omapi.classes.create("phones", match="hardware")
    assert klass.name == "phones"
    sub = await omapi.subclasses.create("phones", "01:0a:00:00:00:01:01")
    assert sub.name == "phones"
    await omapi.subclasses.delete("phones", "01:0a:00:00:00:01:01")
    with pytest.raises(NotFound):
        await omapi.subclasses.get("phones", "01:0a:00:00:00:01:01")
    await omapi.classes.delete("phones")
    await omapi.groups.delete("office")
    with pytest.raises(NotFound):
        await omapi.groups.get("office")


async def test_failover(omapi: aiomapi.Client, fake: FakeDhcpd) -> None:
    peer = await omapi.failover.get("lab")
    assert peer.local_state is FailoverState.NORMAL
    down = await omapi.failover.partner_down("lab")
    assert down.local_state is FailoverState.PARTNER_DOWN
    assert fake.model.failover_peers[b"lab"].local_state == FailoverState.PARTNER_DOWN


async def test_control_shutdown(fake: FakeDhcpd, omapi: aiomapi.Client) -> None:
    assert (await omapi.control.get()).state == 0
    await omapi.control.shutdown(timeout=5)
    assert fake.shutdown_requested.is_set()
    assert not fake.server.listening
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(fake.host, fake.port)


async def test_a_fake_clock_expires_leases() -> None:
    now = [time.time()]
    async with (
        FakeDhcpd.like_lab(3, key=KEY, clock=lambda: now[0]) as fake,
        aiomapi.Client(fake.host, fake.port, key=KEY) as omapi,
    ):
        ends = int(now[0]) + 3600
        lease = await omapi.leases.update(ip="10.100.1.1", ends=ends)
        assert lease.state is LeaseState.ACTIVE
        now[0] += 7200  # the lease has ended; setting active again expires it at once
        lease = await omapi.leases.update(ip="10.100.1.1", state=LeaseState.ACTIVE, ends=ends)
        assert lease.state is LeaseState.FREE


# ---------------------------------------------------------------- where the fake refuses


@pytest.mark.parametrize(
    ("object_type", "lookup", "values"),
    [
        ("lease", {"ip-address": "10.100.1.5"}, (("state", b""),)),
        ("lease", {"ip-address": "10.100.1.5"}, (("ends", b""),)),
        ("lease", {"ip-address": "10.100.1.5"}, (("flags", b""),)),
        ("control", {}, (("state", b""),)),
        ("failover-state", {"name": "lab"}, (("local-state", b""),)),
        ("failover-state", {"name": "lab"}, (("local-state", (99).to_bytes(4, "big")),)),
    ],
)
async def test_inputs_that_crash_dhcpd_get_invalidarg(
    fake: FakeDhcpd, object_type: str, lookup: dict[str, object], values: Values
) -> None:
    """The client-side safety checks refuse these; send them raw to the fake."""
    reader, writer = await asyncio.open_connection(fake.host, fake.port)
    raw = _RawSigned(reader, writer)
    await raw.start()
    opened = await raw.request(
        Message(Opcode.OPEN, message=(("type", object_type.encode()),), object=_encode(lookup))
    )
    assert opened.opcode == Opcode.UPDATE
    reply = await raw.request(Message(Opcode.UPDATE, opened.handle, object=values))
    assert _result(reply) == ResultCode.INVALIDARG
    # the server is still there
    again = await raw.request(
        Message(Opcode.OPEN, message=(("type", object_type.encode()),), object=_encode(lookup))
    )
    assert again.opcode == Opcode.UPDATE
    writer.close()


async def test_second_null_of_a_binding_variable_gets_invalidarg(
    fake: FakeDhcpd, omapi: aiomapi.Client
) -> None:
    """dhcpd segfaults on it (tests/dhcpd/test_lease_binding_dhcpd.py); the fake refuses it.
    The client refuses every null on a lease (safety.check_lease_nulls), so they go raw."""
    reader, writer = await asyncio.open_connection(fake.host, fake.port)
    raw = _RawSigned(reader, writer)
    await raw.start()
    lookup = (("type", b"lease"),)
    opened = await raw.request(Message(Opcode.OPEN, message=lookup, object=_encode(_LEASE5)))
    assert opened.opcode == Opcode.UPDATE

    async def update(value: bytes) -> Message:  # b"": a null value
        return await raw.request(Message(Opcode.UPDATE, opened.handle, object=(("myvar", value),)))

    assert _result(await update(b"x")) == ResultCode.SUCCESS
    assert _result(await update(b"")) == ResultCode.SUCCESS
    assert _result(await update(b"")) == ResultCode.INVALIDARG
    assert _result(await update(b"y")) == ResultCode.SUCCESS  # the variable is still there
    writer.close()
    assert len((await omapi.leases.get(ip="10.100.1.5")).variables["myvar"]) == 4


_LEASE5: dict[str, object] = {"ip-address": "10.100.1.5"}


def test_statements_heuristic() -> None:
    assert statements_parse(b"default-lease-time 100;")
    assert statements_parse(b'option host-name "x"; if known { deny booting; }')
    assert statements_parse(b"")
    assert not statements_parse(b"garbage garbage")
    assert not statements_parse(b"default-lease-time 100")
    assert not statements_parse(b"{ default-lease-time 1; ")
    assert not statements_parse(b'option host-name "x;')
    assert not statements_parse(b"\xff\xfe")


# ---------------------------------------------------------------- pytest plugin


async def test_plugin_fixture(fake_dhcpd: FakeDhcpd) -> None:
    assert fake_dhcpd.key is not None
    async with aiomapi.Client(fake_dhcpd.host, fake_dhcpd.port, key=fake_dhcpd.key) as omapi:
        assert (await omapi.leases.get(ip="10.100.1.99")).client_hostname == "host99"
        with pytest.raises(NotFound):
            await omapi.leases.get(ip="10.100.1.100")


def test_plugin_marker(pytester: pytest.Pytester) -> None:
    """As a user would: the plugin from the command line, options from the marker."""
    pytester.makepyfile(
        """
        import pytest
        import aiomapi

        @pytest.mark.asyncio
        @pytest.mark.fake_dhcpd(leases=2, key=None, interfaces=["eth0"])
        async def test_marker(fake_dhcpd):
            assert fake_dhcpd.key is None
            assert len(fake_dhcpd.model.leases) == 2
            async with aiomapi.Client(fake_dhcpd.host, fake_dhcpd.port) as omapi:
                assert (await omapi.open("interface", {"name": "eth0"}))["state"] == b"up"
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "aiomapi.testing.pytest_plugin", "--strict-markers"
    )
    result.assert_outcomes(passed=1)


def test_model_objects_are_inspectable() -> None:
    fake = FakeDhcpd.like_lab(1)
    lease = fake.lease("10.100.1.0")
    assert lease is not None
    assert lease.ip_address == IPv4Address("10.100.1.0")
    assert isinstance(FakeHost(), FakeHost)
    assert "leases=17" in repr(fake)


# ---------------------------------------------------------------- raw helpers


def _encode(lookup: dict[str, object]) -> tuple[tuple[str, bytes], ...]:
    out = []
    for name, value in lookup.items():
        raw = IPv4Address(value).packed if name == "ip-address" else str(value).encode()
        out.append((name, raw))
    return tuple(out)


def _result(message: Message) -> int:
    raw = message.message_value("result")
    assert raw is not None, message
    return int.from_bytes(raw, "big")


class _RawSigned:
    """A minimal signing client that sends whatever it is given."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.framer = Framer()
        self.signer = KEY.signer()
        self.authid = 0
        self.next_id = 100

    async def start(self) -> None:
        assert await self.reader.readexactly(8) == STARTUP_BYTES
        self.writer.write(STARTUP_BYTES)
        auth = Message(
            Opcode.OPEN,
            message=(("type", b"authenticator"),),
            object=(("name", KEY.name.encode()), ("algorithm", KEY.wire_algorithm.encode())),
        )
        reply = await self.request(auth, sign=False)
        self.authid = reply.handle

    async def request(self, message: Message, *, sign: bool = True) -> Message:
        self.next_id += 1
        message = Message(
            message.opcode, message.handle, self.next_id, 0, message.message, message.object
        )
        if sign:
            body = encode_body(message, self.authid, self.signer.digest_size)
            self.writer.write(body + self.signer.sign(body[4:]))
        else:
            self.writer.write(encode_body(message, 0, 0))
        async with asyncio.timeout(5):
            while True:
                frame = self.framer.next_frame()
                if frame is not None:
                    return decode_frame(frame)
                data = await self.reader.read(65536)
                assert data, "connection closed"
                self.framer.feed(data)
