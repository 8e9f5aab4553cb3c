"""``scan_leases`` and ``aiomapi leases scan`` without a real dhcpd: filters, address order,
not-found addresses, the rate limit, errors, the three output formats and the progress bar.

On a real dhcpd (a small lab, and 50,000 leases): tests/dhcpd/test_scan_dhcpd.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

import pytest
import pytest_asyncio

import aiomapi
from aiomapi import Lease, LeaseState, MacAddress
from aiomapi.config.options import KEY_WARNING
from aiomapi.leasefile import LeaseRecord
from aiomapi.ranges import AddressSet
from aiomapi.scan import LeaseFilter, ScanStats, TokenBucket, parse_mac_prefix, scan_leases
from aiomapi.scan_cli import FIELDS, add_scan_parser, lease_record
from aiomapi.testing import FakeDhcpd, synthetic_leases

KEY = aiomapi.Key("omapi_key", "c2VjcmV0IHNlY3JldCBzZWNyZXQ=")
S = LeaseState
TEST_TIMEOUT = 30
N = 60  # leases 10.100.1.0-59, then free pool addresses 10.100.1.60-75
FIRST = IPv4Address("10.100.1.0")
POOL_END = FIRST + N + 15
VENDOR = b"\x00\x11\x22"


def ip(i: int) -> IPv4Address:
    return FIRST + i


def records() -> list[LeaseRecord]:
    """The leases of the in-memory server: a mix of states, vendors and host names.

    Every 5th lease is free (no client hostname: dhcpd drops it), every 7th abandoned
    (unless free), every 3rd has the vendor prefix 00:11:22; host names are ``host<i>``,
    ``printer-<i>`` for every 4th and ``PRINTER-<i>`` for every 8th.
    """
    found = []
    for i, record in enumerate(synthetic_leases(N)):
        name: str | None = f"printer-{i}" if i % 4 == 0 else f"host{i}"
        if i % 8 == 0:
            name = f"PRINTER-{i}"
        state = S.ACTIVE
        if i % 5 == 0:
            state, name = S.FREE, None
        elif i % 7 == 0:
            state = S.ABANDONED
        mac = record.hardware_address
        if i % 3 == 0:
            mac = MacAddress(VENDOR + i.to_bytes(3, "big"))
        found.append(
            replace(record, binding_state=state, hardware_address=mac, client_hostname=name)
        )
    return found


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeDhcpd]:
    async with FakeDhcpd(key=KEY, leases=records(), pool_range=(FIRST, POOL_END)) as fake:
        yield fake


def client(server: FakeDhcpd, **kwargs: object) -> aiomapi.Client:
    return aiomapi.Client(server.host, server.port, key=KEY, timeout=5, **kwargs)  # type: ignore[arg-type]


def expected(keep: Callable[[int, LeaseRecord | None], bool]) -> list[str]:
    """The addresses of the pool (a record, or None for a free pool address) that ``keep``
    keeps, in order."""
    by_ip = {r.ip_address: r for r in records()}
    return [str(ip(i)) for i in range(N + 16) if keep(i, by_ip.get(ip(i)))]


def state_of(record: LeaseRecord | None) -> LeaseState | None:
    return S.FREE if record is None else record.binding_state


async def scan(omapi: aiomapi.Client, addresses: object, **kwargs: object) -> list[str]:
    async with aclosing(scan_leases(omapi, addresses, **kwargs)) as leases:  # type: ignore[arg-type]
        return [str(lease.ip_address) async for lease in leases]


# ---------------------------------------------------------------- filters, pure


def test_mac_prefix_spellings() -> None:
    for text in ("00:11:22", "00-11-22", "0:11:22", "001122", " 00:11:22 ", "0011.22"):
        assert parse_mac_prefix(text) == VENDOR, text
    assert parse_mac_prefix(VENDOR) == VENDOR
    assert parse_mac_prefix("AA") == b"\xaa"
    for bad in ("", "0", "00:1g", "001", "00::11", "000:11", "0011.2", "+1:2"):
        with pytest.raises(ValueError, match="not a hardware address prefix"):
            parse_mac_prefix(bad)
    with pytest.raises(ValueError, match="empty"):
        parse_mac_prefix(b"")
    with pytest.raises(ValueError, match="octets"):
        parse_mac_prefix("00" * 21)


def test_filter_matches() -> None:
    lease = Lease(
        handle=1,
        state=S.ACTIVE,
        ip_address=ip(0),
        hardware_address=MacAddress("00:11:22:33:44:55"),
        client_hostname="Printer-Hall",
    )
    bare = Lease(handle=2, state=S.FREE, ip_address=ip(1))
    assert LeaseFilter.of().everything
    assert LeaseFilter.of().matches(lease)
    assert LeaseFilter.of().matches(bare)
    cases = [
        (LeaseFilter.of(states="active"), True, False),
        (LeaseFilter.of(states="active,free"), True, True),
        (LeaseFilter.of(states=[S.FREE, "backup"]), False, True),
        (LeaseFilter.of(states=[2]), True, False),
        (LeaseFilter.of(mac_prefix="00:11:22"), True, False),
        (LeaseFilter.of(mac_prefix=["02:00", "00:11:22:33:44:55"]), True, False),
        (LeaseFilter.of(mac_prefix="00:11:23"), False, False),
        (LeaseFilter.of(hostname="printer-*"), True, False),
        (LeaseFilter.of(hostname="PRINTER-HALL"), True, False),
        (LeaseFilter.of(hostname=["x*", "*hall"]), True, False),
        (LeaseFilter.of(hostname="printer"), False, False),
        (LeaseFilter.of(states="active", mac_prefix="00:11", hostname="p*"), True, False),
        (LeaseFilter.of(states="free", mac_prefix="00:11"), False, False),
    ]
    for keep, on_lease, on_bare in cases:
        assert (keep.matches(lease), keep.matches(bare)) == (on_lease, on_bare), keep


def test_filter_arguments_that_do_not_read() -> None:
    for bad in ("bound", ["active", "nope"], [9], [True], [], ","):
        with pytest.raises(ValueError, match=r"(?i)lease ?state"):
            LeaseFilter.of(states=bad)
    for bad_prefix in ([], [","], ["00:zz"]):
        with pytest.raises(ValueError, match="hardware address prefix"):
            LeaseFilter.of(mac_prefix=bad_prefix)
    with pytest.raises(ValueError, match="no host name"):
        LeaseFilter.of(hostname=[])


async def test_token_bucket() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(10, burst=0.5)
    assert TokenBucket(200).capacity == 10  # 50 ms worth
    assert TokenBucket(5).capacity == 1
    bucket = TokenBucket(1000, burst=5)
    started = time.monotonic()
    for _ in range(50):  # it starts empty: 1 ms each
        await bucket.take()
    assert time.monotonic() - started >= 0.049
    # On a clock of its own: ten seconds idle fill the bucket up to its burst, no further.
    now = [0.0]
    bucket = TokenBucket(1000, burst=5, clock=lambda: now[0])
    now[0] = 10.0
    async with asyncio.timeout(1):
        for _ in range(5):
            await bucket.take()
    sixth = asyncio.ensure_future(bucket.take())
    await asyncio.sleep(0.02)
    assert not sixth.done()
    now[0] += 0.002  # (0.001 would come out a hair short of a token in floating point)
    await asyncio.wait_for(sixth, 1)


async def test_token_bucket_serves_waiters_in_order() -> None:
    bucket = TokenBucket(500, burst=1)
    order: list[int] = []

    async def take(n: int) -> None:
        await bucket.take()
        order.append(n)

    async with asyncio.timeout(5):
        await asyncio.gather(*(take(n) for n in range(20)))
    assert order == list(range(20))


# ---------------------------------------------------------------- scan_leases


def _keep_all(i: int, r: LeaseRecord | None) -> bool:
    return True


FILTERS: list[tuple[dict[str, object], Callable[[int, LeaseRecord | None], bool]]] = [
    ({}, _keep_all),
    ({"states": "free"}, lambda i, r: state_of(r) == S.FREE),
    ({"states": ["active", S.ABANDONED]}, lambda i, r: state_of(r) in {S.ACTIVE, S.ABANDONED}),
    ({"mac_prefix": "00:11:22"}, lambda i, r: r is not None and i % 3 == 0),
    ({"hostname": "printer-*"}, lambda i, r: r is not None and i % 4 == 0 and i % 5 != 0),
    ({"hostname": ["PRINTER-?", "host1*"]}, lambda i, r: r is not None and _name_in(i)),
    (
        {"states": "active", "mac_prefix": ["00:11:22", "02:00:00:00:00:3"]},
        lambda i, r: state_of(r) == S.ACTIVE and r is not None and (i % 3 == 0 or 48 <= i < 52),
    ),
]


def _name_in(i: int) -> bool:
    if i % 5 == 0:
        return False
    if i % 4 == 0:
        return i < 10
    return str(i).startswith("1")


@pytest.mark.parametrize(("filters", "keep"), FILTERS)
async def test_scan_filters(
    server: FakeDhcpd,
    filters: dict[str, object],
    keep: Callable[[int, LeaseRecord | None], bool],
) -> None:
    stats = ScanStats()
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=4) as omapi:
        found = await scan(omapi, AddressSet.parse(["10.100.1.0/25"]), stats=stats, **filters)
    assert found == expected(keep)
    assert stats.addresses == stats.looked_up == 128
    assert stats.leases == N + 16
    assert stats.not_found == 128 - (N + 16)
    assert stats.matched == len(found)
    assert stats.states == {"active": 41, "free": 16 + 12, "abandoned": 7}
    assert stats.finished is not None


async def test_scan_paced_gives_the_same_leases_in_the_same_order(server: FakeDhcpd) -> None:
    addresses = [*AddressSet.parse(["10.100.1.40-10.100.1.90"]), "10.100.1.3"]
    async with asyncio.timeout(TEST_TIMEOUT), client(server, connections=4) as omapi:
        fast = await scan(omapi, addresses, states="active,free", concurrency=7)
        paced = await scan(omapi, addresses, states="active,free", concurrency=7, rate=5000)
    assert fast == paced
    assert fast[-1] == "10.100.1.3"  # the order of the input, not sorted
    assert len(fast) == len(set(fast)) == 20 - 3 + 16 + 1  # 42, 49, 56 are abandoned


async def test_scan_addresses_outside_every_pool_are_counted(server: FakeDhcpd) -> None:
    stats = ScanStats()
    seen: list[int] = []
    async with asyncio.timeout(TEST_TIMEOUT), client(server) as omapi:
        found = await scan(
            omapi,
            (ip(n) for n in range(-5, 3)),  # no len(): stats.addresses stays None
            stats=stats,
            progress=lambda s: seen.append(s.looked_up),
        )
    assert found == [str(ip(n)) for n in range(3)]
    assert (stats.addresses, stats.looked_up, stats.not_found, stats.leases) == (None, 8, 5, 3)
    assert seen == list(range(1, 9))  # once per lookup, found or not


async def test_bad_arguments_fail_at_the_call(server: FakeDhcpd) -> None:
    async with client(server) as omapi:
        with pytest.raises(ValueError, match="concurrency"):
            scan_leases(omapi, [ip(0)], concurrency=0)
        with pytest.raises(ValueError, match="rate"):
            scan_leases(omapi, [ip(0)], rate=0)
        with pytest.raises(ValueError, match="bound"):
            scan_leases(omapi, [ip(0)], states="bound")


async def test_rate_limit(server: FakeDhcpd) -> None:
    # 200/s from an empty bucket: 400 lookups take at least 400 / 200 = 2 s.
    stats = ScanStats()
    async with asyncio.timeout(TEST_TIMEOUT), client(server) as omapi:
        started = time.monotonic()
        found = await scan(omapi, [ip(i % N) for i in range(400)], rate=200, stats=stats)
        elapsed = time.monotonic() - started
    assert len(found) == 400
    assert 1.8 <= elapsed < 6, elapsed
    assert stats.rate <= 200


@pytest.mark.parametrize("rate", [None, 100.0])
async def test_an_error_ends_the_scan(server: FakeDhcpd, rate: float | None) -> None:
    stats = ScanStats()
    async with asyncio.timeout(TEST_TIMEOUT), client(server) as omapi:
        with pytest.raises(aiomapi.OmapiError):  # noqa: PT012 - the error comes mid-loop
            async with aclosing(
                scan_leases(omapi, [ip(i % N) for i in range(5000)], rate=rate, stats=stats)
            ) as leases:
                async for lease in leases:
                    if lease.ip_address == ip(10):
                        await server.close()  # every lookup after this one fails
        assert _workers() == []
    assert 10 < stats.looked_up < 5000
    assert stats.finished is not None


async def test_leaving_early_cancels_the_lookups(server: FakeDhcpd) -> None:
    async with asyncio.timeout(TEST_TIMEOUT), client(server) as omapi:
        for rate in (None, 1000.0):
            async with aclosing(
                scan_leases(omapi, [ip(i % N) for i in range(5000)], rate=rate)
            ) as leases:
                async for lease in leases:
                    if lease.ip_address == ip(3):
                        break
            assert _workers() == []


def _workers() -> list[asyncio.Task[object]]:
    """The lookup workers still running (get_many's or the paced ones)."""
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done() and getattr(t.get_coro(), "__qualname__", "").endswith("<locals>.worker")
    ]


# ---------------------------------------------------------------- the command


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aiomapi leases")
    add_scan_parser(parser.add_subparsers(required=True))
    return parser.parse_args(["scan", *argv])


KEY_SPEC = f"{KEY.algorithm}:{KEY.name}:{KEY.secret}"


@pytest.fixture(autouse=True)
def _key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key the documented way (a --key on the command line warns, as in every command)."""
    monkeypatch.setenv("AIOMAPI_KEY", KEY_SPEC)


def server_args(server: FakeDhcpd) -> list[str]:
    return ["--server", server.host, "--port", str(server.port)]


async def run(*argv: str) -> int:
    args = parse(*argv)
    async with asyncio.timeout(TEST_TIMEOUT):
        code: int = await args.command(args)
    return code


SUMMARY = re.compile(
    r"^scanned (?P<looked_up>[\d,]+) addresses in [\d.]+ s \([\d,]+/s\): (?P<leases>[\d,]+) "
    r"leases.*, (?P<not_found>[\d,]+) not in any pool; (?P<matched>[\d,]+) matched"
)


def summary(err: str) -> dict[str, int]:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # the summary alone: no progress bar off a terminal
    match = SUMMARY.match(lines[0])
    assert match, lines[0]
    return {k: int(v.replace(",", "")) for k, v in match.groupdict().items()}


async def test_command_jsonl(server: FakeDhcpd, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(*server_args(server), "10.100.1.0/26", "--format", "jsonl") == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["ip"] for r in rows] == expected(lambda i, r: i < 64)
    assert all(list(r) == list(FIELDS) for r in rows)
    assert rows[3] == {
        "ip": "10.100.1.3",
        "state": "active",
        "mac": "00:11:22:00:00:03",
        "hostname": "host3",
        "client_id": None,
        "starts": rows[3]["starts"],
        "ends": "2037-12-31T23:59:59+00:00",
        "cltt": rows[3]["cltt"],
        "tstp": rows[3]["tstp"],
        "tsfp": None,
    }
    assert (rows[60]["state"], rows[60]["mac"]) == ("free", None)
    assert summary(err) == {"looked_up": 64, "leases": 64, "not_found": 0, "matched": 64}


async def test_command_json_is_jsonl_and_off_a_terminal_the_default(
    server: FakeDhcpd, capsys: pytest.CaptureFixture[str]
) -> None:
    for flag in (["--json"], []):
        assert await run(*server_args(server), "10.100.1.58-10.100.1.61", *flag) == 0
        out, _ = capsys.readouterr()
        assert [json.loads(line)["ip"] for line in out.splitlines()] == [
            "10.100.1.58",
            "10.100.1.59",
            "10.100.1.60",
            "10.100.1.61",
        ]


async def test_command_csv(server: FakeDhcpd, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        await run(
            *server_args(server), "10.100.1.0/24", "--format", "csv", "--hostname", "printer-*"
        )
        == 0
    )
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["ip"] for r in rows] == expected(
        lambda i, r: r is not None and i % 4 == 0 and i % 5 != 0
    )
    assert rows[0] == {**rows[0], "ip": "10.100.1.4", "hostname": "printer-4", "client_id": ""}
    assert out.splitlines()[0] == ",".join(FIELDS)
    assert summary(err) == {"looked_up": 256, "leases": 76, "not_found": 180, "matched": 12}


async def test_command_csv_without_matches_is_the_header(
    server: FakeDhcpd, capsys: pytest.CaptureFixture[str]
) -> None:
    args = (*server_args(server), "10.100.1.0/24", "--format", "csv", "--mac-prefix", "aa")
    assert await run(*args) == 0
    out, err = capsys.readouterr()
    assert out == ",".join(FIELDS) + "\n"
    assert summary(err)["matched"] == 0


async def test_command_table(server: FakeDhcpd, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("10.100.1.0/24", "--format", "table", "--state", "abandoned", "--state", "free")
    assert await run(*server_args(server), *args, "--mac-prefix", "00:11:22,02:00:00:00:00:07") == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["IP", "STATE", "MAC", "HOSTNAME", "ENDS", "(UTC)"]
    assert set(lines[1]) == {"─"}
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == expected(
        lambda i, r: (
            r is not None and r.binding_state in {S.FREE, S.ABANDONED} and (i % 3 == 0 or i == 7)
        )
    )
    assert rows[0][:3] == ["10.100.1.0", "free", "00:11:22:00:00:00"]
    assert [
        "10.100.1.7",
        "abandoned",
        "02:00:00:00:00:07",
        "host7",
        "2037-12-31",
        "23:59:59",
    ] in rows


async def test_command_table_in_batches(capsys: pytest.CaptureFixture[str]) -> None:
    async with FakeDhcpd.like_lab(1200, key=KEY) as fake:
        assert await run(*server_args(fake), "10.100.1.0-10.100.5.255", "--format", "table") == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert sum("HOSTNAME" in line for line in lines) == 1  # the heading once
    rows = [line for line in lines[2:] if line.strip()]
    assert len(rows) == 1216
    assert {row.index("host") for row in rows[:1200]} == {rows[0].index("host")}  # lined up


async def test_command_rate(server: FakeDhcpd, capsys: pytest.CaptureFixture[str]) -> None:
    # 400 addresses (76 leases, the rest in no pool) at 200/s: at least 2 s.
    started = time.monotonic()
    assert await run(*server_args(server), "10.100.1.0-10.100.2.143", "--rate", "200") == 0
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == N + 16
    assert summary(err) == {"looked_up": 400, "leases": 76, "not_found": 324, "matched": 76}
    assert 1.8 <= elapsed < 6, elapsed


async def test_command_quiet(server: FakeDhcpd, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(*server_args(server), "10.100.1.0/30", "--quiet") == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 4
    assert err == ""


async def test_command_a_key_on_the_command_line_warns(
    server: FakeDhcpd, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIOMAPI_KEY")
    assert await run(*server_args(server), f"--key={KEY_SPEC}", "10.100.1.1", "--quiet") == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["ip"] == "10.100.1.1"
    assert err.splitlines() == [KEY_WARNING]


async def test_command_config(
    server: FakeDhcpd,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIOMAPI_KEY")
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(
        f"omapi-port {server.port};\n"
        f'key omapi_key {{ algorithm hmac-md5; secret "{KEY.secret}"; }};\n'
        "omapi-key omapi_key;\n"
        "subnet 10.100.0.0 netmask 255.255.0.0 {\n"
        "  pool { range 10.100.1.50 10.100.1.69; }\n"
        "  range 10.100.1.2 10.100.1.3;\n"
        "}\n"
    )
    # No --server, no --port, no key: 127.0.0.1, the omapi-port and omapi-key of the file,
    # and its ranges.
    assert await run("--config", str(conf), "--state", "active") == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["ip"] for line in out.splitlines()] == expected(
        lambda i, r: (i in (2, 3) or 50 <= i < 70) and state_of(r) == S.ACTIVE
    )
    assert summary(err)["looked_up"] == 22
    # Ranges on the command line win over the file's.
    assert await run("--config", str(conf), "10.100.1.4") == 0
    assert [json.loads(line)["ip"] for line in capsys.readouterr()[0].splitlines()] == [
        "10.100.1.4"
    ]


async def test_command_address_files(
    server: FakeDhcpd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ips = tmp_path / "ips"
    ips.write_text("10.100.1.1  # one\n10.100.1.8-10.100.1.9\n")
    leases = tmp_path / "dhcpd.leases"
    leases.write_text("lease 10.100.1.30 {\n  binding state free;\n}\n")
    args = ("--ips-file", str(ips), "--leases-file", str(leases), "10.100.1.1")
    assert await run(*server_args(server), *args) == 0
    out, _ = capsys.readouterr()
    assert [json.loads(line)["ip"] for line in out.splitlines()] == [
        "10.100.1.1",
        "10.100.1.8",
        "10.100.1.9",
        "10.100.1.30",
    ]


async def test_command_usage_errors_come_before_any_connection(
    capsys: pytest.CaptureFixture[str],
) -> None:
    nowhere = ["--server", "127.0.0.1", "--port", "1"]  # nothing listens: a lookup would fail
    with pytest.raises(ValueError, match="which addresses"):
        await run(*nowhere)
    with pytest.raises(ValueError, match="which server"):
        await run("10.0.0.0/30")
    with pytest.raises(ValueError, match="bound"):
        await run(*nowhere, "10.0.0.0/30", "--state", "bound")
    with pytest.raises(ValueError, match="hardware address prefix"):
        await run(*nowhere, "10.0.0.0/30", "--mac-prefix", "00:1x")
    with pytest.raises(ValueError, match="host bits"):
        await run(*nowhere, "10.0.0.1/30")
    with pytest.raises(ValueError, match="limit"):
        await run(*nowhere, "0.0.0.0/0")
    for bad in (["--rate", "0"], ["--concurrency", "0"], ["--format", "xml"]):
        with pytest.raises(SystemExit):
            parse("10.0.0.0/30", *bad)
    assert capsys.readouterr().out == ""


async def test_command_cannot_connect(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(aiomapi.NetworkError):
        await run("--server", "127.0.0.1", "--port", "1", "10.0.0.0/30", "--format", "csv")
    out, err = capsys.readouterr()
    assert (out, err) == ("", "")  # no csv header, no summary: the entry point reports


def test_lease_record_times_and_ids() -> None:
    lease = Lease(
        handle=1,
        state=9,  # a state dhcpd might add one day
        ip_address=ip(0),
        dhcp_client_identifier=b"\x01\xaa\xbb",
        ends=aiomapi.NEVER,
    )
    record = lease_record(lease)
    assert list(record) == list(FIELDS)
    assert (record["state"], record["client_id"], record["ends"], record["starts"]) == (
        "9",
        "01:aa:bb",
        "never",
        None,
    )


# ---------------------------------------------------------------- on a terminal

_SCRIPT = """
import argparse, asyncio, sys
from aiomapi.scan_cli import add_scan_parser
parser = argparse.ArgumentParser()
add_scan_parser(parser.add_subparsers())
args = parser.parse_args(["scan", *sys.argv[1:]])
sys.exit(asyncio.run(args.command(args)))
"""
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


async def _run_on_pty(argv: list[str], *, stdout_too: bool) -> tuple[str, str]:
    """Run the command with stderr (and maybe stdout) on a pseudo-terminal; returns what
    the terminal got and what the stdout pipe got."""
    controller, terminal = os.openpty()
    os.set_blocking(controller, False)
    got = bytearray()
    loop = asyncio.get_running_loop()

    def readable() -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            got.extend(os.read(controller, 65536))

    loop.add_reader(controller, readable)
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _SCRIPT,
            *argv,
            stdout=terminal if stdout_too else subprocess.PIPE,
            stderr=terminal,
            env=env,
        )
        os.close(terminal)
        terminal = -1
        out, _ = await asyncio.wait_for(process.communicate(), TEST_TIMEOUT)
        assert process.returncode == 0
        await asyncio.sleep(0.1)  # the last bytes on the terminal
        readable()
    finally:
        loop.remove_reader(controller)
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    return got.decode(errors="replace"), (out or b"").decode()


async def test_progress_bar_on_a_terminal(server: FakeDhcpd) -> None:
    # 300 addresses at 300/s: the bar is drawn several times, then taken away.
    argv = [*server_args(server), "10.100.1.0-10.100.2.43", "--rate", "300", "--json"]
    screen, out = await _run_on_pty(argv, stdout_too=False)
    assert [json.loads(line)["ip"] for line in out.splitlines()] == expected(_keep_all)
    assert "━" in screen  # rich's bar
    assert "/300" in screen  # done/total
    text = _ESCAPES.sub("", screen).replace("\r", "\n")
    last = [line for line in text.splitlines() if line.strip()][-1]
    assert last.startswith("scanned 300 addresses"), text[-500:]


async def test_output_on_the_same_terminal_goes_above_the_bar(server: FakeDhcpd) -> None:
    argv = [*server_args(server), "10.100.1.0-10.100.2.43", "--rate", "300", "--json"]
    screen, _ = await _run_on_pty(argv, stdout_too=True)
    text = _ESCAPES.sub("", screen).replace("\r\n", "\n").replace("\r", "\n")
    shown = [json.loads(line)["ip"] for line in text.splitlines() if line.startswith("{")]
    assert shown == expected(_keep_all)
