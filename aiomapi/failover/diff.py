"""Compare the lease databases of the two servers of a dhcpd failover pair.

Theory of operation
-------------------
Each peer of a pair keeps its own copy of every lease and tells its partner of each change
with a binding update; the partner acknowledges it or refuses it. A peer diff looks every
address up on both servers (:meth:`aiomapi.Leases.get_many` on both at once, in chunks, so
memory stays bounded whatever the number of addresses) and classifies each pair of answers
with the pure function :func:`classify`.

Not every difference is drift. The rules, checked against dhcpd 4.4.3 on a real pair (see
docs/diff-and-release.md for the tests behind each):

* **Compared for equality**: the binding state; for a lease *active on both*, the client
  (hardware type and address, client identifier) and ``ends``.
* **Normal, counted in** :attr:`DiffReport.tolerated` **but never drift**:

  - ``tstp``, ``tsfp``, ``atsfp`` (``failover-times``): each peer's own record of what it
    sent and what its partner acknowledged; they differ between the peers on most leases
    of a healthy pair (a backup lease has ``tstp`` on the primary and none on the
    secondary);
  - ``cltt``: the client's last transaction as each peer saw it;
  - ``ends`` of a lease active on both that differ by at most the MCLT
    (``ends-within-mclt``): a peer may run ahead of its partner by up to the MCLT while the
    update is on its way;
  - the client and ``ends`` of a lease that is *not* active on both (``history``): dhcpd
    keeps the last client of a free lease to give it back to the same client, and what a
    peer remembers there decides nothing.

* **Drift** is any other difference; each gets a :class:`DiffKind` with a reason and a
  remedy in plain words (``free`` on one peer and ``backup`` on the other is drift of kind
  ``ownership``: on a healthy pair both peers agree on it lease by lease, even where their
  pool counters do not).

A binding update in flight makes a difference that is gone a moment later. So a comparison
re-reads the differing addresses once after ``settle`` seconds; those that agree by then
are counted in :attr:`DiffReport.settled`, not reported. :func:`wait_consistent` keeps
re-reading until the pair agrees or a deadline passes, for use after a change.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import IPv4Address
from itertools import islice
from typing import Final, TypeAlias

from aiomapi import NEVER, Client, Lease, LeaseState, NotFound, OmapiError, TimeSentinel
from aiomapi.client import DEFAULT_BULK_RATE

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_CONCURRENCY",
    "DiffKind",
    "DiffReport",
    "Difference",
    "PeerResult",
    "Tolerated",
    "Verdict",
    "classify",
    "compare_peers",
    "peer_json",
    "wait_consistent",
]

#: Lookups pending per peer. Lease lookups go one at a time per connection (docs/pipelining.md),
#: so what is on the wire is the client's connection count; this only bounds waiting tasks.
DEFAULT_CONCURRENCY: Final = 64
#: Addresses per chunk: both peers' answers for one chunk are held at once (a few MB).
DEFAULT_CHUNK: Final = 4096

#: What one peer answered for an address.
PeerResult: TypeAlias = Lease | OmapiError
#: Called with the number of addresses compared so far.
Progress: TypeAlias = Callable[[int], None]


class DiffKind(enum.StrEnum):
    """The kinds of drift between the peers' copies of a lease."""

    #: a lease on one peer and not on the other: their dhcpd.conf ranges differ.
    MISSING = "missing"
    #: a lookup failed on one peer with another error than "not found".
    LOOKUP_ERROR = "lookup-error"
    #: expired on one peer, active on the other: the partner refused (or has not had) the
    #: early expiry.
    EXPIRY_NOT_FOLLOWED = "expiry-not-followed"
    #: released on one peer, active on the other: the partner has not taken the release.
    RELEASE_NOT_FOLLOWED = "release-not-followed"
    #: active on one peer, free/backup/reset on the other: one peer missed a binding update.
    BINDING = "binding"
    #: active on both for different clients.
    CONFLICT = "conflict"
    #: active on both for the same client, ends further apart than the MCLT.
    STALE_ENDS = "stale-ends"
    #: free on one peer, backup on the other: they disagree on who may hand the lease out.
    OWNERSHIP = "ownership"
    #: abandoned on one peer only.
    ABANDONED = "abandoned"
    #: any other pair of different states (e.g. expired on one, free on the other).
    STATE = "state"


class Tolerated(enum.StrEnum):
    """Differences that are normal on a healthy pair (see the module's docstring)."""

    FAILOVER_TIMES = "failover-times"
    CLTT = "cltt"
    ENDS_WITHIN_MCLT = "ends-within-mclt"
    HISTORY = "history"


_RESYNC = (
    "resync the secondary (aiomapi failover resync, or FailoverPair.resync: it takes every "
    "lease from the primary again)"
)

_WHY: Final[Mapping[DiffKind, str]] = {
    DiffKind.MISSING: "the address is a lease on one peer only: the peers' ranges differ",
    DiffKind.LOOKUP_ERROR: "the lease could not be read on a peer",
    DiffKind.EXPIRY_NOT_FOLLOWED: "one peer expired the lease early; its partner still has it "
    "active (dhcpd refuses an early expiry: 'invalid state transition: active to expired')",
    DiffKind.RELEASE_NOT_FOLLOWED: "one peer released the lease; its partner still has it "
    "active (the update was refused, or is queued while the peers cannot talk)",
    DiffKind.BINDING: "one peer has the lease bound to a client, the other has it available: "
    "a binding update was lost or is queued while the peers cannot talk",
    DiffKind.CONFLICT: "each peer has the address bound to a different client",
    DiffKind.STALE_ENDS: "both peers have the lease bound to the same client but with ends "
    "further apart than the MCLT: one peer missed a renewal",
    DiffKind.OWNERSHIP: "free on one peer and backup on the other: they disagree on which "
    "peer may hand it out (pool balancing moves leases; it should agree within seconds)",
    DiffKind.ABANDONED: "one peer marked the address abandoned (something answered a ping "
    "for it), the other did not",
    DiffKind.STATE: "the peers hold different binding states (an acknowledgement still "
    "pending, or lost)",
}

_REMEDY: Final[Mapping[DiffKind, str]] = {
    DiffKind.MISSING: "give both peers the same ranges in dhcpd.conf and restart the one "
    "that lacks the lease",
    DiffKind.LOOKUP_ERROR: "look the address up again; if it keeps failing, check that server",
    DiffKind.EXPIRY_NOT_FOLLOWED: "release it on the primary (the partner accepts a release "
    "of an active lease)",
    DiffKind.RELEASE_NOT_FOLLOWED: "wait for the peers to talk again; if it stays, release "
    "it on the primary again",
    DiffKind.BINDING: "wait for the peers to talk again (they exchange queued updates); if "
    f"it stays, {_RESYNC}",
    DiffKind.CONFLICT: "release it on the primary; both clients then ask again",
    DiffKind.STALE_ENDS: f"{_RESYNC}; or set the end on the primary (omapi.leases.update)",
    DiffKind.OWNERSHIP: f"none if it clears within seconds; if it stays, {_RESYNC}",
    DiffKind.ABANDONED: "find what uses the address; then release it on the primary",
    DiffKind.STATE: f"wait a few seconds and compare again; if it stays, {_RESYNC}",
}


@dataclass(frozen=True, slots=True)
class Difference:
    """Drift between the peers' copies of one lease.

    Attributes:
        ip: the address.
        kind: the classification.
        fields: the compared fields that differ (``state``, ``hardware_address``,
            ``client_id``, ``ends``), or ``lookup`` for a failed lookup.
        primary, secondary: what each peer answered (the lease, or the error).
        why: what the difference means, in plain words.
        remedy: what to do about it, in plain words.
    """

    ip: IPv4Address
    kind: DiffKind
    fields: tuple[str, ...]
    primary: PeerResult = field(repr=False)
    secondary: PeerResult = field(repr=False)
    why: str
    remedy: str

    def to_json(self) -> dict[str, object]:
        """A JSON-ready object: ``ip``, ``kind``, ``fields``, both peers' values, why, remedy."""
        return {
            "ip": str(self.ip),
            "kind": self.kind.value,
            "fields": list(self.fields),
            "primary": peer_json(self.primary),
            "secondary": peer_json(self.secondary),
            "why": self.why,
            "remedy": self.remedy,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """How :func:`classify` judged one address.

    Attributes:
        difference: the drift, or ``None`` if the peers agree.
        tolerated: the normal differences seen (only when there is no drift).
        state: the state both peers agree on (``None`` with drift or when absent).
        absent: the address is a lease on neither peer.
    """

    difference: Difference | None = None
    tolerated: tuple[Tolerated, ...] = ()
    state: LeaseState | int | None = None
    absent: bool = False


@dataclass(frozen=True, slots=True)
class DiffReport:
    """The result of a peer comparison.

    Attributes:
        compared: addresses looked up on both peers.
        leases: addresses that are a lease on at least one peer.
        differences: the drift, one entry per address, in address order.
        counts: number of differences per kind (``DiffKind`` values).
        tolerated: number of leases per normal difference (``Tolerated`` values).
        states: leases both peers agree on, per binding state name.
        settled: differences seen at first that were gone when re-read (updates in flight).
        mclt: the tolerance used for ``ends``, seconds (``None``: ends must be equal).
        failover: the local failover states of primary and secondary when they were read.
        elapsed: seconds the comparison took.
    """

    compared: int
    leases: int
    differences: tuple[Difference, ...]
    counts: Mapping[str, int]
    tolerated: Mapping[str, int]
    states: Mapping[str, int]
    settled: int
    mclt: float | None
    failover: tuple[str, str] | None
    elapsed: float

    @property
    def consistent(self) -> bool:
        """Whether the peers agree on every lease (no drift)."""
        return not self.differences

    def to_json(self) -> dict[str, object]:
        """A JSON-ready object; ``compared`` and ``differences`` (each with ``ip``) are stable."""
        out: dict[str, object] = {
            "consistent": self.consistent,
            "compared": self.compared,
            "leases": self.leases,
            "differences": [d.to_json() for d in self.differences],
            "counts": dict(self.counts),
            "tolerated": dict(self.tolerated),
            "states": dict(self.states),
            "settled": self.settled,
            "mclt": self.mclt,
            "elapsed_s": round(self.elapsed, 3),
        }
        if self.failover is not None:
            out["failover"] = {"primary": self.failover[0], "secondary": self.failover[1]}
        return out


# ----------------------------------------------------------------- classification


def _state_name(state: LeaseState | int) -> str:
    return state.dhcpd_name if isinstance(state, LeaseState) else str(state)


def _time_json(value: datetime | TimeSentinel) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return "never" if value is NEVER else None


def peer_json(result: PeerResult) -> dict[str, object]:
    """One peer's answer as JSON: the compared fields, or ``{"error": ...}``."""
    if isinstance(result, OmapiError):
        return {"error": f"{type(result).__name__}: {result}"}
    cid = result.dhcp_client_identifier
    return {
        "state": _state_name(result.state),
        "hardware_address": str(result.hardware_address) if result.hardware_address else None,
        "client_id": cid.hex(":") if cid is not None else None,
        "ends": _time_json(result.ends),
        "tstp": _time_json(result.tstp),
        "tsfp": _time_json(result.tsfp),
        "atsfp": _time_json(result.atsfp),
        "cltt": _time_json(result.cltt),
    }


def _seconds_apart(a: datetime | TimeSentinel, b: datetime | TimeSentinel) -> float:
    """How far apart two lease times are: 0 if equal, inf if only one is a point in time."""
    if a == b:
        return 0.0
    if isinstance(a, datetime) and isinstance(b, datetime):
        return abs((a - b).total_seconds())
    return float("inf")


def _client(lease: Lease) -> tuple[object, ...]:
    mac = lease.hardware_address.packed if lease.hardware_address is not None else None
    return (lease.hardware_type if mac is not None else None, mac)


_ENDED: Final[Mapping[LeaseState | int, DiffKind]] = {
    LeaseState.EXPIRED: DiffKind.EXPIRY_NOT_FOLLOWED,
    LeaseState.RELEASED: DiffKind.RELEASE_NOT_FOLLOWED,
    LeaseState.ABANDONED: DiffKind.ABANDONED,
    LeaseState.FREE: DiffKind.BINDING,
    LeaseState.BACKUP: DiffKind.BINDING,
    LeaseState.RESET: DiffKind.BINDING,
}
_AVAILABLE: Final = frozenset({LeaseState.FREE, LeaseState.BACKUP})


def _state_kind(p: LeaseState | int, s: LeaseState | int) -> DiffKind:
    if p is LeaseState.ACTIVE or s is LeaseState.ACTIVE:
        return _ENDED.get(s if p is LeaseState.ACTIVE else p, DiffKind.STATE)
    if LeaseState.ABANDONED in (p, s):
        return DiffKind.ABANDONED
    if {p, s} == _AVAILABLE:
        return DiffKind.OWNERSHIP
    return DiffKind.STATE


def _remedy(kind: DiffKind, p: PeerResult, s: PeerResult) -> str:
    if kind is DiffKind.MISSING:
        side = "secondary" if isinstance(s, NotFound) else "primary"
        return f"{_REMEDY[kind]} (the {side})"
    if kind is DiffKind.LOOKUP_ERROR:
        side = (
            "primary" if isinstance(p, OmapiError) and not isinstance(p, NotFound) else "secondary"
        )
        return f"{_REMEDY[kind]} (the {side})"
    return _REMEDY[kind]


def classify(
    ip: IPv4Address, primary: PeerResult, secondary: PeerResult, *, mclt: float | None = None
) -> Verdict:
    """Judge the two peers' answers for one address (pure; the rules of the module's doc).

    Args:
        ip: the address.
        primary, secondary: what each peer answered.
        mclt: tolerance for the ``ends`` of a lease active on both, seconds; ``None``: none.
    """
    p_missing, s_missing = isinstance(primary, NotFound), isinstance(secondary, NotFound)
    if p_missing and s_missing:
        return Verdict(absent=True)
    if not isinstance(primary, Lease) or not isinstance(secondary, Lease):
        failed = (isinstance(primary, OmapiError) and not p_missing) or (
            isinstance(secondary, OmapiError) and not s_missing
        )
        lookup = DiffKind.LOOKUP_ERROR if failed else DiffKind.MISSING
        return Verdict(_difference(ip, lookup, ("lookup",), primary, secondary))
    kind: DiffKind | None = None
    names = []
    if primary.state != secondary.state:
        names.append("state")
    if _client(primary) != _client(secondary):
        names.append("hardware_address")
    if primary.dhcp_client_identifier != secondary.dhcp_client_identifier:
        names.append("client_id")
    apart = _seconds_apart(primary.ends, secondary.ends)
    if apart:
        names.append("ends")
    differing = tuple(names)

    tolerated: list[Tolerated] = []
    if primary.state != secondary.state:
        kind = _state_kind(primary.state, secondary.state)
    elif primary.state is LeaseState.ACTIVE:
        if "hardware_address" in differing or "client_id" in differing:
            kind = DiffKind.CONFLICT
        elif apart > (mclt or 0):
            kind = DiffKind.STALE_ENDS
        elif apart:
            tolerated.append(Tolerated.ENDS_WITHIN_MCLT)
    elif differing:
        tolerated.append(Tolerated.HISTORY)
    if kind is not None:
        return Verdict(_difference(ip, kind, differing, primary, secondary))
    if (primary.tstp, primary.tsfp, primary.atsfp) != (
        secondary.tstp,
        secondary.tsfp,
        secondary.atsfp,
    ):
        tolerated.append(Tolerated.FAILOVER_TIMES)
    if primary.cltt != secondary.cltt:
        tolerated.append(Tolerated.CLTT)
    return Verdict(tolerated=tuple(tolerated), state=primary.state)


def _difference(
    ip: IPv4Address,
    kind: DiffKind,
    fields: tuple[str, ...],
    primary: PeerResult,
    secondary: PeerResult,
) -> Difference:
    return Difference(
        ip, kind, fields, primary, secondary, _WHY[kind], _remedy(kind, primary, secondary)
    )


# ----------------------------------------------------------------- comparison


class _Tally:
    """Verdicts so far; a re-read replaces an address's earlier verdict."""

    def __init__(self, mclt: float | None) -> None:
        self.mclt = mclt
        self.compared = 0
        self.leases = 0
        self.drift: dict[IPv4Address, Difference] = {}
        self.tolerated: Counter[str] = Counter()
        self.states: Counter[str] = Counter()
        self.settled = 0

    def add(
        self, ip: IPv4Address, primary: PeerResult, secondary: PeerResult, *, again: bool
    ) -> None:
        verdict = classify(ip, primary, secondary, mclt=self.mclt)
        if not again:
            self.compared += 1
            self.leases += not verdict.absent
        elif verdict.absent:  # gone from both since the first read
            self.leases -= 1
        if verdict.difference is not None:
            self.drift[ip] = verdict.difference
            return
        if again:
            self.settled += 1
        self.tolerated.update(t.value for t in verdict.tolerated)
        if verdict.state is not None:
            self.states[_state_name(verdict.state)] += 1

    def report(self, started: float, failover: tuple[str, str] | None) -> DiffReport:
        differences = tuple(self.drift[ip] for ip in sorted(self.drift))
        return DiffReport(
            compared=self.compared,
            leases=self.leases,
            differences=differences,
            counts=dict(Counter(d.kind.value for d in differences)),
            tolerated=dict(self.tolerated),
            states=dict(self.states),
            settled=self.settled,
            mclt=self.mclt,
            failover=failover,
            elapsed=time.monotonic() - started,
        )


def _chunks(ips: Iterable[IPv4Address | str], size: int) -> Iterator[list[IPv4Address]]:
    source = iter(ips)
    while chunk := [IPv4Address(ip) for ip in islice(source, size)]:
        yield chunk


async def _read(
    client: Client, ips: Sequence[IPv4Address], concurrency: int, rate: float | None
) -> dict[IPv4Address, PeerResult]:
    out: dict[IPv4Address, PeerResult] = {}
    async for ip, result in client.leases.get_many(ips=ips, concurrency=concurrency, rate=rate):
        out[ip] = result
    return out


async def _read_both(
    primary: Client,
    secondary: Client,
    ips: Sequence[IPv4Address],
    concurrency: int,
    rate: float | None,
) -> tuple[dict[IPv4Address, PeerResult], dict[IPv4Address, PeerResult]]:
    async with asyncio.TaskGroup() as group:
        first = group.create_task(_read(primary, ips, concurrency, rate))
        second = group.create_task(_read(secondary, ips, concurrency, rate))
    return first.result(), second.result()


async def _failover_states(
    primary: Client, secondary: Client, peer: str
) -> tuple[tuple[str, str], int]:
    """The local states of both peers, and the MCLT the primary announces."""
    p, s = await asyncio.gather(primary.failover.get(peer), secondary.failover.get(peer))

    def name(state: object) -> str:
        return str(getattr(state, "dhcpd_name", state))

    return (name(p.local_state), name(s.local_state)), p.mclt


async def _reread(
    tally: _Tally,
    primary: Client,
    secondary: Client,
    concurrency: int,
    chunk: int,
    rate: float | None,
) -> None:
    for ips in _chunks(sorted(tally.drift), chunk):
        first, second = await _read_both(primary, secondary, ips, concurrency, rate)
        for ip in ips:
            del tally.drift[ip]
            tally.add(ip, first[ip], second[ip], again=True)


async def _first_pass(
    primary: Client,
    secondary: Client,
    ips: Iterable[IPv4Address | str],
    *,
    concurrency: int,
    mclt: float | None,
    peer: str | None,
    chunk: int,
    progress: Progress | None,
    rate: float | None,
) -> tuple[_Tally, tuple[str, str] | None]:
    if concurrency < 1 or chunk < 1:
        raise ValueError("concurrency and chunk must be at least 1")
    failover = None
    if peer is not None:
        failover, announced = await _failover_states(primary, secondary, peer)
        if mclt is None:
            mclt = announced
    tally = _Tally(mclt)
    for ips_chunk in _chunks(ips, chunk):
        first, second = await _read_both(primary, secondary, ips_chunk, concurrency, rate)
        for ip in ips_chunk:
            tally.add(ip, first[ip], second[ip], again=False)
        if progress is not None:
            progress(tally.compared)
    return tally, failover


async def compare_peers(
    primary: Client,
    secondary: Client,
    ips: Iterable[IPv4Address | str],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    mclt: float | None = None,
    settle: float = 1.0,
    peer: str | None = None,
    chunk: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    rate: float | None = DEFAULT_BULK_RATE,
) -> DiffReport:
    """Compare the leases at ``ips`` on both peers of a failover pair.

    Both peers are read at once, ``chunk`` addresses at a time. Differences found are read
    again once after ``settle`` seconds, and kept only if they are still there.

    Args:
        primary, secondary: clients of the two servers (use ``Client(connections=8..16)``:
            lease lookups go one at a time per connection).
        ips: the addresses (any iterable, also a lazy one; see :mod:`aiomapi.ranges`).
        concurrency: lookups pending per peer.
        mclt: how far apart (seconds) the ``ends`` of a lease active on both may be;
            ``None``: the primary's MCLT if ``peer`` is given, else they must be equal.
        settle: seconds to wait before re-reading the differences; 0: no re-read.
        peer: the failover peer name; if given, both peers' failover states are read and
            reported.
        chunk: addresses per chunk.
        progress: called with the number compared so far, after each chunk.
        rate: at most this many lookups a second on each server, so that a diff leaves
            dhcpd time for DHCP (:data:`aiomapi.client.DEFAULT_BULK_RATE`); ``None``: no
            limit but ``concurrency`` (and the clients' own ``max_rate``).

    Returns:
        The report.

    Raises:
        ValueError: an address that is not IPv4, or a bad ``concurrency``/``chunk``.
        OmapiError: reading the failover states failed (per-lease errors are differences).
    """
    started = time.monotonic()
    tally, failover = await _first_pass(
        primary,
        secondary,
        ips,
        concurrency=concurrency,
        mclt=mclt,
        peer=peer,
        chunk=chunk,
        progress=progress,
        rate=rate,
    )
    if settle > 0 and tally.drift:
        await asyncio.sleep(settle)
        await _reread(tally, primary, secondary, concurrency, chunk, rate)
    return tally.report(started, failover)


async def wait_consistent(
    primary: Client,
    secondary: Client,
    ips: Iterable[IPv4Address | str],
    *,
    timeout: float = 30.0,
    interval: float = 0.5,
    concurrency: int = DEFAULT_CONCURRENCY,
    mclt: float | None = None,
    peer: str | None = None,
    chunk: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    rate: float | None = DEFAULT_BULK_RATE,
) -> DiffReport:
    """Compare, then re-read the differences every ``interval`` s until none is left.

    For use after a change (a bulk release, a reconnect): the partner follows within
    moments when it follows at all, so what is left at ``timeout`` is drift.

    Args:
        timeout: seconds after the first pass to keep re-reading; the report then shows
            what is left.
        interval: seconds between re-reads.
        Others: as for :func:`compare_peers`.

    Raises:
        as :func:`compare_peers`.
    """
    started = time.monotonic()
    tally, failover = await _first_pass(
        primary,
        secondary,
        ips,
        concurrency=concurrency,
        mclt=mclt,
        peer=peer,
        chunk=chunk,
        progress=progress,
        rate=rate,
    )
    deadline = time.monotonic() + timeout
    while tally.drift and time.monotonic() < deadline:
        await asyncio.sleep(max(0.0, min(interval, deadline - time.monotonic())))
        await _reread(tally, primary, secondary, concurrency, chunk, rate)
    return tally.report(started, failover)
