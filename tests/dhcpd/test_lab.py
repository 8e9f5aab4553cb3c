"""The dhcpd lab launcher itself (aiomapi.testing.dhcpd_lab), checked with omshell."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, FailoverPair, LabError, LabUnavailable

OPEN_LEASE_5 = "new lease\nset ip-address = 10.100.1.5\nopen"


def netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line}


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


# ---------------------------------------------------------------- no lab needed


def test_lease_addresses() -> None:
    assert dhcpd_lab.lease_ip(0) == "10.100.1.0"
    assert dhcpd_lab.lease_ip(255) == "10.100.1.255"
    assert dhcpd_lab.lease_ip(65_279) == "10.100.255.255"
    assert dhcpd_lab.lease_ip(65_280) == "10.101.0.0"
    assert dhcpd_lab.lease_mac(0) == "02:00:00:00:00:00"
    assert dhcpd_lab.lease_mac(999) == "02:00:00:00:03:e7"
    assert dhcpd_lab.lease_mac(0x01020304) == "02:00:01:02:03:04"


def test_missing_dhcpd_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dhcpd_lab.processes, "DHCPD", "/nonexistent/dhcpd")
    with pytest.raises(LabUnavailable, match="dhcpd"):
        dhcpd_lab.check_environment()


@pytest.mark.dhcpd
def test_bad_arguments_refused(tmp_path: Path, lab_port: Callable[[], int]) -> None:
    # lab_port: check_environment() comes first and would raise without the lab
    with pytest.raises(LabError, match="algorithm"):
        dhcpd_lab.start_single(tmp_path, 1, 1, "hmac-sha3")
    with pytest.raises(LabError, match="max_response_delay"):
        dhcpd_lab.start_failover(tmp_path, 1, 2, max_response_delay=2)
    with pytest.raises(LabError, match="base64"):
        dhcpd_lab.start_single(tmp_path, 1, 1, secret="not base64!")


# ---------------------------------------------------------------- single server


@pytest.mark.dhcpd
def test_single_serves_lab_leases(dhcpd: DhcpdInstance) -> None:
    assert dhcpd.alive()
    assert dhcpd.leases == 1000
    out = dhcpd_lab.omshell(dhcpd, OPEN_LEASE_5)
    assert 'client-hostname = "host5"' in out
    assert f"hardware-address = {dhcpd_lab.lease_mac(5)}" in out
    assert "Server starting service." in dhcpd.log_text()


@pytest.mark.dhcpd
def test_secret_stays_out_of_reprs(dhcpd: DhcpdInstance) -> None:
    assert dhcpd.secret not in repr(dhcpd)
    assert dhcpd.secret not in dhcpd_lab.omshell(dhcpd, OPEN_LEASE_5)


def test_log_tail_keeps_the_last_lines_and_hides_the_secret(tmp_path: Path) -> None:
    log = tmp_path / "dhcpd.log"
    inst = DhcpdInstance("127.0.0.1", 7911, "k", "c2VjcmV0", "hmac-md5", 0, "ns", 0, tmp_path, log)
    assert inst.log_tail() == ""  # no log yet
    log.write_text("".join(f"line {i}\n" for i in range(30)) + 'secret "c2VjcmV0";\n')
    tail = inst.log_tail(3)
    assert tail == 'line 28\nline 29\nsecret "<secret>";'
    assert len(inst.log_tail().splitlines()) == 20


@pytest.mark.dhcpd
def test_key_is_required(dhcpd: DhcpdInstance) -> None:
    assert "no key specified" in dhcpd_lab.omshell(dhcpd, OPEN_LEASE_5, key=False)


@pytest.mark.dhcpd
def test_insecure_listener(dhcpd_factory: Callable[..., DhcpdInstance]) -> None:
    inst = dhcpd_factory(n_leases=10, omapi_key=False)
    assert 'client-hostname = "host5"' in dhcpd_lab.omshell(inst, OPEN_LEASE_5, key=False)


@pytest.mark.dhcpd
@pytest.mark.parametrize("algorithm", ["hmac-sha256", "hmac-sha512"])
def test_other_algorithms(dhcpd_factory: Callable[..., DhcpdInstance], algorithm: str) -> None:
    inst = dhcpd_factory(n_leases=10, algorithm=algorithm)
    assert 'client-hostname = "host5"' in dhcpd_lab.omshell(inst, OPEN_LEASE_5)


@pytest.mark.dhcpd
def test_stop_is_idempotent_and_cleans_up(tmp_path: Path, lab_port: Callable[[], int]) -> None:
    port = lab_port()
    inst = dhcpd_lab.start_single(tmp_path, port, 10)
    assert inst.netns in netns_names()
    assert link_exists(f"aiomh{port}")
    dhcpd_lab.stop(inst)
    dhcpd_lab.stop(inst)
    dhcpd_lab.stop(tmp_path)
    assert not inst.alive()
    assert inst.netns not in netns_names()
    assert not link_exists(f"aiomh{port}")
    assert not dhcpd_lab.port_busy(port)
    assert "Server starting service." in inst.log_text()  # logs stay


@pytest.mark.dhcpd
def test_stop_without_state_file(tmp_path: Path, lab_port: Callable[[], int]) -> None:
    """As after a crash that lost the state: the config still names the port."""
    inst = dhcpd_lab.start_single(tmp_path, lab_port(), 10)
    (tmp_path / dhcpd_lab.STATE_FILE).unlink()
    dhcpd_lab.stop(tmp_path)
    assert not inst.alive()
    assert inst.netns not in netns_names()


@pytest.mark.dhcpd
def test_restart_in_same_workdir_and_busy_port(tmp_path: Path, lab_port: Callable[[], int]) -> None:
    port = lab_port()
    first = dhcpd_lab.start_single(tmp_path / "a", port, 10)
    try:
        with pytest.raises(LabError, match="in use"):
            dhcpd_lab.start_single(tmp_path / "b", port, 10)
        assert first.alive()
        second = dhcpd_lab.start_single(tmp_path / "a", port, 20)
        assert not first.alive()
        assert second.alive()
        assert 'client-hostname = "host5"' in dhcpd_lab.omshell(second, OPEN_LEASE_5)
    finally:
        dhcpd_lab.stop(tmp_path / "a")
    assert not dhcpd_lab.port_busy(port)


@pytest.mark.dhcpd
def test_failed_start_leaves_nothing(tmp_path: Path, lab_port: Callable[[], int]) -> None:
    port = lab_port()
    secret = "c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw=="
    bad = "option domain-name-servers nonsense 1;"
    with pytest.raises(LabError, match="semicolon expected") as info:
        dhcpd_lab.start_single(tmp_path, port, 10, secret=secret, extra_conf=bad)
    assert secret not in str(info.value)
    assert f"aiom-s-{port}" not in netns_names()
    assert not link_exists(f"aiomh{port}")


# ---------------------------------------------------------------- failover


@pytest.mark.dhcpd
@pytest.mark.failover
def test_failover_pair_is_normal(failover_pair: FailoverPair) -> None:
    assert failover_pair.peer_name == "lab"
    assert dhcpd_lab.omshell_failover_states(failover_pair.primary) == ("normal", "normal")
    assert dhcpd_lab.omshell_failover_states(failover_pair.secondary) == ("normal", "normal")
    assert failover_pair.primary.secret not in repr(failover_pair)


@pytest.mark.dhcpd
@pytest.mark.failover
def test_failover_kill_and_restart_secondary(failover_pair: FailoverPair) -> None:
    old = failover_pair.secondary
    failover_pair.kill_secondary(signal.SIGKILL)
    assert not old.alive()
    assert dhcpd_lab.omshell_failover_states(old) == ("down", "down")
    comms = "communications-interrupted"
    dhcpd_lab.wait_failover_states(failover_pair, comms, None, timeout=10)
    new = failover_pair.start_secondary()
    assert new is failover_pair.secondary
    assert new.pid != old.pid
    dhcpd_lab.wait_failover_states(failover_pair, "normal", "normal", timeout=30)


@pytest.mark.dhcpd
@pytest.mark.failover
@pytest.mark.slow
def test_failover_cut_and_heal(failover_pair: FailoverPair) -> None:
    comms = "communications-interrupted"
    failover_pair.cut()
    try:
        # noticed after max-response-delay (FAILOVER_MAX_RESPONSE_DELAY = 5 s)
        dhcpd_lab.wait_failover_states(failover_pair, comms, comms, timeout=30)
    finally:
        failover_pair.heal()
    # dhcpd retries the peer connection every ~5 s
    dhcpd_lab.wait_failover_states(failover_pair, "normal", "normal", timeout=30)
