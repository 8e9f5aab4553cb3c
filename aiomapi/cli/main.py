"""``aiomapi``: the parser, and the one place where outcomes become exit codes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from aiomapi.config.cli_check import add_check_parser
from aiomapi.config.options import KEY_ORDER
from aiomapi.failover.cli import add_who_serves_parser
from aiomapi.failover.cli_diff import add_diff_parser, add_release_parsers
from aiomapi.failover.cli_pair import add_pair_parsers
from aiomapi.monitor.cli import add_exporter_parser, add_pools_parser
from aiomapi.scan_cli import add_scan_parser
from aiomapi.shell.cli import add_shell_parser

from . import commands
from .completion import add_completion_parser
from .exits import TABLE, Exit, error_json, error_line, exit_code
from .options import connection_options
from .scrub import ScrubbingFilter, ScrubbingParser, hide, key_material

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aiomapi`` command; returns the exit code (see ``--help``)."""
    args = build_parser().parse_args(argv)
    command: Command = args.command
    logger = logging.getLogger("aiomapi")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("aiomapi: %(levelname)s: %(message)s"))
    handler.addFilter(ScrubbingFilter(args))
    # The library is silent unless asked: -v shows its warnings and progress, -vv debug.
    verbosity = getattr(args, "verbose", 0) or 0
    level = {0: logging.CRITICAL + 1, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    saved_level, saved_propagate = logger.level, logger.propagate
    logger.setLevel(level)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
            return int(runner.run(command(args)))
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except Exception as exc:  # every outcome has its exit code
        return _report(exc, args)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)
        logger.propagate = saved_propagate


#: ``--loop``'s choices: asyncio's own event loop, or uvloop (installed separately).
LOOPS = ("asyncio", "uvloop")


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop ``--loop`` names (None: asyncio's own).

    Raises:
        ValueError: uvloop was asked for and is not installed.
    """
    if name != "uvloop":
        return None
    try:
        import uvloop
    except ImportError as exc:
        raise ValueError(
            f"--loop uvloop: uvloop is not installed ({exc}); pip install uvloop"
        ) from None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _report(exc: BaseException, args: argparse.Namespace) -> int:
    code = exit_code(exc)
    if code is Exit.USAGE and not isinstance(exc, OSError | ValueError):
        raise exc  # a bug, not an outcome: show the traceback
    if getattr(args, "judging", False):
        # A command with the plugin's exit codes that could not judge: UNKNOWN, bad
        # options included (the plugin convention; argparse's own errors stay 64).
        code = Exit.UNKNOWN
    words = key_material(args)
    try:
        if getattr(args, "json", False) or getattr(args, "format", None) in ("json", "jsonl"):
            data = {
                k: hide(v, words) if isinstance(v, str) else v for k, v in error_json(exc).items()
            }
            data["exit"] = int(code)
            print(json.dumps(data, indent=2))
        else:
            print(f"aiomapi: {hide(error_line(exc), words)}", file=sys.stderr)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    return int(code)


def _quiet_broken_pipe() -> int:
    """The reader went away (``| head``): stop quietly, as other Unix tools do."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return Exit.BROKEN_PIPE


def _version() -> str:
    try:
        return importlib.metadata.version("aiomapi")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = ScrubbingParser(
        prog="aiomapi",
        description="Talk to ISC dhcpd over OMAPI (asyncio).",
        epilog=f"{TABLE}\n\n{KEY_ORDER}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"aiomapi {_version()}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="show the library's log (-vv: debug)"
    )
    parser.add_argument(
        "--loop",
        choices=LOOPS,
        default="asyncio",
        metavar="LOOP",
        help="the event loop: asyncio (its own, the default) or uvloop, where installed "
        "(less CPU per lookup: docs/benchmarks.md)",
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    argv = parser.argv

    bench = sub.add_parser(
        "bench",
        help="lease lookups/s: aiomapi beside pypureomapi and omshell (embedded server)",
        description=commands.BENCH_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argv=argv,
    )
    connection_options(bench, required=False)
    bench.add_argument(
        "--leases", type=int, default=10_000, help="leases to look up among (default 10,000)"
    )
    bench.add_argument(
        "--duration",
        type=float,
        default=4.0,
        help="seconds per row (default 4: about 25 s in all; longer rows are steadier)",
    )
    bench.add_argument(
        "--concurrency", type=int, default=64, help="awaiters of the concurrent rows (64)"
    )
    bench.add_argument(
        "--connections",
        type=int,
        default=16,  # aiomapi.bench.lookups.BENCH_CONNECTIONS, not imported up front
        help="pool size of the concurrent rows (lease lookups go one at a time per connection)",
    )
    bench.add_argument(
        "--peers",
        default="pypureomapi,omshell",
        metavar="NAMES",
        help="peers to compare with, comma-separated, or 'none' (default: pypureomapi,omshell)",
    )
    bench.add_argument("--first-ip", default="10.100.1.0", help="IP of lease 0 (with --server)")
    bench.add_argument(
        "--server-pid",
        type=int,
        metavar="PID",
        help="with --server: the pid of that dhcpd, if it runs here, to measure its CPU",
    )
    bench.set_defaults(command=commands.bench)

    lease = sub.add_parser("lease", help="look up a lease by IP, MAC or client id", argv=argv)
    connection_options(lease)
    group = lease.add_mutually_exclusive_group(required=True)
    group.add_argument("--ip")
    group.add_argument("--mac")
    group.add_argument("--client-id")
    lease.set_defaults(command=commands.lease)

    host = sub.add_parser(
        "host",
        help="host reservations: get, create, update, upsert, delete",
        description=commands.HOST_HELP,
        argv=argv,
    )
    connection_options(host)
    host.add_argument("action", choices=["get", "create", "update", "upsert", "delete"])
    host.add_argument("--name")
    host.add_argument("--mac")
    host.add_argument("--ip", help="fixed address(es) to set; as a lookup: see above")
    host.add_argument("--statements", help="dhcpd.conf statements for the host")
    host.add_argument("--group", help="the name of an existing group")
    host.set_defaults(command=commands.host)

    failover = sub.add_parser(
        "failover",
        help="failover peers: state, partner-down, which peer serves a client, diff",
        argv=argv,
    )
    failover_sub = failover.add_subparsers(dest="failover_command", required=True)
    peer_command = failover_sub.add_parser(
        "get", help="read one server's failover-state object", argv=argv
    )
    connection_options(peer_command)
    peer_command.add_argument("peer", help="the failover peer's name")
    peer_command.set_defaults(command=commands.failover, action="get")
    add_pair_parsers(failover_sub, argv=argv)  # status, resync, partner-down, hosts
    add_who_serves_parser(failover_sub, argv=argv)
    add_diff_parser(failover_sub, argv=argv)

    leases = sub.add_parser("leases", help="many leases at once: scan, release, expire", argv=argv)
    leases_sub = leases.add_subparsers(dest="leases_command", required=True)
    add_scan_parser(leases_sub, argv=argv)
    add_release_parsers(leases_sub, argv=argv)

    config = sub.add_parser("config", help="dhcpd.conf: check it before dhcpd does", argv=argv)
    add_check_parser(config.add_subparsers(dest="config_command", required=True), argv=argv)

    add_shell_parser(sub, argv=argv)
    add_exporter_parser(sub, argv=argv)
    add_pools_parser(sub, argv=argv)

    shutdown = sub.add_parser(
        "shutdown", help="ask dhcpd to shut down (control state 2)", argv=argv
    )
    connection_options(shutdown)
    shutdown.add_argument("--yes", action="store_true", help="really shut the server down")
    shutdown.set_defaults(command=commands.shutdown)

    add_completion_parser(sub, argv=argv)
    return parser
