"""The in-memory server in a process of its own, and what a benchmark needs to know of a server.

Theory of operation
-------------------
A client's CPU figure is only the client's if the server runs elsewhere: :func:`start`
runs ``python -m aiomapi.bench.embedded N`` — a :class:`~aiomapi.testing.FakeDhcpd` with
``N`` synthetic leases (:func:`~aiomapi.testing.synthetic_leases`) — and gives back a
:class:`Target`: where it listens, its key, its pid (whose CPU time every row measures) and
the hostname each address must return. The key goes to the child on its stdin, never on
its command line (``ps`` shows that to every user); the child answers ``READY host port``
on its stdout and serves until its stdin closes, so it also ends when the parent dies.

The child imports the same ``aiomapi`` as the parent (its directory goes first on
``PYTHONPATH``), so a benchmark run from a source tree measures that tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiomapi._sansio.auth import Key

__all__ = ["STARTUP_TIMEOUT", "EmbeddedServer", "Target", "main", "start"]

#: Seconds the child may take to build its leases and listen (100,000 leases take ~3 s).
STARTUP_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class Target:
    """The server every client of a run looks leases up on.

    Attributes:
        keys: lease addresses (dotted text), looked up in turn.
        expected: the ``client-hostname`` each address must return (same order), or
            ``None`` when it is not known (a real server): then only failures are errors.
        pid: the server's process, when it runs on this machine: its CPU time is measured.
    """

    host: str
    port: int
    key: Key | None
    keys: Sequence[str] = field(repr=False)
    expected: Sequence[str] | None = field(default=None, repr=False)
    pid: int | None = None


@dataclass(slots=True)
class EmbeddedServer:
    """A running ``python -m aiomapi.bench.embedded``; :meth:`stop` ends it."""

    target: Target
    process: subprocess.Popen[str]
    leases: int
    algorithm: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Close the child's stdin (it exits), or kill it after 10 s."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def lease_hostnames(n: int) -> list[str]:
    """The hostname of each of :func:`~aiomapi.testing.synthetic_leases`'s ``n`` leases."""
    return [f"host{i}" for i in range(n)]


def start(n_leases: int = 10_000, algorithm: str = "hmac-md5") -> EmbeddedServer:
    """Start the in-memory server with ``n_leases`` synthetic leases in a new process.

    Raises:
        RuntimeError: it did not start (its errors went to this process's stderr).
        ValueError: ``n_leases`` is below 1, or the algorithm is unknown.
    """
    from aiomapi.testing.layout import lease_ip  # the test helpers load only if used

    if n_leases < 1:
        raise ValueError("the embedded server needs at least one lease")
    key = Key.generate("bench", algorithm)
    package_root = str(Path(__file__).resolve().parent.parent.parent)
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=package_root + (os.pathsep + path if path else ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "aiomapi.bench.embedded", str(n_leases)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(f"{key.algorithm}:{key.name}:{key.secret}\n")
        process.stdin.flush()
        line = process.stdout.readline().split()  # "READY host port"
    except OSError:
        line = []
    if len(line) != 3 or line[0] != "READY":
        process.kill()
        process.wait()
        raise RuntimeError(f"the embedded server did not start (it said {' '.join(line)!r})")
    target = Target(
        host=line[1],
        port=int(line[2]),
        key=key,
        keys=[lease_ip(i) for i in range(n_leases)],
        expected=lease_hostnames(n_leases),
        pid=process.pid,
    )
    return EmbeddedServer(target, process, n_leases, key.algorithm)


@contextlib.contextmanager
def running(n_leases: int = 10_000, algorithm: str = "hmac-md5") -> Iterator[EmbeddedServer]:
    """:func:`start` as a context manager that stops the server at the end."""
    server = start(n_leases, algorithm)
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------- the child


def main(argv: Sequence[str] | None = None) -> int:
    """The child: ``python -m aiomapi.bench.embedded N_LEASES``, the key on stdin."""
    from aiomapi.testing import FakeDhcpd, synthetic_leases

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print(
            "usage: python -m aiomapi.bench.embedded N_LEASES (key spec on stdin)", file=sys.stderr
        )
        return 64
    n_leases = int(args[0])
    # Ctrl-C reaches the whole process group: the parent stops this child (by closing its
    # stdin) once its own rows are cut short, without a traceback from here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    key = Key.from_spec(sys.stdin.readline().strip())

    async def serve() -> None:
        async with FakeDhcpd(key=key, leases=synthetic_leases(n_leases)) as server:
            print(f"READY {server.host} {server.port}", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
