"""The ``aiomapi`` command line, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from aiomapi.testing.dhcpd_lab import DhcpdInstance, lease_ip, lease_mac


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiomapi", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture
def server_env(dhcpd: DhcpdInstance) -> dict[str, str]:
    return {
        "AIOMAPI_HOST": dhcpd.host,
        "AIOMAPI_PORT": str(dhcpd.port),
        "AIOMAPI_KEY": f"{dhcpd.algorithm}:{dhcpd.key_name}:{dhcpd.secret}",
    }


def test_bench_without_arguments_uses_the_embedded_server() -> None:
    result = run("bench", "--duration", "1", "--leases", "500", "--peers", "none", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["server"]["kind"] == "embedded"
    assert report["server"]["own_process"] is True
    assert report["server"]["pid"] != report["bench_pid"]
    assert report["rows"]
    for row in report["rows"]:
        assert row["client"] == "aiomapi"
        assert row["lookups"] > 0
        assert row["errors"] == 0


def test_bench_against_the_real_dhcpd(dhcpd: DhcpdInstance, server_env: dict[str, str]) -> None:
    result = run("bench", "--duration", "1", "--leases", "1000", env=server_env)
    assert result.returncode == 0, result.stderr
    assert "lookups/s" in result.stdout
    assert dhcpd.secret not in result.stdout + result.stderr


def test_lease_lookup_by_ip_and_mac(server_env: dict[str, str]) -> None:
    result = run("lease", "--ip", lease_ip(17), env=server_env)
    assert result.returncode == 0, result.stderr
    assert "host17" in result.stdout
    assert "active" in result.stdout
    result = run("lease", "--mac", lease_mac(18), "--json", env=server_env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["client_hostname"] == "host18"
    assert data["hardware_address"] == lease_mac(18)
    assert data["state"] == "active"


def test_not_found_is_a_clear_error(server_env: dict[str, str]) -> None:
    result = run("lease", "--ip", "10.99.0.1", env=server_env)
    assert result.returncode == 10
    assert "not found: " in result.stderr
    assert "NotFound" not in result.stderr  # words, not class names
    assert "no object matches specification" in result.stderr


def test_host_create_get_delete(server_env: dict[str, str]) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    mac = "52:54:00:" + ":".join(f"{b:02x}" for b in os.urandom(3))
    created = run(
        "host", "create", "--name", name, "--mac", mac, "--ip", "10.200.1.1", env=server_env
    )
    assert created.returncode == 0, created.stderr
    got = run("host", "get", "--name", name, "--json", env=server_env)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["hardware_address"] == mac
    deleted = run("host", "delete", "--name", name, env=server_env)
    assert deleted.returncode == 0, deleted.stderr
    again = run("host", "get", "--name", name, env=server_env)
    assert again.returncode == 10
    assert "not found" in again.stderr


def test_wrong_key_is_reported_without_the_secret(dhcpd: DhcpdInstance) -> None:
    secret = "d3Jvbmctc2VjcmV0LWZvci10aGUtY2xpLXRlc3Q="
    result = run(
        "lease",
        "--server",
        dhcpd.host,
        "--port",
        str(dhcpd.port),
        "--key",
        f"{dhcpd.key_name}:{secret}",
        "--ip",
        lease_ip(1),
    )
    assert result.returncode == 12
    assert "invalid key" in result.stderr
    assert "secret" in result.stderr  # the hint: the key's secret is not dhcpd's
    assert secret not in result.stderr + result.stdout


def test_shutdown_needs_confirmation(server_env: dict[str, str], dhcpd: DhcpdInstance) -> None:
    result = run("shutdown", env=server_env)
    assert result.returncode == 64
    assert "--yes" in result.stderr
    assert dhcpd.alive()
