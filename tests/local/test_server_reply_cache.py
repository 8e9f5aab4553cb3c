"""A lease's reply values are kept between lookups, and never outlive a change of the lease.

The in-memory dhcpd keeps each lease's reply values, handles resolved
(``LeaseType.values``), so that a lookup does not rebuild them. Every way a lease can change
must show in the next reply: a change over OMAPI, an assignment to the model's object, a
binding variable changed in place, and a referenced object whose handle was dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import aiomapi
from aiomapi import LeaseState
from aiomapi.leasefile import ClassRecord
from aiomapi.server.objects import WireValues
from aiomapi.testing import FakeDhcpd, synthetic_leases

KEY = aiomapi.Key.generate("cache")


@pytest.fixture
async def fake() -> AsyncIterator[FakeDhcpd]:
    async with FakeDhcpd(
        key=KEY, leases=synthetic_leases(10), classes=[ClassRecord("c", statements="")]
    ) as srv:
        yield srv


@pytest.fixture
async def omapi(fake: FakeDhcpd) -> AsyncIterator[aiomapi.Client]:
    async with aiomapi.Client(fake.host, fake.port, key=KEY, timeout=5) as client:
        yield client


async def test_values_are_kept_between_lookups(fake: FakeDhcpd, omapi: aiomapi.Client) -> None:
    first = await omapi.open("lease", {"ip-address": "10.100.1.3"})
    lease = fake.lease("10.100.1.3")
    assert lease is not None
    kept = fake.model.lease_type.values(lease)
    assert isinstance(kept, WireValues)
    assert fake.model.lease_type.values(lease) is kept  # not rebuilt
    again = await omapi.open("lease", {"ip-address": "10.100.1.3"})
    assert again.values == first.values


async def test_a_change_over_omapi_shows(omapi: aiomapi.Client) -> None:
    before = await omapi.leases.get(ip="10.100.1.4")
    assert before.client_hostname == "host4"
    await omapi.leases.update(ip="10.100.1.4", state=LeaseState.EXPIRED)
    after = await omapi.leases.get(ip="10.100.1.4")
    assert after.state is LeaseState.EXPIRED
    assert after.client_hostname is None


async def test_an_assignment_to_the_model_shows(fake: FakeDhcpd, omapi: aiomapi.Client) -> None:
    await omapi.leases.get(ip="10.100.1.5")
    lease = fake.lease("10.100.1.5")
    assert lease is not None
    lease.client_hostname = b"renamed"
    assert (await omapi.leases.get(ip="10.100.1.5")).client_hostname == "renamed"


async def test_a_variable_changed_in_place_shows(fake: FakeDhcpd, omapi: aiomapi.Client) -> None:
    await omapi.leases.get(ip="10.100.1.6")
    lease = fake.lease("10.100.1.6")
    assert lease is not None
    lease.variables.insert(0, ("note", b"kept?"))
    reply = await omapi.open("lease", {"ip-address": "10.100.1.6"})
    assert reply.get("note") == b"kept?"


async def test_a_dropped_handle_is_resolved_again(fake: FakeDhcpd, omapi: aiomapi.Client) -> None:
    """A deleted class loses its handle (dhcpd's behaviour): a lease billed to it names the
    class by a new handle, as without the cache."""
    lease = fake.lease("10.100.1.7")
    klass = fake.model.live_class(b"c")
    assert lease is not None
    assert klass is not None
    lease.billing_class = klass
    first = await omapi.open("lease", {"ip-address": "10.100.1.7"})
    handles = fake.model.handles
    generation = handles.generation
    handles.forget(klass)
    assert handles.generation == generation + 1
    second = await omapi.open("lease", {"ip-address": "10.100.1.7"})
    assert first.get("billing-class") != second.get("billing-class")
    entry = handles.get(int.from_bytes(second.get("billing-class") or b"", "big"))
    assert entry is not None
    assert entry[1] is klass
