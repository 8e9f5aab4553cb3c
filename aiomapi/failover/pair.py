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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from os import PathLike
from types import TracebackType
from typing import Any, Self

from aiomapi import (
    Client,
    FailoverState,
    Host,
    Key,
    NotFound,
    OmapiError,
)

from .verdict import (
    EXIT_CODES,
    OUT_OF_TOUCH,
    SIDES,
    STOPPING,
    PairStatus,
    PeerStatus,
    Side,
    Verdict,
    judge,
    known_state,
    state_name,
)

__all__ = [
    "EXIT_CODES",
    "SIDES",
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
        exception: the exception itself (not compared, not in the repr or the JSON).
    """

    side: Side
    host: Host | None = None
    error: str | None = None
    error_type: str | None = None
    exception: BaseException | None = field(default=None, compare=False, repr=False)

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

    @property
    def common_error(self) -> BaseException | None:
        """The primary's exception when neither server did it and both failed alike (same
        exception class): one cause, such as a wrong key or a host that is on neither."""
        first, second = self.primary.exception, self.secondary.exception
        if first is not None and second is not None and type(first) is type(second):
            return first
        return None

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
                return HostResult(
                    side, error=_error_text(exc), error_type=type(exc).__name__, exception=exc
                )
            return HostResult(side, host)

        primary, secondary = await asyncio.gather(one("primary"), one("secondary"))
        return PairHostResult(action, primary, secondary)


def _partner_down_refusal(me: PeerStatus, other: PeerStatus) -> str | None:
    """Why putting ``me`` in partner-down is unsafe now, or ``None``."""
    state = known_state(me.local_state)
    if state not in OUT_OF_TOUCH:
        return (
            f"refused: the {me.side} is in {state_name(me.local_state)}, so it is in touch "
            f"with the {other.side}; partner-down is for a partner that is down "
            "(dhcpd would only resolve a conflict back to normal). --force to do it anyway"
        )
    if other.reachable and known_state(other.local_state) not in STOPPING and other.answers_clients:
        return (
            f"refused: the {other.side} still runs (it answers OMAPI, in "
            f"{state_name(other.local_state)}) and answers DHCP clients; with the {me.side} in "
            "partner-down both would give out addresses. Stop it first, or --force"
        )
    return None
