"""perfdhcp's report, read by :func:`aiomapi.testing.dhcpd_lab.parse_report`.

The reports in tests/data/perfdhcp are perfdhcp 2.2.0's standard output, unchanged, from runs
in the lab's client namespace (the command line is their first line): ``answered.txt``
against a lab dhcpd with 1,000 leases, ``unanswered.txt`` after that dhcpd was stopped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aiomapi.testing.dhcpd_lab import DhcpdInstance, LabError, parse_report
from aiomapi.testing.dhcpd_lab.config import write_conf
from aiomapi.testing.dhcpd_lab.dhcp_load import perfdhcp_argv

DATA = Path(__file__).parent.parent / "data" / "perfdhcp"


def report_text(name: str) -> str:
    return (DATA / name).read_text()


def test_answered_run() -> None:
    report = parse_report(report_text("answered.txt"))
    assert report.expected_rate == 200.0
    assert report.rate == pytest.approx(132.958)
    assert report.malformed == 0
    do, ra = report.discover_offer, report.request_ack
    assert ra is not None
    assert (do.name, do.sent, do.received, do.drops, do.drops_percent) == (
        "DISCOVER-OFFER",
        399,
        399,
        0,
        0.0,
    )
    assert (do.min_ms, do.avg_ms, do.max_ms, do.std_ms) == (0.056, 0.57, 15.107, 1.54)
    assert (ra.name, ra.sent, ra.received, ra.drops) == ("REQUEST-ACK", 399, 399, 0)
    assert (ra.min_ms, ra.avg_ms, ra.max_ms, ra.std_ms) == (0.037, 0.944, 16.611, 2.394)
    assert report.completed == 399
    assert report.dora_avg_ms == pytest.approx(0.57 + 0.944)


def test_percentiles_come_from_every_exchange_time() -> None:
    report = parse_report(report_text("answered.txt"))
    for ex in (report.discover_offer, report.request_ack):
        assert ex is not None
        assert ex.timed == ex.received
        lo, p50, p90, p99, hi = ex.min_ms, ex.p50_ms, ex.p90_ms, ex.p99_ms, ex.max_ms
        assert None not in (lo, p50, p90, p99, hi)
        # perfdhcp rounds its min and max to the microsecond; the times are in microseconds.
        assert lo - 0.001 <= p50 <= p90 <= p99 <= hi + 0.001  # type: ignore[operator]


def test_percentiles_are_nearest_rank() -> None:
    head = report_text("answered.txt").split("***Timestamps")[0]
    lines = [f"sent / received: 000001.000000 / {1 + ms / 1000:013.6f}" for ms in range(100, 0, -1)]
    text = head + "***Timestamps for packets: DISCOVER-OFFER***\n" + "\n".join(lines) + "\n"
    do = parse_report(text).discover_offer
    assert do.timed == 100
    assert (do.p50_ms, do.p90_ms, do.p99_ms) == pytest.approx((50.0, 90.0, 99.0))
    # No timestamps for REQUEST-ACK in this text: no percentiles, perfdhcp's figures kept.
    ra = parse_report(text).request_ack
    assert ra is not None
    assert (ra.timed, ra.p50_ms, ra.avg_ms) == (0, None, 0.944)


def test_unanswered_run() -> None:
    report = parse_report(report_text("unanswered.txt"))
    do, ra = report.discover_offer, report.request_ack
    assert ra is not None
    assert (report.rate, report.expected_rate, report.completed) == (0.0, 50.0, 0)
    assert (do.sent, do.received, do.drops, do.drops_percent) == (49, 0, 49, 100.0)
    # "inf", "n/a" and the garbled "avg delay: min delay: n/a" line read as no figure.
    assert (do.min_ms, do.avg_ms, do.max_ms, do.std_ms) == (None, None, None, None)
    assert (do.p50_ms, do.p99_ms, do.timed) == (None, None, 0)
    # Nothing sent: "drops ratio: -nan %".
    assert (ra.sent, ra.drops, ra.drops_percent) == (0, 0, 0.0)
    assert report.dora_avg_ms is None


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("", "Rate"),
        ("perfdhcp: command not found\n", "Rate"),
        ("***Rate statistics***\nRate: 10 4-way exchanges/second, expected rate: 10\n", "DISC"),
    ],
)
def test_not_a_report(text: str, missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        parse_report(text)


def test_missing_count_is_an_error() -> None:
    text = report_text("answered.txt").replace("orphans: 0\n", "", 1)
    with pytest.raises(ValueError, match="orphans"):
        parse_report(text)


def test_argv_needs_a_client_namespace(tmp_path: Path) -> None:
    log = tmp_path / "log"
    inst = DhcpdInstance("127.0.0.1", 7911, "k", "c2VjcmV0", "hmac-md5", 0, "ns", 0, tmp_path, log)
    with pytest.raises(LabError, match="client namespace"):
        perfdhcp_argv(inst, rate=10, seconds=1)


def test_conf_with_a_client_pool(tmp_path: Path) -> None:
    write_conf(tmp_path, 7911, "hmac-md5", "c2VjcmV0", 10, True, "", client_pool=True)
    conf = (tmp_path / "dhcpd.conf").read_text()
    # The clients relayed through 10.100.0.2 are a class; only the client pool serves them.
    assert 'class "dhcp-load" { match if packet(24, 4) = 0a:64:00:02; }' in conf
    lab_pool, client_pool = conf.split("pool {")[1:]
    assert 'deny members of "dhcp-load";' in lab_pool
    assert "range 10.100.1.0 10.100.1.25;" in lab_pool
    assert 'allow members of "dhcp-load"; ping-check false;' in client_pool
    assert "range 10.103.0.1 10.103.32.0;" in client_pool
    # Without it, the lab's usual config.
    write_conf(tmp_path, 7911, "hmac-md5", "c2VjcmV0", 10, True, "")
    assert "dhcp-load" not in (tmp_path / "dhcpd.conf").read_text()


def test_no_client_pool_over_the_lab_leases(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="no room"):
        write_conf(tmp_path, 7911, "hmac-md5", "c2VjcmV0", 200_000, True, "", client_pool=True)
