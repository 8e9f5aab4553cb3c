"""The numbers dhcpd sends as IntEnums (lease states and flags, failover and control states),
and the checks that turn what a caller passes into a member before anything is sent.

Member names are dhcpd's own, upper-cased with ``-`` → ``_`` (:attr:`dhcpd_name` gives them
back). A number dhcpd sends that is not a member is kept as a plain ``int``
(:meth:`_DhcpdEnum.decode`); a value a caller wants to *send* must be a member, because some
other values crash dhcpd (docs/dhcpd-behaviour.md, "Requests that crash dhcpd").
"""

from __future__ import annotations

import enum
from typing import Final, Self

from aiomapi import facts
from aiomapi.errors import LocalProtocolError

__all__ = [
    "SETTABLE_LEASE_FLAGS",
    "ControlState",
    "FailoverHierarchy",
    "FailoverState",
    "LeaseFlags",
    "LeaseState",
    "to_failover_state",
    "to_lease_flags",
    "to_lease_state",
]


class _DhcpdEnum(enum.IntEnum):
    """An IntEnum whose member names are dhcpd's, upper-cased with ``-`` → ``_``."""

    @property
    def dhcpd_name(self) -> str:
        """The name as dhcpd logs it and writes it to the lease file."""
        return self.name.lower().replace("_", "-")

    def __str__(self) -> str:
        """dhcpd's name: ``print(lease.state)`` prints ``active``, not ``2``."""
        return self.dhcpd_name

    def __format__(self, spec: str) -> str:
        """dhcpd's name; a format spec (``f"{state:d}"``) formats the number."""
        return self.dhcpd_name if not spec else format(int(self), spec)

    @classmethod
    def from_name(cls, name: str) -> Self:
        """The member for dhcpd's spelling (``"partner-down"``); case-insensitive.

        Raises:
            ValueError: no member has that name.
        """
        try:
            return cls[name.strip().upper().replace("-", "_")]
        except KeyError:
            known = ", ".join(m.dhcpd_name for m in cls)
            raise ValueError(f"unknown {cls.__name__} {name!r}; expected one of {known}") from None

    @classmethod
    def decode(cls, value: int) -> Self | int:
        """The member for ``value``, or the plain int if dhcpd sent a number we do not know."""
        try:
            return cls(value)
        except ValueError:
            return value


class LeaseState(_DhcpdEnum):
    """Lease binding states (``binding_state_t``; docs/dhcpd-behaviour.md, "Objects")."""

    FREE = 1
    ACTIVE = 2
    EXPIRED = 3
    RELEASED = 4
    ABANDONED = 5
    RESET = 6
    BACKUP = 7


class LeaseFlags(enum.IntFlag):
    """The lease ``flags`` bits dhcpd sends and accepts (docs/dhcpd-behaviour.md, "Objects").

    The internal bits STATIC_LEASE (1), ON_UPDATE_QUEUE (16), ON_ACK_QUEUE (32) and
    ON_DEFERRED_QUEUE (128) are masked out by dhcpd and never appear.
    """

    BOOTP_LEASE = 2
    RESERVED_LEASE = 4
    MS_NULL_TERMINATION = 8
    UNICAST_BROADCAST_HACK = 64

    @property
    def dhcpd_name(self) -> str:
        """dhcpd's C macro name in lower case with ``-``; combined flags joined by ``|``."""
        return "|".join(m.name.lower().replace("_", "-") for m in self if m.name)

    def __str__(self) -> str:
        """dhcpd's names joined by ``|`` (``none`` for no flag)."""
        return self.dhcpd_name or "none"

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else format(int(self), spec)


#: The flags a client may change with an UPDATE: all four (from :mod:`aiomapi.facts`).
SETTABLE_LEASE_FLAGS: Final = LeaseFlags(facts.SETTABLE_LEASE_FLAGS)


class FailoverState(_DhcpdEnum):
    """Failover states (``enum failover_state``, includes/failover.h; docs/dhcpd-behaviour.md,
    "Failover").

    Only these values are safe to set as ``local-state``: anything else kills dhcpd 4.4.3
    (docs/dhcpd-behaviour.md, "Requests that crash dhcpd").
    """

    UNKNOWN_STATE = 0
    STARTUP = 1
    NORMAL = 2
    COMMUNICATIONS_INTERRUPTED = 3
    PARTNER_DOWN = 4
    POTENTIAL_CONFLICT = 5
    RECOVER = 6
    PAUSED = 7
    SHUTDOWN = 8
    RECOVER_DONE = 9
    RESOLUTION_INTERRUPTED = 10
    CONFLICT_DONE = 11
    RECOVER_WAIT = 254


class ControlState(_DhcpdEnum):
    """The ``control`` object's ``state`` (docs/dhcpd-behaviour.md, "Objects").

    Quirks of dhcpd 4.4.3: the state reads 0 (STARTUP) while the server is running, because
    dhcpd's own validator rejects its attempt to set RUNNING; after a shutdown request it reads
    4, a bug that reads the value's length instead of the value. Use :meth:`decode`, which keeps
    such numbers as plain ints. Only SHUTDOWN (2) may be set; anything else is INVALIDARG.
    """

    STARTUP = 0
    RUNNING = 1
    SHUTDOWN = 2


class FailoverHierarchy(_DhcpdEnum):
    """The failover-state ``hierarchy`` attribute (docs/dhcpd-behaviour.md, "Failover")."""

    PRIMARY = 0
    SECONDARY = 1


# ----------------------------------------------------------------- checks before sending

_LEASE_STATES: Final = {m.value: m for m in LeaseState}
_FAILOVER_STATES: Final = {m.value: m for m in FailoverState}


def to_lease_state(value: LeaseState | int | str) -> LeaseState:
    """The lease state to send for ``value`` (a member, 1..7, or a name like ``"free"``).

    Raises:
        LocalProtocolError: not a lease state (dhcpd would answer INVALIDARG; a null one
            would crash it: docs/dhcpd-behaviour.md, "Requests that crash dhcpd").
    """
    if isinstance(value, str):
        try:
            return LeaseState.from_name(value)
        except ValueError as exc:
            raise LocalProtocolError(str(exc)) from None
    if isinstance(value, int) and not isinstance(value, bool) and value in _LEASE_STATES:
        return _LEASE_STATES[value]
    raise LocalProtocolError(f"{value!r} is not a lease state (1-7, see LeaseState)")


def to_failover_state(value: FailoverState | int | str) -> FailoverState:
    """The failover state to send for ``value`` (a member, its number, or its dhcpd name).

    Raises:
        LocalProtocolError: not one of the 13 states; dhcpd 4.4.3 exits on any other
            ``local-state`` (docs/dhcpd-behaviour.md, "Requests that crash dhcpd").
    """
    if isinstance(value, str):
        try:
            return FailoverState.from_name(value)
        except ValueError as exc:
            raise LocalProtocolError(str(exc)) from None
    if isinstance(value, int) and not isinstance(value, bool) and value in _FAILOVER_STATES:
        return _FAILOVER_STATES[value]
    raise LocalProtocolError(
        f"{value!r} is not a failover state (0-11 or 254, see FailoverState); "
        "dhcpd 4.4.3 exits on any other local-state"
    )


def to_lease_flags(value: LeaseFlags | int) -> LeaseFlags:
    """The lease flags to send for ``value``.

    Raises:
        LocalProtocolError: a bit other than the four a client may change.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise LocalProtocolError(f"lease flags are a LeaseFlags value, not {value!r}")
    if int(value) & ~int(SETTABLE_LEASE_FLAGS):
        raise LocalProtocolError(
            f"lease flags {value:#x}: only {SETTABLE_LEASE_FLAGS!r} can be set over OMAPI"
        )
    return LeaseFlags(value)
