"""What ``aiomapi config check`` reports: findings, dhcpd's own verdict, and the whole report.

A :class:`Finding` says where (``file:line:column``), how bad (:class:`Severity`), what is
wrong, what dhcpd does with it, and the fix. A :class:`Report` holds every finding of one check
(one file, maybe its partner's, maybe the running server) with ``dhcpd -t``'s verdict on each
file, and gives the exit code: 0 clean, 1 warnings only, 2 errors (notes do not count).

Severities:

* ``error``: dhcpd refuses the file, or the pair cannot work as written (the peers never
  connect, the same addresses are not under failover on both sides).
* ``warning``: dhcpd runs, but not the way the file reads or a pair should (load balancing
  off, addresses outside failover, a running server that has not loaded the file).
* ``note``: what dhcpd uses for a setting the file leaves out, or a statement it ignores.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from .model import Location

__all__ = ["DhcpdVerdict", "Finding", "Report", "Severity"]


class Severity(enum.Enum):
    """How much a finding matters; the value is the word the report prints."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTE: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the check found.

    Attributes:
        severity: error, warning or note.
        code: a stable identifier of the kind of finding (``lookalike-character``,
            ``peer-load-balancing-off``, ...: docs/config-check.md lists them all).
        message: what is wrong, or what the file leaves out.
        dhcpd: what dhcpd does with it.
        fix: what to change.
        location: where; ``None`` for a finding about the running server or the pair as a
            whole with no one place in a file.
    """

    severity: Severity
    code: str
    message: str
    dhcpd: str
    fix: str
    location: Location | None = None

    def sort_key(self) -> tuple[str, int, int, int, str]:
        loc = self.location
        if loc is None:
            return ("\uffff", 0, 0, _ORDER[self.severity], self.code)
        return (loc.file, loc.line, loc.column, _ORDER[self.severity], self.code)

    def to_json(self) -> dict[str, Any]:
        """The finding as plain JSON values; ``file``, ``line`` and ``column`` are ``null``
        without a location."""
        loc = self.location
        return {
            "file": None if loc is None else loc.file,
            "line": None if loc is None else loc.line,
            "column": None if loc is None else loc.column,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "dhcpd": self.dhcpd,
            "fix": self.fix,
        }


@dataclass(frozen=True, slots=True)
class DhcpdVerdict:
    """What ``dhcpd -t -cf FILE`` said about a file.

    Attributes:
        file: the file.
        command: the command line run (the file and a scratch lease file).
        exit_status: dhcpd's exit status; negative: killed by that signal (dhcpd 4.4.3 dies of
            a segmentation fault on a few files); ``None``: it did not finish in time.
        lines: its first error and warning lines, its banner and boilerplate left out and key
            secrets hidden.
    """

    file: str
    command: tuple[str, ...]
    exit_status: int | None
    lines: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """Whether dhcpd accepted the file (exit status 0)."""
        return self.exit_status == 0

    def describe(self) -> str:
        """``accepted``, ``refused (exit 1)``, ``crashed (signal 11)`` or ``timed out``."""
        if self.exit_status is None:
            return "timed out"
        if self.exit_status == 0:
            return "accepted"
        if self.exit_status < 0:
            return f"crashed (signal {-self.exit_status})"
        return f"refused (exit {self.exit_status})"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "command": list(self.command),
            "exit_status": self.exit_status,
            "accepted": self.accepted,
            "lines": list(self.lines),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one check found.

    Attributes:
        file: the file checked.
        peer_file: the partner's file, if it was given.
        live: ``HOST:PORT`` of the running server compared with the file, if any.
        findings: sorted by file, line, column, then severity.
        dhcpd: ``dhcpd -t``'s verdict on each file; empty where dhcpd is not installed or was
            not asked.
    """

    file: str
    findings: tuple[Finding, ...]
    peer_file: str | None = None
    live: str | None = None
    dhcpd: tuple[DhcpdVerdict, ...] = field(default=())

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def exit_code(self) -> int:
        """2 with any error, 1 with warnings only, 0 otherwise (notes do not count)."""
        if self.errors:
            return 2
        return 1 if self.warnings else 0

    def codes(self) -> list[str]:
        """The codes of the findings, in order (handy in tests and scripts)."""
        return [f.code for f in self.findings]

    def summary(self) -> dict[str, int]:
        return {
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "notes": self.count(Severity.NOTE),
            "exit_code": self.exit_code,
        }

    def to_json(self) -> dict[str, Any]:
        """``{"findings": [...], "summary": {...}, "dhcpd": [...], ...}``: the ``--json``
        output."""
        return {
            "file": self.file,
            "peer_file": self.peer_file,
            "live": self.live,
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary(),
            "dhcpd": [v.to_json() for v in self.dhcpd],
        }

    def format(self) -> str:
        """The report as aligned plain text: one block per finding, then dhcpd's verdicts and
        the counts."""
        rows = [(str(f.location) if f.location else "-", f) for f in self.findings]
        width = max((len(where) for where, _ in rows), default=0)
        lines: list[str] = []
        for where, f in rows:
            lines.append(f"{where:<{width}}  {f.severity.value:<7}  {f.message}")
            lines.append(f"    dhcpd: {f.dhcpd}")
            lines.append(f"    fix:   {f.fix}")
        if self.dhcpd and lines:
            lines.append("")
        for verdict in self.dhcpd:
            lines.append(f"dhcpd -t -cf {verdict.file}: {verdict.describe()}")
            lines += [f"  | {line}" for line in verdict.lines]
        if self.live is not None:
            lines.append(f"compared with the running server at {self.live}")
        s = self.summary()
        if lines:
            lines.append("")
        lines.append(
            f"{_plural(s['errors'], 'error')}, {_plural(s['warnings'], 'warning')}, "
            f"{_plural(s['notes'], 'note')}"
        )
        return "\n".join(lines)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
