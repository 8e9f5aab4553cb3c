"""The typed object API (omapi.leases, .hosts, ...) against the real ISC dhcpd 4.4.3.

Read-only lease lookups use the session ``dhcpd`` (1000 lab leases). Everything that changes
server state runs on this module's own server (``lab``), whose leases include duplicates,
client identifiers and binding variables; each test uses leases and names of its own.
Shutdown gets a server of its own from ``dhcpd_factory``.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from ipaddress import IPv4Address

import pytest
import pytest_asyncio

import aiomapi
from aiomapi import (
    NEVER,
    ControlState,
    LeaseFlags,
    LeaseState,
    MacAddress,
)
from aiomapi._sansio.client import Request
from aiomapi._sansio.wire import Opcode
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, lease_ip, lease_mac
from aiomapi.typed.managers import lease_keys

from ..conftest import DhcpdFactory, start_lab

pytestmark = pytest.mark.dhcpd

LAB_END = datetime(2037, 12, 31, 23, 59, 59, tzinfo=UTC)  # the lab leases' `ends`


def key_of(inst: DhcpdInstance) -> aiomapi.Key:
    return inst.key


def i32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------- this module's server

N_LEASES = 20  # leases 0..19; the pool adds 16 free addresses
DUP_MAC = "02:00:00:00:ff:01"  # leases 15 and 16
DUP_UID = "dup-uid"  # leases 17 and 18
UID_19 = bytes.fromhex("0102000000130e")  # lease 19, which also has binding variables
CFG_MAC = "02:00:00:00:aa:01"  # host cfg-host in dhcpd.conf
EXTRA_CONF = f"""
group cfg-group {{ default-lease-time 300; }}
group cfg-group-2 {{ default-lease-time 301; }}
class "cfg-class" {{ match hardware; lease limit 5; }}
class "cfg-class-2" {{ match hardware; }}
host cfg-host {{ hardware ethernet {CFG_MAC}; fixed-address 10.100.200.1; }}
"""


def lease_record(i: int, mac: str, extra: str = "") -> str:
    return (
        f"lease {lease_ip(i)} {{\n  starts 4 2024/01/04 00:00:00;\n"
        f"  ends 4 2037/12/31 23:59:59;\n  cltt 4 2024/01/04 00:00:00;\n"
        f"  binding state active;\n  next binding state free;\n"
        f"  rewind binding state free;\n  hardware ethernet {mac};\n"
        f'  client-hostname "host{i}";\n{extra}}}\n'
    )


def lab_leases() -> str:
    special = {
        15: (DUP_MAC, ""),
        16: (DUP_MAC, ""),
        17: (lease_mac(17), f'  uid "{DUP_UID}";\n'),
        18: (lease_mac(18), f'  uid "{DUP_UID}";\n'),
        19: (lease_mac(19), f'  uid {UID_19.hex(":")};\n  set foo = "bar";\n  set flag = true;\n'),
    }
    return "".join(lease_record(i, *special.get(i, (lease_mac(i), ""))) for i in range(N_LEASES))


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]
) -> Iterator[DhcpdInstance]:
    inst = start_lab(
        dhcpd_lab.start_single,
        tmp_path_factory.mktemp("typed"),
        lab_port(),
        N_LEASES,
        leases_text=lab_leases(),
        extra_conf=EXTRA_CONF,
    )
    yield inst
    dhcpd_lab.stop(inst)


@pytest_asyncio.fixture
async def omapi(lab: DhcpdInstance) -> AsyncIterator[aiomapi.Client]:
    async with aiomapi.Client(lab.host, lab.port, key=key_of(lab), timeout=10) as client:
        yield client
    assert lab.alive()


@pytest_asyncio.fixture
async def shared(dhcpd: DhcpdInstance) -> AsyncIterator[aiomapi.Client]:
    """A client of the session server: read-only use."""
    async with aiomapi.Client(dhcpd.host, dhcpd.port, key=key_of(dhcpd), timeout=10) as client:
        yield client


def last_record(inst: DhcpdInstance, kind: str, name: str) -> str:
    """The last ``kind name { ... }`` record dhcpd wrote to its lease file."""
    text = (inst.workdir / "dhcpd.leases").read_text()
    records = re.findall(rf"^{kind} {re.escape(name)} {{\n.*?}}\n", text, re.M | re.S)
    assert records, f"no {kind} {name} in the lease file"
    return str(records[-1])


# ---------------------------------------------------------------- lease lookups


async def test_lease_by_ip_is_fully_typed(shared: aiomapi.Client) -> None:
    lease = await shared.leases.get(ip=lease_ip(5))
    assert lease.ip_address == IPv4Address(lease_ip(5))
    assert lease.state is LeaseState.ACTIVE
    assert lease.client_hostname == "host5"
    assert lease.hardware_address == MacAddress(lease_mac(5))
    assert lease.hardware_type == 1
    assert lease.ends == LAB_END
    assert isinstance(lease.starts, datetime)
    assert lease.starts.tzinfo is UTC
    assert lease.tstp == LAB_END
    assert lease.tsfp is aiomapi.UNSET
    assert lease.flags == LeaseFlags(0)
    assert isinstance(lease.subnet, int)
    assert isinstance(lease.pool, int)
    assert lease.host is None
    assert lease.billing_class is None
    assert lease.dhcp_client_identifier is None
    assert lease.variables == {}


@pytest.mark.parametrize("mac", [lease_mac(999), "02-00-00-00-03-E7", MacAddress(lease_mac(999))])
async def test_lease_by_mac(shared: aiomapi.Client, mac: str | MacAddress) -> None:
    lease = await shared.leases.get(mac=mac)
    assert lease.ip_address == IPv4Address(lease_ip(999))
    assert lease.client_hostname == "host999"


async def test_lease_by_handle_and_refresh(shared: aiomapi.Client) -> None:
    lease = await shared.leases.get(ip=lease_ip(7))
    assert await shared.leases.get(handle=lease.handle) == lease
    assert await shared.leases.refresh(lease) == lease
    assert await shared.leases.get(ip=lease_ip(7), mac=lease_mac(7)) == lease


async def test_lease_fetch_is_the_reusable_lookup_step(shared: aiomapi.Client) -> None:
    keys = [lease_keys(ip=lease_ip(i)) for i in range(20, 30)]
    leases = await asyncio.gather(*(shared.leases.fetch(k) for k in keys))
    assert [lease.client_hostname for lease in leases] == [f"host{i}" for i in range(20, 30)]


async def test_lease_lookup_errors(shared: aiomapi.Client) -> None:
    with pytest.raises(aiomapi.NotFound) as info:
        await shared.leases.get(ip="10.99.0.1")
    assert (info.value.code, info.value.text) == (23, "no object matches specification")
    with pytest.raises(aiomapi.NotFound):
        await shared.leases.get(mac="02:00:00:ff:ff:ff")
    with pytest.raises(aiomapi.KeyConflict):
        await shared.leases.get(ip=lease_ip(1), mac=lease_mac(2))
    lease = await shared.leases.get(ip=lease_ip(1))
    assert lease.pool is not None
    with pytest.raises(aiomapi.InvalidArgument) as bad:  # a pool's handle, not a lease's
        await shared.leases.get(handle=lease.pool)
    assert bad.value.code == aiomapi.ResultCode.INVALIDARG
    with pytest.raises(TypeError):
        await shared.leases.get()


async def test_lease_by_client_id(omapi: aiomapi.Client) -> None:
    by_bytes = await omapi.leases.get(client_id=UID_19)
    by_text = await omapi.leases.get(client_id=UID_19.hex(":"))
    assert by_bytes == by_text
    assert by_bytes.ip_address == IPv4Address(lease_ip(19))
    assert by_bytes.dhcp_client_identifier == UID_19


async def test_binding_variables_stay_raw(omapi: aiomapi.Client) -> None:
    lease = await omapi.leases.get(ip=lease_ip(19))
    assert lease.variables == {"flag": i32(1), "foo": b"bar"}


@pytest.mark.parametrize(
    "lookup",
    [{"mac": DUP_MAC}, {"client_id": DUP_UID.encode()}],
    ids=["mac", "client_id"],
)
async def test_several_matches_are_a_clear_error(
    omapi: aiomapi.Client, lookup: dict[str, str | bytes]
) -> None:
    with pytest.raises(aiomapi.MultipleMatches, match="several leases match") as info:
        await omapi.leases.get(**lookup)  # type: ignore[arg-type]
    assert info.value.code == aiomapi.ResultCode.MULTIPLE
    assert "look up by ip or handle" in info.value.text
    assert "object lookup failed" in info.value.text  # dhcpd's own text is kept


async def test_unauthenticated_client_gets_nokeys(lab: DhcpdInstance) -> None:
    async with aiomapi.Client(lab.host, lab.port, key=None, timeout=10) as anonymous:
        with pytest.raises(aiomapi.NoKeys) as info:
            await anonymous.leases.get(ip=lease_ip(0))
    assert info.value.text == "No authenticator on message"


# ---------------------------------------------------------------- lease changes


def soon(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(time.time()) + seconds, UTC)


def about_now(t: object) -> bool:
    return isinstance(t, datetime) and abs((t - datetime.now(UTC)).total_seconds()) < 5


async def test_update_ends_keeps_an_active_lease_active(omapi: aiomapi.Client) -> None:
    # dhcpd alone would free it: any `ends` change runs the pending active -> free step
    end = soon(3600)
    lease = await omapi.leases.update(ip=lease_ip(0), ends=end)
    assert (lease.state, lease.ends) == (LeaseState.ACTIVE, end)
    assert lease.client_hostname is None  # dropped on the way through free (dhcpd)
    lease = await omapi.leases.update(ip=lease_ip(0), ends=NEVER)
    assert (lease.state, lease.ends) == (LeaseState.ACTIVE, NEVER)


async def test_update_flags_keeps_the_state(omapi: aiomapi.Client) -> None:
    reserved = LeaseFlags.RESERVED_LEASE
    lease = await omapi.leases.update(mac=lease_mac(1), flags=reserved)
    assert (lease.state, lease.flags) == (LeaseState.ACTIVE, reserved)
    lease = await omapi.leases.update(ip=lease_ip(1), flags=reserved | LeaseFlags.BOOTP_LEASE)
    assert lease.flags == reserved | LeaseFlags.BOOTP_LEASE
    lease = await omapi.leases.update(handle=lease.handle, flags=0)
    assert (lease.state, lease.flags) == (LeaseState.ACTIVE, LeaseFlags(0))


async def test_update_ends_state_flags_together(omapi: aiomapi.Client) -> None:
    lease = await omapi.leases.update(
        ip=lease_ip(2), ends=soon(600), state="free", flags=LeaseFlags.MS_NULL_TERMINATION
    )
    assert (lease.state, lease.flags) == (LeaseState.FREE, LeaseFlags.MS_NULL_TERMINATION)
    lease = await omapi.leases.update(ip=lease_ip(2), ends=soon(600), state=LeaseState.ACTIVE)
    assert lease.state is LeaseState.ACTIVE
    assert lease.flags is LeaseFlags.MS_NULL_TERMINATION


@pytest.mark.parametrize("state", list(LeaseState))
async def test_every_lease_state_can_be_set(omapi: aiomapi.Client, state: LeaseState) -> None:
    lease = await omapi.leases.update(ip=lease_ip(3), ends=soon(3600), state=state)
    assert lease.state is state


async def test_active_with_past_end_expires_at_once(omapi: aiomapi.Client) -> None:
    lease = await omapi.leases.update(ip=lease_ip(4), ends=soon(-60), state="active")
    assert lease.state is LeaseState.FREE


async def test_release_frees_the_lease_now(omapi: aiomapi.Client) -> None:
    lease = await omapi.leases.update(ip=lease_ip(5), ends=soon(3600), state="active")
    pool = await omapi.pools.of_lease(lease)
    released = await omapi.leases.release(ip=lease_ip(5))
    assert released.state is LeaseState.FREE
    assert about_now(released.ends)
    assert released.client_hostname is None
    after = await omapi.pools.of_lease(released)
    assert after.free_leases == pool.free_leases + 1
    assert after.lease_count == pool.lease_count == N_LEASES + dhcpd_lab.FREE_ADDRESSES


async def test_expire_ends_the_lease_now(omapi: aiomapi.Client) -> None:
    lease = await omapi.leases.get(ip=lease_ip(6))
    assert lease.state is LeaseState.ACTIVE
    expired = await omapi.leases.expire(handle=lease.handle)
    assert expired.state is LeaseState.FREE
    assert about_now(expired.ends)
    # and back: ends before state, so the new lease does not expire at once
    again = await omapi.leases.update(ip=lease_ip(6), ends=soon(600), state=LeaseState.ACTIVE)
    assert again.state is LeaseState.ACTIVE


async def test_dhcpd_quirks_behind_the_ordering(omapi: aiomapi.Client) -> None:
    """Why update/release send what they send: dhcpd 4.4.3 on its own (generic API)."""
    lease = await omapi.leases.update(ip=lease_ip(10), ends=soon(3600), state="active")
    # ends or flags alone: an active lease goes free at once, whatever the new end
    await omapi.update(lease.handle, {"ends": soon(7200)}, "lease")
    assert (await omapi.leases.refresh(lease)).state is LeaseState.FREE
    await omapi.update(lease.handle, {"ends": soon(3600), "state": 2}, "lease")
    await omapi.update(lease.handle, {"flags": LeaseFlags.BOOTP_LEASE}, "lease")
    assert (await omapi.leases.refresh(lease)).state is LeaseState.FREE
    # ends=now before state=released: the lease stays released instead of becoming free
    await omapi.update(lease.handle, {"flags": 0, "ends": soon(3600), "state": 2}, "lease")
    await omapi.update(lease.handle, {"ends": soon(0), "state": 4}, "lease")
    await asyncio.sleep(1.5)
    assert (await omapi.leases.refresh(lease)).state is LeaseState.RELEASED
    await omapi.leases.update(handle=lease.handle, ends=soon(3600), state="active")


async def test_leases_cannot_be_created_or_deleted(omapi: aiomapi.Client) -> None:
    lease = await omapi.leases.get(ip=lease_ip(8))
    with pytest.raises(aiomapi.NotImplementedByServer):
        await omapi.create("lease", {"ip-address": "10.100.1.200"})
    with pytest.raises(aiomapi.NotImplementedByServer):
        await omapi.delete(lease.handle, "lease")
    with pytest.raises(aiomapi.NotImplementedByServer):  # and pools cannot be looked up
        await omapi.open("pool", {"name": "x"})


async def test_bad_values_never_reach_dhcpd(omapi: aiomapi.Client, lab: DhcpdInstance) -> None:
    before = await omapi.leases.get(ip=lease_ip(7))
    # typed API: checked before anything is sent
    for bad in ({"state": 0}, {"state": 8}, {"state": "bootp"}, {"flags": 1}, {"flags": 0x80}):
        with pytest.raises(aiomapi.LocalProtocolError):
            await omapi.leases.update(ip=lease_ip(7), **bad)
    with pytest.raises(aiomapi.LocalProtocolError, match="naive"):
        await omapi.leases.update(ip=lease_ip(7), ends=datetime(2030, 1, 1))
    # protocol layer: the same values through the generic API are refused too
    for name in ("state", "ends", "flags"):
        with pytest.raises(aiomapi.LocalProtocolError, match="crashes"):
            await omapi.update(before.handle, {name: b""}, "lease")
    with pytest.raises(aiomapi.LocalProtocolError):  # object type unknown: every rule applies
        await omapi.request(Request(Opcode.UPDATE, handle=before.handle, object=(("state", b""),)))
    assert lab.alive()
    assert await omapi.leases.get(ip=lease_ip(7)) == before


async def test_permission_denied_is_typed(omapi: aiomapi.Client) -> None:
    # the typed API never writes read-only attributes; the generic one shows the error
    lease = await omapi.leases.get(ip=lease_ip(8))
    with pytest.raises(aiomapi.PermissionDenied) as info:
        await omapi.update(lease.handle, {"ip-address": lease_ip(9)}, "lease")
    assert (info.value.code, info.value.text) == (6, "can't update object")


# ---------------------------------------------------------------- pools, control


async def test_pool_counters(shared: aiomapi.Client, dhcpd: DhcpdInstance) -> None:
    lease = await shared.leases.get(ip=lease_ip(0))
    assert lease.pool is not None
    pool = await shared.pools.of_lease(lease)
    assert pool == await shared.pools.get(lease.pool)
    assert pool.handle == lease.pool
    assert pool.lease_count == dhcpd.leases + dhcpd_lab.FREE_ADDRESSES
    assert dhcpd_lab.FREE_ADDRESSES <= pool.free_leases < pool.lease_count
    assert pool.backup_leases == 0
    assert lease.subnet is not None
    with pytest.raises(aiomapi.LocalProtocolError, match="not a pool"):
        await shared.pools.get(lease.subnet)
    with pytest.raises(aiomapi.NotFound, match="no matching handle"):
        await shared.pools.get(0x7FFFFFF0)


async def test_control_reads_startup_while_running(shared: aiomapi.Client) -> None:
    control = await shared.control.get()
    assert control.state is ControlState.STARTUP
    assert control.handle > 0


async def test_failover_peer_missing_on_a_single_server(shared: aiomapi.Client) -> None:
    with pytest.raises(aiomapi.NotFound):
        await shared.failover.get("lab")


@pytest.mark.slow
async def test_shutdown(dhcpd_factory: DhcpdFactory) -> None:
    inst = dhcpd_factory(n_leases=1)
    key = key_of(inst)
    async with (
        aiomapi.Client(inst.host, inst.port, key=key, timeout=10) as omapi,
        aiomapi.Client(inst.host, inst.port, key=key, timeout=10) as bystander,
    ):
        await bystander.control.get()
        t0 = time.monotonic()
        shutdown = asyncio.create_task(omapi.control.shutdown(timeout=30))
        await asyncio.sleep(0.5)
        # the listener is closed at once
        with pytest.raises(aiomapi.ConnectionError_, match="cannot connect"):
            await aiomapi.Client(inst.host, inst.port, key=key, timeout=5).connect()
        assert "Disabling input" not in inst.log_text()  # DHCP is still served
        # open connections get no answer, then are reset
        with pytest.raises(aiomapi.ConnectionClosed):
            await bystander.control.get()
        await shutdown
        assert 4 < time.monotonic() - t0 < 15
    deadline = time.monotonic() + 10
    while inst.alive():
        assert time.monotonic() < deadline, "dhcpd did not exit after shutdown"
        await asyncio.sleep(0.1)
    assert time.monotonic() - t0 < 16
    assert "Disabling input on LPF/lease0" in inst.log_text()  # DHCP stopped before the exit


# ---------------------------------------------------------------- hosts


async def test_host_create_and_every_lookup(omapi: aiomapi.Client, lab: DhcpdInstance) -> None:
    name = unique("h")
    host = await omapi.hosts.create(
        name=name,
        hardware_address=lease_mac(9),
        ip_address="10.100.200.9",
        client_id=b"\x01cid-" + name.encode(),
    )
    assert host.name == name
    assert host.hardware_address == MacAddress(lease_mac(9))
    assert host.hardware_type == 1  # sent although not asked for (dhcpd-behaviour.md, "Objects")
    assert host.ip_addresses == (IPv4Address("10.100.200.9"),)
    assert host.ip_address == IPv4Address("10.100.200.9")
    assert host.dhcp_client_identifier == b"\x01cid-" + name.encode()
    assert await omapi.hosts.get(name=name) == host
    assert await omapi.hosts.get(mac=lease_mac(9)) == host
    assert await omapi.hosts.get(client_id=b"\x01cid-" + name.encode()) == host
    assert await omapi.hosts.get(handle=host.handle) == host
    assert await omapi.hosts.get(name=name, mac=lease_mac(9)) == host
    # ip: found through the lease with that address (lease 9 has the host's MAC) ...
    assert await omapi.hosts.get(ip=lease_ip(9)) == host
    # ... never through the host's own fixed address
    with pytest.raises(aiomapi.NotFound):
        await omapi.hosts.get(ip="10.100.200.9")
    with pytest.raises(aiomapi.NotFound):  # a lease whose MAC has no host
        await omapi.hosts.get(ip=lease_ip(8))
    with pytest.raises(aiomapi.KeyConflict):
        await omapi.hosts.get(name=name, mac=CFG_MAC)
    with pytest.raises(aiomapi.InvalidArgument):  # a lease's handle
        await omapi.hosts.get(handle=(await omapi.leases.get(ip=lease_ip(9))).handle)
    assert "hardware ethernet 02:00:00:00:00:09;" in last_record(lab, "host", name)
    await omapi.hosts.delete(name=name)


async def test_host_create_errors(omapi: aiomapi.Client) -> None:
    name = unique("h")
    host = await omapi.hosts.create(name=name, client_id=name)
    try:
        with pytest.raises(aiomapi.AlreadyExists) as info:
            await omapi.hosts.create(name=name, client_id=unique("other"))
        assert (info.value.code, info.value.text) == (18, "can't update object")
        with pytest.raises(aiomapi.AlreadyExists, match="specified object already exists"):
            await omapi.hosts.create(client_id=name)  # the same client id
        with pytest.raises(aiomapi.KeyConflict):  # a new name, a taken client id
            await omapi.hosts.create(name=unique("h"), client_id=name)
        with pytest.raises(aiomapi.AlreadyExists):  # identities cannot change (generic API)
            await omapi.update(host.handle, {"dhcp-client-identifier": b"other"}, "host")
        with pytest.raises(aiomapi.InvalidArgument, match="can't update object"):
            await omapi.hosts.create(name=unique("h"))  # no MAC, no client id
        with pytest.raises(aiomapi.BadParse):
            await omapi.hosts.create(name=unique("h"), client_id="x1", statements="garbage")
        with pytest.raises(aiomapi.NotFound):
            await omapi.hosts.create(name=unique("h"), client_id="x2", group="no-such-group")
        with pytest.raises(TypeError):
            await omapi.hosts.get()
    finally:
        await omapi.hosts.delete(name=name)


async def test_host_name_is_made_up_when_omitted(omapi: aiomapi.Client) -> None:
    host = await omapi.hosts.create(hardware_address="02:00:00:00:bb:01")
    assert host.name.startswith("nh")
    await omapi.hosts.delete(handle=host.handle)


async def test_host_hardware_type_is_part_of_the_match(omapi: aiomapi.Client) -> None:
    host = await omapi.hosts.create(hardware_address="02:00:00:00:bb:02", hardware_type=0)
    assert host.hardware_type == 0
    with pytest.raises(aiomapi.NotFound):
        await omapi.hosts.get(mac="02:00:00:00:bb:02")  # hardware type 1
    assert await omapi.hosts.get(mac="02:00:00:00:bb:02", hardware_type=0) == host
    await omapi.hosts.delete(mac="02:00:00:00:bb:02", hardware_type=0)


async def test_host_update(omapi: aiomapi.Client, lab: DhcpdInstance) -> None:
    name = unique("h")
    group = unique("g")
    await omapi.groups.create(group, statements="default-lease-time 77;")
    await omapi.hosts.create(name=name, client_id=name)
    host = await omapi.hosts.update(name=name, ip_address=["10.100.201.1", "10.100.201.2"])
    assert host.ip_addresses == (IPv4Address("10.100.201.1"), IPv4Address("10.100.201.2"))
    host = await omapi.hosts.update(client_id=name, ip_address=[])  # clears them
    assert host.ip_addresses == ()
    host = await omapi.hosts.update(name=name, group=group, statements="max-lease-time 99;")
    record = last_record(lab, "host", name)
    assert f'group "{group}";' in record
    assert "max-lease-time = 00:00:00:63" in record  # 99: statements kept beneath the group
    with pytest.raises(aiomapi.AlreadyExists):  # statements are set once
        await omapi.hosts.update(name=name, statements="max-lease-time 98;")
    host = await omapi.hosts.update(name=name, group=group)  # a group set later ...
    assert "max-lease-time" not in last_record(lab, "host", name)  # ... drops them
    with pytest.raises(aiomapi.NotFound):
        await omapi.hosts.update(name=name, group="no-such-group")
    with pytest.raises(TypeError):
        await omapi.hosts.update(name=name)
    await omapi.hosts.delete(name=name)
    await omapi.groups.delete(group)


async def test_host_delete(omapi: aiomapi.Client, lab: DhcpdInstance) -> None:
    name = unique("h")
    host = await omapi.hosts.create(name=name, hardware_address="02:00:00:00:bb:03")
    await omapi.hosts.delete(name=name)
    for lookup in ({"name": name}, {"mac": "02:00:00:00:bb:03"}, {"handle": host.handle}):
        with pytest.raises(aiomapi.NotFound):
            await omapi.hosts.get(**lookup)
    with pytest.raises(aiomapi.NotFound):
        await omapi.hosts.delete(name=name)
    # a name can be used again once deleted
    again = await omapi.hosts.create(name=name, hardware_address="02:00:00:00:bb:03")
    assert again.handle != host.handle
    await omapi.hosts.delete(name=name)
    assert "deleted;" in last_record(lab, "host", name)


async def test_host_from_dhcpd_conf(omapi: aiomapi.Client, lab: DhcpdInstance) -> None:
    host = await omapi.hosts.get(name="cfg-host")
    assert host.ip_addresses == (IPv4Address("10.100.200.1"),)
    assert host.hardware_address == MacAddress(CFG_MAC)
    await omapi.hosts.delete(name="cfg-host")
    with pytest.raises(aiomapi.NotFound):
        await omapi.hosts.get(mac=CFG_MAC)
    assert "deleted;" in last_record(lab, "host", "cfg-host")


async def test_host_upsert(omapi: aiomapi.Client, lab: DhcpdInstance) -> None:
    name, group = unique("h"), unique("g")
    await omapi.groups.create(group, statements="default-lease-time 66;")
    mac = "02:00:00:00:bb:04"
    created = await omapi.hosts.upsert(name=name, hardware_address=mac, ip_address="10.100.202.1")
    assert created.ip_addresses == (IPv4Address("10.100.202.1"),)
    same = await omapi.hosts.upsert(name=name, hardware_address=mac, ip_address="10.100.202.1")
    assert same == created  # idempotent: nothing written
    moved = await omapi.hosts.upsert(name=name, hardware_address=mac, ip_address="10.100.202.2")
    assert moved.handle == created.handle  # updated in place
    assert moved.ip_addresses == (IPv4Address("10.100.202.2"),)
    grouped = await omapi.hosts.upsert(
        name=name, hardware_address=mac, ip_address="10.100.202.2", group=group
    )
    assert grouped.handle == created.handle
    assert f'group "{group}";' in last_record(lab, "host", name)
    no_ip = await omapi.hosts.upsert(name=name, hardware_address=mac)
    assert (no_ip.handle, no_ip.ip_addresses) == (created.handle, ())
    replaced = await omapi.hosts.upsert(name=name, hardware_address="02:00:00:00:bb:05")
    assert replaced.handle != created.handle  # a MAC cannot change: replaced
    assert replaced.hardware_address == MacAddress("02:00:00:00:bb:05")
    with pytest.raises(aiomapi.NotFound):
        await omapi.hosts.get(mac=mac)
    with_statements = await omapi.hosts.upsert(
        name=name, hardware_address="02:00:00:00:bb:05", statements="max-lease-time 55;"
    )
    assert with_statements.handle != replaced.handle  # statements cannot be compared
    assert "max-lease-time = 00:00:00:37" in last_record(lab, "host", name)
    by_id = await omapi.hosts.upsert(name=name, client_id=b"\x01" + name.encode())
    assert by_id.hardware_address is None
    assert by_id.dhcp_client_identifier == b"\x01" + name.encode()
    await omapi.hosts.delete(name=name)
    await omapi.groups.delete(group)


# ---------------------------------------------------------------- groups


async def test_groups(omapi: aiomapi.Client, lab: DhcpdInstance) -> None:
    name = unique("g")
    group = await omapi.groups.create(name, statements="default-lease-time 123;")
    assert group.name == name
    assert await omapi.groups.get(name) == group
    assert await omapi.groups.get(handle=group.handle) == group
    assert "default-lease-time = 00:00:00:7b" in last_record(lab, "group", name)
    with pytest.raises(aiomapi.AlreadyExists):
        await omapi.groups.create(name, statements="default-lease-time 1;")
    with pytest.raises(aiomapi.BadParse):
        await omapi.groups.create(unique("g"), statements="garbage")
    with pytest.raises(aiomapi.InvalidArgument):  # dhcpd requires statements
        await omapi.create("group", {"name": unique("g")})
    host = await omapi.hosts.create(client_id=unique("c"), group=name)  # hosts name groups
    assert f'group "{name}";' in last_record(lab, "host", host.name)
    await omapi.hosts.delete(handle=host.handle)
    await omapi.groups.delete(name)
    with pytest.raises(aiomapi.NotFound):
        await omapi.groups.get(name)
    with pytest.raises(aiomapi.NotFound):
        await omapi.groups.delete(handle=group.handle)
    with pytest.raises(TypeError):
        await omapi.groups.get()


async def test_group_name_is_made_up_when_omitted(omapi: aiomapi.Client) -> None:
    group = await omapi.groups.create(statements="default-lease-time 50;")
    assert group.name.startswith("ng")
    await omapi.groups.delete(handle=group.handle)


async def test_group_from_dhcpd_conf(omapi: aiomapi.Client, lab: DhcpdInstance) -> None:
    group = await omapi.groups.get("cfg-group")
    await omapi.groups.delete(handle=group.handle)
    with pytest.raises(aiomapi.NotFound):
        await omapi.groups.get("cfg-group")
    assert "deleted;" in last_record(lab, "group", "cfg-group")


# ---------------------------------------------------------------- classes, subclasses


async def test_classes(omapi: aiomapi.Client, lab: DhcpdInstance) -> None:
    name = unique("k")
    cls = await omapi.classes.create(name, match="hardware", group="cfg-group-2")
    assert (cls.name, cls.lease_limit, cls.leases_used) == (name, 0, 0)
    assert await omapi.classes.get(name) == cls
    record = last_record(lab, "class", f'"{name}"')
    assert "match hardware;" in record
    assert "default-lease-time = 00:00:01:2d" in record  # 301, from cfg-group-2
    with pytest.raises(aiomapi.AlreadyExists):
        await omapi.classes.create(name)
    with pytest.raises(aiomapi.InvalidArgument):
        await omapi.classes.create(unique("k"), match="option host-name")
    with pytest.raises(aiomapi.NotFound):
        await omapi.classes.create(unique("k"), group="no-such-group")
    await omapi.classes.delete(name)
    assert "deleted;" in last_record(lab, "class", f'"{name}"')
    with pytest.raises(aiomapi.NotFound):
        await omapi.classes.get(name)
    with pytest.raises(aiomapi.NotFound):
        await omapi.classes.delete(name)
    config = await omapi.classes.get("cfg-class")
    assert (config.name, config.lease_limit) == ("cfg-class", 5)


async def test_subclasses(omapi: aiomapi.Client) -> None:
    hashstring = b"\x01" + bytes.fromhex("020000000077")
    sub = await omapi.subclasses.create("cfg-class", hashstring)
    assert (sub.name, sub.hashstring, sub.leases_used) == ("cfg-class", hashstring, 0)
    assert sub.lease_limit == 5  # the parent's
    assert await omapi.subclasses.get("cfg-class", hashstring.hex(":")) == sub
    with pytest.raises(aiomapi.AlreadyExists):
        await omapi.subclasses.create("cfg-class", hashstring)
    with pytest.raises(aiomapi.NotFound):  # another class has no such subclass
        await omapi.subclasses.get("cfg-class-2", hashstring)
    with pytest.raises(aiomapi.NotFound):
        await omapi.subclasses.create("no-such-class", hashstring)
    await omapi.subclasses.delete("cfg-class", hashstring)
    with pytest.raises(aiomapi.NotFound):
        await omapi.subclasses.get("cfg-class", hashstring)
    with pytest.raises(aiomapi.NotFound):
        await omapi.subclasses.delete("cfg-class", hashstring)


async def test_subclass_of_a_class_made_over_omapi(omapi: aiomapi.Client) -> None:
    name = unique("k")
    await omapi.classes.create(name, match="hardware")
    sub = await omapi.subclasses.create(name, "01:02:00:00:00:00:78")
    assert sub.hashstring == bytes.fromhex("01020000000078")
    await omapi.subclasses.delete(name, sub.hashstring)
    await omapi.classes.delete(name)
