"""The batch path (``omapi.leases.get_many``) against the real dhcpd, with hostile data.

The same dhcpd as the in-flight budget's proof (tests/dhcpd/test_pipelining_dhcpd.py): leases
from free ones (the smallest replies) to ones with 60 binding variables (about 6.5 KB),
200-byte client identifiers and hostnames placed so that reply sizes go up byte by byte, for
HMAC-MD5 and HMAC-SHA512. The batch writes its next request from inside the callback of the
reply before it; it must keep to the same rule, so dhcpd must never abort (no ``REQUIRE`` in
its log), and every answer must be its own question's, also with single callers of the same
client running beside the batch and batches left early.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing

import pytest
import pytest_asyncio

import aiomapi
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, lease_ip

from .test_pipelining_dhcpd import (
    ATTACK_FIRST,
    LEASES,
    ORDERS,
    SMALL,
    assert_alive,
    hostname_of,
    reply_size,
    start_varied_lab,
    variables_of,
)

pytestmark = [pytest.mark.dhcpd, pytest.mark.slow]

#: Lookups per batch in the adversarial orders (each order is repeated up to this length).
BATCH = 4000


@pytest.fixture(scope="module", params=["hmac-md5", "hmac-sha512"])
def hostile_dhcpd(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    lab_port: Callable[[], int],
) -> Iterator[DhcpdInstance]:
    inst = start_varied_lab(tmp_path_factory.mktemp("batch"), lab_port(), request.param)
    yield inst
    dhcpd_lab.stop(inst)


def key_of(inst: DhcpdInstance) -> aiomapi.Key:
    return inst.key


@pytest_asyncio.fixture
async def omapi(hostile_dhcpd: DhcpdInstance) -> AsyncIterator[aiomapi.Client]:
    inst = hostile_dhcpd
    async with aiomapi.Client(
        inst.host, inst.port, key=key_of(inst), timeout=30, connections=8
    ) as client:
        yield client


def check(ip: str, result: object) -> None:
    """``result`` is the lease at ``ip`` with the data the lease file gave it."""
    assert isinstance(result, aiomapi.Lease), (ip, result)
    assert str(result.ip_address) == ip
    i = int(result.ip_address) - int(dhcpd_lab.FIRST_LEASE)
    if i < LEASES:
        remote_handle = "remote-handle" in result.variables
        assert len(result.variables) == variables_of(i) + remote_handle, ip
        assert result.client_hostname == hostname_of(i), ip


def repeated(sequence: list[str], length: int) -> list[str]:
    return list(itertools.islice(itertools.cycle(sequence), length))


@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("ordered", [False, True], ids=["as-completed", "ordered"])
async def test_batch_over_leases_of_every_size_with_single_callers_beside_it(
    omapi: aiomapi.Client, hostile_dhcpd: DhcpdInstance, order: str, ordered: bool
) -> None:
    wanted = repeated(ORDERS[order](), BATCH)
    seen: Counter[str] = Counter()
    sizes: set[int] = set()
    singles = 0

    async def single_callers() -> None:
        nonlocal singles
        for ip in itertools.islice(itertools.cycle(reversed(wanted)), 300):
            check(ip, await omapi.leases.get(ip=ip))
            singles += 1

    async with asyncio.timeout(120):
        beside = [asyncio.create_task(single_callers()) for _ in range(4)]
        async for ip, result in omapi.leases.get_many(ips=iter(wanted), ordered=ordered, rate=None):
            check(ip, result)
            assert isinstance(result, aiomapi.Lease)
            sizes.add(len(result.variables))
            seen[ip] += 1
        await asyncio.gather(*beside)
    assert seen == Counter(wanted)
    assert singles == 4 * 300
    assert {0, 60} <= sizes or order == "small-then-large"
    assert_alive(hostile_dhcpd)


async def test_batch_onto_the_abort_window(
    omapi: aiomapi.Client, hostile_dhcpd: DhcpdInstance
) -> None:
    """The replies of a batch chosen so that all but the last total exactly 4,041 bytes
    (the reply behind them would start where dhcpd aborts), sent by fresh clients through
    get_many, several times over: one lookup at a time per connection keeps dhcpd up."""
    digest = omapi.key.signer().digest_size if omapi.key else 0
    attack = range(ATTACK_FIRST, LEASES)
    measured = await asyncio.gather(
        *(omapi.open("lease", {"ip-address": lease_ip(i)}) for i in attack)
    )
    size = {i: reply_size(obj, digest) for i, obj in zip(attack, measured, strict=True)}
    by_size = {s: i for i, s in size.items()}
    a, b = next(
        (a, b)
        for a in sorted(by_size)
        for b in sorted(by_size)
        if (4041 - b) % a == 0 and (4041 - b) // a >= 1
    )
    batch = [by_size[a]] * ((4041 - b) // a) + [by_size[b], ATTACK_FIRST]
    assert sum(size[i] for i in batch[:-1]) == 4041
    ips = [lease_ip(i) for i in batch]
    for connections in (1, 2, 8):
        async with aiomapi.Client(
            omapi.host, omapi.port, key=omapi.key, timeout=10, connections=connections
        ) as fresh:
            await fresh.leases.get(ip=SMALL[0])
            found = [r async for r in fresh.leases.get_many(ips=ips * 5, ordered=True, rate=None)]
            assert [ip for ip, _ in found] == ips * 5
            for ip, lease in found:
                check(ip, lease)
    assert_alive(hostile_dhcpd)


async def test_batches_left_early_then_every_answer_is_right(
    omapi: aiomapi.Client, hostile_dhcpd: DhcpdInstance
) -> None:
    """Batches left at random points (requests written, queued, answered but not yet
    yielded), some while single lookups run; then a full batch must still answer every
    question with its own lease."""
    rng = random.Random(12)
    everything = ORDERS["alternating"]() + ORDERS["one-huge-among-many-small"]()
    async with asyncio.timeout(180):
        for round_ in range(40):
            ips = (rng.choice(everything) for _ in range(10**6))
            stop_after = rng.choice((1, 2, 5, rng.randint(1, 400)))
            seen = 0
            single = asyncio.create_task(omapi.leases.get(ip=everything[round_]))
            async with aclosing(
                omapi.leases.get_many(
                    ips=ips, concurrency=rng.choice((1, 8, 256)), ordered=round_ % 2 == 0, rate=None
                )
            ) as results:
                async for ip, result in results:
                    check(ip, result)
                    seen += 1
                    if seen >= stop_after:
                        break
            check(everything[round_], await single)
        wanted = repeated(everything, 3000)
        async for ip, result in omapi.leases.get_many(ips=wanted, rate=None):
            check(ip, result)
    for conn in omapi.pool.connections:
        assert conn.load <= 1, conn
    assert_alive(hostile_dhcpd)


async def test_a_batch_keeps_to_its_rate_on_the_real_server(
    omapi: aiomapi.Client, hostile_dhcpd: DhcpdInstance
) -> None:
    wanted = repeated(SMALL, 600)
    started = time.monotonic()
    results = [r async for r in omapi.leases.get_many(ips=wanted, rate=1000)]
    elapsed = time.monotonic() - started
    assert len(results) == 600
    for ip, result in results:
        check(ip, result)
    assert elapsed >= 0.99 * 599 / 1000, elapsed  # a lower bound only: no flaky upper one
    assert_alive(hostile_dhcpd)
