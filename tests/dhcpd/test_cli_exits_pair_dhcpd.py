"""The pair and monitor commands × {success, not found, wrong key, no server, timeout}: the
exit code and the JSON, against the real dhcpd (docs/cli.md has the table).

One failover pair for the module (tests/conftest.py's failover_pair) and the session's single
dhcpd; nothing here changes a lease or a failover state (release runs with --dry-run or on
addresses without a lease, partner-down and resync are refused or not confirmed). "Timeout"
is a socket that listens and never answers; "no server", a port nothing listens on.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from aiomapi.cli.exits import Exit
from aiomapi.testing.dhcpd_lab import DhcpdInstance, FailoverPair, lease_ip

from .test_cli_exits_dhcpd import WRONG_SECRET, closed_port, run

pytestmark = [pytest.mark.dhcpd, pytest.mark.failover]

#: The outcomes that need no object to look up; "ok" and "missing" are per command.
FAILURES = ("wrong key", "no server", "timeout")


@pytest.fixture(scope="module")
def silent() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def spec(inst: DhcpdInstance, secret: str | None = None) -> str:
    return f"{inst.algorithm}:{inst.key_name}:{secret or inst.secret}"


def key_env(inst: DhcpdInstance, outcome: str) -> dict[str, str]:
    """The key by the environment: the wrong secret for "wrong key", else none given (the
    commands with --config then take its omapi-key)."""
    return {"AIOMAPI_KEY": spec(inst, WRONG_SECRET) if outcome == "wrong key" else ""}


def where(lab: FailoverPair, outcome: str, silent: int) -> tuple[str, str]:
    """``(primary, secondary)`` HOST:PORT for the outcome."""
    p, s = lab.primary, lab.secondary
    if outcome == "no server":
        return f"127.0.0.1:{closed_port()}", f"127.0.0.1:{closed_port()}"
    if outcome == "timeout":
        return f"127.0.0.1:{silent}", f"127.0.0.1:{silent}"
    return f"{p.host}:{p.port}", f"{s.host}:{s.port}"


def pair_argv(lab: FailoverPair, outcome: str, silent: int) -> list[str]:
    primary, secondary = where(lab, outcome, silent)
    timeout = "1" if outcome == "timeout" else "5"
    conf = lab.primary.workdir / "dhcpd.conf"
    return [f"--config={conf}", f"--primary={primary}", f"--secondary={secondary}",
            f"--timeout={timeout}", "--json"]  # fmt: skip


def single_argv(inst: DhcpdInstance, outcome: str, silent: int) -> tuple[str, int, str]:
    """``(host, port, timeout)`` of the single server for the outcome."""
    if outcome == "no server":
        return "127.0.0.1", closed_port(), "5"
    if outcome == "timeout":
        return "127.0.0.1", silent, "1"
    return inst.host, inst.port, "5"


def error_of(stdout: str, error: str, code: Exit) -> dict[str, Any]:
    """The JSON error object of docs/cli.md, checked."""
    data: dict[str, Any] = json.loads(stdout)
    assert data["error"] == error, data
    assert data["exit"] == code
    assert set(data) >= {"message", "result_code", "result", "text", "hint"}
    return data


#: Which error class the entry point reports for each failure (the first server's).
ERRORS = {"wrong key": "InvalidKey", "no server": "NetworkError", "timeout": "TimeoutError"}
CODES = {"wrong key": Exit.AUTH_REFUSED, "no server": Exit.CANNOT_CONNECT,
         "timeout": Exit.TIMED_OUT}  # fmt: skip


def check_failure(result: Any, outcome: str, code: Exit | None = None) -> dict[str, Any]:
    want = CODES[outcome] if code is None else code
    assert result.returncode == want, result.stdout + result.stderr
    data = error_of(result.stdout, ERRORS[outcome], want)
    if outcome == "wrong key":
        assert data["result"] == "DHCP_R_INVALIDKEY"
        assert WRONG_SECRET not in result.stdout + result.stderr
    assert data["hint"]
    return data


# ---------------------------------------------------------------- failover status


@pytest.mark.parametrize("outcome", ["ok", *FAILURES])
def test_failover_status(failover_pair: FailoverPair, silent: int, outcome: str) -> None:
    env = key_env(failover_pair.primary, outcome)
    result = run("failover", "status", *pair_argv(failover_pair, outcome, silent), env=env)
    status = json.loads(result.stdout)  # the pair's status, whatever the outcome
    if outcome == "ok":
        assert result.returncode == Exit.OK, result.stderr
        assert status["verdict"] == "healthy"
        assert status["primary"]["local_state"] == "normal"
        return
    # a judging command that read neither server: UNKNOWN, with each side's error
    assert result.returncode == Exit.UNKNOWN, result.stdout + result.stderr
    assert status["exit_code"] == Exit.UNKNOWN
    assert not status["primary"]["reachable"]
    assert not status["secondary"]["reachable"]
    assert status["primary"]["error"]
    assert WRONG_SECRET not in result.stdout + result.stderr


# ---------------------------------------------------------------- failover diff


@pytest.mark.parametrize("outcome", ["ok", *FAILURES])
def test_failover_diff(failover_pair: FailoverPair, silent: int, outcome: str) -> None:
    env = key_env(failover_pair.primary, outcome)
    argv = pair_argv(failover_pair, outcome, silent)
    result = run("failover", "diff", *argv, "--settle=0", "--quiet", env=env)
    if outcome == "ok":
        assert result.returncode == Exit.OK, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["consistent"] is True
        return
    check_failure(result, outcome, Exit.UNKNOWN)  # judging: UNKNOWN, the error as JSON


# ---------------------------------------------------------------- failover who-serves


@pytest.mark.parametrize("outcome", ["ok", *FAILURES])
def test_failover_who_serves(failover_pair: FailoverPair, silent: int, outcome: str) -> None:
    host, port, timeout = single_argv(failover_pair.primary, outcome, silent)
    s = failover_pair.secondary
    env = {"AIOMAPI_KEY": spec(failover_pair.primary, WRONG_SECRET if outcome == "wrong key"
                                else None)}  # fmt: skip
    partner = ["--partner-server", s.host, "--partner-port", str(s.port)] if outcome == "ok" else []
    result = run(
        "failover", "who-serves", "--server", host, "--port", str(port), *partner,
        "--peer", failover_pair.peer_name, "--mac", "52:54:00:12:34:56",
        "--timeout", timeout, "--json", env=env,
    )  # fmt: skip
    if outcome == "ok":
        assert result.returncode == Exit.OK, result.stderr
        decision = json.loads(result.stdout)
        assert 0 <= decision["bucket"] <= 255
        assert decision["serving"] in ("primary", "secondary")
        return
    check_failure(result, outcome)


def test_failover_who_serves_not_found(failover_pair: FailoverPair) -> None:
    p = failover_pair.primary
    result = run(
        "failover", "who-serves", "--server", p.host, "--port", str(p.port),
        "--peer", "no-such-peer", "--mac", "52:54:00:12:34:56", "--json",
        env={"AIOMAPI_KEY": spec(p)},
    )  # fmt: skip
    assert result.returncode == Exit.NOT_FOUND, result.stdout + result.stderr
    assert error_of(result.stdout, "NotFound", Exit.NOT_FOUND)["result"] == "ISC_R_NOTFOUND"


# ---------------------------------------------------------------- failover get


@pytest.mark.parametrize("outcome", ["ok", "missing", *FAILURES])
def test_failover_get(failover_pair: FailoverPair, silent: int, outcome: str) -> None:
    """One server's failover-state object (the single-server matrix has no pair to read)."""
    host, port, timeout = single_argv(failover_pair.primary, outcome, silent)
    env = {"AIOMAPI_HOST": host, "AIOMAPI_PORT": str(port),
           "AIOMAPI_KEY": spec(failover_pair.primary, WRONG_SECRET if outcome == "wrong key"
                               else None)}  # fmt: skip
    peer = "no-such-peer" if outcome == "missing" else failover_pair.peer_name
    result = run("failover", "get", peer, "--json", f"--timeout={timeout}", env=env)
    if outcome == "ok":
        assert result.returncode == Exit.OK, result.stdout + result.stderr
        assert json.loads(result.stdout)["local_state"] == "normal"
    elif outcome == "missing":
        assert result.returncode == Exit.NOT_FOUND, result.stdout + result.stderr
        assert error_of(result.stdout, "NotFound", Exit.NOT_FOUND)["result"] == "ISC_R_NOTFOUND"
    else:
        check_failure(result, outcome)


# ---------------------------------------------------------------- partner-down, resync


@pytest.mark.parametrize("outcome", ["refused", *FAILURES])
def test_failover_partner_down(failover_pair: FailoverPair, silent: int, outcome: str) -> None:
    """Both servers answer and are in touch: the guard refuses, nothing changes."""
    env = key_env(failover_pair.primary, outcome)
    argv = pair_argv(failover_pair, outcome, silent)
    result = run("failover", "partner-down", *argv, env=env)
    if outcome == "refused":
        assert result.returncode == Exit.UNSAFE_REQUEST, result.stdout + result.stderr
        data = error_of(result.stdout, "RefusedError", Exit.UNSAFE_REQUEST)
        assert "--peer-side" in data["message"]
        assert data["hint"]
        side = run("failover", "partner-down", *argv, "--peer-side=primary", env=env)
        assert side.returncode == Exit.UNSAFE_REQUEST, side.stdout + side.stderr
        assert error_of(side.stdout, "RefusedError", Exit.UNSAFE_REQUEST)["message"]
        return
    check_failure(result, outcome)


@pytest.mark.parametrize("outcome", ["not confirmed", *FAILURES])
def test_failover_resync(failover_pair: FailoverPair, silent: int, outcome: str) -> None:
    env = key_env(failover_pair.primary, outcome)
    result = run("failover", "resync", *pair_argv(failover_pair, outcome, silent), env=env)
    if outcome == "not confirmed":
        assert result.returncode == Exit.USAGE, result.stdout + result.stderr
        assert "--yes" in result.stderr
        return
    check_failure(result, outcome)


# ---------------------------------------------------------------- failover hosts


def test_failover_hosts(failover_pair: FailoverPair, silent: int) -> None:
    """0 on both, 1 on one only; on neither, the code and JSON error of the one error both
    gave (10 when the host is on neither, 12/13/14 for key, connection, timeout)."""
    argv = pair_argv(failover_pair, "ok", silent)
    env = key_env(failover_pair.primary, "ok")
    name, mac = "cli-pair-exit", "52:54:00:ee:01:01"
    created = run("failover", "hosts", "create", *argv, f"--name={name}", f"--mac={mac}", env=env)
    assert created.returncode == Exit.OK, created.stdout + created.stderr
    deleted = run("failover", "hosts", "delete", *argv, f"--name={name}", env=env)
    assert deleted.returncode == Exit.OK, deleted.stdout + deleted.stderr
    gone = run("failover", "hosts", "delete", *argv, f"--name={name}", env=env)
    assert gone.returncode == Exit.NOT_FOUND, gone.stdout + gone.stderr
    assert error_of(gone.stdout, "NotFound", Exit.NOT_FOUND)["result_code"] == 23
    for outcome in FAILURES:
        argv = pair_argv(failover_pair, outcome, silent)
        env = key_env(failover_pair.primary, outcome)
        failed = run("failover", "hosts", "delete", *argv, f"--name={name}", env=env)
        check_failure(failed, outcome)


# ---------------------------------------------------------------- leases release / expire


@pytest.mark.parametrize("action", ["release", "expire"])
@pytest.mark.parametrize("outcome", ["ok", "missing", *FAILURES])
def test_leases_release_on_the_pair(
    failover_pair: FailoverPair, silent: int, action: str, outcome: str
) -> None:
    env = key_env(failover_pair.primary, outcome)
    argv = pair_argv(failover_pair, outcome, silent)
    # "ok" reads and filters only (--dry-run); "missing": addresses with no lease
    addresses = "10.99.0.1-10.99.0.3" if outcome == "missing" else "10.0.0.10-10.0.0.12"
    change = ["--yes"] if outcome == "missing" else ["--dry-run"]
    result = run("leases", action, *argv, f"--range={addresses}", *change, "--quiet", env=env)
    if outcome in ("ok", "missing"):
        assert result.returncode == Exit.OK, result.stdout + result.stderr
        summary = json.loads(result.stdout)
        assert summary["server"] == "primary"
        if outcome == "missing":
            assert summary["outcomes"] == {"not-found": 3}
        return
    check_failure(result, outcome)


@pytest.mark.parametrize("outcome", ["ok", *FAILURES])
def test_leases_expire_one_server(dhcpd: DhcpdInstance, silent: int, outcome: str) -> None:
    host, port, timeout = single_argv(dhcpd, outcome, silent)
    env = {"AIOMAPI_KEY": spec(dhcpd, WRONG_SECRET if outcome == "wrong key" else None)}
    result = run(
        "leases", "expire", f"--server={host}:{port}", f"--range={lease_ip(0)}-{lease_ip(2)}",
        "--dry-run", "--quiet", "--json", f"--timeout={timeout}", env=env,
    )  # fmt: skip
    if outcome == "ok":
        assert result.returncode == Exit.OK, result.stdout + result.stderr
        assert sum(json.loads(result.stdout)["outcomes"].values()) == 3
        return
    check_failure(result, outcome)


# ---------------------------------------------------------------- pools, exporter


@pytest.mark.parametrize("outcome", ["ok", *FAILURES])
def test_pools(dhcpd: DhcpdInstance, silent: int, outcome: str) -> None:
    host, port, timeout = single_argv(dhcpd, outcome, silent)
    result = run(
        "pools", f"--config={dhcpd.workdir / 'dhcpd.conf'}", f"--server={host}:{port}",
        f"--timeout={timeout}", "--json", env=key_env(dhcpd, outcome),
    )  # fmt: skip
    report = json.loads(result.stdout)  # a report, whatever the outcome
    (server,) = report["servers"]
    if outcome == "ok":
        assert result.returncode == Exit.OK, result.stdout + result.stderr
        assert server["answered"] is True
        return
    # no figure without the server (and without --leases): nothing to judge
    assert result.returncode == Exit.UNKNOWN, result.stdout + result.stderr
    assert server["answered"] is False
    assert server["error"]
    assert WRONG_SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("outcome", ["ok", *FAILURES])
def test_exporter_once(dhcpd: DhcpdInstance, silent: int, outcome: str) -> None:
    """An exporter reports what it cannot read in its metrics, and exits 0."""
    host, port, timeout = single_argv(dhcpd, outcome, silent)
    result = run(
        "exporter", "--once", f"--config={dhcpd.workdir / 'dhcpd.conf'}",
        f"--server={host}:{port}", f"--timeout={timeout}", f"--scrape-timeout={timeout}",
        env=key_env(dhcpd, outcome),
    )  # fmt: skip
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    up = [line for line in result.stdout.splitlines() if line.startswith("dhcpd_up{")]
    assert up, result.stdout[:2000]
    assert up[0].endswith(" 1.0" if outcome == "ok" else " 0.0"), up
    assert WRONG_SECRET not in result.stdout + result.stderr


# ---------------------------------------------------------------- config check --live


@pytest.mark.parametrize("outcome", ["ok", *FAILURES])
def test_config_check_live(dhcpd: DhcpdInstance, silent: int, outcome: str) -> None:
    host, port, timeout = single_argv(dhcpd, outcome, silent)
    result = run(
        "config", "check", str(dhcpd.workdir / "dhcpd.conf"), "--live", "--no-dhcpd",
        f"--server={host}", f"--port={port}", f"--timeout={timeout}", "--json",
        env=key_env(dhcpd, outcome),
    )  # fmt: skip
    if outcome == "ok":
        report = json.loads(result.stdout)
        assert result.returncode == report["summary"]["exit_code"], result.stdout + result.stderr
        assert report["live"] == f"{host}:{port}"
        assert result.returncode in (Exit.OK, Exit.WARNING)
        return
    check_failure(result, outcome)
