"""``alpinist rescan`` for people: one line of totals, then the images that gained or lost findings (and
the unreadable files), each with its gained (``+``) and lost (``-``) findings. Unchanged images are only
counted. Strings from SBOMs go through ``safe_text``."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from alpinist.reports.rich_text import safe_text
from alpinist.reports.scan.table import SEVERITY_STYLE
from alpinist.scan.model import RescanResult


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
        table = Table(box=box.SIMPLE, show_edge=False)
        for column in ("", "Severity", "ID", "Package", "Version", "Fixed", "Status"):
            table.add_column(column)
        for sign, refs in (("+", image.gained), ("-", image.lost)):
            for r in refs:
                table.add_row(
                    Text(sign, style="green" if sign == "-" else "red"),
                    Text(r.severity, style=SEVERITY_STYLE.get(r.severity, "")),
                    safe_text(r.id),
                    safe_text(f"{r.package} ({r.type})"),
                    safe_text(r.version),
                    safe_text(r.fixed_version or ""),
                    safe_text(r.status),
                )
        console.print(table)
    if result.fail_on is not None:
        verdict = "FAILED" if result.failed else "passed"
        console.print(safe_text(f"--fail-on {result.fail_on}: {verdict} (new findings only)"))
