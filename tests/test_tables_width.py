# ruff: noqa: F811  (the session fixtures imported from tests.scan_fixtures are parameters here)
"""Every table at 80 and 100 columns (issue 14, item 1): the verbs run through the CLI with stdout a pipe and
``COLUMNS`` set, so ``emit_rich`` takes the width from ``COLUMNS`` as a terminal would.

What is checked on each table:

- every essential column's header is on the header line (for ``scan``: Severity, ID, Package, Installed,
  Fixed), and a column left out is named under the table;
- nothing is cut: each column is read back from the output (the text under its header on every line, the
  lines joined, spaces dropped) and every value the JSON report has for it is found there whole, so a value
  cut by the console, by an ellipsis or by a crop at the edge fails;
- no line is wider than the console.

Also here: ``COLUMNS`` on a pipe (and the default without it), ``scan --wide``, the severity counts under
``--severity`` (item 7), the layer progress bar (item 7), and compare's verdicts for lines whose values
differ but rank alike (item 4).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from alpinist.cli.app import main
from alpinist.models import Inventory
from alpinist.reports.sbom.json import render_json
from tests.conftest import oci_ref
from tests.scan_fixtures import inventories, scan_db  # noqa: F401  (fixtures)

WIDTHS = (80, 100)
DEBIAN_APP = oci_ref("python-app:debian")
ALPINE_APP = oci_ref("python-app:alpine")
ALPINE = oci_ref("alpine:3.20.3")
DOCKERFILES = Path(__file__).parent / "dockerfiles"
COMPARE = ("compare", DEBIAN_APP, ALPINE_APP, ALPINE, "--labels", "before,after,java")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    for name in ("ALPINIST_MIRROR", "ALPINIST_DB", "ALPINIST_HISTORY"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    out = capsys.readouterr()
    code = stopped.value.code
    return (code if isinstance(code, int) else 1), out.out, out.err


def at_width(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int, *args: str
) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, err = run(capsys, *args)
    assert code in (0, 2), err
    assert max(len(line) for line in out.splitlines()) <= width, out
    return out


def header_line(out: str, headers: tuple[str, ...], start: int = 0) -> int:
    """The index of the first line from ``start`` with every header on it, as a word of its own."""
    lines = out.splitlines()
    for i in range(start, len(lines)):
        if all(re.search(rf"(?<!\S){re.escape(h)}(?!\S)", lines[i]) for h in headers):
            return i
    raise AssertionError(f"no header line with {headers} in:\n{out}")


def columns_text(out: str, headers: tuple[str, ...], start: int = 0) -> dict[str, str]:
    """Each column's text: the slice of every line under the header (until a blank line), lines joined,
    whitespace dropped. Columns are cut at the headers' positions: a left-justified header starts its
    column, so a value cut or shortened anywhere would not be found whole in this text."""
    lines = out.splitlines()
    at = header_line(out, headers, start)
    head = lines[at]
    starts = [re.search(rf"(?<!\S){re.escape(h)}(?!\S)", head).start() for h in headers]  # type: ignore[union-attr]
    assert starts == sorted(starts), head
    body: list[str] = []
    for line in lines[at + 2 :]:  # below the rule
        if not line.strip():
            break
        body.append(line)
    texts = {}
    for n, h in enumerate(headers):
        end = starts[n + 1] if n + 1 < len(headers) else None
        texts[h] = "".join(line[starts[n] : end] for line in body)
        texts[h] = re.sub(r"\s+", "", texts[h])
    return texts


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_whole(texts: dict[str, str], column: str, values: list[str]) -> None:
    missing = [v for v in values if squash(v) not in texts[column]]
    assert not missing, f"{column}: cut or missing: {missing[:5]}"


# ---------------------------------------------------------------------------------------------------- scan


def json_of(*args: str) -> dict[str, Any]:
    """The JSON document a verb prints (run once for a module's fixture)."""
    buf = io.StringIO()
    with pytest.raises(SystemExit), contextlib.redirect_stdout(buf):
        main(list(args))
    doc: dict[str, Any] = json.loads(buf.getvalue())
    return doc


@pytest.fixture(scope="module")
def scan_json(scan_db: Path) -> dict[str, Any]:
    return json_of("scan", DEBIAN_APP, "--db", str(scan_db), "--offline", "-f", "json")


SCAN_ESSENTIAL = ("Severity", "ID", "Package", "Installed", "Fixed")


@pytest.mark.parametrize("width", WIDTHS)
def test_scan_keeps_the_essential_columns_whole_and_names_the_others(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    scan_db: Path,
    scan_json: dict[str, Any],
    width: int,
) -> None:
    out = at_width(capsys, monkeypatch, width, "scan", DEBIAN_APP, "--db", str(scan_db), "--offline")
    texts = columns_text(out, SCAN_ESSENTIAL)
    findings = scan_json["findings"]
    assert_whole(texts, "ID", [f["id"] for f in findings])
    assert_whole(texts, "Package", [f["package"]["name"] for f in findings])
    assert_whole(texts, "Installed", [f["installed_version"] for f in findings])
    assert_whole(texts, "Fixed", [f["fixed_version"] or "-" for f in findings])
    severities = texts["Severity"]
    assert severities.count("HIGH") >= sum(f["severity"] == "HIGH" for f in findings)
    # the columns left out are named under the table, never dropped silently
    header = out.splitlines()[header_line(out, SCAN_ESSENTIAL)]
    left_out = [c for c in ("Status", "Type", "Layer", "Severity source") if c not in header]
    if left_out:
        assert f"not shown at {width} columns: {', '.join(left_out)}" in squash_spaces(out)
    # ids are never broken at their hyphens: each is whole on one line
    for f in findings:
        assert re.search(rf"(?<!\S){re.escape(f['id'])}(?!\S)", out), f["id"]


def squash_spaces(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_scan_wide_has_every_column_whole_on_a_narrow_console(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    scan_db: Path,
    scan_json: dict[str, Any],
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run(capsys, "scan", DEBIAN_APP, "--db", str(scan_db), "--offline", "--wide")
    assert code == 0, err
    headers = (*SCAN_ESSENTIAL, "Status", "Type", "Layer", "Severity source")
    texts = columns_text(out, headers)
    assert "not shown at" not in out
    # the longest severity source, cut to "nvd:cvss3.1:secalert" at 160 columns before issue 14, is whole
    sources = [f["severity_source"] for f in scan_json["findings"]]
    assert "nvd:cvss3.1:secalert@redhat.com" in sources
    assert_whole(texts, "Severity source", sources)
    assert_whole(texts, "Status", [f["status"] for f in scan_json["findings"]])


def test_severity_filter_counts_only_the_severities_asked_for(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, scan_db: Path
) -> None:
    out = at_width(
        capsys,
        monkeypatch,
        100,
        "scan",
        DEBIAN_APP,
        "--db",
        str(scan_db),
        "--offline",
        "--severity",
        "critical,high",
    )
    counts = out.splitlines()[2]
    assert counts.split() == ["CRITICAL", "6", "HIGH", "25"], counts
    assert "MEDIUM" not in counts and "LOW" not in counts


# ---------------------------------------------------------------------------------------------------- COLUMNS


def test_a_pipe_takes_its_width_from_columns_else_the_format_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, scan_db: Path
) -> None:
    args = ("scan", DEBIAN_APP, "--db", str(scan_db), "--offline")
    # the table says the width it was laid out for when it leaves a column out
    out = at_width(capsys, monkeypatch, 100, *args)
    assert "not shown at 100 columns:" in out
    monkeypatch.delenv("COLUMNS")
    code, out, _ = run(capsys, *args)
    assert code == 0 and "not shown at 160 columns: Severity source" in out
    monkeypatch.setenv("COLUMNS", "not a number")
    code, out, _ = run(capsys, *args)
    assert code == 0 and "not shown at 160 columns: Severity source" in out


# ---------------------------------------------------------------------------------------------------- sbom


@pytest.mark.parametrize("width", WIDTHS)
def test_sbom_names_versions_origins_and_locations_are_whole(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    inventories: dict[str, Inventory],
    width: int,
) -> None:
    doc = json.loads(render_json(inventories["python-app:debian"]))
    out = at_width(capsys, monkeypatch, width, "sbom", DEBIAN_APP)
    headers = ("Name", "Version", "Type", "Origin/Source", "Layer")
    texts = columns_text(out, headers)
    packages = doc["packages"]
    assert_whole(texts, "Name", [p["name"] for p in packages])
    assert_whole(texts, "Version", [p["version"] for p in packages])
    assert_whole(
        texts, "Origin/Source", [p["origin"] for p in packages if p["type"] == "deb" and p.get("origin")]
    )
    # the Origin/Source header is not folded ("Origin/Sou" over "rce")
    assert "Origin/Source" in out.splitlines()[header_line(out, headers)]
    located = [p for p in packages if p["type"] in ("python", "binary") and p.get("locations")]
    assert located
    if "Location" in out.splitlines()[header_line(out, headers)]:
        loc = columns_text(out, (*headers, "Location"))
    else:  # the second table: name, version, location
        loc = columns_text(out, ("Name", "Version", "Location"), header_line(out, headers) + 1)
    assert_whole(loc, "Location", [p["locations"][0] for p in located])


def test_sbom_at_200_columns_is_one_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = at_width(capsys, monkeypatch, 200, "sbom", DEBIAN_APP)
    header_line(out, ("Name", "Version", "Type", "Origin/Source", "Layer", "Location"))
    assert out.count("Location") == 1


# ---------------------------------------------------------------------------------------------------- compare


@pytest.fixture(scope="module")
def compare_json(scan_db: Path) -> dict[str, Any]:
    return json_of(*COMPARE, "--db", str(scan_db), "--offline", "-f", "json")


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_cells_and_verdicts_are_whole(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    scan_db: Path,
    compare_json: dict[str, Any],
    width: int,
) -> None:
    out = at_width(capsys, monkeypatch, width, *COMPARE, "--db", str(scan_db), "--offline")
    texts = columns_text(out, ("before", "after", "java", "Better"))
    for n, label in enumerate(("before", "after", "java")):
        assert_whole(texts, label, [m["texts"][n] for m in compare_json["metrics"]])
    assert_whole(texts, "Better", [", ".join(m["best"]) for m in compare_json["metrics"]])
    # the line names, the text left of the first image's column, are whole too
    lines = out.splitlines()
    at = header_line(out, ("before", "after", "java", "Better"))
    first = lines[at].index("before")
    names = squash("".join(line[:first] for line in lines[at + 2 :] if line.strip()))
    for m in compare_json["metrics"]:
        assert squash(m["label"]) in names, m["label"]


def test_compare_never_says_the_same_for_values_that_differ(compare_json: dict[str, Any]) -> None:
    metrics = {m["key"]: m for m in compare_json["metrics"]}
    # before runs as appuser, after as nonroot:nonroot: both not root, the values differ
    user = metrics["user"]
    assert user["best"] == ["before", "after"] and not user["tie"] and not user["equivalent"]
    pm = metrics["package_managers"]  # apt, ... vs apk vs apk: all have one, not the same
    assert pm["best"] == [] and not pm["tie"] and pm["equivalent"]
    shell = metrics["shell"]  # /bin/sh everywhere: the same
    assert shell["tie"] and not shell["equivalent"]
    after, java = compare_json["tallies"]
    # after vs before: shell the same; package manager and user (both non-root) equivalent
    assert (after["same"], after["equivalent"]) == (1, 2)
    assert (java["same"], java["equivalent"]) == (1, 1)


def test_compare_table_marks_equivalent_lines_and_explains_the_marks(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, scan_db: Path
) -> None:
    out = at_width(capsys, monkeypatch, 100, "compare", DEBIAN_APP, ALPINE_APP, "--labels", "before,after",
                   "--db", str(scan_db), "--offline")  # fmt: skip
    lines = {
        line.split("  ")[0]: line
        for line in out.splitlines()
        if line.startswith(("User", "Package man", "Shell"))
    }
    assert lines["User"].rstrip().endswith("≈")  # appuser vs nonroot:nonroot
    assert lines["Package manager"].rstrip().endswith("≈")
    assert lines["Shell"].rstrip().endswith("=")
    assert "after vs before: better on 12 lines, worse on 1, the same on 1, equivalent on 2" in out
    assert "= all the same; ≈ different, but equally good by the line's rule" in out


# ---------------------------------------------------------------------------------------------------- lint, gate, rescan, history


@pytest.mark.parametrize("width", WIDTHS)
def test_lint_table_keeps_lines_rules_and_findings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    path = str(DOCKERFILES / "insecure.Dockerfile")
    _, doc_text, _ = run(capsys, "lint", path, "-f", "json")
    doc = json.loads(doc_text)
    out = at_width(capsys, monkeypatch, width, "lint", path)
    headers = ("Line", "Severity", "Rule", "Finding", "Fix")
    texts = columns_text(out, headers)
    findings = doc["findings"]
    assert findings
    assert_whole(texts, "Rule", [f["rule"] for f in findings])
    assert_whole(texts, "Finding", [f["message"] for f in findings])
    assert_whole(texts, "Fix", [f["fix"] for f in findings])


@pytest.mark.parametrize("width", WIDTHS)
def test_gate_table_keeps_ids_and_versions(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    scan_db: Path,
    tmp_path: Path,
    width: int,
) -> None:
    baseline = tmp_path / "baseline.json"
    db = ("--db", str(scan_db), "--offline")
    code, _, err = run(capsys, "baseline", DEBIAN_APP, *db, "--severity", "critical", "-o", str(baseline))
    assert code == 0, err
    code, doc_text, _ = run(capsys, "gate", DEBIAN_APP, "--baseline", str(baseline), *db, "-f", "json")
    new = json.loads(doc_text)["new"]
    assert new
    out = at_width(capsys, monkeypatch, width, "gate", DEBIAN_APP, "--baseline", str(baseline), *db)
    texts = columns_text(out, ("Severity", "ID", "Package", "Installed", "Fixed"))
    assert_whole(texts, "ID", [f["id"] for f in new])
    assert_whole(texts, "Installed", [f["installed_version"] for f in new])
    for f in new:  # never broken at a hyphen: each id whole on its line
        assert re.search(rf"(?<!\S){re.escape(f['id'])}(?!\S)", out), f["id"]


@pytest.mark.parametrize("width", WIDTHS)
def test_rescan_and_history_tables_keep_every_column(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    scan_db: Path,
    inventories: dict[str, Inventory],
    tmp_path: Path,
    width: int,
) -> None:
    history = tmp_path / "history.db"
    db = ("--db", str(scan_db), "--offline")
    code, _, err = run(capsys, "scan", DEBIAN_APP, *db, "-f", "json", "--history", str(history))
    assert code == 0, err
    sboms = tmp_path / "sboms"
    sboms.mkdir()
    (sboms / "app.json").write_text(render_json(inventories["python-app:debian"]))
    out = at_width(capsys, monkeypatch, width, "rescan", str(sboms), *db, "--history", str(history))
    texts = columns_text(out, ("Severity", "ID", "Package", "Version", "Fixed", "Status"))
    code, doc_text, _ = run(capsys, "scan", DEBIAN_APP, *db, "-f", "json")
    findings = json.loads(doc_text)["findings"]
    assert_whole(texts, "ID", [f["id"] for f in findings])
    assert_whole(texts, "Version", [f["installed_version"] for f in findings])

    out = at_width(capsys, monkeypatch, width, "history", "--history", str(history))
    headers = ("Verb", "Critical", "High", "Total")
    texts = columns_text(out, headers)
    assert texts["Verb"] == "scanrescan"
    assert squash(out).count(squash("Database")) == 1
    digest = json.loads(doc_text)["image"]["manifest_digest"][:19]
    assert digest in squash(out)


# ---------------------------------------------------------------------------------------------------- progress


def test_the_layer_bar_counts_layers_not_bytes() -> None:
    from rich.console import Console

    from alpinist.cli.common import add_layer_task, make_progress

    console = Console(file=io.StringIO(), width=100, record=True, force_terminal=False)
    progress = make_progress(console)
    layers = add_layer_task(progress, 6)
    progress.update(layers, completed=5)
    blob = progress.add_task("pull 0123456789ab", total=2_000_000)
    progress.update(blob, completed=1_000_000)
    console.print(progress.make_tasks_table(progress.tasks))
    layer_line, blob_line = console.export_text().splitlines()
    assert layer_line.startswith("read layers") and "5/6 layers" in layer_line
    assert "bytes" not in layer_line and "/s" not in layer_line
    assert blob_line.startswith("pull 0123456789ab") and "1.0/2.0 MB" in blob_line


# ---------------------------------------------------------------------------------------------------- HTML


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _distance(a: str, b: str) -> float:
    return float(sum((x - y) ** 2 for x, y in zip(_rgb(a), _rgb(b), strict=True)) ** 0.5)


def test_negligible_and_unknown_are_told_apart_in_badges_and_charts() -> None:
    from alpinist.reports.compare.html import CSS, SEVERITY_FILL

    badge = dict(re.findall(r"\.sev-([A-Z]+) \{ background: (#[0-9a-f]{6}); \}", CSS))
    # the two greys they were (#5d7386 and #6b6b6b badges, #9fb6c9 and #b9b9b9 bars) are 31 apart
    assert _distance(badge["NEGLIGIBLE"], badge["UNKNOWN"]) > 60
    assert _distance(SEVERITY_FILL["NEGLIGIBLE"], SEVERITY_FILL["UNKNOWN"]) > 60


def test_html_warnings_show_code_not_backquotes_and_ids_do_not_break() -> None:
    from alpinist.compare.model import Comparison
    from alpinist.reports.compare.html import CSS, render_compare_html

    page = render_compare_html(
        Comparison(
            columns=(), metrics=(), diffs=(), warnings=("database is old: run `alpinist db update` <now>",)
        )
    )
    assert "<li>database is old: run <code>alpinist db update</code> &lt;now&gt;</li>" in page
    assert "`" not in page.split('<section id="warnings">')[1]
    # each id and its badge are one unbreakable unit: a CVE id is not broken at its hyphens
    assert re.search(r"\.vuln \{ white-space: nowrap; \}", CSS)
