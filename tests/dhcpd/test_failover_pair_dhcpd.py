"""FailoverPair and the ``aiomapi failover`` pair commands against a real dhcpd pair.

The pair is conftest's ``failover_pair`` (mclt 5 s, max-response-delay 5 s), shared by the
module; every test leaves both servers in normal. Each test runs under an overall
``asyncio.timeout`` and every wait is a poll with a deadline. The commands are found the
way an operator would: ``--config`` names the primary's dhcpd.conf (for the key and the
peer name) and ``--primary``/``--secondary`` give the lab's OMAPI addresses, which are in
neither file. Figures are printed (``pytest -s``) for docs/failover.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

import aiomapi
from aiomapi import FailoverState, cli
from aiomapi.failover.cli_pair import add_pair_parsers
from aiomapi.failover.connect import pair_from_options
from aiomapi.failover.pair import FailoverPair, PairStatus, Verdict
from aiomapi.testing.dhcpd_lab import DhcpdInstance
from aiomapi.testing.dhcpd_lab import FailoverPair as LabPair

from ..conftest import FAILOVER_MAX_RESPONSE_DELAY, FAILOVER_MCLT

pytestmark = [pytest.mark.dhcpd, pytest.mark.failover, pytest.mark.slow]

N = FailoverState.NORMAL
TEST_TIMEOUT = 60.0


def pair_argv(lab: LabPair) -> list[str]:
    p, s = lab.primary, lab.secondary
    return [
        f"--config={p.workdir / 'dhcpd.conf'}",
        f"--primary={p.host}:{p.port}",
        f"--secondary={s.host}:{s.port}",
        "--timeout=5",
    ]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aiomapi failover")
    add_pair_parsers(parser.add_subparsers(required=True))
    return parser.parse_args(argv)


async def run(*argv: str) -> int:
    """``aiomapi failover argv`` through the entry point: errors (a guard's refusal, 16)
    become exit codes and messages on stderr, as for a user."""
    return await asyncio.to_thread(cli.main, ["failover", *argv])


def client_of(inst: DhcpdInstance) -> aiomapi.Client:
    key = inst.key
    return aiomapi.Client(inst.host, inst.port, key=key, timeout=5)


@pytest_asyncio.fixture
async def pair(failover_pair: LabPair) -> AsyncIterator[FailoverPair]:
    async with pair_from_options(parse("status", *pair_argv(failover_pair))) as p:
        yield p


async def until(
    pair: FailoverPair, want: Callable[[PairStatus], bool], timeout: float
) -> tuple[PairStatus, float]:
    """Read the pair every 0.1 s until ``want``; returns the status and the seconds taken."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        status = await pair.status()
        if want(status):
            return status, time.monotonic() - start
        assert time.monotonic() < deadline, f"after {timeout} s: {status.states} {status.reasons}"
        await asyncio.sleep(0.1)


def healthy(status: PairStatus) -> bool:
    return status.verdict is Verdict.HEALTHY


def show(text: object) -> None:
    """Print past pytest's capture (capsys reads the commands' output)."""
    print(text, file=sys.__stderr__, flush=True)


def figure(name: str, value: object) -> None:
    show(f"FIGURE {name}: {value}")


async def test_status_in_normal_is_healthy_exit_0(
    failover_pair: LabPair, capsys: pytest.CaptureFixture[str]
) -> None:
    async with asyncio.timeout(TEST_TIMEOUT):
        assert await run("status", *pair_argv(failover_pair)) == 0
        text = capsys.readouterr().out
        show(text)
        assert text.startswith('failover peer "lab": healthy (exit 0)')
        assert await run("status", "--json", *pair_argv(failover_pair)) == 0
        doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "healthy"
    assert doc["exit_code"] == 0
    for side in ("primary", "secondary"):
        assert doc[side]["role"] == side
        assert doc[side]["local_state"] == "normal"
        assert doc[side]["partner_state"] == "normal"
        assert doc[side]["service"] == "cooperating"
        assert doc[side]["mclt"] == FAILOVER_MCLT  # the secondary learns it from the primary
        assert doc[side]["primary_share_percent"] == 50.0  # the lab's split 128


async def test_hosts_are_applied_to_both_servers(
    failover_pair: LabPair, pair: FailoverPair, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = pair_argv(failover_pair)
    mac, name = "02:ab:00:00:00:01", "pair-host-1"
    async with asyncio.timeout(TEST_TIMEOUT):
        # First the fact: a host created on the primary alone never reaches the secondary.
        await pair.primary.hosts.create(name="only-primary", hardware_address="02:ab:00:00:00:09")
        await asyncio.sleep(2)
        with pytest.raises(aiomapi.NotFound):
            await pair.secondary.hosts.get(name="only-primary")
        await pair.primary.hosts.delete(name="only-primary")

        code = await run(
            "hosts", "create", f"--name={name}", f"--mac={mac}", "--ip=10.100.3.1", *argv
        )
        out = capsys.readouterr().out
        show(out)
        assert code == 0
        for client in (pair.primary, pair.secondary):
            host = await client.hosts.get(name=name)
            assert str(host.ip_address) == "10.100.3.1"
        # create again: both refuse alike, so the command fails as a single server's would:
        # exit 11 (refused), dhcpd's reason in the JSON error
        assert await run("hosts", "create", f"--name={name}", f"--mac={mac}", "--json", *argv) == 11
        doc = json.loads(capsys.readouterr().out)
        assert doc["error"] == "AlreadyExists"
        assert doc["exit"] == 11
        # upsert moves the address on both
        code = await run(
            "hosts", "upsert", f"--name={name}", f"--mac={mac}", "--ip=10.100.3.2", *argv
        )
        assert code == 0
        capsys.readouterr()
        for client in (pair.primary, pair.secondary):
            assert str((await client.hosts.get(name=name)).ip_address) == "10.100.3.2"
        assert await run("hosts", "delete", f"--name={name}", *argv) == 0
        capsys.readouterr()
        for client in (pair.primary, pair.secondary):
            with pytest.raises(aiomapi.NotFound):
                await client.hosts.get(name=name)


async def test_partner_down_is_refused_while_the_servers_talk(
    failover_pair: LabPair, pair: FailoverPair, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = pair_argv(failover_pair)
    async with asyncio.timeout(TEST_TIMEOUT):
        assert await run("partner-down", "--peer-side=primary", *argv) == 16
        err = capsys.readouterr().err
        assert "refused: the primary is in normal" in err
        status = await pair.status()
        assert status.states == ("normal",) * 4  # nothing was changed
        # --force does it; dhcpd, still connected, resolves its way back to normal.
        start = time.monotonic()
        assert await run("partner-down", "--peer-side=primary", "--force", "--json", *argv) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["primary"]["local_state"] in {
            "partner-down",
            "potential-conflict",
            "conflict-done",
            "normal",
        }
        _, took = await until(pair, healthy, 30)
        figure(
            "forced partner-down while connected: back to normal/normal (s)",
            round(time.monotonic() - start, 1),
        )
        assert took < 30


async def test_resync_secondary(
    failover_pair: LabPair, pair: FailoverPair, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = pair_argv(failover_pair)
    async with asyncio.timeout(TEST_TIMEOUT):
        assert await run("resync", *argv) == 64  # without --yes: the plan only
        captured = capsys.readouterr()
        assert "the primary sits in partner-down" in captured.out
        assert f"about MCLT ({FAILOVER_MCLT} s)" in captured.out
        assert "--yes" in captured.err
        assert (await pair.status()).states == ("normal",) * 4

        assert await run("resync", "--yes", "--json", *argv) == 0
        captured = capsys.readouterr()
        show(captured.err)
        doc = json.loads(captured.out)
    assert doc["finished"]
    assert doc["final"]["verdict"] == "healthy"
    seen = {step["primary"]["local_state"] for step in doc["steps"]}
    assert "partner-down" in seen
    seen = {step["secondary"]["local_state"] for step in doc["steps"]}
    assert {"recover", "recover-wait"} <= seen
    figure("resync secondary: normal/normal again after (s)", doc["elapsed"])
    figure("resync secondary: primary in partner-down for (s)", doc["other_partner_down_seconds"])
    assert FAILOVER_MCLT - 1 < doc["elapsed"] < FAILOVER_MCLT + 20


async def test_resync_primary(failover_pair: LabPair, pair: FailoverPair) -> None:
    async with asyncio.timeout(TEST_TIMEOUT):
        steps: list[tuple[float, tuple[str | None, ...]]] = []
        result = await pair.resync(
            "primary", timeout=40, on_step=lambda s: steps.append((s.elapsed, s.status.states))
        )
    show(steps)
    assert result.finished
    assert any(states[2] == "partner-down" for _, states in steps)
    figure("resync primary: normal/normal again after (s)", round(result.elapsed, 1))


async def test_a_cut_is_degraded_within_max_response_delay(
    failover_pair: LabPair, pair: FailoverPair, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = pair_argv(failover_pair)
    async with asyncio.timeout(TEST_TIMEOUT):
        failover_pair.cut()
        try:
            status, took = await until(pair, lambda s: s.verdict is Verdict.DEGRADED, 20)
            figure("cut: degraded after (s)", round(took, 1))
            assert took < FAILOVER_MAX_RESPONSE_DELAY + 5
            assert status.exit_code == 1
            await until(
                pair, lambda s: s.states[0] == s.states[2] == "communications-interrupted", 10
            )
            assert await run("status", "--json", *argv) == 1
            doc = json.loads(capsys.readouterr().out)
            assert doc["verdict"] == "degraded"
            for side in ("primary", "secondary"):
                assert doc[side]["local_state"] == "communications-interrupted"
                assert doc[side]["partner_state"] == "normal"  # the last it heard
                assert doc[side]["service"] == "not-cooperating"
            # Both run: partner-down is refused, for either side.
            for side in ("primary", "secondary"):
                assert await run("partner-down", f"--peer-side={side}", *argv) == 16
                assert "still runs" in capsys.readouterr().err
        finally:
            failover_pair.heal()
        _, took = await until(pair, healthy, 30)
        figure("heal: healthy again after (s)", round(took, 1))


async def test_secondary_killed_unreachable_then_partner_down_then_back(
    failover_pair: LabPair, pair: FailoverPair, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = pair_argv(failover_pair)
    async with asyncio.timeout(TEST_TIMEOUT + 30):
        failover_pair.kill_secondary()
        try:
            assert await run("status", "--json", *argv) == 2
            doc = json.loads(capsys.readouterr().out)
            assert doc["verdict"] == "unreachable"
            assert not doc["secondary"]["reachable"]
            assert doc["primary"]["reachable"]
            status, took = await until(
                pair,
                lambda s: s.primary.local_state == FailoverState.COMMUNICATIONS_INTERRUPTED,
                20,
            )
            figure(
                "SIGKILL secondary: primary communications-interrupted after (s)", round(took, 1)
            )
            # The secondary is gone and the primary knows it: no --force needed.
            assert await run("partner-down", *argv) == 0
            out = capsys.readouterr().out
            show(out)
            assert "primary" in out
            status = await pair.status()
            assert status.primary.local_state == FailoverState.PARTNER_DOWN
            assert status.verdict is Verdict.UNREACHABLE
        finally:
            await asyncio.to_thread(failover_pair.start_secondary)
        # The restarted secondary finds its partner in partner-down: it recovers.
        seen: list[tuple[str | None, ...]] = []

        def note(s: PairStatus) -> bool:
            if not seen or seen[-1] != s.states:
                seen.append(s.states)
            return healthy(s)

        _, took = await until(pair, note, 60)
        show(seen)
        figure("restart after partner-down: healthy after (s)", round(took, 1))
        assert any(states[2] in ("recover", "recover-wait") for states in seen)
