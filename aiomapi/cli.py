"""The ``aiomapi`` command line, built only on the public API.

``aiomapi bench`` with no arguments measures lease lookups against the embedded in-memory
server; with ``--server`` it measures a real dhcpd. The other commands are what an operator
reaches for: look up a lease or a host, add or remove a reservation, read a failover peer's
state or move it to partner-down, shut the server down.

What the command prints never holds a key given to it. The library's messages hold none
(see :mod:`aiomapi._sansio.auth`); on top of that, every error line is scrubbed of the parts of
``--key`` (or ``AIOMAPI_KEY``), ``--key-name`` and the name and secret of the key read from
``--key-file``, and argparse's own errors are scrubbed of every argument value, since a
stray space in a key spec turns its parts into unrecognised arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import enum
import ipaddress
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Coroutine, Iterable, Sequence
from datetime import datetime
from typing import Any, NoReturn

from aiomapi import Client, Key, OmapiError
from aiomapi._sansio.auth import normalise_algorithm
from aiomapi.client import DEFAULT_PORT

from .failover.cli import add_who_serves_parser
from .failover.cli_diff import add_diff_parser, add_release_parsers

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aiomapi`` command."""
    args = build_parser().parse_args(argv)
    command: Command = args.command
    # The library's warnings would go to stderr through logging's last-resort handler;
    # this one prints them the same way, scrubbed.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("aiomapi: %(message)s"))
    handler.addFilter(_Scrub(args))
    logger = logging.getLogger("aiomapi")
    logger.addHandler(handler)
    try:
        return asyncio.run(command(args))
    except OmapiError as exc:
        _error(f"{type(exc).__name__}: {exc}", args)
        return 1
    except (OSError, ValueError) as exc:
        _error(str(exc), args)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        logger.removeHandler(handler)


def _error(message: str, args: argparse.Namespace) -> None:
    print(f"aiomapi: {_hide(message, _key_material(args))}", file=sys.stderr)


class _Scrub(logging.Filter):
    """Hides the key options in a log record, its traceback included."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self._args = args

    def filter(self, record: logging.LogRecord) -> bool:
        words = _key_material(self._args)
        record.msg, record.args = _hide(record.getMessage(), words), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _hide(record.exc_text, words)
        if record.stack_info:
            record.stack_info = _hide(record.stack_info, words)
        return True


def _key_material(args: argparse.Namespace) -> list[str]:
    """Every string of the key options that a message must not show."""
    words: list[str] = []
    for given in (args.key, args.key_name):
        if given:
            words += [given, *(part for part in given.split(":") if not _is_algorithm(part))]
    key: Key | None = getattr(args, "loaded_key", None)
    if key is not None:
        words += [key.name, key.secret]
    return words


def _is_algorithm(text: str) -> bool:
    try:
        normalise_algorithm(text)
    except ValueError:
        return False
    return True


# Shorter strings are hidden only where they stand alone, so that hiding a key named "k"
# does not mangle every word with a k in it; longer ones wherever they occur.
_WHOLE_WORD_BELOW = 8
_HIDDEN = "<hidden>"


def _hide(text: str, words: Iterable[str]) -> str:
    """``text`` with each of ``words`` (and its repr-escaped form) replaced by ``<hidden>``."""
    forms = {form for word in words if word for form in (word, repr(word)[1:-1]) if form}
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= _WHOLE_WORD_BELOW:
            text = text.replace(form, _HIDDEN)
        else:
            text = re.sub(rf"(?<![\w+/=]){re.escape(form)}(?![\w+/=])", _HIDDEN, text)
    return text


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose error messages show no argument values.

    argparse quotes what it could not use (``unrecognized arguments: …``, ``invalid choice:
    '…'``), and with ``--key hmac-md5 SECRET name`` that is the secret. Every token of the
    command line but option names is hidden; the parsers of one command line share the
    list of tokens, which the top-level parser fills.
    """

    def __init__(self, *args: Any, argv: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._top = argv is None
        self.argv: list[str] = [] if argv is None else argv

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._top:
            self.argv[:] = sys.argv[1:] if args is None else args
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        values: list[str] = []
        for token in self.argv:
            if not token.startswith("-"):
                values.append(token)
            elif "=" in token:
                values.append(token.partition("=")[2])
        super().error(_hide(message, values))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aiomapi", description="Talk to ISC dhcpd over OMAPI (asyncio).")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    bench = sub.add_parser(
        "bench",
        help="measure lease lookups (embedded server unless --server is given)",
        description="Measure lease lookups/s. Without --server, an in-memory OMAPI server "
        "with synthetic leases is started in this process.",
        argv=parser.argv,
    )
    _connection_options(bench, required=False)
    bench.add_argument("--leases", type=int, default=10_000, help="leases to look up among")
    bench.add_argument("--concurrency", type=int, default=64, help="concurrent awaiters")
    bench.add_argument(
        "--connections",
        type=int,
        default=16,  # aiomapi.bench.lookups.BENCH_CONNECTIONS, not imported up front
        help="pool size (lease lookups go one at a time per connection)",
    )
    bench.add_argument("--duration", type=float, default=5.0, help="seconds to run")
    bench.add_argument("--first-ip", default="10.100.1.0", help="IP of lease 0 (real server)")
    bench.set_defaults(command=_bench)

    lease = sub.add_parser(
        "lease", help="look up a lease by IP, MAC or client id", argv=parser.argv
    )
    _connection_options(lease)
    group = lease.add_mutually_exclusive_group(required=True)
    group.add_argument("--ip")
    group.add_argument("--mac")
    group.add_argument("--client-id")
    lease.set_defaults(command=_lease)

    host = sub.add_parser(
        "host", help="look up, create or delete a host reservation", argv=parser.argv
    )
    _connection_options(host)
    host.add_argument("action", choices=["get", "create", "delete"])
    host.add_argument("--name")
    host.add_argument("--mac")
    host.add_argument("--ip")
    host.add_argument("--statements")
    host.set_defaults(command=_host)

    failover = sub.add_parser(
        "failover",
        help="failover peers: state, partner-down, which peer serves a client",
        argv=parser.argv,
    )
    failover_sub = failover.add_subparsers(dest="failover_command", required=True)
    for action, text in (
        ("get", "read a failover peer's state"),
        ("partner-down", "put a failover peer in partner-down"),
    ):
        peer_command = failover_sub.add_parser(action, help=text, argv=parser.argv)
        _connection_options(peer_command)
        peer_command.add_argument("peer", help="the failover peer's name")
        peer_command.set_defaults(command=_failover, action=action)
    add_who_serves_parser(failover_sub, argv=parser.argv)
    add_diff_parser(failover_sub, argv=parser.argv)

    leases = sub.add_parser(
        "leases", help="many leases at once: release, expire", argv=parser.argv
    )
    add_release_parsers(
        leases.add_subparsers(dest="leases_command", required=True), argv=parser.argv
    )

    shutdown = sub.add_parser(
        "shutdown", help="ask dhcpd to shut down (control state 2)", argv=parser.argv
    )
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
    key: Key | None = None
    if args.key_file:
        key = Key.from_dhcpd_conf(args.key_file, args.key_name)
    elif args.key:
        key = Key.from_spec(args.key)
    # Kept so that error messages can be scrubbed of it (_key_material).
    args.loaded_key = key
    return key


def _client(args: argparse.Namespace) -> Client:
    return Client(args.server, args.port, key=_key(args), timeout=args.timeout)


# ---------------------------------------------------------------- commands


async def _bench(args: argparse.Namespace) -> int:
    from aiomapi.bench import lookups as benchmark

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
