"""Bulk lease lookups (``omapi.leases.get_many``) against the real dhcpd and the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

import aiomapi
from aiomapi.testing import FakeDhcpd
from aiomapi.testing.dhcpd_lab import DhcpdInstance, lease_ip, lease_mac

N_LEASES = 1000  # the session dhcpd's leases; the fake gets the same layout


@pytest.fixture(params=["real", "fake"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture
async def omapi(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[aiomapi.Client]:
    if backend == "real":
        dhcpd: DhcpdInstance = request.getfixturevalue("dhcpd")
        key = dhcpd.key
        async with aiomapi.Client(dhcpd.host, dhcpd.port, key=key, connections=2) as client:
            yield client
        return
    key = aiomapi.Key.generate("omapi_key")
    async with (
        FakeDhcpd.like_lab(N_LEASES, key=key) as server,
        aiomapi.Client(server.host, server.port, key=key, connections=2) as client,
    ):
        yield client


def ips_with_gaps() -> Iterator[str]:
    """Every lease, with a missing address and an invalid one mixed in."""
    for i in range(N_LEASES):
        yield lease_ip(i)
        if i % 100 == 0:
            yield "10.99.0.1"  # no such lease
        if i == 500:
            yield "not-an-ip"


async def test_get_many_by_ip_gives_one_result_per_item(omapi: aiomapi.Client) -> None:
    seen: dict[str, aiomapi.Lease | aiomapi.OmapiError] = {}
    async for ip, result in omapi.leases.get_many(ips=ips_with_gaps(), concurrency=64):
        assert ip not in seen or ip == "10.99.0.1"
        seen[ip] = result
    for i in range(N_LEASES):
        lease = seen[lease_ip(i)]
        assert isinstance(lease, aiomapi.Lease)
        assert lease.client_hostname == f"host{i}"
        assert str(lease.ip_address) == lease_ip(i)
    assert isinstance(seen["10.99.0.1"], aiomapi.NotFound)
    assert isinstance(seen["not-an-ip"], aiomapi.LocalProtocolError)


async def test_get_many_ordered_by_mac(omapi: aiomapi.Client) -> None:
    macs = [lease_mac(i) for i in range(0, N_LEASES, 3)]
    results = [r async for r in omapi.leases.get_many(macs=macs, ordered=True, concurrency=32)]
    assert [mac for mac, _ in results] == macs
    for (mac, lease), i in zip(results, range(0, N_LEASES, 3), strict=True):
        assert isinstance(lease, aiomapi.Lease)
        assert str(lease.hardware_address) == mac
        assert lease.client_hostname == f"host{i}"


async def test_get_many_takes_exactly_one_kind_of_key(omapi: aiomapi.Client) -> None:
    with pytest.raises(TypeError, match="exactly one"):
        omapi.leases.get_many(ips=[lease_ip(1)], macs=[lease_mac(1)])
    with pytest.raises(TypeError, match="exactly one"):
        omapi.leases.get_many()
