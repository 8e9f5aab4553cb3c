"""``aiomapi completion bash|zsh``: a shell completion script, generated from the parser.

The script is written by shtab from the same parser that parses the command line, so it
completes every command, option and choice there is, and cannot fall behind the commands.
Options that take a file (``--config``, ``--key-file``, ``--leases``, ...) complete file
names. Install it with, for example::

    aiomapi completion bash > /etc/bash_completion.d/aiomapi
    aiomapi completion zsh > "${fpath[1]}/_aiomapi"
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import shtab

__all__ = ["SHELLS", "add_completion_parser", "completion_command", "script"]

SHELLS = ("bash", "zsh")

#: Options whose value is a file name, besides those with the metavar PATH.
_FILE_DESTS = frozenset({"config", "file", "key_file", "peer_config", "dhcpd", "leases"})


def add_completion_parser(subparsers: Any, **parser_kwargs: Any) -> None:
    """Add ``completion`` to the top-level sub-parser group."""
    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash or zsh)",
        description="Print a completion script for the shell, generated from this parser: "
        "'aiomapi completion bash > /etc/bash_completion.d/aiomapi', or in ~/.bashrc "
        "'source <(aiomapi completion bash)'; for zsh, write it as _aiomapi in a directory "
        "of $fpath.",
        **parser_kwargs,
    )
    parser.add_argument("shell", choices=SHELLS)
    parser.set_defaults(command=completion_command)


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of ``parser`` for ``shell``; file options complete files."""
    for action in _actions(parser):
        if action.metavar == "PATH" or action.dest in _FILE_DESTS:
            action.complete = shtab.FILE  # type: ignore[attr-defined]
    return shtab.complete(parser, shell=shell)


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                yield from _actions(sub)


async def completion_command(args: argparse.Namespace) -> int:
    """Print the script for ``args.shell``."""
    from .main import build_parser

    print(script(build_parser(), args.shell), end="")
    return 0
