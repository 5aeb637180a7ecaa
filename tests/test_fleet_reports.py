"""The fleet formatters (``reports/fleet/``) on fleet views and runs written by hand (``tests/fleet_views.py``):
the Markdown dashboard and the run summary pinned byte for byte (``tests/golden/fleet/``, rewritten with
``ALPINIST_WRITE_GOLDEN=1`` and reviewed like code), the JSON against its schemas, the HTML page for what it
must never contain (a script, a fetch, an unescaped string) and for one chart per trend it shows."""

from __future__ import annotations

import copy
import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rich.console import Console

from alpinist.fleet.model import FleetRun, FleetView
from alpinist.reports.fleet.common import TREND_LIMIT
from alpinist.reports.fleet.dashboard_html import render_fleet_html
from alpinist.reports.fleet.dashboard_json import render_fleet_json
from alpinist.reports.fleet.dashboard_markdown import render_fleet_markdown
from alpinist.reports.fleet.run_json import render_fleet_run_json
from alpinist.reports.fleet.run_table import render_fleet_run_table
from alpinist.reports.json_schema import load_schema_named
from tests.browser import Node, parse_dom
from tests.fleet_views import API_NEW, ODD, empty_view, fleet_view, fresh_run, long_view, resumed_run

GOLDEN = Path(__file__).parent / "golden" / "fleet"
WRITE = os.environ.get("ALPINIST_WRITE_GOLDEN") == "1"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if WRITE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden {path}: run with ALPINIST_WRITE_GOLDEN=1 once"
    assert text == path.read_text(encoding="utf-8")


def table_text(run: FleetRun, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    render_fleet_run_table(run, console)
    return console.export_text()


def validate(doc: Any, schema: str) -> None:
    loaded = load_schema_named(schema)
    jsonschema.Draft202012Validator.check_schema(loaded)
    jsonschema.Draft202012Validator(loaded).validate(doc)


# ---------------------------------------------------------------------------------------------- Markdown


def test_markdown_dashboard_is_unchanged() -> None:
    """The dashboard's Markdown of six images (an error, an unchanged one, trends of 1 to 5 runs, new
    findings, base advice, a reference with < and &) is pinned byte for byte."""
    check_golden("dashboard.md", render_fleet_markdown(fleet_view()) + "\n")


def test_markdown_of_an_empty_store_says_so() -> None:
    text = render_fleet_markdown(empty_view())
    check_golden("dashboard-empty.md", text + "\n")
    assert "no run yet" in text
    assert "Worst images" not in text and "|" not in text


def test_markdown_escapes_the_reference_and_orders_new_findings_worst_first() -> None:
    text = render_fleet_markdown(fleet_view())
    assert ODD not in text and "registry.test/odd/&lt;b&gt;&amp;amp;:1" in text
    api = text[text.index("**registry.test/app/api:1.4**: 4 new findings") :]
    ids = re.findall(r"^\| (CRITICAL|HIGH|MEDIUM) \| ([^ ]+) \|", api, flags=re.M)[:4]
    assert ids == [
        ("CRITICAL", "CVE-2024-0001"),
        ("HIGH", "CVE-2024-0002"),
        ("HIGH", "GHSA-xxxx-yyyy-zzzz"),
        ("MEDIUM", "CVE-2024-0003"),
    ]


def test_markdown_of_a_long_fleet_lists_every_image_but_trends_the_50_worst() -> None:
    text = render_fleet_markdown(long_view(60))
    worst, trends = text.split("#### Trend per image")
    assert len(re.findall(r"^\| registry\.test/many/image-\d{3}:1 \|", worst, flags=re.M)) == 60
    trended = re.findall(r"^\| registry\.test/many/image-(\d{3}):1 \| 3 \|", trends, flags=re.M)
    assert trended == [f"{k:03d}" for k in range(TREND_LIMIT)]
    assert "10 more images are not shown: the 50 worst are." in trends


def test_markdown_trend_of_many_runs_keeps_the_newest_ten() -> None:
    view = fleet_view()
    api = view.images[0]
    many = tuple(replace(api.trend[k % 5], run_id=k + 1) for k in range(14))
    text = render_fleet_markdown(replace(view, images=(replace(api, trend=many),)))
    (row,) = [line for line in text.splitlines() if line.startswith("| registry.test/app/api:1.4 | 14 |")]
    # totals of the five points are 17 19 23 17 22, repeated: the newest ten of fourteen start at the fifth
    assert row.split(" | ")[2] == "… → 22 → 17 → 19 → 23 → 17 → 22 → 17 → 19 → 23 → 17"


# ---------------------------------------------------------------------------------------------- the run table


@pytest.mark.parametrize("width", [100, 60])
def test_run_table_is_unchanged(width: int) -> None:
    """What ``fleet scan`` prints after a resumed run with errors and new findings, and after a clean new
    run, at a wide and a narrow console."""
    text = table_text(resumed_run(), width) + "\n---\n" + table_text(fresh_run(), width)
    check_golden(f"run.w{width}.txt", text)


def column(text: str, header: str) -> str:
    """The words of a table's column ``header`` (the table whose header line has it), joined by spaces."""
    lines = text.splitlines()
    at = next(k for k, line in enumerate(lines) if line.startswith("Image ") and f" {header}" in line)
    start = lines[at].index(f" {header}") + 1
    cells = []
    for line in lines[at + 2 :]:
        if not line.strip():
            break
        cells.append(line[start:].strip())
    return " ".join(" ".join(cells).split())


@pytest.mark.parametrize("width", [100, 60, 40])
def test_run_table_never_cuts_an_id_or_a_message(width: int) -> None:
    """On any console width every line fits, ids stay whole on their line and messages fold, never cut."""
    text = table_text(resumed_run(), width)
    assert all(len(line.rstrip()) <= width for line in text.splitlines())
    for finding in API_NEW[1:]:
        assert any(finding.id in line for line in text.splitlines())
    assert column(text, "IDs") == (
        "CVE-2024-0002 (HIGH) CVE-2024-0001 (CRITICAL), CVE-2024-0002 (HIGH), GHSA-xxxx-yyyy-zzzz (HIGH)"
    )
    errors = column(text, "Error")
    assert "manifest unknown (HTTP 404)" in errors
    assert "layer sha256:9f3c… is 2.1 GB: over the 2 GB limit of one layer (--max-layer-size)" in errors
    words = " ".join(text.split())
    assert "resumed (2 images recorded before it stopped, not done again)" in words
    assert "2 scanned, 1 matched, 1 unchanged, 2 errors in 3723.5 s" in words


def test_run_table_lists_errors_and_new_findings_by_reference() -> None:
    """The engine returns outcomes in no fixed order: the summary lists them sorted, so it does not depend
    on which worker finished first."""
    run = resumed_run()
    shuffled = replace(run, errors=run.errors[::-1], new=run.new[::-1])
    assert table_text(run, 100) == table_text(shuffled, 100)
    text = table_text(run, 100)
    assert text.index("registry.test/app/big:7") < text.index("registry.test/app/gone:latest")
    assert text.index("registry.test/app/worker:2") < text.index(ODD)
    assert "No image has new high or critical findings." in table_text(fresh_run(), 100)


# ---------------------------------------------------------------------------------------------- JSON


@pytest.mark.parametrize("view", [fleet_view(), long_view(60), empty_view()], ids=["six", "long", "empty"])
def test_dashboard_json_is_valid_against_its_schema(view: FleetView) -> None:
    validate(json.loads(render_fleet_json(view)), "fleet")


@pytest.mark.parametrize("run", [resumed_run(), fresh_run()], ids=["resumed", "fresh"])
def test_run_json_is_valid_against_its_schema(run: FleetRun) -> None:
    validate(json.loads(render_fleet_run_json(run)), "fleet-run")


def test_dashboard_json_is_unchanged() -> None:
    check_golden("dashboard.json", render_fleet_json(fleet_view()) + "\n")
    check_golden("run.json", render_fleet_run_json(resumed_run()) + "\n")


def test_dashboard_json_says_what_the_page_says() -> None:
    doc = json.loads(render_fleet_json(fleet_view()))
    assert doc["schema"] == "alpinist-fleet/1"
    assert doc["run"]["id"] == 5 and doc["previous"]["kind"] == "rescan"
    assert doc["summary"] == {
        "images": 6,
        "by_status": {"scanned": 3, "matched": 1, "unchanged": 1, "error": 1},
        "with_new_findings": 2,
        "with_new_high_or_critical": 2,
        "with_base_advice": 2,
    }
    api, worker, odd, _, _, gone = doc["images"]
    assert [f["id"] for f in api["new"]] == [
        "CVE-2024-0001",
        "CVE-2024-0002",
        "GHSA-xxxx-yyyy-zzzz",
        "CVE-2024-0003",
    ]
    assert api["new"][0]["fixed_version"] == "2.36-9+deb12u4" and api["new"][2]["fixed_version"] is None
    assert [p["findings"] for p in api["trend"]] == [17, 19, 23, 17, 22]
    assert api["findings"] == 22 and api["high_or_critical"] == 7
    assert odd["reference"] == ODD and len(odd["trend"]) == 1 and odd["status"] == "unchanged"
    assert (
        gone["status"] == "error" and gone["error"] == "manifest unknown (HTTP 404)" and gone["trend"] == []
    )
    assert worker["base_advice"] is None and api["base_advice"].startswith("debian:11 → debian:12-slim")
    empty = json.loads(render_fleet_json(empty_view()))
    assert empty["run"] is None and empty["images"] == []


def test_schemas_refuse_what_the_formats_never_write() -> None:
    """The schemas are not vacuous: a missing status count, an unknown status and a finding without id fail."""
    doc = json.loads(render_fleet_json(fleet_view()))
    breakages: list[Callable[[dict[str, Any]], object]] = [
        lambda d: d["summary"]["by_status"].pop("error"),
        lambda d: d["images"][0].update(status="skipped"),
        lambda d: d["images"][0]["new"][0].pop("id"),
        lambda d: d["run"].update(started_at="2024-05-05 12:00"),
    ]
    for broken in breakages:
        bad = copy.deepcopy(doc)
        broken(bad)
        with pytest.raises(jsonschema.ValidationError):
            validate(bad, "fleet")
    run = json.loads(render_fleet_run_json(resumed_run()))
    run["new_high_or_critical"][0]["findings"] = []
    with pytest.raises(jsonschema.ValidationError):
        validate(run, "fleet-run")


# ---------------------------------------------------------------------------------------------- HTML


def page(view: FleetView) -> tuple[str, Node]:
    html = render_fleet_html(view)
    return html, parse_dom(html)


def _text(node: Node) -> str:
    return " ".join(node.all_text().split())


@pytest.mark.parametrize("view", [fleet_view(), long_view(60), empty_view()], ids=["six", "long", "empty"])
def test_the_page_has_no_script_and_loads_nothing(view: FleetView) -> None:
    html, dom = page(view)
    assert "<script" not in html.lower()
    assert not re.search(r"\ssrc\s*=", html, flags=re.I)
    assert not re.search(r"href\s*=\s*[\"']?\s*(https?:)?//", html, flags=re.I)
    assert dom.find_all("link") == [] and dom.find_all("img") == []
    assert not [n for n in dom.iter() if any(k.startswith("on") for k in n.attrs)]  # no event handler
    (csp,) = [m for m in dom.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in csp.attrs["content"]


def test_the_page_escapes_a_reference_with_markup() -> None:
    html, dom = page(fleet_view())
    assert ODD not in html  # raw, "<b>" would be an element
    # the only <b> of the page is the one around the unreadable image's name: the reference's "<b>" is text
    assert [_text(b) for b in dom.find_all("b")] == ["registry.test/app/gone:latest"]
    rows = [tr for tr in dom.find_all("tr") if tr.attrs.get("data-reference") == ODD]
    assert len(rows) == 1  # the attribute, unescaped by the parser, is the reference exactly
    assert _text(rows[0].children[0]) == ODD
    (figure,) = [f for f in dom.find_all("figure", "fig-trend") if f.attrs["data-reference"] == ODD]
    (chart,) = figure.find_all("svg", "chart-trend")
    assert chart.attrs["data-reference"] == ODD


def test_one_chart_per_trend_shown() -> None:
    """Five of the six images have a trend (the unreadable one has none): five charts, each with a total
    and a high + critical series, one point per run."""
    html, dom = page(fleet_view())
    assert html.count("<svg") == 5
    figures = dom.find_all("figure", "fig-trend")
    assert [f.attrs["data-reference"] for f in figures] == [i.reference for i in fleet_view().images]
    for figure, image in zip(figures, fleet_view().images, strict=True):
        charts = figure.find_all("svg", "chart-trend")
        assert len(charts) == (1 if image.trend else 0)
        for chart in charts:
            series = {g.attrs["data-series"]: g for g in chart.find_all("g", "series")}
            assert set(series) == {"total", "high-or-critical"}
            totals = [int(c.attrs["data-count"]) for c in series["total"].find_all("circle", "point")]
            assert totals == [sum(n for _, n in p.by_severity) for p in image.trend]
    (gone,) = [f for f in figures if f.attrs["data-reference"] == "registry.test/app/gone:latest"]
    assert "No result recorded yet." in _text(gone)


def test_a_long_fleet_lists_every_image_and_draws_the_50_worst() -> None:
    html, dom = page(long_view(60))
    (table,) = dom.find_all("table", "worst")
    assert len([tr for tr in table.find_all("tr") if "data-reference" in tr.attrs]) == 60
    assert html.count("<svg") == TREND_LIMIT
    drawn = [f.attrs["data-reference"] for f in dom.find_all("figure", "fig-trend")]
    assert drawn == [f"registry.test/many/image-{k:03d}:1" for k in range(TREND_LIMIT)]
    (note,) = dom.find_all("p", "left-out")
    assert _text(note) == "10 more images are not shown here: the 50 worst are."
    _, short = page(long_view(50))
    assert short.find_all("p", "left-out") == []


def test_the_page_has_every_section() -> None:
    _, dom = page(fleet_view())
    sections = {s.attrs["id"]: s for s in dom.find_all("section")}
    assert list(sections) == ["run", "worst", "new", "trends", "base"]
    run = _text(sections["run"])
    for text in (
        "#5 fleet scan",
        "20240505T0600Z-9b1d0e44a2c7",
        "local(2)",
        "3 scanned, 1 matched, 1 unchanged, 1 error",
    ):
        assert text in run
    assert "#4 fleet rescan" in run and "20240504T0600Z-3f2a9c1e07b5" in run
    (table,) = sections["worst"].find_all("table", "worst")
    rows = [tr for tr in table.find_all("tr") if "data-reference" in tr.attrs]
    assert [_text(td) for td in rows[0].find_all("td")] == [
        "registry.test/app/api:1.4",
        "debian 12",
        "2",
        "5",
        "9",
        "3",
        "1",
        "2",
        "22",
        "sha256:ab12ab12ab12",
        "scanned",
    ]
    assert rows[-1].attrs["data-status"] == "error" and _text(rows[-1].find_all("td")[2]) == "—"
    (errors,) = sections["worst"].find_all("ul", "errors")
    assert _text(errors) == "registry.test/app/gone:latest: manifest unknown (HTTP 404)"
    new = sections["new"].find_all("table", "new")
    assert [t.attrs["data-reference"] for t in new] == [
        "registry.test/app/api:1.4",
        "registry.test/app/worker:2",
    ]
    assert [tr.attrs["data-id"] for tr in new[0].find_all("tr") if "data-id" in tr.attrs] == [
        "CVE-2024-0001",
        "CVE-2024-0002",
        "GHSA-xxxx-yyyy-zzzz",
        "CVE-2024-0003",
    ]
    assert [_text(td) for td in new[0].find_all("tr")[1].find_all("td")][-1] == "2.36-9+deb12u4"
    base = [
        tr.attrs["data-reference"] for tr in sections["base"].find_all("tr") if "data-reference" in tr.attrs
    ]
    assert base == ["registry.test/app/api:1.4", "registry.test/base/python:3.12"]
    (code,) = sections["base"].find_all("code")
    assert _text(code) == "alpinist recommend registry.test/app/api:1.4"


def test_an_empty_store_renders_a_page_that_says_so() -> None:
    html, dom = page(empty_view())
    assert dom.find_all("section") == [] and "<svg" not in html
    (note,) = dom.find_all("p", "empty")
    assert (
        _text(note)
        == "The store sqlite:////var/lib/alpinist/fleet.db has no run yet: alpinist fleet scan records one."
    )


def test_every_format_is_deterministic() -> None:
    """The same view renders to the same bytes, whatever order the new findings came in."""
    view = fleet_view()
    api = view.images[0]
    shuffled = replace(view, images=(replace(api, new=api.new[::-1]), *view.images[1:]))
    for render in (render_fleet_html, render_fleet_markdown, render_fleet_json):
        assert render(view) == render(fleet_view()) == render(shuffled)
