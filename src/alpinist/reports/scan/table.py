"""The ``scan`` report for people (rich): what was scanned, the summary, a table sorted by severity.

Layout::

    python-app:debian  sha256:5b0e…  Debian GNU/Linux 12 (bookworm)  144 packages scanned
    52 vulnerabilities found in 22 packages
    CRITICAL 3  HIGH 11  MEDIUM 17  LOW 20  NEGLIGIBLE 0  UNKNOWN 1
    <table: Severity | ID | Package | Installed | Fixed | Status | Type | Layer | Severity source>
    not shown at 100 columns: Severity source (--wide or -f json shows them)
    <footer: suppressed (ignore file / VEX), hidden by filters, the --fail-on verdict>

Strings from the image or the feeds go through ``Text`` after non-printable characters are escaped,
as in ``sbom_table``: neither rich markup nor terminal escapes inside an image can change the output.
Warnings are not printed here: the CLI writes them on stderr, one line each.
"""

from __future__ import annotations

from collections import Counter

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from alpinist.inventory.naming import image_title
from alpinist.reports.rich_text import printable, safe_text
from alpinist.scan.model import Finding, ScanResult, summary_line

SEVERITY_STYLE = {
    "CRITICAL": "bold red",
    "HIGH": "red",
    "MEDIUM": "yellow",
    "LOW": "cyan",
    "NEGLIGIBLE": "dim",
    "UNKNOWN": "dim",
}


def render_scan_table(result: ScanResult, console: Console, wide: bool = False) -> None:
    """Print the scan: header line, summary line, severity counts, findings table, footer.

    The table's essential columns (severity, id, package, installed, fixed) are always there; the
    others (status, type, layer, severity source) are left out, last first, when the table would not
    fit the console, and a line under the table names them. ``wide`` keeps every column at its full
    width, whatever the console (lines longer than the console are not cut: the terminal wraps them).
    """
    inv = result.inventory
    summary = result.summary
    header = [safe_text(image_title(inv.image), "bold")]
    if inv.image.manifest_digest:
        header.append(safe_text(inv.image.manifest_digest[:19] + "…"))
    if inv.os is not None:
        header.append(safe_text(inv.os.pretty_name or f"{inv.os.id} {inv.os.version}"))
    header.append(safe_text(f"{summary.packages_scanned} packages scanned"))
    console.print(Text("  ").join(header), overflow="fold")
    console.print(safe_text(summary_line(summary), "bold"), overflow="fold")
    shown = result.policy.severities
    # with --severity, only the severities asked for are counted (the others are hidden, not zero)
    counts = Text("  ").join(
        Text.assemble((severity, SEVERITY_STYLE[severity]), f" {count}")
        for severity, count in summary.by_severity
        if shown is None or severity in shown
    )
    console.print(counts, overflow="fold")
    if result.findings:
        findings = list(result.findings)
        columns = ALL_COLUMNS if wide else fitting_columns(findings, console.width)
        table = findings_table(findings, columns, None if wide else console.width)
        if wide:
            _print_wide(console, table, max(console.width, _natural_width(findings, ALL_COLUMNS)))
        else:
            console.print(table)
        left_out = [c for c in ALL_COLUMNS if c not in columns]
        if left_out:
            console.print(
                safe_text(
                    f"not shown at {console.width} columns: {', '.join(left_out)} (--wide or -f json shows them)",
                    "dim",
                ),
                overflow="fold",
            )
    for line in footer_lines(result):
        console.print(safe_text(line), overflow="fold")


ESSENTIAL_COLUMNS = ("Severity", "ID", "Package", "Installed", "Fixed")
OPTIONAL_COLUMNS = ("Status", "Type", "Layer", "Severity source")  # the last is left out first
ALL_COLUMNS = ESSENTIAL_COLUMNS + OPTIONAL_COLUMNS
GAP = 2  # columns are two spaces apart (a padding of one, collapsed, and the box's blank separator)


SHORT_SEVERITY = {"CRITICAL": "CRIT", "MEDIUM": "MED", "NEGLIGIBLE": "NEGL", "UNKNOWN": "UNKN"}
PACKAGE_FLOOR = 12  # the package column gives way down to this width before the versions fold


def _cells(f: Finding, short: bool = False) -> dict[str, Text]:
    severity = SHORT_SEVERITY.get(f.severity, f.severity) if short else f.severity
    return {
        "Severity": safe_text(severity, SEVERITY_STYLE[f.severity]),
        "ID": safe_text(f.id),
        "Package": _package_cell(f),
        "Installed": safe_text(f.installed_version),
        "Fixed": safe_text(f.fixed_version or "-"),
        "Status": safe_text(f.status),
        "Type": safe_text(f.package.type),
        "Layer": safe_text(str(f.package.layer_index) if f.package.layer_index is not None else ""),
        "Severity source": safe_text(f.severity_source, "dim"),
    }


def _column_widths(findings: list[Finding], short: bool = False) -> dict[str, int]:
    widths = {name: cell_len(name) for name in ALL_COLUMNS}
    for f in findings:
        for name, text in _cells(f, short).items():
            widths[name] = max(widths[name], cell_len(text.plain))
    return widths


def _natural_width(findings: list[Finding], columns: tuple[str, ...]) -> int:
    widths = _column_widths(findings)
    return sum(widths[c] for c in columns) + GAP * (len(columns) - 1)


def fitting_columns(findings: list[Finding], width: int) -> tuple[str, ...]:
    """The essential columns and as many of the others, in order, as fit ``width`` at their natural
    width (no cell wrapped)."""
    columns: tuple[str, ...] = ALL_COLUMNS
    while len(columns) > len(ESSENTIAL_COLUMNS) and _natural_width(findings, columns) > width:
        columns = columns[:-1]
    return columns


FOLDING = ("Package", "Installed", "Fixed")  # the columns that wrap or fold on a narrow console


def _fit(findings: list[Finding], columns: tuple[str, ...], width: int) -> tuple[dict[str, int], bool]:
    """Column widths for ``width`` and whether severities are abbreviated (``CRIT``, ``NEGL``…: only
    when the package names would otherwise fold)."""
    names = max((cell_len(printable(f.package.name)) for f in findings), default=0)
    for short in (False, True):
        widths = _column_widths(findings, short)
        fixed = sum(widths[c] for c in columns if c not in FOLDING) + GAP * (len(columns) - 1)
        avail = width - fixed
        folding = {c: widths[c] for c in FOLDING}
        excess = sum(folding.values()) - avail
        # the package wraps first (its source package under its name), down to its longest name
        cut = max(0, min(excess, folding["Package"] - max(names, PACKAGE_FLOOR)))
        folding["Package"] -= cut
        excess -= cut
        if excess <= 0 or short:
            break
    # still too wide: the widest of the three folds, one column at a time, down to its header
    while excess > 0:
        shrinkable = [c for c in FOLDING if folding[c] > max(cell_len(c), 4)]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda c: folding[c])
        folding[widest] -= 1
        excess -= 1
    widths.update(folding)
    return widths, short


def findings_table(
    findings: list[Finding], columns: tuple[str, ...] = ALL_COLUMNS, width: int | None = None
) -> Table:
    """The findings with ``columns`` (the essential ones always), every column at its natural width,
    or fitted to ``width``: the package wraps first (its source package goes under its name), then
    severities are abbreviated, then the versions fold onto a second line. Ids and severities are
    never broken (a CVE id cut at a hyphen reads as another id), and nothing is cut."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    if width is None:
        widths, short = _column_widths(findings), False
    else:
        widths, short = _fit(findings, columns, width)
    for name in columns:
        table.add_column(
            name,
            width=widths[name],
            no_wrap=name not in FOLDING,
            overflow="fold",
            justify="right" if name == "Layer" else "left",
        )
    for f in findings:  # already sorted by the scan (worst first)
        cells = _cells(f, short)
        table.add_row(*(cells[name] for name in columns))
    return table


def _print_wide(console: Console, table: Table, width: int) -> None:
    """``table`` at ``width`` columns even on a narrower console: lines are not cut, the terminal
    wraps them."""
    from rich.segment import Segments

    for line in console.render_lines(table, console.options.update(width=width), new_lines=True):
        console.print(Segments(line), end="", crop=False, soft_wrap=True)


def _package_cell(f: Finding) -> Text:
    text = safe_text(f.package.name)
    if f.advisory_package and f.advisory_package != f.package.name and f.package.type in ("deb", "apk"):
        text.append_text(safe_text(f" ({f.advisory_package})", "dim"))
    if f.package.vendored:
        text.append_text(safe_text(" vendored", "yellow"))
    return text


def footer_lines(result: ScanResult) -> list[str]:
    lines: list[str] = []
    if result.suppressed:
        by = Counter(s.by for s in result.suppressed)
        parts = [
            f"{n} by {'the ignore file' if kind == 'ignore-file' else 'VEX'}"
            for kind, n in sorted(by.items())
        ]
        lines.append(f"{len(result.suppressed)} suppressed ({', '.join(parts)}):")
        for s in result.suppressed:
            lines.append(
                f"  {s.finding.id} {s.finding.package.name} {s.finding.installed_version}: {s.reason}"
            )
    if result.filtered:
        how = [
            flag
            for flag, on in (
                ("--only-fixed", result.policy.only_fixed),
                ("--severity", result.policy.severities is not None),
            )
            if on
        ]
        lines.append(f"{result.filtered} hidden by {' and '.join(how) or 'filters'}")
    if result.policy.fail_on is not None:
        verdict = "FAIL" if result.failed else "pass"
        lines.append(f"policy: {verdict} (--fail-on {result.policy.fail_on})")
    return lines


__all__ = [
    "ALL_COLUMNS",
    "ESSENTIAL_COLUMNS",
    "findings_table",
    "fitting_columns",
    "footer_lines",
    "render_scan_table",
]
