"""``alpinist fleet report --format html``: the fleet dashboard as one self-contained page.

Self-contained as the compare and history pages are (their frame, ``reports/compare/html.py``: inline
styles, a Content-Security-Policy of ``default-src 'none'``, no script, font, stylesheet or image); every
string from an image, a feed or the store is escaped. Sections:

- ``#run``: the store, the last run (kind, times, database version, engine, images by status) and the run
  before it;
- ``#worst``: ``table.worst``, one ``tr[data-reference]`` per image, worst first (all of them), and the
  errors with their messages (``ul.errors``);
- ``#new``: per image with findings its previous result did not have, a ``table.new`` of them, critical and
  high first, with the fixed version when there is one;
- ``#trends``: for the :data:`~alpinist.reports.fleet.common.TREND_LIMIT` worst images, a small line chart
  (history's ``line_chart``) of the image's total and high + critical findings over its runs:
  ``figure.fig-trend[data-reference]`` holding one ``svg.chart-trend``; a line says how many images were
  left out;
- ``#base``: the images still on a base that would be moved, with the advice.

An empty store (no run) gives a page that says so, without the sections.
"""

from __future__ import annotations

from alpinist import __version__
from alpinist.advisories.model import SEVERITIES
from alpinist.fleet.model import FleetView, ImageReport, RunInfo
from alpinist.reports.compare.html import CSS, SEVERITY_FILL, SIZE_FILL, e, inline_code, page_start
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
from alpinist.reports.history.json import iso
from alpinist.reports.history.svg import Series, line_chart

TOTAL_STROKE = SIZE_FILL["compressed"]
SEVERE_STROKE = SEVERITY_FILL["HIGH"]
TREND_WIDTH = 360

FLEET_CSS = """
table.facts th { background: #f7f8f9; font-weight: 600; white-space: nowrap; }
table.worst, table.new, table.base { width: 100%; }
table.worst { font-size: .9em; }
table.worst td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.worst td.ref, table.new td, table.base td { overflow-wrap: anywhere; }
table.worst td.ref, table.base td.ref { min-width: 12em; }
table.worst td.os { white-space: nowrap; }
div.scroll { overflow-x: auto; }  /* a narrow window scrolls the table, not the page */
table.worst tr.error td.status { color: #a30000; font-weight: 600; }
table.worst td.zero { color: #999; }
table.base td.advice { white-space: pre-line; }
ul.errors li { overflow-wrap: anywhere; }
h3 { font-size: 1rem; margin: 1.25rem 0 .25rem; overflow-wrap: anywhere; }
.trends { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1rem 1.5rem; }
.trends figure { margin: 0; min-width: 0; }
.trends figcaption { overflow-wrap: anywhere; }
.trends figcaption .values { display: block; font-weight: normal; color: #555; font-size: .85em; }
svg.chart-trend { display: block; max-width: 100%; height: auto; }
svg.chart-trend text.x-label, svg.chart-trend text.y-label { fill: #555; }
p.empty { font-size: 1.1rem; }
"""


def _run_rows(label: str, run: RunInfo) -> list[str]:
    return [
        f'<tr data-key="{e(label.lower().replace(" ", "-"))}"><th scope="row">{e(label)}</th>'
        f"<td>{e(run_title(run))}, {e(run_when(run))}</td></tr>",
        f'<tr><th scope="row">Database</th><td><code>{e(run.db_version)}</code></td></tr>',
        f'<tr><th scope="row">Engine</th><td><code>{e(run.engine)}</code></td></tr>',
        f'<tr><th scope="row">Images</th><td>{e(plural(run.images, "image", "images"))} listed: '
        f"{e(status_text(run.counts))}</td></tr>",
    ]


def _run_section(view: FleetView, run: RunInfo) -> list[str]:
    rows = [
        f'<tr><th scope="row">Store</th><td><code>{e(view.store)}</code></td></tr>',
        *_run_rows("Last run", run),
    ]
    if view.previous is not None:
        rows += _run_rows("Run before it", view.previous)
    else:
        rows.append('<tr data-key="run-before-it"><th scope="row">Run before it</th><td>none</td></tr>')
    return [
        '<section id="run">',
        "<h2>Last run</h2>",
        '<table class="facts"><tbody>',
        *rows,
        "</tbody></table>",
        "</section>",
    ]


def _worst_row(i: ImageReport) -> str:
    latest = i.latest
    error = latest.status == "error"
    if error:
        counts = ['<td class="num missing">—</td>'] * (len(SEVERITIES) + 1)
    else:
        counts = [f'<td class="num{" zero" if n == 0 else ""}">{n}</td>' for _, n in latest.by_severity]
        counts.append(f'<td class="num total">{total(latest.by_severity)}</td>')
    cls = ' class="error"' if error else ""
    return (
        f'<tr data-reference="{e(i.reference)}" data-status="{e(latest.status)}"{cls}>'
        f'<td class="ref">{e(i.reference)}</td><td class="os">{e(latest.os or "")}</td>{"".join(counts)}'
        f"<td><code>{e(short_digest(latest.digest))}</code></td>"
        f'<td class="status">{e(latest.status)}</td></tr>'
    )


def _worst_section(view: FleetView) -> list[str]:
    head = "".join(
        f'<th scope="col">{e(h)}</th>'
        for h in ("Image", "OS", *(s.capitalize() for s in SEVERITIES), "Total", "Digest", "Status")
    )
    parts = [
        '<section id="worst">',
        "<h2>Worst images</h2>",
        f'<p class="meta">{e(plural(len(view.images), "image", "images"))}, worst first: findings after the '
        "default policy of each image's latest result (an <em>unchanged</em> image keeps the findings of the "
        "result it repeats).</p>",
        f'<div class="scroll"><table class="worst"><thead><tr>{head}</tr></thead><tbody>',
        *(_worst_row(i) for i in view.images),
        "</tbody></table></div>",
    ]
    errors = [i for i in view.images if i.latest.status == "error"]
    if errors:
        parts += [
            f"<h3>Errors ({len(errors)})</h3>",
            '<ul class="errors">'
            + "".join(
                f'<li data-reference="{e(i.reference)}"><b>{e(i.reference)}</b>: '
                f"{e(i.latest.error or 'unknown error')}</li>"
                for i in errors
            )
            + "</ul>",
        ]
    parts.append("</section>")
    return parts


def _new_section(view: FleetView) -> list[str]:
    parts = ['<section id="new">', "<h2>New CVEs since the last run</h2>"]
    images = with_new(view.images)
    if not images:
        return [
            *parts,
            '<p class="none">No image has findings its previous result did not have.</p>',
            "</section>",
        ]
    parts.append(
        f'<p class="meta">{e(plural(len(images), "image has", "images have"))} findings their previous result '
        f"did not have ({len(view.new_high_or_critical)} with new high or critical ones).</p>"
    )
    for i in images:
        found = worst_first(i.new)
        rows = "".join(
            f'<tr data-id="{e(f.id)}"><td><span class="sev sev-{e(f.severity)}">{e(f.severity)}</span></td>'
            f"<td>{e(f.id)}</td><td>{e(f.package)} ({e(f.type)})</td><td>{e(f.version)}</td>"
            f"<td>{e(f.fixed_version) if f.fixed_version else '—'}</td></tr>"
            for f in found
        )
        parts += [
            f'<h3 data-reference="{e(i.reference)}">{e(i.reference)}: '
            f"{e(plural(len(found), 'new finding', 'new findings'))}</h3>",
            f'<div class="scroll"><table class="new" data-reference="{e(i.reference)}"><thead><tr>'
            "<th>Severity</th><th>ID</th><th>Package</th><th>Version</th><th>Fixed in</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>",
        ]
    parts.append("</section>")
    return parts


def trend_sparkline(i: ImageReport, *, width: int = TREND_WIDTH) -> str:
    """The image's total and high + critical findings over its runs (oldest first): one small ``<svg>``."""
    totals, severe = trend_values(i.trend)
    labels = [f"#{p.run_id}" for p in i.trend]
    when = [f"{i.reference} · run #{p.run_id} · {iso(p.recorded_at)}" for p in i.trend]
    series = [
        Series(
            label="Total",
            values=totals,
            stroke=TOTAL_STROKE,
            titles=tuple(f"{w}: {n} findings" for w, n in zip(when, totals, strict=True)),
            css_class="total",
            data=(("series", "total"),),
        ),
        Series(
            label="High + critical",
            values=severe,
            stroke=SEVERE_STROKE,
            titles=tuple(f"{w}: {n} high or critical" for w, n in zip(when, severe, strict=True)),
            css_class="high-or-critical",
            data=(("series", "high-or-critical"),),
        ),
    ]
    return line_chart(
        labels,
        series,
        title=f"Findings over runs: {i.reference}",
        css_class="chart chart-trend",
        data=(("reference", i.reference),),
        width=width,
        plot_height=70,
        left=36,
        right=16,
        font_size=11,
    )


def _trend_section(view: FleetView) -> list[str]:
    shown = view.images[:TREND_LIMIT]
    parts = [
        '<section id="trends">',
        "<h2>Trend per image</h2>",
        '<p class="meta">Total and high + critical findings after each run that recorded the image, oldest '
        "first (x: the run's number; hover a point for its time).</p>",
        '<div class="trends">',
    ]
    for i in shown:
        totals, severe = trend_values(i.trend)
        parts.append(f'<figure class="fig-trend" data-reference="{e(i.reference)}">')
        values = (
            f'<span class="values">total {e(trend_text(totals))}; high + critical {e(trend_text(severe))}</span>'
            if i.trend
            else ""
        )
        parts.append(f"<figcaption>{e(i.reference)}{values}</figcaption>")
        parts.append(trend_sparkline(i) if i.trend else '<p class="note">No result recorded yet.</p>')
        parts.append("</figure>")
    parts.append("</div>")
    left = len(view.images) - len(shown)
    if left:
        parts.append(
            f'<p class="left-out">{e(plural(left, "more image is", "more images are"))} not shown here: the '
            f"{TREND_LIMIT} worst are.</p>"
        )
    parts.append("</section>")
    return parts


def _base_section(view: FleetView) -> list[str]:
    parts = ['<section id="base">', "<h2>Images on a base that would be moved</h2>"]
    images = with_advice(view.images)
    if not images:
        return [*parts, '<p class="none">None.</p>', "</section>"]
    rows = "".join(
        f'<tr data-reference="{e(i.reference)}"><td class="ref">{e(i.reference)}</td>'
        f'<td class="advice">{inline_code(i.base_advice or "")}</td></tr>'
        for i in images
    )
    return [
        *parts,
        '<div class="scroll"><table class="base"><thead><tr><th>Image</th><th>Advice</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>",
        "</section>",
    ]


def render_fleet_html(view: FleetView) -> str:
    parts = [*page_start(f"alpinist fleet: {view.store}", CSS + FLEET_CSS)]
    run = view.run
    if run is None:
        parts += [
            "</header>",
            f'<p class="empty">The store <code>{e(view.store)}</code> has no run yet: '
            "<code>alpinist fleet scan</code> records one.</p>",
        ]
    else:
        severe = sum(1 for i in view.images if high_or_critical(i.latest.by_severity))
        parts += [
            f'<p class="meta">{e(plural(len(view.images), "image", "images"))}, {severe} with high or critical '
            f"findings; last run {e(run_title(run))}, {e(run_when(run))}; alpinist {e(__version__)}</p>",
            "</header>",
            *_run_section(view, run),
            *_worst_section(view),
            *_new_section(view),
            *_trend_section(view),
            *_base_section(view),
        ]
    parts += [f"<footer>alpinist {e(__version__)} · fleet report</footer>", "</body>", "</html>"]
    return "\n".join(parts)
