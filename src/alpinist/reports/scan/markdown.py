"""Markdown for a pull-request comment: a summary table, then the findings in a collapsible table.

GitHub-flavoured Markdown. Cells are escaped (``|``, backslash, newlines, HTML-significant ``<``/``>``
and ``&``) so that nothing from an image or a feed can break the table or inject markup. GitHub
refuses comments over 65,536 characters: the findings table stops before ``max_chars`` (default
60,000) and says how many rows it left out, pointing to the JSON report for the rest.
"""

from __future__ import annotations

from alpinist.inventory.naming import image_title
from alpinist.reports.markdown_text import markdown_cell
from alpinist.scan.model import Finding, ScanResult, summary_line

DEFAULT_MAX_CHARS = 60_000


def _id_cell(f: Finding) -> str:
    vuln_id = f.id
    url = f.url_of(vuln_id)
    return f"[{markdown_cell(vuln_id)}]({url})" if url else markdown_cell(vuln_id)


def render_scan_markdown(result: ScanResult, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    inv = result.inventory
    summary = result.summary
    lines = [f"### alpinist scan: `{image_title(inv.image).replace('`', '')}`", ""]
    facts = []
    if inv.image.manifest_digest:
        facts.append(f"digest `{inv.image.manifest_digest}`")
    if inv.os is not None:
        facts.append(markdown_cell(inv.os.pretty_name or f"{inv.os.id} {inv.os.version}"))
    facts.append(f"{summary.packages_scanned} packages scanned")
    lines += [" · ".join(facts), "", f"**{summary_line(summary)}**", ""]
    names = [s for s, _ in summary.by_severity]
    lines.append("| " + " | ".join(names) + " |")
    lines.append("|" + "---:|" * len(names))
    lines.append("| " + " | ".join(str(c) for _, c in summary.by_severity) + " |")
    lines.append("")
    notes = []
    if result.suppressed:
        notes.append(f"{len(result.suppressed)} suppressed (ignore file or VEX)")
    if result.filtered:
        notes.append(f"{result.filtered} hidden by filters")
    if result.policy.fail_on is not None:
        notes.append(
            f"policy `--fail-on {result.policy.fail_on}`: **{'failed' if result.failed else 'passed'}**"
        )
    if notes:
        lines += ["; ".join(notes), ""]
    if result.findings:
        lines += _findings_table(list(result.findings), max_chars - sum(len(x) + 1 for x in lines))
    if result.suppressed:
        lines += ["", "<details><summary>Suppressed</summary>", ""]
        lines += ["| ID | Package | Installed | Reason |", "|---|---|---|---|"]
        for s in result.suppressed:
            f = s.finding
            lines.append(
                f"| {_id_cell(f)} | {markdown_cell(f.package.name)} | {markdown_cell(f.installed_version)} | {markdown_cell(s.reason)} |"
            )
        lines += ["", "</details>"]
    if result.warnings:
        lines += ["", "<details><summary>Warnings</summary>", ""]
        lines += [f"- {markdown_cell(w)}" for w in result.warnings]
        lines += ["", "</details>"]
    return "\n".join(lines).rstrip("\n")


def _findings_table(findings: list[Finding], budget: int) -> list[str]:
    head = [
        f"<details><summary>Findings ({len(findings)})</summary>",
        "",
        "| Severity | ID | Package | Installed | Fixed | Status | Type |",
        "|---|---|---|---|---|---|---|",
    ]
    tail_reserve = 200
    used = sum(len(x) + 1 for x in head)
    rows: list[str] = []
    for f in findings:
        row = (
            f"| {f.severity} | {_id_cell(f)} | {markdown_cell(f.package.name)} | {markdown_cell(f.installed_version)} | "
            f"{markdown_cell(f.fixed_version) or '-'} | {f.status} | {f.package.type} |"
        )
        if used + len(row) + 1 > budget - tail_reserve:
            break
        rows.append(row)
        used += len(row) + 1
    out = head + rows
    left = len(findings) - len(rows)
    if left:
        out += ["", f"… and {left} more findings not shown here (see `--format json` for all of them)."]
    out += ["", "</details>"]
    return out
