"""Fuzzing the server: any bytes from a client end in replies or a closed connection.

Never an unhandled exception, never a hang of other clients. The sans-IO layers are fuzzed
with hypothesis (raw bytes, and well-framed messages with hostile contents run through the
FakeDhcpd object types); the asyncio server is hit with garbage while a well-behaved
client is served alongside.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiomapi
from aiomapi import Key
from aiomapi.server_objects import Dispatcher
from aiomapi.server_protocol import (
    CloseConnection,
    RequestReceived,
    SendData,
    ServerConnection,
    ServerState,
)
from aiomapi.testing import FakeDhcpd, FakeFailoverPeer
from aiomapi.wire import STARTUP_BYTES, Framer, Message, Opcode, decode_frame, encode_body

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
