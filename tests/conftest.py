"""Shared fixtures.

Real ISC dhcpd servers come from :mod:`aiomapi.testing.dhcpd_lab` (network
namespaces, needs root).  Where the lab cannot run, tests that use these
fixtures are skipped with the reason -- or fail, if AIOMAPI_REQUIRE_DHCPD=1
(CI sets it, so a broken lab never passes as a green run of skips).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Iterator, Mapping
from typing import NoReturn, ParamSpec, Protocol, TypeVar

import pytest

from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, FailoverPair, LabUnavailable

# OMAPI ports of the servers started here count up from this; AIOMAPI_LAB_FIRST_PORT moves
# the range so that two test runs on one machine do not claim the same ports.
FIRST_PORT = int(os.environ.get("AIOMAPI_LAB_FIRST_PORT", "17911"))
# Failover timers for the failover_pair fixture.  max-response-delay: dhcpd
# sends contacts every delay // 3 s, so 3 is the least that is not a busy
# loop; 5 gives slack on a loaded CI box and still notices a cut in ~5 s.
# MCLT (>= 1) bounds recover-wait after partner-down.
FAILOVER_MCLT = 5
FAILOVER_MAX_RESPONSE_DELAY = 5

P = ParamSpec("P")
T = TypeVar("T")


# ---------------------------------------------------------------- event loop


if os.environ.get("AIOMAPI_EVENT_LOOP") == "uvloop":  # CI runs the suite on both loops

    def pytest_asyncio_loop_factories(
        config: pytest.Config, item: pytest.Item
    ) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
        """Run every asyncio test on uvloop."""
        import uvloop

        return {"uvloop": uvloop.new_event_loop}


# ---------------------------------------------------------------- dhcpd lab


def lab_unavailable(exc: LabUnavailable) -> NoReturn:
    """Skip the test for ``exc`` -- or fail it under AIOMAPI_REQUIRE_DHCPD=1."""
    if os.environ.get("AIOMAPI_REQUIRE_DHCPD") == "1":
        pytest.fail(f"dhcpd lab required (AIOMAPI_REQUIRE_DHCPD=1) but unavailable: {exc}")
    pytest.skip(f"dhcpd lab unavailable: {exc}")


def require_dhcpd() -> None:
    """Skip (or fail, see lab_unavailable) unless this machine can run the lab."""
    try:
        dhcpd_lab.check_environment()
    except LabUnavailable as exc:
        lab_unavailable(exc)


def start_lab(start: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``start(*args, **kwargs)`` with LabUnavailable turned into lab_unavailable."""
    try:
        return start(*args, **kwargs)
    except LabUnavailable as exc:
        lab_unavailable(exc)


@pytest.fixture(scope="session")
def lab_port() -> Callable[[], int]:
    """Callable returning a fresh OMAPI port (skipping ports another lab holds).

    Requesting it skips (or fails) the test where the lab cannot run.
    """
    require_dhcpd()
    ports = itertools.count(FIRST_PORT)

    def next_port() -> int:
        return next(p for p in ports if not dhcpd_lab.port_busy(p))

    return next_port


@pytest.fixture(scope="session")
def dhcpd(
    tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]
) -> Iterator[DhcpdInstance]:
    """One dhcpd for the whole session: 1000 leases (see dhcpd_lab.lease_ip), hmac-md5."""
    port = lab_port()
    inst = start_lab(dhcpd_lab.start_single, tmp_path_factory.mktemp("dhcpd"), port, 1000)
    yield inst
    dhcpd_lab.stop(inst)


class DhcpdFactory(Protocol):
    """What the dhcpd_factory fixture yields."""

    def __call__(
        self, n_leases: int = 100, algorithm: str = "hmac-md5", omapi_key: bool = True
    ) -> DhcpdInstance: ...


@pytest.fixture(scope="session")
def dhcpd_factory(
    tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]
) -> Iterator[DhcpdFactory]:
    """Callable starting another dhcpd on a fresh port; all are stopped at session end."""
    started: list[DhcpdInstance] = []

    def start(
        n_leases: int = 100, algorithm: str = "hmac-md5", omapi_key: bool = True
    ) -> DhcpdInstance:
        port = lab_port()
        inst = start_lab(
            dhcpd_lab.start_single,
            tmp_path_factory.mktemp(f"dhcpd-{port}"),
            port,
            n_leases,
            algorithm,
            omapi_key=omapi_key,
        )
        started.append(inst)
        return inst

    yield start
    for inst in started:
        dhcpd_lab.stop(inst)


@pytest.fixture(scope="module")
def failover_pair(
    tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]
) -> Iterator[FailoverPair]:
    """A primary/secondary pair (100 leases) in normal/normal, shared by a module.

    Timers: FAILOVER_MCLT, FAILOVER_MAX_RESPONSE_DELAY.  A test that cuts the
    link or stops the secondary must heal / restart it before it ends.
    """
    port1, port2 = lab_port(), lab_port()
    pair = start_lab(
        dhcpd_lab.start_failover,
        tmp_path_factory.mktemp("failover"),
        port1,
        port2,
        100,
        mclt=FAILOVER_MCLT,
        max_response_delay=FAILOVER_MAX_RESPONSE_DELAY,
    )
    try:
        dhcpd_lab.wait_failover_states(pair, "normal", "normal", timeout=30)
        yield pair
    finally:
        pair.stop()
