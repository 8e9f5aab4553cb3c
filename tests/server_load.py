"""Load for the server tests: raw OMAPI sessions, flooders that pipeline pre-signed lookups,
a probe that times single lookups meanwhile, and tricklers that hold connections by
sending a byte now and then.

The head-of-line test runs :func:`main` in a child process (``python -m tests.server_load``)
so that the load and the timing of the probe do not share the server's event loop: the
probe's latency is then what a client on another host would see. The child prints one JSON
object with the probe's latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from aiomapi import Key
from aiomapi._sansio.auth import Signer
from aiomapi._sansio.wire import STARTUP_BYTES, Framer, Message, Opcode, decode_frame, encode_body

#: The environment variable that carries the key to the child, as ``ALGORITHM:NAME:SECRET``
#: (not on the command line, where other users of the machine could read it).
KEY_ENV = "AIOMAPI_LOAD_KEY"
FIRST_LEASE = IPv4Address("10.100.1.0")  # FakeDhcpd.like_lab's first lease


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects alive now out of the garbage collector's full collections.

    A latency test times the server, not the test process: in a pytest session a full
    collection walks every module and object made so far and pauses the event loop for
    tens of milliseconds, a few times a second under a load that makes many connections.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def lease_ip(i: int) -> IPv4Address:
    return FIRST_LEASE + i


def lookup(ip: IPv4Address, request_id: int, signer: Signer | None, authid: int) -> bytes:
    """A signed (or unsigned) OPEN of the lease at ``ip``, as aiomapi's client sends it."""
    message = Message(
        Opcode.OPEN, 0, request_id, 0, (("type", b"lease"),), (("ip-address", ip.packed),)
    )
    if signer is None:
        return encode_body(message, 0, 0)
    body = encode_body(message, authid, signer.digest_size)
    return body + signer.sign(memoryview(body)[4:])


def authenticator_open(key: Key, request_id: int = 1) -> bytes:
    """The unsigned OPEN of an authenticator for ``key`` that starts a keyed session."""
    auth = Message(
        Opcode.OPEN,
        id=request_id,
        message=(("type", b"authenticator"),),
        object=(("name", key.name.encode()), ("algorithm", key.wire_algorithm.encode())),
    )
    return encode_body(auth, 0, 0)


async def closed_within(reader: asyncio.StreamReader, timeout: float) -> bool:
    """Whether the server ends the stream (EOF or reset) within ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
    except ConnectionError:
        pass
    except TimeoutError:
        return False
    return True


@dataclass
class Session:
    """A raw client session: startup done and, with a key, an authenticator open."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    signer: Signer | None
    authid: int = 0
    framer: Framer = field(default_factory=Framer)
    next_id: int = 100

    @classmethod
    async def open(cls, host: str, port: int, key: Key | None) -> Session:
        reader, writer = await asyncio.open_connection(host, port)
        session = cls(reader, writer, key.signer() if key is not None else None)
        try:
            writer.write(STARTUP_BYTES + (authenticator_open(key) if key is not None else b""))
            if await reader.readexactly(8) != STARTUP_BYTES:
                raise ConnectionError("no startup message from the server")
            if key is not None:
                reply = await session.reply()
                if reply.opcode != Opcode.UPDATE or reply.rid != 1:
                    raise ConnectionError(f"authenticator refused: {reply}")
                session.authid = reply.handle
        except BaseException:
            writer.close()
            raise
        return session

    def request(self, ip: IPv4Address) -> bytes:
        self.next_id += 1
        return lookup(ip, self.next_id, self.signer, self.authid)

    async def frames(self, count: int, done: list[int]) -> None:
        """Wait for ``count`` replies without decoding them, counting them in ``done[0]``."""
        while count:
            frame = self.framer.next_frame()
            if frame is not None:
                count -= 1
                done[0] += 1
                continue
            data = await self.reader.read(256 * 1024)
            if not data:
                raise ConnectionError("the server closed the connection")
            self.framer.feed(data)

    async def reply(self) -> Message:
        while True:
            frame = self.framer.next_frame()
            if frame is not None:
                if frame.authid and self.signer is not None:
                    self.signer.verify(
                        frame.data[4 : frame.signed_end], frame.data[frame.signed_end :]
                    )
                return decode_frame(frame)
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            self.framer.feed(data)

    def close(self) -> None:
        self.writer.close()


async def flood(
    session: Session, batch: int, leases: int, started: asyncio.Event, done: list[int]
) -> None:
    """Pipeline ``batch`` lookups, wait for every reply, again, until cancelled.

    ``done[0]`` counts the replies.
    """
    data = b"".join(session.request(lease_ip(i % leases)) for i in range(batch))
    while True:
        session.writer.write(data)
        await session.frames(1, done)
        started.set()
        await session.frames(batch - 1, done)


# ---------------------------------------------------------------- slow clients


class Trickler:
    """A client socket that sends its script a byte at a time."""

    def __init__(self, script: bytes, burst: int) -> None:
        self.script = script
        self.sent = 0
        self.burst = burst  # bytes sent at once on the first step (e.g. a whole startup)
        self.sock: socket.socket | None = None

    async def connect(self, port: int) -> None:
        self.close()
        sock = socket.socket()
        sock.setblocking(False)
        self.sock, self.sent = sock, 0
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))

    def alive(self) -> bool:
        """Read what the server sent; ``False`` once the server has closed the socket."""
        if self.sock is None:
            return False
        try:
            while self.sock.recv(4096):
                pass
        except BlockingIOError:
            return True
        except OSError:
            return False
        return False

    def step(self) -> None:
        if self.sock is None or self.sent >= len(self.script):
            return
        size = self.burst if self.sent == 0 else 1
        try:
            self.sent += self.sock.send(self.script[self.sent : self.sent + size])
        except OSError:
            self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


async def drive(tricklers: list[Trickler], port: int, stop: asyncio.Event) -> int:
    """Step every trickler each 0.5 s until ``stop``; reconnect the dropped (bounded).

    Returns the number of reconnections. Every socket is closed on the way out.
    """
    reconnects = 0
    try:
        while not stop.is_set():
            for t in tricklers:
                if stop.is_set():
                    break
                if t.alive():
                    t.step()
                elif reconnects < 20 * len(tricklers):
                    reconnects += 1
                    try:
                        await t.connect(port)
                    except OSError:
                        t.close()
            try:
                async with asyncio.timeout(0.5):
                    await stop.wait()
            except TimeoutError:
                pass
    finally:
        for t in tricklers:
            t.close()
    return reconnects


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def probe(session: Session, lookups: int, leases: int, deadline: float) -> list[float]:
    """Time ``lookups`` sequential lookups (fewer if ``deadline`` passes), checking each."""
    latencies: list[float] = []
    for i in range(lookups):
        if time.monotonic() > deadline:
            break
        n = (i * 7) % leases
        data = session.request(lease_ip(n))
        start = time.perf_counter()
        session.writer.write(data)
        reply = await session.reply()
        latencies.append(time.perf_counter() - start)
        hostname = dict(reply.object).get("client-hostname")
        if reply.opcode != Opcode.UPDATE or hostname != f"host{n}".encode():
            raise AssertionError(f"wrong answer for lease {n}: {reply}")
    return latencies


async def run(
    host: str,
    port: int,
    key: Key | None,
    *,
    flooders: int,
    batch: int,
    lookups: int,
    leases: int,
    seconds: float,
) -> dict[str, object]:
    """Flood with ``flooders`` connections while a probe times ``lookups`` lookups."""
    deadline = time.monotonic() + seconds
    sessions = [await Session.open(host, port, key) for _ in range(flooders)]
    prober = await Session.open(host, port, key)
    started = [asyncio.Event() for _ in sessions]
    done = [0]
    tasks = [
        asyncio.create_task(flood(s, batch, leases, e, done))
        for s, e in zip(sessions, started, strict=True)
    ]
    try:
        # The probe starts once the server is busy with every flooder.
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            await asyncio.gather(*(e.wait() for e in started))
        began, before = time.monotonic(), done[0]
        latencies = await probe(prober, lookups, leases, deadline)
        flood_rate = (done[0] - before) / (time.monotonic() - began)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        for s in [*sessions, prober]:
            s.close()
    return {"latencies": latencies, "flood_rate": flood_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--flooders", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1200)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--leases", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    spec = os.environ.get(KEY_ENV)
    key = None
    if spec:
        algorithm, name, secret = spec.split(":", 2)
        key = Key(name, secret, algorithm)
    result = asyncio.run(
        run(
            args.host,
            args.port,
            key,
            flooders=args.flooders,
            batch=args.batch,
            lookups=args.lookups,
            leases=args.leases,
            seconds=args.seconds,
        )
    )
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
