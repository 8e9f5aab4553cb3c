"""DHCP load on a lab dhcpd: run ``perfdhcp`` in the lab's client namespace, read its report.

Theory of operation
-------------------
A single server started with ``dhcp_client=True`` has the far end of its DHCP link in a
namespace of its own (``aiom-c-PORT``, :func:`~.netns.make_client_netns`). perfdhcp, ISC's
DHCP load generator (Debian's ``kea-admin`` package), runs there as ``ip netns exec NS
perfdhcp -4 -l lease1 ...``: it acts as a relay agent (``giaddr`` is the namespace's address,
:data:`~.config.CLIENT_ADDRESS`), so dhcpd answers from the lab subnet and leases from the pool
the lab adds for these clients. The packets have no way out of the two namespaces.

perfdhcp is asked for ``rate`` DORA exchanges a second for ``seconds``, from at most
``clients`` different hardware addresses, and with ``-x t`` for the time of every successful
exchange; :func:`parse_report` turns its report into a :class:`LoadReport` with the counts,
perfdhcp's own min/avg/max/std-dev, and percentiles computed from those times, for
DISCOVER-OFFER (DO) and REQUEST-ACK (RA) each. perfdhcp's exit status 3 only says that some
exchanges went unanswered, which the report counts; any other failure raises
:class:`~.errors.LabError`.

Whatever perfdhcp a run starts is killed when the run ends, by whatever means; and
:func:`stop_load` (called by :func:`~.servers.stop`) kills any perfdhcp left in a lab
namespace by a crashed run.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import signal
import subprocess
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import netns as ns
from .errors import LabError, LabUnavailable

if TYPE_CHECKING:
    from .servers import DhcpdInstance

__all__ = [
    "DEFAULT_CLIENTS",
    "PERFDHCP",
    "Exchange",
    "LoadReport",
    "parse_report",
    "perfdhcp",
    "perfdhcp_argv",
    "run_perfdhcp",
    "stop_load",
]

#: The DHCP load generator (Debian's ``kea-admin`` package).
PERFDHCP = "/usr/sbin/perfdhcp"
#: Simulated clients (hardware addresses) per run: half the lab's client pool, so the pool
#: never runs out however long a run is.
DEFAULT_CLIENTS = 4096
# What a run may take beyond its test period and drop time before it counts as hung.
_GRACE = 30.0


@dataclass(frozen=True, slots=True)
class Exchange:
    """One half of a DORA as perfdhcp counted it: DISCOVER-OFFER or REQUEST-ACK.

    Times are in milliseconds. ``min_ms`` .. ``std_ms`` are perfdhcp's own figures; the
    percentiles come from the times of every successful exchange (``-x t``), nearest rank,
    and are None when the report has none.
    """

    name: str
    sent: int
    received: int
    drops: int
    drops_percent: float
    orphans: int
    rejected: int
    min_ms: float | None
    avg_ms: float | None
    max_ms: float | None
    std_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    timed: int  # how many exchange times the percentiles were computed from


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What one perfdhcp run measured."""

    rate: float  # DORA exchanges per second achieved
    expected_rate: float | None  # what was asked for (None: as fast as possible)
    malformed: int
    discover_offer: Exchange
    request_ack: Exchange | None  # None when only DISCOVER-OFFER was run (-i)

    @property
    def dora_avg_ms(self) -> float | None:
        """Average DORA latency, the server's share of it: average DO plus average RA."""
        ra = self.request_ack
        if ra is None or self.discover_offer.avg_ms is None or ra.avg_ms is None:
            return None
        return self.discover_offer.avg_ms + ra.avg_ms

    @property
    def completed(self) -> int:
        """DORA exchanges that completed (ACKs received; OFFERs with ``-i``)."""
        last = self.request_ack or self.discover_offer
        return last.received


# ---------------------------------------------------------------- the report


_SECTION = re.compile(r"^\*\*\*(?:Statistics|Timestamps) for(?: packets)?: (\S+)\*\*\*$", re.M)
_FIELD = re.compile(r"^([a-z][a-z ]*[a-z]): (\S+)(?: (?:ms|%))?$", re.M)
_RATE = re.compile(r"^Rate: ([0-9.]+) (?:4-way|2-way) exchanges/second(?:, expected rate: (\S+))?$")
_MALFORMED = re.compile(r"^Malformed packets: (\d+)$", re.M)
_TIMES = re.compile(r"^sent / received: ([0-9.]+) / ([0-9.]+)$", re.M)


def parse_report(text: str) -> LoadReport:
    """Read perfdhcp's (DHCPv4) final report, as printed on its standard output.

    Raises:
        ValueError: ``text`` is not such a report (a section or count is missing).
    """
    rate = expected = None
    for line in text.splitlines():
        if m := _RATE.match(line):
            rate = float(m[1])
            expected = float(m[2]) if m[2] is not None else None
    if rate is None:
        raise ValueError("no 'Rate:' line in perfdhcp's report")
    malformed = _MALFORMED.search(text)
    # Cut the text at the section headers: statistics, then timestamps, per exchange type.
    marks = list(_SECTION.finditer(text))
    stats: dict[str, str] = {}
    times: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[m.end() : end]
        (stats if m[0].startswith("***Statistics") else times)[m[1]] = body
    if "DISCOVER-OFFER" not in stats:
        raise ValueError("no DISCOVER-OFFER statistics in perfdhcp's report")
    do = _exchange("DISCOVER-OFFER", stats["DISCOVER-OFFER"], times.get("DISCOVER-OFFER"))
    ra = None
    if "REQUEST-ACK" in stats:
        ra = _exchange("REQUEST-ACK", stats["REQUEST-ACK"], times.get("REQUEST-ACK"))
    return LoadReport(
        rate=rate,
        expected_rate=expected,
        malformed=int(malformed[1]) if malformed else 0,
        discover_offer=do,
        request_ack=ra,
    )


def _exchange(name: str, body: str, timestamps: str | None) -> Exchange:
    fields = {m[1]: m[2] for m in _FIELD.finditer(body)}

    def count(key: str) -> int:
        try:
            return int(fields[key])
        except (KeyError, ValueError):
            raise ValueError(f"{name}: no {key!r} count in perfdhcp's report") from None

    def ms(key: str) -> float | None:
        # With nothing received perfdhcp prints these as "n/a" or leaves them out.
        try:
            value = float(fields[key])
        except (KeyError, ValueError):
            return None
        return value if math.isfinite(value) else None

    delays = sorted((float(b) - float(a)) * 1000.0 for a, b in _TIMES.findall(timestamps or ""))
    return Exchange(
        name=name,
        sent=count("sent packets"),
        received=count("received packets"),
        drops=count("drops"),
        drops_percent=ms("drops ratio") or 0.0,
        orphans=count("orphans"),
        rejected=count("rejected leases"),
        min_ms=ms("min delay"),
        avg_ms=ms("avg delay"),
        max_ms=ms("max delay"),
        std_ms=ms("std deviation"),
        p50_ms=_percentile(delays, 0.50),
        p90_ms=_percentile(delays, 0.90),
        p99_ms=_percentile(delays, 0.99),
        timed=len(delays),
    )


def _percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None for an empty one)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# ---------------------------------------------------------------- running perfdhcp


def perfdhcp_argv(
    inst: DhcpdInstance,
    *,
    rate: int,
    seconds: float,
    clients: int = DEFAULT_CLIENTS,
    drop_time: float = 1.0,
    mac_base: str | None = None,
    cpus: Collection[int] | None = None,
) -> list[str]:
    """The command that runs perfdhcp against ``inst`` from its client namespace.

    The clients' hardware addresses count up from ``mac_base`` (perfdhcp's default
    00:0c:01:02:03:04 if None); runs with different bases simulate different clients.
    ``cpus`` pins perfdhcp to those CPUs (``taskset``), so that a benchmark can keep it off
    the CPU its OMAPI client keeps busy.

    Raises:
        LabUnavailable: perfdhcp is not installed.
        LabError: ``inst`` has no client namespace (start it with ``dhcp_client=True``), or
            bad arguments.
    """
    if inst.client_netns is None:
        raise LabError("this lab has no DHCP client namespace (start_single(dhcp_client=True))")
    if not os.access(PERFDHCP, os.X_OK):
        raise LabUnavailable(f"{PERFDHCP} not found (apt-get install kea-admin)")
    if rate < 1 or seconds <= 0 or clients < 1 or drop_time <= 0:
        raise LabError(f"bad perfdhcp arguments: {rate=} {seconds=} {clients=} {drop_time=}")
    argv = ["taskset", "-c", ",".join(map(str, sorted(cpus)))] if cpus else []
    argv += ["ip", "netns", "exec", inst.client_netns, PERFDHCP, "-4", "-l", "lease1"]
    argv += ["-r", str(rate), "-p", f"{seconds:g}", "-R", str(clients)]
    # -d: an exchange unanswered after drop_time is a drop; -W: after the test period, wait
    # as long for the answers still due (microseconds) so they are not counted as drops.
    argv += ["-d", f"{drop_time:g}", "-W", str(round(drop_time * 1e6)), "-x", "t"]
    if mac_base is not None:
        argv += ["-b", f"mac={mac_base}"]
    return argv


def run_perfdhcp(
    inst: DhcpdInstance,
    *,
    rate: int,
    seconds: float,
    clients: int = DEFAULT_CLIENTS,
    drop_time: float = 1.0,
    mac_base: str | None = None,
    cpus: Collection[int] | None = None,
) -> LoadReport:
    """Run ``rate`` DORA exchanges a second for ``seconds`` against ``inst``; wait for the report.

    Raises:
        LabUnavailable, LabError: as for :func:`perfdhcp_argv`; and LabError if perfdhcp
            fails or hangs.
    """
    argv = perfdhcp_argv(
        inst,
        rate=rate,
        seconds=seconds,
        clients=clients,
        drop_time=drop_time,
        mac_base=mac_base,
        cpus=cpus,
    )
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + drop_time + _GRACE, check=False
        )
    except subprocess.TimeoutExpired:
        raise LabError(f"perfdhcp still running after {seconds + drop_time + _GRACE:g} s") from None
    return _report(done.returncode, done.stdout, done.stderr)


async def perfdhcp(
    inst: DhcpdInstance,
    *,
    rate: int,
    seconds: float,
    clients: int = DEFAULT_CLIENTS,
    drop_time: float = 1.0,
    mac_base: str | None = None,
    cpus: Collection[int] | None = None,
) -> LoadReport:
    """:func:`run_perfdhcp` for asyncio: the event loop runs on (say, OMAPI load) meanwhile.

    Cancelling it kills perfdhcp.
    """
    argv = perfdhcp_argv(
        inst,
        rate=rate,
        seconds=seconds,
        clients=clients,
        drop_time=drop_time,
        mac_base=mac_base,
        cpus=cpus,
    )
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), seconds + drop_time + _GRACE)
    except TimeoutError:
        raise LabError(f"perfdhcp still running after {seconds + drop_time + _GRACE:g} s") from None
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return _report(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def _report(returncode: int, out: str, err: str) -> LoadReport:
    # 3: "no general failures in operation, but one or more exchanges were unsuccessful".
    if returncode not in (0, 3):
        raise LabError(f"perfdhcp exited with {returncode}: {err.strip() or out[-2000:]}")
    try:
        return parse_report(out)
    except ValueError as exc:
        raise LabError(f"perfdhcp's report unreadable ({exc}): {out[-2000:]}") from None


def stop_load(netns: str) -> None:
    """Kill every perfdhcp running in lab namespace ``netns`` (left by a crashed run), and
    wait (up to 5 s) until they are gone."""
    deadline = time.monotonic() + 5.0
    while (pids := [p for p in ns.netns_pids(netns) if _is_perfdhcp(p)]) and (
        time.monotonic() < deadline
    ):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _is_perfdhcp(pid: int) -> bool:
    # A zombie has an empty command line, and is gone once its parent reaps it.
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return Path(argv0.decode(errors="replace")).name == "perfdhcp"
