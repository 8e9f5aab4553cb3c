"""Lease binding variables set over OMAPI, on the real dhcpd only.

What the behaviour suite (``tests/dhcpd/test_behaviour.py``) cannot run on both servers: the input
that kills dhcpd (FakeDhcpd refuses it instead: ``tests/local/test_fake_dhcpd.py``), and what dhcpd
writes to its lease file.
"""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address

import pytest

import aiomapi
from aiomapi.leasefile import load_leases
from aiomapi.testing.dhcpd_lab import DhcpdInstance, lease_ip

from ..conftest import DhcpdFactory

pytestmark = pytest.mark.dhcpd


def key_of(inst: DhcpdInstance) -> aiomapi.Key:
    return inst.key


async def test_second_null_of_a_binding_variable_kills_dhcpd(
    dhcpd_factory: DhcpdFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control experiment behind safety.check_lease_nulls, with that guard lifted."""
    monkeypatch.setattr(aiomapi._sansio.safety, "GUARD_LEASE_NULLS", False)
    inst = await asyncio.to_thread(dhcpd_factory, 4)
    async with aiomapi.Client(inst.host, inst.port, key=key_of(inst), timeout=5) as omapi:
        lease = await omapi.open("lease", {"ip-address": lease_ip(1)})
        await omapi.update(lease, {"myvar": b"x"})
        await omapi.update(lease, {"myvar": None})  # the first null: fine, the variable hides
        assert "myvar" not in await omapi.refresh(lease)
        with pytest.raises(aiomapi.ConnectionClosed):
            await omapi.update(lease, {"myvar": None})
    for _ in range(50):  # up to 5 s for the process to be gone
        if not inst.alive():
            break
        await asyncio.sleep(0.1)
    assert not inst.alive()


async def test_binding_variable_set_over_omapi_is_true_in_the_lease_file(
    dhcpd_factory: DhcpdFactory,
) -> None:
    """dhcpd keeps part of a heap address in memory and writes ``true`` to its lease file, so
    a fake loaded from that file shows int32 1 where dhcpd shows the address."""
    inst = await asyncio.to_thread(dhcpd_factory, 4)
    async with aiomapi.Client(inst.host, inst.port, key=key_of(inst), timeout=5) as omapi:
        lease = await omapi.open("lease", {"ip-address": lease_ip(1)})
        await omapi.update(lease, {"myvar": b"\x01\x02\x03", "tstp": b"\x01"})
        sent = await omapi.leases.get(ip=lease_ip(1))
    assert len(sent.variables["myvar"]) == 4
    text = (inst.workdir / "dhcpd.leases").read_text()
    record = text[text.rindex(f"lease {lease_ip(1)} {{") :]
    record = record[: record.index("}")]
    assert "set myvar = true;" in record
    assert "set tstp = true;" in record
    loaded = load_leases(inst.workdir / "dhcpd.leases").leases[IPv4Address(lease_ip(1))]
    assert dict(loaded.variables)["myvar"] is True
