# ruff: noqa: F811  (the session fixtures imported from tests.scan_fixtures are parameters here)
"""The HTML report of python-app:debian vs python-app:alpine, opened in a real headless Chromium (Debian package
``chromium``, installed by ``scripts/test``) from a ``file://`` URL, with background networking, component
updates, sync and QUIC off.

- ``--dump-dom``: the DOM after the page was parsed and laid out. The charts must be there with the right
  counts: one stacked bar per image with one segment per non-zero severity (counts from the hand-written
  ``tests/expected_findings``), two size bars per image (``expected/<tag>/sizes.tsv``), one layer segment per
  layer with its ``created_by`` in a ``<title>`` (``expected/<tag>/layers.tsv``); no script anywhere.
- ``--screenshot``: the PNG (decoded here with zlib, no imaging library) is not blank: many colours, a fair
  share of non-white pixels, and the chart fills of the report among the pixels.

The database is built once per session from the corpus feeds (``tests/scan_fixtures.py``).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from alpinist.advisories.store import Store
from alpinist.compare import compare_images
from alpinist.reports.compare.html import SEVERITY_FILL, SIZE_FILL, render_compare_html
from tests.conftest import expected_dir, oci_ref, read_tsv
from tests.scan_fixtures import scan_db  # noqa: F401  (fixture)
from tests.test_compare_corpus import expected_findings

TAGS = ("python-app:debian", "python-app:alpine")
LABELS = ("before", "after")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
)
TIMEOUT = 180


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("chromium is not installed: scripts/test installs the Debian package `chromium`")


@pytest.fixture(scope="module")
def report(scan_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with Store.open(scan_db) as store:
        comparison = compare_images([oci_ref(t) for t in TAGS], store, labels=LABELS, use_cache=False)
    path = tmp_path_factory.mktemp("html") / "compare.html"
    path.write_text(render_compare_html(comparison), encoding="utf-8")
    return path


def run_chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8"},
    )


# ---------------------------------------------------------------------------------------------- the DOM


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: str = ""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self) -> list[Node]:
        out = [self]
        for child in self.children:
            out += child.iter()
        return out

    def find_all(self, tag: str, *classes: str) -> list[Node]:
        return [n for n in self.iter() if n.tag == tag and set(classes) <= n.classes]

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text += data


@pytest.fixture(scope="module")
def dom(report: Path, tmp_path_factory: pytest.TempPathFactory) -> Node:
    tmp = tmp_path_factory.mktemp("chromium-dom")
    done = run_chromium(tmp, "--dump-dom", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.lstrip().startswith(("<!DOCTYPE html>", "<html")), done.stdout[:500]
    builder = TreeBuilder()
    builder.feed(done.stdout)
    builder.close()
    return builder.root


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


def decode_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """(width, height, rows of pixel bytes, bytes per pixel) of an 8-bit RGB/RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    width = height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    rows: list[bytes] = []
    at = 0
    for _ in range(height):
        kind_byte, line = raw[at], bytearray(raw[at + 1 : at + 1 + stride])
        at += 1 + stride
        if kind_byte == 1:  # Sub
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 0xFF
        elif kind_byte == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind_byte == 3:  # Average
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 0xFF
        elif kind_byte == 4:  # Paeth
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        else:
            assert kind_byte == 0, f"filter {kind_byte}"
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


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
