"""The per-connection in-flight budget that keeps dhcpd 4.4.3 alive.

Theory of operation
-------------------
dhcpd 4.4.3 aborts (``dst_api.c:353: REQUIRE(...) failed``) when the ``authlen`` field of a
signed message straddles a boundary of its 4048-byte connection buffers. That can only
happen when more than ~4040 bytes pile up for one connection in either direction without a
complete drain (reference §9.2–9.4). One request in flight at a time is always safe (§9.7).

So a request may be sent while other requests are outstanding only if

1. the bytes of all outstanding requests plus this one stay within :data:`REQUEST_LIMIT`
   (dhcpd's input buffer can then never reach the edge at 4041), and
2. the replies of all outstanding requests — which dhcpd may queue in front of this
   request's reply in one output batch — sum to at most :data:`REPLY_LIMIT`, so this reply
   starts before offset 4040 of a fresh output buffer.

Reply sizes are not known in advance. :class:`ReplySizeModel` bounds them: a STATUS reply
has a small fixed bound, and an object reply is bounded by the largest reply seen so far
for that kind of request, with a safety factor and margin. Until one has been seen the
size is unbounded, which lets that request go only alone. Unsigned traffic needs rule 1 as
well (the blocking-read freeze of §9.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Input edge is 4041 bytes of a fresh 4047-byte ring (§9.2); 4000 keeps a margin.
REQUEST_LIMIT = 4000
#: A reply must start at or before offset 4039 (§9.7 rule 2); 4000 keeps a margin.
REPLY_LIMIT = 4000
#: Upper bound of a STATUS reply: header, ``result`` int, a ``message`` text of at most
#: 64 bytes (dhcpd's longest is 31), two terminators and a SHA512 signature.
STATUS_REPLY_BOUND = 24 + (6 + 6 + 4) + (6 + 7 + 64) + 2 + 2 + 64
#: Observed maxima are scaled by this factor plus this margin, to absorb the variation of
#: hostnames, client ids and binding variables between objects of one type (§9.7 rule 2).
SAFETY_FACTOR = 1.25
SAFETY_MARGIN = 64

UNBOUNDED = math.inf


class ReplySizeModel:
    """Learns, per kind of request, an upper bound of the reply size."""

    __slots__ = ("_hint", "_max_seen")

    def __init__(self, hint: int | None = None) -> None:
        self._max_seen: dict[str, int] = {}
        self._hint = hint

    def estimate(self, kind: str | None, expects_object: bool) -> float:
        """Bound of the reply to a request of ``kind`` (e.g. ``"open:lease"``)."""
        if not expects_object:
            return STATUS_REPLY_BOUND
        seen = self._max_seen.get(kind) if kind is not None else None
        if seen is None:
            return self._hint if self._hint is not None else UNBOUNDED
        bound = math.ceil(seen * SAFETY_FACTOR) + SAFETY_MARGIN
        return max(bound, STATUS_REPLY_BOUND, self._hint or 0)

    def observe(self, kind: str | None, size: int) -> None:
        """Record the size of an object reply of ``kind``."""
        if kind is not None and size > self._max_seen.get(kind, 0):
            self._max_seen[kind] = size


@dataclass(slots=True)
class _Entry:
    request_size: int
    reply_estimate: float


class InflightBudget:
    """Bookkeeping of outstanding requests for one connection (see module doc)."""

    __slots__ = (
        "_entries",
        "_reply_total",
        "_request_total",
        "_unbounded",
        "reply_limit",
        "request_limit",
    )

    def __init__(self, request_limit: int = REQUEST_LIMIT, reply_limit: int = REPLY_LIMIT) -> None:
        self.request_limit = request_limit
        self.reply_limit = reply_limit
        self._entries: dict[int, _Entry] = {}
        self._request_total = 0
        self._reply_total = 0  # finite estimates only
        self._unbounded = 0  # outstanding requests whose reply size has no bound

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
        """Whether a request of ``request_size`` bytes may be sent now."""
        if not self._entries:
            return True  # one request in flight is always safe (§9.7)
        return (
            self._request_total + request_size <= self.request_limit
            and self.reply_bytes <= self.reply_limit
        )

    def add(self, request_id: int, request_size: int, reply_estimate: float) -> None:
        """Record a sent request."""
        self._entries[request_id] = _Entry(request_size, reply_estimate)
        self._request_total += request_size
        if math.isinf(reply_estimate):
            self._unbounded += 1
        else:
            self._reply_total += int(reply_estimate)

    def remove(self, request_id: int) -> None:
        """Record that the reply to ``request_id`` has been fully received."""
        entry = self._entries.pop(request_id, None)
        if entry is None:
            return
        self._request_total -= entry.request_size
        if math.isinf(entry.reply_estimate):
            self._unbounded -= 1
        else:
            self._reply_total -= int(entry.reply_estimate)
