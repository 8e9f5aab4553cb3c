"""The server's connection slots: who may hold a connection, and who gives way.

Theory of operation
-------------------
dhcpd has no defence against clients that hold connections without using them
(docs/dhcpd-behaviour.md, "Server behaviour and limits"). Here a connection must make
progress to keep its slot:

* ``startup_timeout``: the startup exchange — the client's startup message and, on a server
  with a key, opening an authenticator — must be done within this many seconds of accept.
* ``message_timeout``: once a message has begun, the server waits at most this long for
  the rest of it.
* ``idle_timeout``: only a complete request renews it, never bytes of an unfinished one, so
  trickled bytes cannot keep a connection for ever.
* ``max_connections`` and ``max_connections_per_address``: at either limit a new connection
  takes the slot of the most *stalled* connection in its way instead of being turned away:
  first one still in its startup exchange, the oldest first; then one the server is waiting
  on in the middle of something (the rest of a message, or the client taking its replies),
  the one waiting longest first. A connection that is established and has nothing
  half-done is never evicted; when every slot in the way holds one, the new connection is
  closed at once, as dhcpd does past its fd limit.

Why evict rather than only cap: every local client shares 127.0.0.1 (and clients behind NAT
share an address), so a per-address cap alone moves the lockout to the attacker's address,
which may be the legitimate client's too. A real client finishes its startup within a round
trip and then never stalls for long, so it is not the oldest stalled connection for long;
500 connections trickling bytes from the client's own address cost it one eviction of
someone else's slot and a few milliseconds (``tests/local/test_server_limits.py``).
Precedents: nginx, out of connections, closes idle keep-alive connections to make room;
Cisco's TCP intercept drops the oldest half-open connection (its default drop mode); sshd
bounds unauthenticated connections by number (``MaxStartups``) and time (``LoginGraceTime``).

What this cannot tell apart: on a server without a key, a client that sends its startup and
then nothing is established, exactly like an idle pooled client, and keeps its slot until
``idle_timeout``; ``max_connections_per_address`` bounds how many slots one address holds
that way. With a key, a client stays evictable until it has opened an authenticator. An
attacker opening connections faster than ``max_connections_per_address`` per round trip of
a legitimate client can evict that client during its startup; no ordering avoids that.

Evictions and refusals are logged at DEBUG one by one, and summarised at WARNING at most
once a minute (logger ``aiomapi.server``).

:class:`SlotTable` is that policy and nothing else: :meth:`SlotTable.take` gives a new
connection its slot (evicting or refusing as above), :meth:`SlotTable.release` frees it, and
the connection's coroutine in :mod:`aiomapi.server.listener` keeps its :class:`Slot`'s
``established`` and ``stalled_since`` up to date.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiomapi.server.limits import ServerLimits

__all__ = ["Slot", "SlotTable"]

log = logging.getLogger("aiomapi.server")

# The WARNING summary of evictions and refusals comes at most this often (seconds).
REPORT_INTERVAL = 60.0


@dataclass(eq=False, slots=True)
class Slot:
    """One connection as the slot policy sees it.

    Attributes:
        established: the startup exchange is done (see ``ServerLimits.startup_timeout``).
        stalled_since: loop time at which the server began waiting on the client in the
            middle of something: the rest of a message, or the client taking its replies.
            ``None`` while the connection is idle between requests or being served.
    """

    task: asyncio.Task[None]
    transport: asyncio.WriteTransport
    address: str  # what max_connections_per_address counts
    peer: str  # address and port, for the log
    accepted: float
    established: bool = False
    stalled_since: float | None = None

    def eviction_rank(self) -> tuple[int, float] | None:
        """Lower goes first; ``None``: never evicted."""
        if not self.established:
            return (0, self.accepted)
        if self.stalled_since is not None:
            return (1, self.stalled_since)
        return None


class SlotTable:
    """The slots of one server's connections, by task and by client address."""

    __slots__ = ("_by_address", "_evicted", "_next_report", "_refused", "_slots", "limits")

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self._slots: dict[asyncio.Task[None], Slot] = {}
        self._by_address: dict[str, set[Slot]] = {}
        self._evicted = self._refused = 0
        self._next_report = 0.0

    def __len__(self) -> int:
        return len(self._slots)

    def take(self, task: asyncio.Task[None], writer: asyncio.StreamWriter) -> Slot | None:
        """A slot for a new connection, evicting a stalled one if needed; ``None``: refuse."""
        limits = self.limits
        address, peer = _address_of(writer.get_extra_info("peername"))
        same = self._by_address.get(address, set())
        cap = limits.max_connections_per_address
        if cap is not None and len(same) >= cap:
            victim = _most_stalled(same)
            if victim is None:
                self._report("refused", peer, "its address holds max_connections_per_address")
                return None
            self._evict(victim, peer)
        if len(self._slots) >= limits.max_connections:
            victim = _most_stalled(self._slots.values())
            if victim is None:
                self._report("refused", peer, "max_connections are established")
                return None
            self._evict(victim, peer)
        slot = Slot(task, writer.transport, address, peer, asyncio.get_running_loop().time())
        self._slots[task] = slot
        self._by_address.setdefault(address, set()).add(slot)
        return slot

    def release(self, slot: Slot) -> None:
        """Free ``slot`` (no-op if it was freed already, by an eviction)."""
        if self._slots.pop(slot.task, None) is None:
            return
        same = self._by_address[slot.address]
        same.discard(slot)
        if not same:
            del self._by_address[slot.address]

    def _evict(self, victim: Slot, newcomer: str) -> None:
        now = asyncio.get_running_loop().time()
        if not victim.established:
            why = f"in its startup for {now - victim.accepted:.1f} s"
        else:
            assert victim.stalled_since is not None
            why = f"stalled for {now - victim.stalled_since:.1f} s"
        self.release(victim)
        victim.transport.abort()
        victim.task.cancel()
        self._report("evicted", victim.peer, f"{why}, for a connection from {newcomer}")

    def _report(self, what: str, peer: str, why: str) -> None:
        log.debug("%s the connection from %s: %s", what, peer, why)
        if what == "evicted":
            self._evicted += 1
        else:
            self._refused += 1
        now = asyncio.get_running_loop().time()
        if now >= self._next_report:
            log.warning(
                "connection slots full: %d stalled connections evicted, %d new connections"
                " refused (reported at most every %.0f s)",
                self._evicted,
                self._refused,
                REPORT_INTERVAL,
            )
            self._evicted = self._refused = 0
            self._next_report = now + REPORT_INTERVAL


def _most_stalled(slots: Iterable[Slot]) -> Slot | None:
    best: Slot | None = None
    best_rank: tuple[int, float] | None = None
    for slot in slots:
        rank = slot.eviction_rank()
        if rank is not None and (best_rank is None or rank < best_rank):
            best, best_rank = slot, rank
    return best


def _address_of(peer: object) -> tuple[str, str]:
    """The client address a connection counts against (IPv4-mapped IPv6 as IPv4), and the
    address with the port for the log."""
    if not isinstance(peer, tuple) or len(peer) < 2 or not isinstance(peer[0], str):
        return "", "?"
    try:
        address = ipaddress.ip_address(peer[0].partition("%")[0])
    except ValueError:
        return peer[0], f"{peer[0]}:{peer[1]}"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    text = str(address)
    return text, (f"[{text}]:{peer[1]}" if address.version == 6 else f"{text}:{peer[1]}")
