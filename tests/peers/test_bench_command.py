"""``aiomapi bench``, the main job: aiomapi beside its peers, the server in a process of its own.

No timing is asserted: only that every row ran, every lookup returned the right hostname
(a wrong one counts as an error), the peers ran where they are installed (always under
AIOMAPI_REQUIRE_DHCPD=1, as in CI), and the server was not this process.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import aiomapi
from aiomapi.bench import embedded, peers, report
from aiomapi.bench.results import Progress

ROOT = Path(__file__).resolve().parent.parent.parent
#: The command takes about 8 s at --duration 1; this only bounds a hang.
TIMEOUT = 180


def installed(peer: str) -> bool:
    if peer == "omshell":
        return peers.omshell_path() is not None
    try:
        __import__(peer)
    except ImportError:
        return False
    return True


def run_bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiomapi", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env=env,
    )


def test_bench_json_has_every_row_and_the_server_in_its_own_process() -> None:
    done = run_bench("--duration", "1", "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)

    assert result["ok"] is True
    server = result["server"]
    assert server["kind"] == "embedded"
    assert server["own_process"] is True
    assert server["pid"] != result["bench_pid"]
    assert result["codec"]

    rows = result["rows"]
    mine = [r for r in rows if r["client"] == "aiomapi"]
    assert len(mine) == 3
    for row in rows:
        assert row["lookups"] > 0, row
        assert row["errors"] == 0, row  # includes wrong hostnames
        assert row["server_cpu_us"] is not None, row  # the server's pid was measured
        assert set(row["ratios"]) == {"x_pypureomapi", "x_omshell"}
        # every client's CPU is split into kernel and user time (each peer measured its own)
        assert 0 < row["client_kernel_share"] < 1, row

    clients = {r["client"] for r in rows}
    for peer in peers.PEERS:
        if os.environ.get("AIOMAPI_REQUIRE_DHCPD") == "1" or installed(peer):
            assert peer in clients, result["skipped"]
            assert peer not in result["skipped"]
        else:
            assert "not installed" in result["skipped"][peer]
    if "pypureomapi" in clients:
        pypure = next(r for r in rows if r["client"] == "pypureomapi")
        assert pypure["pid"] not in (result["bench_pid"], server["pid"])  # its own process
        assert pypure["ratios"]["x_pypureomapi"] == pytest.approx(1.0)
    if "omshell" in clients:
        omshell = next(r for r in rows if r["client"] == "omshell")
        assert omshell["hostnames_seen"] == omshell["lookups"]

    # stderr is not a terminal here: plain progress lines, no bar drawn with escapes
    assert "lookups" in done.stderr
    assert "\x1b[" not in done.stderr


def test_bench_text_names_the_codec_and_the_peers() -> None:
    done = run_bench("--duration", "0.5", "--peers", "none", "--leases", "500")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert out.startswith("server: aiomapi's in-memory dhcpd in a process of its own (pid ")
    assert "codec: " in out
    assert "aiomapi get c=64" in out
    assert "pypureomapi: not run: not asked for (--peers)" in out
    assert "omshell: not run: not asked for (--peers)" in out


def test_bench_fails_when_aiomapi_lookups_fail() -> None:
    """Against a server that has none of the leases asked for, the exit status says so."""
    with embedded.running(20) as server:
        key = server.target.key
        assert key is not None
        env = dict(os.environ, AIOMAPI_KEY=f"{key.algorithm}:{key.name}:{key.secret}")
        done = run_bench(
            "--server",
            server.target.host,
            "--port",
            str(server.target.port),
            "--first-ip",
            "10.99.0.1",
            "--leases",
            "5",
            "--duration",
            "0.3",
            "--peers",
            "none",
            "--server-pid",
            str(server.pid),
            "--json",
            env=env,
        )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["ok"] is False
    assert result["server"]["kind"] == "server"
    assert all(r["errors"] > 0 for r in result["rows"])
    assert key.secret not in done.stdout + done.stderr


def test_bench_refuses_an_unknown_peer() -> None:
    done = run_bench("--peers", "dhcping", "--json")
    assert done.returncode == 64
    assert "unknown peer dhcping" in done.stdout


async def test_peers_against_the_embedded_server_count_missing_leases() -> None:
    """A lease the server does not have is an error for both peers, not a lookup."""
    with embedded.running(10) as server:
        t = server.target
        target = embedded.Target(t.host, t.port, t.key, ["10.99.0.1", t.keys[1]], None, t.pid)
        if installed("omshell"):
            row = await peers.omshell_row(target, duration=0.2, lookups=4)
            assert not isinstance(row, str)
            assert (row.lookups, row.errors, row.extra["hostnames_seen"]) == (4, 2, 2)
        if installed("pypureomapi"):
            row = await peers.pypureomapi_row(target, duration=0.2, count=10, warmup=0)
            assert not isinstance(row, str)
            assert row.lookups == 10
            assert row.errors == 5
        assert server.alive()
    assert not server.alive()


def test_pypureomapi_refuses_other_algorithms() -> None:
    target = embedded.Target("127.0.0.1", 1, aiomapi.Key.generate("x", "hmac-sha256"), ["10.0.0.1"])
    why = asyncio.run(peers.pypureomapi_row(target, duration=0.1))
    assert isinstance(why, str)
    assert "HMAC-MD5" in why


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_console_progress_draws_a_transient_bar_on_a_terminal() -> None:
    out = _Terminal()
    show = report.console_progress(out)
    for elapsed in (0.5, 1.0):
        show(Progress("aiomapi get c=64", int(elapsed * 100), 0, elapsed, 200.0, None, 2.0))
    show(Progress("aiomapi get c=64", 400, 0, 2.0, 200.0, None, 2.0, final=True))
    show(Progress("omshell", 0, 0, 0.5, 0.0, None, 2.0, counting=False))
    show(Progress("omshell", 0, 0, 2.1, 0.0, None, 2.0, final=True, counting=False))
    text = out.getvalue()
    assert "aiomapi get c=64" in text
    assert "in its own process" in text
    assert "\x1b[2K" in text  # the bar erased itself at the end (transient)
