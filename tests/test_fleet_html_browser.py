"""The fleet dashboard (``fleet report --format html``) opened in a real headless Chromium from a ``file://``
URL (``tests/browser.py``), for the views of ``tests/fleet_views.py``: six images, a long fleet of 60 and an
empty store.

- Over the DevTools protocol (a pipe, no port), the page laid out at 1280 CSS pixels (and at 800): the
  document is no wider than the window, every table fits its section without scrolling at 1280, each trend
  chart has a non-zero size inside the window, and the text of every section is rendered (``innerText``
  only holds text the browser lays out; ``checkVisibility`` of each heading).
- ``--dump-dom``: after Chromium parsed the page, no script, one ``svg.chart-trend`` per trend shown.
- ``--screenshot``: the two lines of the trend charts are drawn (their stroke colours among the pixels).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alpinist.reports.fleet.common import TREND_LIMIT
from alpinist.reports.fleet.dashboard_html import SEVERE_STROKE, TOTAL_STROKE, render_fleet_html
from tests.browser import DevTools, decode_png, dump_dom, rgb, run_chromium
from tests.fleet_views import ODD, empty_view, fleet_view, long_view

PAGES = {"six": fleet_view(), "long": long_view(60), "empty": empty_view()}
TRENDS = {"six": 5, "long": TREND_LIMIT, "empty": 0}


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fleet-html")
    out = {}
    for name, view in PAGES.items():
        out[name] = folder / f"{name}.html"
        out[name].write_text(render_fleet_html(view), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    with DevTools(tmp_path_factory.mktemp("devtools"), width=1280, height=900) as tools:
        yield tools


def layout(browser: DevTools, page: Path, width: int) -> dict[str, Any]:
    """What the page looks like at ``width``: the document's widths, each chart's box, each scroll box's
    widths, each section's heading visibility and rendered text."""
    browser.viewport(width, 900)
    browser.open(page)
    measured = browser.evaluate(
        """JSON.stringify({
          window: window.innerWidth,
          client: document.documentElement.clientWidth,
          scroll: document.documentElement.scrollWidth,
          body: document.body.innerText,
          charts: [...document.querySelectorAll('svg.chart-trend')].map(s => {
            const r = s.getBoundingClientRect();
            return {reference: s.dataset.reference, left: r.left, right: r.right, width: r.width, height: r.height};
          }),
          boxes: [...document.querySelectorAll('div.scroll')].map(d => [d.scrollWidth, d.clientWidth]),
          sections: Object.fromEntries([...document.querySelectorAll('section')].map(s => [s.id, {
            heading: s.querySelector('h2').checkVisibility(),
            height: s.getBoundingClientRect().height,
            text: s.innerText,
          }])),
        })"""
    )
    return dict(json.loads(measured))


@pytest.mark.parametrize("width", [1280, 800])
@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_is_no_wider_than_the_window(
    browser: DevTools, pages: dict[str, Path], name: str, width: int
) -> None:
    got = layout(browser, pages[name], width)
    assert got["window"] == width  # the client width is less by the vertical scroll bar's
    assert got["scroll"] <= got["client"], f"{name} at {width}px: the document is {got['scroll']}px wide"


@pytest.mark.parametrize("name", ["six", "long"])
def test_tables_fit_without_scrolling_at_1280(browser: DevTools, pages: dict[str, Path], name: str) -> None:
    boxes = layout(browser, pages[name], 1280)["boxes"]
    assert boxes, "no table box"
    assert all(scroll <= client for scroll, client in boxes), boxes


@pytest.mark.parametrize("name", list(PAGES))
def test_every_trend_chart_has_a_size_inside_the_window(
    browser: DevTools, pages: dict[str, Path], name: str
) -> None:
    got = layout(browser, pages[name], 1280)
    charts = got["charts"]
    assert len(charts) == TRENDS[name]
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 50, chart
        assert chart["left"] >= 0 and chart["right"] <= got["client"], chart
    if name == "long":
        assert [c["reference"] for c in charts] == [
            f"registry.test/many/image-{k:03d}:1" for k in range(TREND_LIMIT)
        ]


def test_the_text_of_every_section_is_rendered(browser: DevTools, pages: dict[str, Path]) -> None:
    sections = layout(browser, pages["six"], 1280)["sections"]
    assert list(sections) == ["run", "worst", "new", "trends", "base"]
    for name, section in sections.items():
        assert section["heading"] and section["height"] > 0, name
    expected = {
        "run": [
            "Last run",
            "#5 fleet scan",
            "20240505T0600Z-9b1d0e44a2c7",
            "Run before it",
            "#4 fleet rescan",
        ],
        "worst": ["Worst images", "registry.test/app/api:1.4", ODD, "manifest unknown (HTTP 404)"],
        "new": ["New CVEs since the last run", "CVE-2024-0001", "2.36-9+deb12u4", "GHSA-xxxx-yyyy-zzzz"],
        "trends": [
            "Trend per image",
            "registry.test/app/worker:2",
            "total 8 → 8 → 8 → 9 → 9",
            "No result recorded yet.",
        ],
        "base": ["Images on a base that would be moved", "debian:11 → debian:12-slim", "smaller by 38 MB"],
    }
    for name, texts in expected.items():
        for text in texts:
            assert text in sections[name]["text"], f"{text!r} is not rendered in #{name}"
    long_trends = layout(browser, pages["long"], 1280)["sections"]["trends"]["text"]
    assert "10 more images are not shown here: the 50 worst are." in long_trends


def test_an_empty_store_says_so_on_screen(browser: DevTools, pages: dict[str, Path]) -> None:
    got = layout(browser, pages["empty"], 1280)
    assert got["sections"] == {} and got["charts"] == []
    assert "has no run yet" in got["body"]


@pytest.mark.parametrize("name", list(PAGES))
def test_the_parsed_page_has_no_script_and_one_chart_per_trend(
    pages: dict[str, Path], tmp_path: Path, name: str
) -> None:
    dom = dump_dom(pages[name], tmp_path)
    assert dom.find_all("script") == []
    assert all(not n.attrs.get("src") for n in dom.iter())
    assert len(dom.find_all("svg")) == len(dom.find_all("svg", "chart-trend")) == TRENDS[name]


def test_the_screenshot_shows_the_trend_lines(pages: dict[str, Path], tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    done = run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2600", pages["six"].as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    width, height, rows, bpp = decode_png(shot.read_bytes())
    assert (width, height) == (1280, 2600)
    colours: Counter[tuple[int, int, int]] = Counter()
    for row in rows:
        for x in range(0, len(row), bpp):
            colours[(row[x], row[x + 1], row[x + 2])] += 1
    for stroke in (TOTAL_STROKE, SEVERE_STROKE):
        assert colours[rgb(stroke)] >= 200, f"{stroke}: {colours[rgb(stroke)]} pixels"
