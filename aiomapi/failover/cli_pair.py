"""``aiomapi failover status | resync | partner-down | hosts``: a failover pair as one.

Each ``add_*_parser(subparsers, **parser_kwargs)`` adds one command to an argparse
sub-parser group and sets ``command`` to a coroutine function taking the parsed arguments
and returning the exit code (the convention of :mod:`aiomapi.cli`); ``parser_kwargs`` go to
``subparsers.add_parser``. :func:`add_pair_parsers` adds all four. Where the two servers
are comes from :func:`aiomapi.failover.connect.add_pair_options`.

Exit codes:

* ``status``: 0 healthy, 1 degraded or recovering, 2 partner-down, inconsistent or one
  server unreachable, 3 neither server read or the options do not say where the pair is
  (monitoring-plugin convention: OK, WARNING, CRITICAL, UNKNOWN).
* ``resync``: 0 both in normal again, 14 not within ``--wait`` (dhcpd carries on), 16
  refused by the pair's guards, 64 not confirmed with ``--yes``.
* ``partner-down``: 0 done (or already so), 16 refused by the pair's guards.
* ``hosts``: 0 done on both servers, 1 done on one only (the two now differ); on neither,
  the one error both servers gave is raised (10 not found, 11 refused, 12-14), and 2 when
  they failed differently (each server's error class and text are in the ``--json``
  output).

A guard's refusal (:class:`~aiomapi.failover.pair.RefusedError`) and a pair neither of
whose servers can be read are raised to the entry point, which prints them (JSON with
``--json``) with their exit codes: 16, and 12, 13 or 14 as the first server's error says.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from .connect import add_pair_options, open_pair, pair_from_options
from .pair import (
    SIDES,
    FailoverPair,
    PairHostResult,
    PairStatus,
    PeerStatus,
    RefusedError,
    ResyncStep,
    Side,
    state_name,
)

__all__ = [
    "EXIT_NOT_CONFIRMED",
    "EXIT_REFUSED",
    "EXIT_UNFINISHED",
    "add_hosts_parser",
    "add_pair_parsers",
    "add_partner_down_parser",
    "add_resync_parser",
    "add_status_parser",
    "format_status",
    "hosts_command",
    "partner_down_command",
    "resync_command",
    "status_command",
]


#: A guard refused (partner-down while the servers talk, resync with a server unread).
EXIT_REFUSED = 16  # refused by aiomapi (docs/cli.md)
#: resync without --yes (the plan is printed, nothing is done).
EXIT_NOT_CONFIRMED = 64  # usage
#: resync did not see both servers in normal within --wait.
EXIT_UNFINISHED = 14  # timed out


def add_pair_parsers(subparsers: Any, **parser_kwargs: Any) -> None:
    """Add ``status``, ``resync``, ``partner-down`` and ``hosts`` to ``subparsers``."""
    add_status_parser(subparsers, **parser_kwargs)
    add_resync_parser(subparsers, **parser_kwargs)
    add_partner_down_parser(subparsers, **parser_kwargs)
    add_hosts_parser(subparsers, **parser_kwargs)


# ---------------------------------------------------------------- status


def add_status_parser(
    subparsers: Any, name: str = "status", **parser_kwargs: Any
) -> argparse.ArgumentParser:
    """Add ``status``: both servers' failover states and a verdict."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="both servers' failover states and a verdict (exit codes as monitoring plugins)",
        description="Read the failover state of both servers of a pair at once and judge the "
        "pair: healthy, degraded, recovering, partner-down, inconsistent or unreachable. "
        "Exit code: 0 healthy; 1 degraded or recovering; 2 partner-down, inconsistent or "
        "one server unreachable; 3 neither server read.",
        **parser_kwargs,
    )
    add_pair_options(parser)
    parser.set_defaults(command=status_command, judging=True)
    return parser


async def status_command(args: argparse.Namespace) -> int:
    """Print the pair's status; the exit code is :attr:`PairStatus.exit_code` (3 when the
    options do not locate the pair: ``judging``, the entry point reports the error)."""
    pair = pair_from_options(args)
    async with pair:
        status = await pair.status()
    if args.json:
        print(json.dumps(status.to_json(), indent=2))
    else:
        print(format_status(status))
    return status.exit_code


def format_status(status: PairStatus) -> str:
    """The pair's status as a few lines of text."""
    lines = [f'failover peer "{status.name}": {status.verdict} (exit {status.exit_code})']
    lines += [_side_line(s, status.read_at) for s in (status.primary, status.secondary)]
    lines += [f"  - {reason}" for reason in status.reasons]
    return "\n".join(lines)


def _side_line(s: PeerStatus, now: datetime) -> str:
    head = f"  {s.side:<9} {s.address:<21}"
    if s.peer is None:
        return f"{head} not read: {s.error}"
    seconds = s.seconds_in_state(now)
    since = "" if seconds is None else f" for {seconds:.0f} s"
    share = s.primary_share
    split = "" if share is None else f", primary's share of buckets {share:g}%"
    return (
        f"{head} {state_name(s.local_state)}{since}, sees its partner in "
        f"{state_name(s.partner_state)}; {s.service}; mclt {s.peer.mclt} s, "
        f"max-response-delay {s.peer.max_response_delay} s{split}"
    )


# ---------------------------------------------------------------- resync


def add_resync_parser(
    subparsers: Any, name: str = "resync", **parser_kwargs: Any
) -> argparse.ArgumentParser:
    """Add ``resync``: one server takes every lease from its partner again."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="move one server to recover so that it takes every lease from its partner",
        description="Move one server (default the secondary) to the failover state recover: "
        "it asks its partner for every lease ('update request all'). Meanwhile the partner "
        "sits in partner-down, serving every client alone, and the recovering server "
        "answers no client, for about MCLT. Waits until both are in normal again.",
        **parser_kwargs,
    )
    add_pair_options(parser)
    parser.add_argument(
        "--peer-side",
        choices=SIDES,
        default="secondary",
        help="the server to resynchronise (default: secondary)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="how long to wait for normal/normal (default: 2 x MCLT + 60)",
    )
    parser.add_argument("--yes", action="store_true", help="go ahead (without: only say what)")
    parser.set_defaults(command=resync_command)
    return parser


async def resync_command(args: argparse.Namespace) -> int:
    """Resync one server; see :meth:`FailoverPair.resync`."""
    side: Side = args.peer_side
    other: Side = "primary" if side == "secondary" else "secondary"
    async with open_pair(args) as pair:
        before = await pair.status()
        await _raise_if_unread(pair, before)
        other_peer = before.side(other).peer
        mclt = "?" if other_peer is None else str(other_peer.mclt)
        plan = (
            f"resync: the {side} moves to recover and takes every lease from the {other}. "
            f"Meanwhile the {other} sits in partner-down, serving every client alone, and the "
            f"{side} answers no client, for about MCLT ({mclt} s)."
        )
        out = sys.stderr if args.json else sys.stdout
        print(plan, file=out, flush=True)
        if not args.yes:
            print("aiomapi: add --yes to go ahead", file=sys.stderr)
            return EXIT_NOT_CONFIRMED

        def show(step: ResyncStep) -> None:
            p, pp, s, sp = step.status.states
            print(
                f"  +{step.elapsed:6.2f} s  primary {p} (sees {pp}), secondary {s} (sees {sp})",
                file=out,
                flush=True,
            )

        result = await pair.resync(side, timeout=args.wait, on_step=show)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    if not result.finished:
        print(
            f"aiomapi: not back to normal/normal after {result.elapsed:.1f} s "
            f"({result.final.verdict}); dhcpd carries on by itself",
            file=sys.stderr,
        )
        return EXIT_UNFINISHED
    down = result.other_partner_down
    print(
        f"both in normal after {result.elapsed:.1f} s"
        + ("" if down is None else f"; the {other} was in partner-down for about {down:.1f} s"),
        file=out,
    )
    return 0


# ---------------------------------------------------------------- partner-down


def add_partner_down_parser(
    subparsers: Any, name: str = "partner-down", **parser_kwargs: Any
) -> argparse.ArgumentParser:
    """Add ``partner-down``: declare one server's partner down, refused while they talk."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="declare one server's partner down (refused while the two are in touch)",
        description="Move one server to partner-down: it then serves every client alone. "
        "Refused, unless --force, while that server "
        "is in any state but communications-interrupted or resolution-interrupted, or while "
        "its partner answers OMAPI and still answers DHCP clients.",
        **parser_kwargs,
    )
    add_pair_options(parser)
    parser.add_argument(
        "--peer-side",
        choices=SIDES,
        help="the server that stays up and goes to partner-down (default: the only one that "
        "answers OMAPI)",
    )
    parser.add_argument("--force", action="store_true", help="skip the safety checks")
    parser.set_defaults(command=partner_down_command)
    return parser


async def partner_down_command(args: argparse.Namespace) -> int:
    """Put one server in partner-down; see :meth:`FailoverPair.partner_down`."""
    async with open_pair(args) as pair:
        side: Side | None = args.peer_side
        if side is None:
            status = await pair.status()
            await _raise_if_unread(pair, status)
            up = [s.side for s in (status.primary, status.secondary) if s.reachable]
            if len(up) != 1:
                raise RefusedError(
                    "both servers answer: give --peer-side primary|secondary", status
                )
            side = up[0]
        after = await pair.partner_down(side, force=args.force)
    if args.json:
        print(json.dumps(after.to_json(), indent=2))
    else:
        print(format_status(after))
    return 0


# ---------------------------------------------------------------- hosts


def add_hosts_parser(
    subparsers: Any, name: str = "hosts", **parser_kwargs: Any
) -> argparse.ArgumentParser:
    """Add ``hosts create|upsert|delete``: a host reservation on both servers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="create, upsert or delete a host reservation on both servers",
        description="Failover does not copy host declarations from one server to the other: "
        "this applies one to both and prints what each server did. Exit code: 0 both did it; "
        "1 only one did (the two servers now differ: see the output); when neither did, the "
        "code of the error both gave if it was the same (10 not found, 11 refused, 12 key, "
        "13 connect, 14 timeout), with its JSON error, else 2.",
        **parser_kwargs,
    )
    parser.add_argument("action", choices=["create", "upsert", "delete"])
    add_pair_options(parser)
    parser.add_argument("--name", help="the host's name (needed by create and upsert)")
    parser.add_argument("--mac", help="its hardware address")
    parser.add_argument(
        "--ip", action="append", help="a fixed address (repeat for several; create, upsert)"
    )
    parser.add_argument("--client-id", help="its client identifier")
    parser.add_argument("--statements", help="dhcpd.conf statements for the host")
    parser.add_argument("--group", help="an existing group to put it in")
    parser.set_defaults(command=hosts_command)
    return parser


async def hosts_command(args: argparse.Namespace) -> int:
    """Apply a host operation to both servers; the exit code is
    :attr:`PairHostResult.exit_code`, except that one error both servers gave is raised for
    the entry point to report with its own code."""
    if args.action == "delete":
        lookup = {
            k: v
            for k, v in (("name", args.name), ("mac", args.mac), ("client_id", args.client_id))
            if v
        }
        if not lookup:
            raise ValueError("delete: give --name, --mac or --client-id")
    elif not args.name:
        raise ValueError(f"{args.action}: give --name")
    values: dict[str, Any] = {
        "name": args.name,
        "hardware_address": args.mac,
        "ip_address": args.ip,
        "client_id": args.client_id,
        "statements": args.statements,
        "group": args.group,
    }
    values = {k: v for k, v in values.items() if v is not None}
    async with open_pair(args) as pair:
        if args.action == "create":
            result = await pair.hosts_create(**values)
        elif args.action == "upsert":
            result = await pair.hosts_upsert(**values)
        else:
            result = await pair.hosts_delete(**lookup)
    if result.common_error is not None:
        raise result.common_error
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(_hosts_text(result))
    return result.exit_code


async def _raise_if_unread(pair: FailoverPair, status: PairStatus) -> None:
    """Neither server read: read the primary once more and let its error out (the entry
    point tells a refused key from a server down or silent); else return."""
    if not (status.primary.reachable or status.secondary.reachable):
        await pair.client("primary").failover.get(pair.name)


def _hosts_text(result: PairHostResult) -> str:
    lines = []
    for r in (result.primary, result.secondary):
        if not r.ok:
            lines.append(f"{r.side:<9} failed: {r.error}")
        elif r.host is None:
            lines.append(f"{r.side:<9} {result.action}: done")
        else:
            h = r.host
            ips = ", ".join(str(ip) for ip in h.ip_addresses) or "no fixed address"
            lines.append(f"{r.side:<9} {result.action}: {h.name} {h.hardware_address} {ips}")
    if result.diverged:
        lines.append("warning: done on one server only, the two now differ")
    return "\n".join(lines)
