"""The server's connection slots and turns: stalled clients cannot lock others out, and a
flood on some connections does not hold up a request on another.

The slot policy and the turns are described in :mod:`aiomapi.server.listener`. The lockout and
flood tests run with the default :class:`~aiomapi.ServerLimits`: they are the promise made
to users, not a tuning.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import aiomapi
from aiomapi import Key, OmapiServer, ServerLimits
from aiomapi._sansio.server import ServerConnection
from aiomapi._sansio.wire import STARTUP_BYTES
from aiomapi.testing import FakeDhcpd

from ..local.test_server import NoteType, Raw, note_lookup
from ..server_load import (
    KEY_ENV,
    Session,
    Trickler,
    authenticator_open,
    closed_within,
    drive,
    frozen_heap,
    lease_ip,
    lookup,
    percentile,
)

KEY = Key.generate("omapi_key")
ROOT = Path(__file__).resolve().parent.parent.parent


async def established(port: int) -> Raw:
    """A connection that has had a request answered and now sends nothing."""
    raw = await Raw.connect(port)
    raw.writer.write(note_lookup(b"hello"))
    await raw.reply()
    return raw


async def refused(port: int) -> bool:
    """Whether a new connection is closed at once, before the server's startup message."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(5):
            return await reader.read(8) == b""
    except ConnectionError:
        return True
    finally:
        writer.close()


def test_limits_are_checked() -> None:
    for bad in (
        {"turn_requests": 0},
        {"read_size": 0},
        {"max_connections_per_address": 0},
        {"startup_timeout": 0},
        {"message_timeout": -1.0},
        {"write_timeout": 0.0},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ServerLimits(**bad)
    ServerLimits(max_connections_per_address=None, startup_timeout=None, message_timeout=None)


def test_the_connection_tells_how_much_of_a_message_has_come() -> None:
    """``ServerConnection.buffered``, which message_timeout watches."""
    conn = ServerConnection(require_auth=False)
    request = note_lookup(b"hello")
    assert conn.receive_data(STARTUP_BYTES + request[:30]) == []
    assert conn.buffered == 30
    assert len(conn.receive_data(request[30:] + request[:5])) == 1
    assert conn.buffered == 5
    assert len(conn.receive_data(request[5:])) == 1
    assert conn.buffered == 0


# ---------------------------------------------------------------- deadlines


async def test_startup_must_be_done_within_startup_timeout() -> None:
    limits = ServerLimits(startup_timeout=0.3, idle_timeout=None)
    async with OmapiServer([NoteType()], limits=limits) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await reader.readexactly(8) == STARTUP_BYTES

        async def dribble() -> None:  # a byte every 0.1 s: the startup would take 0.8 s
            for byte in STARTUP_BYTES:
                writer.write(bytes([byte]))
                await asyncio.sleep(0.1)

        task = asyncio.create_task(dribble())
        start = time.monotonic()
        try:
            assert await closed_within(reader, 3)
            assert 0.25 <= time.monotonic() - start < 0.75
        finally:
            task.cancel()
            writer.close()


async def test_a_keyed_server_wants_an_authenticator_within_startup_timeout() -> None:
    limits = ServerLimits(startup_timeout=0.3, idle_timeout=None)
    async with FakeDhcpd.like_lab(4, key=KEY, limits=limits) as fake:
        keyless = await Session.open(fake.host, fake.port, None)  # startup only
        keyed = await Session.open(fake.host, fake.port, KEY)
        try:
            assert await closed_within(keyless.reader, 3)
            await asyncio.sleep(0.3)  # past startup_timeout: the keyed session stays
            keyed.writer.write(keyed.request(lease_ip(1)))
            async with asyncio.timeout(5):
                reply = await keyed.reply()
            assert dict(reply.object)["client-hostname"] == b"host1"
        finally:
            keyless.close()
            keyed.close()


async def test_a_begun_message_must_be_finished_within_message_timeout() -> None:
    limits = ServerLimits(message_timeout=0.3, idle_timeout=None)
    async with OmapiServer([NoteType()], limits=limits) as server:
        slow = await Raw.connect(server.port)
        late = await Raw.connect(server.port)
        request = note_lookup(b"hello")

        async def dribble() -> None:  # the message would take 6 s
            for byte in request:
                slow.writer.write(bytes([byte]))
                await asyncio.sleep(0.1)

        task = asyncio.create_task(dribble())
        start = time.monotonic()
        try:
            assert await slow.closed(timeout=3)
            assert 0.25 <= time.monotonic() - start < 0.75
            # Silence between messages is not a message begun: a late request is answered.
            late.writer.write(request)
            assert (await late.reply()).rid == 1
        finally:
            task.cancel()
            slow.close()
            late.close()


async def test_trickled_bytes_do_not_renew_idle_timeout() -> None:
    limits = ServerLimits(idle_timeout=0.5, message_timeout=None)
    async with OmapiServer([NoteType()], limits=limits) as server:
        slow = await Raw.connect(server.port)
        busy = await Raw.connect(server.port)
        request = note_lookup(b"hello")

        async def dribble() -> None:  # a byte every 0.05 s: the message would take 3 s
            for byte in request:
                slow.writer.write(bytes([byte]))
                await asyncio.sleep(0.05)

        async def requests() -> int:  # a whole request every 0.15 s renews the deadline
            for i in range(8):
                busy.writer.write(note_lookup(b"hello", i + 1))
                await busy.reply()
                await asyncio.sleep(0.15)
            return 8

        task = asyncio.create_task(dribble())
        start = time.monotonic()
        answered = asyncio.create_task(requests())
        try:
            assert await slow.closed(timeout=3)
            assert 0.45 <= time.monotonic() - start < 1.0
            assert await answered == 8  # 1.2 s and more, well past idle_timeout
        finally:
            task.cancel()
            answered.cancel()
            slow.close()
            busy.close()


# ---------------------------------------------------------------- slots


@pytest.mark.parametrize(
    "limits",
    [ServerLimits(max_connections_per_address=3), ServerLimits(max_connections=3)],
    ids=["per-address", "global"],
)
async def test_a_new_connection_evicts_the_most_stalled_one(
    limits: ServerLimits, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "aiomapi.server")
    async with OmapiServer([NoteType()], limits=limits) as server:
        idle = await established(server.port)
        stalled = await Raw.connect(server.port)
        stalled.writer.write(note_lookup(b"hello")[:30])  # half a message, then nothing
        await asyncio.sleep(0.1)
        starting = await Raw.connect(server.port, startup=b"\x00\x00")  # half a startup

        # In its startup is evicted first, though the stalled message is older.
        newcomer = await established(server.port)
        assert await starting.closed(timeout=3)
        assert not await closed_within(stalled.reader, 0.2)
        # Then the connection waiting longest for the rest of a message.
        another = await established(server.port)
        assert await stalled.closed(timeout=3)
        # Every slot holds an established connection with nothing half-sent: refused.
        assert await refused(server.port)
        for raw in (idle, newcomer, another):
            raw.writer.write(note_lookup(b"hello", 9))
            assert (await raw.reply()).rid == 9
            raw.close()

    evictions = [r for r in caplog.records if r.getMessage().startswith("evicted")]
    assert len(evictions) == 2
    assert all(r.levelno == logging.DEBUG for r in evictions)
    summaries = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(summaries) == 1  # at most one a minute
    assert "connection slots full" in summaries[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]


@pytest.fixture
def open_files() -> Iterator[int]:
    """Room for about 2,000 descriptors (the soft limit raised within the hard one)."""
    wanted = 2048
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted or soft == resource.RLIM_INFINITY:
        yield soft
        return
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"needs {wanted} open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        yield wanted
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize(
    ("keyed", "limits"),
    [
        (True, ServerLimits()),
        (False, ServerLimits()),
        (False, ServerLimits(max_connections_per_address=None)),
    ],
    ids=["keyed", "keyless", "keyless-no-address-cap"],
)
async def test_500_trickling_connections_do_not_lock_out_a_client(
    keyed: bool, limits: ServerLimits, open_files: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 8.3: 255 connections trickling a byte a second held every slot for good."""
    caplog.set_level(logging.INFO, "aiomapi.server")
    key = KEY if keyed else None
    cap = min(limits.max_connections, limits.max_connections_per_address or 10**6)
    async with FakeDhcpd.like_lab(10, key=key, limits=limits) as fake:
        # Thirds: silent; the startup and a message trickled; the startup at once and then
        # a message trickled (on a keyed server the authenticator OPEN: no key to sign with).
        first = authenticator_open(KEY) if keyed else lookup(lease_ip(1), 1, None, 0)
        scripts = [(b"", 0), (STARTUP_BYTES + first, 1), (STARTUP_BYTES + first, 8)]
        tricklers = [Trickler(*scripts[i % 3]) for i in range(500)]
        stop = asyncio.Event()
        driver: asyncio.Task[int] | None = None
        waits: list[float] = []
        try:
            for i in range(0, len(tricklers), 50):
                await asyncio.gather(*(t.connect(fake.port) for t in tricklers[i : i + 50]))
            driver = asyncio.create_task(drive(tricklers, fake.port, stop))
            await asyncio.sleep(1.5)
            assert fake.server.connections >= cap  # every slot the tricklers can get is theirs
            for i in range(3):
                start = time.monotonic()
                async with asyncio.timeout(1.0):
                    async with aiomapi.Client(fake.host, fake.port, key=key, timeout=1) as omapi:
                        lease = await omapi.leases.get(ip=str(lease_ip(i)))
                waits.append(time.monotonic() - start)
                assert lease.client_hostname == f"host{i}"
                assert fake.server.connections <= cap
                await asyncio.sleep(0.3)
        finally:
            stop.set()
            if driver is not None:
                async with asyncio.timeout(10):
                    await driver
            for t in tricklers:
                t.close()
    assert max(waits) < 1.0
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# ---------------------------------------------------------------- turns


async def test_a_pipelined_batch_does_not_hold_up_another_connection() -> None:
    """A lookup sent while another connection's 2,000 are being served is answered soon."""
    async with OmapiServer([NoteType()]) as server:
        flood = await Raw.connect(server.port)
        probe = await Raw.connect(server.port)
        received = 0
        first = asyncio.Event()

        async def read_flood() -> None:
            nonlocal received
            while received < 2000:
                await flood.reply()
                received += 1
                first.set()

        flood.writer.write(b"".join(note_lookup(b"hello", i + 1) for i in range(2000)))
        reader = asyncio.create_task(read_flood())
        try:
            async with asyncio.timeout(10):
                await first.wait()
            probe.writer.write(note_lookup(b"hello", 7))
            assert (await probe.reply()).rid == 7
            # Without turns the server answered the whole 64 KiB read first (1,000 lookups).
            assert received < 500
            async with asyncio.timeout(10):
                await reader
        finally:
            reader.cancel()
            flood.close()
            probe.close()


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "keyless"])
async def test_a_probe_is_answered_within_50ms_while_20_connections_flood(keyed: bool) -> None:
    """Issue 8.4: 20 connections pipelining 1,200 lookups each; a probe's p99 < 50 ms.

    The flooders and the probe run in a child process (``tests/server_load.py``), so that
    the probe's timing measures the server and not the load generator sharing its loop.
    Before turns, the probe waited 0.6-1.8 s per lookup and managed about ten in 15 s.
    """
    key = KEY if keyed else None
    lookups = 300
    with frozen_heap():
        out = await flood_and_probe(key, lookups)
    latencies = json.loads(out)["latencies"]
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    figures = f"{len(latencies)} lookups, p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms"
    assert len(latencies) == lookups, figures
    assert p99 < 0.050, figures


async def flood_and_probe(key: Key | None, lookups: int) -> bytes:
    """Run ``tests/server_load.py`` against a FakeDhcpd served here; its JSON output."""
    async with FakeDhcpd.like_lab(50, key=key) as fake:
        env = dict(os.environ)
        env.pop(KEY_ENV, None)
        if key is not None:
            env[KEY_ENV] = f"{key.algorithm}:{key.name}:{key.secret}"
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.server_load",
            str(fake.port),
            "--flooders=20",
            "--batch=1200",
            f"--lookups={lookups}",
            "--seconds=15",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(60):
                out, _ = await child.communicate()
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
    assert child.returncode == 0
    return out
