"""``reports/svg.py``: the bar charts of the HTML reports, parsed back as XML and measured.

Expected geometry is worked out by hand from the layout rules in the module docstring (plot width =
width - label_width - total_width; the largest total fills the plot, less one MIN_SEGMENT per segment).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpinist.reports.compare.svg import MIN_SEGMENT, Bar, LegendItem, Segment, bar_chart

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def rects(root: ET.Element, cls: str) -> list[ET.Element]:
    return [r for r in root.iter(f"{NS}rect") if cls in (r.get("class") or "").split()]


def seg(value: float, cls: str = "seg", title: str = "t", **data: str) -> Segment:
    return Segment(value, "#123456", title, css_class=cls, data=tuple(data.items()))


def test_one_group_per_bar_one_rect_per_nonzero_segment() -> None:
    bars = [
        Bar("a", (seg(3, "seg x"), seg(0, "seg y"), seg(1, "seg z")), total="4"),
        Bar("b", (seg(0, "seg x"),), total="0"),
    ]
    root = parse(bar_chart(bars, title="T"))
    groups = [g for g in root.iter(f"{NS}g") if g.get("class") == "bar"]
    assert len(groups) == 2
    assert [r.get("class") for r in groups[0].iter(f"{NS}rect")] == ["seg x", "seg z"]
    assert list(groups[1].iter(f"{NS}rect")) == []
    labels = [t.text for t in root.iter(f"{NS}text") if t.get("class") == "bar-label"]
    assert labels == ["a", "b"]
    totals = [t.text for t in root.iter(f"{NS}text") if t.get("class") == "bar-total"]
    assert totals == ["4", "0"]


def test_widths_share_one_scale() -> None:
    # width 600, labels 100, totals 100: plot 400; 2 segments at most -> room 398 for the largest total (10)
    bars = [Bar("a", (seg(5), seg(5))), Bar("b", (seg(2.5),))]
    root = parse(bar_chart(bars, title="T", width=600, label_width=100, total_width=100))
    widths = [float(r.get("width") or 0) for r in rects(root, "seg")]
    assert widths == pytest.approx([199.0, 199.0, 99.5])
    xs = [float(r.get("x") or 0) for r in rects(root, "seg")]
    assert xs == pytest.approx([100.0, 299.0, 100.0])


def test_a_tiny_segment_stays_visible_and_no_bar_overflows() -> None:
    bars = [Bar("a", (seg(1), seg(1_000_000), seg(3)))]
    root = parse(bar_chart(bars, title="T", width=600, label_width=100, total_width=100))
    widths = [float(r.get("width") or 0) for r in rects(root, "seg")]
    assert widths[0] == MIN_SEGMENT and widths[2] == MIN_SEGMENT
    assert sum(widths) <= 400 + 1e-6


def test_all_zero_draws_no_segment() -> None:
    root = parse(bar_chart([Bar("a", (seg(0),)), Bar("b", ())], title="T"))
    assert rects(root, "seg") == []


def test_no_bars_is_still_an_svg() -> None:
    root = parse(bar_chart([], title="Empty"))
    assert root.find(f"{NS}title") is not None and root.find(f"{NS}title").text == "Empty"  # type: ignore[union-attr]


def test_titles_and_labels_are_escaped_text() -> None:
    evil = '</title><script>alert(1)</script><rect class="seg"/>&amp;'
    svg = bar_chart([Bar(evil, (seg(1, title=evil),), total=evil)], title=evil)
    assert "<script>" not in svg
    root = parse(svg)
    assert list(root.iter(f"{NS}script")) == []
    assert len(rects(root, "seg")) == 1
    (rect,) = rects(root, "seg")
    assert rect.find(f"{NS}title").text == evil  # type: ignore[union-attr]
    assert root.find(f"{NS}title").text == evil  # type: ignore[union-attr]


def test_data_attributes_and_their_names() -> None:
    svg = bar_chart(
        [Bar("a", (seg(2, "seg sev-high", image="before", count="2"),), data=(("image", "before"),))],
        title="T",
    )
    root = parse(svg)
    (rect,) = rects(root, "sev-high")
    assert rect.get("data-image") == "before" and rect.get("data-count") == "2"
    (group,) = [g for g in root.iter(f"{NS}g") if g.get("class") == "bar"]
    assert group.get("data-image") == "before"
    with pytest.raises(ValueError, match="data attribute"):
        bar_chart([Bar("a", (Segment(1, "#000", "t", data=(('x" onload="', "1"),)),))], title="T")


def test_negative_or_nan_values_are_refused() -> None:
    with pytest.raises(ValueError, match="not >= 0"):
        bar_chart([Bar("a", (seg(-1),))], title="T")
    with pytest.raises(ValueError, match="not >= 0"):
        bar_chart([Bar("a", (seg(float("nan")),))], title="T")


def test_groups_get_one_heading_each() -> None:
    bars = [
        Bar("compressed", (seg(1),), group="before"),
        Bar("uncompressed", (seg(2),), group="before"),
        Bar("compressed", (seg(1),), group="after"),
    ]
    root = parse(bar_chart(bars, title="T"))
    headings = [t.text for t in root.iter(f"{NS}text") if t.get("class") == "group-label"]
    assert headings == ["before", "after"]


def test_legend() -> None:
    root = parse(
        bar_chart(
            [Bar("a", (seg(1),))], title="T", legend=[LegendItem("High", "#f00", "legend-item sev-high")]
        )
    )
    (legend,) = [g for g in root.iter(f"{NS}g") if g.get("class") == "legend"]
    items = [g for g in legend.iter(f"{NS}g") if "legend-item" in (g.get("class") or "")]
    assert [i.get("class") for i in items] == ["legend-item sev-high"]
    assert [t.text for t in legend.iter(f"{NS}text")] == ["High"]


def test_height_grows_with_rows_and_viewbox_matches() -> None:
    one = parse(bar_chart([Bar("a", (seg(1),))], title="T", bar_height=20, gap=10))
    two = parse(bar_chart([Bar("a", (seg(1),)), Bar("b", (seg(1),))], title="T", bar_height=20, gap=10))
    assert int(two.get("height") or 0) - int(one.get("height") or 0) == 30
    assert two.get("viewBox") == f"0 0 {two.get('width')} {two.get('height')}"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=10**12), min_size=0, max_size=8),
        min_size=1,
        max_size=5,
    )
)
def test_bars_are_ordered_proportional_and_inside_the_plot(values: list[list[int]]) -> None:
    """Segments lie side by side from the plot's left edge, inside it; a larger total never draws shorter."""
    bars = [Bar(f"b{i}", tuple(seg(v) for v in row)) for i, row in enumerate(values)]
    root = parse(bar_chart(bars, title="T", width=600, label_width=100, total_width=100))
    groups = [g for g in root.iter(f"{NS}g") if g.get("class") == "bar"]
    assert len(groups) == len(values)
    lengths = []
    for g, row in zip(groups, values, strict=True):
        rs = list(g.iter(f"{NS}rect"))
        assert len(rs) == sum(1 for v in row if v > 0)
        x = 100.0
        for r in rs:
            assert float(r.get("x") or 0) == pytest.approx(x, abs=0.05)  # coordinates have 2 decimals
            assert float(r.get("width") or 0) >= MIN_SEGMENT - 1e-9
            x += float(r.get("width") or 0)
        assert x <= 500 + 0.05
        lengths.append((sum(row), x - 100.0, len(rs)))
    # a larger total is never drawn shorter, up to the MIN_SEGMENT widening of the other bar's segments
    for total_a, len_a, _ in lengths:
        for total_b, len_b, count_b in lengths:
            if total_a >= total_b:
                assert len_a >= len_b - MIN_SEGMENT * count_b - 0.05
