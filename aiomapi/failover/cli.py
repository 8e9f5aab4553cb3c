"""``aiomapi failover who-serves``: which peer of a live pair answers a client, explained.

To be wired into the ``aiomapi`` command by :func:`add_who_serves_parser`, which adds the
``who-serves`` sub-command to an argparse sub-parser group and sets ``command`` to the
coroutine function :func:`who_serves_command` (the convention of :mod:`aiomapi.cli`). The
key options and their order are every command's (:mod:`aiomapi.config.options`), so the
entry point's scrubbing of key material from error messages applies unchanged.
:func:`run_who_serves` runs the command on its own.

Output: the bucket, where it sits in the HBA, the peer the HBA gives it to, who serves,
and the reasons. ``--json`` prints one object whose ``bucket`` (0-255) and ``serving``
(``primary``, ``secondary``, ``both`` or ``none``) keys are a stable contract.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from typing import Any

from aiomapi import DEFAULT_PORT, Client
from aiomapi.config.options import add_key_options, env_port, load_key

from .explain import explain_who_serves
from .loadbalance import Decision

__all__ = ["add_who_serves_parser", "decision_json", "run_who_serves", "who_serves_command"]


def add_who_serves_parser(
    subparsers: Any, name: str = "who-serves", **parser_kwargs: Any
) -> argparse.ArgumentParser:
    """Add the ``who-serves`` command to ``subparsers`` (from ``add_subparsers()``).

    ``parser_kwargs`` go to ``subparsers.add_parser`` (e.g. the ``argv=`` that
    :mod:`aiomapi.cli`'s scrubbing parser takes).
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="which peer of a failover pair answers a client, and why",
        description="Read the hash bucket assignment, load balance max seconds and states "
        "from the live pair and tell which peer answers the client's DHCPDISCOVER.",
        **parser_kwargs,
    )
    env_host = os.environ.get("AIOMAPI_HOST")
    parser.add_argument(
        "--server",
        default=env_host,
        required=env_host is None,
        help="one server of the pair, normally the primary (env AIOMAPI_HOST)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=env_port(DEFAULT_PORT),
        help=f"its OMAPI port (env AIOMAPI_PORT; default {DEFAULT_PORT})",
    )
    parser.add_argument("--partner-server", help="the other server of the pair (optional)")
    parser.add_argument("--partner-port", type=int, help="its OMAPI port (default: --port)")
    add_key_options(parser, servers="both servers")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    env_peer = os.environ.get("AIOMAPI_PEER")
    parser.add_argument(
        "--peer",
        default=env_peer,
        required=env_peer is None,
        help='the failover peer name (`failover peer "NAME"`; env AIOMAPI_PEER)',
    )
    client = parser.add_mutually_exclusive_group(required=True)
    client.add_argument("--mac", help="the client's hardware address")
    client.add_argument(
        "--client-id", help="its client identifier, whole (type byte first): hex octets or text"
    )
    parser.add_argument(
        "--secs", type=int, default=0, help="the secs field of its message (default 0)"
    )
    parser.add_argument(
        "--message",
        choices=["DHCPDISCOVER", "BOOTP", "DHCPREQUEST"],
        default="DHCPDISCOVER",
        help="the client's message (only DHCPDISCOVER and BOOTP are load-balanced)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(command=who_serves_command)
    return parser


async def who_serves_command(args: argparse.Namespace) -> int:
    """Run ``who-serves`` for parsed ``args``; prints the answer and returns 0.

    Raises:
        OmapiError, OSError, ValueError: as :func:`explain_who_serves` and the clients
            raise them (the ``aiomapi`` entry point turns them into exit codes).
    """
    if not 0 <= args.secs <= 0xFFFF:
        raise ValueError("--secs is a 16-bit field: 0..65535")
    key = load_key(args)
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(
            Client(args.server, args.port, key=key, timeout=args.timeout)
        )
        second = None
        if args.partner_server:
            port = args.port if args.partner_port is None else args.partner_port
            second = await stack.enter_async_context(
                Client(args.partner_server, port, key=key, timeout=args.timeout)
            )
        decision = await explain_who_serves(
            first,
            second,
            args.peer,
            mac=args.mac,
            client_id=args.client_id,
            secs=args.secs,
            message_type=args.message,
        )
    if args.json:
        print(json.dumps(decision_json(decision), indent=2))
    else:
        print(_text(decision))
    return 0


def run_who_serves(args: argparse.Namespace) -> int:
    """Run ``who-serves`` for parsed ``args`` in a new event loop; returns the exit code."""
    return asyncio.run(who_serves_command(args))


def decision_json(decision: Decision) -> dict[str, object]:
    """The ``--json`` object: ``bucket`` and ``serving`` first, then the details."""
    return {
        "bucket": decision.bucket,
        "serving": decision.serving,
        "bucket_owner": decision.bucket_owner,
        "hba_byte": decision.hba_byte,
        "hba_bit": decision.hba_bit,
        "key": decision.key.hex(":"),
        "key_source": decision.key_source,
        "reasons": list(decision.reasons),
    }


def _text(decision: Decision) -> str:
    owner = f"the {decision.bucket_owner}'s" if decision.bucket_owner else "no HBA"
    lines = [
        f"bucket {decision.bucket} (HBA byte {decision.hba_byte}, bit {decision.hba_bit}): {owner}",
        f"serving: {decision.serving}",
        *(f"  - {reason}" for reason in decision.reasons),
    ]
    return "\n".join(lines)
