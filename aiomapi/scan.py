"""Every lease in a set of addresses, read live from dhcpd and filtered: :func:`scan_leases`.

Theory of operation
-------------------
OMAPI has no way to list leases: an object is opened by its keys (an address, a hardware
address, a client identifier) and by nothing else. So a scan looks every address of the
ranges up, one OPEN each, and keeps what dhcpd has. An address that is not in any of its
pools answers ``not found``; that is the normal answer outside the pools and is counted,
not reported (a CIDR block includes its network and broadcast addresses, which are seldom
in a pool).

Lease lookups go one at a time per connection (docs/pipelining.md: the reply of a lease
OPEN has no size bound, so the in-flight budget admits it only last), so the lookups at
once come from the client's connections: use ``Client(connections=16)`` or so. The lookups
run through :meth:`aiomapi.Leases.get_many` (the client's batch path), ``concurrency``
pending at once, at most ``rate`` a second: :data:`~aiomapi.client.DEFAULT_BULK_RATE`
unless the caller says otherwise, so that a scan leaves dhcpd time for its DHCP service.

Leases are yielded in address order (the order of ``addresses``) whichever lookup finishes
first. Filters are applied here, after the lookup, since dhcpd cannot filter: every address
costs one lookup whatever the filters.

Any error other than ``NotFound`` (a timeout, a lost connection, a reply that does not
decode) ends the scan: it is raised from the ``async for`` after the lookups still running
are cancelled. A scan that silently skipped the leases it could not read would give a wrong
inventory.
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Iterable, Sized
from contextlib import aclosing
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Final, TypeAlias

from aiomapi import Client, Lease, LeaseState, MacAddress, NotFound, OmapiError
from aiomapi._asyncio.pacing import BURST_SECONDS as BURST_SECONDS
from aiomapi._sansio.tokens import TokenBucket as _Bucket
from aiomapi._sansio.tokens import check_rate
from aiomapi.client import DEFAULT_BULK_RATE

__all__ = [
    "BURST_SECONDS",
    "DEFAULT_BULK_RATE",
    "DEFAULT_CONCURRENCY",
    "LeaseFilter",
    "ScanStats",
    "TokenBucket",
    "parse_mac_prefix",
    "scan_leases",
]

#: Lookups pending at once. Lease lookups go one at a time per connection, so what is on
#: the wire is the client's connection count; 64 keeps 16 connections busy with room to
#: spare (docs/benchmarks.md: get_many at 64 is the fastest setting measured).
DEFAULT_CONCURRENCY: Final = 64

#: Lease states to keep: members, their numbers, or dhcpd's names (``"active"``).
StateSpec: TypeAlias = Iterable[LeaseState | int | str] | LeaseState | str
#: Hardware address prefixes: ``"00:11:22"``, ``"001122"``, ``b"\\x00\\x11\\x22"``, or several.
MacPrefixSpec: TypeAlias = Iterable[str | bytes] | str | bytes
#: Host name patterns (:mod:`fnmatch`, case-insensitive): one or several.
HostnameSpec: TypeAlias = Iterable[str] | str

_OCTETS = re.compile(r"[0-9a-f]{1,2}(?::[0-9a-f]{1,2})+|[0-9a-f]{1,2}(?:-[0-9a-f]{1,2})+")
_DIGITS = re.compile(r"(?:[0-9a-f]{2})+|[0-9a-f]{4}(?:\.[0-9a-f]{4})*\.(?:[0-9a-f]{2}){1,2}")


def parse_mac_prefix(text: str | bytes) -> bytes:
    """The octets of a hardware address prefix.

    Accepted, as for :class:`~aiomapi.MacAddress` but shorter: whole octets separated by
    ``:`` or ``-`` (``00:11:22``, ``0:11:22``); Cisco's dotted groups (``0011.22``); an even
    number of bare hex digits (``001122``); or the octets themselves as ``bytes``.

    Raises:
        ValueError: not a prefix of whole octets, or longer than a hardware address.
    """
    if isinstance(text, bytes):
        octets = text
    else:
        spelled = text.strip().lower()
        if _OCTETS.fullmatch(spelled):
            octets = bytes(int(p, 16) for p in re.split("[:-]", spelled))
        elif _DIGITS.fullmatch(spelled):
            octets = bytes.fromhex(spelled.replace(".", ""))
        else:
            raise ValueError(
                f"not a hardware address prefix: {text!r} (whole octets: 00:11:22 or 001122)"
            )
    if not octets:
        raise ValueError("an empty hardware address prefix matches every lease: leave it out")
    MacAddress(octets)  # a prefix no longer than a whole address: MacAddress has the limit
    return octets


def _states(spec: StateSpec) -> frozenset[LeaseState]:
    items: Iterable[LeaseState | int | str] = [spec] if isinstance(spec, str | LeaseState) else spec
    found: set[LeaseState] = set()
    for item in items:
        if isinstance(item, str):
            found.update(LeaseState.from_name(n) for n in item.split(",") if n.strip())
        elif isinstance(item, int) and not isinstance(item, bool) and item in _STATE_NUMBERS:
            found.add(LeaseState(item))
        else:
            raise ValueError(f"not a lease state: {item!r}")
    if not found:
        raise ValueError("no lease state given")
    return frozenset(found)


_STATE_NUMBERS: Final = frozenset(int(s) for s in LeaseState)


@dataclass(frozen=True, slots=True)
class LeaseFilter:
    """Which leases a scan keeps. Each kind of filter given must match (AND); within a
    kind, any value may (OR). A filter left out matches every lease.

    Build one with :meth:`of`.

    Attributes:
        states: binding states to keep; ``None``: any.
        mac_prefixes: hardware address prefixes (octets); a lease without a hardware
            address matches none.
        hostnames: compiled :mod:`fnmatch` patterns for the client hostname, matched
            case-insensitively; a lease without one matches none. dhcpd drops the
            client hostname of a lease when it leaves ``active``.
    """

    states: frozenset[LeaseState] | None = None
    mac_prefixes: tuple[bytes, ...] = ()
    hostnames: tuple[re.Pattern[str], ...] = field(default=(), compare=False)

    @classmethod
    def of(
        cls,
        *,
        states: StateSpec | None = None,
        mac_prefix: MacPrefixSpec | None = None,
        hostname: HostnameSpec | None = None,
    ) -> LeaseFilter:
        """A filter from the arguments of :func:`scan_leases` (see there).

        Raises:
            ValueError: an unknown state name, a prefix that does not read, an empty list.
        """
        prefixes: tuple[bytes, ...] = ()
        if mac_prefix is not None:
            items = [mac_prefix] if isinstance(mac_prefix, str | bytes) else list(mac_prefix)
            prefixes = tuple(
                parse_mac_prefix(part)
                for item in items
                for part in (item.split(",") if isinstance(item, str) else [item])
                if not isinstance(part, str) or part.strip()
            )
            if not prefixes:
                raise ValueError("no hardware address prefix given")
        patterns: tuple[re.Pattern[str], ...] = ()
        if hostname is not None:
            names = [hostname] if isinstance(hostname, str) else list(hostname)
            if not names:
                raise ValueError("no host name pattern given")
            patterns = tuple(re.compile(fnmatch.translate(n), re.IGNORECASE) for n in names)
        return cls(
            states=None if states is None else _states(states),
            mac_prefixes=prefixes,
            hostnames=patterns,
        )

    @property
    def everything(self) -> bool:
        """Whether this filter keeps every lease."""
        return self.states is None and not self.mac_prefixes and not self.hostnames

    def matches(self, lease: Lease) -> bool:
        """Whether ``lease`` passes every filter."""
        if self.states is not None and lease.state not in self.states:
            return False
        if self.mac_prefixes:
            mac = lease.hardware_address
            if mac is None or not mac.packed.startswith(self.mac_prefixes):
                return False
        if self.hostnames:
            name = lease.client_hostname
            if name is None or not any(p.match(name) for p in self.hostnames):
                return False
        return True


class TokenBucket:
    """At most ``rate`` acquisitions a second, with bursts of at most ``burst``, for tasks.

    The arithmetic is :class:`aiomapi._sansio.tokens.TokenBucket`'s; this adds the waiting.
    The bucket holds up to ``burst`` tokens (default: :data:`BURST_SECONDS` worth of
    ``rate``, at least one) and refills continuously at ``rate`` tokens a second. It starts
    empty, not full, so that N acquisitions take N / ``rate`` seconds at least and their
    average never exceeds ``rate``. :meth:`take` waits until a token is there and takes it;
    waiters are served in the order they came (an :class:`asyncio.Lock` is fair). A scan
    itself paces its lookups on the batch path and does not need this class.

    Args:
        rate: tokens per second, above 0.
        burst: the most tokens held, at least 1.
        clock: monotonic seconds (default :func:`time.monotonic`; tests may pass their own).

    Raises:
        ValueError: ``rate`` not above 0, or ``burst`` below 1.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be above 0, got {rate}")
        capacity = max(1.0, rate * BURST_SECONDS) if burst is None else burst
        self._bucket = _Bucket(rate, capacity, clock())
        self.rate = self._bucket.rate
        self.capacity = self._bucket.capacity
        self._clock = clock
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait for a token and take it."""
        async with self._lock:
            bucket, clock = self._bucket, self._clock
            while True:
                now = clock()
                if bucket.take(now):
                    return
                # Sleep until the missing fraction of a token has come in: one or two passes
                # (one more if the sleep ends early, or on a clock that does not move).
                await asyncio.sleep(bucket.delay(now))


@dataclass(slots=True)
class ScanStats:
    """What a scan has done so far; :func:`scan_leases` fills it as it goes.

    Attributes:
        addresses: how many addresses the scan covers, if known (``len(addresses)``).
        looked_up: addresses looked up so far.
        not_found: of those, addresses dhcpd has no lease for (not in any pool).
        leases: of those, leases read (any state, before the filters).
        matched: leases that passed the filters.
        states: leases read, by dhcpd's state name (an unknown state by its number).
        started: :func:`time.monotonic` when the scan started.
        finished: when it ended (``None`` while it runs).
    """

    addresses: int | None = None
    looked_up: int = 0
    not_found: int = 0
    leases: int = 0
    matched: int = 0
    states: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the start (until the end, once it ended)."""
        end = time.monotonic() if self.finished is None else self.finished
        return end - self.started

    @property
    def rate(self) -> float:
        """Lookups per second so far."""
        return self.looked_up / max(self.elapsed, 1e-9)

    def to_json(self) -> dict[str, object]:
        """The counts as a JSON object."""
        return {
            "addresses": self.addresses,
            "looked_up": self.looked_up,
            "not_found": self.not_found,
            "leases": self.leases,
            "matched": self.matched,
            "states": dict(self.states.most_common()),
            "seconds": round(self.elapsed, 3),
        }


def scan_leases(
    client: Client,
    addresses: Iterable[IPv4Address | str],
    *,
    states: StateSpec | None = None,
    mac_prefix: MacPrefixSpec | None = None,
    hostname: HostnameSpec | None = None,
    rate: float | None = DEFAULT_BULK_RATE,
    concurrency: int = DEFAULT_CONCURRENCY,
    stats: ScanStats | None = None,
    progress: Callable[[ScanStats], None] | None = None,
) -> AsyncGenerator[Lease, None]:
    """Look every address up and yield the leases that pass the filters, in address order.

    ``async for lease in scan_leases(omapi, AddressSet.parse(["10.0.0.0/24"]), states="active")``

    Args:
        client: a connected (or connecting) client; ``Client(connections=16)`` spreads the
            lookups, which go one at a time per connection.
        addresses: the addresses, e.g. an :class:`aiomapi.ranges.AddressSet`; pulled lazily.
        states: keep only leases in these binding states (members, numbers, or dhcpd's
            names such as ``"active"``; a string may list several: ``"active,free"``).
        mac_prefix: keep only leases whose hardware address starts with this prefix (or one
            of these), e.g. ``"00:11:22"``.
        hostname: keep only leases whose client hostname matches this :mod:`fnmatch`
            pattern (or one of these), case-insensitively, e.g. ``"printer-*"``.
        rate: at most this many lookups a second (:data:`DEFAULT_BULK_RATE` unless given);
            ``None``: as fast as ``concurrency`` and the connections allow. The client's
            ``max_rate`` applies as well.
        concurrency: lookups pending at once.
        stats: a :class:`ScanStats` to fill (pass one to read the counts after the scan).
        progress: called with the stats after every lookup (keep it cheap: it may be
            called tens of thousands of times a second).

    Yields:
        The :class:`~aiomapi.Lease` of each address that has one and passes the filters.

    Raises:
        ValueError: a filter that does not read, ``rate`` not above 0, ``concurrency``
            below 1 (raised here, before the first lookup).
        OmapiError: any lookup error but ``NotFound`` (raised from the ``async for``; the
            lookups still running are cancelled first).
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    keep = LeaseFilter.of(states=states, mac_prefix=mac_prefix, hostname=hostname)
    checked = check_rate(rate)
    return _scan(client, addresses, keep, checked, concurrency, stats or ScanStats(), progress)


async def _scan(
    client: Client,
    addresses: Iterable[IPv4Address | str],
    keep: LeaseFilter,
    rate: float | None,
    concurrency: int,
    stats: ScanStats,
    progress: Callable[[ScanStats], None] | None,
) -> AsyncGenerator[Lease, None]:
    if stats.addresses is None and isinstance(addresses, Sized):
        stats.addresses = len(addresses)
    stats.started = time.monotonic()
    stats.finished = None
    results = client.leases.get_many(
        ips=addresses, concurrency=concurrency, ordered=True, rate=rate
    )
    try:
        async with aclosing(results):
            async for _ip, result in results:
                stats.looked_up += 1
                if isinstance(result, NotFound):
                    stats.not_found += 1
                elif isinstance(result, OmapiError):
                    raise result
                else:
                    stats.leases += 1
                    state = result.state
                    stats.states[
                        state.dhcpd_name if isinstance(state, LeaseState) else str(state)
                    ] += 1
                    if keep.matches(result):
                        stats.matched += 1
                        if progress is not None:
                            progress(stats)
                        yield result
                        continue
                if progress is not None:
                    progress(stats)
    finally:
        stats.finished = time.monotonic()
