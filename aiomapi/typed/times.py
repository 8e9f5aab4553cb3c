"""Lease times: aware UTC datetimes and the two sentinels, :data:`NEVER` and :data:`UNSET`.

dhcpd keeps every time as 31-bit seconds since the epoch and sends it as an int32 (docs/
dhcpd-behaviour.md, "Objects"): 0 means the time is not set, 0x7fffffff (MAX_TIME) means
never. :data:`LeaseTime` gives those two their own values, so no caller mistakes them for
1970 or 2038. Nothing here reads the clock.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Final, TypeAlias

from aiomapi.errors import LocalProtocolError
from aiomapi.facts import MAX_TIME
from aiomapi.typed.coders import decode_int32

__all__ = [
    "MAX_TIME",
    "NEVER",
    "UNSET",
    "LeaseTime",
    "TimeSentinel",
    "decode_time",
    "encode_time",
    "time_to_seconds",
]


class TimeSentinel(enum.Enum):
    """The two lease times that are not points in time."""

    #: The time is "never" (dhcpd's MAX_TIME, 0x7fffffff; ``never`` in the lease file).
    NEVER = "never"
    #: The time is not set (0 on the wire; the line is absent from the lease file).
    UNSET = "unset"


NEVER: Final = TimeSentinel.NEVER
UNSET: Final = TimeSentinel.UNSET

#: A lease time: an aware UTC datetime, :data:`NEVER` or :data:`UNSET`.
LeaseTime: TypeAlias = datetime | TimeSentinel


def decode_time(raw: bytes) -> LeaseTime:
    """Decode a lease time: int32 seconds since the epoch.

    Args:
        raw: exactly 4 bytes.

    Returns:
        :data:`UNSET` for 0, :data:`NEVER` for 0x7fffffff, else an aware UTC datetime.

    Raises:
        ValueError: ``raw`` is not 4 bytes long.
    """
    cached = _TIMES.get(raw) if type(raw) is bytes else None
    if cached is not None:
        return cached
    seconds = decode_int32(raw)
    if seconds == 0:
        return UNSET
    if seconds == MAX_TIME:
        return NEVER
    if len(_TIMES) >= _TIMES_CACHED:
        _TIMES.clear()
        _TIMES.update(_SENTINELS)
    time = _TIMES[bytes(raw)] = datetime.fromtimestamp(seconds, UTC)
    return time


# Lease replies repeat the same few timestamps (ends = tstp, starts = cltt, …), and most
# leases' times are unset or never: a small cache of immutable values, keyed by the four
# bytes as they came, saves the int and fromtimestamp work on the lookup hot path.
_SENTINELS: Final = {bytes(4): UNSET, MAX_TIME.to_bytes(4, "big"): NEVER}
_TIMES: dict[bytes, LeaseTime] = dict(_SENTINELS)
_TIMES_CACHED = 4096


def time_to_seconds(t: LeaseTime | int) -> int:
    """The wire number for a lease time (the inverse of :func:`decode_time`).

    Raises:
        LocalProtocolError: a naive datetime, or a time dhcpd cannot represent: before
            1970-01-01 00:00:01 UTC (0 would read back as unset) or at/after 2038-01-19
            03:14:07 UTC (0x7fffffff means never; dhcpd's times are 31-bit). An ``int`` must
            be in 0..0x7fffffff.
    """
    if t is NEVER:
        return MAX_TIME
    if t is UNSET:
        return 0
    if isinstance(t, datetime):
        if t.tzinfo is None or t.utcoffset() is None:
            raise LocalProtocolError(
                f"lease time {t!r} is naive; use an aware datetime, e.g. tzinfo=datetime.UTC"
            )
        seconds = int(t.timestamp() // 1)
        if not 0 < seconds < MAX_TIME:
            raise LocalProtocolError(
                f"lease time {t.isoformat()} is outside what dhcpd can store "
                "(after 1970-01-01T00:00:00Z, before 2038-01-19T03:14:07Z); use NEVER or UNSET"
            )
        return seconds
    if isinstance(t, int) and not isinstance(t, bool):
        if not 0 <= t <= MAX_TIME:
            raise LocalProtocolError(f"lease time {t} is outside 0..{MAX_TIME:#x}")
        return t
    raise TypeError(f"a lease time is a datetime, NEVER, UNSET or int, not {type(t).__name__}")


def encode_time(t: LeaseTime | int) -> bytes:
    """Encode a lease time as int32 seconds since the epoch.

    Args:
        t: an aware datetime, :data:`NEVER` (→ 0x7fffffff), :data:`UNSET` (→ 0), or the raw
            number of seconds (0..0x7fffffff).

    Raises:
        LocalProtocolError: see :func:`time_to_seconds`.
    """
    return time_to_seconds(t).to_bytes(4, "big")
