"""The gate for people (rich)::

    python-app:debian  sha256:fad3…  baseline: oci:…:python-app:debian (143 findings)
    9 new, 0 gone, 0 changed severity, 143 unchanged
    FAIL: 3 new findings at or above HIGH
    New  <table: Severity | ID | Package | Installed | Fixed | Type>
    Changed severity  <table: Was | Now | ID | Package | Installed>
    Gone  <table: Severity | ID | Package | Installed | Type>

Every string from the image, a feed or the baseline goes through ``safe_text``.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from alpinist.inventory.naming import image_title
from alpinist.reports.rich_text import safe_text
from alpinist.reports.scan.table import SEVERITY_STYLE
from alpinist.scan.baseline import GateResult, gate_summary_line, gate_verdict


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for column in columns:
        # ids and severities are never broken (a CVE id cut at a hyphen reads as another id)
        whole = column in ("Severity", "ID")
        table.add_column(column, overflow="fold", no_wrap=whole, min_width=19 if column == "ID" else None)
    return table


def _severity(severity: str) -> Text:
    return Text(severity, style=SEVERITY_STYLE.get(severity, ""))


def render_gate_table(result: GateResult, console: Console) -> None:
    facts = result.scan.inventory.image
    header = [safe_text(image_title(facts), "bold")]
    if facts.manifest_digest:
        header.append(safe_text(facts.manifest_digest[:19] + "…"))
    header.append(
        safe_text(f"baseline: {result.baseline.image.reference} ({len(result.baseline.entries)} findings)")
    )
    if result.forced:
        header.append(safe_text(f"forced: recorded for {result.baseline.image.repository}", "yellow"))
    console.print(Text("  ").join(header))
    console.print(safe_text(gate_summary_line(result), "bold"))
    console.print(safe_text(gate_verdict(result), "bold red" if result.failed else "bold green"))
    if result.new:
        table = _table("New", "Severity", "ID", "Package", "Installed", "Fixed", "Type")
        for f in result.new:
            table.add_row(
                _severity(f.severity),
                safe_text(f.id),
                safe_text(f.package.name),
                safe_text(f.installed_version),
                safe_text(f.fixed_version or "-"),
                safe_text(f.package.type),
            )
        console.print(table)
    if result.changed:
        table = _table("Changed severity", "Was", "Now", "ID", "Package", "Installed")
        for c in result.changed:
            table.add_row(
                _severity(c.entry.severity),
                _severity(c.finding.severity),
                safe_text(c.finding.id),
                safe_text(c.finding.package.name),
                safe_text(c.finding.installed_version),
            )
        console.print(table)
    if result.gone:
        table = _table("Gone", "Severity", "ID", "Package", "Installed", "Type")
        for e in result.gone:
            table.add_row(
                _severity(e.severity),
                safe_text(e.id),
                safe_text(e.package_name),
                safe_text(e.installed_version),
                safe_text(e.package_type),
            )
        console.print(table)
    if result.moved:
        console.print(
            safe_text(
                f"{len(result.moved)} accepted findings now in another installed version "
                "(not new; see --format json)"
            )
        )
