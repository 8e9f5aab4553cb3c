"""Every single-server command × {success, not found, wrong key, no server, timeout}: its
exit code and its JSON, against the real dhcpd (docs/cli.md has the table)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from aiomapi.cli.exits import Exit
from aiomapi.testing.dhcpd_lab import DhcpdInstance, lease_ip

from ..conftest import DhcpdFactory

pytestmark = pytest.mark.dhcpd

WRONG_SECRET = "d3Jvbmctc2VjcmV0LWZvci10aGUtY2xpLXRlc3Q="


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiomapi", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


def env_of(
    inst: DhcpdInstance, *, secret: str | None = None, port: int | None = None
) -> dict[str, str]:
    return {
        "AIOMAPI_HOST": inst.host,
        "AIOMAPI_PORT": str(port if port is not None else inst.port),
        "AIOMAPI_KEY": f"{inst.algorithm}:{inst.key_name}:{secret or inst.secret}",
    }


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: command → (arguments that succeed, arguments that name nothing)
COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    "lease": (["lease", "--ip", lease_ip(3)], ["lease", "--ip", "10.99.0.1"]),
    "host get": (["host", "get", "--name", "cli-exit-host"], ["host", "get", "--name", "nobody"]),
    "failover get": (["lease", "--ip", lease_ip(4)], ["failover", "get", "no-such-peer"]),
}


@pytest.fixture(scope="module")
def server(dhcpd: DhcpdInstance) -> DhcpdInstance:
    env = env_of(dhcpd)
    created = run(
        "host", "upsert", "--name", "cli-exit-host", "--mac", "52:54:00:ee:00:01", env=env
    )
    assert created.returncode == 0, created.stderr
    return dhcpd


@pytest.mark.parametrize("command", list(COMMANDS))
def test_success_and_not_found(server: DhcpdInstance, command: str) -> None:
    ok_args, missing_args = COMMANDS[command]
    ok = run(*ok_args, "--json", env=env_of(server))
    assert ok.returncode == Exit.OK, ok.stderr
    assert isinstance(json.loads(ok.stdout), dict)
    missing = run(*missing_args, "--json", env=env_of(server))
    assert missing.returncode == Exit.NOT_FOUND, missing.stderr
    error = json.loads(missing.stdout)
    assert error["error"] == "NotFound"
    assert error["result_code"] == 23
    assert error["result"] == "ISC_R_NOTFOUND"
    assert error["text"]
    assert error["hint"]
    assert error["exit"] == Exit.NOT_FOUND


@pytest.mark.parametrize("command", list(COMMANDS))
def test_wrong_key(server: DhcpdInstance, command: str) -> None:
    result = run(*COMMANDS[command][0], "--json", env=env_of(server, secret=WRONG_SECRET))
    assert result.returncode == Exit.AUTH_REFUSED, result.stderr
    error = json.loads(result.stdout)
    assert error["error"] == "InvalidKey"
    assert error["exit"] == Exit.AUTH_REFUSED
    assert WRONG_SECRET not in result.stdout + result.stderr
    assert result.stderr == ""  # the library's own warning is silent unless -v


@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_server(server: DhcpdInstance, command: str) -> None:
    env = {**env_of(server, port=closed_port()), "AIOMAPI_HOST": "127.0.0.1"}
    result = run(*COMMANDS[command][0], "--json", "--timeout", "5", env=env)
    assert result.returncode == Exit.CANNOT_CONNECT, result.stderr
    error = json.loads(result.stdout)
    assert error["error"] == "NetworkError"
    assert error["hint"]


def test_timeout(dhcpd_factory: DhcpdFactory) -> None:
    inst = dhcpd_factory(n_leases=10)
    os.kill(inst.pid, signal.SIGSTOP)
    try:
        for args in (["lease", "--ip", lease_ip(1)], ["host", "get", "--name", "x"]):
            result = run(*args, "--json", "--timeout", "1", env=env_of(inst))
            assert result.returncode == Exit.TIMED_OUT, result.stdout + result.stderr
            assert json.loads(result.stdout)["error"] == "TimeoutError"
    finally:
        os.kill(inst.pid, signal.SIGCONT)


def test_usage_errors_are_64_and_human(server: DhcpdInstance) -> None:
    result = run("lease", env=env_of(server))  # one of --ip/--mac/--client-id is required
    assert result.returncode == Exit.USAGE
    assert "usage:" in result.stderr
    result = run("host", "get", "--json", env=env_of(server))  # no lookup key
    assert result.returncode == Exit.USAGE
    assert json.loads(result.stdout)["exit"] == Exit.USAGE


def test_a_key_on_the_command_line_warns(server: DhcpdInstance) -> None:
    env = {"AIOMAPI_HOST": server.host, "AIOMAPI_PORT": str(server.port), "AIOMAPI_KEY": ""}
    spec = f"{server.algorithm}:{server.key_name}:{server.secret}"
    result = run("lease", "--ip", lease_ip(3), "--key", spec, env=env)
    assert result.returncode == Exit.OK, result.stderr
    assert "visible to every user in ps" in result.stderr
    assert server.secret not in result.stderr


def test_a_closed_pipe_ends_quietly(server: DhcpdInstance) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "aiomapi", "lease", "--ip", lease_ip(5), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env_of(server)},
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()  # the reader goes away before anything is written
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=60) == Exit.BROKEN_PIPE
    assert stderr == ""


def test_verbose_shows_the_library_log(server: DhcpdInstance) -> None:
    result = run("-v", "lease", "--ip", lease_ip(3), env=env_of(server, secret=WRONG_SECRET))
    assert result.returncode == Exit.AUTH_REFUSED
    assert WRONG_SECRET not in result.stderr


def test_version() -> None:
    result = run("--version", env={})
    assert result.returncode == 0
    assert result.stdout.startswith("aiomapi ")


def test_leases_scan_outcomes(server: DhcpdInstance, dhcpd_factory: DhcpdFactory) -> None:
    """The stream command: JSON Lines on success, one JSON error object otherwise."""
    ok = run("leases", "scan", f"{lease_ip(0)}-{lease_ip(4)}", "--json", env=env_of(server))
    assert ok.returncode == Exit.OK, ok.stderr
    lines = [json.loads(line) for line in ok.stdout.splitlines()]
    assert [line["ip"] for line in lines] == [lease_ip(i) for i in range(5)]
    wrong = run("leases", "scan", lease_ip(0), "--json", env=env_of(server, secret=WRONG_SECRET))
    assert wrong.returncode == Exit.AUTH_REFUSED
    assert json.loads(wrong.stdout)["exit"] == Exit.AUTH_REFUSED
    env = {**env_of(server, port=closed_port()), "AIOMAPI_HOST": "127.0.0.1"}
    down = run("leases", "scan", lease_ip(0), "--json", "--timeout", "5", env=env)
    assert down.returncode == Exit.CANNOT_CONNECT
    assert json.loads(down.stdout)["error"] == "NetworkError"


def test_host_create_update_upsert_delete_outcomes(server: DhcpdInstance) -> None:
    env = env_of(server)
    name, mac = "cli-exit-cycle", "52:54:00:ee:00:02"
    created = run("host", "create", "--name", name, "--mac", mac, "--json", env=env)
    assert created.returncode == Exit.OK, created.stderr
    again = run("host", "create", "--name", name, "--mac", mac, "--json", env=env)
    assert again.returncode == Exit.REFUSED  # exists already
    assert json.loads(again.stdout)["result"] == "ISC_R_EXISTS"
    updated = run("host", "update", "--name", name, "--ip", "10.200.9.9", "--json", env=env)
    assert updated.returncode == Exit.OK, updated.stderr
    assert json.loads(updated.stdout)["ip_addresses"] == ["10.200.9.9"]
    upserted = run("host", "upsert", "--name", name, "--mac", mac, "--json", env=env)
    assert upserted.returncode == Exit.OK, upserted.stderr
    deleted = run("host", "delete", "--name", name, "--json", env=env)
    assert deleted.returncode == Exit.OK
    assert json.loads(deleted.stdout) == {"deleted": True, "name": name}
    gone = run("host", "delete", "--name", name, "--json", env=env)
    assert gone.returncode == Exit.NOT_FOUND


def test_shutdown_outcomes(dhcpd_factory: DhcpdFactory) -> None:
    inst = dhcpd_factory(n_leases=5)
    wrong = run("shutdown", "--yes", "--json", env=env_of(inst, secret=WRONG_SECRET))
    assert wrong.returncode == Exit.AUTH_REFUSED
    assert inst.alive()
    done = run("shutdown", "--yes", "--json", env=env_of(inst))
    assert done.returncode == Exit.OK, done.stderr
    assert json.loads(done.stdout)["shutdown"] == "requested"


def test_bench_outcomes(server: DhcpdInstance, dhcpd_factory: DhcpdFactory) -> None:
    """``aiomapi bench --server``: a JSON report on success, the table's codes otherwise."""
    bench = ["bench", "--duration", "0.5", "--leases", "20", "--peers", "none", "--json"]
    ok = run(*bench, env=env_of(server))
    assert ok.returncode == Exit.OK, ok.stderr
    report = json.loads(ok.stdout)
    assert report["ok"] is True
    assert all(row["lookups"] > 0 and row["errors"] == 0 for row in report["rows"])
    wrong = run(*bench, env=env_of(server, secret=WRONG_SECRET))
    assert wrong.returncode == Exit.AUTH_REFUSED, wrong.stdout + wrong.stderr
    assert json.loads(wrong.stdout)["error"] == "InvalidKey"
    env = {**env_of(server, port=closed_port()), "AIOMAPI_HOST": "127.0.0.1"}
    down = run(*bench, "--timeout", "5", env=env)
    assert down.returncode == Exit.CANNOT_CONNECT, down.stdout + down.stderr
    assert json.loads(down.stdout)["error"] == "NetworkError"
    stopped = dhcpd_factory(n_leases=10)
    os.kill(stopped.pid, signal.SIGSTOP)
    try:
        late = run(*bench, "--timeout", "1", env=env_of(stopped))
        assert late.returncode == Exit.TIMED_OUT, late.stdout + late.stderr
        assert json.loads(late.stdout)["error"] == "TimeoutError"
    finally:
        os.kill(stopped.pid, signal.SIGCONT)
