"""The comparison as one self-contained HTML file: the table, three charts (inline SVG), the CVE diff.

Self-contained: the styles are inline, the charts are ``<svg>`` elements in the page (``reports/svg.py``),
no font, script, stylesheet or image is loaded, and a Content-Security-Policy (``default-src 'none'``)
makes the browser refuse any fetch should one slip in. There is no JavaScript: the tables are HTML
tables, the diff folds with ``<details>``, chart tooltips are SVG ``<title>`` elements. All text is real
text (selectable, searchable, read by screen readers); every string from an image or a feed is escaped.

Charts, each with stable classes and ``data-*`` attributes (the browser test counts them):

- ``svg.chart-cves``: one ``g.bar.cve-bar[data-image]`` per image, one ``rect.seg.sev-<severity>``
  per non-zero severity (``data-image``, ``data-severity``, ``data-count``);
- ``svg.chart-sizes``: per image a ``g.bar.size-bar`` for the compressed and one for the uncompressed
  size, one ``rect.seg.size-compressed``/``rect.seg.size-uncompressed`` each (``data-bytes``);
- ``svg.chart-layers``: one ``g.bar.layer-bar[data-image]`` per image, one ``rect.seg.layer`` per layer
  (``data-layer`` index, ``data-bytes``, ``data-diff-id``), ``created_by`` in its ``<title>``; a layer
  found in several of the compared images has the same colour in each (and the class ``shared``).

An image that could not be read has an empty bar (class ``error``) and its error in the table.
"""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING

from alpinist import __version__
from alpinist.advisories.model import SEVERITIES
from alpinist.compare.metrics import human_bytes
from alpinist.compare.model import Comparison, CveDiff, DiffId, ImageColumn, PackageIds, tally_text
from alpinist.reports.compare.svg import Bar, LegendItem, Segment, bar_chart

if TYPE_CHECKING:
    from alpinist.history.model import History

SEVERITY_FILL = {
    "CRITICAL": "#8e0b0b",
    "HIGH": "#e0452b",
    "MEDIUM": "#f2a33a",
    "LOW": "#f2d74e",
    "NEGLIGIBLE": "#6fa8dc",  # blue: told apart from UNKNOWN's grey by its hue, not its shade
    "UNKNOWN": "#b9b9b9",
}
SIZE_FILL = {"compressed": "#3b6ea8", "uncompressed": "#9cc1e6"}
LAYER_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#e15759",
    "#9c755f",
    "#bab0ac",
    "#ff9da7",
)

CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #1d1d1f; background: #fff; line-height: 1.4; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .75rem; border-bottom: 1px solid #ddd; padding-bottom: .25rem; }
.meta { color: #555; margin: 0 0 1rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #d5d5d5; padding: .3rem .6rem; text-align: left; vertical-align: top; }
thead th { background: #f1f3f5; }
table.compare td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.compare td.best { background: #e3f5e1; font-weight: 600; }
table.compare td.error { color: #a30000; }
table.compare tr.headline th, table.compare tr.headline td { border-top: 2px solid #999; }
.delta { color: #666; font-weight: normal; font-size: .9em; }
.verdict { color: #1f6b1f; }
.tallies { margin: 0 0 1rem; padding-left: 1.2rem; }
.errors { color: #a30000; }
figure { margin: 0 0 1.5rem; }
figcaption { font-weight: 600; margin-bottom: .25rem; }
figure p.note { color: #555; font-size: .9em; margin: .25rem 0 0; }
svg text.bar-total { fill: #333; }
svg text.group-label { fill: #111; }
details { margin: .5rem 0 1rem; }
summary { cursor: pointer; font-weight: 600; }
table.diff td.ids { max-width: 720px; }
.vuln { white-space: nowrap; }
.sev { font-size: .8em; padding: 0 .3em; border-radius: 3px; color: #fff; white-space: nowrap; }
.sev-CRITICAL { background: #8e0b0b; } .sev-HIGH { background: #e0452b; } .sev-MEDIUM { background: #b86e00; }
.sev-LOW { background: #8a7400; } .sev-NEGLIGIBLE { background: #2b6cb0; } .sev-UNKNOWN { background: #6b6b6b; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; }
footer { color: #666; font-size: .85em; margin-top: 2rem; }
"""


def e(text: object) -> str:
    return escape(str(text), quote=True)


def inline_code(text: str) -> str:
    """``text`` escaped, its `backquoted` spans as ``<code>`` (warnings are written for a terminal,
    where the backquotes mark a command; on the page they would show as literal backquotes)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", e(text))


# ---------------------------------------------------------------------------------------------- charts


def cve_chart(comparison: Comparison) -> str:
    bars = []
    for col in comparison.columns:
        data = (("image", col.label),)
        if col.summary is None:
            bars.append(
                Bar(col.label, (), total="could not be read", css_class="bar cve-bar error", data=data)
            )
            continue
        segs = tuple(
            Segment(
                value=count,
                fill=SEVERITY_FILL[sev],
                title=f"{col.label}: {count} {sev}",
                css_class=f"seg sev-{sev.lower()}",
                data=(("image", col.label), ("severity", sev), ("count", str(count))),
            )
            for sev, count in col.summary.by_severity
            if count > 0
        )
        bars.append(
            Bar(col.label, segs, total=str(col.summary.vulnerabilities), css_class="bar cve-bar", data=data)
        )
    legend = [
        LegendItem(sev.capitalize(), SEVERITY_FILL[sev], f"legend-item sev-{sev.lower()}")
        for sev in SEVERITIES
    ]
    return bar_chart(bars, title="Vulnerabilities by severity", css_class="chart chart-cves", legend=legend)


def size_chart(comparison: Comparison) -> str:
    bars = []
    for col in comparison.columns:
        facts = col.facts
        if facts is None:
            bars.append(
                Bar(
                    "—",
                    (),
                    total="could not be read",
                    group=col.label,
                    css_class="bar size-bar error",
                    data=(("image", col.label),),
                )
            )
            continue
        for kind, size in (("compressed", facts.compressed_size), ("uncompressed", facts.uncompressed_size)):
            segs = (
                ()
                if size is None
                else (
                    Segment(
                        value=size,
                        fill=SIZE_FILL[kind],
                        title=f"{col.label}: {human_bytes(size)} {kind} ({size:,} bytes)",
                        css_class=f"seg size-{kind}",
                        data=(("image", col.label), ("kind", kind), ("bytes", str(size))),
                    ),
                )
            )
            bars.append(
                Bar(
                    kind,
                    segs,
                    total=human_bytes(size),
                    group=col.label,
                    css_class=f"bar size-bar size-{kind}",
                    data=(("image", col.label), ("kind", kind)),
                )
            )
    legend = [LegendItem(k.capitalize(), f, f"legend-item size-{k}") for k, f in SIZE_FILL.items()]
    return bar_chart(bars, title="Image size", css_class="chart chart-sizes", legend=legend)


def layer_measure(comparison: Comparison) -> str:
    """``uncompressed`` when every layer of every readable image has its uncompressed size, else ``compressed``."""
    layers = [layer for col in comparison.columns for layer in col.layers]
    return "uncompressed" if all(layer.uncompressed_size is not None for layer in layers) else "compressed"


def layer_chart(comparison: Comparison) -> str:
    measure = layer_measure(comparison)
    seen: dict[str, int] = {}
    owners: dict[str, set[int]] = {}
    for i, col in enumerate(comparison.columns):
        for layer in col.layers:
            key = layer.diff_id or layer.digest
            seen.setdefault(key, len(seen))
            owners.setdefault(key, set()).add(i)
    bars = []
    for col in comparison.columns:
        if col.facts is None:
            bars.append(
                Bar(
                    col.label,
                    (),
                    total="could not be read",
                    css_class="bar layer-bar error",
                    data=(("image", col.label),),
                )
            )
            continue
        segs = []
        for layer in col.layers:
            key = layer.diff_id or layer.digest
            size = layer.uncompressed_size if measure == "uncompressed" else layer.compressed_size
            size = size or 0
            shared = len(owners[key]) > 1
            created = " ".join((layer.created_by or "").split()) or "(no history)"
            segs.append(
                Segment(
                    value=size,
                    fill=LAYER_PALETTE[seen[key] % len(LAYER_PALETTE)],
                    title=f"{col.label} layer {layer.index}: {human_bytes(size)}{' (shared)' if shared else ''}"
                    f" — {created}",
                    css_class="seg layer shared" if shared else "seg layer",
                    data=(
                        ("image", col.label),
                        ("layer", str(layer.index)),
                        ("bytes", str(size)),
                        ("diff-id", key),
                    ),
                )
            )
        total = sum(s.value for s in segs)
        bars.append(
            Bar(
                col.label,
                tuple(segs),
                total=f"{human_bytes(int(total))}, {len(segs)} {'layer' if len(segs) == 1 else 'layers'}",
                css_class="bar layer-bar",
                data=(("image", col.label),),
            )
        )
    # a layer of a few kB next to one of 260 MB is drawn MIN_SEGMENT wide: every layer stays visible
    return bar_chart(bars, title=f"Layers ({measure} size)", css_class="chart chart-layers", total_width=160)


# ---------------------------------------------------------------------------------------------- sections


def _header_cells(comparison: Comparison) -> str:
    return "".join(f'<th scope="col" data-image="{e(c.label)}">{e(c.label)}</th>' for c in comparison.columns)


def _table(comparison: Comparison) -> str:
    cols = comparison.columns
    out = [
        '<table class="compare">',
        f'<thead><tr><th scope="col"></th>{_header_cells(comparison)}'
        '<th scope="col">Better</th></tr></thead>',
        "<tbody>",
    ]
    out.append(
        '<tr data-key="image"><th scope="row">Image</th>'
        + "".join(f"<td><code>{e(c.title)}</code></td>" for c in cols)
        + "<td></td></tr>"
    )
    if any(c.short_digest for c in cols):
        out.append(
            '<tr data-key="digest"><th scope="row">Digest</th>'
            + "".join(f"<td><code>{e(c.short_digest)}</code></td>" for c in cols)
            + "<td></td></tr>"
        )
    if any(not c.ok for c in cols):
        out.append(
            '<tr data-key="error"><th scope="row">Error</th>'
            + "".join(f'<td class="error">{e(c.error or "")}</td>' for c in cols)
            + "<td></td></tr>"
        )
    for m in comparison.metrics:
        cells = []
        for i, c in enumerate(cols):
            if not c.ok:
                cells.append('<td class="missing">—</td>')
                continue
            classes = ["num"] if m.kind != "text" else []
            if i in m.best:
                classes.append("best")
            delta = m.delta(i) if cols[0].ok else ""
            title = (
                f' title="{m.values[i]:,} bytes"'
                if m.kind == "bytes" and isinstance(m.values[i], int)
                else ""
            )
            delta_html = f' <span class="delta">({e(delta)})</span>' if delta else ""
            cls = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{cls}{title}>{e(m.texts[i])}{delta_html}</td>")
        rule = f' title="{e(m.rule)}"' if m.rule else ""
        row_cls = ' class="headline"' if m.key == "vulnerabilities" else ""
        out.append(
            f'<tr data-key="{e(m.key)}"{row_cls}><th scope="row"{rule}>{e(m.label)}</th>{"".join(cells)}'
            f'<td class="verdict">{e(comparison.verdict_text(m))}</td></tr>'
        )
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def _id_html(diff_id: DiffId) -> str:
    vuln_id, severity, url = diff_id.id, diff_id.severity, diff_id.url
    name = f'<a href="{e(url)}">{e(vuln_id)}</a>' if url else e(vuln_id)
    return f'<span class="vuln" data-id="{e(vuln_id)}">{name} <span class="sev sev-{e(severity)}">{e(severity)}</span></span>'


def _groups_table(kind: str, groups: tuple[PackageIds, ...]) -> str:
    if not groups:
        return f'<p class="{kind}">None.</p>'
    rows = [
        f'<table class="diff {kind}"><thead><tr><th>Package</th><th>Type</th><th>Installed</th><th>IDs</th></tr>'
        "</thead><tbody>"
    ]
    for g in groups:
        ids = ", ".join(_id_html(d) for d in g.ids)
        rows.append(
            f'<tr data-package="{e(g.package)}"><td>{e(g.package)}</td><td>{e(g.type)}</td>'
            f'<td>{e(", ".join(g.installed))}</td><td class="ids">{ids}</td></tr>'
        )
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _diff(comparison: Comparison, diff: CveDiff) -> str:
    a = comparison.columns[diff.image].label
    b = comparison.columns[diff.against].label
    return "\n".join(
        [
            f'<details class="cve-diff" data-image="{e(a)}" data-against="{e(b)}" open>',
            f"<summary>{e(a)} vs {e(b)}: removes {diff.removed_ids} ids in {len(diff.removed)} packages, "
            f"adds {diff.added_ids} in {len(diff.added)}, keeps {diff.unchanged}</summary>",
            f"<h3>Removed ({diff.removed_ids} ids)</h3>",
            _groups_table("removed", diff.removed),
            f"<h3>Added ({diff.added_ids} ids)</h3>",
            _groups_table("added", diff.added),
            "</details>",
        ]
    )


def _healthcheck_notes(columns: tuple[ImageColumn, ...]) -> str:
    items = [
        f"<li><b>{e(c.label)}</b>: <code>{e(c.healthcheck.command)}</code></li>"
        for c in columns
        if c.ok and c.healthcheck.present
    ]
    return f'<ul class="healthchecks">{"".join(items)}</ul>' if items else ""


def _trends(comparison: Comparison, history: History) -> str:
    """Below the table: per image, its findings per severity over the runs ``history`` holds for it."""
    from alpinist.reports.history.html import trend_chart

    parts = [
        '<section id="trends">',
        "<h2>Trends</h2>",
        f'<p class="meta">Runs of <code>scan</code>, <code>gate</code> and <code>rescan</code> recorded in '
        f"<code>{e(history.path)}</code>, oldest first.</p>",
    ]
    for col in comparison.columns:
        entries = history.matching(col.title)
        parts.append(f'<figure class="fig-trend" data-image="{e(col.label)}">')
        parts.append(
            f"<figcaption>{e(col.label)}: {len(entries)} recorded {'run' if len(entries) == 1 else 'runs'}</figcaption>"
        )
        if entries:
            parts.append(trend_chart(col.title, entries, width=640))
        else:
            parts.append(f'<p class="note">No run of <code>{e(col.title)}</code> is recorded.</p>')
        parts.append("</figure>")
    parts.append("</section>")
    return "\n".join(parts)


def page_start(title: str, css: str) -> list[str]:
    """A self-contained page up to its ``<h1>``: nothing may be fetched when the report is viewed (no script,
    font, stylesheet or image: the Content-Security-Policy says so)."""
    return [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{e(title)}</title>",
        f"<style>{css}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{e(title)}</h1>",
    ]


def render_compare_html(comparison: Comparison, history: History | None = None) -> str:
    """The page; with ``history`` (``--history FILE``), a trend chart per image below the table."""
    labels = " · ".join(c.label for c in comparison.columns)
    parts = [
        *page_start(f"alpinist compare: {labels}", CSS),
        f'<p class="meta">{len(comparison.columns)} images, each scanned as <code>alpinist scan</code> would; '
        f"alpinist {e(__version__)}</p>",
        "</header>",
        '<section id="summary">',
        "<h2>Comparison</h2>",
        _table(comparison),
    ]
    tallies = comparison.tallies()
    if tallies:
        parts.append(
            '<ul class="tallies">'
            + "".join(f"<li>{e(tally_text(comparison, t))}</li>" for t in tallies)
            + "</ul>"
        )
    parts.append(
        '<p class="meta">Vulnerabilities are findings (package × advisory) after the policy, as '
        "<code>alpinist scan</code> counts them. <em>Better</em> names the image(s) with the best value on "
        "the line (<code>=</code>: all the same; <code>≈</code>: different, but equally good by the "
        "line's rule); hover a line's name for its rule.</p>"
    )
    if comparison.errors:
        parts.append('<ul class="errors">' + "".join(f"<li>{e(x)}</li>" for x in comparison.errors) + "</ul>")
    parts.append(_healthcheck_notes(comparison.columns))
    parts.append("</section>")
    if history is not None:
        parts.append(_trends(comparison, history))
    parts += [
        '<section id="charts">',
        "<h2>Charts</h2>",
        '<figure class="fig-cves"><figcaption>Vulnerabilities by severity</figcaption>',
        cve_chart(comparison),
        "</figure>",
        '<figure class="fig-sizes"><figcaption>Image size</figcaption>',
        size_chart(comparison),
        "</figure>",
        '<figure class="fig-layers"><figcaption>Size of each layer</figcaption>',
        layer_chart(comparison),
        f'<p class="note">{e(layer_measure(comparison).capitalize())} size of each layer, bottom layer '
        "first; hover a segment for the command that made it. A layer several images share has the same "
        "colour in each.</p>",
        "</figure>",
        "</section>",
    ]
    if comparison.diffs:
        parts += ['<section id="diff">', "<h2>CVE diff</h2>"]
        parts += [_diff(comparison, d) for d in comparison.diffs]
        parts.append("</section>")
    if comparison.warnings:
        parts += [
            '<section id="warnings">',
            "<h2>Warnings</h2>",
            "<ul>" + "".join(f"<li>{inline_code(w)}</li>" for w in comparison.warnings) + "</ul>",
            "</section>",
        ]
    parts += [
        f"<footer>alpinist {e(__version__)} · compare · {e(labels)}</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p)
