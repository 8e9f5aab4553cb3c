"""What the benchmarks print: progress while a run goes, plain-text tables after it.

Progress goes to a terminal as rich's progress bar (:mod:`rich.progress`, as ``leases
scan``, ``failover diff`` and ``release`` draw theirs): one bar per run, gone when the run
ends (transient), so that only the results stay on the screen. Anywhere else (a CI log, a
file) it is a plain line every :data:`LOG_INTERVAL` seconds and one at the end of each run.

The tables are plain text on purpose: they are printed to a terminal or a CI log, stored in
the results JSON and pasted into docs/benchmarks.md, so they must not depend on the width
of a terminal, nor carry box-drawing characters or colour codes.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from aiomapi.bench.results import Progress

__all__ = ["console_progress", "format_table"]

#: Seconds between two progress lines when the output is not a terminal (a CI log).
LOG_INTERVAL = 2.0


def console_progress(stream: TextIO | None = None) -> Callable[[Progress], None]:
    """A progress callback: rich's bar on a terminal, a plain line every 2 s otherwise.

    The bar of a run appears with its first report and goes with its final one, so that
    whatever is printed between runs is not drawn over.
    """
    out = stream if stream is not None else sys.stderr
    if out.isatty():
        return _ProgressBar(out)
    return _plain_lines(out)


def _describe(p: Progress) -> str:
    if not p.counting:
        return "in its own process"
    goal = f"/{p.count:,}" if p.count is not None else ""
    return f"{p.done:,}{goal} lookups, {p.rate:,.0f}/s, {p.errors} errors"


def _plain_lines(out: TextIO) -> Callable[[Progress], None]:
    last = [-math.inf]

    def show(p: Progress) -> None:
        if p.final or p.elapsed - last[0] >= LOG_INTERVAL:
            last[0] = -math.inf if p.final else p.elapsed
            span = f"/{p.duration:.0f}" if p.duration is not None else ""
            out.write(f"{p.label}: {_describe(p)}, {p.elapsed:.1f}{span} s\n")
            out.flush()

    return show


class _ProgressBar:
    """rich's bar for one run at a time (see :func:`console_progress`)."""

    def __init__(self, out: TextIO) -> None:
        self._console = Console(file=out, force_terminal=True)
        self._bar: RichProgress | None = None
        self._task = TaskID(0)

    def __call__(self, p: Progress) -> None:
        if p.final:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None
            return
        if self._bar is None:
            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._task = self._bar.add_task(p.label, total=1.0, detail="")
            self._bar.start()
        if p.count is not None and p.counting:
            completed = p.done / p.count if p.count else 1.0
        elif p.duration:
            completed = p.elapsed / p.duration
        else:
            completed = 0.0
        self._bar.update(self._task, completed=min(completed, 1.0), detail=_describe(p))
        self._bar.refresh()


def format_table(rows: Sequence[Mapping[str, object]], columns: Sequence[str] | None = None) -> str:
    """Rows as an aligned text table; numbers right-aligned, text left-aligned.

    ``columns`` picks and orders the columns (default: the keys of the first row, then any
    new keys of later rows). ``None`` prints as an empty cell; floats with 3 significant
    decimals unless already formatted as text.
    """
    if columns is None:
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        columns = list(seen)
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    numeric = [all(_is_number(row.get(c)) or row.get(c) is None for row in rows) for c in columns]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(columns)), rule, *(line(r) for r in cells)])


def _is_number(value: object) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and _looks_numeric(value)


def _looks_numeric(text: str) -> bool:
    stripped = text.replace(",", "").replace("×", "").replace("%", "").strip()
    try:
        float(stripped)
    except ValueError:
        return False
    return True


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)
