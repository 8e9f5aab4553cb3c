"""Fuzzing the server: any bytes from a client end in replies or a closed connection.

Never an unhandled exception, never a hang of other clients. The sans-IO layers are fuzzed
with hypothesis (raw bytes, and well-framed messages with hostile contents run through the
FakeDhcpd object types); the asyncio server is hit with garbage while a well-behaved
client is served alongside, and by 100 hostile connections at once while a probe client
times its lookups.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiomapi
from aiomapi import Key
from aiomapi._sansio.server import (
    CloseConnection,
    RequestReceived,
    SendData,
    ServerConnection,
    ServerState,
)
from aiomapi._sansio.wire import STARTUP_BYTES, Framer, Message, Opcode, decode_frame, encode_body
from aiomapi.server.objects import Dispatcher
from aiomapi.testing import FakeDhcpd, FakeFailoverPeer

from ..server_load import authenticator_open, frozen_heap, lease_ip, lookup, percentile

T = TypeVar("T")
KEY = Key.generate("omapi_key")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (the FakeDhcpd types are synchronous)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("the dispatcher suspended")


def check_reply(data: bytes) -> Message:
    framer = Framer()
    framer.feed(data)
    frame = framer.next_frame()
    assert frame is not None
    assert framer.buffered == 0
    message = decode_frame(frame)
    assert message.opcode in (Opcode.UPDATE, Opcode.STATUS)
    return message


# ---------------------------------------------------------------- raw bytes


@FUZZ
@given(
    data=st.binary(max_size=600),
    require_auth=st.booleans(),
    startup=st.booleans(),
    cuts=st.lists(st.integers(0, 600), max_size=5),
)
def test_any_bytes(data: bytes, require_auth: bool, startup: bool, cuts: list[int]) -> None:
    conn = ServerConnection(require_auth=require_auth, max_message_size=4096)
    conn.add_authenticator(1, KEY)
    stream = (STARTUP_BYTES if startup else b"") + data
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    closed = False
    for start, end in itertools.pairwise(bounds):
        for event in conn.receive_data(stream[start:end]):
            assert not closed, "events after the close"
            if isinstance(event, CloseConnection):
                closed = True
                assert conn.state is ServerState.CLOSED
            elif isinstance(event, SendData):
                check_reply(event.data)
            else:
                assert isinstance(event, RequestReceived)
                check_reply(conn.send_reply(event, Message(Opcode.STATUS)))
    assert conn.state is not ServerState.CLOSED or closed


# ---------------------------------------------------------------- framed, hostile contents

NAMES = [
    "type", "create", "update", "exclusive", "op", "id", "handle", "name", "ip-address",
    "hardware-address", "hardware-type", "dhcp-client-identifier", "state", "ends", "flags",
    "statements", "group", "match", "hashstring", "local-state", "partner-state", "algorithm",
    "client-hostname", "known", "option", "x",
]  # fmt: skip
TYPES = [
    b"lease", b"host", b"group", b"class", b"subclass", b"failover-state", b"control",
    b"pool", b"subnet", b"shared-network", b"interface", b"authenticator", b"generic", b"nope",
]  # fmt: skip

values = st.one_of(
    st.sampled_from([b"", b"\x00\x00\x00\x01", b"\x00\x00\x00\x02", b"\x00\x00\x00\x63", b"\x01"]),
    st.sampled_from(TYPES),
    st.sampled_from([b"\x0a\x64\x01\x05", b"\x02\x00\x00\x00\x00\x05", b"lab", b"c1", b"g"]),
    st.binary(max_size=24),
)
OTHER_OPS = [Opcode.REFRESH, Opcode.UPDATE, Opcode.DELETE, Opcode.NOTIFY]
pairs = st.lists(st.tuples(st.sampled_from(NAMES), values), max_size=6)
messages = st.builds(
    lambda op, handle, mv, ov, typ: Message(op, handle, 1, 0, (("type", typ), *mv), tuple(ov)),
    st.sampled_from([*[Opcode.OPEN] * 4, *OTHER_OPS]),
    st.integers(0, 40),
    pairs,
    pairs,
    st.sampled_from(TYPES),
)  # fmt: skip


@FUZZ
@given(batch=st.lists(messages, min_size=1, max_size=8))
def test_hostile_requests_against_the_fake(batch: list[Message]) -> None:
    fake = FakeDhcpd.like_lab(8, failover_peers=[FakeFailoverPeer(b"lab")], interfaces=["eth0"])
    dispatcher: Dispatcher = fake.dispatcher
    conn = ServerConnection(require_auth=False)
    conn.receive_data(STARTUP_BYTES)
    for message in batch:
        try:
            data = encode_body(message, 0, 0)
        except aiomapi.LocalProtocolError:
            continue
        for event in conn.receive_data(data):
            if isinstance(event, RequestReceived):
                reply = run_sync(dispatcher.handle(conn, event.message))
                check_reply(conn.send_reply(event, reply))
            elif isinstance(event, SendData):
                check_reply(event.data)
        if conn.state is ServerState.CLOSED:
            break


# ---------------------------------------------------------------- over TCP


def garbage_payloads(seed: int = 4) -> list[bytes]:
    rng = random.Random(seed)
    header = encode_body(Message(Opcode.OPEN, id=1), 0, 0)[:24]
    payloads = [
        b"",  # connect and say nothing (until the idle timeout)
        b"\x00\x00\x00\x64",  # half a startup
        rng.randbytes(64),
        STARTUP_BYTES + rng.randbytes(2000),
        STARTUP_BYTES + header + b"\x00\x04type\xff\xff\xff\xff",  # 4 GB value announced
        STARTUP_BYTES + header + b"\x00\x04type\x00\x00\x00\x05lea",  # then silence
        STARTUP_BYTES + encode_body(Message(Opcode.OPEN, message=(("op", b""),)), 0, 0),
        STARTUP_BYTES + encode_body(Message(Opcode.REFRESH, 1, 1), 7, 16) + bytes(16),
        (100).to_bytes(4, "big") + (4096).to_bytes(4, "big") + rng.randbytes(5000),
    ]
    for _ in range(30):
        payloads.append(STARTUP_BYTES + header[:8] + rng.randbytes(rng.randrange(1, 300)))
    return payloads


async def abuse(host: str, port: int, payload: bytes) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(payload)
        async with asyncio.timeout(0.3):
            while await reader.read(65536):
                pass
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


async def test_garbage_never_stalls_a_good_client() -> None:
    limits = aiomapi.ServerLimits(idle_timeout=2.0, max_message_size=64 * 1024)
    async with FakeDhcpd.like_lab(50, key=KEY, limits=limits) as fake:
        async with aiomapi.Client(fake.host, fake.port, key=KEY, timeout=5) as omapi:

            async def good() -> int:
                done = 0
                for i in range(150):
                    lease = await omapi.leases.get(ip=f"10.100.1.{i % 50}")
                    assert lease.client_hostname == f"host{i % 50}"
                    done += 1
                return done

            bad = [abuse(fake.host, fake.port, p) for p in garbage_payloads()]
            results = await asyncio.gather(good(), *bad)
            assert results[0] == 150
            # still serving afterwards, and the abusers are gone
            assert (await omapi.leases.get(ip="10.100.1.1")).client_hostname == "host1"
        for _ in range(100):
            if fake.server.connections == 0:
                break
            await asyncio.sleep(0.05)
        assert fake.server.connections == 0


# ---------------------------------------------------------------- many hostile connections


def hostile_payloads(seed: int, key: Key | None, count: int = 120) -> list[tuple[bytes, bool]]:
    """Misbehaving sessions' bytes, each with whether to vanish (reset) right after them.

    Made before the sessions start, so that making them does not load the event loop the
    server shares. Pipelines of lookups (up to 2,000) are flooded and abandoned, mutated or
    cut short; lookups come signed with a key the server lacks or an authenticator never
    opened; the rest is :func:`garbage_payloads` and random bytes.
    """
    rng = random.Random(seed)
    start = STARTUP_BYTES + (authenticator_open(key) if key is not None else b"")
    wrong = Key.generate("omapi_key")
    forged = b"".join(lookup(lease_ip(i), i + 2, wrong.signer(), 1) for i in range(20))
    garbage = garbage_payloads(seed)
    payloads: list[tuple[bytes, bool]] = []
    for _ in range(count):
        pipeline = b"".join(
            lookup(lease_ip(rng.randrange(50)), i + 2, None, 0)
            for i in range(rng.choice([1, 20, 300, 2000]))
        )
        kind = rng.randrange(6)
        if kind == 0:  # flood and vanish: the server must not serve the dead pipeline
            payloads.append((start + pipeline, True))
            continue
        vanish = rng.random() < 0.5
        if kind == 1:  # mutated: a few bytes anywhere (lengths, opcodes, names …)
            data = bytearray(start + pipeline)
            for _ in range(rng.randrange(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            payloads.append((bytes(data), vanish))
        elif kind == 2:  # cut short, then silence until the session gives up
            payloads.append(((start + pipeline)[: rng.randrange(1, len(start + pipeline))], False))
        elif kind == 3:  # signed with a key the server does not have
            payloads.append((STARTUP_BYTES + authenticator_open(wrong) + forged, vanish))
        elif kind == 4:
            payloads.append((rng.choice(garbage), vanish))
        else:
            payloads.append((STARTUP_BYTES + rng.randbytes(rng.randrange(1, 4000)), vanish))
    return payloads


async def misbehave(
    host: str, port: int, payloads: list[tuple[bytes, bool]], seed: int, stop: asyncio.Event
) -> int:
    """Open hostile sessions one after another until ``stop`` (at most 200); their count."""
    rng = random.Random(seed)
    sessions = 0
    while not stop.is_set() and sessions < 200:
        sessions += 1
        payload, vanish = rng.choice(payloads)
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            continue
        try:
            writer.write(payload)
            if not vanish:
                async with asyncio.timeout(rng.choice([0.01, 0.1, 0.3])):
                    while await reader.read(65536):
                        pass
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.transport.abort()  # a reset: replies not yet read are thrown away
    return sessions


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "keyless"])
async def test_100_hostile_connections_while_a_probe_measures_latency(
    keyed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """100 connections misbehave in every way we know while a client times its lookups.

    No traceback and no error is logged (nor asyncio's warning about writing to a socket
    that is gone), every answer to the probe is right, and its p99 stays under 150 ms. The
    hostile sessions and the probe share the server's event loop, as in most tests, so the
    probe's time is mostly that of an event loop kept busy by 100 clients: p99 20-50 ms on
    an idle two-core machine. Before the server served connections in turns it was
    220-510 ms (the keyless probe did not finish in 30 s), and asyncio logged about a
    million warnings about writing replies to clients that had reset.
    """
    caplog.set_level(logging.WARNING)
    key = KEY if keyed else None
    lookups = 200
    payloads = hostile_payloads(5, key)
    with frozen_heap():
        await hostile_sessions_and_a_probe(key, payloads, lookups)
    bad = [
        r
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR or "socket.send() raised" in r.getMessage()
    ]
    assert not bad, [r.getMessage() for r in bad[:10]]


async def hostile_sessions_and_a_probe(
    key: Key | None, payloads: list[tuple[bytes, bool]], lookups: int
) -> None:
    async with FakeDhcpd.like_lab(50, key=key) as fake:
        stop = asyncio.Event()
        hostile = [
            asyncio.create_task(misbehave(fake.host, fake.port, payloads, seed, stop))
            for seed in range(100)
        ]
        latencies: list[float] = []
        try:
            async with aiomapi.Client(fake.host, fake.port, key=key, timeout=5) as omapi:
                await asyncio.sleep(0.3)  # the hostile sessions are under way
                async with asyncio.timeout(30):
                    for i in range(lookups):
                        n = (i * 7) % 50
                        start = time.perf_counter()
                        lease = await omapi.leases.get(ip=str(lease_ip(n)))
                        latencies.append(time.perf_counter() - start)
                        assert lease.client_hostname == f"host{n}"
        finally:
            stop.set()
            async with asyncio.timeout(30):
                sessions = await asyncio.gather(*hostile)
        for _ in range(100):
            if fake.server.connections == 0:
                break
            await asyncio.sleep(0.05)
        assert fake.server.connections == 0
    assert sum(sessions) >= 300
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    # 150 ms on a machine that runs nothing else (CI); a machine whose other work already
    # keeps more runnable processes than it has cores stretches every wait by about that
    # factor, so the bound does too (an unfair server, 220-510 ms on an idle machine, still
    # fails at a load of one).
    crowding = max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    bound = 0.150 * crowding
    assert p99 < bound, (
        f"p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms, bound {bound * 1e3:.0f} ms "
        f"(load {crowding:.2f} per core)"
    )
