"""What a process and the machine spend: CPU time, resident memory, the machine's busy time.

Theory of operation
-------------------
The benchmarks judge a client by its CPU per lookup and a server by its ceiling
(1 / CPU per lookup), so the figures must be right for short rows too. ``psutil`` (the
``bench`` extra) reads resident memory and the machine's CPU counters; it reads exactly what
the kernel reports in ``/proc/<pid>/statm`` and ``/proc/stat``.

A process's CPU time is the one figure psutil cannot give to the precision needed:
``Process.cpu_times()`` comes from ``/proc/<pid>/stat`` in clock ticks (10 ms with the usual
``USER_HZ`` of 100), and a smoke row of 300 lease lookups costs dhcpd about 12 ms in all. So
:func:`process_cpu_seconds` sums the scheduler's nanosecond counters of every thread
(``/proc/<pid>/task/*/schedstat``) and falls back to psutil only where the kernel has none.

Without psutil (a plain ``pip install aiomapi`` running ``aiomapi bench``) the lookup runner
still works: this process's memory is its peak from :func:`resource.getrusage`, and the
machine's busy time is not measured (``None``).
"""

from __future__ import annotations

import contextlib
import math
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    import psutil
except ImportError:  # the `bench` extra is not installed: see the module docstring
    psutil = None  # type: ignore[assignment]

__all__ = [
    "CpuUsage",
    "machine_busy_seconds",
    "measure_process_cpu",
    "process_cpu_seconds",
    "rss_bytes",
]

_NEEDS_PSUTIL = "this measurement needs psutil: pip install 'aiomapi[bench]'"


def rss_bytes(pid: int | None = None) -> int:
    """Resident memory of process ``pid`` (this process by default), in bytes.

    Without psutil, this process's peak resident memory instead.

    Raises:
        ProcessLookupError: there is no such process.
        RuntimeError: ``pid`` was given and psutil is not installed.
    """
    if psutil is not None:
        try:
            return int(psutil.Process(pid).memory_info().rss)
        except psutil.NoSuchProcess:
            raise ProcessLookupError(pid) from None
    if pid is not None:
        raise RuntimeError(_NEEDS_PSUTIL)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far.

    Sums ``/proc/<pid>/task/*/schedstat`` (nanoseconds) when the kernel has it, else asks
    psutil (clock ticks, usually 10 ms).

    Raises:
        ProcessLookupError: there is no such process.
        RuntimeError: the kernel has no schedstat and psutil is not installed.
    """
    try:
        total = 0
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9
    except FileNotFoundError:
        if Path("/proc/self").exists() and not Path(f"/proc/{pid}").exists():
            raise ProcessLookupError(pid) from None
    except (OSError, ValueError, IndexError):
        pass
    if psutil is None:
        raise RuntimeError(_NEEDS_PSUTIL)
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        raise ProcessLookupError(pid) from None
    return float(times.user + times.system)


def machine_busy_seconds() -> float | None:
    """CPU seconds all CPUs of this machine have spent busy since boot.

    Busy is everything but idle and iowait, interrupts included; guest time is left out as
    the kernel already counts it in user and nice. ``None`` without psutil. The difference
    over a run, minus the client's and the server's CPU, is what the rest of the machine
    used meanwhile: the benchmark's background noise.
    """
    if psutil is None:
        return None
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    return float(sum(times) - idle - guest)


@dataclass(slots=True)
class CpuUsage:
    """CPU used by process ``pid`` during a :func:`measure_process_cpu` block.

    ``exited`` is set if the process was gone at the end; ``cpu_seconds`` is then NaN.
    """

    pid: int
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    exited: bool = False

    @property
    def utilisation(self) -> float:
        """Fraction of one core the process used (1.0 = one core busy all the time)."""
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else math.nan


@contextlib.contextmanager
def measure_process_cpu(pid: int) -> Iterator[CpuUsage]:
    """Measure the CPU time process ``pid`` uses while the block runs.

    Example::

        with measure_process_cpu(dhcpd_pid) as dhcpd:
            stats = await run_lookups(...)
        print(f"dhcpd busy {dhcpd.utilisation:.0%}")

    Raises:
        ProcessLookupError: the process does not exist when the block starts.
    """
    usage = CpuUsage(pid)
    cpu0 = process_cpu_seconds(pid)
    wall0 = time.perf_counter()
    try:
        yield usage
    finally:
        usage.wall_seconds = time.perf_counter() - wall0
        try:
            usage.cpu_seconds = process_cpu_seconds(pid) - cpu0
        except ProcessLookupError:
            usage.cpu_seconds, usage.exited = math.nan, True
