"""Sets of IPv4 addresses to act on: CIDR blocks, ``A-B`` ranges, files, a dhcpd.conf's pools.

Theory of operation
-------------------
Bulk commands (a peer diff, a bulk release) take their addresses from one of four places:
address specs on the command line (``10.0.0.0/24``, ``10.0.0.5-10.0.0.9``, ``10.0.0.7``), a
file of such specs, a lease file (every address it declares), or the ``range`` statements of a
dhcpd.conf. Whatever the source, the result is an :class:`AddressSet`: sorted, merged,
inclusive intervals of 32-bit integers. So a count is exact (an address given twice is looked
up once), membership is a binary search, and iterating a /16 costs memory for one address at
a time, not 65,536 objects.

A CIDR block means every address in it, its network and broadcast addresses included: the set
says which addresses to look up, and an address that is not a lease is simply not found.

Sets larger than :data:`MAX_ADDRESSES` are refused: a typo such as ``10.0.0.0/8`` for ``/24``
would otherwise start sixteen million lookups.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from ipaddress import AddressValueError, IPv4Address, IPv4Network, NetmaskValueError
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from aiomapi import LeaseState
    from aiomapi.config import Config

__all__ = [
    "MAX_ADDRESSES",
    "AddressSet",
    "from_config",
    "from_ips_file",
    "from_leases_file",
    "parse_spec",
]

#: The most addresses a set may hold: a /8 (dhcpd's largest practical pools are far smaller;
#: at ~10,000 lookups/s a /8 is already half an hour of lookups).
MAX_ADDRESSES: Final = 1 << 24


@dataclass(frozen=True, slots=True)
class AddressSet:
    """A set of IPv4 addresses as sorted, disjoint, non-adjacent inclusive intervals.

    Build one with :meth:`of` (or the ``from_*`` functions); iterate it in ascending order.

    Attributes:
        intervals: ``(low, high)`` pairs of 32-bit integers, ``low <= high``, sorted, merged.
    """

    intervals: tuple[tuple[int, int], ...] = ()

    @classmethod
    def of(cls, intervals: Iterable[tuple[int, int]], *, limit: int = MAX_ADDRESSES) -> AddressSet:
        """The union of ``(low, high)`` integer intervals (inclusive, either order).

        Raises:
            ValueError: the union holds more than ``limit`` addresses.
        """
        merged: list[tuple[int, int]] = []
        for low, high in sorted((min(a, b), max(a, b)) for a, b in intervals):
            if merged and low <= merged[-1][1] + 1:
                if high > merged[-1][1]:
                    merged[-1] = (merged[-1][0], high)
            else:
                merged.append((low, high))
        result = cls(tuple(merged))
        if len(result) > limit:
            raise ValueError(
                f"{len(result):,} addresses is more than the limit of {limit:,}; narrow the ranges"
            )
        return result

    def __len__(self) -> int:
        return sum(high - low + 1 for low, high in self.intervals)

    def __bool__(self) -> bool:
        return bool(self.intervals)

    def __iter__(self) -> Iterator[IPv4Address]:
        for low, high in self.intervals:
            for n in range(low, high + 1):
                yield IPv4Address(n)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            try:
                item = IPv4Address(item)
            except AddressValueError:
                return False
        if not isinstance(item, IPv4Address):
            return False
        n = int(item)
        i = bisect.bisect_right(self.intervals, (n, 0xFFFFFFFF))
        return i > 0 and self.intervals[i - 1][0] <= n <= self.intervals[i - 1][1]

    def __or__(self, other: AddressSet) -> AddressSet:
        return AddressSet.of((*self.intervals, *other.intervals))

    def __str__(self) -> str:
        parts = [
            str(IPv4Address(low)) if low == high else f"{IPv4Address(low)}-{IPv4Address(high)}"
            for low, high in self.intervals
        ]
        return ", ".join(parts) if parts else "(no addresses)"

    @classmethod
    def parse(cls, specs: Iterable[str], *, limit: int = MAX_ADDRESSES) -> AddressSet:
        """The union of address specs (see :func:`parse_spec`).

        Raises:
            ValueError: a spec that does not read, or more than ``limit`` addresses.
        """
        return cls.of((parse_spec(spec) for spec in specs), limit=limit)


def parse_spec(spec: str) -> tuple[int, int]:
    """One address spec as an inclusive ``(low, high)`` interval of integers.

    Accepted: ``A.B.C.D/N`` (a CIDR block; host bits must be zero), ``A.B.C.D-E.F.G.H``
    (either order), and a single address.

    Raises:
        ValueError: the spec is none of these.
    """
    text = spec.strip()
    try:
        if "/" in text:
            net = IPv4Network(text, strict=True)
            return int(net.network_address), int(net.broadcast_address)
        if "-" in text:
            first, _, last = text.partition("-")
            a, b = int(IPv4Address(first.strip())), int(IPv4Address(last.strip()))
            return min(a, b), max(a, b)
        n = int(IPv4Address(text))
    except (AddressValueError, NetmaskValueError, ValueError) as exc:
        raise ValueError(
            f"not an address, A.B.C.D/N block or A-B range: {spec!r} ({exc})"
        ) from None
    return n, n


def from_ips_file(path: str | PathLike[str], *, limit: int = MAX_ADDRESSES) -> AddressSet:
    """The addresses of a text file: one spec per line (see :func:`parse_spec`).

    Blank lines and everything after ``#`` are ignored.

    Raises:
        ValueError: a line that does not read (its number is in the message), or too many
            addresses.
        OSError: the file cannot be read.
    """
    intervals: list[tuple[int, int]] = []
    with Path(path).open(encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            text = line.partition("#")[0].strip()
            if not text:
                continue
            try:
                intervals.append(parse_spec(text))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
    return AddressSet.of(intervals, limit=limit)


def from_leases_file(
    path: str | PathLike[str],
    *,
    states: Iterable[LeaseState] | None = None,
    limit: int = MAX_ADDRESSES,
) -> AddressSet:
    """Every address a dhcpd.leases file declares (its last declaration of each counts).

    Args:
        path: the lease file.
        states: keep only leases whose ``binding state`` in the file is one of these. The file
            may be behind the running server: filter on the server's state where it matters.
        limit: the most addresses.

    Raises:
        aiomapi.leasefile.LeaseFileError: the file does not parse.
        OSError: the file cannot be read.
        ValueError: too many addresses.
    """
    from aiomapi.leasefile import load_leases

    database = load_leases(path)
    wanted = None if states is None else frozenset(states)
    return AddressSet.of(
        (
            (int(ip), int(ip))
            for ip, lease in database.leases.items()
            if wanted is None or lease.binding_state in wanted
        ),
        limit=limit,
    )


def from_config(
    config: Config, *, peer: str | None = None, limit: int = MAX_ADDRESSES
) -> AddressSet:
    """The addresses of a configuration's dynamic ranges.

    Args:
        config: a read dhcpd.conf (:func:`aiomapi.config.load_config`).
        peer: only the ranges of pools under this failover peer (the addresses the pair
            shares); ``None``: every range, in pools or directly in subnets.
        limit: the most addresses.

    Raises:
        ValueError: too many addresses.
    """
    if peer is None:
        ranges = config.ranges
    else:
        ranges = tuple(
            r for pool in config.pools if pool.failover_peer == peer for r in pool.ranges
        )
    return AddressSet.of(((int(r.low), int(r.high)) for r in ranges), limit=limit)
