"""The asyncio client and its generic operations against the real ISC dhcpd."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

import aiomapi
from aiomapi._asyncio.connection import Connection
from aiomapi._sansio.budget import InflightBudget
from aiomapi._sansio.client import ClientProtocol, ConnectionFailed, Request, State
from aiomapi._sansio.wire import Opcode
from aiomapi.errors import HandshakeError
from aiomapi.testing.dhcpd_lab import DhcpdInstance, lease_ip, lease_mac

from ..conftest import DhcpdFactory

pytestmark = pytest.mark.dhcpd


def key_of(inst: DhcpdInstance) -> aiomapi.Key:
    return inst.key


@pytest_asyncio.fixture
async def omapi(dhcpd: DhcpdInstance) -> AsyncIterator[aiomapi.Client]:
    async with aiomapi.Client(dhcpd.host, dhcpd.port, key=key_of(dhcpd), timeout=10) as client:
        yield client


def hostname(obj: aiomapi.OmapiObject) -> bytes | None:
    return obj.get("client-hostname")


# ------------------------------------------------------------------ lookups


@pytest.mark.parametrize(
    "ip",
    [lease_ip(5), ipaddress.IPv4Address(lease_ip(5)), ipaddress.IPv4Address(lease_ip(5)).packed],
)
async def test_lease_lookup_by_ip(
    omapi: aiomapi.Client, ip: str | ipaddress.IPv4Address | bytes
) -> None:
    lease = await omapi.open("lease", {"ip-address": ip})
    assert hostname(lease) == b"host5"
    assert lease["ip-address"] == ipaddress.IPv4Address(lease_ip(5)).packed
    assert lease.int("state") == 2  # active
    assert lease.handle > 0
    assert lease.object_type == "lease"


@pytest.mark.parametrize("spelling", ["02:00:00:00:03:e7", "02-00-00-00-03-E7", "0200.0000.03e7"])
async def test_lease_lookup_by_mac(omapi: aiomapi.Client, spelling: str) -> None:
    lease = await omapi.open("lease", {"hardware-address": spelling, "hardware-type": 1})
    assert hostname(lease) == b"host999"
    assert lease["hardware-address"] == bytes.fromhex(lease_mac(999).replace(":", ""))


async def test_lease_lookup_by_mac_value_type(omapi: aiomapi.Client) -> None:
    lease = await omapi.open("lease", {"hardware-address": aiomapi.MacAddress(lease_mac(42))})
    assert hostname(lease) == b"host42"


async def test_refresh_by_handle(omapi: aiomapi.Client) -> None:
    lease = await omapi.open("lease", {"ip-address": lease_ip(7)})
    again = await omapi.refresh(lease)
    assert again.handle == lease.handle
    assert hostname(again) == b"host7"


async def test_not_found_carries_code_and_text(omapi: aiomapi.Client) -> None:
    with pytest.raises(aiomapi.NotFound) as info:
        await omapi.open("lease", {"ip-address": "10.99.0.1"})
    assert info.value.code == aiomapi.ResultCode.NOTFOUND
    assert info.value.code == 23
    assert info.value.text == "no object matches specification"
    with pytest.raises(aiomapi.NotFound, match="no matching handle"):
        await omapi.refresh(0x7FFFFFF0)


async def test_lease_lookup_without_key_is_not_implemented(omapi: aiomapi.Client) -> None:
    """dhcpd turns a keyless lease lookup into a create, which leases lack
    (docs/dhcpd-behaviour.md, "Messages and replies")."""
    with pytest.raises(aiomapi.NotImplementedByServer) as info:
        await omapi.open("lease", {})
    assert info.value.code == 27


async def test_conflicting_keys(omapi: aiomapi.Client) -> None:
    with pytest.raises(aiomapi.KeyConflict):
        await omapi.open("lease", {"ip-address": lease_ip(1), "hardware-address": lease_mac(2)})


async def test_invalid_value_length(omapi: aiomapi.Client) -> None:
    with pytest.raises(aiomapi.InvalidArgument):
        await omapi.open("lease", {"hardware-address": lease_mac(2), "hardware-type": b"\x01"})


# ------------------------------------------------------------------ host create / delete


async def test_host_create_lookup_update_delete(omapi: aiomapi.Client) -> None:
    name = f"t-{uuid.uuid4().hex[:10]}"
    mac = "52:54:00:" + ":".join(f"{b:02x}" for b in os.urandom(3))
    created = await omapi.create(
        "host",
        {"name": name, "hardware-address": mac, "hardware-type": 1, "ip-address": "10.200.0.9"},
    )
    assert created["name"] == name.encode()
    try:
        by_name = await omapi.open("host", {"name": name})
        assert by_name.handle == created.handle
        by_mac = await omapi.open("host", {"hardware-address": mac, "hardware-type": 1})
        assert by_mac.handle == created.handle
        with pytest.raises(aiomapi.AlreadyExists):
            await omapi.create("host", {"name": name, "hardware-address": mac, "hardware-type": 1})
        await omapi.update(created, {"ip-address": "10.200.0.10"})
        refreshed = await omapi.refresh(created)
        assert refreshed["ip-address"] == ipaddress.IPv4Address("10.200.0.10").packed
    finally:
        await omapi.delete(created)
    with pytest.raises(aiomapi.NotFound):
        await omapi.open("host", {"name": name})


async def test_update_of_authenticator_is_rejected_despite_result_zero(
    omapi: aiomapi.Client,
) -> None:
    """dhcpd answers with status 0 and a text; the client must see a failure
    (docs/dhcpd-behaviour.md, "Messages and replies")."""
    conn = omapi.pool.connections[0]
    authid = conn._proto.authid
    with pytest.raises(aiomapi.RejectedWithSuccessCode, match="cannot update authenticator"):
        await omapi.update(authid, {"name": "x"})


# ------------------------------------------------------------------ keys and algorithms


@pytest.mark.parametrize("algorithm", aiomapi.ALGORITHMS)
async def test_every_hmac_algorithm(dhcpd_factory: DhcpdFactory, algorithm: str) -> None:
    inst = dhcpd_factory(n_leases=20, algorithm=algorithm)
    async with aiomapi.Client(inst.host, inst.port, key=key_of(inst), timeout=10) as client:
        lease = await client.open("lease", {"ip-address": lease_ip(3)})
        assert hostname(lease) == b"host3"
        assert client.pool.connections[0]._proto.authid > 0  # replies were signed and verified
    # a wrong secret with the right name and algorithm is refused by the server
    wrong = aiomapi.Key(inst.key_name, aiomapi.Key.generate("x").secret, algorithm)
    async with aiomapi.Client(inst.host, inst.port, key=wrong, timeout=10) as client:
        with pytest.raises(aiomapi.InvalidKey) as info:
            await client.open("lease", {"ip-address": lease_ip(3)})
        assert info.value.code == 393227


async def test_wrong_secret_is_rejected(dhcpd: DhcpdInstance) -> None:
    wrong = aiomapi.Key(dhcpd.key_name, aiomapi.Key.generate("x").secret)
    async with aiomapi.Client(dhcpd.host, dhcpd.port, key=wrong) as client:
        with pytest.raises(aiomapi.InvalidKey):
            await client.open("lease", {"ip-address": lease_ip(1)})
        # the connection stays usable for the next (equally rejected) request
        with pytest.raises(aiomapi.InvalidKey):
            await client.open("lease", {"ip-address": lease_ip(2)})


async def test_unknown_key_name_fails_the_handshake(dhcpd: DhcpdInstance) -> None:
    key = aiomapi.Key("no_such_key", dhcpd.secret)
    with pytest.raises(HandshakeError) as info:
        async with aiomapi.Client(dhcpd.host, dhcpd.port, key=key):
            pass
    assert info.value.code == 23
    assert dhcpd.secret not in str(info.value)


async def test_wrong_algorithm_fails_the_handshake(dhcpd: DhcpdInstance) -> None:
    key = aiomapi.Key(dhcpd.key_name, dhcpd.secret, "hmac-sha256")
    with pytest.raises(HandshakeError):
        async with aiomapi.Client(dhcpd.host, dhcpd.port, key=key):
            pass


async def test_unsigned_requests_to_a_keyed_server_get_nokeys(dhcpd: DhcpdInstance) -> None:
    async with aiomapi.Client(dhcpd.host, dhcpd.port, key=None) as client:
        with pytest.raises(aiomapi.NoKeys) as info:
            await client.open("lease", {"ip-address": lease_ip(1)})
    assert info.value.text == "No authenticator on message"


async def test_null_authenticator_on_an_open_server(dhcpd_factory: DhcpdFactory) -> None:
    inst = dhcpd_factory(n_leases=20, omapi_key=False)
    async with aiomapi.Client(inst.host, inst.port, key=None) as client:
        lease = await client.open("lease", {"ip-address": lease_ip(4)})
        assert hostname(lease) == b"host4"


# ------------------------------------------------------------------ concurrency and budget


async def test_a_burst_of_lookups_is_spread_over_the_pool(
    omapi: aiomapi.Client, dhcpd: DhcpdInstance
) -> None:
    """3,000 lookups started at once: connections opened after the burst began take their
    share (callers wait in the pool, not on the connection they first saw)."""
    indexes = [(i * 7919) % 1000 for i in range(3000)]
    results = await asyncio.gather(
        *(omapi.open("lease", {"ip-address": lease_ip(i)}) for i in indexes)
    )
    assert [hostname(r) for r in results] == [f"host{i}".encode() for i in indexes]
    assert len(omapi.pool.connections) == aiomapi.client.DEFAULT_CONNECTIONS
    assert dhcpd.alive()


async def test_many_concurrent_lookups_on_one_connection(dhcpd: DhcpdInstance) -> None:
    async with aiomapi.Client(dhcpd.host, dhcpd.port, key=key_of(dhcpd), connections=1) as c:
        indexes = [(i * 7919) % 1000 for i in range(3000)]
        results = await asyncio.gather(
            *(c.open("lease", {"ip-address": lease_ip(i)}) for i in indexes)
        )
        assert [hostname(r) for r in results] == [f"host{i}".encode() for i in indexes]
        assert len(c.pool.connections) == 1
    assert dhcpd.alive()


async def _hammer(conn: Connection, concurrency: int, seconds: float, n_leases: int) -> int:
    """Pipelined lookups at ``concurrency`` until ``seconds`` pass or the connection dies."""
    deadline = time.monotonic() + seconds
    done = 0

    async def worker(w: int) -> None:
        nonlocal done
        i = w
        while time.monotonic() < deadline and not conn.closed:
            await conn.request(lookup_request(i % n_leases), timeout=5)
            done += 1
            i += concurrency * 7 + 1

    results = await asyncio.gather(*(worker(w) for w in range(concurrency)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(f, aiomapi.OmapiError) for f in failures), failures
    return done


def lookup_request(i: int) -> Request:
    ip = ipaddress.IPv4Address(lease_ip(i)).packed
    return Request(
        Opcode.OPEN,
        message=(("type", b"lease"),),
        object=(("ip-address", ip),),
        object_type="lease",
    )


async def wait_dead(inst: DhcpdInstance, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while inst.alive():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


# docs/dhcpd-behaviour.md, "Requests that crash dhcpd". A lease reply is 280 + len(hostname)
# bytes signed with MD5, so "host12345" gives 289 and "host1234" 288. Eight of the first and
# six of the second total 4040 bytes, so the 15th reply of one batch starts at offset 4040 of
# dhcpd's output buffer: its authlen straddles the buffer boundary and dhcpd 4.4.3 aborts.
CRASH_BATCH = [10000 + i for i in range(8)] + [1000 + i for i in range(6)] + [5]
CRASH_LEASES = 10016


@pytest.mark.slow
async def test_without_the_budget_one_batch_crashes_dhcpd(dhcpd_factory: DhcpdFactory) -> None:
    """The control experiment: 15 signed lookups written at once abort dhcpd 4.4.3
    (docs/dhcpd-behaviour.md, "Requests that crash dhcpd")."""
    inst = dhcpd_factory(n_leases=CRASH_LEASES)
    core = ClientProtocol(key_of(inst), budget=InflightBudget(1 << 30, 1 << 30))
    reader, writer = await asyncio.open_connection(inst.host, inst.port)
    try:
        writer.write(core.initiate())
        while core.state is not State.READY:
            events = core.receive_data(await asyncio.wait_for(reader.read(4096), 5))
            assert not any(isinstance(e, ConnectionFailed) for e in events), events
        writer.write(b"".join(core.send_request(lookup_request(i))[1] for i in CRASH_BATCH))
        await writer.drain()
        assert await wait_dead(inst), "dhcpd survived the batch: the control experiment failed"
    finally:
        writer.close()
    assert "REQUIRE" in inst.log_text()


@pytest.mark.slow
async def test_with_the_budget_the_same_lookups_are_safe(dhcpd_factory: DhcpdFactory) -> None:
    """The same lookups, and then a long pipelined run, through the default budget."""
    inst = dhcpd_factory(n_leases=CRASH_LEASES)
    key = key_of(inst)
    async with aiomapi.Client(inst.host, inst.port, key=key, timeout=10, connections=1) as client:
        for _ in range(20):
            results = await asyncio.gather(
                *(client.open("lease", {"ip-address": lease_ip(i)}) for i in CRASH_BATCH)
            )
            assert [hostname(r) for r in results] == [f"host{i}".encode() for i in CRASH_BATCH]
        [conn] = client.pool.connections
        done = await _hammer(conn, concurrency=64, seconds=5, n_leases=CRASH_LEASES)
        assert not conn.closed
    assert done > 1000
    assert inst.alive(), inst.log_text()[-2000:]


# ------------------------------------------------------------------ failure handling


async def test_cancelled_awaiters_never_desync_the_stream(omapi: aiomapi.Client) -> None:
    tasks = [
        asyncio.create_task(omapi.open("lease", {"ip-address": lease_ip(i)})) for i in range(200)
    ]
    await asyncio.sleep(0)
    for task in tasks[::2]:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for i, result in enumerate(results):
        if i % 2 == 0:
            # cancelled, or answered before the cancel landed: then with its own lease
            if not isinstance(result, asyncio.CancelledError):
                assert isinstance(result, aiomapi.OmapiObject)
                assert hostname(result) == f"host{i}".encode()
        else:
            assert isinstance(result, aiomapi.OmapiObject)
            assert hostname(result) == f"host{i}".encode()
    after = await asyncio.gather(
        *(omapi.open("lease", {"ip-address": lease_ip(i)}) for i in range(50))
    )
    assert [hostname(r) for r in after] == [f"host{i}".encode() for i in range(50)]


async def test_request_timeout_on_a_frozen_server(dhcpd_factory: DhcpdFactory) -> None:
    inst = dhcpd_factory(n_leases=20)
    async with aiomapi.Client(inst.host, inst.port, key=key_of(inst), timeout=0.5) as client:
        os.kill(inst.pid, signal.SIGSTOP)
        try:
            with pytest.raises(aiomapi.TimeoutError) as info:
                await client.open("lease", {"ip-address": lease_ip(1)})
            assert isinstance(info.value, TimeoutError)  # the builtin, too
        finally:
            os.kill(inst.pid, signal.SIGCONT)
        # the stuck connection was replaced: the next request works
        lease = await client.open(
            "lease",
            {"ip-address": lease_ip(2)},
        )
        assert hostname(lease) == b"host2"


async def test_server_dying_mid_request_fails_every_pending_request(
    dhcpd_factory: DhcpdFactory,
) -> None:
    inst = dhcpd_factory(n_leases=20)
    async with aiomapi.Client(inst.host, inst.port, key=key_of(inst), timeout=5) as client:
        os.kill(inst.pid, signal.SIGSTOP)
        tasks = [
            asyncio.create_task(client.open("lease", {"ip-address": lease_ip(i)}))
            for i in range(10)
        ]
        await asyncio.sleep(0.2)
        os.kill(inst.pid, signal.SIGKILL)
        killed = time.monotonic()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        # written requests fail with ConnectionClosed, waiting ones because no connection
        # can be made any more; all at once, not at their timeout
        assert time.monotonic() - killed < 2.5
        assert all(isinstance(r, aiomapi.ConnectionError_) for r in results), results
        assert any(isinstance(r, aiomapi.ConnectionClosed) for r in results), results
        with pytest.raises((aiomapi.ConnectionError_, aiomapi.TimeoutError)):
            await client.open("lease", {"ip-address": lease_ip(1)})


async def test_closing_the_client_fails_pending_requests(dhcpd_factory: DhcpdFactory) -> None:
    inst = dhcpd_factory(n_leases=20)
    client = await aiomapi.Client(inst.host, inst.port, key=key_of(inst), timeout=5).connect()
    os.kill(inst.pid, signal.SIGSTOP)
    try:
        task = asyncio.create_task(client.open("lease", {"ip-address": lease_ip(1)}))
        await asyncio.sleep(0.1)
        await client.close()
        with pytest.raises(aiomapi.ConnectionClosed):
            await task
        with pytest.raises(aiomapi.ConnectionClosed, match="closed"):
            await client.open("lease", {"ip-address": lease_ip(1)})
    finally:
        os.kill(inst.pid, signal.SIGCONT)


async def test_connection_pool_spreads_load(dhcpd: DhcpdInstance) -> None:
    async with aiomapi.Client(dhcpd.host, dhcpd.port, key=key_of(dhcpd), connections=4) as client:
        for _ in range(5):
            results = await asyncio.gather(
                *(client.open("lease", {"ip-address": lease_ip(i)}) for i in range(400))
            )
            assert [hostname(r) for r in results] == [f"host{i}".encode() for i in range(400)]
        assert 2 <= len(client.pool.connections) <= 4
