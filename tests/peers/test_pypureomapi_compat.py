"""pypureomapi, an independent synchronous OMAPI client (HMAC-MD5 only), against FakeDhcpd.

pypureomapi blocks, so each call runs in a thread (:func:`asyncio.to_thread`) while the
server keeps running on the test's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import pytest

from aiomapi import Key
from aiomapi.testing import FakeDhcpd, FakeFailoverPeer

pypureomapi = pytest.importorskip("pypureomapi")

KEY = Key.generate("omapi_key", "hmac-md5")
T = TypeVar("T")


@pytest.fixture
async def fake() -> AsyncIterator[FakeDhcpd]:
    async with FakeDhcpd.like_lab(50, key=KEY, failover_peers=[FakeFailoverPeer(b"lab")]) as srv:
        yield srv


class Omapi:
    """pypureomapi.Omapi driven from async code: every call in a worker thread."""

    def __init__(self, server: FakeDhcpd, key: Key = KEY) -> None:
        self.server = server
        self.key = key
        self.client: object = None

    async def __aenter__(self) -> Omapi:
        self.client = await asyncio.to_thread(
            pypureomapi.Omapi,
            self.server.host,
            self.server.port,
            self.key.name.encode(),
            self.key.secret.encode(),
            timeout=5,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.client.close)  # type: ignore[attr-defined]

    async def call(self, method: str, *args: object) -> object:
        fn: Callable[..., object] = getattr(self.client, method)
        return await asyncio.to_thread(fn, *args)


async def test_lease_lookups(fake: FakeDhcpd) -> None:
    async with Omapi(fake) as omapi:
        assert await omapi.call("lookup_ip", "02:00:00:00:00:05") == "10.100.1.5"
        assert await omapi.call("lookup_mac", "10.100.1.5") == "02:00:00:00:00:05"
        assert await omapi.call("lookup_hostname", "10.100.1.7") == "host7"
        with pytest.raises(pypureomapi.OmapiErrorNotFound):
            await omapi.call("lookup_mac", "10.99.1.5")
        with pytest.raises(pypureomapi.OmapiErrorNotFound):
            await omapi.call("lookup_ip", "0a:00:00:00:00:99")


async def test_host_lifecycle(fake: FakeDhcpd) -> None:
    async with Omapi(fake) as omapi:
        await omapi.call("add_host_supersede_name", "10.100.60.1", "0a:00:00:00:60:01", "web")
        host = await omapi.call("lookup_host", "web")
        assert host == {"ip": "10.100.60.1", "mac": "0a:00:00:00:60:01", "hostname": "web"}
        assert await omapi.call("lookup_ip_host", "0a:00:00:00:60:01") == "10.100.60.1"
        with pytest.raises(pypureomapi.OmapiError):
            await omapi.call("add_host_supersede_name", "10.100.60.2", "0a:00:00:00:60:01", "web")
        await omapi.call("del_host", "0a:00:00:00:60:01")
        with pytest.raises(pypureomapi.OmapiErrorNotFound):
            await omapi.call("lookup_host", "web")
        with pytest.raises(pypureomapi.OmapiErrorNotFound):
            await omapi.call("del_host", "0a:00:00:00:60:01")

        await omapi.call("add_host", "10.100.60.3", "0a:00:00:00:60:03")
        model_host = fake.model.hosts_by_hw[b"\x01\x0a\x00\x00\x00\x60\x03"]
        assert model_host.fixed_address == bytes([10, 100, 60, 3])
        assert model_host.name is not None
        assert model_host.name.startswith(b"nh")


async def test_groups(fake: FakeDhcpd) -> None:
    async with Omapi(fake) as omapi:
        await omapi.call("add_group", "office", 'option domain-name "example.org";')
        await omapi.call("add_host_with_group", "10.100.61.1", "0a:00:00:00:61:01", "office")
        model_host = fake.model.hosts_by_hw[b"\x01\x0a\x00\x00\x00\x61\x01"]
        assert model_host.group is fake.model.groups[b"office"]
        with pytest.raises(pypureomapi.OmapiError):
            await omapi.call("add_host_with_group", "10.100.61.2", "0a:00:00:00:61:02", "nogroup")


async def test_failover_state(fake: FakeDhcpd) -> None:
    async with Omapi(fake) as omapi:
        state = await omapi.call("lookup_failoverstate", "lab", "local-state")
        assert state == b"\x00\x00\x00\x02"  # raw int32: normal


async def test_wrong_secret(fake: FakeDhcpd) -> None:
    wrong = Key(KEY.name, Key.generate("x").secret)
    async with Omapi(fake, wrong) as omapi:
        with pytest.raises(pypureomapi.OmapiError):
            await omapi.call("lookup_mac", "10.100.1.5")


async def test_unknown_key_name(fake: FakeDhcpd) -> None:
    # Authenticate by hand: pypureomapi's constructor leaks its socket when this fails.
    client = await asyncio.to_thread(pypureomapi.Omapi, fake.host, fake.port, timeout=5)
    try:
        auth = pypureomapi.OmapiHMACMD5Authenticator(b"nobody", KEY.secret.encode())
        with pytest.raises(pypureomapi.OmapiError):
            await asyncio.to_thread(client.initialize_authenticator, auth)
    finally:
        client.close()


async def test_concurrent_clients(fake: FakeDhcpd) -> None:
    async def one(i: int) -> object:
        async with Omapi(fake) as omapi:
            return await omapi.call("lookup_hostname", f"10.100.1.{i}")

    names = await asyncio.gather(*(one(i) for i in range(8)))
    assert names == [f"host{i}" for i in range(8)]
