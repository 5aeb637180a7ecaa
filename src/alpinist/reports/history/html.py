"""``alpinist history --format html``: one self-contained page, per image a line chart of its findings per
severity over its runs (``svg.line_chart``) and the table of those runs.

Self-contained as the compare report is (``reports/compare/html.py``: its styles, a Content-Security-Policy
of ``default-src 'none'``, no script, font or image); every string is escaped. ``trend_chart`` is also the
trend of an image in ``compare --format html --history FILE``.

Chart elements: ``svg.chart-history[data-image]``, one ``g.series.sev-<severity>[data-severity]`` per
severity with a ``polyline.line`` (two runs or more) and one ``circle.point`` per run (``data-run`` index,
``data-count``), whose ``<title>`` says the image, the time and the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from alpinist import __version__
from alpinist.advisories.model import SEVERITIES
from alpinist.history.model import History, HistoryEntry
from alpinist.reports.compare.html import CSS, SEVERITY_FILL, e, page_start
from alpinist.reports.history.json import iso
from alpinist.reports.history.svg import Series, line_chart

HISTORY_CSS = """
table.history { font-size: .9em; }
table.history td { white-space: nowrap; }
table.history td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg.chart-history text.x-label, svg.chart-history text.y-label { fill: #555; }
"""


def _x_label(entry: HistoryEntry) -> str:
    return entry.recorded_at.strftime("%Y-%m-%d %H:%M")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def trend_chart(name: str, entries: Sequence[HistoryEntry], *, width: int = 880) -> str:
    """Findings per severity over ``entries`` (oldest first) of the image ``name``: one ``<svg>``."""
    series = [
        Series(
            label=severity.capitalize(),
            values=tuple(x.count(severity) for x in entries),
            stroke=SEVERITY_FILL[severity],
            titles=tuple(
                f"{name} · {iso(x.recorded_at)} ({x.verb}): {x.count(severity)} {severity}" for x in entries
            ),
            css_class=f"sev-{severity.lower()}",
            data=(("severity", severity),),
        )
        for severity in SEVERITIES
    ]
    return line_chart(
        [_x_label(x) for x in entries],
        series,
        title=f"Findings per severity over time: {name}",
        css_class="chart chart-history",
        data=(("image", name),),
        width=width,
    )


def _runs_table(entries: Sequence[HistoryEntry]) -> str:
    head = (
        "".join(
            f"<th>{e(h)}</th>"
            for h in ("Time (UTC)", "Verb", "Digest", *(s.capitalize() for s in SEVERITIES), "Total", "IDs")
        )
        + "<th>Packages</th><th>New</th><th>Gone</th><th>Database</th>"
    )
    rows = [f'<table class="history"><thead><tr>{head}</tr></thead><tbody>']
    for x in entries:
        cells = [
            f"<td>{e(_when(x.recorded_at))}</td>",
            f"<td>{e(x.verb)}</td>",
            f"<td><code>{e((x.manifest_digest or '')[:19])}</code></td>",
            *(f'<td class="num">{x.count(s)}</td>' for s in SEVERITIES),
            f'<td class="num">{x.findings}</td>',
            f'<td class="num">{x.unique_ids}</td>',
            f'<td class="num">{x.packages}</td>',
            f'<td class="num">{"" if x.new is None else x.new}</td>',
            f'<td class="num">{"" if x.gone is None else x.gone}</td>',
            f"<td>{e(_when(x.db_updated_at))}</td>",
        ]
        rows.append(f'<tr data-run="{x.id}">{"".join(cells)}</tr>')
    rows.append("</tbody></table>")
    return "\n".join(rows)


def render_history_html(history: History) -> str:
    title = f"alpinist history: {history.path}"
    parts = [
        *page_start(title, CSS + HISTORY_CSS),
        f'<p class="meta">{_plural(len(history.entries), "run", "runs")} of '
        f"{_plural(len(history.images), 'image', 'images')}"
        + (f", image {e(history.image)}" if history.image else "")
        + (f", since {e(iso(history.since))}" if history.since else "")
        + f"; alpinist {e(__version__)}</p>",
        "</header>",
    ]
    if not history.entries:
        parts.append('<p class="empty">No runs recorded.</p>')
    for name in history.images:
        entries = history.of_image(name)
        parts += [
            f'<section class="image" data-image="{e(name)}">',
            f"<h2>{e(name)}</h2>",
            f'<figure class="fig-history"><figcaption>Findings per severity, {len(entries)} '
            f"{'run' if len(entries) == 1 else 'runs'}</figcaption>",
            trend_chart(name, entries),
            "</figure>",
            _runs_table(entries),
            "</section>",
        ]
    parts += [f"<footer>alpinist {e(__version__)} · history</footer>", "</body>", "</html>"]
    return "\n".join(parts)
