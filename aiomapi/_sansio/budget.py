"""The per-connection in-flight budget that keeps dhcpd 4.4.3 alive.

Theory of operation
-------------------
dhcpd 4.4.3 aborts (``dst_api.c:353: REQUIRE(...) failed``) when the ``authlen`` field of a
signed message straddles a boundary of its 4048-byte connection buffers. For a reply that
means: the reply starts at offset 4040, 4041 or 4042 of an output buffer that has not
drained since it was fresh. One request in flight at a time is always safe: each request
arrives in an emptied input buffer and each reply is written into an emptied output buffer.

A request may therefore be written while others are outstanding only if

1. the bytes of all outstanding requests plus this one stay within :data:`REQUEST_LIMIT`
   (dhcpd's input buffer can never reach its edge at 4041, nor the 4048-byte read that
   blocks dhcpd), and
2. every outstanding reply has a **proven upper bound** and those bounds sum to at most
   :data:`REPLY_LIMIT`.

Why rule 2 is enough: the bytes dhcpd holds in its output buffer for this connection are
replies it has not written yet, so replies the client has not fully received, so replies
of requests that are outstanding here. Under rule 2 they never total more than 4000 bytes,
dhcpd writes up to 4047 bytes per ``write()``, so each batch leaves in one write and the
buffer drains. A new reply is queued behind at most 4000 bytes and starts before 4040.
A request whose reply has no bound may still go last, behind bounded ones; nothing is
admitted behind it until its reply has been received in full (dhcpd has then written
everything and its buffer is empty again).

A bound is never learned from replies seen earlier: sizes of one object type differ by an
order of magnitude (a host with a 900-character name, a lease with binding variables), and
nothing in a request tells how big its reply will be. The bounds come from what dhcpd can
put into a reply (:func:`reply_bound`): a STATUS carries a result code and one of dhcpd's
fixed status texts; ``control`` and ``pool`` objects have fixed attribute sets. Leases,
hosts, groups, classes and failover states can hold strings and binding variables of any
length, so an OPEN or REFRESH of them has no bound and goes alone. If a reply ever exceeds
the bound the budget assumed, :meth:`InflightBudget.complete` says so and the connection
stops pipelining for good (:attr:`InflightBudget.sequential`).

Unsigned traffic needs rule 1 as well (the blocking read).
"""

from __future__ import annotations

import math
from typing import Final

from mypy_extensions import mypyc_attr

from aiomapi._sansio.wire import HEADER_SIZE, Opcode

# The longest signature (HMAC-SHA512) and a bound on dhcpd's fixed status texts.
from aiomapi.facts import MAX_DIGEST as MAX_DIGEST
from aiomapi.facts import MAX_STATUS_TEXT as MAX_STATUS_TEXT

#: Input edge is 4041 bytes of a fresh 4047-byte ring; 4000 keeps a margin.
REQUEST_LIMIT: Final = 4000
#: Replies queued ahead of a reply must end before offset 4040; 4000 keeps a margin.
REPLY_LIMIT: Final = 4000

UNBOUNDED: Final = math.inf


def _value(name: str, size: int) -> int:
    """Bytes of one name/value entry: 2-byte name length, name, 4-byte value length, value."""
    return 2 + len(name) + 4 + size


def _message_bound(message_values: int, object_values: int) -> int:
    return HEADER_SIZE + message_values + 2 + object_values + 2 + MAX_DIGEST


#: A STATUS reply: ``result`` (int32) and an optional ``message`` text, no object values.
STATUS_REPLY_BOUND: Final = _message_bound(
    _value("result", 4) + _value("message", MAX_STATUS_TEXT), 0
)
#: Object replies with a fixed attribute set (int32 attributes only). A reply to OPEN or
#: REFRESH is either this object or a STATUS.
FIXED_OBJECT_BOUNDS: Final[dict[str, int]] = {
    "control": _message_bound(0, _value("state", 4)),
    "pool": _message_bound(
        0, _value("lease-count", 4) + _value("free-leases", 4) + _value("backup-leases", 4)
    ),
}
#: Requests answered with an object (or a STATUS); the others are answered with a STATUS.
OBJECT_REPLIES: Final = frozenset({Opcode.OPEN, Opcode.REFRESH})


def reply_bound(opcode: Opcode, object_type: str | None) -> float:
    """Upper bound, in bytes, of dhcpd's reply to a request; :data:`UNBOUNDED` if none.

    UPDATE and DELETE are answered with a STATUS. OPEN and REFRESH are answered with the
    object (or a STATUS); only objects of :data:`FIXED_OBJECT_BOUNDS` have a bound.
    """
    if opcode not in OBJECT_REPLIES:
        return STATUS_REPLY_BOUND
    fixed = FIXED_OBJECT_BOUNDS.get(object_type) if object_type is not None else None
    if fixed is None:
        return UNBOUNDED
    return max(fixed, STATUS_REPLY_BOUND)


@mypyc_attr(allow_interpreted_subclasses=True)  # subclassed by interpreted code
class InflightBudget:
    """Bookkeeping of outstanding requests for one connection (see module doc).

    Attributes:
        sequential: set once a reply exceeded its bound; from then on one request at a time.
    """

    __slots__ = (
        "_entries",
        "_reply_total",
        "_request_total",
        "_unbounded",
        "reply_limit",
        "request_limit",
        "sequential",
    )

    def __init__(self, request_limit: int = REQUEST_LIMIT, reply_limit: int = REPLY_LIMIT) -> None:
        self.request_limit = request_limit
        self.reply_limit = reply_limit
        self.sequential = False
        self._entries: dict[int, tuple[int, float]] = {}
        self._request_total = 0
        self._reply_total = 0  # bounded replies only
        self._unbounded = 0  # outstanding requests whose reply has no bound

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def request_bytes(self) -> int:
        """Bytes of requests sent and not yet answered."""
        return self._request_total

    @property
    def reply_bytes(self) -> float:
        """Upper bound of the replies still to come."""
        return UNBOUNDED if self._unbounded else self._reply_total

    def fits(self, request_size: int) -> bool:
        """Whether a request of ``request_size`` bytes may be written now."""
        if not self._entries:
            return True  # one request in flight is always safe
        return (
            not self.sequential
            and not self._unbounded
            and self._request_total + request_size <= self.request_limit
            and self._reply_total <= self.reply_limit
        )

    def add(self, request_id: int, request_size: int, reply_bound: float) -> None:
        """Record a written request and the bound of its reply."""
        self._entries[request_id] = (request_size, reply_bound)
        self._request_total += request_size
        if math.isinf(reply_bound):
            self._unbounded += 1
        else:
            self._reply_total += int(reply_bound)

    def complete(self, request_id: int, reply_size: int) -> float | None:
        """Record that the ``reply_size``-byte reply to ``request_id`` has been received.

        Returns:
            the bound the reply exceeded (the budget is then :attr:`sequential`), or
            ``None`` if the reply kept within its bound or the request was not recorded.
        """
        entry = self._entries.pop(request_id, None)
        if entry is None:
            return None
        request_size, bound = entry
        self._request_total -= request_size
        if math.isinf(bound):
            self._unbounded -= 1
            return None
        self._reply_total -= int(bound)
        if reply_size > bound:
            self.sequential = True
            return bound
        return None
