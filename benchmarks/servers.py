"""The run's settings, and the one server every row runs against.

:func:`start_dhcpd` starts the real ISC dhcpd in a network namespace
(:mod:`aiomapi.testing.dhcpd_lab`); :func:`start_fake` starts aiomapi's in-memory
``FakeDhcpd`` in a process of its own (:mod:`aiomapi.bench.embedded`, as ``aiomapi bench``
does), so that it has a core of its own like dhcpd. Both give a :class:`Server`: where it
listens, its key, its pid (whose CPU time every row measures), the lease each key must
return, and the free leases of its pool beyond them (which a scan finds too).
:func:`scan_block` is the block of addresses the scan row covers.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import aiomapi
from aiomapi.bench import embedded
from aiomapi.bench.embedded import Target
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.layout import FREE_ADDRESSES, LAB_NETWORK, lease_ip

ROOT = Path(__file__).resolve().parent.parent
#: OMAPI ports of the dhcpd started here count up from this (the test suite uses 17911+).
FIRST_PORT = 27000
#: The scan row covers a /16 (65,536 addresses): the lab's leases are 10.100.1.0 + i
#: (aiomapi.testing.layout), so its 50,000 leases and the free addresses after them end at
#: 10.100.196.95, inside 10.100.0.0/16.
SCAN_PREFIX = 16


@dataclass(frozen=True, slots=True)
class Settings:
    """What the command line asked for (``benchmarks.run``'s options, with their defaults)."""

    smoke: bool
    leases: int
    duration: float  # seconds per aiomapi and pypureomapi row
    count: int | None  # lookups per row instead (smoke)
    omshell_lookups: int
    memory_lookups: int
    algorithm: str
    server: str  # "auto", "dhcpd" or "fake"
    pin: bool
    repeat: int  # runs per row; the least disturbed one is reported
    quiet_wait: float  # seconds to wait for a quiet machine before each run


@dataclass(slots=True)
class Server:
    """The server every row runs against."""

    kind: str
    description: str
    host: str
    port: int
    key: aiomapi.Key
    pid: int
    keys: list[str]
    expected: list[str]
    stop: Callable[[], None]
    alive: Callable[[], bool]
    #: Free leases of the pool after the last of ``keys`` (dhcpd makes them from its
    #: ``range``; the in-memory server has none): a scan finds them as well.
    pool_free: int = 0

    @property
    def target(self) -> Target:
        """What the runners of :mod:`aiomapi.bench` need to know of it."""
        return Target(self.host, self.port, self.key, self.keys, self.expected, self.pid)


# ---------------------------------------------------------------- the real dhcpd


def lab_hostnames(n: int) -> list[str]:
    return [f"host{i}" for i in range(n)]


def start_dhcpd(settings: Settings, workdir: Path) -> Server:
    """The real dhcpd in a network namespace (raises LabUnavailable where it cannot run)."""
    port = next(p for p in range(FIRST_PORT, FIRST_PORT + 1000) if not dhcpd_lab.port_busy(p))
    inst = dhcpd_lab.start_single(workdir, port, settings.leases, settings.algorithm)
    version = _dhcpd_version()
    return Server(
        kind="dhcpd",
        description=f"real {version} in network namespace {inst.netns} "
        f"({settings.leases:,} leases, {settings.algorithm})",
        host=inst.host,
        port=inst.port,
        key=inst.key,
        pid=inst.pid,
        keys=[dhcpd_lab.lease_ip(i) for i in range(settings.leases)],
        expected=lab_hostnames(settings.leases),
        stop=lambda: dhcpd_lab.stop(inst),
        alive=inst.alive,
        pool_free=FREE_ADDRESSES,
    )


def _dhcpd_version() -> str:
    try:
        done = subprocess.run(
            [dhcpd_lab.DHCPD, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return "ISC dhcpd"
    return (done.stdout + done.stderr).strip() or "ISC dhcpd"


def scan_block(server: Server, *, smallest: bool) -> IPv4Network:
    """The block of addresses the scan row looks up: from the lab network's first address,
    the /16 (:data:`SCAN_PREFIX`), or a larger block if the pool does not fit in it; with
    ``smallest`` (the smoke run), the smallest block that holds every address of the pool.

    Both servers lay their leases out as the lab does (10.100.1.0 + i); the first /24 and
    everything after the pool are addresses dhcpd has no lease for.
    """
    base = IPv4Network(LAB_NETWORK).network_address
    last = IPv4Address(lease_ip(len(server.keys) + server.pool_free - 1))
    prefix = 32 - (int(last) - int(base)).bit_length()
    if not smallest:
        prefix = min(prefix, SCAN_PREFIX)
    return IPv4Network(f"{base}/{prefix}")


# ---------------------------------------------------------------- the in-memory server


def start_fake(settings: Settings) -> Server:
    """aiomapi's in-memory server in a process of its own (so it has its own core)."""
    server = embedded.start(settings.leases, settings.algorithm)
    target = server.target
    assert target.key is not None
    assert target.expected is not None
    return Server(
        kind="fake",
        description=f"aiomapi.testing.FakeDhcpd (in-memory, separate process, "
        f"{settings.leases:,} synthetic leases, {settings.algorithm}); "
        "NOT dhcpd: its CPU figures say nothing about dhcpd's ceiling",
        host=target.host,
        port=target.port,
        key=target.key,
        pid=server.pid,
        keys=list(target.keys),
        expected=list(target.expected),
        stop=server.stop,
        alive=server.alive,
    )


# ---------------------------------------------------------------- placement


@contextlib.contextmanager
def pinned(server: Server, enabled: bool) -> Iterator[str]:
    """Optionally pin the server to CPU 0 and this process (and its children) to the rest."""
    if not enabled or not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        yield "not pinned (the kernel schedules server and client)"
        return
    cpus = sorted(os.sched_getaffinity(0))
    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(server.pid, {cpus[0]})
    os.sched_setaffinity(0, set(cpus[1:]))
    try:
        yield f"server pinned to CPU {cpus[0]}, clients to CPU {cpus[1:]}"
    finally:
        os.sched_setaffinity(0, mine)
