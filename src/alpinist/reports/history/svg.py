"""A line chart as inline SVG: findings per severity over an image's runs (``history --format html`` and
the trends of ``compare --format html``).

Like ``reports/compare/svg.py``: no JavaScript, every string goes through ``xml.etree.ElementTree`` (so a
label from an image or a history file cannot add markup), tooltips are native ``<title>`` elements, and
elements carry stable classes and ``data-*`` attributes for the tests.

Layout: the runs are equally spaced along x, oldest on the left (a run is an event, and equal spacing
keeps two runs of one minute apart readable next to runs a month apart); their dates label the x axis
(at most :data:`MAX_X_LABELS`, first and last always). y goes from 0 to the largest count; one polyline
per series, one ``circle.point`` per run on it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from alpinist.reports.compare.svg import add_text, set_data, svg_number, svg_root

MAX_X_LABELS = 6


@dataclass(frozen=True)
class Series:
    label: str  # the legend's text
    values: tuple[int, ...]  # one per run
    stroke: str
    titles: tuple[str, ...]  # one tooltip per point
    css_class: str = "line"
    data: tuple[tuple[str, str], ...] = ()  # data-* of the line and of each point


def _label_positions(count: int) -> list[int]:
    if count <= MAX_X_LABELS:
        return list(range(count))
    step = (count - 1) / (MAX_X_LABELS - 1)
    return sorted({round(i * step) for i in range(MAX_X_LABELS)})


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    css_class: str = "chart",
    data: Sequence[tuple[str, str]] = (),
    width: int = 880,
    plot_height: int = 160,
    left: int = 48,
    right: int = 24,
    font_size: int = 12,
) -> str:
    """One ``<svg>``: a legend, the axes, and one polyline with its points per series."""
    runs = len(x_labels)
    for s in series:
        if len(s.values) != runs or len(s.titles) != runs:
            raise ValueError(f"series {s.label!r}: {len(s.values)} values for {runs} runs")
        if any(v < 0 for v in s.values):
            raise ValueError(f"series {s.label!r}: a negative value")
    top = font_size + 18  # the legend
    bottom = font_size + 16  # the x labels
    height = top + plot_height + bottom
    plot_width = max(10, width - left - right)
    peak = max((v for s in series for v in s.values), default=0)
    y_max = max(1, peak)

    def x_of(i: int) -> float:
        return left + (plot_width / 2 if runs == 1 else i * plot_width / (runs - 1))

    def y_of(v: int) -> float:
        return top + plot_height - v * plot_height / y_max

    svg = svg_root(css_class, width, height, title, font_size)
    set_data(svg, data)
    ET.SubElement(svg, "title").text = title

    legend = ET.SubElement(svg, "g", {"class": "legend"})
    x = float(left)
    for s in series:
        g = ET.SubElement(legend, "g", {"class": "legend-item"})
        ET.SubElement(
            g,
            "line",
            {
                "x1": svg_number(x),
                "y1": "9",
                "x2": svg_number(x + 14),
                "y2": "9",
                "stroke": s.stroke,
                "stroke-width": "3",
            },
        )
        add_text(g, x + 18, 13, s.label, "legend-label")
        x += 18 + 7 * len(s.label) + 16

    axes = ET.SubElement(svg, "g", {"class": "axes"})
    for value in sorted({0, (y_max + 1) // 2, y_max}):
        y = y_of(value)
        ET.SubElement(
            axes,
            "line",
            {
                "class": "grid",
                "x1": str(left),
                "y1": svg_number(y),
                "x2": str(left + plot_width),
                "y2": svg_number(y),
                "stroke": "#ddd" if value else "#888",
            },
        )
        add_text(axes, left - 6, y + font_size / 2 - 2, str(value), "y-label", **{"text-anchor": "end"})
    for i in _label_positions(runs):
        anchor = "middle" if 0 < i < runs - 1 or runs == 1 else ("start" if i == 0 else "end")
        add_text(
            axes,
            x_of(i),
            top + plot_height + font_size + 6,
            x_labels[i],
            "x-label",
            **{"text-anchor": anchor},
        )

    for s in series:
        g = ET.SubElement(svg, "g", {"class": f"series {s.css_class}"})
        set_data(g, s.data)
        points = [(x_of(i), y_of(v)) for i, v in enumerate(s.values)]
        if len(points) > 1:
            ET.SubElement(
                g,
                "polyline",
                {
                    "class": "line",
                    "points": " ".join(f"{svg_number(px)},{svg_number(py)}" for px, py in points),
                    "fill": "none",
                    "stroke": s.stroke,
                    "stroke-width": "2",
                },
            )
        for i, ((px, py), value, tip) in enumerate(zip(points, s.values, s.titles, strict=True)):
            dot = ET.SubElement(
                g,
                "circle",
                {"class": "point", "cx": svg_number(px), "cy": svg_number(py), "r": "3.5", "fill": s.stroke},
            )
            set_data(dot, [*s.data, ("run", str(i)), ("count", str(value))])
            ET.SubElement(dot, "title").text = tip
    return ET.tostring(svg, encoding="unicode")
