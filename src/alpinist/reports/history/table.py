"""``alpinist history`` for people: per image (in the order of its first run), one table of its runs,
oldest first. Strings from images go through ``safe_text``."""

from __future__ import annotations

from datetime import datetime

from rich import box
from rich.console import Console
from rich.table import Table

from alpinist.advisories.model import SEVERITIES
from alpinist.history.model import History
from alpinist.reports.rich_text import safe_text

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
        table = Table(box=box.SIMPLE, show_edge=False)
        table.add_column("Time (UTC)")
        table.add_column("Verb")
        table.add_column("Digest")
        for severity in SEVERITIES:
            table.add_column(_SHORT.get(severity, severity.capitalize()), justify="right")
        for column in ("Total", "IDs", "Pkgs", "New", "Gone"):
            table.add_column(column, justify="right")
        table.add_column("Database")
        for e in entries:
            table.add_row(
                _time(e.recorded_at),
                e.verb,
                safe_text((e.manifest_digest or "")[:19]),
                *(str(e.count(s)) for s in SEVERITIES),
                str(e.findings),
                str(e.unique_ids),
                str(e.packages),
                "" if e.new is None else str(e.new),
                "" if e.gone is None else str(e.gone),
                _time(e.db_updated_at),
            )
        console.print(table)
