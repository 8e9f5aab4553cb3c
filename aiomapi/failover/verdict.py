"""The verdict on a failover pair from both servers' failover-state objects (pure).

:func:`judge` turns two reads (:class:`PeerStatus`) into a :class:`PairStatus`: a
:class:`Verdict` with reasons in plain words, and the monitoring-plugin exit code. The rules,
first that applies, are in :mod:`aiomapi.failover.pair`'s theory of operation and
docs/failover.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from aiomapi import FailoverHierarchy, FailoverPeer, FailoverState

from .loadbalance import service_of

__all__ = [
    "EXIT_CODES",
    "OUT_OF_TOUCH",
    "SIDES",
    "STOPPING",
    "PairStatus",
    "PeerStatus",
    "Side",
    "Verdict",
    "judge",
    "known_state",
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
OUT_OF_TOUCH: Final[frozenset[FailoverState | None]] = frozenset(
    {S.COMMUNICATIONS_INTERRUPTED, S.RESOLUTION_INTERRUPTED}
)
#: Partner states that mean it is on its way out, not serving (partner-down is then safe).
STOPPING: Final[frozenset[FailoverState | None]] = frozenset({S.SHUTDOWN, S.PAUSED})
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


def known_state(state: FailoverState | int | None) -> FailoverState | None:
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
        known = known_state(self.peer.local_state)
        return "not-responding" if known is None else _SERVICE_STATE.get(known, "not-responding")

    @property
    def answers_clients(self) -> bool | None:
        """Whether it answers DHCP clients at all in its state."""
        if self.peer is None:
            return None
        if known_state(self.peer.local_state) is None:
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

    states = {s.side: known_state(s.local_state) for s in sides}
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
    known = known_state(s.local_state)
    what = (
        _TRANSITIONS.get(known, f"is in {state_name(known)}")
        if known is not None
        else f"is in {state_name(s.local_state)}, a state dhcpd 4.4.3 does not define"
    )
    return f"the {s.side} {what} (for {_for(s, now)})"
