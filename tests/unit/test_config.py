"""Tests for aiomapi.config: Debian's files, the lab's files, samples, errors, secrets, fuzz.

Pure tests: no dhcpd. tests/dhcpd/test_config_dhcpd.py holds dhcpd's verdict on the same samples.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiomapi
from aiomapi import FailoverHierarchy, MacAddress
from aiomapi.config import (
    Config,
    ConfigError,
    Location,
    load_config,
    parse_config,
)
from aiomapi.testing import dhcpd_lab

DATA = Path(__file__).parent.parent / "data" / "config"
IP = IPv4Address
PRIMARY_SECRET = "bm90IGEgcmVhbCBzZWNyZXQsIGp1c3QgYSB0ZXN0IG9uZQ=="


def load(name: str) -> Config:
    return load_config(DATA / name)


def error_of(path: Path, *, include_dir: Path | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, include_dir=include_dir)
    return info.value


# ----------------------------------------------------------------- Debian's own files


def uncommented(text: str) -> str:
    """Debian's sample with its commented-out declarations switched on.

    A declaration line is commented out as ``#subnet`` or ``#  range``; prose is ``# Text``.
    """
    return re.sub(r"^#( {2,}|(?=[^ \n]))", r"\1", text, flags=re.MULTILINE)


def test_debian_dhcpd_conf_as_shipped_declares_nothing_aiomapi_reads() -> None:
    config = load("debian/dhcpd.conf")
    assert config.omapi_port is None
    assert config.omapi_key is None
    assert config.key() is None
    assert dict(config.keys) == {}
    assert dict(config.failover_peers) == {}
    assert config.subnets == ()
    assert config.shared_networks == ()
    assert config.hosts == ()
    assert config.files == (str(DATA / "debian/dhcpd.conf"),)


def test_debian_dhcpd_conf_uncommented() -> None:
    text = (DATA / "debian/dhcpd.conf").read_text()
    config = parse_config(uncommented(text), source="dhcpd.conf")
    subnets = {(str(s.address), str(s.netmask)): s for s in config.subnets}
    assert list(subnets) == [
        ("10.152.187.0", "255.255.255.0"),
        ("10.254.239.0", "255.255.255.224"),
        ("10.254.239.32", "255.255.255.224"),
        ("10.5.5.0", "255.255.255.224"),
        ("10.17.224.0", "255.255.255.0"),
        ("10.0.29.0", "255.255.255.0"),
    ]
    assert subnets["10.152.187.0", "255.255.255.0"].ranges == ()
    (plain,) = subnets["10.254.239.0", "255.255.255.224"].ranges
    assert (plain.start, plain.end, plain.dynamic_bootp) == (
        IP("10.254.239.10"),
        IP("10.254.239.20"),
        False,
    )
    assert len(plain) == 11
    (bootp,) = subnets["10.254.239.32", "255.255.255.224"].ranges
    assert (bootp.start, bootp.end, bootp.dynamic_bootp) == (
        IP("10.254.239.40"),
        IP("10.254.239.60"),
        True,
    )
    assert [str(r.start) for r in subnets["10.5.5.0", "255.255.255.224"].ranges] == ["10.5.5.26"]

    (shared,) = config.shared_networks
    assert shared.name == "224-29"
    assert [str(s.address) for s in shared.subnets] == ["10.17.224.0", "10.0.29.0"]
    assert all(s.shared_network == "224-29" for s in shared.subnets)
    assert [(str(r.start), str(r.end)) for p in shared.pools for r in p.ranges] == [
        ("10.17.224.10", "10.17.224.250"),
        ("10.0.29.10", "10.0.29.230"),
    ]
    assert all(p.failover_peer is None for p in shared.pools)

    passacaglia = config.host("passacaglia")
    assert passacaglia.hardware_type == 1
    assert passacaglia.hardware_address == MacAddress("00:00:c0:5d:bd:95")
    assert passacaglia.fixed_addresses == ()
    fantasia = config.host("fantasia")
    assert fantasia.hardware_address == MacAddress("08:00:07:26:c0:a5")
    assert fantasia.fixed_addresses == ("fantasia.example.com",)
    assert fantasia.location == Location("dhcpd.conf", 78, 1, fantasia.location.offset)


def test_debian_dhcpd6_conf_reads_and_declares_nothing_aiomapi_reads() -> None:
    config = load("debian/dhcpd6.conf")
    assert config.subnets == ()
    assert config.hosts == ()
    assert config.omapi_port is None


@pytest.mark.parametrize(
    ("ours", "installed"),
    [
        ("debian/dhcpd.conf", "/etc/dhcp/dhcpd.conf"),
        ("debian/dhcpd.conf", "/usr/share/doc/isc-dhcp-server/examples/dhcpd.conf.example"),
        ("debian/dhcpd6.conf", "/etc/dhcp/dhcpd6.conf"),
    ],
)
def test_debian_copies_match_the_installed_package(ours: str, installed: str) -> None:
    path = Path(installed)
    if not path.is_file():
        pytest.skip(f"{installed} is not installed")
    assert (DATA / ours).read_bytes() == path.read_bytes()


# ----------------------------------------------------------------- the lab's files

LAB_SECRET = "bGFiLXNlY3JldC1mb3ItYWlvbWFwaS1jb25maWctdGVzdHM="


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_lab_failover_configs(tmp_path: Path, role: str) -> None:
    # The writers start_failover uses, without starting anything.
    stanza = dhcpd_lab._failover_stanza(role, 30, 5, 90)
    dhcpd_lab._write_conf(tmp_path, 26123, "hmac-sha256", LAB_SECRET, 100, True, "", stanza)
    config = load_config(tmp_path / "dhcpd.conf")

    assert config.omapi_port == 26123
    assert config.omapi_key == dhcpd_lab.KEY_NAME
    key = config.key()
    assert key == aiomapi.Key(dhcpd_lab.KEY_NAME, LAB_SECRET, "hmac-sha256")
    assert key is not None
    assert key.secret == LAB_SECRET

    peer = config.peer()
    assert config.peer(dhcpd_lab.PEER_NAME) is peer
    assert peer.name == dhcpd_lab.PEER_NAME
    me, partner = ("10.254.0.1", "10.254.0.2")[:: 1 if role == "primary" else -1]
    assert peer.address == IP(me)
    assert peer.peer_address == IP(partner)
    assert peer.port == peer.peer_port == dhcpd_lab.FAILOVER_PORT
    assert peer.max_response_delay == 5
    assert peer.max_unacked_updates == 10
    assert peer.load_balance_max_seconds == 5
    assert peer.auto_partner_down == 90
    if role == "primary":
        assert peer.role is FailoverHierarchy.PRIMARY
        assert (peer.mclt, peer.split, peer.hba) == (30, 128, None)
        assert peer.hash_buckets == bytes([0xFF] * 16 + [0] * 16)
    else:
        assert peer.role is FailoverHierarchy.SECONDARY
        assert (peer.mclt, peer.split, peer.hba, peer.hash_buckets) == (None, None, None, None)

    (subnet,) = config.subnets
    assert subnet.network == aiomapi_network("10.100.0.0/14")
    (pool,) = subnet.pools
    assert pool.failover_peer == dhcpd_lab.PEER_NAME
    (rng,) = pool.ranges
    assert (rng.start, rng.end) == (IP(dhcpd_lab.lease_ip(0)), IP(dhcpd_lab.lease_ip(115)))


def aiomapi_network(text: str) -> object:
    from ipaddress import IPv4Network

    return IPv4Network(text)


def test_lab_single_config_without_omapi_key(tmp_path: Path) -> None:
    dhcpd_lab._write_conf(tmp_path, 26124, "hmac-md5", LAB_SECRET, 10, False, "", "")
    config = load_config(tmp_path / "dhcpd.conf")
    assert config.omapi_port == 26124
    assert config.omapi_key is None
    assert config.key() is None
    assert list(config.keys) == [dhcpd_lab.KEY_NAME]  # declared, but OMAPI is unsigned
    assert config.failover_peers == {}
    with pytest.raises(KeyError, match="declares 0 failover peers"):
        config.peer()
    (pool,) = config.pools
    assert pool.failover_peer is None


# ----------------------------------------------------------------- valid samples


def test_failover_primary_sample() -> None:
    config = load("valid/failover-primary.conf")
    assert config.omapi_port == 7911
    assert config.omapi_key == "omapi key"
    key = config.key()
    assert key == aiomapi.Key("omapi key", PRIMARY_SECRET, "hmac-sha256")
    assert list(config.keys) == ["omapi key", "ddns-key"]
    assert config.keys["ddns-key"] == aiomapi.Key("ddns-key", "c2Vjb25kIGtleQ==", "hmac-md5")
    assert config.key_locations["ddns-key"].line == 12

    peer = config.peer()
    assert peer == dataclasses.replace(
        peer,
        name="dhcp-failover",
        role=FailoverHierarchy.PRIMARY,
        address=IP("192.0.2.1"),
        port=647,
        peer_address=IP("192.0.2.2"),
        peer_port=847,
        max_response_delay=60,
        max_unacked_updates=10,
        peer_max_response_delay=None,
        peer_max_unacked_updates=None,
        mclt=3600,
        split=None,
        hba=bytes([0xFF] * 16 + [0] * 16),
        load_balance_max_seconds=3,
        auto_partner_down=86400,
        max_lease_misbalance=15,
        max_lease_ownership=10,
        max_balance=3600,
        min_balance=60,
    )
    assert peer.hash_buckets == peer.hba
    # Every statement keeps its keyword's place, for a checker to point at.
    assert [(s.keyword, s.location.line, s.location.column) for s in peer.statements] == [
        ("primary", 20, 3),
        ("address", 21, 3),
        ("port", 22, 3),
        ("peer address", 23, 3),
        ("peer port", 24, 3),
        ("max-response-delay", 25, 3),
        ("max-unacked-updates", 26, 3),
        ("mclt", 27, 3),
        ("hba", 28, 3),
        ("load balance max seconds", 29, 3),
        ("auto-partner-down", 30, 3),
        ("max-lease-misbalance", 31, 3),
        ("max-lease-ownership", 32, 3),
        ("min-balance", 33, 3),
        ("max-balance", 34, 3),
    ]
    statement = peer.statement("peer port")
    assert statement is not None
    assert [t.text for t in statement.tokens] == ["peer", "port", "847"]
    assert statement.tokens[2].location.column == 13
    assert peer.location is not None
    assert (peer.location.line, peer.location.column) == (19, 1)

    (shared,) = config.shared_networks
    assert shared.name == "floor-1"
    assert shared.failover_peer is None
    assert [str(s.address) for s in shared.subnets] == ["192.0.2.0", "198.51.100.0"]
    first = shared.subnets[0]
    assert [(str(r.start), str(r.end)) for r in first.ranges] == [("192.0.2.200", "192.0.2.210")]
    (pool,) = first.pools
    assert pool.failover_peer == "dhcp-failover"
    assert [(str(r.start), str(r.end)) for r in pool.ranges] == [
        ("192.0.2.10", "192.0.2.99"),
        ("192.0.2.150", "192.0.2.150"),
    ]
    (phones,) = shared.pools
    assert phones.failover_peer == "dhcp-failover"
    assert len(config.pools) == 2
    assert len(config.ranges) == 4

    assert [h.name for h in config.hosts] == ["printer", "build-1.example.org", "spare"]
    build = config.host("build-1.example.org")
    assert build.hardware_address == MacAddress("00:16:3e:0a:0b:0c")
    assert build.fixed_addresses == (IP("192.0.2.6"), "build-1.example.org")
    spare = config.host("spare")
    assert (spare.hardware_type, spare.fixed_addresses) == (6, ())
    with pytest.raises(KeyError):
        config.host("nobody")


def test_failover_secondary_sample() -> None:
    config = load("valid/failover-secondary.conf")
    assert config.omapi_port == 7912
    assert config.omapi_key is None
    peer = config.peer("dhcp-failover")
    assert peer.role is FailoverHierarchy.SECONDARY
    assert (peer.address, peer.port) == (IP("192.0.2.2"), 847)
    assert (peer.peer_address, peer.peer_port) == (IP("192.0.2.1"), 647)
    assert (peer.max_response_delay, peer.max_unacked_updates) == (None, None)
    assert (peer.peer_max_response_delay, peer.peer_max_unacked_updates) == (60, 10)
    assert peer.mclt is None
    assert peer.hash_buckets is None
    assert peer.statement("peer max-response-delay") is not None
    assert peer.statement("max-response-delay") is None
    (shared,) = config.shared_networks
    assert shared.failover_peer == "dhcp-failover"
    named, inherited = shared.subnets[0].pools
    assert named.failover_peer == inherited.failover_peer == "dhcp-failover"
    assert named.failover_peer_location is not None
    assert named.failover_peer_location.line == 19
    assert inherited.failover_peer_location is None


def test_ranges_sample() -> None:
    config = load("valid/ranges.conf")
    first, odd = config.subnets
    assert [(str(r.start), str(r.end), r.dynamic_bootp) for r in first.ranges] == [
        ("10.0.0.10", "10.0.0.20", False),
        ("10.0.0.30", "10.0.0.30", False),
        ("10.0.0.40", "10.0.0.50", True),
        ("10.0.0.60", "10.0.0.60", True),
        ("10.0.0.79", "10.0.0.70", False),
        ("10.0.0.90", "10.0.0.99", False),
    ]
    swapped = first.ranges[4]
    assert (swapped.low, swapped.high, len(swapped)) == (IP("10.0.0.70"), IP("10.0.0.79"), 10)
    assert IP("10.0.0.75") in swapped
    assert IP("10.0.0.80") not in swapped
    assert swapped.location.line == 7
    assert first.network is not None
    assert IP("10.0.0.1") in first
    assert odd.network is None  # 255.0.255.0 is not contiguous
    assert IP("10.7.1.1") in odd
    assert IP("10.7.2.1") not in odd


def test_includes_are_read_where_they_stand() -> None:
    config = load("valid/include.conf")
    parts = DATA / "valid" / "parts"
    assert config.files == (
        str(DATA / "valid/include.conf"),
        str(parts / "omapi.conf"),
        str(parts / "pool.conf"),
        str(parts / "hosts.conf"),
    )
    assert config.omapi_port == 7913
    assert config.key() == aiomapi.Key("omapi_key", "aW5jbHVkZWQga2V5", "hmac-md5")
    assert config.key_locations["omapi_key"].file == str(parts / "omapi.conf")
    (subnet,) = config.subnets
    (pool,) = subnet.pools  # the included pool belongs to the subnet that includes it
    assert pool.location == Location(str(parts / "pool.conf"), 1, 1, 0)
    (host,) = config.hosts
    assert host.name == "included-host"
    assert host.location.file == str(parts / "hosts.conf")


def test_include_dir_resolves_relative_names_as_dhcpd_does(tmp_path: Path) -> None:
    # dhcpd opens a relative include from its working directory; include_dir stands for it.
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "main.conf").write_text('include "conf/part.conf";\n')
    (tmp_path / "conf" / "part.conf").write_text("omapi-port 7999;\n")
    err = error_of(tmp_path / "conf" / "main.conf")
    assert "cannot read included file 'conf/part.conf'" in err.message
    config = load_config(tmp_path / "conf" / "main.conf", include_dir=tmp_path)
    assert config.omapi_port == 7999


def test_parse_config_includes_relative_to_include_dir(tmp_path: Path) -> None:
    (tmp_path / "keys.conf").write_text('key k { algorithm hmac-md5; secret "c2VjcmV0"; }\n')
    config = parse_config('include "keys.conf";\nomapi-key k;\n', include_dir=tmp_path)
    assert config.key() == aiomapi.Key("k", "c2VjcmV0", "hmac-md5")
    assert config.source == "<string>"
    assert config.files == ("<string>", str(tmp_path / "keys.conf"))


def test_include_of_something_not_a_file(tmp_path: Path) -> None:
    err = error_of_text(f'include "{tmp_path}";\n')
    assert err.message == f"included file {str(tmp_path)!r} is not a regular file"


def test_an_included_file_may_be_read_twice(tmp_path: Path) -> None:
    (tmp_path / "opt.conf").write_text("default-lease-time 600;\n")
    (tmp_path / "main.conf").write_text('include "opt.conf";\ninclude "opt.conf";\n')
    assert len(load_config(tmp_path / "main.conf").files) == 3


def test_skipped_statements_and_blocks() -> None:
    config = parse_config(
        """
        option space foo;
        option foo.bar code 1 = text;
        option foo.rec code 2 = { unsigned integer 8, text };
        option foo.recs code 3 = array of { ip-address, ip-address };
        class "c" { match if option foo.bar = "x"; lease limit 3; }
        subclass "c" 01:02:03;
        subclass "c" "y" { range 10.9.9.9; }
        zone example.org. { primary 127.0.0.1; key k; }
        switch (option foo.bar) { case "a": option domain-name "a"; }
        on commit { if exists foo.bar { log (info, "subnet host range"); } }
        failover peer "p" { secondary; address 10.0.0.2; peer address 10.0.0.1; }
        failover peer "p" state { my state normal at 1 2024/01/01 00:00:00; }
        subnet 10.0.0.0 netmask 255.255.255.0 {
          not authoritative;
          pool { failover peer "p"; range 10.0.0.9; deny unknown-clients; }
          host h { group "named"; fixed-address 10.0.0.3; }
        }
        """
    )
    (subnet,) = config.subnets
    assert [str(r.start) for p in subnet.pools for r in p.ranges] == ["10.0.0.9"]
    assert config.host("h").fixed_addresses == (IP("10.0.0.3"),)


# ----------------------------------------------------------------- broken samples

BROKEN = {
    "unclosed-brace.conf": (
        2,
        39,
        "unexpected end of file: the '{' of the 'subnet' statement is never closed",
    ),
    "extra-brace.conf": (4, 1, "'}' closes no '{'"),
    "missing-semicolon-before-brace.conf": (3, 1, "expected ';' to end the 'range' statement"),
    "missing-semicolon-before-subnet.conf": (2, 1, "expected ';' before 'subnet'"),
    "missing-semicolon-before-omapi-port.conf": (2, 1, "expected ';' before 'omapi-port'"),
    "bad-address.conf": (2, 19, "range: expected an IPv4 address, got '10.0.0.300'"),
    "bad-number.conf": (1, 12, "omapi-port: expected a number from 0 to 65535"),
    "failover-bad-number.conf": (7, 8, "mclt: expected a number from 0 to 2147483647"),
    "failover-unknown-keyword.conf": (
        7,
        3,
        "invalid statement in failover peer 'fo': 'max-client-lead-time' (dhcpd accepts only:",
    ),
    "failover-lookalike-hyphen.conf": (
        7,
        6,
        "U+2010 HYPHEN (it looks like '-') in 'max‐response‐delay': dhcpd reads only ASCII "
        "outside quoted strings and comments",
    ),
    "failover-load-balance-secs.conf": (7, 3, "expected 'load balance max seconds <number>;'"),
    "failover-no-peer-address.conf": (1, 1, "failover peer 'fo': 'peer address' is missing"),
    "failover-primary-no-split.conf": (1, 1, "failover peer 'fo' is a primary and needs 'split'"),
    "failover-secondary-split.conf": (
        5,
        3,
        "failover peer 'fo': a secondary may not set 'split' or 'hba'",
    ),
    "failover-no-pool.conf": (1, 1, "failover peer 'fo' is named by no pool"),
    "failover-pool-before-peer.conf": (2, 10, "failover peer 'fo' is not declared before"),
    "include-cycle.conf": (2, 1, "include cycle: "),
    "include-missing.conf": (
        2,
        1,
        "cannot read included file 'no-such-file.conf': No such file or directory",
    ),
    "key-no-algorithm.conf": (1, 1, "key 'omapi_key': no algorithm"),
    "omapi-key-undeclared.conf": (2, 1, "omapi-key names key 'omapi_key', which is not declared"),
    "unterminated-string.conf": (1, 20, "a quoted string is never closed"),
    "no-break-space.conf": (1, 19, "U+00A0 NO-BREAK SPACE (it looks like ' ')"),
    "hardware-outside-host.conf": (2, 3, "hardware is only allowed in a host, not in a subnet"),
    "range-outside-subnet.conf": (2, 9, "range: 10.0.1.10 is not in subnet 10.0.0.0 netmask"),
    "host-twice.conf": (2, 6, "host 'a' is declared twice (first at "),
    "pool-without-range.conf": (2, 3, "a pool needs at least one range"),
    "failover-hba-short.conf": (6, 3, "hba: expected 32 bytes in colon-separated hex"),
    "failover-no-role-no-split.conf": (
        1,
        1,
        "failover peer 'fo' is a primary (no 'primary;' or 'secondary;') and needs 'split'",
    ),
    "failover-peer-in-subnet.conf": (2, 3, "a failover peer is declared at the top level or in"),
    "failover-peer-twice.conf": (6, 15, "failover peer 'fo' is declared twice (first at "),
    "failover-pool-bootp-range.conf": (9, 5, "range dynamic-bootp is not allowed in a pool under"),
    "failover-primary-no-mclt.conf": (1, 1, "failover peer 'fo' is a primary and needs a non-zero"),
    "failover-reference-in-subnet.conf": (7, 3, "'failover peer NAME;' belongs in a pool or a"),
    "failover-split-too-big.conf": (6, 9, "split: 257 is more than 256"),
    "host-fixed-address-twice.conf": (3, 3, "host 'a': a second fixed-address"),
    "host-hardware-bare-hex.conf": (2, 21, "hardware: expected the address as colon-separated"),
    "host-hardware-twice.conf": (3, 3, "host 'a': a second hardware"),
    "host-in-host.conf": (2, 3, "a host declaration is not allowed in a host"),
    "host-quoted-name.conf": (1, 6, "host: expected a name (not quoted)"),
    "include-not-quoted.conf": (1, 1, 'include: expected a quoted file name: include "FILE";'),
    "key-bad-secret.conf": (3, 3, "key 'k': the key's secret is not valid base64"),
    "key-two-algorithms.conf": (3, 3, "key 'k': a second algorithm"),
    "pool-in-group.conf": (3, 5, "a pool must be declared directly in a subnet or a shared"),
    "pool-no-failover-peer.conf": (10, 12, "'no failover peer': dhcpd 4.4 refuses it in a pool"),
    "range-in-shared-network.conf": (
        3,
        3,
        "a range belongs in a subnet or a pool, not in a shared",
    ),
    "range-top-level.conf": (1, 1, "a range belongs in a subnet or a pool, not in the top level"),
    "shared-network-empty.conf": (1, 1, "shared-network 'empty' has no subnet"),
    "shared-network-pool-before-subnet.conf": (2, 16, "range 10.0.0.10 is in no subnet declared"),
    "shared-network-unknown-peer.conf": (2, 3, "failover peer 'fo' is not declared before this"),
    "subnet-host-bits.conf": (1, 8, "subnet 10.0.0.1 has bits outside netmask 255.255.255.0"),
    "subnet-in-subnet.conf": (2, 3, "a subnet declaration is not allowed in a subnet"),
    "unknown-block.conf": (1, 1, "'frobnicate' does not take a block: is a ';' missing?"),
}
STRICTER = {
    "omapi-port-twice.conf": (2, 1, "omapi-port is set twice (first at "),
    "omapi-port-octal.conf": (2, 12, "omapi-port: write the port in plain decimal"),
    "key-unknown-algorithm.conf": (
        1,
        27,
        "key 'omapi_key': dhcpd cannot use algorithm 'hmac-sha3'",
    ),
    "failover-port-too-big.conf": (4, 8, "port: 70000 is more than 65535"),
    "failover-negative-number.conf": (5, 22, "max-response-delay: expected a number from 0"),
}


def test_every_broken_sample_is_listed() -> None:
    assert sorted(p.name for p in (DATA / "broken").glob("*.conf")) == sorted(BROKEN)
    assert sorted(p.name for p in (DATA / "stricter").glob("*.conf")) == sorted(STRICTER)


@pytest.mark.parametrize(
    ("folder", "name"),
    [("broken", name) for name in BROKEN] + [("stricter", name) for name in STRICTER],
)
def test_broken_sample_error(folder: str, name: str) -> None:
    line, column, fragment = (BROKEN if folder == "broken" else STRICTER)[name]
    path = DATA / folder / name
    err = error_of(path)
    assert err.message.startswith(fragment)
    assert (err.line, err.column) == (line, column)
    assert err.location is not None
    # The cycle is found at the include that closes it, in the included file.
    where = path.with_suffix(".inc") if name == "include-cycle.conf" else path
    assert err.location.file == str(where)
    assert str(err).startswith(f"{where}:{line}:{column}: {fragment}")
    # The location points at real text: the line exists and the column is on it.
    lines = where.read_text().splitlines()
    assert column <= len(lines[line - 1]) + 1


def test_lookalike_error_points_at_the_character() -> None:
    path = DATA / "broken" / "failover-lookalike-hyphen.conf"
    err = error_of(path)
    assert err.location is not None
    assert path.read_text()[err.location.offset] == "\u2010"


def test_include_cycle_names_the_chain() -> None:
    err = error_of(DATA / "broken" / "include-cycle.conf")
    assert err.location is not None
    assert err.location.file.endswith("include-cycle.inc")
    assert err.message.endswith(
        "include-cycle.conf -> "
        + str(DATA / "broken/include-cycle.inc")
        + " -> "
        + str(DATA / "broken/include-cycle.conf")
    )


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "lenient").glob("*.conf")))
def test_lenient_samples_read(name: str) -> None:
    config = load(f"lenient/{name}")
    assert config.subnets == ()
    assert config.failover_peers == {}


def error_of_text(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="t.conf")
    return info.value


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("{ }", (1, 1), "'{' with no statement before it"),
        ("omapi-port", (1, 1), "unexpected end of file: expected ';' to end the 'omapi-port'"),
        ("omapi-port 1 2;", (1, 14), "expected ';' after the omapi-port number"),
        ("omapi-port 0x1ee7;", (1, 12), "omapi-port: write the port in plain decimal"),
        ("omapi-port 99999999999999999999999999;", (1, 12), "omapi-port: expected a number"),
        ('include "a" { }', (1, 1), "include: expected ';', not a block"),
        ("include a;", (1, 1), "include: expected a quoted file name"),
        ("host { }", (1, 1), "expected 'host NAME {'"),
        ('host "a b" { }', (1, 6), "host: expected a name (not quoted)"),
        ("host a b { }", (1, 8), "expected 'host NAME {'"),
        ("host a;", (1, 6), "host: expected '{'"),
        ("host a { host b { } }", (1, 10), "a host declaration is not allowed in a host"),
        ("host a { hardware ethernet 001122334455; }", (1, 28), "hardware: expected the addr"),
        ("host a { hardware foo 00:11; }", (1, 10), "hardware: unknown hardware type 'foo'"),
        ("host a { fixed-address 1.2.3.4 1.2.3.5; }", (1, 32), "fixed-address: expected ','"),
        ("host a { fixed-address 1.2.3.4,; }", (1, 31), "fixed-address: expected an address"),
        ("host a { fixed-address 1.2.3.999; }", (1, 24), "fixed-address: expected an IPv4"),
        ("fixed-address 10.0.0.1;", (1, 1), "fixed-address is only allowed in a host"),
        ("subnet 10.0.0.1 netmask 255.255.255.0 { }", (1, 8), "subnet 10.0.0.1 has bits"),
        ("subnet 10.0.0.0 { }", (1, 8), "subnet: expected 'subnet ADDRESS netmask MASK {'"),
        ("subnet 10.0.0.0 netmask 255.255.255.0 x { }", (1, 39), "subnet: expected 'subnet"),
        ("subnet 10.0.0.0 netmask 255.255.255.0 { range; }", (1, 41), "range: expected an add"),
        (
            "subnet 10.0.0.0 netmask 255.255.255.0 { range 10.0.0.1 10.0.0.2 x; }",
            (1, 65),
            "expected ';' after the range",
        ),
        ("subnet 10.0.0.0 netmask 255.255.255.0 { group { range 10.0.0.1; } }", (1, 49), ""),
        ("subnet 10.0.0.0 netmask 255.255.255.0 { pool { pool { } } }", (1, 48), "a pool must"),
        ("subnet 10.0.0.0 netmask 255.255.255.0 { pool x { } }", (1, 46), "expected '{' after"),
        ("shared-network { }", (1, 1), "expected 'shared-network NAME {'"),
        ("shared-network n { }", (1, 1), "shared-network 'n' has no subnet"),
        ("shared-network n { shared-network m { } }", (1, 20), "a shared-network declaration"),
        (
            "shared-network n { subnet 10.0.0.0 netmask 255.255.255.0 { } pool { range 10.0.1.1; }"
            " }",
            (1, 75),
            "range 10.0.1.1 is in no subnet declared before it",
        ),
        ('shared-network n { failover peer "x"; }', (1, 20), "failover peer 'x' is not declared"),
        ("frobnicate { }", (1, 1), "'frobnicate' does not take a block: is a ';' missing?"),
        ("option a code 1 = { text;", (1, 19), "option: expected '}' to end the record format"),
        ("key k { algorithm hmac-md5; }", (1, 1), "key 'k': no secret"),
        ('key k { algorithm hmac-md5; secret "c2VjcmV0"; secret "c2VjcmV0"; }', (1, 48), ""),
        ('key k { algorithm md5 x; secret "c2VjcmV0"; }', (1, 9), "key 'k': expected 'algo"),
        ('key k { algorithm hmac-md5; secret "!!!"; }', (1, 29), "key 'k': the key's secret is"),
        ("key { }", (1, 1), "expected 'key NAME {'"),
        ("key k { algorithm hmac-md5; secret; }", (1, 29), "key 'k': secret: expected a value"),
        ("omapi-key a; omapi-key b;", (1, 14), "omapi-key is set twice"),
        ("omapi-key;", (1, 1), "the omapi-key name: expected 1 value(s)"),
        (
            'failover peer "p" { secondary; address 1.2.3.4; peer address 1.2.3.5; }'
            'failover peer "p" { }',
            (1, 86),
            "failover peer 'p' is declared twice",
        ),
        ("failover peer;", (1, 1), "'failover peer NAME;' belongs in a pool or a shared"),
        ('failover "p" { }', (1, 10), "expected 'failover peer'"),
        ('failover peer "p" x { }', (1, 19), "expected '{' after the failover peer name"),
        ('failover peer "p";', (1, 1), "'failover peer NAME;' belongs in a pool or a shared"),
        ('failover peer "p" { peer; }', (1, 21), "expected a statement after 'peer'"),
        ('failover peer "p" { address; }', (1, 21), "address: expected an address"),
        ('failover peer "p" { address !x; }', (1, 29), "address: expected an IPv4 address or"),
        ('failover peer "p" { mclt; }', (1, 21), "mclt: expected a number"),
        ('failover peer "p" { secondary x; }', (1, 31), "expected ';' after 'secondary'"),
        ('failover peer "p" { hba 00:01; }', (1, 21), "hba: expected 32 bytes"),
        ('failover peer "p" { split 300; }', (1, 27), "split: 300 is more than 256"),
        (
            'failover peer "p" { primary; address 1.2.3.4; peer address 1.2.3.5; split 128; }',
            (1, 1),
            "failover peer 'p' is a primary and needs a non-zero 'mclt'",
        ),
        (
            'failover peer "p" { address 1.2.3.4; peer address 1.2.3.5; }',
            (1, 1),
            "failover peer 'p' is a primary (no 'primary;' or 'secondary;') and needs 'split'",
        ),
        (
            'failover peer "p" { secondary; address 1.2.3.4; peer address 1.2.3.5; }\n'
            "subnet 10.0.0.0 netmask 255.255.255.0 { pool { failover peer p; range 10.0.0.1; } }",
            (2, 62),
            "failover peer: a pool names its peer with a quoted string",
        ),
        (
            'failover peer "p" { secondary; address 1.2.3.4; peer address 1.2.3.5; }\n'
            'subnet 10.0.0.0 netmask 255.255.255.0 { pool { failover peer "p";'
            " range dynamic-bootp 10.0.0.1; } }",
            (2, 67),
            "range dynamic-bootp is not allowed in a pool under a failover peer",
        ),
        (
            "subnet 10.0.0.0 netmask 255.255.255.0 { pool { no failover peer; range 10.0.0.1; } }",
            (1, 48),
            "'no failover peer': dhcpd 4.4 refuses it in a pool",
        ),
        ("default-lease-time 600 fixed-address 10.0.0.1;", (1, 24), "expected ';' before"),
        ("option domain-name \x01;", (1, 20), "U+0001 a control character"),
        ("option domain-name x\udce9;", (1, 21), "the byte 0xE9 (not UTF-8) in 'x\\udce9'"),
        ("option domain-name \ufeffx;", (1, 20), "U+FEFF ZERO WIDTH NO-BREAK SPACE in"),
    ],
)
def test_errors(text: str, where: tuple[int, int], fragment: str) -> None:
    err = error_of_text(text)
    assert (err.line, err.column) == where, str(err)
    assert err.message.startswith(fragment), str(err)
    assert err.file == "t.conf"


def test_error_without_a_location() -> None:
    err = ConfigError("no place")
    assert (str(err), err.file, err.line, err.column) == ("no place", None, None, None)


# ----------------------------------------------------------------- secrets

SECRET = "dGhpcyBpcyB0aGUgc2VjcmV0IHRoYXQgbXVzdCBub3QgbGVhaw=="


def test_secret_never_in_repr() -> None:
    config = parse_config(
        f'key k {{ algorithm hmac-md5; secret "{SECRET}"; }} omapi-key k;\n'
        f"key bare {{ algorithm hmac-sha1; secret {SECRET}; }}"
    )
    assert config.key() == aiomapi.Key("k", SECRET, "hmac-md5")
    assert config.keys["bare"].secret == SECRET  # unquoted base64, '=' tokens joined again
    for text in (repr(config), str(config), repr(dict(config.keys)), repr(config.key())):
        assert SECRET not in text
        assert SECRET[:12] not in text


@pytest.mark.parametrize(
    "body",
    [
        f'algorithm hmac-md5; secret "{SECRET}" }}',  # missing ';'
        f"algorithm hmac-md5; secret {SECRET}; {SECRET}; }}",  # a second unknown statement
        f"algorithm hmac-md5; {SECRET}; }}",  # 'secret' left out
        f"algorithm hmac-md5; secret {SECRET}\u2010; }}",  # a look-alike inside the secret
        f"algorithm hmac-md5; secret {SECRET}!; }}",  # not base64
        f"secret {SECRET}; }}",  # no algorithm
        f"algorithm hmac-md5; secret {SECRET}; secret {SECRET}; }}",
        f"algorithm hmac-md5; secret {SECRET} {{ }} }}",
        f"algorithm hmac-md5; secret {SECRET};",  # never closed
    ],
)
def test_secret_never_in_errors(body: str) -> None:
    err = error_of_text("key k { " + body)
    for text in (str(err), repr(err), err.message):
        assert SECRET[:12] not in text


# ----------------------------------------------------------------- fuzz

_WORDS = [
    "{", "}", ";", ",", "=", '"', '"x"', '"a;b{c}"', "#c\n", "\n", "include", '"nofile"',
    "omapi-port", "omapi-key", "7911", "0", "-1", "0x10", "99999999999", "key", "k",
    "algorithm", "hmac-md5", "secret", '"c2VjcmV0"', "failover", "peer", '"p"', "p", "state",
    "primary", "secondary", "address", "port", "10.0.0.1", "10.0.0.300", "mclt", "split",
    "256", "hba", "ff:ff", "load", "balance", "max", "seconds", "max-response-delay",
    "max\u2010response\u2010delay", "subnet", "netmask", "255.255.255.0", "10.0.0.0",
    "shared-network", "n", "pool", "range", "dynamic-bootp", "10.0.0.5", "host", "h",
    "hardware", "ethernet", "00:11:22:33:44:55", "fixed-address", "h.example.org", "group",
    "class", "if", "else", "on", "commit", "no", "deny", "\u00a0", "\x00", "\udcff",
]  # fmt: skip


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_WORDS), max_size=40))
def test_token_soup_reads_or_raises_config_error(words: list[str]) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(" ".join(words), include_dir=DATA / "broken")


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_random_text_reads_or_raises_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(text, include_dir=DATA / "broken")
