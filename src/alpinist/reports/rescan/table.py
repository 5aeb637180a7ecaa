"""``alpinist rescan`` for people: one line of totals, then the images that gained or lost findings (and
the unreadable files), each with its gained (``+``) and lost (``-``) findings. Unchanged images are only
counted. Strings from SBOMs go through ``safe_text``."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from alpinist.reports.rich_text import fit_widths, safe_text, table_box, word_widths
from alpinist.reports.scan.table import SEVERITY_STYLE
from alpinist.scan.model import FindingRef, RescanResult

COLUMNS = ("", "Severity", "ID", "Package", "Version", "Fixed", "Status")
WHOLE = frozenset({"", "Severity", "ID", "Status"})  # never wrapped: a cut id reads as another id


def _changes_table(gained: Sequence[FindingRef], lost: Sequence[FindingRef], width: int) -> Table:
    """The findings gained (+) and lost (-): ids, severities and statuses whole; on a narrow console the
    package wraps and versions fold onto the next line (nothing is cut)."""
    rows = [
        [
            Text(sign, style="green" if sign == "-" else "red"),
            Text(r.severity, style=SEVERITY_STYLE.get(r.severity, "")),
            safe_text(r.id),
            safe_text(f"{r.package} ({r.type})"),
            safe_text(r.version),
            safe_text(r.fixed_version or ""),
            safe_text(r.status),
        ]
        for sign, refs in (("+", gained), ("-", lost))
        for r in refs
    ]
    measured = []
    for i, header in enumerate(COLUMNS):
        natural, least = word_widths(header, [row[i].plain for row in rows])
        measured.append((natural, natural if header in WHOLE else min(natural, max(least, 10))))
    keep = frozenset(i for i, h in enumerate(COLUMNS) if h in WHOLE)
    widths = fit_widths(measured, width, [3, 4, 5], keep)
    table = table_box()
    for header, w in zip(COLUMNS, widths, strict=True):
        table.add_column(header, width=w, overflow="fold", no_wrap=header in WHOLE)
    for row in rows:
        table.add_row(*row)
    return table


def render_rescan_table(result: RescanResult, console: Console) -> None:
    gained = sum(len(i.gained) for i in result.images)
    lost = sum(len(i.lost) for i in result.images)
    console.print(
        safe_text(
            f"{len(result.images)} SBOMs rescanned, {len(result.changed)} changed "
            f"(+{gained} / -{lost} findings), {result.errors} unreadable",
            "bold",
        )
    )
    for image in result.images:
        if image.error is not None:
            console.print(safe_text(f"{image.file}: unreadable: {image.error}", "red"))
            continue
        if not (image.gained or image.lost):
            continue
        note = " (first rescan)" if image.first else ""
        console.print(
            safe_text(f"{image.file}  {image.title}{note}: {image.findings} findings, ", "bold")
            + safe_text(f"+{len(image.gained)} -{len(image.lost)}")
        )
        console.print(_changes_table(image.gained, image.lost, console.width))
    if result.fail_on is not None:
        verdict = "FAILED" if result.failed else "passed"
        console.print(safe_text(f"--fail-on {result.fail_on}: {verdict} (new findings only)"))
