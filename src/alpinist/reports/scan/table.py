"""The ``scan`` report for people (rich): what was scanned, the summary, a table sorted by severity.

Layout::

    python-app:debian  sha256:5b0e…  Debian GNU/Linux 12 (bookworm)  144 packages scanned
    52 vulnerabilities found in 22 packages
    CRITICAL 3  HIGH 11  MEDIUM 17  LOW 20  NEGLIGIBLE 0  UNKNOWN 1
    <table: Severity | ID | Package | Installed | Fixed | Status | Type | Layer | Severity source>
    <footer: suppressed (ignore file / VEX), hidden by filters, the --fail-on verdict>

Strings from the image or the feeds go through ``Text`` after non-printable characters are escaped,
as in ``sbom_table``: neither rich markup nor terminal escapes inside an image can change the output.
Warnings are not printed here: the CLI writes them on stderr, one line each.
"""

from __future__ import annotations

from collections import Counter

from rich import box
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


def render_scan_table(result: ScanResult, console: Console) -> None:
    """Print the scan: header line, summary line, severity counts, findings table, footer."""
    inv = result.inventory
    summary = result.summary
    header = [safe_text(image_title(inv.image), "bold")]
    if inv.image.manifest_digest:
        header.append(safe_text(inv.image.manifest_digest[:19] + "…"))
    if inv.os is not None:
        header.append(safe_text(inv.os.pretty_name or f"{inv.os.id} {inv.os.version}"))
    header.append(safe_text(f"{summary.packages_scanned} packages scanned"))
    console.print(Text("  ").join(header))
    console.print(safe_text(summary_line(summary), "bold"))
    counts = Text("  ").join(
        Text.assemble((severity, SEVERITY_STYLE[severity]), f" {count}")
        for severity, count in summary.by_severity
    )
    console.print(counts)
    if result.findings:
        console.print(findings_table(list(result.findings)))
    for line in footer_lines(result):
        console.print(safe_text(line))


def findings_table(findings: list[Finding]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)

    # ids, names and versions never wrap or shrink (a cut version reads as another version): their
    # columns are as wide as their widest cell. The severity source, the least needed cell, gives way
    # first on a narrow console.
    def widest(cells: list[str], header: str) -> int:
        return max([len(header), *(len(printable(c)) for c in cells)])

    table.add_column("Severity", no_wrap=True, min_width=10)
    table.add_column("ID", no_wrap=True, min_width=widest([f.id for f in findings], "ID"))
    table.add_column(
        "Package", no_wrap=True, min_width=widest([_package_cell(f).plain for f in findings], "Package")
    )
    table.add_column(
        "Installed", no_wrap=True, min_width=widest([f.installed_version for f in findings], "Installed")
    )
    table.add_column(
        "Fixed", no_wrap=True, min_width=widest([f.fixed_version or "-" for f in findings], "Fixed")
    )
    table.add_column("Status", no_wrap=True, min_width=11)
    table.add_column("Type", no_wrap=True, min_width=6)
    table.add_column("Layer", justify="right", no_wrap=True, min_width=5)
    table.add_column("Severity source", overflow="ellipsis", no_wrap=True, ratio=1)
    for f in findings:  # already sorted by the scan (worst first)
        table.add_row(
            safe_text(f.severity, SEVERITY_STYLE[f.severity]),
            safe_text(f.id),
            _package_cell(f),
            safe_text(f.installed_version),
            safe_text(f.fixed_version or "-"),
            safe_text(f.status),
            safe_text(f.package.type),
            safe_text(str(f.package.layer_index) if f.package.layer_index is not None else ""),
            safe_text(f.severity_source, "dim"),
        )
    return table


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


__all__ = ["findings_table", "footer_lines", "render_scan_table"]
