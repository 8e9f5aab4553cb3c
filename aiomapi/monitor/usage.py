"""How full the pools are: lease-file counts, dhcpd's live counters, and both joined.

Theory of operation
-------------------
Two sources say how many addresses are in use, and they see different things:

* **the lease file** (:func:`count_file`): the last declaration of each lease gives its
  binding state; counted per range, pool, subnet and shared network of the address plan
  (:mod:`aiomapi.monitor.layout`). dhcpd need not write every lease into the file:
  addresses never used can be missing, while dhcpd counts them as free (tested: without
  failover, a pool of 26 addresses with 10 leases in the file has ``lease-count`` 26 and
  ``free-leases`` 16; on a failover pair too, free leases were missing from a file that
  listed every backup one). So an address of a range that the file does not mention counts
  as free, and is also counted as ``unlisted``. A lease in the file outside every range (the
  configuration shrank since) counts as ``outside``.
* **dhcpd's pool counters** (:class:`LiveCounts`), read over OMAPI: ``lease-count``,
  ``free-leases`` and ``backup-leases`` of each pool. They are dhcpd's own view, right
  now. ``active`` is what is left, ``lease-count - free - backup``: every lease a client
  holds, plus those expired, released or abandoned and not yet back in the free (or
  backup) queue. Subnets and shared networks get the sum of their pools; a subnet shares
  a pool with another subnet (implicit pools of a shared network) gets no live figure.

"Used" is the same idea in both: the addresses that are neither free nor backup (a backup
lease is free for the failover secondary to give out). The used percentage is of the
addresses the pool has: dhcpd's ``lease-count`` for the live view, the configuration's
range sizes for the lease file.

Pure: no I/O; the caller reads the files and the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import IPv4Address
from types import MappingProxyType
from typing import Final, Literal

from aiomapi import LeaseState
from aiomapi.leasefile import LeaseDatabase, LeaseRecord

from .layout import Plan, PlanPool

__all__ = [
    "KINDS",
    "STATES",
    "FileUsage",
    "Kind",
    "LiveCounts",
    "StateCounts",
    "count_file",
    "live_totals",
    "percent",
]

#: The binding states a lease file can hold, by dhcpd's names, in dhcpd's order.
STATES: Final[tuple[str, ...]] = tuple(s.dhcpd_name for s in LeaseState)

#: What a row of the report describes.
Kind = Literal["range", "pool", "subnet", "shared-network", "all"]
KINDS: Final[tuple[Kind, ...]] = ("range", "pool", "subnet", "shared-network", "all")

_FREE: Final = LeaseState.FREE.dhcpd_name
_BACKUP: Final = LeaseState.BACKUP.dhcpd_name


def percent(used: int, total: int) -> float | None:
    """``used`` as a percentage of ``total``, ``None`` for an empty total."""
    return None if total <= 0 else 100.0 * used / total


@dataclass(frozen=True, slots=True)
class StateCounts:
    """Lease-file counts for a set of addresses.

    Attributes:
        addresses: how many addresses the configuration's ranges give it.
        states: count per binding state name (every name of :data:`STATES`); ``free``
            includes the addresses the file does not mention.
        unlisted: addresses of the ranges the file does not mention.
    """

    addresses: int
    states: Mapping[str, int]
    unlisted: int = 0

    @property
    def free(self) -> int:
        return self.states.get(_FREE, 0)

    @property
    def backup(self) -> int:
        return self.states.get(_BACKUP, 0)

    @property
    def used(self) -> int:
        """Addresses neither free nor backup."""
        return self.addresses - self.free - self.backup

    @property
    def used_percent(self) -> float | None:
        return percent(self.used, self.addresses)

    def to_json(self) -> dict[str, object]:
        return {
            "addresses": self.addresses,
            **{name: self.states.get(name, 0) for name in STATES},
            "unlisted": self.unlisted,
            "used": self.used,
            "used_percent": _round(self.used_percent),
        }


@dataclass(frozen=True, slots=True)
class LiveCounts:
    """A pool's counters as dhcpd reports them (or their sum over several pools).

    Attributes:
        leases: ``lease-count``.
        free: ``free-leases``.
        backup: ``backup-leases``.
    """

    leases: int
    free: int
    backup: int

    @property
    def active(self) -> int | None:
        """``leases - free - backup``; ``None`` if that is negative (counters read while
        they moved)."""
        rest = self.leases - self.free - self.backup
        return rest if rest >= 0 else None

    @property
    def used_percent(self) -> float | None:
        active = self.active
        return None if active is None else percent(active, self.leases)

    def __add__(self, other: LiveCounts) -> LiveCounts:
        return LiveCounts(
            self.leases + other.leases, self.free + other.free, self.backup + other.backup
        )

    def to_json(self) -> dict[str, object]:
        return {
            "leases": self.leases,
            "free": self.free,
            "backup": self.backup,
            "active": self.active,
            "used_percent": _round(self.used_percent),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass(frozen=True, slots=True)
class FileUsage:
    """Lease-file counts over an address plan.

    Attributes:
        by_kind: for each of ``range``, ``pool``, ``subnet``, ``shared-network`` and
            ``all`` (key ``""``): counts by name.
        outside: leases of the file in no range of the plan.
        leases: leases in the file.
    """

    by_kind: Mapping[Kind, Mapping[str, StateCounts]]
    outside: int
    leases: int

    def get(self, kind: Kind, name: str) -> StateCounts | None:
        return self.by_kind.get(kind, {}).get(name)


def lease_state(record: LeaseRecord, now: datetime) -> str:
    """The binding state name of a lease-file record. A record without ``binding state``
    (files older than failover) is active until it ends, as dhcpd reads it."""
    if record.binding_state is not None:
        return LeaseState(record.binding_state).dhcpd_name
    ends = record.ends
    if isinstance(ends, datetime) and ends > now:
        return LeaseState.ACTIVE.dhcpd_name
    return _FREE


def count_file(plan: Plan, db: LeaseDatabase, now: datetime) -> FileUsage:
    """Count the leases of ``db`` over ``plan`` (see the module's docstring).

    Args:
        plan: the address plan.
        db: the parsed lease file.
        now: the time a lease without a binding state is judged against (aware).
    """
    locate = plan.locator()
    per_range: dict[str, dict[str, int]] = {r.name: {} for r in plan.ranges}
    listed: dict[str, int] = dict.fromkeys(per_range, 0)
    outside = 0
    for address, record in db.leases.items():
        r = locate(IPv4Address(address))
        if r is None:
            outside += 1
            continue
        state = lease_state(record, now)
        counts = per_range[r.name]
        counts[state] = counts.get(state, 0) + 1
        listed[r.name] += 1

    range_counts: dict[str, StateCounts] = {}
    for r in plan.ranges:
        unlisted = r.addresses - listed[r.name]
        states = dict.fromkeys(STATES, 0)
        states.update(per_range[r.name])
        states[_FREE] += unlisted
        range_counts[r.name] = StateCounts(r.addresses, MappingProxyType(states), unlisted)

    def total(names: Iterable[str]) -> StateCounts:
        parts = [range_counts[n] for n in names]
        states = {s: sum(p.states.get(s, 0) for p in parts) for s in STATES}
        return StateCounts(
            sum(p.addresses for p in parts),
            MappingProxyType(states),
            sum(p.unlisted for p in parts),
        )

    by_kind: dict[Kind, Mapping[str, StateCounts]] = {
        "range": MappingProxyType(range_counts),
        "pool": MappingProxyType({p.name: total(r.name for r in p.ranges) for p in plan.pools}),
        "subnet": MappingProxyType(
            {s.name: total(r.name for r in plan.ranges if r.subnet == s.name) for s in plan.subnets}
        ),
        "shared-network": MappingProxyType(
            {
                n.name: total(r.name for r in plan.ranges if r.shared_network == n.name)
                for n in plan.shared_networks
            }
        ),
        "all": MappingProxyType({"": total(r.name for r in plan.ranges)}),
    }
    return FileUsage(MappingProxyType(by_kind), outside, len(db.leases))


@dataclass(frozen=True, slots=True)
class LiveTotals:
    """One server's pool counters summed up the plan (see :func:`live_totals`)."""

    by_kind: Mapping[Kind, Mapping[str, LiveCounts]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def get(self, kind: Kind, name: str) -> LiveCounts | None:
        return self.by_kind.get(kind, {}).get(name)


def live_totals(plan: Plan, pools: Mapping[str, LiveCounts | None]) -> LiveTotals:
    """Sum one server's pool counters (by pool name) into subnets, shared networks and the
    whole plan. A total any of whose pools was not read is left out, and so is a subnet
    that shares a pool with another subnet (a pool's counters cannot be split)."""

    def add(members: list[PlanPool]) -> LiveCounts | None:
        counts = [pools.get(p.name) for p in members]
        if not counts or any(c is None for c in counts):
            return None
        out = LiveCounts(0, 0, 0)
        for c in counts:
            assert c is not None
            out = out + c
        return out

    result: dict[Kind, dict[str, LiveCounts]] = {k: {} for k in KINDS}
    for p in plan.pools:
        got = pools.get(p.name)
        if got is not None:
            result["pool"][p.name] = got
    for s in plan.subnets:
        touching = [p for p in plan.pools if s.name in p.subnets]
        if all(p.subnets == {s.name} for p in touching):
            total = add(touching)
            if total is not None:
                result["subnet"][s.name] = total
    for n in plan.shared_networks:
        total = add([p for p in plan.pools if p.shared_network == n.name])
        if total is not None:
            result["shared-network"][n.name] = total
    everything = add(list(plan.pools))
    if everything is not None:
        result["all"][""] = everything
    return LiveTotals(MappingProxyType({k: MappingProxyType(v) for k, v in result.items()}))
