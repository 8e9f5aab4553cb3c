"""The peers: pypureomapi (sequential, in a process of its own) and omshell (one scripted session).

Each runner returns a :class:`~benchmarks.rows.Row`, or the reason it was skipped (the peer
is not installed, or cannot use the server's key); a missing peer is never faked.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from aiomapi.bench import lookups as bm
from aiomapi.bench import process
from aiomapi.bench.histogram import LatencyHistogram
from benchmarks.rows import Row
from benchmarks.servers import ROOT, Server, Settings

# ---------------------------------------------------------------- pypureomapi


def pypure_row(server: Server, settings: Settings, workdir: Path) -> Row | str:
    """pypureomapi, sequential, one connection, in a subprocess; or why it was skipped."""
    if server.key.algorithm != "hmac-md5":
        return "pypureomapi supports HMAC-MD5 only"
    try:
        __import__("pypureomapi")
    except ImportError:
        return "pypureomapi is not installed (pip install pypureomapi)"
    spec = workdir / "pypureomapi.json"
    spec.write_text(
        json.dumps(
            {
                "host": server.host,
                "port": server.port,
                "key_name": server.key.name,
                "secret": server.key.secret,
                "keys": server.keys,
                "expected": server.expected,
                "count": settings.count,
                "duration": settings.duration,
                "server_pid": server.pid,
                "warmup": 200,
            }
        )
    )
    spec.chmod(0o600)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--pypureomapi-worker", str(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=settings.duration + 120,
        check=False,
    )
    spec.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"pypureomapi worker failed:\n{done.stderr[-2000:]}")
    r = json.loads(done.stdout.strip().splitlines()[-1])
    return Row(
        name="pypureomapi sequential",
        client="pypureomapi",
        api="lookup_hostname",
        concurrency=1,
        connections=1,
        lookups=r["lookups"],
        errors=r["errors"],
        seconds=r["seconds"],
        client_cpu_seconds=r["client_cpu_seconds"],
        server_cpu_seconds=r["server_cpu_seconds"],
        latency_p50_ms=r["p50_ms"],
        latency_p99_ms=r["p99_ms"],
        other_cpu_seconds=r["other_cpu_seconds"],
        note="own process",
    )


def pypure_worker(spec_path: str) -> int:
    """Child process: sequential pypureomapi lookups; prints one JSON line."""
    import pypureomapi

    spec = json.loads(Path(spec_path).read_text())
    keys: list[str] = spec["keys"]
    expected: list[str] = spec["expected"]
    n = len(keys)
    omapi = pypureomapi.Omapi(
        spec["host"], spec["port"], spec["key_name"].encode(), spec["secret"].encode(), timeout=10
    )
    for i in range(min(spec["warmup"], n)):
        omapi.lookup_hostname(keys[i])
    count = spec["count"] if spec["count"] is not None else sys.maxsize
    hist = LatencyHistogram()
    errors = 0
    clock = time.perf_counter
    server0 = process.process_cpu_seconds(spec["server_pid"])
    machine0 = process.machine_busy_seconds()
    cpu0 = time.process_time()
    start = clock()
    deadline = start + spec["duration"]
    done = 0
    while done < count and clock() < deadline and errors < bm.DEFAULT_MAX_ERRORS:
        k = done % n
        t0 = clock()
        try:
            name = omapi.lookup_hostname(keys[k])
        except pypureomapi.OmapiError:
            errors += 1
        else:
            if name != expected[k]:
                errors += 1
        hist.add(clock() - t0)
        done += 1
    seconds = clock() - start
    cpu = time.process_time() - cpu0
    machine1 = process.machine_busy_seconds()
    server_cpu = process.process_cpu_seconds(spec["server_pid"]) - server0
    other = None
    if machine0 is not None and machine1 is not None:
        other = max(0.0, machine1 - machine0 - cpu - server_cpu)
    omapi.close()
    p50, p99 = hist.percentile(50), hist.percentile(99)
    print(
        json.dumps(
            {
                "lookups": done,
                "errors": errors,
                "seconds": seconds,
                "client_cpu_seconds": cpu,
                "server_cpu_seconds": server_cpu,
                "other_cpu_seconds": other,
                "p50_ms": p50 * 1e3 if p50 is not None else None,
                "p99_ms": p99 * 1e3 if p99 is not None else None,
            }
        )
    )
    return 0


# ---------------------------------------------------------------- omshell


def omshell_row(server: Server, settings: Settings, workdir: Path) -> Row | str:
    """omshell fed one script of lookups in one session; or why it was skipped."""
    omshell = shutil.which("omshell")
    if omshell is None:
        return "omshell is not installed (apt-get install isc-dhcp-server)"
    n = min(settings.omshell_lookups, 10 * len(server.keys))
    picks = [i % len(server.keys) for i in range(n)]
    lines = [
        f"server {server.host}",
        f"port {server.port}",
        f"key-algorithm {server.key.algorithm}",
        f"key {server.key.name} {server.key.secret}",
        "connect",
    ]
    for i in picks:
        lines += ["new lease", f"set ip-address = {server.keys[i]}", "open", "close"]
    # Script and output go through files, not pipes: a pipe would need this process to feed
    # and drain it (~400 bytes of output per lookup), taking CPU from omshell and dhcpd.
    script, output = workdir / "omshell.in", workdir / "omshell.out"
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o600)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine0 = process.machine_busy_seconds()
    with (
        script.open("rb") as stdin,
        output.open("wb") as stdout,
        process.measure_process_cpu(server.pid) as dhcpd,
    ):
        done = subprocess.run(
            [omshell],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            timeout=60 + n / 1000,
            check=False,
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine1 = process.machine_busy_seconds()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    other = None
    if machine0 is not None and machine1 is not None:
        other = max(0.0, machine1 - machine0 - cpu - dhcpd.cpu_seconds)
    text = output.read_text(errors="replace")
    script.unlink()
    output.unlink()
    names = re.findall(r'client-hostname = "([^"]*)"', text)
    want = [server.expected[i] for i in picks]
    wrong = sum(1 for a, b in zip(names, want, strict=False) if a != b)
    errors = wrong + abs(len(want) - len(names))
    if done.returncode != 0 or "dhcpctl" in text:
        errors = max(errors, 1)
    return Row(
        name="omshell scripted",
        client="omshell",
        api="script on stdin",
        concurrency=1,
        connections=1,
        lookups=n,
        errors=errors,
        seconds=dhcpd.wall_seconds,
        client_cpu_seconds=cpu,
        server_cpu_seconds=dhcpd.cpu_seconds,
        other_cpu_seconds=other,
        note="end to end, incl. start-up",
        extra={"hostnames_seen": len(names)},
    )
