"""What ``fleet scan`` and ``fleet rescan`` print for people: the run (its id, resumed or not and how many
images the resumed run had already recorded), this invocation's outcomes by status and time, the errors
(image → message) and the images with new high or critical findings, with their ids.

Errors and new findings are listed by reference (an engine returns outcomes in no fixed order), findings
worst first. Strings from images and the store go through ``safe_text``; on a narrow console the columns
fold (nothing is cut).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from alpinist.fleet.model import FleetRun
from alpinist.reports.fleet.common import plural, run_title, short_digest, status_text, worst_first
from alpinist.reports.rich_text import fit_widths, safe_text, table_box, word_widths
from alpinist.reports.scan.table import SEVERITY_STYLE
from alpinist.scan.model import FindingRef


def _fitted(
    headers: tuple[str, ...],
    rows: list[list[Text]],
    width: int,
    order: list[int],
    keep: frozenset[int] = frozenset(),
) -> Table:
    """``rows`` under ``headers``, the columns of ``order`` giving way first when ``width`` is short; the
    columns of ``keep`` never narrower than their longest word (an id cut in two reads as two ids)."""
    measured = [word_widths(h, [r[i].plain for r in rows]) for i, h in enumerate(headers)]
    widths = fit_widths(measured, width, order, keep)
    table = table_box()
    for header, w in zip(headers, widths, strict=True):
        table.add_column(header, width=w, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _ids(findings: tuple[FindingRef, ...]) -> Text:
    """``CVE-1 (CRITICAL), CVE-2 (HIGH)``, worst first, each id in its severity's style."""
    out = Text()
    for k, f in enumerate(worst_first(findings)):
        if k:
            out.append(", ")
        out.append_text(safe_text(f.id, SEVERITY_STYLE.get(f.severity, "")))
        out.append(f" ({f.severity})")
    return out


def render_fleet_run_table(run: FleetRun, console: Console) -> None:
    info = run.run
    resumed = (
        f"resumed ({plural(run.already, 'image', 'images')} recorded before it stopped, not done again)"
        if run.resumed
        else "a new run"
    )
    console.print(safe_text(f"{run_title(info)}, {resumed}", "bold"))
    console.print(safe_text(f"store {run.store}"))
    console.print(
        safe_text(
            f"database {info.db_version} · engine {info.engine} · {plural(info.images, 'image', 'images')} listed"
        )
    )
    console.print(safe_text(f"this invocation: {status_text(run.counts)} in {run.seconds:.1f} s"))
    if run.resumed:
        console.print(safe_text(f"the whole run: {status_text(info.counts)}"))
    if run.errors:
        console.print()
        console.print(safe_text(f"Errors ({len(run.errors)})", "bold red"))
        rows = [[safe_text(ref), safe_text(error)] for ref, error in sorted(run.errors)]
        console.print(_fitted(("Image", "Error"), rows, console.width, [1, 0]))
    if run.new:
        console.print()
        console.print(
            safe_text(
                f"New high or critical findings ({plural(len(run.new), 'image', 'images')}, "
                f"{sum(len(n.findings) for n in run.new)} findings)",
                "bold",
            )
        )
        ordered = sorted(run.new, key=lambda n: (n.reference, n.digest or ""))
        rows = [
            [safe_text(n.reference), safe_text(short_digest(n.digest)), _ids(n.findings)] for n in ordered
        ]
        console.print(_fitted(("Image", "Digest", "IDs"), rows, console.width, [2, 0, 1], frozenset({2})))
    else:
        console.print()
        console.print(safe_text("No image has new high or critical findings."))
