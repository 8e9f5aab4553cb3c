"""What a lookup run reports: progress while it runs, and its measurements at the end.

:class:`LookupStats` holds the raw figures (seconds, bytes, counts) and derives the rates
from them, so that a JSON file written from :meth:`LookupStats.as_dict` can be recomputed
and compared across runs. :class:`Row` is one line of a comparison, whichever client made
it (aiomapi's rows from a :class:`LookupStats`, the peers' from their own processes,
:mod:`aiomapi.bench.peers`), so that they compare column by column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LookupStats", "Progress", "Row"]


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress report from a running :func:`aiomapi.bench.lookups.run_lookups`."""

    label: str
    done: int
    errors: int
    elapsed: float
    rate: float  # lookups/s since the previous report
    count: int | None
    duration: float | None
    final: bool = False
    #: False while the lookups are made in another process that reports only at the end
    #: (``done`` and ``rate`` are then 0): progress is the time.
    counting: bool = True


@dataclass(frozen=True, slots=True)
class LookupStats:
    """What one :func:`aiomapi.bench.lookups.run_lookups` measured (seconds, bytes).

    ``lookups`` counts every lookup answered in the timed part, ``errors`` those that failed
    (an :class:`~aiomapi.OmapiError`, or the wrong hostname when ``expected`` was given);
    ``error_kinds`` counts them by exception class. ``samples`` holds up to
    :data:`aiomapi.bench.lookups.MAX_SAMPLES` ``(lookups done, seconds, RSS)`` points over
    the run.
    """

    label: str
    api: str
    concurrency: int
    connections: int
    lookups: int
    errors: int
    error_kinds: Mapping[str, int]
    seconds: float
    client_cpu_seconds: float
    latency_p50: float | None
    latency_p99: float | None
    latency_max: float | None
    rss_start: int
    rss_end: int
    rss_peak: int
    stopped_by: str
    server_cpu_seconds: float | None = None
    machine_busy_seconds: float | None = None
    #: the part of ``client_cpu_seconds`` spent in the kernel (system calls, the network
    #: stack); the rest ran in user space
    client_kernel_seconds: float | None = None
    samples: tuple[tuple[int, float, int], ...] = field(default=(), repr=False)

    @property
    def ok(self) -> int:
        """Lookups that returned the expected lease."""
        return self.lookups - self.errors

    @property
    def rate(self) -> float:
        """Lookups per second."""
        return _per_second(self.lookups, self.seconds) or 0.0

    @property
    def client_cpu_us(self) -> float | None:
        """Client CPU microseconds per lookup."""
        return _us_per_lookup(self.client_cpu_seconds, self.lookups)

    @property
    def client_kernel_share(self) -> float | None:
        """The fraction of the client's CPU spent in the kernel."""
        return _share(self.client_kernel_seconds, self.client_cpu_seconds)

    @property
    def server_utilisation(self) -> float | None:
        """Fraction of one core the server used, if its pid was given."""
        return _per_second(self.server_cpu_seconds, self.seconds)

    @property
    def server_cpu_us(self) -> float | None:
        """Server CPU microseconds per lookup, if its pid was given."""
        return _us_per_lookup(self.server_cpu_seconds, self.lookups)

    @property
    def other_cpu_seconds(self) -> float | None:
        """CPU the rest of the machine used meanwhile (neither this client nor the server)."""
        if self.machine_busy_seconds is None:
            return None
        server = self.server_cpu_seconds or 0.0
        return max(0.0, self.machine_busy_seconds - self.client_cpu_seconds - server)

    @property
    def server_ceiling(self) -> float | None:
        """Lookups/s the server could do on one core at this CPU cost per lookup."""
        us = self.server_cpu_us
        return 1e6 / us if us else None

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [
            f"{self.label}: {self.lookups} lookups in {self.seconds:.2f} s = "
            f"{self.rate:,.0f} lookups/s ({self.api} API, concurrency {self.concurrency}, "
            f"{self.connections} connection{'s' if self.connections != 1 else ''})",
            f"  latency p50 {_ms(self.latency_p50)}, p99 {_ms(self.latency_p99)}, "
            f"max {_ms(self.latency_max)}",
            f"  client CPU {_num(self.client_cpu_us, '.1f')} µs/lookup"
            + (
                f" ({self.client_kernel_share:.0%} of it in the kernel); "
                if self.client_kernel_share is not None
                else "; "
            )
            + f"RSS {self.rss_start / 2**20:.1f} → {self.rss_end / 2**20:.1f} MiB "
            f"(peak {self.rss_peak / 2**20:.1f})",
        ]
        if self.server_utilisation is not None:
            lines.append(
                f"  server CPU {self.server_utilisation:.0%} of one core, "
                f"{_num(self.server_cpu_us, '.1f')} µs/lookup "
                f"(ceiling {_num(self.server_ceiling, ',.0f')} lookups/s)"
            )
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.error_kinds.items()))
        lines.append(f"  errors: {self.errors}" + (f" ({errors})" if errors else ""))
        if self.stopped_by == "errors":
            lines.append("  stopped early: too many errors")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """The numbers as JSON-ready values (derived rates included)."""
        return {
            "label": self.label,
            "api": self.api,
            "concurrency": self.concurrency,
            "connections": self.connections,
            "lookups": self.lookups,
            "errors": self.errors,
            "error_kinds": dict(self.error_kinds),
            "seconds": self.seconds,
            "rate": self.rate,
            "latency_p50_ms": _scaled(self.latency_p50, 1e3),
            "latency_p99_ms": _scaled(self.latency_p99, 1e3),
            "latency_max_ms": _scaled(self.latency_max, 1e3),
            "client_cpu_us": self.client_cpu_us,
            "client_kernel_share": self.client_kernel_share,
            "server_cpu_seconds": self.server_cpu_seconds,
            "server_utilisation": self.server_utilisation,
            "server_cpu_us": self.server_cpu_us,
            "other_cpu_seconds": self.other_cpu_seconds,
            "rss_start": self.rss_start,
            "rss_end": self.rss_end,
            "rss_peak": self.rss_peak,
            "stopped_by": self.stopped_by,
            "samples": [list(s) for s in self.samples],
        }


@dataclass(slots=True)
class Row:
    """One line of a comparison: one client's run against the server (seconds, counts).

    Attributes:
        client: ``"aiomapi"``, ``"pypureomapi"`` or ``"omshell"``.
        server_cpu_seconds: the server's CPU time over the run, where its pid is known.
        other_cpu_seconds: what the rest of the machine used meanwhile (background noise).
    """

    name: str
    client: str
    api: str
    concurrency: int
    connections: int
    lookups: int
    errors: int
    seconds: float
    client_cpu_seconds: float | None
    server_cpu_seconds: float | None
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    other_cpu_seconds: float | None = None
    #: the part of ``client_cpu_seconds`` spent in the kernel
    client_kernel_seconds: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_stats(cls, name: str, stats: LookupStats, note: str = "") -> Row:
        """aiomapi's row from one run of the lookup runner."""
        return cls(
            name=name,
            client="aiomapi",
            api=stats.api,
            concurrency=stats.concurrency,
            connections=stats.connections,
            lookups=stats.lookups,
            errors=stats.errors,
            seconds=stats.seconds,
            client_cpu_seconds=stats.client_cpu_seconds,
            server_cpu_seconds=stats.server_cpu_seconds,
            latency_p50_ms=_scaled(stats.latency_p50, 1e3),
            latency_p99_ms=_scaled(stats.latency_p99, 1e3),
            other_cpu_seconds=stats.other_cpu_seconds,
            client_kernel_seconds=stats.client_kernel_seconds,
            note=note,
            extra={"error_kinds": dict(stats.error_kinds), "stopped_by": stats.stopped_by},
        )

    @property
    def rate(self) -> float:
        """Lookups per second."""
        return _per_second(self.lookups, self.seconds) or 0.0

    @property
    def client_cpu_us(self) -> float | None:
        """Client CPU microseconds per lookup."""
        return _us_per_lookup(self.client_cpu_seconds, self.lookups)

    @property
    def client_kernel_share(self) -> float | None:
        """The fraction of the client's CPU spent in the kernel."""
        return _share(self.client_kernel_seconds, self.client_cpu_seconds)

    @property
    def server_busy(self) -> float | None:
        """Fraction of one core the server used."""
        return _per_second(self.server_cpu_seconds, self.seconds)

    @property
    def server_cpu_us(self) -> float | None:
        """Server CPU microseconds per lookup."""
        return _us_per_lookup(self.server_cpu_seconds, self.lookups)

    @property
    def other_busy(self) -> float | None:
        """Cores the rest of the machine used meanwhile."""
        return _per_second(self.other_cpu_seconds, self.seconds)

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values (derived rates included)."""
        return {
            "name": self.name,
            "client": self.client,
            "api": self.api,
            "concurrency": self.concurrency,
            "connections": self.connections,
            "lookups": self.lookups,
            "errors": self.errors,
            "seconds": self.seconds,
            "rate": self.rate,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p99_ms": self.latency_p99_ms,
            "client_cpu_us": self.client_cpu_us,
            "client_kernel_share": self.client_kernel_share,
            "server_busy": self.server_busy,
            "server_cpu_us": self.server_cpu_us,
            "other_busy": self.other_busy,
            "note": self.note,
            **self.extra,
        }


def _per_second(amount: float | None, seconds: float) -> float | None:
    """``amount`` a second (lookups, or CPU seconds: a share of one core); None without it
    or without time."""
    return None if amount is None or seconds <= 0 else amount / seconds


def _share(part: float | None, whole: float | None) -> float | None:
    """``part`` as a fraction of ``whole``; None without either, or when ``whole`` is 0."""
    return None if part is None or not whole else part / whole


def _us_per_lookup(seconds: float | None, lookups: int) -> float | None:
    """CPU microseconds per lookup; None without the CPU figure or without lookups."""
    return None if seconds is None or not lookups else seconds / lookups * 1e6


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e3:.2f} ms"


def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, spec)
