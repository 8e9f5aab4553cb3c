"""The single-server commands: lease, host, failover get/partner-down, shutdown, bench."""

from __future__ import annotations

import argparse
import ipaddress
from typing import TYPE_CHECKING, Any

from . import options
from .output import print_json, print_object

if TYPE_CHECKING:
    from aiomapi.bench.compare import Comparison

HOST_HELP = """\
A host reservation needs a hardware address (--mac) or a client identifier to be created;
without --name dhcpd makes one up. dhcpd finds a host by --ip only through the lease that
has that address (it takes the lease's hardware address and looks the host up by it), so a
host's own fixed address is not found by --ip: look it up by --name or --mac."""


async def lease(args: argparse.Namespace) -> int:
    async with options.client(args) as omapi:
        if args.ip:
            found = await omapi.leases.get(ip=args.ip)
        elif args.mac:
            found = await omapi.leases.get(mac=args.mac)
        else:
            found = await omapi.leases.get(client_id=args.client_id)
    print_object(found, args.json)
    return 0


def _host_lookup(args: argparse.Namespace) -> dict[str, Any]:
    lookup = {k: v for k, v in (("name", args.name), ("mac", args.mac), ("ip", args.ip)) if v}
    if len(lookup) != 1:
        raise ValueError("give exactly one of --name, --mac, --ip to name the host")
    return lookup


async def host(args: argparse.Namespace) -> int:
    async with options.client(args) as omapi:
        hosts = omapi.hosts
        if args.action == "create":
            result: object = await hosts.create(
                name=args.name,
                hardware_address=args.mac,
                ip_address=args.ip,
                statements=args.statements,
                group=args.group,
            )
        elif args.action == "upsert":
            if not args.name:
                raise ValueError("upsert needs --name (and --mac to create the host)")
            result = await hosts.upsert(
                name=args.name,
                hardware_address=args.mac,
                ip_address=args.ip,
                statements=args.statements,
                group=args.group,
            )
        elif args.action == "update":
            lookup = {k: v for k, v in (("name", args.name), ("mac", args.mac)) if v}
            if len(lookup) != 1:
                raise ValueError("update names the host by exactly one of --name, --mac")
            result = await hosts.update(
                ip_address=args.ip, statements=args.statements, group=args.group, **lookup
            )
        elif args.action == "get":
            result = await hosts.get(**_host_lookup(args))
        else:
            lookup = _host_lookup(args)
            await hosts.delete(**lookup)
            if args.json:
                print_json({"deleted": True, **lookup})
            else:
                print("deleted")
            return 0
    print_object(result, args.json)
    return 0


async def failover(args: argparse.Namespace) -> int:
    async with options.client(args) as omapi:
        if args.action == "partner-down":
            await omapi.failover.partner_down(args.peer)
        print_object(await omapi.failover.get(args.peer), args.json)
    return 0


async def shutdown(args: argparse.Namespace) -> int:
    if not args.yes:
        raise ValueError("this stops the DHCP server: add --yes to confirm")
    host, port = options.server_address(args)
    async with options.client(args) as omapi:
        await omapi.control.shutdown()
    if args.json:
        print_json({"shutdown": "requested", "server": f"{host}:{port}"})
    else:
        print("shutdown requested: dhcpd stops listening at once and exits within seconds")
    return 0


BENCH_HELP = """\
Lease lookups/s of aiomapi beside pypureomapi and omshell, where they are installed.

Without --server, aiomapi's in-memory dhcpd (aiomapi.testing.FakeDhcpd) is started with
--leases synthetic leases in a process of its own, so that each client's CPU is its own and
the server's is measured too. Every lease is looked up once, untimed; then come the rows,
--duration seconds each: aiomapi one lookup at a time, with --concurrency awaiters on
--connections connections, and get_many (no rate limit); then pypureomapi (sequential)
and omshell (one scripted session), each in its own process. Each row's rate is divided
by each peer's (x pypureomapi, x omshell). The embedded server is not ISC dhcpd: its CPU
figures say nothing about dhcpd's (python -m benchmarks.run measures the real one).

With --server (or --config), the same rows run against that server: the peers too, with
the same key (pypureomapi only with HMAC-MD5); --peers none leaves them out. It looks up
--leases addresses from --first-ip, at full speed: not against a busy production dhcpd.

Exit status 0 when every aiomapi lookup succeeded (a wrong hostname counts as a failure),
1 otherwise; a missing or failing peer is reported, not an error."""


#: Cores the rest of the machine may use during a row before the output says so.
BUSY_MACHINE = 0.3


async def bench(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from aiomapi.bench import compare, embedded, peers, report
    from aiomapi.bench.lookups import ip_range

    wanted = [p.strip() for p in args.peers.split(",") if p.strip() and p.strip() != "none"]
    unknown = sorted(set(wanted) - set(peers.PEERS))
    if unknown:
        raise ValueError(f"unknown peer {', '.join(unknown)}: choose from {', '.join(peers.PEERS)}")
    if args.duration <= 0 or args.leases < 1:
        raise ValueError("--duration and --leases must be positive")
    progress = report.console_progress()
    settings = {
        "duration": args.duration,
        "concurrency": args.concurrency,
        "connections": args.connections,
        "peers": wanted,
        "progress": progress,
        "timeout": args.timeout,
    }
    if args.server is None and args.config is None:
        server = await asyncio.to_thread(embedded.start, args.leases)
        try:
            about = {
                "kind": "embedded",
                "description": "aiomapi's in-memory dhcpd (aiomapi.testing.FakeDhcpd), "
                "in a process of its own; not ISC dhcpd",
                "host": server.target.host,
                "port": server.target.port,
                "pid": server.pid,
                "own_process": server.pid != os.getpid(),
                "leases": args.leases,
                "algorithm": server.algorithm,
            }
            result = await compare.compare(server.target, server=about, **settings)
        finally:
            await asyncio.to_thread(server.stop)
    else:
        host, port = options.server_address(args)
        key = options.key(args)
        target = embedded.Target(
            host, port, key, ip_range(args.first_ip, args.leases), None, args.server_pid
        )
        about = {
            "kind": "server",
            "description": f"the OMAPI server at {host}:{port}",
            "host": host,
            "port": port,
            "pid": args.server_pid,
            "own_process": True,
            "leases": args.leases,
            "first_ip": str(ipaddress.IPv4Address(args.first_ip)),
            "algorithm": key.algorithm if key is not None else None,
        }
        result = await compare.compare(target, server=about, **settings)
    if args.json:
        print_json(result.as_dict())
    else:
        print(_bench_text(result))
    return 0 if result.ok else 1


def _bench_text(result: Comparison) -> str:
    server = result.server
    if server["kind"] == "embedded":
        where = f"aiomapi's in-memory dhcpd in a process of its own (pid {server['pid']})"
    else:
        pid = f"pid {server['pid']}" if server.get("pid") else "pid not given: no server CPU"
        where = f"{server['host']}:{server['port']} ({pid})"
    lines = [
        f"server: {where}, {server['leases']:,} leases, key {server['algorithm'] or 'none'}; "
        f"this process: pid {result.bench_pid}",
        f"codec: {result.codec}; event loop: {result.loop}; {result.duration:g} s per row; "
        "µs: CPU microseconds per lookup "
        "(in kernel: the client's share of it spent in system calls and the network stack)",
        "",
        result.table(),
        "",
    ]
    for peer, why in result.skipped.items():
        lines.append(f"{peer}: not run: {why}")
    other = result.other_busy
    if other is not None and other > BUSY_MACHINE:
        lines.append(
            f"Other processes used up to {other:.1f} cores during a row: the rates are lower "
            "than on a quiet machine (the CPU per lookup less so)."
        )
    if server["kind"] == "embedded":
        lines.append(
            "The in-memory server is not ISC dhcpd: its CPU says nothing about dhcpd's "
            "(python -m benchmarks.run measures the real one)."
        )
    return "\n".join(lines)
