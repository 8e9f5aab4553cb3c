"""The single-server commands: lease, host, failover get/partner-down, shutdown, bench."""

from __future__ import annotations

import argparse
import ipaddress
from typing import Any

from . import options
from .output import print_json, print_object

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


async def bench(args: argparse.Namespace) -> int:
    from aiomapi.bench import lookups as benchmark

    progress = benchmark.console_progress()
    if args.server is None and args.config is None:
        stats = await benchmark.bench_embedded(
            n_leases=args.leases,
            concurrency=args.concurrency,
            connections=args.connections,
            duration=args.duration,
            progress=progress,
        )
    else:
        host, port = options.server_address(args)
        stats = await benchmark.bench_server(
            host,
            port,
            options.key(args),
            n_leases=args.leases,
            first_ip=ipaddress.IPv4Address(args.first_ip),
            concurrency=args.concurrency,
            connections=args.connections,
            duration=args.duration,
            progress=progress,
        )
    if args.json:
        print_json(stats.as_dict())
    else:
        print(stats.summary())
    return 0 if stats.lookups and not stats.errors else 1
