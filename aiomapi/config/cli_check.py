"""``aiomapi config check FILE``: the configuration checker on the command line.

To be wired into the ``aiomapi`` command by :func:`add_check_parser`, which adds the ``check``
sub-command to an argparse sub-parser group and sets ``command`` to the coroutine function
:func:`check_command` (the convention of the ``aiomapi`` entry point). The key options and
their order are every command's (:mod:`aiomapi.config.options`; FILE is the configuration
whose omapi-key comes last), so the entry point's scrubbing of key material applies.

Exit status: 0 clean (notes only), 1 warnings, 2 errors (the monitoring plugin convention).
A server that cannot be reached with ``--live`` is an exception, which the entry point turns
into its own exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from typing import Any

from aiomapi import DEFAULT_PORT, Client

from . import ConfigError, load_config
from .check import check_config
from .options import LOCAL_HOST, add_key_options, load_key

__all__ = ["add_check_parser", "check_command"]

#: Where ``--live`` looks for the server when neither ``--server`` nor AIOMAPI_HOST says: a
#: configuration file usually sits on the server it configures.
LOCAL_SERVER = LOCAL_HOST


def add_check_parser(
    subparsers: Any, name: str = "check", **parser_kwargs: Any
) -> argparse.ArgumentParser:
    """Add the ``check`` command to ``subparsers`` (from ``add_subparsers()``).

    ``parser_kwargs`` go to ``subparsers.add_parser`` (e.g. the ``argv=`` that the entry
    point's scrubbing parser takes).
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="check a dhcpd.conf: characters, failover peers, the pair, the running server",
        description="Report what dhcpd will refuse or do differently from what the file "
        "says: characters it cannot read, failover peer settings and the values dhcpd uses "
        "for those left out, pools outside failover; with --peer-config the pair as a whole; "
        "with --live the running server against the file. Where dhcpd is installed, "
        "'dhcpd -t' is run on each file too. Exit status: 0 clean, 1 warnings, 2 errors.",
        **parser_kwargs,
    )
    parser.add_argument("file", help="the dhcpd.conf to check")
    parser.add_argument("--peer-config", metavar="FILE", help="the failover partner's dhcpd.conf")
    parser.add_argument(
        "--live",
        action="store_true",
        help="compare with the running server (its omapi-port and omapi-key from FILE, "
        f"at {LOCAL_SERVER}, unless the options below say otherwise)",
    )
    parser.add_argument(
        "--server",
        default=os.environ.get("AIOMAPI_HOST"),
        help=f"with --live: the server's address (env AIOMAPI_HOST; default {LOCAL_SERVER})",
    )
    parser.add_argument(
        "--port", type=int, help="with --live: its OMAPI port (default: FILE's omapi-port)"
    )
    add_key_options(parser, servers="--live (default: FILE's omapi-key)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    dhcpd = parser.add_mutually_exclusive_group()
    dhcpd.add_argument("--dhcpd", metavar="PATH", help="the dhcpd to run 'dhcpd -t' with")
    dhcpd.add_argument(
        "--no-dhcpd", action="store_true", help="do not run 'dhcpd -t' even if installed"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(command=check_command)
    return parser


async def check_command(args: argparse.Namespace) -> int:
    """Run ``config check`` for parsed ``args``; prints the report, returns its exit code.

    Raises:
        OSError: a file cannot be read, or (``--live``) the server cannot be reached.
        ValueError: ``--live`` without a port to reach, or a key option that does not read.
        OmapiError: (``--live``) the server refuses the client.
    """
    dhcpd: str | bool = False if args.no_dhcpd else (args.dhcpd or True)
    async with contextlib.AsyncExitStack() as stack:
        client = None
        if args.live:
            client = await stack.enter_async_context(_client(args))
            # Ask the server once even if the file declares no failover peer (nothing else
            # to compare), so that a server that cannot be read is never reported clean.
            await client.control.get()
        report = await check_config(
            args.file, peer_config=args.peer_config, live_client=client, dhcpd=dhcpd
        )
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(report.format())
    return report.exit_code


def _client(args: argparse.Namespace) -> Client:
    """The client ``--live`` uses: the options first, then FILE's omapi-port and omapi-key."""
    port = args.port
    try:
        config = load_config(args.file)
    except ConfigError:
        config = None
    # A file that does not read as a whole may still have a key stanza that reads.
    key = load_key(args, config if config is not None else args.file, config_name=args.file)
    if port is None:
        if config is None:
            raise ValueError(f"--live: {args.file} does not read as a whole: give --port")
        if config.omapi_port is None:
            raise ValueError(
                f"--live: {args.file} has no omapi-port, so its dhcpd serves no OMAPI "
                f"(give --port if it does; the default is {DEFAULT_PORT})"
            )
        port = config.omapi_port
    return Client(args.server or LOCAL_SERVER, port, key=key, timeout=args.timeout)
