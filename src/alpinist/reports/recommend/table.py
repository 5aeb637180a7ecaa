"""The recommendation for people (rich).

Layout::

    Current base: python:3.11.9-slim (Dockerfile line 5) · debian 12 · glibc · Python 3.11 (…)
    52 vulnerabilities: 3 critical, 11 high, …, 41 fixable · 45.0 MB compressed / 130.2 MB
    <table: # | Candidate | Family | Python | C/H | Total | Fixable | Size | User | Shell | Pkg mgr | Status>
    Notes
      #2 python:3.11.14-alpine3.22
        ! warning  wheels: …
    Skipped tags
      python: 14 skipped (9 pre-release, …)
        e.g. 3.14.0rc2, … (+9 more)
    Ranking
      1. …
    warning: …
    Recommendation: python:3.11.14-alpine3.22 (Alpine (python))
    Next: alpinist migrate Dockerfile.k8s --to alpine:3.22

Counts carry their difference to the current base's (``12 (−40)``), sizes a percentage; a candidate
without a scan has ``—``, never 0, and says why on its notes lines. No column is ever dropped: at 80
columns cells wrap (words first, then long words fold) instead of being cut. Strings from images, feeds
and the Dockerfile go through ``safe_text``: no rich markup or terminal escape in them takes effect.
"""

from __future__ import annotations

import re

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from alpinist.recommend.model import Evaluation, Recommendation
from alpinist.reports.recommend.common import (
    COLUMNS,
    LEVEL_MARK,
    candidate_title,
    current_text,
    measurement_line,
    next_step_parts,
    noted_evaluations,
    row_of,
    skipped_repositories,
    winner_text,
)
from alpinist.reports.rich_text import printable, safe_text
from alpinist.reports.scan.table import SEVERITY_STYLE

STATUS_STYLE = {"ok": "green", "not scanned": "yellow", "error": "red", "incompatible": "red"}
LEVEL_STYLE = {"blocker": "red", "warning": "yellow", "info": "dim"}
NUMERIC = frozenset({"#", "C/H", "Total", "Fixable", "Size"})


def render_recommend_table(rec: Recommendation, console: Console) -> None:
    """Print the current base, the ranked candidates, their notes, the skipped tags, the ranking rules,
    the warnings and the next step."""
    base_style = SEVERITY_STYLE["CRITICAL"] if rec.current.measurement is None else ""
    console.print(
        _hanging(
            [
                ("Current base:", current_text(rec.current), "bold"),
                ("", measurement_line(rec.current), base_style),
            ]
        )
    )
    if rec.evaluations:
        _print_candidates(rec, console)
    _print_notes(rec, console)
    _print_skipped(rec, console)
    if rec.ranking:
        console.print(Text("Ranking", "bold"))
        console.print(_hanging([(f" {i}.", rule, "") for i, rule in enumerate(rec.ranking, 1)]))
    for warning in rec.warnings:
        console.print(_hanging([("warning:", warning, "yellow")]))
    console.print()
    console.print(safe_text(winner_text(rec), "bold green" if rec.winner is not None else "bold red"))
    if (step := next_step_parts(rec)) is not None:
        # one line, never wrapped: it is a command (or a FROM line) to copy as it is
        line = safe_text("Next: ", "bold")
        line.append_text(safe_text("".join(step)))
        console.print(line, soft_wrap=True)


# When the whole table does not fit the console, it is printed as two tables that both start with the
# rank and the candidate: the ranking facts, then what is in each image.
FIRST = ("#", "Candidate", "Python", "C/H", "Total", "Fixable", "Size", "Status")
SECOND = ("#", "Candidate", "Family", "User", "Shell", "Pkg mgr")
# How a table too wide for the console gives way, step by step: (column, width it may shrink to; None
# for the least that cuts no word). A long candidate first gives up its extra width, then the least
# essential columns wrap, the candidate last.
SHRINK_STEPS: tuple[tuple[str, int | None], ...] = (
    ("Candidate", 28),
    ("Pkg mgr", None),
    ("Family", None),
    ("Python", None),
    ("Size", None),
    ("User", None),
    ("Status", None),
    ("Fixable", None),
    ("Total", None),
    ("C/H", None),
    ("Candidate", None),
)
GAP = 2  # columns are two spaces apart
BREAK_AFTER = re.compile(r"(?<=[/:@-])")


def _print_candidates(rec: Recommendation, console: Console) -> None:
    rows = [(e, row_of(e, rec).cells()) for e in rec.evaluations]
    if _natural_width(COLUMNS, rows) <= console.width:
        console.print(_table(rec, COLUMNS, rows, console.width))
        return
    console.print(_table(rec, FIRST, rows, console.width))
    console.print()
    console.print(_table(rec, SECOND, rows, console.width))


def _widths(header: str, cells: list[str]) -> tuple[int, int]:
    """A column's natural width (no cell wraps) and its least (no word is cut; the candidate may break
    after ``/``, ``:``, ``@`` and ``-``)."""
    texts = [printable(c) for c in cells]
    natural = max(cell_len(t) for t in [header, *texts])
    if header == "Size":  # "49.6 MB" stays on one line, "(−62%)" goes under it
        words = [w for t in texts for w in t.rsplit(" (", 1)]
    elif header == "Candidate":
        words = [w for t in texts for w in BREAK_AFTER.split(t)]
    else:
        words = [w for t in texts for w in t.split()]
    return natural, max(cell_len(w) for w in [header, *words])


def _natural_width(headers: tuple[str, ...], rows: list[tuple[Evaluation, list[str]]]) -> int:
    return sum(_widths(h, [cells[COLUMNS.index(h)] for _, cells in rows])[0] for h in headers) + GAP * (
        len(headers) - 1
    )


def _allocate(headers: tuple[str, ...], rows: list[tuple[Evaluation, list[str]]], width: int) -> list[int]:
    """Column widths that fit ``width``: natural, then the least essential columns wrapped first; when
    even that is too wide, every column is narrowed in turn and rich folds the words (nothing is cut)."""
    measured = [_widths(h, [cells[COLUMNS.index(h)] for _, cells in rows]) for h in headers]
    widths = [natural for natural, _ in measured]
    excess = sum(widths) + GAP * (len(headers) - 1) - width
    for header, floor in SHRINK_STEPS:
        if excess > 0 and header in headers:
            i = headers.index(header)
            cut = max(0, min(excess, widths[i] - max(measured[i][1], floor or 0)))
            widths[i] -= cut
            excess -= cut
    while excess > 0 and max(widths) > 1:
        widest = widths.index(max(widths))
        widths[widest] -= 1
        excess -= 1
    return widths


def _break_reference(reference: str, width: int) -> str:
    """``reference`` on lines of at most ``width``, broken after ``/``, ``:``, ``@`` or ``-`` (a longer
    piece is left to rich to fold)."""
    lines = [""]
    for piece in BREAK_AFTER.split(reference):
        if lines[-1] and cell_len(lines[-1] + piece) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(lines)


def _table(
    rec: Recommendation, headers: tuple[str, ...], rows: list[tuple[Evaluation, list[str]]], width: int
) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True)
    widths = _allocate(headers, rows, width)
    for header, w in zip(headers, widths, strict=True):
        # a cell wider than its column wraps at spaces, and a word wider than it folds: nothing is cut
        table.add_column(header, justify="right" if header in NUMERIC else "left", width=w, overflow="fold")
    winner = rec.winner
    for e, cells in rows:
        texts = []
        for header, w in zip(headers, widths, strict=True):
            cell = printable(cells[COLUMNS.index(header)])
            if header == "Candidate":
                cell = _break_reference(cell, w)
            text = Text(cell)
            if header == "Status":
                text.stylize(STATUS_STYLE.get(cell, ""))
            texts.append(text)
        table.add_row(*texts, style="bold" if e is winner else "")
    return table


def _hanging(lines: list[tuple[str, str, str]]) -> Table:
    """(mark, text, style) lines with the text's wrapped lines indented under its first."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for mark, text, style in lines:
        grid.add_row(safe_text(mark, style), safe_text(text))
    return grid


def _print_notes(rec: Recommendation, console: Console) -> None:
    noted = noted_evaluations(rec)
    if not noted:
        return
    console.print(Text("Notes", "bold"))
    for e in noted:
        console.print(_hanging([(" ", candidate_title(e), "bold")]))
        console.print(
            _hanging(
                [
                    (f"   {LEVEL_MARK[n.level]}", f"{n.topic}: {n.message}", LEVEL_STYLE[n.level])
                    for n in e.notes
                ]
            )
        )


def _print_skipped(rec: Recommendation, console: Console) -> None:
    repos = skipped_repositories(rec.skipped)
    if not repos and not rec.listed:
        return
    console.print(Text("Skipped tags", "bold"))
    for r in repos:
        console.print(_hanging([(" ", r.summary, "")]))
        examples = ", ".join(r.examples) + (f" (+{r.more} more)" if r.more else "")
        console.print(_hanging([("   e.g.", examples, "dim")]))
    if rec.listed:
        console.print(_hanging([(" listed:", ", ".join(rec.listed), "dim")]))
