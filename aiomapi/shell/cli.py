"""``aiomapi shell``: omshell's command language, run by aiomapi.

To be wired into the ``aiomapi`` command by :func:`add_shell_parser`, which adds the
``shell`` sub-command to an argparse sub-parser group and sets ``command`` to the coroutine
function :func:`shell_command`. It reads commands from standard input (or ``FILE``) and
prints what omshell prints; see docs/shell.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from .session import Shell
from .terminal import StreamOutput, run_stream, run_terminal

__all__ = ["add_shell_parser", "shell_command"]


def add_shell_parser(
    subparsers: Any, name: str = "shell", **parser_kwargs: Any
) -> argparse.ArgumentParser:
    """Add the ``shell`` command to ``subparsers`` (from ``add_subparsers()``).

    ``parser_kwargs`` go to ``subparsers.add_parser``.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="omshell's commands (server, key, connect, new, set, open, ...), run by aiomapi",
        description="Read omshell commands from standard input (or FILE) and print what "
        "ISC's omshell prints, with aiomapi's refusals of requests that crash dhcpd and "
        "every HMAC algorithm dhcpd has. On a terminal, lines can be edited and recalled.",
        **parser_kwargs,
    )
    parser.add_argument(
        "file", nargs="?", metavar="FILE", help="read the commands from FILE, not stdin"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for a connection or an answer (omshell waits for ever; 0: "
        "wait for ever too); default 60",
    )
    parser.set_defaults(command=shell_command)
    return parser


async def shell_command(args: argparse.Namespace) -> int:
    """Run the shell for parsed ``args``; returns 0, as omshell does."""
    stdout, stderr = sys.stdout, sys.stderr
    stdout.flush()
    output = StreamOutput(stdout.buffer, stderr.buffer, line_buffered=stdout.isatty())
    shell = Shell(output, timeout=args.timeout or None)
    # The shell reports failures in omshell's words; aiomapi's own log lines would be noise
    # on the same terminal.
    log = logging.getLogger("aiomapi")
    saved = log.propagate, log.level
    log.propagate, log.level = False, logging.CRITICAL + 1
    try:
        if args.file:
            script = await asyncio.to_thread(open, args.file, "rb")
            with script:
                await run_stream(shell, script, output)
        elif sys.stdin.isatty():
            await run_terminal(shell, output)
        else:
            await run_stream(shell, sys.stdin.buffer, output)
    finally:
        log.propagate, log.level = saved
    return 0
