"""Rate limits on the event loop: a :class:`~aiomapi._sansio.tokens.TokenBucket` read with
``loop.time()``.

Theory of operation
-------------------
A :class:`Pacer` owns one bucket, made on first use so that its clock is the running loop's.
A caller that must wait its turn (:meth:`Pacer.wait`) *reserves* its tokens and sleeps until
they are earned: callers are served in the order they came and no one needs to wake
them. Both hold to the event loop's timer resolution: uvloop's is 1 ms, so above 1,000
a second two turns within a millisecond can swap, and a turn can come up to that early.
A caller cancelled while it sleeps gives its tokens back if nobody reserved after it
(:meth:`~aiomapi._sansio.tokens.TokenBucket.refund` says why only then).
The batch pump (:mod:`aiomapi._asyncio.batch`) does not sleep: it asks :meth:`Pacer.delay`,
takes a token with :meth:`Pacer.take` when one is there, and otherwise arms one timer.

The bucket holds :data:`BURST_SECONDS` of tokens (at least one) and starts empty: a run's
average stays within the rate from its first request, and the burst only lets a taker that
fell behind (a slow reply) catch up.
"""

from __future__ import annotations

import asyncio
from typing import Final

from aiomapi._sansio.tokens import TokenBucket, check_rate

__all__ = ["BURST_SECONDS", "Pacer", "check_rate"]

#: A bucket holds this many seconds of tokens: at 5,000/s, 250 requests; at 200/s, 10. Any
#: T seconds see at most rate * T + that many requests.
BURST_SECONDS: Final = 0.05


class Pacer:
    """At most ``rate`` requests a second on the running event loop.

    Args:
        rate: requests a second, above 0.
        burst: the most tokens held (default: :data:`BURST_SECONDS` of ``rate``, at least 1).

    Raises:
        ValueError: ``rate`` not above 0, ``burst`` below 1.
    """

    __slots__ = ("_bucket", "burst", "rate")

    def __init__(self, rate: float, *, burst: float | None = None) -> None:
        checked = check_rate(rate)
        if checked is None:
            raise ValueError("a Pacer needs a finite rate")
        self.rate = checked
        self.burst = max(1.0, checked * BURST_SECONDS) if burst is None else float(burst)
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self._bucket: TokenBucket | None = None

    def __repr__(self) -> str:
        return f"<Pacer {self.rate:g}/s burst={self.burst:g}>"

    def bucket(self, now: float) -> TokenBucket:
        """The bucket, made at ``now`` (loop time) on first use."""
        bucket = self._bucket
        if bucket is None:
            bucket = self._bucket = TokenBucket(self.rate, self.burst, now)
        return bucket

    def delay(self, now: float) -> float:
        """Seconds from ``now`` until a token is there (0: there is one now)."""
        return self.bucket(now).delay(now)

    def take(self, now: float) -> bool:
        """Take a token if one is there at ``now``."""
        return self.bucket(now).take(now)

    def reserve(self, now: float, count: float = 1.0) -> float:
        """Take ``count`` tokens at ``now``; seconds until they are earned."""
        return self.bucket(now).reserve(now, count)

    def refund(self, now: float, count: float, due: float) -> bool:
        """Give back an unused reservation of ``count`` tokens earned at ``due``, if it is
        the last one and its turn has not come (:meth:`TokenBucket.refund`); whether it was.
        """
        return self.bucket(now).refund(now, count, due)

    async def wait(self, count: float = 1.0) -> None:
        """Wait until ``count`` tokens are earned, and spend them.

        A caller cancelled while it waits gives its tokens back if nobody has reserved since
        (a later caller's turn was reckoned behind this one and does not move): the next
        caller is not held back by a turn that was never used. Otherwise they stay spent,
        which costs a turn but never exceeds the rate.
        """
        loop = asyncio.get_running_loop()
        now = loop.time()
        delay = self.reserve(now, count)
        if delay > 0:
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                self.refund(loop.time(), count, now + delay)
                raise
