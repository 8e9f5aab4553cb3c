"""Tests for aiomapi.config.check (``aiomapi config check``) without dhcpd.

Every rule on hand-written files, the pair rules, the report and the command. The running
server is an in-memory one here (aiomapi.testing.FakeDhcpd, as in test_loadbalance.py);
tests/dhcpd/test_config_check_dhcpd.py holds what the real dhcpd does with the same files.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

import aiomapi
from aiomapi import FailoverHierarchy
from aiomapi.config import Report, Severity, check_config, check_file, load_config
from aiomapi.config.check_chars import LOOKALIKES
from aiomapi.config.check_dhcpd import HIDDEN, hide_secrets, secrets_in
from aiomapi.config.check_peers import (
    DEFAULT_MAX_RESPONSE_DELAY,
    DEFAULT_MAX_UNACKED_UPDATES,
    DEFAULT_PORT,
    effective,
    read_peer,
)
from aiomapi.config.cli_check import add_check_parser
from aiomapi.config.failover import read_failover_peer
from aiomapi.config.source import Node, read_text
from aiomapi.testing import FakeDhcpd, FakeFailoverPeer

from .test_config import DATA

CHECK = DATA / "check"
PAIR_SECRET = "dGVzdCBrZXkgZm9yIGFpb21hcGkgY29uZmlnIGNoZWNr"
PAIR_KEY = aiomapi.Key("omapi_key", PAIR_SECRET, "hmac-sha256")

PRIMARY = """\
failover peer "fo" {
  primary;
  address 10.0.0.1;
  port 647;
  peer address 10.0.0.2;
  peer port 647;
  max-response-delay 30;
  max-unacked-updates 10;
  load balance max seconds 3;
  mclt 1800;
  split 128;
}
subnet 10.0.0.0 netmask 255.255.255.0 {
  pool { failover peer "fo"; range 10.0.0.10 10.0.0.20; }
}
"""
SECONDARY = (
    PRIMARY.replace("primary;", "secondary;")
    .replace("address 10.0.0.1", "address 10.0.0.X")
    .replace("address 10.0.0.2", "address 10.0.0.1")
    .replace("address 10.0.0.X", "address 10.0.0.2")
    .replace("  mclt 1800;\n  split 128;\n", "")
)


def check(tmp_path: Path, text: str, *, name: str = "dhcpd.conf", **kwargs: object) -> Report:
    conf = tmp_path / name
    conf.write_text(text, encoding="utf-8")
    return check_file(conf, dhcpd=False, **kwargs)  # type: ignore[arg-type]


def only(report: Report, code: str) -> list[tuple[int, int]]:
    """The (line, column) of every finding with ``code``."""
    return [
        (f.location.line, f.location.column)
        for f in report.findings
        if f.code == code and f.location is not None
    ]


def line_col(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based line and column of ``needle`` (its ``nth`` occurrence) in ``text``."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


# ----------------------------------------------------------------- clean files


def test_the_base_files_are_clean(tmp_path: Path) -> None:
    assert check(tmp_path, PRIMARY).findings == ()
    assert check(tmp_path, SECONDARY, name="b.conf").findings == ()


def test_a_clean_pair_has_no_findings() -> None:
    report = check_file(
        CHECK / "pair-primary.conf", peer_config=CHECK / "pair-secondary.conf", dhcpd=False
    )
    assert report.findings == ()
    assert report.exit_code == 0
    assert report.format().endswith("0 errors, 0 warnings, 0 notes")


@pytest.mark.parametrize("name", ["dhcpd.conf", "dhcpd6.conf"])
def test_debian_files_have_no_errors(name: str) -> None:
    report = check_file(DATA / "debian" / name, dhcpd=False)
    assert report.errors == ()
    assert report.findings == ()  # no failover, no OMAPI: nothing to say


def test_valid_samples_have_no_errors() -> None:
    for conf in sorted((DATA / "valid").glob("*.conf")):
        report = check_file(conf, dhcpd=False)
        assert report.errors == (), (conf, report.format())


def test_broken_samples_all_have_errors() -> None:
    for conf in sorted((DATA / "broken").glob("*.conf")):
        report = check_file(conf, dhcpd=False)
        assert report.exit_code == 2, conf


# ----------------------------------------------------------------- characters


def _place(char: str) -> tuple[str, str]:
    """PRIMARY with ``char`` where its ASCII twin would be, and the text it lands in."""
    twin = LOOKALIKES[char]
    if twin == "-":
        return PRIMARY.replace("max-response-delay", f"max{char}response-delay"), "max"
    if twin == '"':
        return PRIMARY.replace('peer "fo" {', f"peer {char}fo{char} {{"), 'peer "'
    if twin == " ":
        return PRIMARY.replace("peer address", f"peer{char}address"), "peer address"
    if twin == ";":
        return PRIMARY.replace("mclt 1800;", f"mclt 1800{char}"), "mclt 1800"
    return PRIMARY.replace("max-response-delay 30", f"max-response-delay{char} 30"), "max"


@pytest.mark.parametrize("char", sorted(LOOKALIKES), ids=lambda c: f"U+{ord(c):04X}")
def test_each_lookalike_is_found_named_and_read_past(char: str, tmp_path: Path) -> None:
    text, near = _place(char)
    report = check(tmp_path, text)
    (finding,) = report.errors
    assert finding.code == "lookalike-character"
    line, column = line_col(PRIMARY, near)
    assert finding.location is not None
    assert finding.location.line == line
    offset = len(near) if LOOKALIKES[char] != " " else len("peer")
    if LOOKALIKES[char] == '"':
        offset = len("peer ")
    elif LOOKALIKES[char] == ";":
        offset = len("mclt 1800")
    elif LOOKALIKES[char] == "" and near == "max":
        offset = len("max-response-delay")
    assert finding.location.column == column + offset
    assert f"U+{ord(char):04X} {unicodedata.name(char)}" in finding.message
    assert ("delete it" if LOOKALIKES[char] == "" else "replace it with") in finding.fix
    # Read on with the ASCII twin: the peer is complete, so nothing else is found.
    assert report.codes() == ["lookalike-character"]


def test_a_lookalike_pair_of_quotes_is_one_finding_with_two_columns(tmp_path: Path) -> None:
    report = check(tmp_path, PRIMARY.replace('peer "fo" {', "peer \u201cfo\u201d {"))
    assert sorted(report.codes()) == ["lookalike-character"] * 2  # two characters
    text = PRIMARY.replace("max-response-delay", "max\u2010response\u2010delay")
    (finding,) = check(tmp_path, text).findings
    assert "(columns 6 and 15)" in finding.message
    assert "in 'max\u2010response\u2010delay'" in finding.message


def test_the_operator_file() -> None:
    report = check_file(CHECK / "operator.conf", dhcpd=False)
    assert [(f.code, f.location.line if f.location else 0) for f in report.findings] == [
        ("lookalike-character", 11),
        ("lookalike-character", 12),
        ("lookalike-character", 13),
    ]
    assert "U+2010 HYPHEN" in report.findings[0].message
    assert "U+00A0 NO-BREAK SPACE (columns 7, 15 and 19)" in report.findings[2].message


def test_byte_order_mark(tmp_path: Path) -> None:
    report = check(tmp_path, "\ufeff" + PRIMARY)
    (finding,) = report.findings
    assert finding.location is not None
    assert (finding.location.line, finding.location.column) == (1, 1)
    assert "byte order mark" in finding.message
    assert "without a byte order mark" in finding.fix


def test_columns_after_a_deleted_character_are_the_original_ones(tmp_path: Path) -> None:
    text = PRIMARY.replace("  port 647;", "  \u200bport 70000;")
    report = check(tmp_path, text)
    assert only(report, "lookalike-character") == [line_col(text, "\u200b")]
    assert only(report, "peer-bad-value") == [line_col(text, "70000")]


def test_a_note_in_a_string_after_a_deleted_character_keeps_its_column(tmp_path: Path) -> None:
    text = PRIMARY.replace('pool { failover peer "fo";', '\u200bpool { failover peer "f\u2010o";')
    report = check(tmp_path, text)
    assert only(report, "lookalike-in-string") == [line_col(text, "\u2010")]
    assert only(report, "lookalike-character") == [line_col(text, "\u200b")]


def test_non_ascii_outside_strings(tmp_path: Path) -> None:
    text = PRIMARY + "host café { hardware ethernet 0:1:2:3:4:5; }\n"
    report = check(tmp_path, text)
    (finding,) = report.errors
    assert finding.code == "non-ascii-character"
    assert "U+00E9 LATIN SMALL LETTER E WITH ACUTE in 'café'" in finding.message
    assert only(report, "non-ascii-character") == [line_col(text, "é")]
    assert "not-checked" in report.codes()  # no ASCII twin: the reader stops there


def test_a_byte_that_is_not_utf8(tmp_path: Path) -> None:
    conf = tmp_path / "dhcpd.conf"
    conf.write_bytes(PRIMARY.encode() + b"host caf\xe9 { }\n")
    (finding,) = check_file(conf, dhcpd=False).errors
    assert "the byte 0xE9 (not UTF-8)" in finding.message


def test_non_ascii_in_comments_and_strings_is_fine(tmp_path: Path) -> None:
    text = '# Café, naïve — “quoted”\noption domain-name "café.example";\n' + PRIMARY
    assert check(tmp_path, text).findings == ()


def test_a_lookalike_in_a_string_is_a_note(tmp_path: Path) -> None:
    text = PRIMARY.replace('"fo"', '"f\u2010o"')
    report = check(tmp_path, text)
    assert report.exit_code == 0
    assert report.codes() == ["lookalike-in-string"] * 2
    assert "U+2010 HYPHEN" in report.findings[0].message


def test_characters_in_included_files(tmp_path: Path) -> None:
    (tmp_path / "peer.conf").write_text(PRIMARY.split("subnet")[0].replace("mclt", "mc\u2013lt"))
    text = 'include "peer.conf";\nsubnet' + PRIMARY.split("subnet")[1]
    report = check(tmp_path, text)
    finding = report.findings[0]
    assert finding.code == "lookalike-character"
    assert finding.location is not None
    assert finding.location.file == str(tmp_path / "peer.conf")


# ----------------------------------------------------------------- failover peer settings


def test_omitted_settings_and_the_values_dhcpd_uses() -> None:
    report = check_file(CHECK / "omitted-primary.conf", dhcpd=False)
    assert report.codes() == [
        "peer-load-balancing-off",
        "peer-default-max-response-delay",
        "peer-default-max-unacked-updates",
    ]
    assert report.exit_code == 1
    lb, delay, unacked = report.findings
    assert "both peers answer every client" in lb.dhcpd
    assert "uses 20 seconds" in delay.dhcpd
    assert "uses 100" in unacked.dhcpd
    peer = load_config(CHECK / "omitted-primary.conf").peer()
    assert effective(peer).max_response_delay == DEFAULT_MAX_RESPONSE_DELAY == 20
    assert effective(peer).max_outstanding_updates == DEFAULT_MAX_UNACKED_UPDATES == 100
    assert effective(peer).load_balance_max_secs == 0


def test_effective_values_of_a_secondary(tmp_path: Path) -> None:
    secondary = load_config(CHECK / "pair-secondary.conf").peer()
    primary = load_config(CHECK / "pair-primary.conf").peer()
    alone = effective(secondary)
    assert (alone.hierarchy, alone.mclt, alone.hba) == (FailoverHierarchy.SECONDARY, None, None)
    paired = effective(secondary, primary)
    assert (paired.mclt, paired.hba) == (1800, primary.hash_buckets)
    without_ports = "\n".join(line for line in SECONDARY.splitlines() if "port" not in line)
    bare = check(tmp_path, without_ports)
    assert bare.codes() == ["peer-default-port"]
    assert f"uses port {DEFAULT_PORT} for each" in bare.findings[0].dhcpd


PEER_CASES = [
    # (base, old, new, code, severity)
    (SECONDARY, "secondary;", "secondary; split 128;", "peer-split-on-secondary", "error"),
    (
        SECONDARY,
        "secondary;",
        "secondary; hba " + ":".join(["ff"] * 32) + ";",
        "peer-split-on-secondary",
        "error",
    ),
    (SECONDARY, "secondary;", "secondary; mclt 600;", "peer-mclt-on-secondary", "note"),
    (PRIMARY, "split 128;", "split 300;", "peer-bad-value", "error"),
    (PRIMARY, "split 128;", "hba ff:ff;", "peer-bad-value", "error"),
    (PRIMARY, "split 128;", "", "peer-primary-no-split", "error"),
    (PRIMARY, "mclt 1800;", "", "peer-primary-no-mclt", "error"),
    (PRIMARY, "mclt 1800;", "mclt 0;", "peer-primary-no-mclt", "error"),
    (PRIMARY, "primary;", "", "peer-no-role", "warning"),
    (PRIMARY, "peer address 10.0.0.2;", "", "peer-no-peer-address", "error"),
    (PRIMARY, "  address 10.0.0.1;\n", "", "peer-no-address", "note"),
    (PRIMARY, "port 647;", "port 70000;", "peer-bad-value", "warning"),
    (PRIMARY, "address 10.0.0.1;", "address 10.0.0.256;", "peer-bad-value", "error"),
    (PRIMARY, "mclt 1800;", "max-client-lead-time 1800; mclt 1800;", "peer-bad-statement", "error"),
    (PRIMARY, "split 128;", "split 256;", "peer-split-one-sided", "note"),
    (PRIMARY, "split 128;", "split 0;", "peer-split-one-sided", "note"),
    (
        PRIMARY,
        "load balance max seconds 3;",
        "load balance max seconds 0;",
        "peer-load-balancing-off",
        "warning",
    ),
    (PRIMARY, "max-response-delay 30;", "", "peer-default-max-response-delay", "note"),
    (PRIMARY, "max-unacked-updates 10;", "", "peer-default-max-unacked-updates", "note"),
    (PRIMARY, "  port 647;\n", "", "peer-default-port", "note"),
]


def peer_case_id(value: object) -> str:
    """Test ids for PEER_CASES: the replacement text, not the whole configuration."""
    return "-" if value in (PRIMARY, SECONDARY) else str(value).strip() or "(deleted)"


@pytest.mark.parametrize(("base", "old", "new", "code", "severity"), PEER_CASES, ids=peer_case_id)
def test_peer_settings(
    base: str, old: str, new: str, code: str, severity: str, tmp_path: Path
) -> None:
    assert old in base
    report = check(tmp_path, base.replace(old, new, 1))
    found = [f for f in report.findings if f.code == code]
    assert found, report.format()
    assert {f.severity.value for f in found} == {severity}
    assert all(f.location is not None for f in found)


def test_every_problem_of_a_peer_in_one_run(tmp_path: Path) -> None:
    text = (
        SECONDARY.replace("port 647;", "port 70000;", 1)
        .replace("secondary;", "secondary; split 128; mclt 60; bogus 1;")
        .replace("  max-response-delay 30;\n", "")
    )
    codes = set(check(tmp_path, text).codes())
    assert codes >= {
        "peer-bad-value",
        "peer-split-on-secondary",
        "peer-mclt-on-secondary",
        "peer-bad-statement",
        "peer-default-max-response-delay",
    }


def _peer_nodes(nodes: list[Node] | tuple[Node, ...]) -> list[Node]:
    found = []
    for node in nodes:
        if node.block is None:
            continue
        if node.statement.keyword == "failover" and len(node.statement.tokens) == 3:
            found.append(node)
        else:
            found += _peer_nodes(node.block)
    return found


@pytest.mark.parametrize(
    "name",
    [
        "valid/failover-primary.conf",
        "valid/failover-secondary.conf",
        "check/pair-primary.conf",
        "check/pair-secondary.conf",
        "check/omitted-primary.conf",
    ],
)
def test_lenient_peer_reader_agrees_with_the_reader(name: str) -> None:
    text = (DATA / name).read_text()
    nodes, _ = read_text(text, name, include_dir=None, directory=Path())
    (node,) = _peer_nodes(nodes)
    assert node.block is not None
    peer_name = node.statement.tokens[2].text.strip('"')
    lenient, problems = read_peer(peer_name, node.statement.location, node.block)
    strict = read_failover_peer(peer_name, node.statement.location, node.block)
    assert problems == []
    assert lenient == strict
    assert [s.keyword for s in lenient.statements] == [s.keyword for s in strict.statements]


# ----------------------------------------------------------------- pools and the reader


def test_pools_and_ranges_outside_failover(tmp_path: Path) -> None:
    text = (
        PRIMARY.replace(
            '  pool { failover peer "fo"; range 10.0.0.10 10.0.0.20; }\n',
            '  pool { failover peer "fo"; range 10.0.0.10 10.0.0.20; }\n'
            "  pool { range 10.0.0.30 10.0.0.40; }\n"
            "  range 10.0.0.50 10.0.0.60;\n",
        )
        + "subnet 10.1.0.0 netmask 255.255.255.0 { pool { range 10.1.0.5 10.1.0.9; } }\n"
    )
    report = check(tmp_path, text)
    assert only(report, "pool-without-failover") == [
        line_col(text, "pool { range"),
        line_col(text, "range 10.0.0.50"),
    ]
    assert report.exit_code == 1


def test_pools_outside_failover_in_a_shared_network(tmp_path: Path) -> None:
    text = PRIMARY.split("subnet")[0] + (
        'shared-network "net" {\n'
        '  failover peer "fo";\n'
        "  subnet 10.0.0.0 netmask 255.255.255.0 { range 10.0.0.50 10.0.0.60; }\n"
        "  subnet 10.0.1.0 netmask 255.255.255.0 { }\n"
        "  pool { range 10.0.0.10 10.0.0.20; }\n"
        '  pool { failover peer "fo"; range 10.0.1.10 10.0.1.20; }\n'
        "}\n"
    )
    report = check(tmp_path, text)
    # The first pool inherits the shared network's peer; the range does not.
    assert only(report, "pool-without-failover") == [line_col(text, "range 10.0.0.50")]


def test_every_refused_statement_is_listed(tmp_path: Path) -> None:
    text = (
        PRIMARY
        + "host a { hardware ethernet 0:1:2:3:4:5; }\n"
        + "host a { hardware ethernet 0:1:2:3:4:6; }\n"
        + "subnet 10.9.0.0 netmask 255.255.255.0 { range 10.8.0.1; }\n"
        + "omapi-key nokey;\n"
    )
    report = check(tmp_path, text)
    assert report.codes() == ["config-error"] * 3
    assert [f.location.line for f in report.findings if f.location] == [17, 18, 19]


@pytest.mark.parametrize(
    ("name", "code", "line"),
    [
        ("broken/failover-pool-bootp-range.conf", "config-error", 9),
        ("broken/key-bad-secret.conf", "config-error", 3),
        ("broken/failover-pool-before-peer.conf", "pool-unknown-peer", 2),
        ("broken/shared-network-unknown-peer.conf", "pool-unknown-peer", None),
        ("broken/failover-no-pool.conf", "peer-without-pool", None),
    ],
)
def test_one_error_where_dhcpd_has_one(name: str, code: str, line: int | None) -> None:
    # A cut statement's block failing in turn (a pool left without a range, a key without
    # its secret) is not a second error.
    (error,) = check_file(DATA / name, dhcpd=False).errors
    assert error.code == code
    if line is not None:
        assert error.location is not None
        assert error.location.line == line


# ----------------------------------------------------------------- the pair


def pair_report(tmp_path: Path, old: str, new: str, *, count: int = 1) -> Report:
    primary = CHECK / "pair-primary.conf"
    text = (CHECK / "pair-secondary.conf").read_text()
    assert old in text
    partner = tmp_path / "secondary.conf"
    partner.write_text(text.replace(old, new, count))
    return check_file(primary, peer_config=partner, dhcpd=False)


PAIR_CASES = [
    # (old, new, count, code, severity, how many)
    ('"dhcp-failover"', '"failover"', 2, "pair-peer-name", "error", 2),
    ("secondary;", "primary; mclt 1800; split 128;", 1, "pair-roles", "error", 1),
    ("address 192.0.2.2;", "address 192.0.2.9;", 1, "pair-address", "error", 1),
    ("peer address 192.0.2.1;", "peer address 192.0.2.9;", 1, "pair-address", "error", 1),
    ("peer port 647;", "peer port 847;", 1, "pair-port", "warning", 1),
    (
        "  port 647;\n  peer address 192.0.2.1;\n  peer port 647;",
        "  port 847;\n  peer address 192.0.2.1;\n  peer port 847;",
        1,
        "pair-port",
        "error",
        2,
    ),
    ("max-response-delay 30;", "max-response-delay 60;", 1, "pair-setting-differs", "note", 1),
    ("max-unacked-updates 10;", "", 1, "pair-setting-differs", "note", 1),
    (
        "load balance max seconds 3;",
        "load balance max seconds 5;",
        1,
        "pair-load-balance",
        "warning",
        1,
    ),
    (
        "range 192.0.2.150 192.0.2.199;",
        "range 192.0.2.150 192.0.2.189;",
        1,
        "pair-ranges",
        "error",
        1,
    ),
    ("algorithm hmac-sha256;", "algorithm hmac-md5;", 1, "pair-omapi-key", "warning", 1),
]


@pytest.mark.parametrize(("old", "new", "count", "code", "severity", "n"), PAIR_CASES)
def test_pair(
    old: str, new: str, count: int, code: str, severity: str, n: int, tmp_path: Path
) -> None:
    report = pair_report(tmp_path, old, new, count=count)
    found = [f for f in report.findings if f.code == code]
    assert len(found) == n, report.format()
    assert {f.severity.value for f in found} == {severity}


def test_pair_ranges_name_the_missing_addresses(tmp_path: Path) -> None:
    report = pair_report(
        tmp_path, "range 192.0.2.150 192.0.2.199;", "range 192.0.2.150 192.0.2.189;"
    )
    (finding,) = report.findings
    assert "192.0.2.190-192.0.2.199 of this range are in no pool" in finding.message
    assert finding.location is not None
    assert finding.location.file == str(CHECK / "pair-primary.conf")


def test_pair_names_both_sides_of_a_renamed_peer(tmp_path: Path) -> None:
    report = pair_report(tmp_path, '"dhcp-failover"', '"failover"', count=2)
    files = {f.location.file for f in report.findings if f.location}
    assert files == {str(CHECK / "pair-primary.conf"), str(tmp_path / "secondary.conf")}


# ----------------------------------------------------------------- the running server


def fake_peer(**changes: object) -> FakeFailoverPeer:
    """What dhcpd shows for pair-primary.conf's peer."""
    values: dict[str, object] = {
        "hierarchy": 0,
        "mclt": 1800,
        "max_response_delay": 30,
        "max_outstanding_updates": 10,
        "load_balance_max_secs": 3,
        "load_balance_hba": b"\xff" * 16 + b"\x00" * 16,
        "local_port": 647,
        "partner_port": 647,
    }
    values.update(changes)
    return FakeFailoverPeer(b"dhcp-failover", **values)  # type: ignore[arg-type]


async def live_report(peer: FakeFailoverPeer | None) -> Report:
    async with (
        FakeDhcpd(key=PAIR_KEY, failover_peers=[peer] if peer else []) as server,
        aiomapi.Client(server.host, server.port, key=PAIR_KEY, timeout=5) as client,
    ):
        return await check_config(CHECK / "pair-primary.conf", live_client=client, dhcpd=False)


async def test_live_server_that_runs_the_file() -> None:
    report = await live_report(fake_peer())
    assert report.findings == ()
    assert report.live is not None


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"max_response_delay": 20}, "max-response-delay: the file says 30, the server at"),
        ({"max_outstanding_updates": 100}, "max-unacked-updates: the file says 10"),
        ({"load_balance_max_secs": 0}, "load balance max seconds: the file says 3"),
        ({"mclt": 3600}, "mclt: the file says 1800"),
        ({"hierarchy": 1}, "role: the file says primary"),
        ({"local_port": 847}, "port: the file says 647"),
        ({"load_balance_hba": b"\xff" * 8 + b"\x00" * 24}, "split 128"),
    ],
)
async def test_live_server_that_has_not_loaded_the_file(
    changes: dict[str, object], fragment: str
) -> None:
    report = await live_report(fake_peer(**changes))
    (finding,) = report.findings
    assert finding.code == "live-differs"
    assert finding.severity is Severity.WARNING
    assert fragment in finding.message


async def test_live_server_without_the_peer() -> None:
    report = await live_report(None)
    assert report.codes() == ["live-peer-missing"]


# ----------------------------------------------------------------- report, secrets, command


def test_report_json_and_exit_codes(tmp_path: Path) -> None:
    clean = check(tmp_path, PRIMARY)
    warned = check(tmp_path, PRIMARY.replace("load balance max seconds 3;", ""))
    broken = check(tmp_path, PRIMARY.replace("mclt 1800;", ""))
    assert [r.exit_code for r in (clean, warned, broken)] == [0, 1, 2]
    data = broken.to_json()
    assert set(data) == {"file", "peer_file", "live", "findings", "summary", "dhcpd"}
    assert data["summary"] == {"errors": 1, "warnings": 0, "notes": 0, "exit_code": 2}
    (finding,) = data["findings"]
    assert set(finding) == {"file", "line", "column", "severity", "code", "message", "dhcpd", "fix"}
    assert finding["severity"] == "error"
    json.dumps(data)


def test_secrets_are_found_and_hidden() -> None:
    text = 'key k { algorithm hmac-md5; secret "c2VjcmV0LXNlY3JldA=="; };\nsecret x y;\n'
    found = secrets_in([text])
    assert "c2VjcmV0LXNlY3JldA==" in found
    assert hide_secrets('  secret "c2VjcmV0LXNlY3JldA==";', found) == f"  secret {HIDDEN}"
    # dhcpd cuts its echo of the line at the token it stopped at
    assert hide_secrets("  c2VjcmV0LX", found) == f"  {HIDDEN}"
    assert hide_secrets("k.conf line 3: bad secret", found) == "k.conf line 3: bad secret"


def run_cli(argv: list[str]) -> tuple[int, argparse.Namespace]:
    import asyncio

    parser = argparse.ArgumentParser(prog="aiomapi config")
    add_check_parser(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    return asyncio.run(args.command(args)), args


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("check/pair-primary.conf", 0),
        ("check/omitted-primary.conf", 1),
        ("check/operator.conf", 2),
    ],
)
def test_command_exit_codes(name: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    status, _ = run_cli(["check", str(DATA / name), "--no-dhcpd", "--json"])
    assert status == code
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["exit_code"] == code


def test_command_text(capsys: pytest.CaptureFixture[str]) -> None:
    status, _ = run_cli(["check", str(CHECK / "operator.conf"), "--no-dhcpd"])
    out = capsys.readouterr().out
    assert status == 2
    assert "U+2010 HYPHEN (columns 6 and 15) in 'max\u2010response\u2010delay'" in out
    assert out.rstrip().endswith("3 errors, 0 warnings, 0 notes")


def test_command_live_needs_an_omapi_port(tmp_path: Path) -> None:
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(PRIMARY)
    with pytest.raises(ValueError, match="no omapi-port"):
        run_cli(["check", str(conf), "--live", "--no-dhcpd"])


async def test_command_live_uses_the_files_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIOMAPI_KEY", raising=False)
    parser = argparse.ArgumentParser(prog="aiomapi config")
    add_check_parser(parser.add_subparsers(required=True))
    async with FakeDhcpd(key=PAIR_KEY, failover_peers=[fake_peer(max_response_delay=20)]) as srv:
        args = parser.parse_args(
            [
                "check",
                str(CHECK / "pair-primary.conf"),
                "--live",
                "--server",
                srv.host,
                "--port",
                str(srv.port),
                "--no-dhcpd",
            ]
        )
        command: Callable[[argparse.Namespace], object] = args.command
        status = await command(args)  # type: ignore[misc]
    assert status == 1
    assert args.loaded_key == PAIR_KEY  # the entry point scrubs it from messages
    out = capsys.readouterr().out
    assert "runs with 20" in out
    assert PAIR_SECRET not in out
