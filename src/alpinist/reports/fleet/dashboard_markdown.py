"""``alpinist fleet report --format markdown``: the dashboard as GitHub-flavoured Markdown (an issue, a wiki
page, a pull-request comment), with the sections of the HTML page: the last run, the worst images, the CVEs
new since the last run, the trend of each image as text (``12 → 9 → 7``) and the images whose base would be
moved. Every string from an image, a feed or the store goes through ``markdown_cell``.
"""

from __future__ import annotations

from alpinist.advisories.model import SEVERITIES
from alpinist.fleet.model import FleetView, ImageReport, RunInfo
from alpinist.reports.fleet.common import (
    TREND_LIMIT,
    high_or_critical,
    plural,
    run_title,
    run_when,
    short_digest,
    status_text,
    total,
    trend_text,
    trend_values,
    with_advice,
    with_new,
    worst_first,
)
from alpinist.reports.markdown_text import markdown_cell

MISSING = "—"
SEVERITY_HEADERS = tuple({"NEGLIGIBLE": "Negl."}.get(s, s.capitalize()) for s in SEVERITIES)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(headers: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    return [_row(list(headers)), "|" + "---|" * len(headers), *(_row(r) for r in rows)]


def _run_line(label: str, run: RunInfo) -> str:
    return (
        f"**{label}**: {run_title(run)}, {run_when(run)}; database {markdown_cell(run.db_version)}; "
        f"engine {markdown_cell(run.engine)}; {plural(run.images, 'image', 'images')}: {status_text(run.counts)}"
    )


def _worst(view: FleetView) -> list[str]:
    headers = ("Image", "OS", *SEVERITY_HEADERS, "Total", "Digest", "Status")
    rows = []
    for i in view.images:
        latest = i.latest
        counts = (
            [MISSING] * (len(SEVERITIES) + 1)
            if latest.status == "error"
            else [*(str(n) for _, n in latest.by_severity), str(total(latest.by_severity))]
        )
        rows.append(
            [
                markdown_cell(i.reference),
                markdown_cell(latest.os),
                *counts,
                markdown_cell(short_digest(latest.digest)),
                latest.status,
            ]
        )
    lines = ["#### Worst images", "", *_table(headers, rows), ""]
    errors = [i for i in view.images if i.latest.status == "error"]
    if errors:
        lines += [f"**Errors** ({len(errors)})", ""]
        lines += [
            f"- {markdown_cell(i.reference)}: {markdown_cell(i.latest.error or 'unknown error')}"
            for i in errors
        ]
        lines.append("")
    return lines


def _new(view: FleetView) -> list[str]:
    lines = ["#### New CVEs since the last run", ""]
    images = with_new(view.images)
    if not images:
        return [*lines, "No image has findings its previous result did not have.", ""]
    lines += [
        f"{plural(len(images), 'image has', 'images have')} findings their previous result did not have "
        f"({len(view.new_high_or_critical)} with new high or critical ones).",
        "",
    ]
    for i in images:
        found = worst_first(i.new)
        lines += [
            f"**{markdown_cell(i.reference)}**: {plural(len(found), 'new finding', 'new findings')}",
            "",
        ]
        rows = [
            [
                f.severity,
                markdown_cell(f.id),
                f"{markdown_cell(f.package)} ({markdown_cell(f.type)})",
                markdown_cell(f.version),
                markdown_cell(f.fixed_version) if f.fixed_version else MISSING,
            ]
            for f in found
        ]
        lines += [*_table(("Severity", "ID", "Package", "Version", "Fixed in"), rows), ""]
    return lines


def _trends(view: FleetView) -> list[str]:
    lines = ["#### Trend per image", ""]
    shown = view.images[:TREND_LIMIT]
    rows = []
    for i in shown:
        totals, severe = trend_values(i.trend)
        rows.append(
            [
                markdown_cell(i.reference),
                str(len(i.trend)),
                trend_text(totals) or MISSING,
                trend_text(severe) or MISSING,
            ]
        )
    lines += ["Findings after each run that recorded the image, oldest first.", ""]
    lines += [*_table(("Image", "Runs", "Total", "High + critical"), rows), ""]
    left = len(view.images) - len(shown)
    if left:
        lines += [
            f"{plural(left, 'more image is', 'more images are')} not shown: the {TREND_LIMIT} worst are.",
            "",
        ]
    return lines


def _advice(i: ImageReport) -> list[str]:
    return [markdown_cell(i.reference), markdown_cell(i.base_advice)]


def _base(view: FleetView) -> list[str]:
    lines = ["#### Images on a base that would be moved", ""]
    images = with_advice(view.images)
    if not images:
        return [*lines, "None.", ""]
    return [*lines, *_table(("Image", "Advice"), [_advice(i) for i in images]), ""]


def render_fleet_markdown(view: FleetView) -> str:
    lines = [f"### alpinist fleet: {markdown_cell(view.store)}", ""]
    if view.run is None:
        lines.append("The store has no run yet: `alpinist fleet scan` records one.")
        return "\n".join(lines)
    lines.append(_run_line("Last run", view.run) + (" \\" if view.previous is not None else ""))
    if view.previous is not None:
        lines.append(_run_line("Run before it", view.previous))
    lines.append("")
    severe = sum(1 for i in view.images if high_or_critical(i.latest.by_severity))
    lines += [
        f"{plural(len(view.images), 'image', 'images')} in the store, {severe} with high or critical findings.",
        "",
    ]
    lines += _worst(view) + _new(view) + _trends(view) + _base(view)
    return "\n".join(lines).rstrip("\n")
