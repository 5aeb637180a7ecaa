# ruff: noqa: F811  (the session fixtures imported from tests.scan_fixtures are parameters here)
"""The HTML report of python-app:debian vs python-app:alpine, opened in a real headless Chromium (Debian package
``chromium``, installed by ``scripts/test``; ``tests/browser.py``) from a ``file://`` URL, with background
networking, component updates, sync and QUIC off.

- ``--dump-dom``: the DOM after the page was parsed and laid out. The charts must be there with the right
  counts: one stacked bar per image with one segment per non-zero severity (counts from the hand-written
  ``tests/expected_findings``), two size bars per image (``expected/<tag>/sizes.tsv``), one layer segment per
  layer with its ``created_by`` in a ``<title>`` (``expected/<tag>/layers.tsv``); no script anywhere.
- ``--screenshot``: the PNG (decoded with zlib, no imaging library: ``tests/browser.py``) is not blank: many
  colours, a fair share of non-white pixels, and the chart fills of the report among the pixels.

The database is built once per session from the corpus feeds (``tests/scan_fixtures.py``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from alpinist.advisories.store import Store
from alpinist.compare import compare_images
from alpinist.reports.compare.html import SEVERITY_FILL, SIZE_FILL, render_compare_html
from tests.browser import Node, decode_png, dump_dom, rgb, run_chromium
from tests.conftest import expected_dir, oci_ref, read_tsv
from tests.scan_fixtures import scan_db  # noqa: F401  (fixture)
from tests.test_compare_corpus import expected_findings

TAGS = ("python-app:debian", "python-app:alpine")
LABELS = ("before", "after")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN")


@pytest.fixture(scope="module")
def report(scan_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with Store.open(scan_db) as store:
        comparison = compare_images([oci_ref(t) for t in TAGS], store, labels=LABELS, use_cache=False)
    path = tmp_path_factory.mktemp("html") / "compare.html"
    path.write_text(render_compare_html(comparison), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- the DOM


@pytest.fixture(scope="module")
def dom(report: Path, tmp_path_factory: pytest.TempPathFactory) -> Node:
    return dump_dom(report, tmp_path_factory.mktemp("chromium-dom"))


def svg(dom: Node, cls: str) -> Node:
    (found,) = dom.find_all("svg", cls)
    return found


def test_the_page_has_no_script_and_loads_nothing(dom: Node) -> None:
    assert dom.find_all("script") == []
    assert all(not n.attrs.get("src") for n in dom.iter())
    assert dom.find_all("link") == []
    (csp,) = [m for m in dom.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in csp.attrs["content"]


def test_one_severity_bar_per_image_one_segment_per_nonzero_severity(dom: Node) -> None:
    chart = svg(dom, "chart-cves")
    bars = chart.find_all("g", "bar", "cve-bar")
    assert [b.attrs["data-image"] for b in bars] == list(LABELS)
    for bar, tag in zip(bars, TAGS, strict=True):
        counts = Counter(r["severity"] for r in expected_findings(tag))
        segments = bar.find_all("rect", "seg")
        expected = [(s, counts[s]) for s in SEVERITIES if counts[s]]
        assert [(r.attrs["data-severity"], int(r.attrs["data-count"])) for r in segments] == expected
        assert [r.classes for r in segments] == [{"seg", f"sev-{s.lower()}"} for s, _ in expected]
        assert all(r.attrs["data-image"] == bar.attrs["data-image"] for r in segments)
        assert all(float(r.attrs["width"]) > 0 for r in segments)
        # the total printed after the bar, and a tooltip per segment
        (total,) = [t for t in bar.find_all("text") if "bar-total" in t.classes]
        assert int(total.all_text()) == sum(counts.values())
        assert all(r.find_all("title") for r in segments)
    # python-app:debian has findings at all six severities, python-app:alpine at all but NEGLIGIBLE
    assert [len(b.find_all("rect", "seg")) for b in bars] == [6, 5]


def test_two_size_bars_per_image(dom: Node) -> None:
    chart = svg(dom, "chart-sizes")
    for label, tag in zip(LABELS, TAGS, strict=True):
        (sizes,) = read_tsv(expected_dir(tag) / "sizes.tsv")
        rects = [r for r in chart.find_all("rect", "seg") if r.attrs.get("data-image") == label]
        assert [(r.attrs["data-kind"], int(r.attrs["data-bytes"])) for r in rects] == [
            ("compressed", int(sizes["compressed_layers_bytes"])),
            ("uncompressed", int(sizes["uncompressed_layers_bytes"])),
        ]
    headings = [t.all_text() for t in chart.find_all("text", "group-label")]
    assert headings == list(LABELS)


def test_one_segment_per_layer_with_its_command_as_tooltip(dom: Node) -> None:
    chart = svg(dom, "chart-layers")
    bars = chart.find_all("g", "bar", "layer-bar")
    assert [b.attrs["data-image"] for b in bars] == list(LABELS)
    for bar, tag in zip(bars, TAGS, strict=True):
        layers = read_tsv(expected_dir(tag) / "layers.tsv")
        segments = bar.find_all("rect", "layer")
        assert len(segments) == len(layers)
        for rect, layer in zip(segments, layers, strict=True):
            assert rect.attrs["data-layer"] == layer["index"]
            assert int(rect.attrs["data-bytes"]) == int(layer["uncompressed_size"])
            assert rect.attrs["data-diff-id"] == layer["diff_id"]
            (title,) = rect.find_all("title")
            assert " ".join(layer["created_by"].split()) in title.all_text()
            assert float(rect.attrs["width"]) >= 1  # a 3 kB layer is still drawn
    # no layer is shared between these two images (Debian and Alpine bases)
    assert chart.find_all("rect", "shared") == []


def test_the_table_is_real_text(dom: Node) -> None:
    (table,) = dom.find_all("table", "compare")
    rows = {tr.attrs.get("data-key"): tr for tr in table.find_all("tr")}
    cells = [" ".join(td.all_text().split()) for td in rows["vulnerabilities"].find_all("td")]
    assert cells == ["158", "75 (-83)", "after"]
    best = [td for td in rows["vulnerabilities"].find_all("td") if "best" in td.classes]
    assert [" ".join(td.all_text().split()) for td in best] == ["75 (-83)"]
    assert [" ".join(td.all_text().split()) for td in rows["healthcheck"].find_all("td")] == [
        "curl (shell form)",
        "python (shell form)",
        "after",
    ]
    (diff,) = dom.find_all("details", "cve-diff")
    assert diff.attrs["data-image"] == "after" and diff.attrs["data-against"] == "before"
    removed = {
        tr.attrs["data-package"] for tr in diff.find_all("table", "removed")[0].find_all("tr") if tr.attrs
    }
    assert {"glibc", "openssl", "zlib", "urllib3"} <= removed


# ---------------------------------------------------------------------------------------------- the pixels


def test_the_screenshot_is_not_blank(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    done = run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    width, height, rows, bpp = decode_png(shot.read_bytes())
    assert (width, height) == (1280, 2000)
    colours: Counter[tuple[int, int, int]] = Counter()
    for row in rows:
        for x in range(0, len(row), bpp):
            colours[(row[x], row[x + 1], row[x + 2])] += 1
    total = width * height
    white = colours[(255, 255, 255)]
    assert 0.03 < (total - white) / total < 0.9, f"non-white share {(total - white) / total:.3f}"
    assert len(colours) >= 20
    # the bars themselves: large areas of the chart fills (a 1280-pixel-wide window shows all three charts)
    for fill in (
        SEVERITY_FILL["CRITICAL"],
        SEVERITY_FILL["HIGH"],
        SEVERITY_FILL["UNKNOWN"],
        SIZE_FILL["compressed"],
    ):
        assert colours[rgb(fill)] >= 100, f"{fill}: {colours[rgb(fill)]} pixels"
