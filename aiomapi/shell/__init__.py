"""``aiomapi shell``: ISC omshell's command language on aiomapi's client.

:class:`Shell` runs omshell's commands and prints what omshell prints; :func:`run_stream`
and :func:`run_terminal` feed it; :func:`add_shell_parser` wires it into the ``aiomapi``
command. See docs/shell.md.
"""

from .cli import add_shell_parser, shell_command
from .lexer import Kind, Lexer, Token
from .printer import LocalInt, LocalString, format_bytes, format_value
from .results import result_text
from .session import Output, Shell, ShellObject
from .terminal import StreamOutput, run_stream, run_terminal

__all__ = [
    "Kind",
    "Lexer",
    "LocalInt",
    "LocalString",
    "Output",
    "Shell",
    "ShellObject",
    "StreamOutput",
    "Token",
    "add_shell_parser",
    "format_bytes",
    "format_value",
    "result_text",
    "run_stream",
    "run_terminal",
    "shell_command",
]
