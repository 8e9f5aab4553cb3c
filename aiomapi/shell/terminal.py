"""Feeding the shell from standard input, and writing as omshell writes.

omshell prints ``> `` and flushes its standard output before it reads each chunk of input
(:data:`~aiomapi.shell.lexer.CHUNK` bytes at most, or a line), whether or not the input is a
terminal, so a script piped in gets a prompt per line, and one more at the end of the input.
Its standard output is buffered by the C library (by line on a terminal, in 4,096-byte
blocks otherwise) and its standard error is not, so when both go to one pipe a warning can
come before the text printed just ahead of it. :class:`StreamOutput` keeps the same order,
so that programs which read omshell's merged output see the same bytes.

On a terminal the shell reads with :func:`input`, which gives line editing and history
through :mod:`readline` where Python has it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import BinaryIO, Final

from .lexer import CHUNK
from .session import Shell

#: glibc's buffer for a standard output that is not a terminal.
STDOUT_BUFFER: Final = 4096
PROMPT: Final = "> "


class StreamOutput:
    """omshell's two output streams.

    Args:
        stdout: binary standard output.
        stderr: binary standard error.
        line_buffered: flush standard output at each newline (as C does on a terminal);
            otherwise only when :data:`STDOUT_BUFFER` bytes are waiting, at the prompt and at
            :meth:`flush`.
    """

    def __init__(self, stdout: BinaryIO, stderr: BinaryIO, *, line_buffered: bool) -> None:
        self._stdout = stdout
        self._stderr = stderr
        self._line_buffered = line_buffered
        self._pending = bytearray()

    def out(self, text: str) -> None:
        self._pending += text.encode("latin-1", errors="replace")
        if self._line_buffered:
            end = self._pending.rfind(b"\n") + 1
        else:
            end = len(self._pending) // STDOUT_BUFFER * STDOUT_BUFFER
        if end:
            self._stdout.write(self._pending[:end])
            self._stdout.flush()
            del self._pending[:end]

    def err(self, text: str) -> None:
        self._stderr.write(text.encode("latin-1", errors="replace"))
        self._stderr.flush()

    def prompt(self) -> None:
        self.out(PROMPT)
        self.flush()

    def flush(self) -> None:
        """Write what standard output holds."""
        if self._pending:
            self._stdout.write(self._pending)
            del self._pending[:]
        self._stdout.flush()


async def run_stream(shell: Shell, stdin: BinaryIO, output: StreamOutput) -> None:
    """Run the commands read from ``stdin`` (a pipe or a file) until it ends."""
    try:
        while True:
            output.prompt()
            chunk = await asyncio.to_thread(stdin.readline, CHUNK)
            if not chunk:
                break
            await shell.execute(chunk.decode("latin-1"))
    finally:
        output.flush()
        await shell.close()


async def run_terminal(shell: Shell, output: StreamOutput) -> None:
    """Run commands typed on the terminal (line editing and history by :mod:`readline`)."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (imported for its effect on input())
    pending: list[str] = []
    try:
        while True:
            if pending:
                output.prompt()
                chunk = pending.pop(0)
            else:
                output.flush()
                try:
                    line = await asyncio.to_thread(input, PROMPT)
                except EOFError:
                    break
                data = line.encode("utf-8", "surrogateescape").decode("latin-1") + "\n"
                chunk, *pending = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
            await shell.execute(chunk)
    finally:
        output.flush()
        await shell.close()
