"""The address plan of a dhcpd.conf as dhcpd builds its pools: :func:`plan_of`.

Theory of operation
-------------------
dhcpd hands out addresses from pools, and a pool is what its OMAPI counters describe
(``lease-count``, ``free-leases``, ``backup-leases``). A dhcpd.conf declares pools two ways:

* ``pool { range ...; }``: one pool per declaration, with its own ranges;
* a ``range`` written directly in a subnet: dhcpd puts it in a pool it makes itself, and
  every such range of the same shared network, across its subnets, goes into the same
  pool — one for plain ranges and another for ``range dynamic-bootp`` (tested against
  dhcpd 4.4.3: two ranges of one subnet and one of a sibling subnet in a shared network
  answer with one pool handle and one ``lease-count``; a dynamic-bootp range beside a
  plain one has a pool of its own). A subnet outside any ``shared-network`` counts as a
  shared network of its own here.

:func:`plan_of` turns a :class:`~aiomapi.config.Config` into a :class:`Plan`: every range
with the subnet and shared network it lies in and the pool it belongs to, and the pools,
subnets and shared networks with their address counts. Each gets a short, stable name used
as its label in metrics and reports: a range and a pool are named by their (first) range
``LOW-HIGH``, a subnet by its network ``A.B.C.D/LEN``, a shared network by its name.

Pure: no I/O.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from ipaddress import IPv4Address

from aiomapi.config import Config, Pool, Range, Subnet

__all__ = [
    "Plan",
    "PlanPool",
    "PlanRange",
    "PlanShared",
    "PlanSubnet",
    "plan_of",
    "range_name",
    "subnet_name",
]


def range_name(low: IPv4Address, high: IPv4Address) -> str:
    """``LOW-HIGH``: the label of a range (and of a pool, by its first range)."""
    return f"{low}-{high}"


def subnet_name(subnet: Subnet) -> str:
    """``A.B.C.D/LEN``, or ``A.B.C.D/MASK`` for a mask that is not contiguous."""
    network = subnet.network
    return str(network) if network is not None else f"{subnet.address}/{subnet.netmask}"


@dataclass(frozen=True, slots=True)
class PlanRange:
    """One ``range`` statement.

    Attributes:
        name: ``LOW-HIGH``.
        low, high: its first and last address (dhcpd accepts them written either way).
        subnet: the name of the subnet it lies in (``""`` if in none).
        shared_network: the name of that subnet's shared network (``""`` for none).
        pool: the name of the pool it belongs to.
        dynamic_bootp: ``range dynamic-bootp``.
    """

    name: str
    low: IPv4Address
    high: IPv4Address
    subnet: str
    shared_network: str
    pool: str
    dynamic_bootp: bool

    @property
    def addresses(self) -> int:
        return int(self.high) - int(self.low) + 1


@dataclass(frozen=True, slots=True)
class PlanPool:
    """A pool as dhcpd builds it.

    Attributes:
        name: its first range's ``LOW-HIGH``.
        ranges: its ranges, in file order.
        subnet: the subnet of its first range.
        shared_network: its shared network (``""`` for a subnet outside any).
        failover_peer: the failover peer it is under, or ``None``.
        declared: ``True`` for a ``pool { }`` declaration, ``False`` for the pool dhcpd
            makes for ranges written directly in subnets.
    """

    name: str
    ranges: tuple[PlanRange, ...]
    subnet: str
    shared_network: str
    failover_peer: str | None
    declared: bool

    @property
    def addresses(self) -> int:
        return sum(r.addresses for r in self.ranges)

    @property
    def subnets(self) -> frozenset[str]:
        """Every subnet one of its ranges lies in."""
        return frozenset(r.subnet for r in self.ranges)

    def lookup_addresses(self, limit: int = 4) -> tuple[IPv4Address, ...]:
        """Addresses whose lease leads to this pool over OMAPI, best first: the first and
        last address of each range, at most ``limit``."""
        out: list[IPv4Address] = []
        for r in self.ranges:
            for ip in (r.low, r.high):
                if ip not in out:
                    out.append(ip)
        return tuple(out[:limit])


@dataclass(frozen=True, slots=True)
class PlanSubnet:
    """A subnet and the addresses of the ranges in it."""

    name: str
    shared_network: str
    addresses: int


@dataclass(frozen=True, slots=True)
class PlanShared:
    """A ``shared-network`` and the addresses of the ranges in it."""

    name: str
    subnets: tuple[str, ...]
    addresses: int


@dataclass(frozen=True, slots=True)
class Plan:
    """The address plan of one configuration (see the module's docstring).

    Attributes:
        ranges: every range, sorted by address.
        pools, subnets, shared_networks: in file order.
    """

    ranges: tuple[PlanRange, ...]
    pools: tuple[PlanPool, ...]
    subnets: tuple[PlanSubnet, ...]
    shared_networks: tuple[PlanShared, ...]

    def range_of(self, address: IPv4Address) -> PlanRange | None:
        """The range holding ``address``, or ``None`` (binary search)."""
        lows = [int(r.low) for r in self.ranges]
        return self._find(lows, address)

    def _find(self, lows: list[int], address: IPv4Address) -> PlanRange | None:
        i = bisect.bisect_right(lows, int(address)) - 1
        if i >= 0 and address <= self.ranges[i].high:
            return self.ranges[i]
        return None

    def locator(self) -> _Locator:
        """A reusable :meth:`range_of` for many addresses."""
        return _Locator(self)

    @property
    def addresses(self) -> int:
        return sum(r.addresses for r in self.ranges)


class _Locator:
    __slots__ = ("_lows", "_plan")

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._lows = [int(r.low) for r in plan.ranges]

    def __call__(self, address: IPv4Address) -> PlanRange | None:
        return self._plan._find(self._lows, address)


def plan_of(config: Config) -> Plan:
    """The address plan of ``config``: ranges, pools (declared and implicit), subnets and
    shared networks, with their names (see the module's docstring)."""
    return _Builder(config).plan()


class _Builder:
    """Collects the pools and ranges of one configuration, in file order."""

    __slots__ = ("config", "pools", "ranges", "shared_of")

    def __init__(self, config: Config) -> None:
        self.config = config
        self.shared_of = {id(s): s.shared_network or "" for s in config.subnets}
        self.pools: list[PlanPool] = []
        self.ranges: list[PlanRange] = []

    def subnet_for(self, r: Range, default: Subnet | None) -> Subnet | None:
        """The subnet holding the range's first address (dhcpd refuses a range outside its
        subnet, so for a range written in a subnet that is the subnet itself)."""
        if default is not None and r.low in default:
            return default
        return next((s for s in self.config.subnets if r.low in s), default)

    def add_pool(
        self,
        members: list[tuple[Range, Subnet | None]],
        shared: str,
        peer: str | None,
        declared: bool,
    ) -> None:
        first = members[0][0]
        name = range_name(first.low, first.high)
        made = tuple(
            PlanRange(
                name=range_name(r.low, r.high),
                low=r.low,
                high=r.high,
                subnet="" if s is None else subnet_name(s),
                shared_network=shared,
                pool=name,
                dynamic_bootp=r.dynamic_bootp,
            )
            for r, s in members
        )
        self.ranges.extend(made)
        self.pools.append(PlanPool(name, made, made[0].subnet, shared, peer, declared))

    def add_declared(self, pool: Pool, subnet: Subnet | None, shared: str) -> None:
        members = [(r, self.subnet_for(r, subnet)) for r in pool.ranges]
        if members:
            self.add_pool(members, shared, pool.failover_peer, True)

    def plan(self) -> Plan:
        config = self.config
        # Declared pools: those in subnets, then those directly in shared networks (the
        # order of Config.pools).
        for subnet in config.subnets:
            for pool in subnet.pools:
                self.add_declared(pool, subnet, self.shared_of[id(subnet)])
        for network in config.shared_networks:
            for pool in network.pools:
                self.add_declared(pool, None, network.name)
        # Ranges written directly in subnets: one implicit pool per shared network (a lone
        # subnet being its own) and per dynamic-bootp flag.
        peers = {n.name: n.failover_peer for n in config.shared_networks}
        implicit: dict[tuple[str, bool], list[tuple[Range, Subnet | None]]] = {}
        for subnet in config.subnets:
            group = self.shared_of[id(subnet)] or f"subnet {subnet_name(subnet)}"
            for written in subnet.ranges:
                key = (group, written.dynamic_bootp)
                implicit.setdefault(key, []).append((written, subnet))
        for members in implicit.values():
            owner = members[0][1]
            shared = "" if owner is None else self.shared_of[id(owner)]
            self.add_pool(members, shared, peers.get(shared), False)

        ranges = sorted(self.ranges, key=lambda r: int(r.low))
        per_subnet: dict[str, int] = {}
        for r in ranges:
            per_subnet[r.subnet] = per_subnet.get(r.subnet, 0) + r.addresses
        subnets = tuple(
            PlanSubnet(subnet_name(s), self.shared_of[id(s)], per_subnet.get(subnet_name(s), 0))
            for s in config.subnets
        )
        shared_networks = tuple(
            PlanShared(
                n.name,
                tuple(subnet_name(s) for s in n.subnets),
                sum(r.addresses for r in ranges if r.shared_network == n.name),
            )
            for n in config.shared_networks
        )
        return Plan(tuple(ranges), tuple(self.pools), subnets, shared_networks)
