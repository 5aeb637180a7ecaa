"""``alpinist history`` for people: per image (in the order of its first run), one table of its runs,
oldest first. Strings from images go through ``safe_text``."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.table import Table

from alpinist.advisories.model import SEVERITIES
from alpinist.history.model import History
from alpinist.reports.rich_text import GAP, fit_widths, printable, safe_text, table_box, word_widths

_SHORT = {"NEGLIGIBLE": "Negl.", "UNKNOWN": "Unkn."}


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value is not None else ""


def render_history_table(history: History, console: Console) -> None:
    images = history.images
    runs = len(history.entries)
    console.print(
        safe_text(
            f"{runs} {'run' if runs == 1 else 'runs'} of {len(images)} "
            f"{'image' if len(images) == 1 else 'images'} in {history.path}",
            "bold",
        )
    )
    for name in images:
        entries = history.of_image(name)
        console.print(safe_text(name, "bold"))
        rows = [
            {
                "Time (UTC)": _time(e.recorded_at),
                "Verb": e.verb,
                "Digest": printable((e.manifest_digest or "")[:19]),
                **{_SHORT.get(sev, sev.capitalize()): str(e.count(sev)) for sev in SEVERITIES},
                "Total": str(e.findings),
                "IDs": str(e.unique_ids),
                "Pkgs": str(e.packages),
                "New": "" if e.new is None else str(e.new),
                "Gone": "" if e.gone is None else str(e.gone),
                "Database": _time(e.db_updated_at),
            }
            for e in entries
        ]
        if _natural(ALL, rows) <= console.width:
            console.print(_table(ALL, rows, console.width))
        else:  # as recommend does: two tables, both starting with the time of the run
            console.print(_table(COUNTS, rows, console.width))
            console.print()
            console.print(_table(FACTS, rows, console.width))


SEVERITY_COLUMNS = tuple(_SHORT.get(sev, sev.capitalize()) for sev in SEVERITIES)
ALL = ("Time (UTC)", "Verb", "Digest", *SEVERITY_COLUMNS, "Total", "IDs", "Pkgs", "New", "Gone", "Database")
# on a console too narrow for ALL: the counts, then the facts of each run
COUNTS = ("Time (UTC)", "Verb", *SEVERITY_COLUMNS, "Total")
FACTS = ("Time (UTC)", "Digest", "IDs", "Pkgs", "New", "Gone", "Database")
TEXT_COLUMNS = frozenset({"Time (UTC)", "Verb", "Digest", "Database"})


def _natural(headers: tuple[str, ...], rows: list[dict[str, str]]) -> int:
    return sum(word_widths(h, [r[h] for r in rows])[0] for h in headers) + GAP * (len(headers) - 1)


def _table(headers: tuple[str, ...], rows: list[dict[str, str]], width: int) -> Table:
    """The columns ``headers`` fitted to ``width``: times wrap at their space, nothing is cut."""
    measured = [word_widths(h, [r[h] for r in rows]) for h in headers]
    # the database's time wraps first, then the run's (at their space), then the rest
    order = [headers.index(h) for h in ("Database", "Time (UTC)") if h in headers]
    widths = fit_widths(measured, width, order + [i for i in range(len(headers)) if i not in order])
    table = table_box()
    for h, w in zip(headers, widths, strict=True):
        table.add_column(h, width=w, overflow="fold", justify="left" if h in TEXT_COLUMNS else "right")
    for r in rows:
        table.add_row(*(safe_text(r[h]) for h in headers))
    return table
