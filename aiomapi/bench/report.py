"""Plain-text output of the benchmarks: a progress line while a run goes, tables after it.

The tables are plain text on purpose: they are printed to a terminal or a CI log, stored in
the results JSON and pasted into docs/benchmarks.md, so they must not depend on the width
of a terminal, nor carry box-drawing characters or colour codes.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TextIO

from aiomapi.bench.results import Progress

__all__ = ["console_progress", "format_table"]

#: Seconds between two progress lines when the output is not a terminal (a CI log).
LOG_INTERVAL = 2.0


def console_progress(stream: TextIO | None = None) -> Callable[[Progress], None]:
    """A progress callback: one rewritten line on a terminal, a line every 2 s otherwise."""
    out = stream if stream is not None else sys.stderr
    tty = out.isatty()
    last = [-math.inf]

    def show(p: Progress) -> None:
        goal = f"/{p.count:,}" if p.count is not None else ""
        span = f"/{p.duration:.0f}" if p.duration is not None else ""
        text = (
            f"{p.label}: {p.done:,}{goal} lookups, {p.rate:,.0f}/s, "
            f"{p.errors} errors, {p.elapsed:.1f}{span} s"
        )
        if tty:
            out.write("\r" + text.ljust(78) + ("\n" if p.final else ""))
            out.flush()
        elif p.final or p.elapsed - last[0] >= LOG_INTERVAL:
            last[0] = p.elapsed
            out.write(text + "\n")
            out.flush()

    return show


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
