"""Horizontal stacked bar charts as inline SVG, for the HTML reports.

Written here rather than with a charting library: the compare report needs, for every segment, a
native ``<title>`` tooltip (a layer's ``created_by``) and stable ``class``/``data-*`` attributes that
tests count, with no JavaScript at all. pygal, the usual choice for SVG from Python, draws its
tooltips with a script loaded from a CDN by default and names elements its own way; matplotlib is a
large dependency for three bar charts. What is needed is ~150 lines.

Every string (labels, tooltips, attribute values) goes through ``xml.etree.ElementTree``, which
escapes it: text from an image (a layer's ``created_by``) cannot add markup to the report. The output
is one ``<svg>`` element, well-formed XML, that an HTML5 page can include as is; text in it is real
text (selectable, searchable).

Layout: one row per bar, the label on the left, the bar, then the bar's total text. All bars share one
scale (the largest total fills the plot width). A segment whose value is 0 is not drawn; a non-zero
segment is at least ``MIN_SEGMENT`` pixels wide, so that a 3 kB layer next to a 260 MB one can still
be seen and hovered (the scale leaves room for it, so no bar overflows).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

SVG_NS = "http://www.w3.org/2000/svg"
MIN_SEGMENT = 1.0
_DATA_KEY = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Segment:
    value: float
    fill: str
    title: str  # the tooltip (an SVG <title> child)
    css_class: str = "seg"
    data: tuple[tuple[str, str], ...] = ()  # data-* attributes, names without the "data-" prefix


@dataclass(frozen=True)
class Bar:
    label: str
    segments: tuple[Segment, ...]
    total: str = ""  # text after the bar (``158``, ``144.1 MB``)
    group: str | None = None  # a heading row drawn before the first bar of each group
    css_class: str = "bar"
    data: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LegendItem:
    label: str
    fill: str
    css_class: str = "legend-item"


def svg_number(x: float) -> str:
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def set_data(element: ET.Element, data: Sequence[tuple[str, str]]) -> None:
    for key, value in data:
        if not _DATA_KEY.match(key):
            raise ValueError(f"invalid data attribute name {key!r}")
        element.set(f"data-{key}", value)


def svg_root(css_class: str, width: int, height: int, title: str, font_size: int) -> ET.Element:
    """The ``<svg>`` element of a chart: its size, an accessible title, the font every chart uses."""
    return ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "class": css_class,
            "width": str(width),
            "height": str(height),
            "viewBox": f"0 0 {width} {height}",
            "role": "img",
            "aria-label": title,
            "font-family": "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif",
            "font-size": str(font_size),
        },
    )


def add_text(parent: ET.Element, x: float, y: float, text: str, css_class: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, "text", {"x": svg_number(x), "y": svg_number(y), "class": css_class, **attrs})
    el.text = text
    return el


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    css_class: str = "chart",
    legend: Sequence[LegendItem] = (),
    width: int = 880,
    label_width: int = 170,
    total_width: int = 110,
    bar_height: int = 22,
    gap: int = 10,
    font_size: int = 13,
) -> str:
    """One ``<svg>`` element: the bars (stacked segments), optional group headings and legend."""
    for bar in bars:
        for seg in bar.segments:
            if seg.value < 0 or seg.value != seg.value:  # negative or NaN
                raise ValueError(f"segment of {bar.label!r}: value {seg.value!r} is not >= 0")
    plot_width = max(10, width - label_width - total_width)
    drawn = [[s for s in bar.segments if s.value > 0] for bar in bars]
    max_total = max((sum(s.value for s in segs) for segs in drawn), default=0.0)
    max_count = max((len(segs) for segs in drawn), default=0)
    room = max(1.0, plot_width - MIN_SEGMENT * max_count)
    scale = room / max_total if max_total > 0 else 0.0

    legend_height = (font_size + 12) if legend else 0
    y = legend_height + 6
    rows: list[tuple[float, str | Bar, list[Segment]]] = []  # (top, group heading or bar, segments)
    last_group: str | None = None
    for bar, segs in zip(bars, drawn, strict=True):
        if bar.group is not None and bar.group != last_group:
            rows.append((y, bar.group, []))
            y += font_size + 8
            last_group = bar.group
        rows.append((y, bar, segs))
        y += bar_height + gap
    height = int(y + 4)

    svg = svg_root(css_class, width, height, title, font_size)
    ET.SubElement(svg, "title").text = title

    if legend:
        lg = ET.SubElement(svg, "g", {"class": "legend"})
        x = float(label_width)
        for item in legend:
            g = ET.SubElement(lg, "g", {"class": item.css_class})
            ET.SubElement(
                g,
                "rect",
                {"x": svg_number(x), "y": "2", "width": "12", "height": "12", "fill": item.fill},
            )
            add_text(g, x + 16, 2 + 11, item.label, "legend-label")
            x += 16 + 8 * len(item.label) + 18

    for row_y, entry, segs in rows:
        if isinstance(entry, str):
            add_text(svg, 4, row_y + font_size, entry, "group-label", **{"font-weight": "600"})
            continue
        bar = entry
        g = ET.SubElement(svg, "g", {"class": bar.css_class})
        set_data(g, bar.data)
        indent = 16 if bar.group is not None else 4
        add_text(g, indent, row_y + bar_height / 2 + font_size / 2 - 2, bar.label, "bar-label")
        x = float(label_width)
        for seg in segs:
            w = max(MIN_SEGMENT, seg.value * scale)
            rect = ET.SubElement(
                g,
                "rect",
                {
                    "class": seg.css_class,
                    "x": svg_number(x),
                    "y": svg_number(row_y),
                    "width": svg_number(w),
                    "height": str(bar_height),
                    "fill": seg.fill,
                },
            )
            set_data(rect, seg.data)
            ET.SubElement(rect, "title").text = seg.title
            x += w
        if bar.total:
            add_text(g, x + 6, row_y + bar_height / 2 + font_size / 2 - 2, bar.total, "bar-total")
    return ET.tostring(svg, encoding="unicode")
