"""A token bucket with no clock of its own: the rate limit's arithmetic, and nothing else.

Theory of operation
-------------------
:class:`TokenBucket` holds up to ``capacity`` tokens and gains ``rate`` of them a second.
Every method takes the current time (monotonic seconds) as an argument, so the bucket does
no I/O, reads no clock and can be driven by a test with a fake one; the asyncio side
(:mod:`aiomapi._asyncio.pacing`) passes ``loop.time()``.

Two ways to spend a token, for two kinds of taker:

* :meth:`TokenBucket.delay` and :meth:`TokenBucket.take` — look, then take only if a whole
  token is there. The batch pump uses them: it writes a request when a token is there, and
  otherwise arms one timer for :meth:`delay` seconds and offers the connection to others.
* :meth:`TokenBucket.reserve` — take a token now, even one not yet earned (the balance goes
  below zero), and return how long to wait until it is earned. Callers that each await
  their own turn use it: the n-th caller of a burst waits about n / ``rate`` seconds, in
  the order they called, and nothing needs to wake them in turn.

A reservation that is never used (its caller was cancelled, or gave up because the wait would
outlast its timeout) can be given back with :meth:`TokenBucket.refund`, but only while it is
the last one and its turn has not come. A reservation's turn is fixed when it is made, so the
callers that reserved after it keep theirs: tokens given back from the middle of the queue
would hand a new caller a turn that one of them already holds (two requests at one instant,
as many times over as tokens were given back). And once its turn has come, a taker may have
spent the tokens it left, or the bucket may have filled up. Before then, from the end of the
queue, the balance has stayed below zero since the reservation was made (nothing taken,
nothing lost to the capacity): giving the tokens back leaves the bucket exactly as if it had
never been made, so every bound below still holds. A reservation that cannot be given back
stays spent as if it had been used: that costs a turn, never the rate.

The bucket starts empty unless told otherwise, so N tokens taken from a fresh bucket take at
least (N - 1) / ``rate`` seconds and any T seconds see at most ``rate`` * T + ``capacity``
tokens taken.
"""

from __future__ import annotations

import math

__all__ = ["TokenBucket", "check_rate"]

#: A token short by less than this is whole: time steps that add up to a token in exact
#: arithmetic may come out a hair short of it in floating point.
_SLACK = 1e-9


def check_rate(rate: float | None, name: str = "rate") -> float | None:
    """``rate`` as a float, or ``None`` (no limit).

    Raises:
        ValueError: ``rate`` is not a number above 0 (a bool, NaN, 0, negative).
    """
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
        raise ValueError(f"{name} must be a number of requests a second above 0, got {rate!r}")
    if rate == float("inf"):
        return None
    return float(rate)


class TokenBucket:
    """``rate`` tokens a second, at most ``capacity`` held (see the module doc).

    Args:
        rate: tokens a second, above 0.
        capacity: the most tokens held, at least 1.
        now: the time the bucket starts (monotonic seconds, the clock later calls pass).
        tokens: tokens held at the start (0: it starts empty).

    Raises:
        ValueError: ``rate`` not above 0, ``capacity`` below 1.
    """

    __slots__ = ("_stamp", "_tokens", "capacity", "rate")

    def __init__(self, rate: float, capacity: float, now: float, *, tokens: float = 0.0) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be above 0, got {rate}")
        if not capacity >= 1:
            raise ValueError(f"burst must be at least 1, got {capacity}")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._tokens = min(float(tokens), self.capacity)
        self._stamp = now

    def __repr__(self) -> str:
        return f"<TokenBucket {self.rate:g}/s capacity={self.capacity:g} tokens={self._tokens:.3g}>"

    def tokens(self, now: float) -> float:
        """Tokens held at ``now`` (below 0 while reservations are not yet earned)."""
        self._refill(now)
        return self._tokens

    def delay(self, now: float) -> float:
        """Seconds from ``now`` until a whole token is there; 0 if one is there now."""
        self._refill(now)
        missing = 1.0 - self._tokens
        return missing / self.rate if missing > _SLACK else 0.0

    def take(self, now: float) -> bool:
        """Take a token if a whole one is there at ``now``; whether one was taken."""
        self._refill(now)
        if self._tokens >= 1.0 - _SLACK:
            self._tokens -= 1.0
            return True
        return False

    def reserve(self, now: float, count: float = 1.0) -> float:
        """Take ``count`` tokens now, earned or not; seconds from ``now`` until they are earned."""
        self._refill(now)
        self._tokens -= count
        return -self._tokens / self.rate if self._tokens < 0 else 0.0

    def refund(self, now: float, count: float, due: float) -> bool:
        """Give back the ``count`` tokens of an unused reservation, if it is the last one.

        The rate still holds because the turn given back was never used and nobody holds a
        later one: while the last reservation's turn has not come, the balance stays below
        zero, so no :meth:`take` can have spent a token and the bucket cannot have filled to
        its capacity since it was made; giving the tokens back leaves the bucket exactly as
        if the reservation had never been made, and never above its capacity. Tokens are not
        given back (they stay spent, as if used) when a later reservation holds the turns
        after this one (its turn was reckoned with this one ahead of it and will not move),
        nor once this one's turn has come (a taker may have spent the tokens it left).

        Args:
            now: the current time.
            count: the tokens reserved (what :meth:`reserve` was given).
            due: when they are earned: the time passed to :meth:`reserve` plus the delay it
                returned.

        Returns:
            Whether the tokens were given back.
        """
        self._refill(now)
        # When the last reservation is earned, if the balance is below zero (otherwise this
        # is before now, and due is too, or it is not the last). Times are only good to a few
        # units in the last place of the clock's reading, whatever the rate.
        tail = now - self._tokens / self.rate
        close = 4 * math.ulp(max(abs(due), abs(now))) + _SLACK / self.rate
        if abs(tail - due) > close or due < now - close:
            return False
        tokens = self._tokens + count
        self._tokens = tokens if tokens < self.capacity else self.capacity
        return True

    def _refill(self, now: float) -> None:
        elapsed = now - self._stamp
        if elapsed > 0:
            self._stamp = now
            tokens = self._tokens + elapsed * self.rate
            self._tokens = tokens if tokens < self.capacity else self.capacity
