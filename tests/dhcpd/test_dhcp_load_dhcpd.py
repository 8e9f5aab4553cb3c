"""DHCP service of the real dhcpd, measured with perfdhcp from the lab's client namespace.

These tests check that the measurement works and that OMAPI load leaves the DHCP service
answering: perfdhcp's DORA exchanges complete, the simulated clients get leases from their
own pool (and only there), and a rate-limited ``get_many`` meanwhile gets every lease right.
They assert nothing about speed: latency is measured by ``python -m benchmarks.dhcp_service``
(docs/benchmarks.md), not asserted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address

import pytest

import aiomapi
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, LoadReport, dhcp_load
from aiomapi.testing.dhcpd_lab.config import CLIENT_POOL_FIRST, CLIENT_POOL_SIZE
from aiomapi.typed.values import LeaseState

from ..conftest import start_lab

pytestmark = [pytest.mark.dhcpd, pytest.mark.slow]

N_LEASES = 200
#: perfdhcp's load: DORA exchanges a second, for this many seconds, from this many clients.
DHCP_RATE = 100
SECONDS = 2.0
CLIENTS = 50
#: A DORA counts as dropped after perfdhcp's drop time (1 s): far beyond dhcpd's answer time
#: on any machine, so more than this share dropped means the service is broken, not slow.
MAX_DROPS_PERCENT = 20.0
#: The bounded OMAPI load: lookups a second, and how many (about SECONDS at that rate).
OMAPI_RATE = 500
LOOKUPS = 1000


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]
) -> Iterator[DhcpdInstance]:
    """A dhcpd with N_LEASES leases and the DHCP client namespace (perfdhcp required)."""
    inst = start_lab(
        dhcpd_lab.start_single,
        tmp_path_factory.mktemp("dhcp-load"),
        lab_port(),
        N_LEASES,
        dhcp_client=True,
    )
    try:
        start_lab(dhcp_load.perfdhcp_argv, inst, rate=1, seconds=1)  # perfdhcp installed?
        yield inst
    finally:
        dhcpd_lab.stop(inst)


def omapi(inst: DhcpdInstance) -> aiomapi.Client:
    key = inst.key
    return aiomapi.Client(inst.host, inst.port, key=key, connections=2)


def client_macs(base: int, n: int) -> list[str]:
    """The hardware addresses perfdhcp counts up from ``mac_base`` 02:0c:<base>:00:00:00."""
    return [
        ":".join(f"{b:02x}" for b in bytes([2, 12, base]) + i.to_bytes(3, "big")) for i in range(n)
    ]


def assert_dhcp_answered(report: LoadReport) -> None:
    do, ra = report.discover_offer, report.request_ack
    assert ra is not None
    assert report.malformed == 0
    assert do.sent > 0
    assert report.completed > 0, report
    assert do.drops_percent < MAX_DROPS_PERCENT, report
    assert ra.drops_percent < MAX_DROPS_PERCENT, report
    assert do.rejected == ra.rejected == 0


async def test_dora_completes_without_omapi_load(lab: DhcpdInstance) -> None:
    report = await dhcp_load.perfdhcp(
        lab, rate=DHCP_RATE, seconds=SECONDS, clients=CLIENTS, mac_base=client_macs(1, 1)[0]
    )
    assert_dhcp_answered(report)
    # perfdhcp's clients hold active leases from the pool for them; the lab's own free
    # addresses after its leases were not given out.
    pool = range(int(CLIENT_POOL_FIRST), int(CLIENT_POOL_FIRST) + CLIENT_POOL_SIZE)
    async with omapi(lab) as client:
        found = [
            lease
            async for _mac, lease in client.leases.get_many(macs=client_macs(1, CLIENTS))
            if isinstance(lease, aiomapi.Lease)
        ]
        spare = [
            lease
            async for _ip, lease in client.leases.get_many(
                ips=[dhcpd_lab.lease_ip(N_LEASES + i) for i in range(dhcpd_lab.FREE_ADDRESSES)]
            )
        ]
    assert found
    assert all(int(lease.ip_address) in pool for lease in found), found
    assert all(lease.state == LeaseState.ACTIVE for lease in found), found
    assert all(
        isinstance(lease, aiomapi.Lease) and lease.state == LeaseState.FREE for lease in spare
    ), spare


async def test_dhcp_completes_during_rate_limited_get_many(lab: DhcpdInstance) -> None:
    ips = [dhcpd_lab.lease_ip(i % N_LEASES) for i in range(LOOKUPS)]
    async with omapi(lab) as client:

        async def lookups() -> list[tuple[object, object]]:
            return [r async for r in client.leases.get_many(ips=ips, rate=OMAPI_RATE)]

        results, report = await asyncio.gather(
            lookups(),
            dhcp_load.perfdhcp(
                lab,
                rate=DHCP_RATE,
                seconds=SECONDS,
                clients=CLIENTS,
                mac_base=client_macs(2, 1)[0],
            ),
        )
    assert_dhcp_answered(report)
    assert len(results) == LOOKUPS
    wrong = [
        (ip, lease)
        for ip, lease in results
        if not isinstance(lease, aiomapi.Lease)
        or lease.ip_address != IPv4Address(str(ip))
        or lease.client_hostname != f"host{int(IPv4Address(str(ip))) - int(dhcpd_lab.FIRST_LEASE)}"
    ]
    assert not wrong, wrong[:5]
