"""Helpers for the resilience suite against real dhcpd (tests/dhcpd/test_resilience_dhcpd.py).

* :class:`Ledger` does the per-item accounting: every question gets exactly one result, no
  result arrives for a question not asked, and every answer is the lease that was asked for.
* :func:`restart` brings a killed lab dhcpd back on the same address, port and key.
* :func:`stopped` freezes a dhcpd with SIGSTOP and always thaws it again.
* :func:`cut_off` takes down the server's end of its link, so that dhcpd's FIN (or anything
  else it sends) never reaches the client.
* :func:`until_ok` retries a call within a bounded number of attempts and seconds.
* :func:`gather_watching_pool` awaits many calls and records how many of the client's
  connections carried requests at the same time.

Every wait here is bounded, so a broken library fails these tests instead of hanging them.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import TypeVar

import aiomapi
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, lease_ip, lease_mac

T = TypeVar("T")

_FIRST_LEASE = int(IPv4Address(lease_ip(0)))
# What dhcpd prints when an internal check fails (the crash in docs/dhcpd-behaviour.md,
# "Requests that crash dhcpd", prints "dst_api.c:353: REQUIRE(...) failed, back trace") or
# when it gives up.
_FATAL_LOG = re.compile(r"REQUIRE|INSIST|ENSURE|INVARIANT|back trace|abort|exiting", re.I)


def key_of(inst: DhcpdInstance) -> aiomapi.Key:
    """The OMAPI key of a lab dhcpd."""
    return inst.key


def lease_index(ip: str | IPv4Address) -> int:
    """The lab lease number ``i`` whose address is ``ip`` (inverse of ``lease_ip``)."""
    return int(IPv4Address(ip)) - _FIRST_LEASE


def answers(ip: str | IPv4Address, result: object) -> bool:
    """Whether ``result`` is the lab lease at ``ip``: its address, MAC and hostname.

    The lab gives lease ``i`` the MAC ``lease_mac(i)`` and the hostname ``host<i>``
    (``aiomapi.testing.layout.lab_lease``), so an answer meant for another question is caught by
    all three fields, not only by the address that was asked.
    """
    if not isinstance(result, aiomapi.Lease):
        return False
    i = lease_index(ip)
    return (
        result.ip_address == IPv4Address(ip)
        and result.client_hostname == f"host{i}"
        and str(result.hardware_address) == lease_mac(i)
    )


@dataclass(slots=True)
class Ledger:
    """Per-item accounting of lease lookups by IP.

    Record every ``(ip, result)`` as it comes; :meth:`problems` then lists each question
    without exactly one result, each result for a question not asked, each answer that is
    not its question's lease, and each error outside ``allowed``.
    """

    asked: Counter[str] = field(default_factory=Counter)
    results: dict[str, list[object]] = field(default_factory=dict)
    answered: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, ips: Iterable[str]) -> Ledger:
        return cls(asked=Counter(ips))

    @property
    def recorded(self) -> int:
        return self.answered + sum(self.errors.values())

    def record(self, ip: str, result: object) -> None:
        self.results.setdefault(ip, []).append(result)
        if isinstance(result, aiomapi.Lease):
            self.answered += 1
        else:
            self.errors[type(result).__name__] += 1

    def problems(self, allowed: tuple[type[BaseException], ...] = ()) -> list[str]:
        """Everything that breaks the accounting (empty when all is well)."""
        out: list[str] = []
        for ip, n in self.asked.items():
            got = len(self.results.get(ip, ()))
            if got != n:
                out.append(f"{ip}: asked {n} time(s), {got} result(s)")
        for ip, results in self.results.items():
            if ip not in self.asked:
                out.append(f"{ip}: {len(results)} result(s) for a question never asked")
                continue
            for result in results:
                if isinstance(result, aiomapi.Lease):
                    if not answers(ip, result):
                        out.append(
                            f"{ip}: answered with {result.ip_address} {result.client_hostname!r}"
                        )
                elif not isinstance(result, allowed):
                    out.append(f"{ip}: unexpected {result!r}")
        return out


def fatal_log_lines(inst: DhcpdInstance) -> list[str]:
    """dhcpd's log lines that report a failed assertion, an abort or an exit."""
    return [line for line in inst.log_text().splitlines() if _FATAL_LOG.search(line)]


def wait_dead(inst: DhcpdInstance, seconds: float = 5.0) -> bool:
    """Wait (bounded) until ``inst`` has exited and been reaped; False if it still runs."""
    deadline = time.monotonic() + seconds
    while inst.alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def restart(inst: DhcpdInstance) -> DhcpdInstance:
    """Start dhcpd again in ``inst``'s work directory: same port, address, key and leases.

    The lab rebuilds the namespace, so any connection to the old process is gone for good.
    Blocking (about 0.3 s); call it with ``asyncio.to_thread`` from a test.
    """
    return dhcpd_lab.start_single(
        inst.workdir, inst.port, inst.leases, inst.algorithm, secret=inst.secret
    )


def cut_off(inst: DhcpdInstance) -> None:
    """Take down the interface that holds ``inst.host`` inside dhcpd's namespace.

    Nothing dhcpd sends reaches the client any more; :func:`restart` rebuilds the link.
    """
    shown = subprocess.run(
        ["ip", "-n", inst.netns, "-o", "addr", "show", "to", inst.host],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout.split()
    assert len(shown) > 1, f"no interface holds {inst.host} in {inst.netns}"
    device = shown[1]
    subprocess.run(["ip", "-n", inst.netns, "link", "set", device, "down"], timeout=10, check=True)


@contextmanager
def stopped(inst: DhcpdInstance) -> Iterator[None]:
    """dhcpd frozen with SIGSTOP for the ``with`` body, and always SIGCONT afterwards."""
    os.kill(inst.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(inst.pid, signal.SIGCONT)


async def until_ok(
    call: Callable[[], Awaitable[T]], *, seconds: float, attempts: int = 100, pause: float = 0.05
) -> tuple[T, list[aiomapi.OmapiError]]:
    """``await call()`` until it returns, at most ``attempts`` times within ``seconds``.

    Returns:
        the result and the OMAPI errors of the attempts that failed before it.

    Raises:
        AssertionError: no attempt succeeded in time (the errors are in the message).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    failures: list[aiomapi.OmapiError] = []
    for _ in range(attempts):
        try:
            async with asyncio.timeout_at(deadline):
                return await call(), failures
        except aiomapi.OmapiError as exc:
            failures.append(exc)
        except TimeoutError:
            break  # the overall deadline, not a library timeout (those are OmapiErrors)
        if loop.time() + pause >= deadline:
            break
        await asyncio.sleep(pause)
    raise AssertionError(f"no success within {seconds} s / {attempts} attempts: {failures[-5:]}")


async def gather_watching_pool(
    client: aiomapi.Client,
    calls: Sequence[Awaitable[T]],
    *,
    every: float = 0.01,
    max_samples: int = 100_000,
) -> tuple[list[T | BaseException], int]:
    """``asyncio.gather(*calls, return_exceptions=True)``, sampling the pool meanwhile.

    Returns:
        the results, and the largest number of connections seen carrying requests (in
        flight or queued) at one sample (``client.pool`` is there for inspection).
    """
    task = asyncio.ensure_future(asyncio.gather(*calls, return_exceptions=True))
    busiest = 0
    for _ in range(max_samples):
        busiest = max(busiest, sum(1 for conn in client.pool.connections if conn.load))
        done, _pending = await asyncio.wait([task], timeout=every)
        if done:
            break
    return await task, busiest
