"""aiomapi config check against the real dhcpd 4.4.3: every finding is what dhcpd does.

* ``dhcpd -t`` (no root, no network): each look-alike character makes dhcpd refuse the file,
  at the character's line, without naming it; each omitted peer setting is accepted (only
  load balancing gets a WARNING line); for every sample and every peer case the check has an
  error exactly when dhcpd refuses the file. dhcpd's echo of a key line never shows its secret.
* A real pair (the lab: root and network namespaces), started without max-response-delay,
  max-unacked-updates, load balance max seconds and ports, with an mclt on the secondary: the
  values read back over OMAPI are the ones the check says dhcpd uses. The same pair's files
  edited without a restart are reported; pairs whose files disagree (peer name, address, port)
  do what the check says they do.

Run the lab tests with AIOMAPI_LAB_FIRST_PORT set away from other runs on the machine.
"""

from __future__ import annotations

import argparse
import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import aiomapi
from aiomapi import FailoverHierarchy
from aiomapi.config import Report, check_config, check_file, load_config
from aiomapi.config.check_chars import LOOKALIKES
from aiomapi.config.check_dhcpd import error_lines, find_dhcpd
from aiomapi.config.check_peers import (
    DEFAULT_MAX_RESPONSE_DELAY,
    DEFAULT_MAX_UNACKED_UPDATES,
    DEFAULT_PORT,
)
from aiomapi.config.cli_check import add_check_parser
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, FailoverPair, LabUnavailable

from ..conftest import lab_unavailable, start_lab
from ..unit.test_config import DATA
from ..unit.test_config_check import PEER_CASES, PRIMARY, _place, peer_case_id

# The primary's mclt; the secondary declares SECONDARY_MCLT, which dhcpd ignores. Short, as a
# secondary that lost its state (the renamed peer) waits MCLT in recover-wait.
LAB_MCLT = 5
SECONDARY_MCLT = 1800
WAIT = 30.0  # seconds for a pair to reach normal, or for a log line to appear


@pytest.fixture(scope="module")
def dhcpd() -> str:
    found = find_dhcpd()
    if found is None:
        lab_unavailable(LabUnavailable("dhcpd not found (apt-get install isc-dhcp-server)"))
    return found


def checked(tmp_path: Path, text: str, dhcpd: str) -> Report:
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(text, encoding="utf-8")
    return check_file(conf, dhcpd=dhcpd)


# ----------------------------------------------------------------- dhcpd -t, no lab


@pytest.mark.parametrize("char", sorted(LOOKALIKES), ids=lambda c: f"U+{ord(c):04X}")
def test_dhcpd_refuses_each_lookalike_without_naming_it(
    char: str, tmp_path: Path, dhcpd: str
) -> None:
    report = checked(tmp_path, _place(char)[0], dhcpd)
    (verdict,) = report.dhcpd
    assert verdict.exit_status == 1
    said = "\n".join(verdict.lines)
    assert f"{ord(char):04X}" not in said.upper()
    assert unicodedata.name(char) not in said.upper()
    (finding,) = report.errors
    assert finding.code == "lookalike-character"
    assert finding.location is not None
    # dhcpd complains on the character's line, about the statement: quoted in the finding.
    message = error_lines(verdict)[finding.location.line]
    assert f"dhcpd -t: 'line {finding.location.line}: {message}'" in finding.dhcpd


def test_dhcpd_on_a_byte_order_mark(tmp_path: Path, dhcpd: str) -> None:
    report = checked(tmp_path, "\ufeff" + PRIMARY, dhcpd)
    (verdict,) = report.dhcpd
    assert verdict.exit_status == 1
    assert error_lines(verdict)[0] == "expecting a parameter or declaration"  # "line 0"
    assert error_lines(verdict)[14] == "failover peer fo: not found"
    assert report.codes() == ["lookalike-character"]


def test_dhcpd_on_the_operator_file(dhcpd: str) -> None:
    report = check_file(DATA / "check" / "operator.conf", dhcpd=dhcpd)
    (verdict,) = report.dhcpd
    assert error_lines(verdict) == {
        11: "invalid statement in peer declaration",
        20: "failover peer dhcp-failover: not found",
    }
    assert [f.location.line for f in report.errors if f.location] == [11, 12, 13]


@pytest.mark.parametrize(
    "statement",
    [
        "  max-response-delay 30;\n",
        "  max-unacked-updates 10;\n",
        "  load balance max seconds 3;\n",
        "  port 647;\n  peer address 10.0.0.2;\n  peer port 647;\n",
    ],
)
def test_dhcpd_accepts_each_omission_and_warns_only_of_load_balancing(
    statement: str, tmp_path: Path, dhcpd: str
) -> None:
    text = PRIMARY.replace(statement, "  peer address 10.0.0.2;\n" if "port" in statement else "")
    report = checked(tmp_path, text, dhcpd)
    (verdict,) = report.dhcpd
    assert verdict.accepted
    if "load balance" in statement:
        assert verdict.lines == (
            "WARNING: load balancing will be disabled for failover peer, fo, because its load "
            "balance max secs is 0",
        )
        assert report.codes() == ["peer-load-balancing-off"]
    else:
        assert verdict.lines == ()
        (note,) = report.findings
        assert note.code.startswith("peer-default-")


@pytest.mark.parametrize(("base", "old", "new", "code", "severity"), PEER_CASES, ids=peer_case_id)
def test_an_error_exactly_where_dhcpd_refuses(
    base: str, old: str, new: str, code: str, severity: str, tmp_path: Path, dhcpd: str
) -> None:
    report = checked(tmp_path, base.replace(old, new, 1), dhcpd)
    (verdict,) = report.dhcpd
    assert (report.exit_code == 2) == (not verdict.accepted), (verdict.lines, report.format())
    assert code in report.codes()


def samples() -> list[Path]:
    folders = ("debian", "valid", "stricter", "lenient", "broken", "check")
    return [conf for folder in folders for conf in sorted((DATA / folder).glob("*.conf"))]


@pytest.mark.parametrize("conf", samples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_has_an_error_exactly_where_dhcpd_refuses(conf: Path, dhcpd: str) -> None:
    report = check_file(conf, dhcpd=dhcpd)
    (verdict,) = report.dhcpd
    assert (report.exit_code == 2) == (not verdict.accepted), (verdict.lines, report.format())
    if conf.parent.name == "debian":
        assert report.findings == ()


def test_pools_outside_failover_are_outside_it_for_dhcpd(tmp_path: Path, dhcpd: str) -> None:
    # dhcpd refuses "range dynamic-bootp" wherever a failover peer is in scope (the sample
    # broken/failover-pool-bootp-range.conf): that it takes both ranges here shows they are
    # outside failover, which is what the check warns of.
    text = PRIMARY.replace(
        '  pool { failover peer "fo"; range 10.0.0.10 10.0.0.20; }\n',
        '  pool { failover peer "fo"; range 10.0.0.10 10.0.0.20; }\n'
        "  range dynamic-bootp 10.0.0.50 10.0.0.60;\n"
        "  pool { range dynamic-bootp 10.0.0.70 10.0.0.80; }\n",
    )
    report = checked(tmp_path, text, dhcpd)
    assert report.dhcpd[0].accepted
    assert report.codes() == ["pool-without-failover"] * 2


@pytest.mark.parametrize(
    "key",
    [
        'key k {\n  algorithm hmac-md5;\n  secret "c2VjcmV0IGZvciB0ZXN0cyBvbmx5IQ==" }\n',
        "key k {\n  algorithm hmac-md5;\n  secret c2VjcmV0IGZvciB0ZXN0cyBvbmx5IQ== x;\n}\n",
        'key k {\n  algorithm hmac-md5;\n  secret "c2VjcmV0IGZvc!iB0ZXN0cyBvbmx5IQ==";\n}\n',
    ],
)
def test_dhcpd_echoes_key_lines_but_no_secret_is_shown(
    key: str, tmp_path: Path, dhcpd: str
) -> None:
    report = checked(tmp_path, key + "omapi-key k;\n", dhcpd)
    (verdict,) = report.dhcpd
    assert not verdict.accepted
    assert any("secret" in line for line in verdict.lines)  # dhcpd did echo the line
    shown = json.dumps(report.to_json()) + report.format()
    secret = re.search(r"secret \"?([^\" ;}]+)", key)
    assert secret is not None
    for n in range(6, len(secret[1]) + 1):
        assert secret[1][:n] not in shown


# ----------------------------------------------------------------- the lab


def _omit(text: str, *, secondary_mclt: int | None = None) -> str:
    """A lab dhcpd.conf without max-response-delay, max-unacked-updates, load balance max
    seconds, port and peer port (and, on the secondary, with an mclt dhcpd will ignore)."""
    text = re.sub(
        r" ?(?<![-\w])(max-response-delay \d+|max-unacked-updates \d+|"
        r"load balance max seconds \d+|(peer )?port \d+);",
        "",
        text,
    )
    if secondary_mclt is not None:
        text = text.replace("secondary;", f"secondary; mclt {secondary_mclt};")
    return text


def restart_primary(pair: FailoverPair) -> None:
    """Restart the primary on its files (the lab restarts a pair's secondary: hand it the
    pair with the roles swapped)."""
    swapped = FailoverPair(pair.secondary, pair.primary, pair.workdir, pair.peer_name)
    pair.primary = swapped.start_secondary()


def conf(inst: DhcpdInstance) -> Path:
    return inst.workdir / "dhcpd.conf"


def client(inst: DhcpdInstance) -> aiomapi.Client:
    config = load_config(conf(inst))
    assert config.omapi_port == inst.port
    return aiomapi.Client(inst.host, inst.port, key=config.key(), timeout=10)


@pytest.fixture(scope="module")
def omitted_pair(
    tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]
) -> Iterator[FailoverPair]:
    """A pair whose files leave the settings out (see _omit), in normal/normal."""
    pair: FailoverPair = start_lab(
        dhcpd_lab.start_failover,
        tmp_path_factory.mktemp("config-check"),
        lab_port(),
        lab_port(),
        10,
        mclt=LAB_MCLT,
        max_response_delay=5,
    )
    try:
        conf(pair.primary).write_text(_omit(conf(pair.primary).read_text()))
        conf(pair.secondary).write_text(
            _omit(conf(pair.secondary).read_text(), secondary_mclt=SECONDARY_MCLT)
        )
        restart_primary(pair)
        pair.start_secondary()
        dhcpd_lab.wait_failover_states(pair, "normal", "normal", timeout=WAIT)
        yield pair
    finally:
        pair.stop()


@pytest.mark.dhcpd
@pytest.mark.failover
async def test_omitted_settings_are_what_the_running_pair_uses(
    omitted_pair: FailoverPair,
) -> None:
    pair = omitted_pair
    for inst, partner in ((pair.primary, pair.secondary), (pair.secondary, pair.primary)):
        text = conf(inst).read_text()
        assert "max-response-delay" not in text
        assert "port 647" not in text
        async with client(inst) as omapi:
            live = await omapi.failover.get(pair.peer_name)
            report = await check_config(
                conf(inst), peer_config=conf(partner), live_client=omapi, dhcpd=False
            )
        assert live.max_response_delay == DEFAULT_MAX_RESPONSE_DELAY == 20
        assert live.max_outstanding_updates == DEFAULT_MAX_UNACKED_UPDATES == 100
        assert live.load_balance_max_secs == 0
        assert live.local_port == live.partner_port == DEFAULT_PORT == 647
        assert live.mclt == LAB_MCLT  # the secondary's own mclt 1800 is ignored
        # The check's values are the running server's: nothing differs.
        codes = report.codes()
        assert not [c for c in codes if c.startswith("live-")], report.format()
        assert {
            "peer-default-max-response-delay",
            "peer-default-max-unacked-updates",
            "peer-load-balancing-off",
            "peer-default-port",
        } <= set(codes)
        if live.hierarchy is FailoverHierarchy.SECONDARY:
            assert "peer-mclt-on-secondary" in codes
        # dhcpd logs what the load balancing warning quotes
        assert (
            f"load balancing will be disabled for failover peer, {pair.peer_name}, because "
            "its load balance max secs is 0"
        ) in inst.log_text()


@pytest.mark.dhcpd
@pytest.mark.failover
async def test_a_file_changed_after_startup_is_found(
    omitted_pair: FailoverPair, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = omitted_pair.primary
    original = conf(inst).read_text()
    try:
        conf(inst).write_text(
            original.replace(
                "split 128;", "split 64; max-response-delay 30; load balance max seconds 3;"
            )
        )
        async with client(inst) as omapi:
            report = await check_config(conf(inst), live_client=omapi, dhcpd=False)
        drift = [f.message for f in report.findings if f.code == "live-differs"]
        assert len(drift) == 3, report.format()
        assert any(
            "max-response-delay: the file says 30" in m and "runs with 20" in m for m in drift
        )
        assert any("load balance max seconds: the file says 3" in m for m in drift)
        assert any("hash buckets: the file says split 64" in m and "split 128" in m for m in drift)

        # The command: the file's own omapi-port and key, the lab's address.
        parser = argparse_parser()
        args = parser.parse_args(
            ["check", str(conf(inst)), "--live", "--server", inst.host, "--no-dhcpd"]
        )
        assert await args.command(args) == 1
        assert "runs with 20" in capsys.readouterr().out

        renamed = original.replace(f'"{omitted_pair.peer_name}"', '"renamed"')
        conf(inst).write_text(renamed)
        async with client(inst) as omapi:
            report = await check_config(conf(inst), live_client=omapi, dhcpd=False)
        assert "live-peer-missing" in report.codes()
    finally:
        conf(inst).write_text(original)


def argparse_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aiomapi config")
    add_check_parser(parser.add_subparsers(required=True))
    return parser


def wait_for_log(inst: DhcpdInstance, text: str, timeout: float = WAIT) -> float:
    t0 = time.monotonic()
    while text not in inst.log_text():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{text!r} not logged in {timeout} s:\n{inst.log_tail()}")
        time.sleep(0.2)
    return time.monotonic() - t0


MISMATCHES = [
    # (in the secondary's file: old, new; the check's code and severity; what the secondary
    # logs; whether the pair reaches normal: False never, None flaps, True it does)
    (
        '"lab"',
        '"other"',
        "pair-peer-name",
        "error",
        "Failover CONNECT from lab: unknown failover relationship name",
        False,
    ),
    (
        "peer address 10.254.0.1",
        "peer address 10.254.0.9",
        "pair-address",
        "error",
        "failover: listener: no matching state",
        False,
    ),
    (
        "secondary;",
        f"primary; mclt {LAB_MCLT}; split 128;",
        "pair-roles",
        "error",
        "dhcp_failover_put_message: something went wrong.",
        None,
    ),
    ("secondary;", "secondary; peer port 847;", "pair-port", "warning", None, True),
]


@pytest.mark.dhcpd
@pytest.mark.failover
@pytest.mark.parametrize(
    ("old", "new", "code", "severity", "logged", "settles"),
    MISMATCHES,
    ids=[case[2] for case in MISMATCHES],
)
def test_mismatched_pairs_do_what_the_check_says(
    omitted_pair: FailoverPair,
    old: str,
    new: str,
    code: str,
    severity: str,
    logged: str | None,
    settles: bool | None,
) -> None:
    pair = omitted_pair
    original = conf(pair.secondary).read_text()
    assert old in original
    try:
        conf(pair.secondary).write_text(original.replace(old, new))
        report = check_file(conf(pair.primary), peer_config=conf(pair.secondary), dhcpd=False)
        found = {f.severity.value for f in report.findings if f.code == code}
        assert found == {severity}, report.format()
        pair.start_secondary()
        if logged is not None:
            wait_for_log(pair.secondary, logged)
        if settles is False:
            a, _ = dhcpd_lab.omshell_failover_states(pair.primary)
            assert a != "normal"
        elif settles:  # one link is enough: the primary dials the secondary's port 647
            dhcpd_lab.wait_failover_states(pair, "normal", "normal", timeout=WAIT)
    finally:
        conf(pair.secondary).write_text(original)
        pair.start_secondary()
        # After the renamed peer the secondary has lost its state: recover, then MCLT.
        dhcpd_lab.wait_failover_states(pair, "normal", "normal", timeout=WAIT)


def test_the_lab_pair_files_are_clean(tmp_path: Path, dhcpd: str) -> None:
    # The lab's own pair files, as start_failover writes them, without starting anything.
    for role in ("primary", "secondary"):
        d = tmp_path / role
        d.mkdir()
        stanza = dhcpd_lab._failover_stanza(role, LAB_MCLT, 5, None)
        dhcpd_lab._write_conf(d, 27999, "hmac-md5", "c2VjcmV0", 10, True, "", stanza)
    report = check_file(
        tmp_path / "primary" / "dhcpd.conf",
        peer_config=tmp_path / "secondary" / "dhcpd.conf",
        dhcpd=dhcpd,
    )
    assert report.findings == (), report.format()
    assert all(v.accepted for v in report.dhcpd)
