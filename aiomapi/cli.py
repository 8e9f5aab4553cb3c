"""The ``aiomapi`` command line, built only on the public API.

``aiomapi bench`` with no arguments measures lease lookups against the embedded in-memory
server; with ``--server`` it measures a real dhcpd. The other commands are what an operator
reaches for: look up a lease or a host, add or remove a reservation, read a failover peer's
state or move it to partner-down, shut the server down.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import enum
import ipaddress
import json
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any

from . import Client, Key, OmapiError
from .client import DEFAULT_PORT, key_from_spec

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aiomapi`` command."""
    args = build_parser().parse_args(argv)
    command: Command = args.command
    try:
        return asyncio.run(command(args))
    except OmapiError as exc:
        print(f"aiomapi: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"aiomapi: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiomapi", description="Talk to ISC dhcpd over OMAPI (asyncio)."
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    bench = sub.add_parser(
        "bench",
        help="measure lease lookups (embedded server unless --server is given)",
        description="Measure lease lookups/s. Without --server, an in-memory OMAPI server "
        "with synthetic leases is started in this process.",
    )
    _connection_options(bench, required=False)
    bench.add_argument("--leases", type=int, default=10_000, help="leases to look up among")
    bench.add_argument("--concurrency", type=int, default=64, help="concurrent awaiters")
    bench.add_argument("--connections", type=int, default=4, help="pool size")
    bench.add_argument("--duration", type=float, default=5.0, help="seconds to run")
    bench.add_argument("--first-ip", default="10.100.1.0", help="IP of lease 0 (real server)")
    bench.set_defaults(command=_bench)

    lease = sub.add_parser("lease", help="look up a lease by IP, MAC or client id")
    _connection_options(lease)
    group = lease.add_mutually_exclusive_group(required=True)
    group.add_argument("--ip")
    group.add_argument("--mac")
    group.add_argument("--client-id")
    lease.set_defaults(command=_lease)

    host = sub.add_parser("host", help="look up, create or delete a host reservation")
    _connection_options(host)
    host.add_argument("action", choices=["get", "create", "delete"])
    host.add_argument("--name")
    host.add_argument("--mac")
    host.add_argument("--ip")
    host.add_argument("--statements")
    host.set_defaults(command=_host)

    failover = sub.add_parser("failover", help="read a failover peer's state, or partner-down")
    _connection_options(failover)
    failover.add_argument("action", choices=["get", "partner-down"])
    failover.add_argument("peer", help="the failover peer's name")
    failover.set_defaults(command=_failover)

    shutdown = sub.add_parser("shutdown", help="ask dhcpd to shut down (control state 2)")
    _connection_options(shutdown)
    shutdown.add_argument("--yes", action="store_true", help="really shut the server down")
    shutdown.set_defaults(command=_shutdown)
    return parser


def _connection_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    env_host = os.environ.get("AIOMAPI_HOST")
    parser.add_argument(
        "--server",
        default=env_host,
        required=required and env_host is None,
        help="dhcpd's address (env AIOMAPI_HOST)",
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("AIOMAPI_PORT", DEFAULT_PORT))
    )
    parser.add_argument(
        "--key",
        default=os.environ.get("AIOMAPI_KEY"),
        help="NAME:SECRET or ALGORITHM:NAME:SECRET (env AIOMAPI_KEY); visible in ps — "
        "prefer --key-file",
    )
    parser.add_argument("--key-file", help="dhcpd.conf (or a file with a key stanza)")
    parser.add_argument("--key-name", help="which key of --key-file (default: the omapi-key)")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--json", action="store_true", help="print JSON")


def _key(args: argparse.Namespace) -> Key | None:
    if args.key_file:
        return Key.from_dhcpd_conf(args.key_file, args.key_name)
    if args.key:
        return key_from_spec(args.key)
    return None


def _client(args: argparse.Namespace) -> Client:
    return Client(args.server, args.port, key=_key(args), timeout=args.timeout)


# ---------------------------------------------------------------- commands


async def _bench(args: argparse.Namespace) -> int:
    from . import benchmark

    progress = benchmark.console_progress()
    if args.server is None:
        stats = await benchmark.bench_embedded(
            n_leases=args.leases,
            concurrency=args.concurrency,
            connections=args.connections,
            duration=args.duration,
            progress=progress,
        )
    else:
        stats = await benchmark.bench_server(
            args.server,
            args.port,
            _key(args),
            n_leases=args.leases,
            first_ip=ipaddress.IPv4Address(args.first_ip),
            concurrency=args.concurrency,
            connections=args.connections,
            duration=args.duration,
            progress=progress,
        )
    print(stats.summary())
    return 0 if stats.lookups and not stats.errors else 1


async def _lease(args: argparse.Namespace) -> int:
    async with _client(args) as omapi:
        if args.ip:
            lease = await omapi.leases.get(ip=args.ip)
        elif args.mac:
            lease = await omapi.leases.get(mac=args.mac)
        else:
            lease = await omapi.leases.get(client_id=args.client_id)
    _print(lease, args.json)
    return 0


async def _host(args: argparse.Namespace) -> int:
    async with _client(args) as omapi:
        if args.action == "create":
            host = await omapi.hosts.create(
                name=args.name,
                hardware_address=args.mac,
                ip_address=args.ip,
                statements=args.statements,
            )
            _print(host, args.json)
            return 0
        lookup = {k: v for k, v in (("name", args.name), ("mac", args.mac), ("ip", args.ip)) if v}
        if len(lookup) != 1:
            raise ValueError("give exactly one of --name, --mac, --ip")
        if args.action == "get":
            _print(await omapi.hosts.get(**lookup), args.json)
        else:
            await omapi.hosts.delete(**lookup)
            print("deleted")
    return 0


async def _failover(args: argparse.Namespace) -> int:
    async with _client(args) as omapi:
        if args.action == "partner-down":
            await omapi.failover.partner_down(args.peer)
        _print(await omapi.failover.get(args.peer), args.json)
    return 0


async def _shutdown(args: argparse.Namespace) -> int:
    if not args.yes:
        raise ValueError("this stops the DHCP server: add --yes to confirm")
    async with _client(args) as omapi:
        await omapi.control.shutdown()
    print("shutdown requested: dhcpd stops listening at once and exits within seconds")
    return 0


# ---------------------------------------------------------------- output


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        name = getattr(value, "dhcpd_name", None)
        return name if name is not None else str(value.name or value.value).lower()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex(":")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _print(obj: object, as_json: bool) -> None:
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        print(obj)
        return
    fields = {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if as_json:
        print(json.dumps(fields, indent=2, default=str))
        return
    width = max(map(len, fields), default=0)
    for name, value in fields.items():
        if value is not None and value != {} and value != []:
            print(f"{name:<{width}}  {value}")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
