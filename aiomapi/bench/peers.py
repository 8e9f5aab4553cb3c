"""The peers aiomapi is compared with, each in a process of its own: pypureomapi and omshell.

Theory of operation
-------------------
Each runner returns a :class:`~aiomapi.bench.results.Row`, or the reason it was skipped
(the peer is not installed, or cannot use the server's key); a missing peer is never faked.
Both look up the same addresses as aiomapi's rows, and their answers are checked the same
way: a wrong hostname is an error.

* **pypureomapi** (synchronous, one request at a time) runs in ``python -m
  aiomapi.bench.peers pypureomapi``, a child that reads its settings as JSON on stdin and
  prints its figures as one JSON line. It times itself (CPU from
  :func:`time.process_time`) and the server's CPU over the same span.
* **omshell** (ISC's C client; Debian's ``isc-dhcp-server`` package installs it) reads one
  script of ``new lease / set ip-address / open / close`` lookups on stdin. Its CPU is the
  ``RUSAGE_CHILDREN`` difference around it, and it is timed end to end, start-up included.
  A script cannot stop after a duration, so a short first run (which also warms up)
  measures its rate and the next is sized from it to last about ``duration`` seconds. Script and
  output go through files, not pipes: a pipe would need this process to feed and drain it
  (~400 bytes of output per lookup), taking CPU from omshell and the server.

While a peer runs, ``progress`` is called every :data:`PROGRESS_INTERVAL` seconds with
the time elapsed (the peer reports its count only at the end).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiomapi.bench import process
from aiomapi.bench.embedded import Target
from aiomapi.bench.histogram import LatencyHistogram
from aiomapi.bench.results import Progress, Row

__all__ = [
    "OMSHELL_INSTALL",
    "PEERS",
    "PYPUREOMAPI_INSTALL",
    "omshell_row",
    "pypureomapi_row",
]

#: The peers, in the order they are run and shown.
PEERS = ("pypureomapi", "omshell")
PYPUREOMAPI_INSTALL = "pip install pypureomapi"
OMSHELL_INSTALL = "apt-get install isc-dhcp-server"
#: Seconds between progress reports while a peer runs.
PROGRESS_INTERVAL = 0.5
#: A peer's run stops after this many failed lookups (as aiomapi's, DEFAULT_MAX_ERRORS).
MAX_ERRORS = 1000
#: Lookups of omshell's first, sizing run.
OMSHELL_PROBE = 1000
#: omshell's script never has more lookups than this (a very fast machine, a long row).
OMSHELL_MAX_LOOKUPS = 2_000_000

ProgressCallback = Callable[[Progress], None]


def _child_env() -> dict[str, str]:
    """The environment of a Python child: the same ``aiomapi`` first on its path."""
    root = str(Path(__file__).resolve().parent.parent.parent)
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=root + (os.pathsep + path if path else ""))


async def _wait_reporting(
    proc: asyncio.subprocess.Process,
    label: str,
    duration: float | None,
    progress: ProgressCallback | None,
    timeout: float,
    stdin: bytes | None = None,
) -> tuple[bytes, bytes]:
    """Wait for ``proc`` (feeding it ``stdin``), reporting the time as progress."""
    start = time.perf_counter()
    talk = asyncio.ensure_future(proc.communicate(stdin))
    try:
        async with asyncio.timeout(timeout):
            while True:
                done, _ = await asyncio.wait({talk}, timeout=PROGRESS_INTERVAL)
                elapsed = time.perf_counter() - start
                if progress is not None:
                    final = bool(done)
                    progress(Progress(label, 0, 0, elapsed, 0.0, None, duration, final, False))
                if done:
                    return talk.result()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        talk.cancel()
        with contextlib.suppress(BaseException):
            await proc.wait()
        raise


# ---------------------------------------------------------------- pypureomapi


async def pypureomapi_row(
    target: Target,
    *,
    duration: float,
    count: int | None = None,
    warmup: int = 200,
    progress: ProgressCallback | None = None,
    label: str = "pypureomapi, sequential",
) -> Row | str:
    """pypureomapi, sequential on one connection, in a child process; or why it was skipped.

    Raises:
        RuntimeError: the child failed (its stderr is in the message).
    """
    if target.key is not None and target.key.algorithm != "hmac-md5":
        return f"pypureomapi supports HMAC-MD5 keys only, not {target.key.algorithm}"
    try:
        import pypureomapi  # noqa: F401  (only whether it is there)
    except ImportError:
        return f"pypureomapi is not installed ({PYPUREOMAPI_INSTALL})"
    spec = {
        "host": target.host,
        "port": target.port,
        "key_name": target.key.name if target.key is not None else None,
        "secret": target.key.secret if target.key is not None else None,
        "keys": list(target.keys),
        "expected": list(target.expected) if target.expected is not None else None,
        "count": count,
        "duration": duration,
        "server_pid": target.pid,
        "warmup": warmup,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiomapi.bench.peers",
        "pypureomapi",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_child_env(),
    )
    out, err = await _wait_reporting(
        proc,
        label,
        duration,
        progress,
        timeout=duration + 120,
        stdin=json.dumps(spec).encode(),
    )
    if proc.returncode != 0 or not out.strip():
        raise RuntimeError(
            f"the pypureomapi worker failed:\n{err.decode(errors='replace')[-2000:]}"
        )
    r = json.loads(out.decode().strip().splitlines()[-1])
    return Row(
        name=label,
        client="pypureomapi",
        api="lookup_hostname",
        concurrency=1,
        connections=1,
        lookups=r["lookups"],
        errors=r["errors"],
        seconds=r["seconds"],
        client_cpu_seconds=r["client_cpu_seconds"],
        client_kernel_seconds=r["client_kernel_seconds"],
        server_cpu_seconds=r["server_cpu_seconds"],
        latency_p50_ms=r["p50_ms"],
        latency_p99_ms=r["p99_ms"],
        other_cpu_seconds=r["other_cpu_seconds"],
        note="own process",
        extra={"pid": r["pid"]},
    )


def pypureomapi_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """The child's work: sequential pypureomapi lookups; returns its figures."""
    import pypureomapi

    keys: list[str] = spec["keys"]
    expected: list[str] | None = spec["expected"]
    n = len(keys)
    key_name, secret = spec["key_name"], spec["secret"]
    omapi = pypureomapi.Omapi(
        spec["host"],
        spec["port"],
        key_name.encode() if key_name is not None else None,
        secret.encode() if secret is not None else None,
        timeout=10,
    )
    for i in range(min(spec["warmup"], n)):
        with contextlib.suppress(pypureomapi.OmapiError):
            omapi.lookup_hostname(keys[i])
    count = spec["count"] if spec["count"] is not None else sys.maxsize
    server_pid: int | None = spec["server_pid"]
    hist = LatencyHistogram()
    errors = 0
    clock = time.perf_counter
    server0 = process.process_cpu_seconds(server_pid) if server_pid is not None else None
    machine0 = process.machine_busy_seconds()
    cpu0 = time.process_time()
    kernel0 = os.times().system
    start = clock()
    deadline = start + spec["duration"]
    done = 0
    while done < count and clock() < deadline and errors < MAX_ERRORS:
        k = done % n
        t0 = clock()
        try:
            name = omapi.lookup_hostname(keys[k])
        except pypureomapi.OmapiError:
            errors += 1
        else:
            if expected is not None and name != expected[k]:
                errors += 1
        hist.add(clock() - t0)
        done += 1
    seconds = clock() - start
    cpu = time.process_time() - cpu0
    kernel = os.times().system - kernel0
    machine1 = process.machine_busy_seconds()
    server_cpu = None
    if server_pid is not None and server0 is not None:
        server_cpu = process.process_cpu_seconds(server_pid) - server0
    other = None
    if machine0 is not None and machine1 is not None:
        other = max(0.0, machine1 - machine0 - cpu - (server_cpu or 0.0))
    omapi.close()
    p50, p99 = hist.percentile(50), hist.percentile(99)
    return {
        "pid": os.getpid(),
        "lookups": done,
        "errors": errors,
        "seconds": seconds,
        "client_cpu_seconds": cpu,
        "client_kernel_seconds": kernel,
        "server_cpu_seconds": server_cpu,
        "other_cpu_seconds": other,
        "p50_ms": p50 * 1e3 if p50 is not None else None,
        "p99_ms": p99 * 1e3 if p99 is not None else None,
    }


# ---------------------------------------------------------------- omshell


def omshell_path() -> str | None:
    """Where omshell is, or ``None``."""
    return shutil.which("omshell") or next(
        (p for p in ("/usr/bin/omshell", "/usr/sbin/omshell") if os.access(p, os.X_OK)), None
    )


async def omshell_row(
    target: Target,
    *,
    duration: float,
    lookups: int | None = None,
    progress: ProgressCallback | None = None,
    label: str = "omshell, one script",
) -> Row | str:
    """omshell fed one script of lookups in one session; or why it was skipped.

    Args:
        lookups: the script's size; by default, sized to last about ``duration`` seconds.
    """
    omshell = omshell_path()
    if omshell is None:
        return f"omshell is not installed ({OMSHELL_INSTALL})"
    with tempfile.TemporaryDirectory(prefix="aiomapi-omshell-") as tmp:
        workdir = Path(tmp)
        if lookups is not None:
            return await _omshell_run(omshell, target, lookups, workdir, progress, label, duration)
        # Sized by the rate of the run before: the first (OMSHELL_PROBE lookups) also warms
        # the server up, so its rate is low; a run shorter than half the duration is redone.
        row = await _omshell_run(omshell, target, OMSHELL_PROBE, workdir, None, label, duration)
        for _ in range(3):
            if row.errors or row.seconds >= duration / 2:
                break
            n = int(min(max(row.rate * duration, OMSHELL_PROBE), OMSHELL_MAX_LOOKUPS))
            row = await _omshell_run(omshell, target, n, workdir, progress, label, duration)
        return row


async def _omshell_run(
    omshell: str,
    target: Target,
    n: int,
    workdir: Path,
    progress: ProgressCallback | None,
    label: str,
    duration: float | None,
) -> Row:
    picks = [i % len(target.keys) for i in range(n)]
    lines = [f"server {target.host}", f"port {target.port}"]
    if target.key is not None:
        lines += [
            f"key-algorithm {target.key.algorithm}",
            f"key {target.key.name} {target.key.secret}",
        ]
    lines.append("connect")
    for i in picks:
        lines += ["new lease", f"set ip-address = {target.keys[i]}", "open", "close"]
    script, output = workdir / "omshell.in", workdir / "omshell.out"
    script.touch(mode=0o600)  # it holds the secret
    script.write_text("\n".join(lines) + "\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine0 = process.machine_busy_seconds()
    with (
        script.open("rb") as stdin,
        output.open("wb") as stdout,
        contextlib.ExitStack() as stack,
    ):
        server = (
            stack.enter_context(process.measure_process_cpu(target.pid))
            if target.pid is not None
            else None
        )
        start = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            omshell, stdin=stdin, stdout=stdout, stderr=asyncio.subprocess.STDOUT
        )
        await _wait_reporting(proc, label, duration, progress, timeout=60 + n / 500)
        seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine1 = process.machine_busy_seconds()
    kernel = after.ru_stime - before.ru_stime
    cpu = (after.ru_utime - before.ru_utime) + kernel
    server_cpu = server.cpu_seconds if server is not None else None
    other = None
    if machine0 is not None and machine1 is not None:
        other = max(0.0, machine1 - machine0 - cpu - (server_cpu or 0.0))
    text = output.read_text(errors="replace")
    want = [target.expected[i] for i in picks] if target.expected is not None else None
    errors, seen = _omshell_errors(text, want)
    if proc.returncode != 0:
        errors = max(errors, 1)
    return Row(
        name=label,
        client="omshell",
        api="script on stdin",
        concurrency=1,
        connections=1,
        lookups=n,
        errors=errors,
        seconds=seconds,
        client_cpu_seconds=cpu,
        client_kernel_seconds=kernel,
        server_cpu_seconds=server_cpu,
        other_cpu_seconds=other,
        note="end to end, incl. start-up",
        extra={"hostnames_seen": seen},
    )


_HOSTNAME = re.compile(r'client-hostname = "([^"]*)"')
#: omshell's failures: "can't open object: not found", "dhcpctl_connect: ..." (after a prompt).
_FAILED = re.compile(r"can't |dhcpctl_")


def _omshell_errors(text: str, want: Sequence[str] | None) -> tuple[int, int]:
    """``(errors, hostnames seen)`` in omshell's output; ``want``: the hostnames expected."""
    names = _HOSTNAME.findall(text)
    failed = len(_FAILED.findall(text))
    if want is None:
        return failed, len(names)
    wrong = sum(1 for a, b in zip(names, want, strict=False) if a != b)
    return max(failed, wrong + abs(len(want) - len(names))), len(names)


# ---------------------------------------------------------------- the children


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m aiomapi.bench.peers pypureomapi``: settings on stdin, figures on stdout."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["pypureomapi"]:
        print("usage: python -m aiomapi.bench.peers pypureomapi < spec.json", file=sys.stderr)
        return 64
    spec = json.loads(sys.stdin.read())
    print(json.dumps(pypureomapi_worker(spec)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
