"""Both servers of a dhcpd failover pair, managed as one.

Theory of operation
-------------------
A :class:`FailoverPair` holds one :class:`aiomapi.Client` per server and the failover peer
name. Every operation asks both servers at once and never lets one server's failure hide
the other's answer: a server that cannot be read is recorded with the reason, not raised.

:meth:`FailoverPair.status` reads each server's ``failover-state`` object and
:func:`judge` turns the two reads into a :class:`Verdict` with reasons in plain words.
What each server reports:

* its own state (``local-state``) and when it entered it (``local-stos``);
* its belief of its partner's state (``partner-state``): the last state the partner told
  it. While the two cannot talk, that belief is stale by design (after a cut, each side
  is in communications-interrupted and still believes the other is in normal).

The verdict, first rule that applies (see docs/failover.md for the reasoning):

1. ``unreachable``: a server could not be read (or is not the side it was given as).
2. ``inconsistent``: a server in ``normal`` — so in touch with its partner — believes the
   partner is in a state other than the one the partner reports, and the partner entered
   its state more than ``max-response-delay`` (+1 s: stos counts whole seconds) ago. A
   younger difference is a state change still on its way and only gets a note. This
   compares the partner's ``local-stos`` with this machine's clock: failover already needs
   the servers' clocks in step, and so does this check.
3. ``partner-down``: a server is in partner-down, serving every client alone — unless the
   other server is recovering from it (recover, recover-wait, recover-done), which is how
   a resync runs: then ``recovering``.
4. ``recovering``: a server is in a state that dhcpd leaves by itself once the two talk
   (startup, recover, recover-wait, recover-done, potential-conflict, conflict-done), in
   resolution-interrupted (a conflict resolution cut short: it waits for the partner), in
   paused or shutdown (being stopped), or in a state this module does not know.
5. ``degraded``: a server is in communications-interrupted: both still answer clients,
   each from its own free addresses, and lease updates wait until they talk again.
6. ``healthy``: both in normal.

:meth:`FailoverPair.resync` moves one server to ``recover`` (dhcpd then asks its partner
for every lease: "update request all") and follows the pair back to normal;
:meth:`FailoverPair.partner_down` declares one server's partner down, refusing while the
two are still in touch; the ``hosts_*`` methods apply a host reservation to both servers,
since failover does not replicate host objects.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from os import PathLike
from types import TracebackType
from typing import Any, Final, Literal, Self

from aiomapi import (
    Client,
    FailoverHierarchy,
    FailoverPeer,
    FailoverState,
    Host,
    Key,
    NotFound,
    OmapiError,
)

from .loadbalance import service_of

__all__ = [
    "EXIT_CODES",
    "FailoverPair",
    "HostResult",
    "PairHostResult",
    "PairStatus",
    "PeerStatus",
    "RefusedError",
    "ResyncResult",
    "ResyncStep",
    "Side",
    "Verdict",
    "judge",
    "state_name",
]

#: One side of a pair, by its role.
Side = Literal["primary", "secondary"]
SIDES: Final[tuple[Side, Side]] = ("primary", "secondary")


class Verdict(enum.StrEnum):
    """What the two servers' states together say about the pair."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    PARTNER_DOWN = "partner-down"
    RECOVERING = "recovering"
    INCONSISTENT = "inconsistent"
    UNREACHABLE = "unreachable"


#: Exit codes of ``aiomapi failover status``, as monitoring plugins (Nagios, Icinga) read
#: them: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. UNKNOWN is for neither server read
#: (decided in :attr:`PairStatus.exit_code`).
EXIT_CODES: Final[dict[Verdict, int]] = {
    Verdict.HEALTHY: 0,
    Verdict.DEGRADED: 1,
    Verdict.RECOVERING: 1,
    Verdict.PARTNER_DOWN: 2,
    Verdict.INCONSISTENT: 2,
    Verdict.UNREACHABLE: 2,
}
EXIT_UNKNOWN: Final = 3

S = FailoverState
#: dhcpd's service state for each local state (dhcp_failover_set_service_state).
_SERVICE_STATE: Final[dict[FailoverState, str]] = {
    S.NORMAL: "cooperating",
    S.COMMUNICATIONS_INTERRUPTED: "not-cooperating",
    S.PARTNER_DOWN: "partner-down",
    S.STARTUP: "startup",
}
#: States that end by themselves once the partner answers: the other side is recovering.
_RECOVER_STATES: Final[frozenset[FailoverState | None]] = frozenset(
    {S.RECOVER, S.RECOVER_WAIT, S.RECOVER_DONE}
)
#: States in which a server may be declared the only one running without --force.
_OUT_OF_TOUCH: Final[frozenset[FailoverState | None]] = frozenset(
    {S.COMMUNICATIONS_INTERRUPTED, S.RESOLUTION_INTERRUPTED}
)
#: Partner states that mean it is on its way out, not serving (partner-down is then safe).
_STOPPING: Final[frozenset[FailoverState | None]] = frozenset({S.SHUTDOWN, S.PAUSED})
#: stos counts whole seconds: a state entered at 10.9 s reads as 10 s.
_STOS_RESOLUTION: Final = 1.0


def state_name(state: FailoverState | int | None) -> str | None:
    """dhcpd's name of a failover state (``"communications-interrupted"``); ``"state-N"`` for
    a number dhcpd 4.4.3 does not define; ``None`` for ``None``."""
    if state is None:
        return None
    try:
        return FailoverState(state).dhcpd_name
    except ValueError:
        return f"state-{int(state)}"


def _stos(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _known(state: FailoverState | int | None) -> FailoverState | None:
    if state is None:
        return None
    try:
        return FailoverState(state)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """One server's ``failover-state`` as read, or why it could not be read.

    Attributes:
        side: which side of the pair it was asked as.
        address: ``host:port`` of its OMAPI.
        peer: the object read, or ``None``.
        error: why it could not be read (then ``peer`` is ``None``).
    """

    side: Side
    address: str
    peer: FailoverPeer | None = None
    error: str | None = None

    @property
    def reachable(self) -> bool:
        """Whether the server's failover state was read."""
        return self.peer is not None

    @property
    def local_state(self) -> FailoverState | int | None:
        return None if self.peer is None else self.peer.local_state

    @property
    def partner_state(self) -> FailoverState | int | None:
        """The state this server last heard from its partner (stale while they cannot talk)."""
        return None if self.peer is None else self.peer.partner_state

    @property
    def since(self) -> datetime | None:
        """When it entered its state (``local-stos``)."""
        return None if self.peer is None else _stos(self.peer.local_stos)

    @property
    def partner_since(self) -> datetime | None:
        """When, as far as it knows, the partner entered its state (``partner-stos``)."""
        return None if self.peer is None else _stos(self.peer.partner_stos)

    def seconds_in_state(self, now: datetime) -> float | None:
        """Seconds since it entered its state, by ``now`` (this machine's clock)."""
        since = self.since
        return None if since is None else max(0.0, (now - since).total_seconds())

    @property
    def service(self) -> str | None:
        """dhcpd's service state: ``cooperating`` (normal, load-balanced),
        ``not-cooperating`` (communications-interrupted: its own free addresses only),
        ``partner-down`` (every client), ``startup`` or ``not-responding`` (no client)."""
        if self.peer is None:
            return None
        known = _known(self.peer.local_state)
        return "not-responding" if known is None else _SERVICE_STATE.get(known, "not-responding")

    @property
    def answers_clients(self) -> bool | None:
        """Whether it answers DHCP clients at all in its state."""
        if self.peer is None:
            return None
        if _known(self.peer.local_state) is None:
            return False
        return service_of(self.peer.local_state) != "silent"

    @property
    def role(self) -> Side | None:
        """``primary`` or ``secondary``, as the server itself says (``hierarchy``)."""
        if self.peer is None:
            return None
        return "primary" if self.peer.hierarchy == FailoverHierarchy.PRIMARY else "secondary"

    @property
    def primary_share(self) -> float | None:
        """Percentage of the 256 hash buckets the primary answers, from this server's HBA
        (``split 128`` gives 50.0); ``None`` without an HBA."""
        hba = None if self.peer is None else self.peer.load_balance_hba
        if not hba:
            return None
        return 100.0 * sum(bin(byte).count("1") for byte in hba) / (8 * len(hba))

    def to_json(self, now: datetime) -> dict[str, object]:
        """The ``--json`` form: states by dhcpd's names, times in ISO 8601."""
        peer = self.peer
        since, partner_since = self.since, self.partner_since
        in_state = self.seconds_in_state(now)
        return {
            "address": self.address,
            "reachable": self.reachable,
            "error": self.error,
            "role": self.role,
            "local_state": state_name(self.local_state),
            "partner_state": state_name(self.partner_state),
            "local_since": None if since is None else since.isoformat(),
            "seconds_in_state": None if in_state is None else round(in_state),
            "partner_since": None if partner_since is None else partner_since.isoformat(),
            "service": self.service,
            "answers_clients": self.answers_clients,
            "mclt": None if peer is None else peer.mclt,
            "max_response_delay": None if peer is None else peer.max_response_delay,
            "load_balance_max_seconds": None if peer is None else peer.load_balance_max_secs,
            "primary_share_percent": self.primary_share,
            "unacked_updates": None if peer is None else peer.cur_unacked_updates,
        }


@dataclass(frozen=True, slots=True)
class PairStatus:
    """Both servers' failover states, read at the same time, and what they add up to.

    Attributes:
        name: the failover peer name.
        primary, secondary: each server's read.
        verdict: see :class:`Verdict` and :func:`judge`.
        reasons: the verdict's reasons, in plain words, most important first.
        read_at: when the reads finished (this machine's clock, UTC).
    """

    name: str
    primary: PeerStatus
    secondary: PeerStatus
    verdict: Verdict
    reasons: tuple[str, ...]
    read_at: datetime

    @property
    def exit_code(self) -> int:
        """0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (neither server read); see
        :data:`EXIT_CODES`."""
        if not self.primary.reachable and not self.secondary.reachable:
            return EXIT_UNKNOWN
        return EXIT_CODES[self.verdict]

    def side(self, side: Side) -> PeerStatus:
        return self.primary if side == "primary" else self.secondary

    def other(self, side: Side) -> PeerStatus:
        return self.secondary if side == "primary" else self.primary

    @property
    def states(self) -> tuple[str | None, str | None, str | None, str | None]:
        """(primary local, primary's view of partner, secondary local, its view), by name."""
        p, s = self.primary, self.secondary
        return (
            state_name(p.local_state),
            state_name(p.partner_state),
            state_name(s.local_state),
            state_name(s.partner_state),
        )

    def to_json(self) -> dict[str, object]:
        """The ``--json`` object. ``verdict`` and, for ``primary`` and ``secondary``,
        ``local_state`` and ``partner_state`` (dhcpd's state names) are a stable contract."""
        return {
            "peer": self.name,
            "verdict": str(self.verdict),
            "exit_code": self.exit_code,
            "reasons": list(self.reasons),
            "read_at": self.read_at.isoformat(),
            "primary": self.primary.to_json(self.read_at),
            "secondary": self.secondary.to_json(self.read_at),
        }


def judge(
    primary: PeerStatus, secondary: PeerStatus, now: datetime
) -> tuple[Verdict, tuple[str, ...]]:
    """The verdict on two reads, and its reasons (rules: this module's docstring).

    Pure: ``now`` is the time the reads were made, on this machine's clock.
    """
    sides = (primary, secondary)
    down = [s for s in sides if not s.reachable]
    if down:
        reasons = [f"the {s.side} ({s.address}) could not be read: {s.error}" for s in down]
        for s in sides:
            if s.reachable:
                reasons.append(_what_it_says(s, now))
        return Verdict.UNREACHABLE, tuple(reasons)

    notes: list[str] = []
    confirmed: list[str] = []
    for me, other in ((primary, secondary), (secondary, primary)):
        belief, actual = me.partner_state, other.local_state
        if me.local_state != FailoverState.NORMAL or belief == actual:
            continue
        assert me.peer is not None
        age = other.seconds_in_state(now)
        limit = me.peer.max_response_delay + _STOS_RESOLUTION
        text = (
            f"the {me.side} is in normal and believes the {other.side} is in "
            f"{state_name(belief)}, but the {other.side} is in {state_name(actual)}"
        )
        if age is not None and age > limit:
            confirmed.append(
                f"{text} for {age:.0f} s, longer than the {me.side}'s "
                f"max-response-delay ({me.peer.max_response_delay} s)"
            )
        else:
            notes.append(
                f"{text} (entered {'at an unknown time' if age is None else f'{age:.0f} s ago'}"
                "): a state change on its way, not counted yet"
            )
    if confirmed:
        return Verdict.INCONSISTENT, (*confirmed, *notes)

    states = {s.side: _known(s.local_state) for s in sides}
    for me, other in ((primary, secondary), (secondary, primary)):
        if states[me.side] is not S.PARTNER_DOWN:
            continue
        other_state = states[other.side]
        if other_state in _RECOVER_STATES:
            return Verdict.RECOVERING, (
                f"the {me.side} is in partner-down and serves every client alone while the "
                f"{other.side} recovers ({state_name(other.local_state)}): the {other.side} "
                "has asked for every lease and returns to normal about MCLT "
                f"({me.peer.mclt if me.peer else '?'} s) after entering recover-wait",
                *notes,
            )
        reasons = [f"the {me.side} is in partner-down: it serves every client alone"]
        if other.answers_clients:
            reasons.append(
                f"but the {other.side} is running and in {state_name(other.local_state)}, "
                "answering clients too: partner-down is safe only while the partner is down"
            )
        else:
            reasons.append(f"the {other.side} is in {state_name(other.local_state)}")
        return Verdict.PARTNER_DOWN, (*reasons, *notes)

    transitional = [
        s for s in sides if states[s.side] not in (S.NORMAL, S.COMMUNICATIONS_INTERRUPTED)
    ]
    if transitional:
        reasons = [_transition_reason(s, now) for s in transitional]
        if not any(s.answers_clients for s in sides):
            reasons.append("neither server answers DHCP clients in these states")
        return Verdict.RECOVERING, (*reasons, *notes)

    cut = [s for s in sides if states[s.side] is S.COMMUNICATIONS_INTERRUPTED]
    if cut:
        reasons = [
            f"the {s.side} has been in communications-interrupted for "
            f"{_for(s, now)}: it cannot reach its partner and serves only its own free "
            "addresses; lease updates wait until the two talk again"
            for s in cut
        ]
        return Verdict.DEGRADED, (*reasons, *notes)

    return Verdict.HEALTHY, (
        "both servers are in normal and each sees the other in normal",
        *notes,
    )


def _for(s: PeerStatus, now: datetime) -> str:
    seconds = s.seconds_in_state(now)
    return "an unknown time" if seconds is None else f"{seconds:.0f} s"


def _what_it_says(s: PeerStatus, now: datetime) -> str:
    answers = "answers DHCP clients" if s.answers_clients else "answers no DHCP client"
    return (
        f"the {s.side} is in {state_name(s.local_state)} (for {_for(s, now)}), last heard "
        f"its partner in {state_name(s.partner_state)}, and {answers}"
    )


_TRANSITIONS: Final[dict[FailoverState, str]] = {
    S.UNKNOWN_STATE: "has not started failover yet",
    S.STARTUP: "is starting up and answers no client until it has talked to its partner",
    S.RECOVER: "is in recover: it has lost (or was told to drop) its view of the leases and "
    "waits for its partner to send them all",
    S.RECOVER_WAIT: "is in recover-wait: it has every lease and waits out MCLT before "
    "answering clients",
    S.RECOVER_DONE: "is in recover-done: its recovery is complete and it waits for its "
    "partner to agree",
    S.POTENTIAL_CONFLICT: "is in potential-conflict: both may have given out the same "
    "addresses while apart; the primary is resolving that",
    S.CONFLICT_DONE: "is in conflict-done: conflicts are resolved, normal follows",
    S.RESOLUTION_INTERRUPTED: "is in resolution-interrupted: conflict resolution was cut "
    "short and waits for the partner to come back",
    S.PAUSED: "is paused (about to be stopped by an operator)",
    S.SHUTDOWN: "is in shutdown (stopping)",
    S.PARTNER_DOWN: "is in partner-down",
}


def _transition_reason(s: PeerStatus, now: datetime) -> str:
    known = _known(s.local_state)
    what = (
        _TRANSITIONS.get(known, f"is in {state_name(known)}")
        if known is not None
        else f"is in {state_name(s.local_state)}, a state dhcpd 4.4.3 does not define"
    )
    return f"the {s.side} {what} (for {_for(s, now)})"


class RefusedError(ValueError):
    """The pair's state makes the operation unsafe; nothing was changed.

    Attributes:
        status: the pair's status the refusal is based on.
    """

    def __init__(self, message: str, status: PairStatus) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ResyncStep:
    """The pair's states when they changed during a resync.

    Attributes:
        elapsed: seconds since the resync began.
        status: the pair's status then.
    """

    elapsed: float
    status: PairStatus


@dataclass(frozen=True, slots=True)
class ResyncResult:
    """How a resync went.

    Attributes:
        side: the server moved to recover.
        finished: both servers reached normal, each seeing the other in normal (all four
            states read normal).
        elapsed: seconds from the move to the end of waiting.
        steps: every change of the four states, the first read included.
        final: the last status read.
        other_partner_down: seconds the other server was seen in partner-down (``None``
            if it never was).
        mclt: the MCLT the servers use.
    """

    side: Side
    finished: bool
    elapsed: float
    steps: tuple[ResyncStep, ...]
    final: PairStatus
    other_partner_down: float | None
    mclt: int | None

    def to_json(self) -> dict[str, object]:
        return {
            "side": self.side,
            "finished": self.finished,
            "elapsed": round(self.elapsed, 2),
            "mclt": self.mclt,
            "other_partner_down_seconds": (
                None if self.other_partner_down is None else round(self.other_partner_down, 2)
            ),
            "steps": [
                {"elapsed": round(step.elapsed, 2), **_states_json(step.status)}
                for step in self.steps
            ],
            "final": self.final.to_json(),
        }


def _states_json(status: PairStatus) -> dict[str, object]:
    p, pp, s, sp = status.states
    return {
        "verdict": str(status.verdict),
        "primary": {"local_state": p, "partner_state": pp},
        "secondary": {"local_state": s, "partner_state": sp},
    }


@dataclass(frozen=True, slots=True)
class HostResult:
    """One server's outcome of a host operation.

    Attributes:
        side: which server.
        host: the host as the server now has it (``None`` after a delete, or on error).
        error: what went wrong, or ``None``.
        error_type: the exception's class name (``NotFound``, ``AlreadyExists``, ...).
    """

    side: Side
    host: Host | None = None
    error: str | None = None
    error_type: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, object]:
        host = self.host
        return {
            "ok": self.ok,
            "error": self.error,
            "error_type": self.error_type,
            "host": None
            if host is None
            else {
                "name": host.name,
                "hardware_address": None
                if host.hardware_address is None
                else str(host.hardware_address),
                "ip_addresses": [str(ip) for ip in host.ip_addresses],
            },
        }


@dataclass(frozen=True, slots=True)
class PairHostResult:
    """A host operation's outcome on both servers.

    Attributes:
        action: ``create``, ``upsert`` or ``delete``.
        primary, secondary: each server's outcome.
    """

    action: str
    primary: HostResult
    secondary: HostResult

    @property
    def ok(self) -> bool:
        """Both servers did it."""
        return self.primary.ok and self.secondary.ok

    @property
    def diverged(self) -> bool:
        """One server did it and the other did not: the two now differ."""
        return self.primary.ok != self.secondary.ok

    @property
    def exit_code(self) -> int:
        """0 both did it, 1 only one did (the servers now differ), 2 neither did."""
        return 0 if self.ok else 1 if self.diverged else 2

    def to_json(self) -> dict[str, object]:
        return {
            "action": self.action,
            "ok": self.ok,
            "diverged": self.diverged,
            "primary": self.primary.to_json(),
            "secondary": self.secondary.to_json(),
        }


def _error_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class FailoverPair:
    """The two servers of one failover peer declaration, each through its own client.

    Args:
        primary: a client of the primary server (connected or not: clients connect on
            their first request).
        secondary: a client of the secondary server.
        name: the failover peer name (``failover peer "NAME"``), the same on both sides.

    ``async with pair:`` closes both clients on the way out.
    """

    def __init__(self, primary: Client, secondary: Client, name: str) -> None:
        self.primary = primary
        self.secondary = secondary
        self.name = name

    def __repr__(self) -> str:
        return f"FailoverPair({self.primary!r}, {self.secondary!r}, {self.name!r})"

    def client(self, side: Side) -> Client:
        """The client of ``side``."""
        return self.primary if side == "primary" else self.secondary

    @classmethod
    def from_config(
        cls,
        path: str | PathLike[str],
        *,
        peer: str | None = None,
        primary: str | None = None,
        secondary: str | None = None,
        key: Key | None = None,
        timeout: float | None = 10.0,
    ) -> FailoverPair:
        """A pair from one server's dhcpd.conf (see :mod:`aiomapi.failover.connect` for
        how the file locates both servers).

        Args:
            path: the dhcpd.conf of either server.
            peer: the failover peer name (default: the file's only peer).
            primary, secondary: ``HOST`` or ``HOST:PORT``, overriding what the file implies.
            key: the key to sign with (default: the file's ``omapi-key``).
            timeout: seconds per request.

        Raises:
            ValueError: the file does not give what the arguments leave out
                (:class:`aiomapi.config.ConfigError`, a ValueError, if it does not read).
            OSError: the file cannot be read.
        """
        from .connect import resolve

        target = resolve(config=path, peer=peer, primary=primary, secondary=secondary, key=key)
        return target.pair(timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close both clients."""
        await asyncio.gather(self.primary.close(), self.secondary.close())

    # ------------------------------------------------------------------ status

    async def read(self, side: Side) -> PeerStatus:
        """One server's failover state; a failure is recorded, never raised.

        A server that answers as the other side (the two addresses swapped, or the same
        server given twice) counts as not read.
        """
        client = self.client(side)
        address = f"{client.host}:{client.port}"
        try:
            peer = await client.failover.get(self.name)
        except NotFound:
            return PeerStatus(side, address, error=f"no failover peer {self.name!r} there")
        except (OmapiError, OSError) as exc:
            return PeerStatus(side, address, error=_error_text(exc))
        status = PeerStatus(side, address, peer)
        if status.role != side:
            return PeerStatus(
                side,
                address,
                error=f"that server is the {status.role} of failover peer {self.name!r}, "
                f"not the {side}",
            )
        return status

    async def status(self) -> PairStatus:
        """Read both servers at once and judge the pair (see :func:`judge`).

        Never raises for a server that cannot be read: the verdict is then ``unreachable``.
        """
        primary, secondary = await asyncio.gather(self.read("primary"), self.read("secondary"))
        now = datetime.now(UTC)
        verdict, reasons = judge(primary, secondary, now)
        return PairStatus(self.name, primary, secondary, verdict, reasons, now)

    # ------------------------------------------------------------------ resync

    async def resync(
        self,
        side: Side = "secondary",
        *,
        timeout: float | None = None,
        interval: float = 0.25,
        on_step: Callable[[ResyncStep], None] | None = None,
    ) -> ResyncResult:
        """Move ``side`` to recover, so that it drops its view of the leases and takes every
        lease from its partner; wait until both are in normal again.

        While it runs, the other server is in partner-down (serving every client alone)
        and ``side`` in recover, then recover-wait, answering no client, for about MCLT.

        Args:
            side: the server to resynchronise (its partner is the source).
            timeout: seconds to wait for normal/normal; default 2 × MCLT + 60.
            interval: seconds between reads.
            on_step: called with each change of the four states.

        Returns:
            The outcome; ``finished`` is false if ``timeout`` passed first (dhcpd carries
            on by itself: nothing is undone).

        Raises:
            RefusedError: either server cannot be read (nothing was changed).
            OmapiError: the move to recover failed.
        """
        before = await self.status()
        for s in (before.primary, before.secondary):
            if not s.reachable:
                raise RefusedError(
                    f"cannot resync: the {s.side} cannot be read ({s.error})", before
                )
        other = before.other(side).peer
        mclt = other.mclt if other is not None else None
        if timeout is None:
            timeout = 2.0 * (mclt or 0) + 60.0
        start = time.monotonic()
        await self.client(side).failover.set_local_state(self.name, FailoverState.RECOVER)
        steps: list[ResyncStep] = []
        down_first: float | None = None
        down_last: float | None = None
        other_side: Side = "primary" if side == "secondary" else "secondary"
        while True:
            status = await self.status()
            elapsed = time.monotonic() - start
            if not steps or steps[-1].status.states != status.states:
                step = ResyncStep(elapsed, status)
                steps.append(step)
                if on_step is not None:
                    on_step(step)
            if status.side(other_side).local_state == FailoverState.PARTNER_DOWN:
                down_first = elapsed if down_first is None else down_first
                down_last = elapsed
            # All four, not only the verdict: a view still on its way would pass as healthy.
            finished = all(state == "normal" for state in status.states)
            if finished or elapsed >= timeout:
                break
            await asyncio.sleep(min(interval, max(0.0, timeout - elapsed)))
        partner_down = None
        if down_first is not None and down_last is not None:
            partner_down = (elapsed if finished else down_last) - down_first
        return ResyncResult(side, finished, elapsed, tuple(steps), status, partner_down, mclt)

    # ------------------------------------------------------------ partner-down

    async def partner_down(self, side: Side, *, force: bool = False) -> PairStatus:
        """Put ``side`` in partner-down: it then serves every client alone.

        Safe only when the partner really is down. Without ``force``, refused when:

        * ``side`` is in any state but communications-interrupted or
          resolution-interrupted: in normal (or recovering) it is in touch with its
          partner, which dhcpd would answer by resolving a conflict back to normal;
        * the partner answers OMAPI in a state in which it still answers DHCP clients: it
          runs, so both would serve.

        Returns:
            The pair's status after the move (unchanged if ``side`` already was in
            partner-down).

        Raises:
            RefusedError: refused, or ``side`` cannot be read; nothing was changed.
            OmapiError: the move failed.
        """
        before = await self.status()
        me, other = before.side(side), before.other(side)
        if not me.reachable:
            raise RefusedError(f"the {side} cannot be read ({me.error})", before)
        if me.local_state == FailoverState.PARTNER_DOWN:
            return before
        if not force:
            refusal = _partner_down_refusal(me, other)
            if refusal is not None:
                raise RefusedError(refusal, before)
        await self.client(side).failover.partner_down(self.name)
        return await self.status()

    # ------------------------------------------------------------------ hosts

    async def hosts_create(self, **values: Any) -> PairHostResult:
        """``client.hosts.create(**values)`` on both servers (failover does not copy host
        declarations from one server to the other); per-server outcomes, never raises for
        one server's failure."""
        return await self._both("create", lambda c: c.hosts.create(**values))

    async def hosts_upsert(self, **values: Any) -> PairHostResult:
        """``client.hosts.upsert(**values)`` on both servers, per-server outcomes."""
        return await self._both("upsert", lambda c: c.hosts.upsert(**values))

    async def hosts_delete(self, **lookup: Any) -> PairHostResult:
        """``client.hosts.delete(**lookup)`` on both servers, per-server outcomes (a server
        without the host reports ``NotFound``)."""

        async def delete(client: Client) -> None:
            await client.hosts.delete(**lookup)

        return await self._both("delete", delete)

    async def _both(
        self, action: str, call: Callable[[Client], Awaitable[Host | None]]
    ) -> PairHostResult:
        async def one(side: Side) -> HostResult:
            try:
                host = await call(self.client(side))
            except (OmapiError, OSError) as exc:
                return HostResult(side, error=_error_text(exc), error_type=type(exc).__name__)
            return HostResult(side, host)

        primary, secondary = await asyncio.gather(one("primary"), one("secondary"))
        return PairHostResult(action, primary, secondary)


def _partner_down_refusal(me: PeerStatus, other: PeerStatus) -> str | None:
    """Why putting ``me`` in partner-down is unsafe now, or ``None``."""
    state = _known(me.local_state)
    if state not in _OUT_OF_TOUCH:
        return (
            f"refused: the {me.side} is in {state_name(me.local_state)}, so it is in touch "
            f"with the {other.side}; partner-down is for a partner that is down "
            "(dhcpd would only resolve a conflict back to normal). --force to do it anyway"
        )
    if other.reachable and _known(other.local_state) not in _STOPPING and other.answers_clients:
        return (
            f"refused: the {other.side} still runs (it answers OMAPI, in "
            f"{state_name(other.local_state)}) and answers DHCP clients; with the {me.side} in "
            "partner-down both would give out addresses. Stop it first, or --force"
        )
    return None
