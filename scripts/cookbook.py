#!/usr/bin/env python3
"""Run the commands of docs/failover.md against a real dhcpd pair and print what they print.

Starts a failover pair with the lab (aiomapi.testing.dhcpd_lab: network namespaces, needs
root and isc-dhcp-server), runs each command of the cookbook in this process, prints the
command line and its output, and stops the pair. Paste the output into docs/failover.md
to keep it true. About 40 s.

    sudo python scripts/cookbook.py [--first-port 26650] [--mclt 5] [--max-response-delay 5]

The commands run through the same argparse sub-commands ``aiomapi failover`` is wired
with (aiomapi.failover.cli_pair and aiomapi.failover.cli); the lab's dhcpd.conf path is
shown as /etc/dhcp/dhcpd.conf.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Sequence

from aiomapi.failover.cli import add_who_serves_parser
from aiomapi.failover.cli_pair import add_pair_parsers
from aiomapi.failover.connect import pair_from_options
from aiomapi.failover.pair import Verdict
from aiomapi.testing import dhcpd_lab

SHOWN_CONF = "/etc/dhcp/dhcpd.conf"


def failover_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aiomapi failover")
    sub = parser.add_subparsers(required=True)
    add_pair_parsers(sub)
    add_who_serves_parser(sub)
    return parser


class Book:
    def __init__(self, pair: dhcpd_lab.FailoverPair) -> None:
        self.pair = pair
        self.conf = str(pair.primary.workdir / "dhcpd.conf")
        p, s = pair.primary, pair.secondary
        self.where = [
            f"--config={self.conf}",
            f"--primary={p.host}:{p.port}",
            f"--secondary={s.host}:{s.port}",
        ]

    async def run(self, *argv: str, where: bool = True) -> int:
        """Run ``aiomapi failover ARGV`` and print it as a shell session would."""
        full = [*argv, *(self.where if where else [])]
        shown = " ".join(shlex.quote(a).replace(self.conf, SHOWN_CONF) for a in full)
        print(f"$ aiomapi failover {shown}")
        args = failover_parser().parse_args(full)
        both = io.StringIO()  # stdout and stderr in the order they were written
        with contextlib.redirect_stdout(both), contextlib.redirect_stderr(both):
            code = int(await args.command(args))
        text = both.getvalue().replace(self.conf, SHOWN_CONF)
        if text:
            print(text, end="" if text.endswith("\n") else "\n")
        print(f"$ echo $?\n{code}\n")
        return code

    async def wait(self, verdict: Verdict, timeout: float = 60) -> None:
        args = failover_parser().parse_args(["status", *self.where])
        async with pair_from_options(args) as fp:
            deadline = time.monotonic() + timeout
            while (await fp.status()).verdict is not verdict:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no {verdict} within {timeout} s")
                await asyncio.sleep(0.2)


def section(title: str) -> None:
    print(f"\n## {title}\n")


async def cookbook(pair: dhcpd_lab.FailoverPair) -> None:
    book = Book(pair)
    section("status of a healthy pair")
    await book.run("status")
    await book.run("status", "--json")

    section("which server answers a client")
    p, s = pair.primary, pair.secondary
    for mac in ("02:00:00:00:00:01", "02:00:00:00:00:02"):
        await book.run(
            "who-serves",
            f"--server={p.host}",
            f"--port={p.port}",
            f"--partner-server={s.host}",
            f"--partner-port={s.port}",
            f"--key-file={book.conf}",
            "--peer=lab",
            f"--mac={mac}",
            where=False,
        )

    section("a host reservation on both servers")
    await book.run(
        "hosts", "create", "--name=printer-1", "--mac=02:aa:00:00:00:01", "--ip=10.100.3.1"
    )
    await book.run("hosts", "delete", "--name=printer-1")

    section("partner-down is refused while the servers talk")
    await book.run("partner-down", "--peer-side=primary")

    section("the peer link cut")
    pair.cut()
    try:
        await book.wait(Verdict.DEGRADED, 30)
        await asyncio.sleep(1)
        await book.run("status")
        await book.run("partner-down", "--peer-side=primary")
    finally:
        pair.heal()
    await book.wait(Verdict.HEALTHY, 60)

    section("resync the secondary")
    await book.run("resync")
    await book.run("resync", "--yes")

    section("the secondary stopped (SIGTERM)")
    await asyncio.to_thread(pair.kill_secondary, signal.SIGTERM)
    await book.run("status")
    await book.run("partner-down")
    await book.run("status")
    await asyncio.to_thread(pair.start_secondary)
    await book.wait(Verdict.HEALTHY, 120)
    await book.run("status")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first-port", type=int, default=26650)
    parser.add_argument("--mclt", type=int, default=5)
    parser.add_argument("--max-response-delay", type=int, default=5)
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aiomapi-cookbook-") as tmp:
        pair = dhcpd_lab.start_failover(
            tmp,
            opts.first_port,
            opts.first_port + 1,
            20,
            mclt=opts.mclt,
            max_response_delay=opts.max_response_delay,
        )
        try:
            dhcpd_lab.wait_failover_states(pair, "normal", "normal", timeout=60)
            print(
                f"# a lab pair: mclt {opts.mclt} s, max-response-delay "
                f"{opts.max_response_delay} s, split 128, peer name 'lab'"
            )
            asyncio.run(cookbook(pair))
        finally:
            pair.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
