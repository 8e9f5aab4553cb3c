"""dhcpd's own verdict on a file: ``dhcpd -4 -t -cf FILE``, its key secrets hidden.

``dhcpd -t`` reads the configuration, reports what it refuses and exits: 0 when it would
start, 1 when not; dhcpd 4.4.3 dies of a segmentation fault on a few files (a key without a
secret, an include cycle). It needs no root and no network. It is run from the file's
directory, where :func:`~aiomapi.config.load_config` looks for relative includes too, with a
scratch lease file.

dhcpd echoes the offending line of the file under its message, up to the token it stopped at;
in a ``key`` that line can hold the secret, or its first characters. Every line kept is
therefore scrubbed of each secret the files declare, of any tail of a line that begins one, and
of everything after the word ``secret``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from aiomapi.leasefile.lexer import TOKEN_RE

from .check_report import DhcpdVerdict

__all__ = [
    "DHCPD_TIMEOUT",
    "HIDDEN",
    "error_lines",
    "find_dhcpd",
    "hide_secrets",
    "run_dhcpd",
    "secrets_in",
]

#: Seconds ``dhcpd -t`` may take; it reads these files in well under one.
DHCPD_TIMEOUT: Final = 20.0
#: Lines of dhcpd's output kept: its first errors, enough to show the cascade they start.
MAX_LINES: Final = 12
HIDDEN: Final = "<hidden>"
# The shortest secret prefix hidden at the end of an echoed line; shorter ones are common
# words. A base64 secret of a real key is at least 16 characters.
_MIN_PREFIX: Final = 4
_BANNER: Final = (
    "Internet Systems Consortium DHCP Server",
    "Copyright ",
    "All rights reserved",
    "For info, please visit",
    "Config file:",
    "Database file:",
    "PID file:",
)
_BOILERPLATE: Final = "If you think you have received this message due to a bug"
_SCRATCH: Final = "(an empty scratch lease file)"
_ERROR_LINE_RE: Final = re.compile(r"^(?P<file>.*) line (?P<line>\d+): (?P<message>.*)$")


def find_dhcpd() -> str | None:
    """dhcpd's path: on ``PATH``, or in /usr/sbin or /sbin (where packages put it, often off
    an ordinary user's ``PATH``); ``None`` if it is not installed."""
    path = os.environ.get("PATH", "")
    return shutil.which("dhcpd", path=os.pathsep.join([path, "/usr/sbin", "/sbin"]))


def secrets_in(texts: Iterable[str]) -> list[str]:
    """Every token of every ``secret`` statement in ``texts``, quoted and unquoted."""
    found: list[str] = []
    for text in texts:
        words = [m.group() for m in TOKEN_RE.finditer(text) if m.group()[0] != "#"]
        in_secret = False
        previous = ";"
        for word in words:
            if word in (";", "{", "}"):
                in_secret = False
            elif previous in (";", "{", "}") and word.lower() == "secret":
                in_secret = True
            elif in_secret:
                found.append(word)
                if len(word) > 1 and word[0] == '"':
                    found.append(word.strip('"'))
            previous = word
    return [s for s in found if s]


def hide_secrets(line: str, secrets: Iterable[str]) -> str:
    """``line`` without any of ``secrets``, without a trailing start of one (dhcpd cuts its
    echo of a line at the token it stopped at), and without what follows ``secret``."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        line = line.replace(secret, HIDDEN)
        for n in range(len(secret) - 1, _MIN_PREFIX - 1, -1):
            if line.endswith(secret[:n]):
                line = line[: len(line) - n] + HIDDEN
                break
    if _ERROR_LINE_RE.match(line):
        return line  # dhcpd's own message, naming the file: not an echo of the file
    return re.sub(r"(?i)(^|\s)(secret)\s.*", rf"\1\2 {HIDDEN}", line)


def run_dhcpd(
    dhcpd: str, path: Path, secrets: Iterable[str], *, timeout: float = DHCPD_TIMEOUT
) -> DhcpdVerdict:
    """Run ``dhcpd -4 -t -cf path`` and keep its verdict (module docstring).

    Raises:
        OSError: ``dhcpd`` cannot be run.
    """
    shown = (dhcpd, "-4", "-t", "-cf", str(path), "-lf", _SCRATCH)
    with tempfile.TemporaryDirectory(prefix="aiomapi-check-") as scratch:
        leases = Path(scratch) / "dhcpd.leases"
        leases.touch()
        # dhcpd names the file as given: give it whole, and name it back as the caller did.
        absolute = str(path.absolute())
        argv = [dhcpd, "-4", "-t", "-cf", absolute, "-lf", str(leases)]
        try:
            done = subprocess.run(
                argv,
                cwd=path.absolute().parent,
                capture_output=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return DhcpdVerdict(str(path), shown, None, ())
    output = (done.stdout + done.stderr).decode("utf-8", errors="replace")
    output = output.replace(str(leases), _SCRATCH).replace(absolute, str(path))
    return DhcpdVerdict(str(path), shown, done.returncode, _kept(output, list(secrets)))


def _kept(output: str, secrets: list[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for line in output.splitlines():
        if line.startswith(_BOILERPLATE):
            break
        if not line.strip() or line.startswith(_BANNER):
            continue
        kept.append(hide_secrets(line.rstrip(), secrets))
        if len(kept) == MAX_LINES:
            break
    return tuple(kept)


def error_lines(verdict: DhcpdVerdict) -> dict[int, str]:
    """dhcpd's messages by line number (``FILE line N: MESSAGE``), the first for each line."""
    found: dict[int, str] = {}
    for line in verdict.lines:
        m = _ERROR_LINE_RE.match(line)
        if m is not None and m["file"] == verdict.file:
            found.setdefault(int(m["line"]), m["message"])
    return found
