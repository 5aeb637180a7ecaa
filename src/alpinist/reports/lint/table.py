"""``alpinist lint`` for people: one row per finding (line, severity, rule, stage, message, fix) and a
summary line. Text from the Dockerfile is printed as ``rich.text.Text`` with non-printable characters
escaped, so neither rich markup nor terminal escapes in a Dockerfile can change what is shown."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from alpinist.dockerfile.lint import LintResult
from alpinist.reports.rich_text import printable

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def summary_line(result: LintResult) -> str:
    """``3 findings (1 error, 1 warning, 1 info) in Dockerfile`` (+ ``, 2 suppressed``)."""
    counts = result.counts()
    total = len(result.findings)
    name = result.path or "Dockerfile"
    if total == 0:
        line = f"no findings in {name}"
    else:
        parts = [f"{n} {sev}" for sev, n in counts.items() if n]
        line = f"{total} finding{'s' if total != 1 else ''} ({', '.join(parts)}) in {name}"
    if result.suppressed:
        line += f", {len(result.suppressed)} suppressed by ignore comments"
    return line


def render_lint_table(result: LintResult, console: Console) -> None:
    if result.findings:
        table = Table(box=box.SIMPLE_HEAD, show_lines=False, expand=False)
        table.add_column("Line", justify="right", no_wrap=True)
        table.add_column("Severity", no_wrap=True)
        table.add_column("Rule", no_wrap=True)
        table.add_column("Stage", no_wrap=True)
        # long words (a URL, a command) fold onto the next line instead of being cut
        table.add_column("Finding", overflow="fold")
        table.add_column("Fix", overflow="fold")
        for f in result.findings:
            table.add_row(
                Text(str(f.line)),
                Text(f.severity, style=_STYLE[f.severity]),
                Text(f.rule),
                Text(printable(f.stage or "-")),
                Text(printable(f.message)),
                Text(printable(f.fix), style="dim"),
            )
        console.print(table)
    console.print(Text(summary_line(result)))
