"""Strings from an image, a feed or a Dockerfile, made safe for a rich console.

Every table formatter prints such strings through ``safe_text``: non-printable characters (ESC, CR, …)
are shown as escapes and the result is a ``rich.text.Text``, so neither rich markup nor terminal escapes
inside an image can change what is shown.
"""

from __future__ import annotations

from rich import box
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text


def printable(text: str) -> str:
    """Printable text only: control characters (ESC, CR, ...) shown as escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def safe_text(text: str | None, style: str = "") -> Text:
    """``text`` (None reads as empty) as a rich ``Text`` in ``style``, escaped by ``printable``."""
    return Text(printable(text or ""), style=style)


GAP = 2  # a table of ``table_box`` has its columns two spaces apart


def word_widths(header: str, cells: list[str]) -> tuple[int, int]:
    """A column's natural width (no cell wraps) and its least (no word is cut)."""
    texts = [printable(c) for c in cells]
    natural = max(cell_len(t) for t in [header, *texts])
    return natural, max(cell_len(w) for t in [header, *texts] for w in [*t.split(), ""])


def fit_widths(
    measured: list[tuple[int, int]],
    width: int,
    order: list[int] | None = None,
    keep: frozenset[int] = frozenset(),
) -> list[int]:
    """Column widths (of ``(natural, least)`` measures) whose sum with the gaps fits ``width``: the
    columns of ``order`` (indices; every column by default, widest first) give way down to their least,
    then, when even that is too wide, the widest column not in ``keep`` is narrowed in turn, down to 4
    (its words fold: a cell is never cut, it goes on the next line)."""
    widths = [natural for natural, _ in measured]
    excess = sum(widths) + GAP * (len(widths) - 1) - width
    steps = order if order is not None else sorted(range(len(widths)), key=lambda i: -widths[i])
    for i in steps:
        if excess <= 0:
            break
        cut = max(0, min(excess, widths[i] - measured[i][1]))
        widths[i] -= cut
        excess -= cut
    while excess > 0:
        free = [i for i in range(len(widths)) if i not in keep and widths[i] > 4]
        if not free:
            break
        widest = max(free, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def table_box() -> Table:
    """The tables' look: a rule under the header, no edges, columns two spaces apart."""
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
