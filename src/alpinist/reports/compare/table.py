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

from rich.console import Console
from rich.table import Table
from rich.text import Text

from alpinist.compare.model import LEGEND, Comparison, CveDiff, PackageIds, tally_text
from alpinist.reports.rich_text import fit_widths, safe_text, table_box, word_widths
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
    # a cell wider than its column wraps at spaces and a longer word folds: nothing is cut. When the
    # table is too wide, the line names wrap first, then the images' cells, the verdicts last.
    rows = _rows(comparison)
    headers = ["", *(c.label for c in cols), "Better"]
    measured = [word_widths(h, [r[i].plain for r in rows]) for i, h in enumerate(headers)]
    order = [0, *sorted(range(1, len(cols) + 1), key=lambda i: -measured[i][0]), len(cols) + 1]
    widths = fit_widths(measured, console.width, order)
    table = table_box()
    for i, (header, w) in enumerate(zip(headers, widths, strict=True)):
        table.add_column(
            safe_text(header, "bold") if 0 < i <= len(cols) else header, width=w, overflow="fold"
        )
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for tally in comparison.tallies():
        console.print(safe_text(tally_text(comparison, tally)), overflow="fold")
    if any(m.tie or m.equivalent for m in comparison.metrics):
        console.print(safe_text(f"Better: {LEGEND}", "dim"), overflow="fold")
    for error in comparison.errors:
        console.print(safe_text(f"error: {error}", "red"))
    for diff in comparison.diffs:
        console.print()
        _print_diff(comparison, diff, console)


def _rows(comparison: Comparison) -> list[list[Text]]:
    cols = comparison.columns
    rows = [[Text("Image"), *(safe_text(c.title) for c in cols), Text("")]]
    if any(c.short_digest for c in cols):
        rows.append([Text("Digest"), *(safe_text(c.short_digest, "dim") for c in cols), Text("")])
    if any(not c.ok for c in cols):
        rows.append([Text("Error", "red"), *(safe_text(c.error or "", "red") for c in cols), Text("")])
    for m in comparison.metrics:
        cells = [_cell(comparison, m.key, i) if c.ok else Text(MISSING, "dim") for i, c in enumerate(cols)]
        style = "bold" if m.key == "vulnerabilities" else ""
        rows.append([safe_text(m.label, style), *cells, safe_text(comparison.verdict_text(m))])
    return rows


def _group_line(group: PackageIds) -> Text:
    line = safe_text(group.package, "bold")
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
        if groups:
            # each package on its own lines, indented under its name: ids break at spaces, never at
            # their hyphens
            grid = Table.grid()
            grid.add_column(no_wrap=True, width=4)
            grid.add_column(overflow="fold")
            for group in groups:
                grid.add_row(Text(""), _group_line(group))
            console.print(grid)
