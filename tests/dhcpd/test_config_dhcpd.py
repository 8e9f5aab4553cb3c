"""aiomapi.config against the real dhcpd 4.4.3.

* ``dhcpd -t`` (no root, no network) gives its verdict on every sample in tests/data/config/,
  and the verdict is the one the sample's folder claims (tests/data/config/README.md): dhcpd
  accepts ``valid`` and ``stricter``, refuses (or crashes on) ``broken`` and ``lenient``; this
  reader reads ``valid`` and ``lenient`` and refuses the other two.
* A real failover pair and a real single server (the lab: root and network namespaces): what
  the reader finds in their dhcpd.conf is what they do over OMAPI.

Run the lab tests with AIOMAPI_LAB_FIRST_PORT set away from other runs on the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import aiomapi
from aiomapi import FailoverHierarchy
from aiomapi.config import Config, ConfigError, load_config, parse_config
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, FailoverPair, LabUnavailable, lease_ip

from ..conftest import FAILOVER_MAX_RESPONSE_DELAY, FAILOVER_MCLT, lab_unavailable, start_lab
from ..unit.test_config import DATA, uncommented

DHCPD = "/usr/sbin/dhcpd"
DHCPD_TIMEOUT = 20.0  # seconds; dhcpd -t on these files takes well under one


def dhcpd_test(conf: Path, *, cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``dhcpd -t -cf conf``, from ``cwd`` (where dhcpd looks for relative includes)."""
    if not os.access(DHCPD, os.X_OK):
        lab_unavailable(LabUnavailable(f"{DHCPD} not found (apt-get install isc-dhcp-server)"))
    leases = tmp_path / "dhcpd.leases"
    leases.touch()
    return subprocess.run(
        [DHCPD, "-4", "-t", "-cf", str(conf), "-lf", str(leases)],
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=DHCPD_TIMEOUT,
        check=False,
    )


def ours(conf: Path, include_dir: Path) -> ConfigError | Config:
    try:
        return load_config(conf, include_dir=include_dir)
    except ConfigError as exc:
        return exc


def samples(folder: str) -> list[str]:
    return sorted(p.name for p in (DATA / folder).glob("*.conf"))


# ----------------------------------------------------------------- dhcpd -t, no lab


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        (folder, name)
        for folder in ("debian", "valid", "broken", "stricter", "lenient")
        for name in samples(folder)
    ],
)
def test_dhcpd_verdict_matches_the_folder(folder: str, name: str, tmp_path: Path) -> None:
    conf = DATA / folder / name
    # dhcpd opens relative includes from its working directory: run it from the sample's
    # folder, and read with include_dir set to the same folder.
    done = dhcpd_test(conf, cwd=conf.parent, tmp_path=tmp_path)
    result = ours(conf, conf.parent)
    dhcpd_accepts = done.returncode == 0
    we_read = isinstance(result, Config)
    expected = {
        "debian": (True, True),
        "valid": (True, True),
        "broken": (False, False),
        "stricter": (True, False),
        "lenient": (False, True),
    }[folder]
    assert (dhcpd_accepts, we_read) == expected, (done.returncode, done.stderr[-600:], result)


def test_dhcpd_accepts_debian_example_uncommented(tmp_path: Path) -> None:
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(uncommented((DATA / "debian" / "dhcpd.conf").read_text()))
    done = dhcpd_test(conf, cwd=tmp_path, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(load_config(conf).subnets) == 6


def test_dhcpd_on_the_lookalike_hyphen_does_not_name_it(tmp_path: Path) -> None:
    # What docs/config.md says: dhcpd refuses the peer and points at the statement, but its
    # message says nothing about the character; ours names it.
    conf = DATA / "broken" / "failover-lookalike-hyphen.conf"
    done = dhcpd_test(conf, cwd=conf.parent, tmp_path=tmp_path)
    assert done.returncode != 0
    assert "line 7: invalid statement in peer declaration" in done.stderr
    said = done.stderr.replace(str(conf), "FILE").replace(conf.name, "FILE")
    assert "2010" not in said
    assert "HYPHEN" not in said.upper()
    assert "failover peer fo: not found" in done.stderr  # and the pool loses its peer
    result = ours(conf, conf.parent)
    assert isinstance(result, ConfigError)
    assert "U+2010 HYPHEN" in result.message


@pytest.mark.parametrize("name", ["include-cycle.conf", "key-no-algorithm.conf"])
def test_dhcpd_crashes_where_we_report(name: str, tmp_path: Path) -> None:
    conf = DATA / "broken" / name
    done = dhcpd_test(conf, cwd=conf.parent, tmp_path=tmp_path)
    assert done.returncode == -signal.SIGSEGV
    assert isinstance(ours(conf, conf.parent), ConfigError)


def test_dhcpd_opens_relative_includes_from_its_working_directory(tmp_path: Path) -> None:
    conf = DATA / "valid" / "include.conf"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = dhcpd_test(conf, cwd=elsewhere, tmp_path=tmp_path)
    assert done.returncode != 0
    assert "Can't open parts/omapi.conf" in done.stderr
    # include_dir reads the way dhcpd does; the default reads next to the including file.
    assert isinstance(ours(conf, elsewhere), ConfigError)
    assert load_config(conf).omapi_port == 7913


@pytest.mark.parametrize(
    ("statement", "omitted"),
    [
        ("max-response-delay 30;", "max-response-delay"),
        ("max-unacked-updates 10;", "max-unacked-updates"),
        ("load balance max seconds 3;", "load balance max seconds"),
        ("port 647;", "port"),
    ],
)
def test_dhcpd_accepts_a_peer_without(statement: str, omitted: str, tmp_path: Path) -> None:
    text = f"""
failover peer "fo" {{
  secondary; address 10.0.0.2; peer address 10.0.0.1;
  {statement}
}}
subnet 10.0.0.0 netmask 255.255.255.0 {{ pool {{ failover peer "fo"; range 10.0.0.9; }} }}
"""
    with_it = parse_config(text).peer()
    assert with_it.statement(omitted) is not None
    without = text.replace(statement, "")
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(without)
    assert dhcpd_test(conf, cwd=tmp_path, tmp_path=tmp_path).returncode == 0
    peer = load_config(conf).peer()
    assert peer.statement(omitted) is None
    field = {"load balance max seconds": "load_balance_max_seconds"}.get(
        omitted, omitted.replace("-", "_")
    )
    assert getattr(peer, field) is None  # omitted, not a default


# ----------------------------------------------------------------- the lab


@pytest.mark.dhcpd
@pytest.mark.failover
async def test_failover_pair_config_is_what_omapi_shows(failover_pair: FailoverPair) -> None:
    configs = {}
    for inst in (failover_pair.primary, failover_pair.secondary):
        config = load_config(inst.workdir / "dhcpd.conf")
        configs[inst.port] = config
        # The OMAPI endpoint: the port is omapi-port; the address is nowhere in dhcpd.conf
        # (dhcpd listens on every address), and the failover addresses are not it.
        assert config.omapi_port == inst.port
        assert inst.host not in (inst.workdir / "dhcpd.conf").read_text()
        key = config.key()
        assert key == inst.key
        peer = config.peer()
        assert peer.name == dhcpd_lab.PEER_NAME
        assert str(inst.host) not in (str(peer.address), str(peer.peer_address))
    primary_peer = configs[failover_pair.primary.port].peer()
    assert primary_peer.role is FailoverHierarchy.PRIMARY
    assert primary_peer.mclt == FAILOVER_MCLT
    assert primary_peer.max_response_delay == FAILOVER_MAX_RESPONSE_DELAY
    assert primary_peer.split == 128
    assert configs[failover_pair.secondary.port].peer().role is FailoverHierarchy.SECONDARY

    for inst in (failover_pair.primary, failover_pair.secondary):
        config = configs[inst.port]
        peer = config.peer()
        assert config.omapi_port is not None
        async with aiomapi.Client(
            inst.host, config.omapi_port, key=config.key(), timeout=10
        ) as client:
            state = await client.failover.get(peer.name)
        assert state.hierarchy is peer.role
        assert state.local_port == peer.port
        assert state.partner_port == peer.peer_port
        assert state.max_response_delay == peer.max_response_delay
        assert state.max_outstanding_updates == peer.max_unacked_updates
        assert state.load_balance_max_secs == peer.load_balance_max_seconds
        # The secondary's mclt and hash buckets come from the primary's declaration.
        assert state.mclt == primary_peer.mclt
        assert state.load_balance_hba == primary_peer.hash_buckets


@pytest.mark.dhcpd
async def test_a_later_key_declaration_replaces_an_earlier_one(
    tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]
) -> None:
    first = aiomapi.Key.generate(dhcpd_lab.KEY_NAME)
    second = aiomapi.Key.generate(dhcpd_lab.KEY_NAME)
    # The lab writes its key and omapi-key first; extra_conf comes after them.
    extra = f'key {dhcpd_lab.KEY_NAME} {{ algorithm hmac-md5; secret "{second.secret}"; }}'
    inst: DhcpdInstance = start_lab(
        dhcpd_lab.start_single,
        tmp_path_factory.mktemp("config-keys"),
        lab_port(),
        10,
        secret=first.secret,
        extra_conf=extra,
    )
    try:
        config = load_config(inst.workdir / "dhcpd.conf")
        assert config.key() == second
        assert config.omapi_port == inst.port
        async with aiomapi.Client(inst.host, inst.port, key=config.key(), timeout=10) as client:
            lease = await client.leases.get(ip=lease_ip(3))
            assert str(lease.ip_address) == lease_ip(3)
        async with aiomapi.Client(inst.host, inst.port, key=first, timeout=10) as client:
            with pytest.raises(aiomapi.InvalidKey):
                await client.leases.get(ip=lease_ip(3))
    finally:
        dhcpd_lab.stop(inst)
