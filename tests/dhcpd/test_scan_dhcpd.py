"""``aiomapi leases scan`` and ``scan_leases`` on a real dhcpd 4.4.3, checked against the
lease file dhcpd wrote.

Some leases are released (dhcpd makes them free, keeps the hardware address and drops the
client hostname) and some abandoned over OMAPI first; dhcpd appends each change to its
lease file before it answers. The expected leases are computed here from that file: the
last record of each address, and a free lease with nothing else for each pool address the
file does not declare (the lab's 16 spare addresses). The slow test does the same on
50,000 leases and prints how long the scans took.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import fnmatch
import io
import json
import re
import time
from collections.abc import Callable, Iterable
from contextlib import aclosing
from pathlib import Path

import pytest

import aiomapi
from aiomapi import LeaseState
from aiomapi.config import load_config
from aiomapi.leasefile import load_leases
from aiomapi.ranges import AddressSet, from_config
from aiomapi.scan import ScanStats, scan_leases
from aiomapi.scan_cli import add_scan_parser
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, lease_ip

from ..conftest import DhcpdFactory, start_lab

pytestmark = [pytest.mark.dhcpd]

TEST_TIMEOUT = 120
#: state, hardware address, client hostname
Seen = tuple[str, str | None, str | None]


def key_of(inst: DhcpdInstance) -> aiomapi.Key:
    return inst.key


def client_of(inst: DhcpdInstance) -> aiomapi.Client:
    return aiomapi.Client(inst.host, inst.port, key=key_of(inst), timeout=10, connections=16)


def from_the_files(inst: DhcpdInstance) -> dict[str, Seen]:
    """Every pool address and what dhcpd's lease file says about it, in address order."""
    pool = from_config(load_config(inst.workdir / "dhcpd.conf"))
    records = load_leases(inst.workdir / "dhcpd.leases").leases
    seen: dict[str, Seen] = {}
    for ip in pool:
        record = records.get(ip)
        if record is None:
            seen[str(ip)] = ("free", None, None)  # a pool address dhcpd has not written yet
        else:
            state = record.binding_state
            assert state is not None
            mac = None if record.hardware_address is None else str(record.hardware_address)
            seen[str(ip)] = (state.dhcpd_name, mac, record.client_hostname)
    return seen


def keep(
    seen: dict[str, Seen],
    *,
    states: Iterable[str] | None = None,
    macs: Iterable[str] = (),
    hostname: str | None = None,
) -> list[str]:
    """The addresses a scan with these filters must print, computed without aiomapi.scan."""
    wanted = None if states is None else set(states)
    prefixes = tuple(macs)
    return [
        ip
        for ip, (state, mac, name) in seen.items()
        if (wanted is None or state in wanted)
        and (not prefixes or (mac is not None and mac.startswith(prefixes)))
        and (hostname is None or (name is not None and fnmatch.fnmatch(name.lower(), hostname)))
    ]


async def change_some(inst: DhcpdInstance, release: list[int], abandon: list[int]) -> None:
    async with client_of(inst) as omapi:
        for batch in range(0, len(release), 64):
            await asyncio.gather(
                *(omapi.leases.release(ip=lease_ip(i)) for i in release[batch : batch + 64])
            )
        for batch in range(0, len(abandon), 64):
            await asyncio.gather(
                *(
                    omapi.leases.update(ip=lease_ip(i), state=LeaseState.ABANDONED)
                    for i in abandon[batch : batch + 64]
                )
            )


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aiomapi leases")
    add_scan_parser(parser.add_subparsers(required=True))
    return parser.parse_args(["scan", *argv])


def server_args(inst: DhcpdInstance) -> list[str]:
    return [
        "--server",
        inst.host,
        "--port",
        str(inst.port),
        f"--key={inst.algorithm}:{inst.key_name}:{inst.secret}",
    ]


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str, float]:
    """Run the command; returns its stdout, its stderr and the seconds it took."""
    args = parse(*argv)
    started = time.monotonic()
    async with asyncio.timeout(TEST_TIMEOUT):
        assert await args.command(args) == 0
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    return out, err, elapsed


def jsonl(out: str) -> dict[str, Seen]:
    rows = [json.loads(line) for line in out.splitlines()]
    return {r["ip"]: (r["state"], r["mac"], r["hostname"]) for r in rows}


def counts(err: str) -> tuple[int, int, int, int]:
    """looked up, leases, not in any pool, matched: from the summary line."""
    match = re.search(
        r"scanned ([\d,]+) addresses .*: ([\d,]+) leases.*, ([\d,]+) not in any pool; "
        r"([\d,]+) matched",
        err,
    )
    assert match, err
    a, b, c, d = (int(g.replace(",", "")) for g in match.groups())
    return a, b, c, d


async def scan_ips(inst: DhcpdInstance, addresses: AddressSet, **filters: object) -> list[str]:
    async with client_of(inst) as omapi:
        leases = scan_leases(omapi, addresses, **filters)  # type: ignore[arg-type]
        async with aclosing(leases):
            return [str(lease.ip_address) async for lease in leases]


# ---------------------------------------------------------------- a small lab


async def test_scan_a_small_lab(
    dhcpd_factory: DhcpdFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = dhcpd_factory(n_leases=100)  # leases 10.100.1.0-99, spare 10.100.1.100-115
    await change_some(inst, release=[0, 7, 14, 21, 60], abandon=[3, 30, 90])
    seen = from_the_files(inst)
    assert len(seen) == 116
    assert seen[lease_ip(7)] == ("free", "02:00:00:00:00:07", None)
    assert seen[lease_ip(3)][0] == "abandoned"

    # Everything, as JSON Lines; the block reaches past the pool on both sides.
    out, err, _ = await run(capsys, *server_args(inst), "10.100.0.240/28", "10.100.1.0/25")
    assert jsonl(out) == seen
    assert list(jsonl(out)) == list(seen)  # in address order
    assert counts(err) == (16 + 128, 116, 16 + 12, 116)

    # Filters, each format.
    out, err, _ = await run(
        capsys, *server_args(inst), "10.100.1.0/25", "--state", "free,abandoned", "--format", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["ip"] for r in rows] == keep(seen, states=["free", "abandoned"])
    assert len(rows) == 5 + 3 + 16

    out, _, _ = await run(
        capsys,
        *server_args(inst),
        "10.100.1.0/25",
        "--mac-prefix",
        "02:00:00:00:00",
        "--hostname",
        "HOST1?",
        "--format",
        "table",
    )
    table = [line.split() for line in out.splitlines()[2:]]
    assert [r[0] for r in table] == keep(seen, macs=["02:00:00:00:00"], hostname="host1?")
    assert len(table) == 9  # host10-host19 but 14, released (dhcpd dropped its hostname)

    # The library, paced.
    started = time.monotonic()
    found = await scan_ips(
        inst, AddressSet.parse(["10.100.1.0-10.100.1.149"]), states="active", rate=500
    )
    assert found == keep(seen, states=["active"])
    assert time.monotonic() - started >= 149 / 500


async def test_scan_the_pools_of_the_config(
    dhcpd_factory: DhcpdFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = dhcpd_factory(n_leases=40)
    seen = from_the_files(inst)
    # --config gives the ranges, the port and the key; the lab is not on 127.0.0.1.
    conf = str(inst.workdir / "dhcpd.conf")
    out, err, _ = await run(capsys, "--config", conf, "--server", inst.host, "--json")
    assert jsonl(out) == seen
    assert counts(err) == (56, 56, 0, 56)


# ---------------------------------------------------------------- 50,000 leases


@pytest.mark.slow
async def test_scan_50000_leases(
    tmp_path: Path, lab_port: Callable[[], int], capsys: pytest.CaptureFixture[str]
) -> None:
    n = 50_000
    inst = start_lab(dhcpd_lab.start_single, tmp_path, lab_port(), n)
    try:
        release = list(range(0, n, 97))  # 516 leases
        abandon = [i for i in range(5, n, 101) if i % 97]  # 490
        await change_some(inst, release, abandon)
        seen = from_the_files(inst)
        assert len(seen) == n + 16
        figures: list[str] = []

        # Everything in the /16 around the pool, JSON Lines: 50,016 leases, 15,520 addresses
        # in no pool. Unpaced here (and below): the default rate is tested on its own, and at
        # 2,000/s the three scans would cost CI a minute and a half per event loop.
        out, err, elapsed = await run(
            capsys, *server_args(inst), "10.100.0.0/16", "--rate", "unlimited"
        )
        assert jsonl(out) == seen
        assert counts(err) == (65_536, n + 16, 65_536 - n - 16, n + 16)
        figures.append(f"10.100.0.0/16, no filter: {elapsed:.1f} s ({err.strip()})")

        # The library over the config's pool: free and abandoned leases.
        pool = from_config(load_config(inst.workdir / "dhcpd.conf"))
        stats = ScanStats()
        started = time.monotonic()
        async with client_of(inst) as omapi:
            leases = scan_leases(omapi, pool, states=["free", "abandoned"], stats=stats, rate=None)
            async with aclosing(leases):
                found = [str(lease.ip_address) async for lease in leases]
        elapsed = time.monotonic() - started
        assert found == keep(seen, states=["free", "abandoned"])
        assert len(found) == len(release) + len(abandon) + 16 == 1022
        assert (stats.looked_up, stats.not_found, stats.matched) == (n + 16, 0, len(found))
        figures.append(f"scan_leases, the pool, free and abandoned: {elapsed:.1f} s")

        # The command with --config and every kind of filter, csv.
        macs = ["02:00:00:00:c3", "02:00:00:00:01"]
        out, err, elapsed = await run(
            capsys,
            "--config",
            str(inst.workdir / "dhcpd.conf"),
            "--server",
            inst.host,
            "--state",
            "active",
            "--mac-prefix",
            ",".join(macs),
            "--hostname",
            "HOST4999*",
            "--format",
            "csv",
            "--rate",
            "unlimited",
        )
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [r["ip"] for r in rows] == keep(
            seen, states=["active"], macs=macs, hostname="host4999*"
        )
        assert len(rows) == 10  # host49990-49999 (0xc346-0xc34f); host4999 is 0x1387
        figures.append(f"--config, three filters, csv: {elapsed:.1f} s ({err.strip()})")

        with capsys.disabled():
            print("\n" + "\n".join(figures))
        assert inst.alive()
    finally:
        dhcpd_lab.stop(inst)
