"""The data a lab dhcpd starts with, in one place: its leases and its failover settings.

The real-dhcpd lab (:mod:`aiomapi.testing.dhcpd_lab`) writes this data into ``dhcpd.leases``
and ``dhcpd.conf``; :func:`~aiomapi.testing.synthetic_leases`,
:meth:`FakeDhcpd.like_lab <aiomapi.testing.FakeDhcpd.like_lab>` and the defaults of
:class:`~aiomapi.testing.FakeFailoverPeer` build the same data in memory. A test written
against one therefore holds against the other, and the layout of lease ``i`` is defined by
one function, :func:`lab_lease`.

Lease ``i`` (0-based): address ``10.100.1.0 + i`` (:func:`lease_ip`), hardware ethernet
``02:00`` followed by ``i`` as 4 bytes (:func:`lease_mac`), ``client-hostname "host<i>"``,
binding state active with next and rewind state free, starts and cltt at the time the lab
was made, ends :data:`LAB_ENDS`. The pool holds :data:`FREE_ADDRESSES` more addresses after
the last lease, free and without times.
"""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Address
from typing import Final

from aiomapi.failover.loadbalance import hba_from_split
from aiomapi.leasefile import LeaseRecord
from aiomapi.typed.values import LeaseState, MacAddress

__all__ = [
    "FAILOVER_PORT",
    "FIRST_LEASE",
    "FREE_ADDRESSES",
    "LAB_ENDS",
    "LAB_HBA",
    "LAB_LOAD_BALANCE_MAX_SECONDS",
    "LAB_MAX_RESPONSE_DELAY",
    "LAB_MAX_UNACKED_UPDATES",
    "LAB_MCLT",
    "LAB_NETWORK",
    "LAB_SPLIT",
    "MAX_POOL",
    "PEER_NAME",
    "PRIMARY_PEER_ADDRESS",
    "SECONDARY_PEER_ADDRESS",
    "lab_lease",
    "lease_ip",
    "lease_mac",
]

#: The network the lab serves (``subnet 10.100.0.0 netmask 255.252.0.0``).
LAB_NETWORK: Final = "10.100.0.0/14"
#: The address of lease 0.
FIRST_LEASE: Final = IPv4Address("10.100.1.0")
#: Pool addresses after the last lease; dhcpd makes them free leases without times.
FREE_ADDRESSES: Final = 16
#: Leases plus free addresses that fit: 10.100.0.0/14 less its first /24 and its broadcast
#: address leaves 261,887 hosts.
MAX_POOL: Final = 261_880
#: The ``ends`` of every lab lease: 2037-12-31 23:59:59 UTC, a date well before the 31-bit
#: times of dhcpd run out (2038-01-19), written as a date in the lease file.
LAB_ENDS: Final = datetime(2037, 12, 31, 23, 59, 59, tzinfo=UTC)

#: The failover peer of a lab pair, and its settings (the primary's ``split 128``).
PEER_NAME: Final = "lab"
FAILOVER_PORT: Final = 647
PRIMARY_PEER_ADDRESS: Final = "10.254.0.1"
SECONDARY_PEER_ADDRESS: Final = "10.254.0.2"
LAB_MCLT: Final = 30
LAB_MAX_RESPONSE_DELAY: Final = 30
LAB_MAX_UNACKED_UPDATES: Final = 10
LAB_LOAD_BALANCE_MAX_SECONDS: Final = 5
LAB_SPLIT: Final = 128


#: The primary's hash bucket array in a lab pair, which the secondary learns from it.
LAB_HBA: Final = hba_from_split(LAB_SPLIT)


def lease_ip(i: int) -> str:
    """Address of lab lease ``i`` (0-based): 10.100.1.0 + i."""
    return str(FIRST_LEASE + i)


def lease_mac(i: int) -> str:
    """Hardware address of lab lease ``i``: 02:00 followed by ``i`` as 4 bytes."""
    return ":".join(f"{b:02x}" for b in b"\x02\x00" + i.to_bytes(4, "big"))


def lab_lease(i: int, *, now: datetime, first: IPv4Address = FIRST_LEASE) -> LeaseRecord:
    """Lab lease ``i``, as the lab writes it to ``dhcpd.leases`` (see the module doc).

    Args:
        i: the lease's number; it picks the hardware address and the hostname.
        now: its ``starts`` and ``cltt`` (an aware datetime; microseconds are dropped).
        first: the address of lease 0.
    """
    when = now.replace(microsecond=0)
    return LeaseRecord(
        first + i,
        starts=when,
        ends=LAB_ENDS,
        cltt=when,
        binding_state=LeaseState.ACTIVE,
        next_binding_state=LeaseState.FREE,
        rewind_binding_state=LeaseState.FREE,
        hardware_type=1,
        hardware_address=MacAddress(b"\x02\x00" + i.to_bytes(4, "big")),
        client_hostname=f"host{i}",
    )
