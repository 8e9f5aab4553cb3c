"""Release or expire many leases, one result per lease.

Theory of operation
-------------------
:func:`release_many` and :func:`expire_many` run one small job per address, at most
``concurrency`` at a time, and yield a :class:`LeaseOutcome` as each finishes: read the lease
(its state before), skip it if its state is not in ``state_filter``, else change it with
:meth:`aiomapi.Leases.release` or :meth:`aiomapi.Leases.expire` (their docstrings say what is
sent), which return the lease as the server has it right after (its state after). One
failure never aborts the batch: a lease that is not there is ``not-found``, any other OMAPI
error is ``refused`` with the error attached. Addresses are pulled from the iterable as jobs
start, so a generator of a million addresses costs memory for ``concurrency`` of them.

``rate`` caps the OMAPI requests a second (:data:`~aiomapi.client.DEFAULT_BULK_RATE` unless
given; ``None``: no cap of its own), so that a bulk run leaves dhcpd time for its DHCP
service: each job takes a token before its lookup and three more before its change (the
lookup by handle, the UPDATE and the read back), so a job costs what it sends.

On a failover pair the state right after is not the end of the story, and these functions
cannot see the partner:

* a lease *expired* early on a peer stays ``expired`` until the partner acknowledges, and
  dhcpd 4.4.3's partner refuses that while it holds the lease for more than about a minute:
  :attr:`LeaseOutcome.pending` marks every result left ``expired`` or ``released``;
* a release on the *secondary* returns ``free``, and then both peers may show ``backup``
  (the secondary's free leases are backup leases).

So run them on the primary and then compare the peers over the changed addresses with
:func:`aiomapi.failover.diff.wait_consistent`; :class:`Summary` collects the counts a report
needs. docs/diff-and-release.md has the measurements.
"""

from __future__ import annotations

import asyncio
import enum
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias

from aiomapi._asyncio.bulk import DEFAULT_BULK_RATE
from aiomapi._asyncio.pacing import Pacer, check_rate
from aiomapi.errors import NotFound, OmapiError
from aiomapi.typed.enums import LeaseState
from aiomapi.typed.objects import Lease

if TYPE_CHECKING:
    from aiomapi.typed.leases import Leases


class Client(Protocol):
    """What bulk release needs of a client: its ``leases`` manager."""

    @property
    def leases(self) -> Leases: ...


__all__ = [
    "DEFAULT_CONCURRENCY",
    "LeaseOutcome",
    "Outcome",
    "StateFilter",
    "Summary",
    "expire_many",
    "parse_states",
    "release_many",
]

#: Jobs at once. Each job is a lookup and an update; lookups go one at a time per connection
#: (docs/pipelining.md), so the client's connection count is what is on the wire.
DEFAULT_CONCURRENCY: Final = 64

#: Requests a job sends to change a lease after reading it: release and expire look the lease
#: up by handle, UPDATE it and read it back (:meth:`aiomapi.Leases.release`).
CHANGE_REQUESTS: Final = 3

#: Lease states to act on: members, their numbers, or dhcpd's names (``"active"``).
StateFilter: TypeAlias = Iterable[LeaseState | int | str] | LeaseState | str


class Outcome(enum.StrEnum):
    """What happened to one lease."""

    RELEASED = "released"
    EXPIRED = "expired"
    #: ``dry_run``: the lease passed the filter and would have been changed.
    WOULD_RELEASE = "would-release"
    WOULD_EXPIRE = "would-expire"
    #: its state is not in the filter; nothing was sent.
    SKIPPED = "skipped"
    #: no lease has this address.
    NOT_FOUND = "not-found"
    #: the server refused the change or a request failed (see :attr:`LeaseOutcome.error`).
    REFUSED = "refused"


_PENDING: Final = frozenset({LeaseState.EXPIRED, LeaseState.RELEASED})


@dataclass(frozen=True, slots=True)
class LeaseOutcome:
    """The result for one address.

    Attributes:
        ip: the address.
        outcome: what happened.
        before: the lease's state when read (``None``: not read).
        after: its state as the server returned it after the change; for a skipped or
            dry-run lease, the state read; ``None`` if there was no lease or the change
            failed.
        error: the error of a ``refused`` (or ``not-found``) outcome.
    """

    ip: IPv4Address
    outcome: Outcome
    before: LeaseState | int | None = None
    after: LeaseState | int | None = None
    error: OmapiError | None = field(default=None, compare=False)

    @property
    def changed(self) -> bool:
        """Whether the lease was released or expired."""
        return self.outcome in (Outcome.RELEASED, Outcome.EXPIRED)

    @property
    def pending(self) -> bool:
        """Changed, but left ``expired`` or ``released`` rather than free.

        On a failover peer the lease waits for the partner's acknowledgement, which the
        partner may refuse: compare the peers (:func:`aiomapi.failover.diff.wait_consistent`).
        """
        return self.changed and self.after in _PENDING

    def to_json(self) -> dict[str, object]:
        """``ip``, ``outcome``, ``before``, ``after`` (dhcpd's state names) and ``error``."""
        return {
            "ip": str(self.ip),
            "outcome": self.outcome.value,
            "before": _name(self.before),
            "after": _name(self.after),
            "error": None if self.error is None else f"{type(self.error).__name__}: {self.error}",
        }


def _name(state: LeaseState | int | None) -> str | None:
    if state is None:
        return None
    return state.dhcpd_name if isinstance(state, LeaseState) else str(state)


_BY_NAME: Final = {s.dhcpd_name: s for s in LeaseState}


def parse_states(states: StateFilter) -> frozenset[LeaseState]:
    """A state filter as a set of :class:`~aiomapi.LeaseState`.

    Raises:
        ValueError: a name or number that is not a lease state (dhcpd's names: free, active,
            expired, released, abandoned, reset, backup).
    """
    items: Iterable[LeaseState | int | str] = (
        [states] if isinstance(states, LeaseState | str) else states
    )
    out: set[LeaseState] = set()
    for item in items:
        if isinstance(item, LeaseState):
            out.add(item)
        elif isinstance(item, str):
            try:
                out.add(_BY_NAME[item.strip().lower()])
            except KeyError:
                names = ", ".join(_BY_NAME)
                raise ValueError(f"not a lease state: {item!r} (one of {names})") from None
        elif isinstance(item, int) and not isinstance(item, bool):
            try:
                out.add(LeaseState(item))
            except ValueError:
                raise ValueError(f"not a lease state number: {item} (1..7)") from None
        else:
            raise ValueError(f"not a lease state: {item!r}")
    return frozenset(out)


Change: TypeAlias = Callable[[Client, Lease], Awaitable[Lease]]


async def _release(client: Client, lease: Lease) -> Lease:
    return await client.leases.release(handle=lease.handle)


async def _expire(client: Client, lease: Lease) -> Lease:
    return await client.leases.expire(handle=lease.handle)


def release_many(
    client: Client,
    ips: Iterable[IPv4Address | str],
    *,
    state_filter: StateFilter | None = None,
    dry_run: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = DEFAULT_BULK_RATE,
) -> AsyncGenerator[LeaseOutcome, None]:
    """Release the leases at ``ips`` as DHCPRELEASEs would: ``async for r in release_many(…)``.

    On a failover pair, run it on the primary, then compare the peers over the released
    addresses (module docstring).

    Args:
        client: the server (``Client(connections=8..16)`` for speed).
        ips: the addresses, any iterable (a lazy one too).
        state_filter: release only leases in these states (e.g. ``"active"``); others are
            ``skipped``. ``None``: every lease.
        dry_run: read and filter only; nothing is changed.
        concurrency: jobs at once.
        rate: at most this many requests a second (module doc); ``None``: no cap of its
            own. The client's ``max_rate`` applies as well.

    Yields:
        One :class:`LeaseOutcome` per address, as they finish (not in input order).

    Raises:
        ValueError: a bad ``state_filter``, ``concurrency`` or ``rate`` (at the call, before
            anything is sent), or an address that is not IPv4 (when it is reached).
    """
    return _run(
        client,
        ips,
        _release,
        Outcome.RELEASED,
        Outcome.WOULD_RELEASE,
        state_filter,
        dry_run,
        concurrency,
        rate,
    )


def expire_many(
    client: Client,
    ips: Iterable[IPv4Address | str],
    *,
    state_filter: StateFilter | None = None,
    dry_run: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = DEFAULT_BULK_RATE,
) -> AsyncGenerator[LeaseOutcome, None]:
    """End the leases at ``ips`` now, as if their time had run out (see :func:`release_many`).

    On a failover pair an early expiry is refused by the partner while it holds the lease
    for more than about a minute (the result is ``pending``, and the peers then disagree);
    a release is not. Prefer :func:`release_many` on a pair.
    """
    return _run(
        client,
        ips,
        _expire,
        Outcome.EXPIRED,
        Outcome.WOULD_EXPIRE,
        state_filter,
        dry_run,
        concurrency,
        rate,
    )


def _run(
    client: Client,
    ips: Iterable[IPv4Address | str],
    change: Change,
    done: Outcome,
    would: Outcome,
    state_filter: StateFilter | None,
    dry_run: bool,
    concurrency: int,
    rate: float | None,
) -> AsyncGenerator[LeaseOutcome, None]:
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    checked = check_rate(rate)
    pacer = Pacer(checked) if checked is not None else None
    wanted = None if state_filter is None else parse_states(state_filter)

    async def one(ip: IPv4Address) -> LeaseOutcome:
        if pacer is not None:
            await pacer.wait()
        try:
            lease = await client.leases.get(ip=ip)
        except NotFound as exc:
            return LeaseOutcome(ip, Outcome.NOT_FOUND, error=exc)
        except OmapiError as exc:
            return LeaseOutcome(ip, Outcome.REFUSED, error=exc)
        if wanted is not None and lease.state not in wanted:
            return LeaseOutcome(ip, Outcome.SKIPPED, lease.state, lease.state)
        if dry_run:
            return LeaseOutcome(ip, would, lease.state, lease.state)
        if pacer is not None:
            await pacer.wait(CHANGE_REQUESTS)
        try:
            after = await change(client, lease)
        except OmapiError as exc:
            return LeaseOutcome(ip, Outcome.REFUSED, lease.state, error=exc)
        return LeaseOutcome(ip, done, lease.state, after.state)

    return _bounded(one, (IPv4Address(ip) for ip in ips), concurrency)


async def _bounded(
    job: Callable[[IPv4Address], Awaitable[LeaseOutcome]],
    items: Iterable[IPv4Address],
    concurrency: int,
) -> AsyncGenerator[LeaseOutcome, None]:
    """``job`` over ``items``, ``concurrency`` at a time, results as they finish.

    Workers pull from one iterator and hand results over a bounded queue; anything a job
    raises (a bug, a bad address) stops the batch and is raised here. Leaving the loop early
    cancels the jobs still running.
    """
    source = iter(items)
    queue: asyncio.Queue[LeaseOutcome | BaseException | None] = asyncio.Queue(concurrency)

    async def worker() -> None:
        try:
            for item in source:
                await queue.put(await job(item))
        except Exception as exc:  # handed to the consumer, which raises it
            await queue.put(exc)
        else:
            await queue.put(None)

    workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    running = len(workers)
    try:
        while running:
            entry = await queue.get()
            if entry is None:
                running -= 1
            elif isinstance(entry, BaseException):
                raise entry
            else:
                yield entry
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


@dataclass(slots=True)
class Summary:
    """Counts over the outcomes of one bulk run (feed it with :meth:`add`).

    Attributes:
        action: ``"release"`` or ``"expire"``.
        dry_run: nothing was changed.
        total: outcomes seen.
        outcomes: count per :class:`Outcome` value.
        before: count per state read, over the leases found.
        after: count per state returned after the change, over the changed leases.
        pending: changed leases left ``expired``/``released`` (see :attr:`LeaseOutcome.pending`).
        refused: the refused outcomes, at most ``keep`` of them.
        keep: how many refused outcomes to keep.
    """

    action: str
    dry_run: bool = False
    total: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    before: Counter[str] = field(default_factory=Counter)
    after: Counter[str] = field(default_factory=Counter)
    pending: int = 0
    refused: list[LeaseOutcome] = field(default_factory=list)
    keep: int = 100

    def add(self, result: LeaseOutcome) -> None:
        """Count one outcome."""
        self.total += 1
        self.outcomes[result.outcome.value] += 1
        if result.before is not None:
            self.before[_name(result.before) or ""] += 1
        if result.changed and result.after is not None:
            self.after[_name(result.after) or ""] += 1
        self.pending += result.pending
        if result.outcome is Outcome.REFUSED and len(self.refused) < self.keep:
            self.refused.append(result)

    def to_json(self) -> dict[str, object]:
        """``action``, ``dry_run``, ``total``, ``outcomes``, ``before``, ``after``, ``pending``,
        ``refused`` (a list of :meth:`LeaseOutcome.to_json`)."""
        return {
            "action": self.action,
            "dry_run": self.dry_run,
            "total": self.total,
            "outcomes": dict(self.outcomes),
            "before": dict(self.before),
            "after": dict(self.after),
            "pending": self.pending,
            "refused": [r.to_json() for r in self.refused],
        }
