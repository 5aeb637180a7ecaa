"""The comparison for people (rich): the metric table, the tallies, then the CVE diff.

Layout::

    <table: metric | before | after | … | Better>
    after vs before: better on 12 lines, worse on 1, the same on 3
    error: bad: /nonexistent: not an OCI layout directory
    CVE diff: after vs before: removes 83 ids in 33 packages, adds 26 in 3, keeps 1
      removed
        glibc (deb: libc-bin 2.36-9+deb12u14, libc6 …)  CVE-2025-4802 CRITICAL, …
      added
        …

Strings from the image or the feeds go through ``Text`` after non-printable characters are escaped
(``reports.rich_text``): neither rich markup nor terminal escapes inside an image can change the output.
Warnings are not printed here: the CLI writes them on stderr, one line each.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from alpinist.compare.model import Comparison, CveDiff, PackageIds, tally_text
from alpinist.reports.rich_text import safe_text
from alpinist.reports.scan.table import SEVERITY_STYLE

MISSING = "—"


def _cell(comparison: Comparison, key: str, i: int) -> Text:
    m = comparison.metric(key)
    text = safe_text(m.texts[i])
    delta = m.delta(i) if comparison.columns[0].ok else ""
    if delta:
        text.append(f" ({delta})", style="dim")
    if i in m.best:
        text.stylize("bold green")
    return text


def render_compare_table(comparison: Comparison, console: Console) -> None:
    cols = comparison.columns
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("")
    for c in cols:
        table.add_column(safe_text(c.label, "bold"))
    table.add_column("Better")
    table.add_row(Text("Image"), *(safe_text(c.title) for c in cols), Text(""))
    if any(c.short_digest for c in cols):
        table.add_row(Text("Digest"), *(safe_text(c.short_digest, "dim") for c in cols), Text(""))
    if any(not c.ok for c in cols):
        table.add_row(Text("Error", "red"), *(safe_text(c.error or "", "red") for c in cols), Text(""))
    for m in comparison.metrics:
        cells = [_cell(comparison, m.key, i) if c.ok else Text(MISSING, "dim") for i, c in enumerate(cols)]
        style = "bold" if m.key == "vulnerabilities" else ""
        table.add_row(safe_text(m.label, style), *cells, safe_text(comparison.verdict_text(m)))
    console.print(table)
    for tally in comparison.tallies():
        console.print(safe_text(tally_text(comparison, tally)))
    for error in comparison.errors:
        console.print(safe_text(f"error: {error}", "red"))
    for diff in comparison.diffs:
        console.print()
        _print_diff(comparison, diff, console)


def _group_line(group: PackageIds) -> Text:
    line = safe_text(f"    {group.package}", "bold")
    line.append_text(safe_text(f" ({group.type}: {', '.join(group.installed)})", "dim"))
    line.append("  ")
    for n, d in enumerate(group.ids):
        if n:
            line.append(", ")
        line.append_text(safe_text(d.id))
        line.append(" ")
        line.append_text(safe_text(d.severity, SEVERITY_STYLE.get(d.severity, "")))
    return line


def _print_diff(comparison: Comparison, diff: CveDiff, console: Console) -> None:
    a = comparison.columns[diff.image].label
    b = comparison.columns[diff.against].label
    console.print(
        safe_text(
            f"CVE diff: {a} vs {b}: removes {diff.removed_ids} ids in {len(diff.removed)} packages, "
            f"adds {diff.added_ids} in {len(diff.added)}, keeps {diff.unchanged}",
            "bold",
        )
    )
    for title, groups in (("removed", diff.removed), ("added", diff.added)):
        console.print(
            safe_text(
                f"  {title}: {'none' if not groups else ''}".rstrip(),
                "green" if title == "removed" else "red",
            )
        )
        for group in groups:
            console.print(_group_line(group), overflow="fold")
