"""``aiomapi failover diff`` and ``aiomapi leases release | expire``: commands over many leases.

Each ``add_*_parser(subparsers, **parser_kwargs)`` adds a command to an argparse sub-parser
group and sets ``command`` to a coroutine function taking the parsed arguments and returning
the exit code (the convention of :mod:`aiomapi.cli`); ``parser_kwargs`` go to
``subparsers.add_parser``. Where the servers are comes from
:func:`aiomapi.failover.connect.add_pair_options` (``--config``, ``--primary``,
``--secondary``, ``--peer``, the key options, ``--timeout``, ``--json``); ``release`` and
``expire`` also take ``--server HOST[:PORT]`` for a server without failover.

Which addresses: ``--range`` (CIDR blocks, ``A-B`` ranges, single addresses), ``--ips-file``,
``--leases-file``, or else the ranges of ``--config`` (for a pair: the pools under its
failover peer). Several sources add up.

Exit codes:

* ``diff``: 0 the peers agree on every lease, 1 drift found, 3 the pair could not be read
  or the options do not say what to compare (``judging``: the entry point prints the error,
  JSON with ``--json``, and exits 3).
* ``release``/``expire``: 0 done (not-found and skipped leases are fine) and, on a pair, the
  partner followed; 1 some lease was refused or the partner did not follow; 64 not confirmed
  with ``--yes``; every lease refused: the error of the first, raised to the entry point
  (its exit code: 11 refused, 12 key, 13 cannot connect, 14 timed out).

Progress goes to stderr while it is a terminal (``--quiet`` turns it off); results to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

import rich.progress
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

from aiomapi import Client, LeaseState, OmapiError
from aiomapi.config import load_config
from aiomapi.config.options import add_address_file_options, add_rate_option, address_set
from aiomapi.ranges import AddressSet

from .connect import add_pair_options, add_server_option, pair_from_options, single_server
from .diff import DiffReport, compare_peers, wait_consistent
from .pair import FailoverPair
from .release import LeaseOutcome, Summary, expire_many, release_many

__all__ = [
    "Progress",
    "add_diff_parser",
    "add_release_parser",
    "add_release_parsers",
    "diff_command",
    "format_diff",
    "format_summary",
    "release_command",
]

_STATE_NAMES = [s.dhcpd_name for s in LeaseState]


# ---------------------------------------------------------------- shared options


def _add_address_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "addresses",
        "Which addresses to act on; several sources add up. Without any, the ranges of "
        "--config (for a pair: the pools under its failover peer).",
    )
    group.add_argument(
        "--range",
        dest="ranges",
        action="extend",
        nargs="+",
        metavar="SPEC",
        help="CIDR block (10.0.0.0/24), range (10.0.0.5-10.0.0.99) or address",
    )
    add_address_file_options(group)
    parser.add_argument(
        "--concurrency", type=int, default=64, help="lookups pending per server (default 64)"
    )
    add_rate_option(parser, per=" on each server")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _addresses(args: argparse.Namespace, peer: str | None) -> AddressSet:
    """The addresses of the options (:func:`aiomapi.config.options.address_set`)."""
    config = load_config(args.config) if args.config else None
    return address_set(
        args.ranges,
        args.ips_file,
        args.leases_file,
        config,
        config_name=str(args.config),
        peer=peer,
        give="--range",
    )


class Progress:
    """rich's progress bar on stderr while it is a terminal (nothing otherwise): the
    count, a bar, the rate and per-outcome counts; the bar is gone when the work ends.
    """

    def __init__(
        self, verb: str, total: int, *, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled and self.stream.isatty()
        self.verb = verb
        self.total = total
        self._last = 0.0
        self._bar: rich.progress.Progress | None = None
        if self.enabled:
            console = Console(file=self.stream, force_terminal=True)
            self._bar = rich.progress.Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("{task.fields[detail]}"),
                console=console,
                transient=True,
                auto_refresh=False,
            )
            self._task = self._bar.add_task(verb, total=total, rate="", detail="")
            self._bar.start()
            self._started = time.monotonic()

    def __call__(self, done: int, detail: Mapping[str, int] | None = None) -> None:
        if self._bar is None:
            return
        now = time.monotonic()
        if now - self._last < 0.2 and done < self.total:
            return
        self._last = now
        rate = done / max(now - self._started, 1e-9)
        extra = ", ".join(f"{k} {v:,}" for k, v in sorted(detail.items())) if detail else ""
        self._bar.update(self._task, completed=done, rate=f"{rate:,.0f}/s", detail=extra)
        self._bar.refresh()

    def close(self) -> None:
        """Take the bar away (if one was drawn)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def _json(obj: object) -> None:
    import json

    print(json.dumps(obj, indent=2))


# ---------------------------------------------------------------- diff


def add_diff_parser(
    subparsers: Any, name: str = "diff", **parser_kwargs: Any
) -> argparse.ArgumentParser:
    """Add ``diff``: compare both servers' leases and classify every difference."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="compare the two servers' leases; say what differs, why, and what to do",
        description="Look every address up on both servers of a failover pair at once and "
        "compare the binding state, the client and the end of each lease. Differences that "
        "are normal on a healthy pair (tstp/tsfp/atsfp, cltt, ends within MCLT, the last "
        "client of a lease that is not active) are counted, not reported; the others are "
        "read again after --settle seconds and reported with a reason and a remedy if they "
        "are still there. Exit code: 0 consistent, 1 drift, 2 the pair could not be read.",
        **parser_kwargs,
    )
    add_pair_options(parser)
    # Could not judge (a server unread, bad options): exit 3 UNKNOWN, the error as the
    # entry point prints it.
    parser.set_defaults(judging=True)
    _add_address_options(parser)
    parser.add_argument(
        "--mclt",
        type=float,
        metavar="SECONDS",
        help="how far apart the ends of an active lease may be (default: the primary's MCLT)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="wait before reading differences again (updates in flight; default 1)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="keep re-reading differences until none is left or this many seconds passed "
        "(after a change, e.g. a reconnect)",
    )
    parser.add_argument(
        "--limit", type=int, default=50, help="differences listed in the text output (default 50)"
    )
    parser.set_defaults(command=diff_command)
    return parser


async def diff_command(args: argparse.Namespace) -> int:
    """Run ``diff`` for parsed ``args``; see :func:`add_diff_parser`."""
    pair = pair_from_options(args)
    try:
        addresses = _addresses(args, pair.name)
        progress = Progress("compared", len(addresses), enabled=not args.quiet)
        try:
            if args.wait is not None:
                report = await wait_consistent(
                    pair.primary,
                    pair.secondary,
                    addresses,
                    timeout=args.wait,
                    concurrency=args.concurrency,
                    rate=args.rate,
                    mclt=args.mclt,
                    peer=pair.name,
                    progress=progress,
                )
            else:
                report = await compare_peers(
                    pair.primary,
                    pair.secondary,
                    addresses,
                    concurrency=args.concurrency,
                    rate=args.rate,
                    mclt=args.mclt,
                    settle=args.settle,
                    peer=pair.name,
                    progress=progress,
                )
        finally:
            progress.close()
    finally:
        await pair.close()
    if args.json:
        _json(report.to_json())
    else:
        print(format_diff(report, limit=args.limit))
    return 0 if report.consistent else 1


def _peer_text(value: Mapping[str, object]) -> str:
    if "error" in value:
        return str(value["error"])
    parts = [str(value["state"])]
    if value.get("hardware_address"):
        parts.append(str(value["hardware_address"]))
    if value.get("client_id"):
        parts.append(f"id {value['client_id']}")
    if value.get("ends"):
        parts.append(f"ends {value['ends']}")
    return " ".join(parts)


def format_diff(report: DiffReport, *, limit: int = 50) -> str:
    """The text output of ``diff``."""
    lines = [
        f"compared {report.compared:,} addresses ({report.leases:,} leases) "
        f"in {report.elapsed:.1f} s"
    ]
    if report.failover is not None:
        lines.append(
            f"failover states: primary {report.failover[0]}, secondary {report.failover[1]}"
        )
    if report.states:
        lines.append(f"agreeing leases: {_counts(report.states)}")
    if report.tolerated:
        lines.append(f"normal differences (not drift): {_counts(report.tolerated)}")
    if report.settled:
        lines.append(f"differences gone when read again (updates in flight): {report.settled:,}")
    if report.consistent:
        lines.append("consistent: the peers agree on every lease")
        return "\n".join(lines)
    lines.append(f"DRIFT: {len(report.differences):,} leases differ: {_counts(report.counts)}")
    for d in report.differences[:limit]:
        data = d.to_json()
        primary = data["primary"]
        secondary = data["secondary"]
        assert isinstance(primary, dict)
        assert isinstance(secondary, dict)
        lines += [
            f"  {d.ip}  {d.kind.value}",
            f"      primary:   {_peer_text(primary)}",
            f"      secondary: {_peer_text(secondary)}",
            f"      why: {d.why}",
            f"      remedy: {d.remedy}",
        ]
    if len(report.differences) > limit:
        lines.append(f"  ... and {len(report.differences) - limit:,} more (--json lists all)")
    return "\n".join(lines)


# ---------------------------------------------------------------- release / expire


def add_release_parsers(subparsers: Any, **parser_kwargs: Any) -> None:
    """Add ``release`` and ``expire`` to ``subparsers`` (the ``aiomapi leases`` group)."""
    add_release_parser(subparsers, "release", **parser_kwargs)
    add_release_parser(subparsers, "expire", **parser_kwargs)


def add_release_parser(
    subparsers: Any, action: str = "release", **parser_kwargs: Any
) -> argparse.ArgumentParser:
    """Add ``release`` (or ``expire``, with ``action="expire"``) to ``subparsers``."""
    if action not in ("release", "expire"):
        raise ValueError(f"action must be release or expire, not {action!r}")
    what = (
        "release leases as DHCPRELEASEs would"
        if action == "release"
        else "end leases now, as if their time had run out"
    )
    parser: argparse.ArgumentParser = subparsers.add_parser(
        action,
        help=f"{what} (many at once)",
        description=f"{what[0].upper()}{what[1:]}, over many addresses. On a failover pair "
        "it runs on the primary (--peer-side) and then reads the other server until it has "
        "followed, reporting every lease where it did not. With --server: one server, no "
        "partner check. Refuses to change anything without --yes (or use --dry-run)."
        + (
            " On a pair prefer release: the partner refuses an early expiry while it holds "
            "the lease for more than about a minute."
            if action == "expire"
            else ""
        ),
        **parser_kwargs,
    )
    add_pair_options(parser)
    add_server_option(parser, instead="the pair of the options above")
    parser.add_argument(
        "--peer-side",
        choices=["primary", "secondary"],
        default="primary",
        help="on a pair, the server to run it on (default primary; on the secondary a "
        "release returns free while both servers may then store backup)",
    )
    _add_address_options(parser)
    parser.add_argument(
        "--state",
        dest="states",
        action="append",
        choices=_STATE_NAMES,
        help="only leases in this state on the server (dhcpd's names; repeatable)",
    )
    parser.add_argument("--dry-run", action="store_true", help="read and filter, change nothing")
    parser.add_argument("--yes", action="store_true", help=f"really {action} them")
    parser.add_argument(
        "--check-wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on a pair, how long to wait for the partner to follow (default 30)",
    )
    parser.add_argument(
        "--limit", type=int, default=50, help="leases listed in the text output (default 50)"
    )
    parser.set_defaults(command=release_command, action=action)
    return parser


def _single_client(args: argparse.Namespace) -> Client:
    """The client of ``--server`` (:func:`~aiomapi.failover.connect.single_server`)."""
    config = load_config(args.config) if args.config else None
    address, key = single_server(args.server, args, config)
    return Client(address.host, address.port, key=key, timeout=args.timeout)


async def release_command(args: argparse.Namespace) -> int:
    """Run ``release`` or ``expire`` for parsed ``args``; see :func:`add_release_parser`."""
    action: str = args.action
    pair: FailoverPair | None = None
    if args.server:
        client = _single_client(args)
    else:
        pair = pair_from_options(args)
        client = pair.client(args.peer_side)
    try:
        addresses = _addresses(args, None if pair is None else pair.name)
        if not args.dry_run and not args.yes:
            shown = addresses if len(addresses.intervals) <= 4 else "several ranges"
            print(
                f"aiomapi: this would {action} up to {len(addresses):,} leases ({shown}); "
                "add --yes to go ahead, or --dry-run to see what it would do",
                file=sys.stderr,
            )
            return 64  # usage: not confirmed
        if pair is not None and args.peer_side == "secondary":
            print(
                f"aiomapi: warning: running {action} on the secondary; it returns free, but "
                "the secondary keeps its free leases as backup: run it on the primary",
                file=sys.stderr,
            )
        return await _release(args, action, client, pair, addresses)
    finally:
        if pair is not None:
            await pair.close()
        else:
            await client.close()


async def _release(
    args: argparse.Namespace,
    action: str,
    client: Client,
    pair: FailoverPair | None,
    addresses: AddressSet,
) -> int:
    many = release_many if action == "release" else expire_many
    summary = Summary(action, dry_run=args.dry_run)
    changed: list[LeaseOutcome] = []
    progress = Progress(
        action if not args.dry_run else "checked", len(addresses), enabled=not args.quiet
    )
    try:
        async for result in many(
            client,
            addresses,
            state_filter=args.states,
            dry_run=args.dry_run,
            concurrency=args.concurrency,
            rate=args.rate,
        ):
            summary.add(result)
            if result.changed:
                changed.append(result)
            progress(summary.total, summary.outcomes)
    finally:
        progress.close()
    if summary.total and summary.outcomes.get("refused", 0) == summary.total:
        first = summary.refused[0].error
        if first is not None:
            raise first  # every lease: the entry point gives its exit code and JSON
        print("aiomapi: every lease was refused", file=sys.stderr)
        return 11  # refused by the server
    check: DiffReport | None = None
    if pair is not None and changed:
        check_progress = Progress("partner check", len(changed), enabled=not args.quiet)
        try:
            check = await wait_consistent(
                pair.primary,
                pair.secondary,
                sorted(r.ip for r in changed),
                timeout=args.check_wait,
                concurrency=args.concurrency,
                rate=args.rate,
                peer=pair.name,
                progress=check_progress,
            )
        except OmapiError as exc:
            check_progress.close()
            print(f"aiomapi: cannot read the partner: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        check_progress.close()
    where = args.peer_side if pair is not None else args.server
    if args.json:
        out = summary.to_json()
        out["server"] = where
        out["partner_followed"] = None if check is None else check.consistent
        out["partner"] = None if check is None else check.to_json()
        _json(out)
    else:
        print(format_summary(summary, where, check, limit=args.limit))
    failed = summary.outcomes.get("refused", 0) or (check is not None and not check.consistent)
    return 1 if failed else 0


def format_summary(
    summary: Summary, where: str, check: DiffReport | None, *, limit: int = 50
) -> str:
    """The text output of ``release``/``expire``."""
    verb = "checked" if summary.dry_run else f"{summary.action}d"
    lines = [f"{verb} {summary.total:,} addresses on the {where}: {_counts(summary.outcomes)}"]
    if summary.before:
        lines.append(f"  state before: {_counts(summary.before)}")
    if summary.after:
        lines.append(f"  state returned: {_counts(summary.after)}")
    if summary.pending:
        lines.append(
            f"  {summary.pending:,} left expired or released, not free: on a failover peer "
            "they wait for the partner, which refuses an early expiry while it holds the "
            "lease for more than about a minute"
            + ("; compare the peers (aiomapi failover diff)" if check is None else "")
        )
    for r in summary.refused[:limit]:
        lines.append(f"  refused {r.ip}: {type(r.error).__name__}: {r.error}")
    if check is not None:
        if check.consistent:
            lines.append(
                f"partner followed: both servers agree on all {check.compared:,} changed "
                f"leases; now on both: {_counts(check.states)}"
            )
            if dict(check.states) != dict(summary.after):
                lines.append(
                    "  note: the states now differ from those the server returned (a "
                    "free lease the secondary owns is stored as backup)"
                )
        else:
            lines.append(
                f"PARTNER DID NOT FOLLOW for {len(check.differences):,} of "
                f"{check.compared:,} leases: {_counts(check.counts)}"
            )
            for d in check.differences[:limit]:
                lines.append(f"  {d.ip}  {d.kind.value}: {d.remedy}")
    return "\n".join(lines)
