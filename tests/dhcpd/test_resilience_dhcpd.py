"""Resilience against a real dhcpd that dies, freezes, restarts, or sees its callers give up.

Each destructive test starts its own dhcpd (``dhcpd_factory``), so the session server is never
touched. Every question is accounted for (see :class:`tests.resilience.Ledger`): exactly one
result, no result for a question not asked, every answer the lease that was asked for. Every
loop is bounded and every test runs under an overall ``asyncio.timeout``, so a broken library
fails here rather than hanging CI. The measured figures are printed (run with ``-s``).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal

import pytest

import aiomapi
from aiomapi.testing.dhcpd_lab import DhcpdInstance, lease_ip

from ..conftest import DhcpdFactory
from ..resilience import (
    Ledger,
    answers,
    cut_off,
    fatal_log_lines,
    gather_watching_pool,
    key_of,
    restart,
    stopped,
    until_ok,
    wait_dead,
)

pytestmark = pytest.mark.dhcpd


def client_for(inst: DhcpdInstance, *, timeout: float, connections: int = 1) -> aiomapi.Client:
    return aiomapi.Client(
        inst.host, inst.port, key=key_of(inst), timeout=timeout, connections=connections
    )


def report(test: str, **figures: object) -> None:
    shown = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()
    )
    print(f"\n[resilience] {test}: {shown}")


def assert_healthy(inst: DhcpdInstance) -> None:
    assert inst.alive(), f"dhcpd died:\n{inst.log_tail()}"
    assert not fatal_log_lines(inst), inst.log_tail()


# ------------------------------------------------------------------ kill -9 mid get_many

KILL_LEASES = 5000
KILL_AFTER = 1000  # results before dhcpd is killed
KILL_CONNECTIONS = 4
ERRORS_WITHIN = 5.0  # seconds from the kill to the end of the iteration
RECOVER_WITHIN = 10.0  # seconds from the restart to a successful lookup


@pytest.mark.slow
@pytest.mark.parametrize("ordered", [False, True], ids=["as-completed", "ordered"])
async def test_kill_9_mid_get_many_accounts_for_every_item(
    dhcpd_factory: DhcpdFactory, ordered: bool
) -> None:
    """kill -9 during a 5,000-item get_many over 4 connections: every IP gets exactly one
    result (its own lease or a connection error), the errors come at once, and the same
    Client works again once dhcpd is back."""
    inst = dhcpd_factory(n_leases=KILL_LEASES)
    ips = [lease_ip(i) for i in range(KILL_LEASES)]
    ledger = Ledger.of(ips)
    loop = asyncio.get_running_loop()
    async with (
        asyncio.timeout(60),
        client_for(inst, timeout=10, connections=KILL_CONNECTIONS) as client,
    ):
        killed_at: float | None = None
        first_error_at: float | None = None
        answered_before_kill = connections_at_kill = 0
        async for ip, result in client.leases.get_many(ips=ips, ordered=ordered):
            ledger.record(ip, result)
            if isinstance(result, aiomapi.OmapiError) and first_error_at is None:
                first_error_at = loop.time()
            if killed_at is None and ledger.recorded >= KILL_AFTER:
                answered_before_kill = ledger.answered
                connections_at_kill = len(client.pool.connections)
                os.kill(inst.pid, signal.SIGKILL)
                killed_at = loop.time()
        ended_at = loop.time()

        assert killed_at is not None
        assert first_error_at is not None
        assert answered_before_kill == KILL_AFTER  # nothing failed before the kill
        problems = ledger.problems(allowed=(aiomapi.ConnectionError_,))
        assert not problems, f"{len(problems)} problems, e.g. {problems[:10]}"
        assert ledger.recorded == KILL_LEASES
        assert sum(ledger.errors.values()) > 0, "the kill came too late to fail anything"
        assert ended_at - killed_at < ERRORS_WITHIN
        assert await asyncio.to_thread(wait_dead, inst)

        new = await asyncio.to_thread(restart, inst)
        restarted_at = loop.time()
        lease, failures = await until_ok(
            lambda: client.leases.get(ip=lease_ip(4321)), seconds=RECOVER_WITHIN
        )
        recovered_at = loop.time()
        assert answers(lease_ip(4321), lease)
        after = Ledger.of(ips[::25])
        async for ip, result in client.leases.get_many(ips=ips[::25]):
            after.record(ip, result)
        assert not after.problems()
    assert_healthy(new)
    report(
        f"kill -9 mid get_many (ordered={ordered})",
        items=ledger.recorded,
        answered=ledger.answered,
        errors=dict(ledger.errors),
        connections_at_kill=connections_at_kill,
        first_error_after_kill_ms=(first_error_at - killed_at) * 1e3,
        iteration_end_after_kill_ms=(ended_at - killed_at) * 1e3,
        failed_attempts_after_restart=len(failures),
        recovery_after_restart_ms=(recovered_at - restarted_at) * 1e3,
    )


# ------------------------------------------------------------------ SIGSTOP

STOP_TIMEOUT = 2.0
STOP_LOOKUPS = 50
STOP_EARLIEST, STOP_LATEST = 1.9, 4.0  # seconds a lookup may take to time out
THAW_WITHIN = 3.0  # seconds from SIGCONT to a successful lookup


@pytest.mark.slow
async def test_sigstop_times_out_every_lookup_then_recovers(dhcpd_factory: DhcpdFactory) -> None:
    """With dhcpd frozen, each of 50 concurrent lookups fails with aiomapi.TimeoutError after
    the client's timeout (not before, not much later); after SIGCONT the client recovers."""
    inst = dhcpd_factory(n_leases=STOP_LOOKUPS)
    loop = asyncio.get_running_loop()

    async def timed(i: int) -> tuple[float, object]:
        start = loop.time()
        try:
            result: object = await client.leases.get(ip=lease_ip(i))
        except aiomapi.OmapiError as exc:
            result = exc
        return loop.time() - start, result

    async with asyncio.timeout(30), client_for(inst, timeout=STOP_TIMEOUT, connections=2) as client:
        warm = await asyncio.gather(*(timed(i) for i in range(STOP_LOOKUPS)))
        assert all(answers(lease_ip(i), r) for i, (_, r) in enumerate(warm))
        with stopped(inst):
            outcomes = await asyncio.gather(*(timed(i) for i in range(STOP_LOOKUPS)))
            thawed_at = loop.time()
        wrong = [r for _, r in outcomes if not isinstance(r, aiomapi.TimeoutError)]
        assert not wrong, wrong[:5]
        assert all(isinstance(r, TimeoutError) for _, r in outcomes)  # the builtin too
        took = sorted(t for t, _ in outcomes)
        assert took[0] >= STOP_EARLIEST, took
        assert took[-1] <= STOP_LATEST, took

        lease, failures = await until_ok(
            lambda: client.leases.get(ip=lease_ip(7)), seconds=THAW_WITHIN
        )
        recovered_at = loop.time()
        assert answers(lease_ip(7), lease)
        again = await asyncio.gather(*(timed(i) for i in range(STOP_LOOKUPS)))
        assert all(answers(lease_ip(i), r) for i, (_, r) in enumerate(again))
    assert_healthy(inst)
    report(
        "SIGSTOP",
        lookups=len(outcomes),
        timeout=STOP_TIMEOUT,
        fastest_timeout_s=took[0],
        slowest_timeout_s=took[-1],
        failed_attempts_after_sigcont=len(failures),
        recovery_after_sigcont_ms=(recovered_at - thawed_at) * 1e3,
    )


# ------------------------------------------------------------------ 10,000 awaiters

AWAITERS = 10_000
SPREAD_CONNECTIONS = 4


@pytest.mark.slow
async def test_ten_thousand_concurrent_awaiters_get_their_own_answers(
    dhcpd_factory: DhcpdFactory,
) -> None:
    """10,000 lookups awaited at once, each for a different lease in shuffled order."""
    inst = dhcpd_factory(n_leases=AWAITERS)
    order = random.Random(10_000).sample(range(AWAITERS), AWAITERS)
    loop = asyncio.get_running_loop()
    # The per-call timeout covers queueing, and the burst may be served by one connection
    # one lookup at a time (see the next test): generous, the test's own bound is the outer.
    async with (
        asyncio.timeout(90),
        client_for(inst, timeout=80, connections=SPREAD_CONNECTIONS) as client,
    ):
        start = loop.time()
        results, busiest = await gather_watching_pool(
            client, [client.leases.get(ip=lease_ip(i)) for i in order]
        )
        took = loop.time() - start
        connections = len(client.pool.connections)
    ledger = Ledger.of(lease_ip(i) for i in order)
    for i, result in zip(order, results, strict=True):
        ledger.record(lease_ip(i), result)
    problems = ledger.problems()
    assert not problems, f"{len(problems)} problems, e.g. {problems[:10]}"
    assert ledger.answered == AWAITERS
    assert_healthy(inst)
    report(
        "10,000 awaiters",
        awaiters=AWAITERS,
        mismatched=len(problems),
        seconds=took,
        lookups_per_s=AWAITERS / took,
        connections_open=connections,
        connections_busy_at_once=busiest,
    )


BURST = 2000


async def test_a_burst_spreads_over_the_pools_connections(dhcpd_factory: DhcpdFactory) -> None:
    """2,000 lookups issued at once on Client(connections=4): more than one connection
    carries them."""
    inst = dhcpd_factory(n_leases=BURST)
    async with (
        asyncio.timeout(60),
        client_for(inst, timeout=50, connections=SPREAD_CONNECTIONS) as client,
    ):
        results, busiest = await gather_watching_pool(
            client, [client.leases.get(ip=lease_ip(i)) for i in range(BURST)]
        )
        connections = len(client.pool.connections)
    ledger = Ledger.of(lease_ip(i) for i in range(BURST))
    for i, result in enumerate(results):
        ledger.record(lease_ip(i), result)
    assert not ledger.problems()
    report("burst spread", connections_open=connections, connections_busy_at_once=busiest)
    assert busiest >= 2


# ------------------------------------------------------------------ cancellation storm

STORM_LEASES = 2000
STORM_SECONDS = 3.0
STORM_ROUNDS = 200  # bound on rounds, whatever the clock says
STORM_CHECK = 2000  # lookups in the correctness check after the storm
FREEZE_SECONDS = 0.15  # every 5th round dhcpd is SIGSTOPped this long (well below the timeout)


@pytest.mark.slow
async def test_cancellation_storm_then_every_answer_matches(dhcpd_factory: DhcpdFactory) -> None:
    """Rounds of concurrent lookups, a random half cancelled at random moments (queued, on the
    wire, or answered already; in some rounds while dhcpd is frozen, so that the late replies
    of cancelled requests arrive in a burst), and get_many loops left early; then every
    answer must still be its own question's, and dhcpd must not have aborted."""
    inst = dhcpd_factory(n_leases=STORM_LEASES)
    rng = random.Random(8)
    loop = asyncio.get_running_loop()
    ledger = Ledger()  # answers that came although a cancel was scheduled are checked too
    cancelled = rounds = early_exits = freezes = 0
    async with asyncio.timeout(60), client_for(inst, timeout=10, connections=2) as client:
        storm_end = loop.time() + STORM_SECONDS
        for rounds in range(1, STORM_ROUNDS + 1):
            wanted = [lease_ip(rng.randrange(STORM_LEASES)) for _ in range(rng.randint(20, 400))]
            ledger.asked.update(wanted)
            tasks = [asyncio.create_task(client.leases.get(ip=ip)) for ip in wanted]
            frozen = rounds % 5 == 0  # dhcpd stalls: cancels land on requests on the wire
            spread = FREEZE_SECONDS * 1.5 if frozen else 0.02
            for task in tasks:
                if rng.random() < 0.5:
                    # 0 cancels before the first step; the rest land anywhere in flight.
                    loop.call_later(rng.choice((0.0, rng.uniform(0, spread))), task.cancel)
            if frozen:
                freezes += 1
                await asyncio.sleep(0.005)  # let the round reach the wire first
                with stopped(inst):
                    await asyncio.sleep(FREEZE_SECONDS)
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for ip, result in zip(wanted, results, strict=True):
                if isinstance(result, asyncio.CancelledError):
                    cancelled += 1
                    ledger.asked[ip] -= 1  # a cancelled question has no result to account
                    if not ledger.asked[ip]:
                        del ledger.asked[ip]
                else:
                    ledger.record(ip, result)
            if rounds % 4 == 0:  # leave a bulk lookup early: it cancels what is in flight
                stop_after = rng.randint(1, 300)
                seen = 0
                async for ip, result in client.leases.get_many(
                    ips=(lease_ip(rng.randrange(STORM_LEASES)) for _ in range(1000)),
                    concurrency=rng.choice((8, 64, 256)),
                ):
                    assert answers(ip, result), (ip, result)
                    seen += 1
                    if seen >= stop_after:
                        early_exits += 1
                        break
            if loop.time() >= storm_end:
                break
        problems = ledger.problems()
        assert not problems, f"{len(problems)} problems, e.g. {problems[:10]}"

        check = [lease_ip(rng.randrange(STORM_LEASES)) for _ in range(STORM_CHECK)]
        after = Ledger.of(check)
        results = await asyncio.gather(
            *(client.leases.get(ip=ip) for ip in check), return_exceptions=True
        )
        for ip, result in zip(check, results, strict=True):
            after.record(ip, result)
        desyncs = after.problems()
        assert not desyncs, f"{len(desyncs)} wrong answers after the storm, e.g. {desyncs[:10]}"
    assert_healthy(inst)
    report(
        "cancellation storm",
        rounds=rounds,
        frozen_rounds=freezes,
        cancelled=cancelled,
        answered_during_storm=ledger.answered,
        get_many_left_early=early_exits,
        check_lookups=STORM_CHECK,
        desyncs=len(desyncs),
    )


# ------------------------------------------------------------------ restart while idle


IDLE_WAYS = {
    "kill-9": "kill -9 (the client sees the FIN), then restart",
    "in-place": "restart in place (dhcpd stopped and started again at once)",
    "silent": "the link cut, then kill -9 (no FIN ever arrives), then restart",
}


@pytest.mark.parametrize("how", list(IDLE_WAYS))
async def test_restart_while_idle_next_call_succeeds(dhcpd_factory: DhcpdFactory, how: str) -> None:
    """An idle Client whose dhcpd goes away and comes back: the next call works, or fails
    once with a connection error and the one after works."""
    inst = dhcpd_factory(n_leases=100)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(30), client_for(inst, timeout=5) as client:
        assert answers(lease_ip(3), await client.leases.get(ip=lease_ip(3)))
        assert len(client.pool.connections) == 1
        if how == "silent":
            cut_off(inst)
        if how in ("kill-9", "silent"):
            os.kill(inst.pid, signal.SIGKILL)
            assert await asyncio.to_thread(wait_dead, inst)
        if how == "kill-9":
            for _ in range(100):  # the client sees the FIN while idle
                if not client.pool.connections:
                    break
                await asyncio.sleep(0.01)
            assert not client.pool.connections, "the dead connection is still in the pool"
        new = await asyncio.to_thread(restart, inst)
        restarted_at = loop.time()
        lease, failures = await until_ok(
            lambda: client.leases.get(ip=lease_ip(4)), seconds=5, attempts=2
        )
        recovered_at = loop.time()
        assert answers(lease_ip(4), lease)
        assert all(isinstance(f, aiomapi.ConnectionError_) for f in failures), failures
        if how == "kill-9":
            assert not failures  # the pool had dropped the dead connection already
    assert_healthy(new)
    report(
        f"idle restart: {IDLE_WAYS[how]}",
        failed_attempts=len(failures),
        first_failure=repr(failures[0]) if failures else None,
        recovery_after_restart_ms=(recovered_at - restarted_at) * 1e3,
    )


# ------------------------------------------------------------------ timeout accuracy


async def test_call_timeout_bounds_reconnecting_to_a_frozen_server(
    dhcpd_factory: DhcpdFactory,
) -> None:
    """With connect_timeout longer than timeout, a call that has to open a connection to a
    frozen dhcpd still fails with aiomapi.TimeoutError after its own timeout."""
    inst = dhcpd_factory(n_leases=10)
    loop = asyncio.get_running_loop()
    client = aiomapi.Client(
        inst.host, inst.port, key=key_of(inst), timeout=0.5, connect_timeout=2.5
    )
    async with asyncio.timeout(20), client:
        assert answers(lease_ip(1), await client.leases.get(ip=lease_ip(1)))
        took: list[float] = []
        with stopped(inst):
            for i in range(2):  # on the frozen connection, then on a new one
                start = loop.time()
                with pytest.raises(aiomapi.TimeoutError):
                    await client.leases.get(ip=lease_ip(2 + i))
                took.append(loop.time() - start)
        assert all(0.45 <= t <= 1.5 for t in took), took  # 1.5: well short of 2.5
        lease, _ = await until_ok(lambda: client.leases.get(ip=lease_ip(5)), seconds=THAW_WITHIN)
        assert answers(lease_ip(5), lease)
    assert_healthy(inst)
    report(
        "call timeout 0.5 s, connect timeout 2.5 s, frozen server",
        on_open_connection_s=took[0],
        needing_a_new_connection_s=took[1],
    )


STAGGER = 0.5  # seconds between the lookups issued to the frozen server


async def test_timeout_error_comes_only_after_the_calls_own_timeout(
    dhcpd_factory: DhcpdFactory,
) -> None:
    """Lookups issued one after another to a frozen dhcpd: each aiomapi.TimeoutError comes
    after that lookup's own timeout; one that fails sooner fails with a connection error."""
    inst = dhcpd_factory(n_leases=10)
    loop = asyncio.get_running_loop()

    async def lookup_after(delay: float, i: int) -> tuple[float, object]:
        await asyncio.sleep(delay)
        start = loop.time()
        try:
            result: object = await client.leases.get(ip=lease_ip(i))
        except aiomapi.OmapiError as exc:
            result = exc
        return loop.time() - start, result

    async with asyncio.timeout(20), client_for(inst, timeout=STOP_TIMEOUT) as client:
        assert answers(lease_ip(1), await client.leases.get(ip=lease_ip(1)))
        with stopped(inst):
            outcomes = await asyncio.gather(*(lookup_after(STAGGER * i, i) for i in range(4)))
    report(
        "staggered lookups on a frozen server",
        outcomes=[f"{t:.2f}s {type(r).__name__}" for t, r in outcomes],
    )
    early = [
        (round(t, 2), r)
        for t, r in outcomes
        if isinstance(r, aiomapi.TimeoutError) and t < STOP_EARLIEST
    ]
    assert not early, f"TimeoutError before the call's own {STOP_TIMEOUT} s: {early}"
    assert all(isinstance(r, aiomapi.ConnectionError_ | aiomapi.TimeoutError) for _, r in outcomes)
