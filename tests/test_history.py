# ruff: noqa: F811  (the session fixtures imported from tests.scan_fixtures are parameters here)
"""The scan history (``--history FILE``, ``alpinist history``; docs/history.md): real SQLite files, real scans
of corpus images against the session database, counts checked against the hand-written
``tests/expected_findings``.

- ``scan`` twice, ``gate`` once (against a baseline recorded with ``--severity critical,high``, so every
  finding below HIGH is new, and nothing is gone), ``rescan`` of a directory holding the image's stored SBOM:
  ``history --format json`` lists the four runs in order with the expected counts.
- ``--format html``: every chart is well-formed SVG (``xml.etree``) with one point per run and severity;
  a hostile image name is escaped; no script.
- ``compare --format html --history FILE``: a trend per image below the table; without it, no trend.
- A file that is not SQLite, another program's SQLite database, or a history of another schema version is
  refused (exit 1, one line naming the file) before anything is scanned; ``history`` of a missing file too.
- Concurrent writers (threads, and processes) on one fresh file: every row lands.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from alpinist.cli.app import main
from alpinist.cli.history import parse_since
from alpinist.history.model import History, HistoryEntry, severity_counts
from alpinist.history.store import HistoryStore
from alpinist.models import Inventory
from alpinist.reports.history.html import render_history_html
from alpinist.reports.sbom.json import render_json
from tests.conftest import oci_ref
from tests.scan_fixtures import inventories, scan_db  # noqa: F401  (fixtures)

ALPINE = oci_ref("alpine:3.20.3")
DEBIAN_APP = oci_ref("python-app:debian")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN")
SVG_NS = "{http://www.w3.org/2000/svg}"
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALPINIST_MIRROR", "ALPINIST_DB", "ALPINIST_HISTORY"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    out = capsys.readouterr()
    code = stopped.value.code
    return (code if isinstance(code, int) else 1), out.out, out.err


def expected(tag: str) -> dict[str, Any]:
    """What the hand-written expected findings say a scan of ``tag`` counts."""
    path = Path(__file__).parent / "expected_findings" / f"{tag.replace(':', '_')}.tsv"
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    header = lines[0].split("\t")
    rows = [dict(zip(header, ln.split("\t"), strict=True)) for ln in lines[1:]]
    counts = Counter(r["severity"] for r in rows)
    return {
        "findings": len(rows),
        "by_severity": {s: counts.get(s, 0) for s in SEVERITIES},
        "unique_ids": len({r["id"] for r in rows}),
        "packages": len({(r["package"], r["type"], r["installed"]) for r in rows}),
    }


def svgs(page: str) -> list[ET.Element]:
    """Every inline ``<svg>`` of an HTML page, parsed as XML (each must be well-formed on its own)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", page, flags=re.S)]


# ------------------------------------------------------------------------------------------------ corpus


def test_scan_gate_rescan_are_listed_in_order_with_their_counts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scan_db: Path, inventories: dict[str, Inventory]
) -> None:
    history = tmp_path / "runs" / "history.db"  # its directory is created
    db = ["--db", str(scan_db)]
    want = expected("alpine:3.20.3")

    for _ in range(2):
        code, _, err = run(capsys, "scan", ALPINE, *db, "-f", "json", "--history", str(history))
        assert code == 0, err
    baseline = tmp_path / "baseline.json"
    code, _, err = run(capsys, "baseline", ALPINE, *db, "--severity", "critical,high", "-o", str(baseline))
    assert code == 0, err
    code, _, err = run(
        capsys,
        "gate",
        ALPINE,
        "--baseline",
        str(baseline),
        *db,
        "--fail-on",
        "none",
        "--history",
        str(history),
    )
    assert code == 0, err
    sboms = tmp_path / "sboms"
    sboms.mkdir()
    (sboms / "alpine.json").write_text(render_json(inventories["alpine:3.20.3"]))
    code, _, err = run(capsys, "rescan", str(sboms), *db, "--history", str(history))
    assert code == 0, err

    code, out, err = run(capsys, "history", "--history", str(history), "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "alpinist-history/1" and doc["runs"] == 4
    schema = json.loads(resources.files("alpinist").joinpath("schemas/history.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    (image,) = doc["images"]  # the rescanned SBOM names the same image as the scans
    runs = image["runs"]
    assert [r["verb"] for r in runs] == ["scan", "scan", "gate", "rescan"]
    assert [r["time"] for r in runs] == sorted(r["time"] for r in runs)
    status = json.loads(run(capsys, "db", "status", "--db", str(scan_db), "-f", "json")[1])
    newest = max(s["updated_at"] for s in status["sources"])
    for r in runs:
        assert r["reference"] == ALPINE
        assert r["manifest_digest"].startswith("sha256:")
        assert {k: r[k] for k in ("findings", "by_severity", "unique_ids", "packages")} == want
        assert r["database_updated_at"] == datetime.fromisoformat(newest).strftime("%Y-%m-%dT%H:%M:%SZ")
    below_high = sum(n for s, n in want["by_severity"].items() if s not in ("CRITICAL", "HIGH"))
    assert below_high > 0
    assert (runs[2]["new"], runs[2]["gone"]) == (below_high, 0)
    assert all(r["new"] is None and r["gone"] is None for i, r in enumerate(runs) if i != 2)

    # filters: the image by name or reference; --since in the future keeps nothing
    assert (
        run(capsys, "history", "--history", str(history), "--image", "nope", "-f", "json")[1].count('"verb"')
        == 0
    )
    code, out, _ = run(capsys, "history", "--history", str(history), "--image", ALPINE, "-f", "json")
    assert json.loads(out)["runs"] == 4
    code, out, _ = run(capsys, "history", "--history", str(history), "--since", "2999-01-01", "-f", "json")
    assert code == 0 and json.loads(out)["runs"] == 0

    # the table, and the html page: one chart, one point per run and severity, counts as recorded
    code, out, _ = run(capsys, "history", "--history", str(history))
    assert code == 0 and "4 runs of 1 image in" in out and "rescan" in out
    page_file = tmp_path / "history.html"
    code, _, err = run(capsys, "history", "--history", str(history), "-f", "html", "-o", str(page_file))
    assert code == 0, err
    page = page_file.read_text()
    assert "<script" not in page.lower()
    (chart,) = svgs(page)
    assert "chart-history" in chart.get("class", "")
    for severity in SEVERITIES:
        points = chart.findall(f".//{SVG_NS}g[@data-severity='{severity}']/{SVG_NS}circle")
        assert [p.get("data-count") for p in points] == [str(want["by_severity"][severity])] * 4
        assert len(chart.findall(f".//{SVG_NS}g[@data-severity='{severity}']/{SVG_NS}polyline")) == 1


def test_compare_html_shows_a_trend_per_image_only_with_history(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scan_db: Path
) -> None:
    history = tmp_path / "history.db"
    for _ in range(2):
        assert run(capsys, "scan", ALPINE, "--db", str(scan_db), "--history", str(history))[0] == 0
    args = ["compare", ALPINE, DEBIAN_APP, "--labels", "alpine,app", "--db", str(scan_db), "-f", "html"]
    code, plain, err = run(capsys, *args)
    assert code == 0, err
    assert 'id="trends"' not in plain
    code, page, err = run(capsys, *args, "--history", str(history))
    assert code == 0, err
    assert (
        page.replace(page[page.index('<section id="trends">') : page.index('<section id="charts">')], "")
        == plain
    )
    trends = page[page.index('<section id="trends">') : page.index('<section id="charts">')]
    assert trends.count('class="fig-trend"') == 2
    assert "alpine: 2 recorded runs" in trends and "app: 0 recorded runs" in trends
    (chart,) = svgs(trends)
    assert len(chart.findall(f".//{SVG_NS}circle")) == 2 * len(SEVERITIES)
    # a store not written yet: a warning, empty trends; other formats: a warning, no trends
    code, page, err = run(capsys, *args, "--history", str(tmp_path / "none.db"))
    assert code == 0 and "does not exist yet" in err and "0 recorded runs" in page
    code, _, err = run(capsys, *args[:-1], "json", "--history", str(history))
    assert code == 0 and "only --format html shows trends" in err


# ----------------------------------------------------------------------------------------------- refusals


def test_bad_history_files_are_refused_before_the_scan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scan_db: Path
) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not SQLite at all\n" * 200)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE things (x)")
    advisories = scan_db  # another alpinist database: not a history store either
    older = tmp_path / "older.db"
    HistoryStore.open(older).close()
    with sqlite3.connect(older) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")

    for path, says in (
        (garbage, "not an SQLite file, or damaged"),
        (foreign, "without its meta table"),
        (advisories, "application is 'alpinist-advisories'"),
        (older, "schema version 99"),
    ):
        before = path.read_bytes()
        code, out, err = run(
            capsys, "scan", ALPINE, "--db", str(scan_db), "-f", "json", "--history", str(path)
        )
        assert code == 1 and out == "", err  # refused before anything was scanned or written
        assert err.startswith(f"alpinist: error: {path}: ") and says in err and err.count("\n") == 1
        code, out, err = run(capsys, "history", "--history", str(path))
        assert code == 1 and says in err
        assert path.read_bytes() == before

    code, _, err = run(capsys, "history", "--history", str(tmp_path / "missing.db"))
    assert code == 1 and "does not exist" in err and not (tmp_path / "missing.db").exists()
    code, _, err = run(capsys, "history")
    assert code == 64 and "--history FILE" in err
    code, _, err = run(capsys, "history", "--history", str(garbage), "--since", "yesterday-ish")
    assert code == 64


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with HistoryStore.open(path) as store:
        assert store.entries() == ()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# ---------------------------------------------------------------------------------------------- unit level


def entry(name: str, when: datetime, high: int = 1, **kw: Any) -> HistoryEntry:
    return HistoryEntry(
        recorded_at=when,
        verb=kw.pop("verb", "scan"),
        reference=kw.pop("reference", name),
        name=name,
        manifest_digest="sha256:" + "a" * 64,
        by_severity=severity_counts({"HIGH": high, "LOW": 2}),
        findings=high + 2,
        unique_ids=high + 2,
        packages=1,
        db_updated_at=when - timedelta(hours=1),
        **kw,
    )


def test_since_and_image_filters(tmp_path: Path) -> None:
    t0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    with HistoryStore.open(tmp_path / "h.db") as store:
        store.append([entry("a", t0), entry("b", t0)])
        store.append([entry("a", t0 + timedelta(days=2), high=3, verb="gate", new=2, gone=0)])
        assert [(e.name, e.count("HIGH")) for e in store.entries()] == [("a", 1), ("b", 1), ("a", 3)]
        assert [e.verb for e in store.entries(image="a", since=t0 + timedelta(days=1))] == ["gate"]
        (gated,) = store.entries(since=parse_since("2025-03-02"))
        assert (gated.new, gated.gone, gated.db_updated_at) == (2, 0, t0 + timedelta(days=2, hours=-1))
    assert parse_since("7d", now=t0) == t0 - timedelta(days=7)
    assert parse_since("2025-03-02T10:00:00Z") == datetime(2025, 3, 2, 10, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_since("last tuesday")


def test_labels_are_escaped_in_the_page_and_the_charts() -> None:
    hostile = "<script>alert('x')</script> & \"q\" ]]> <!--"
    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    page = render_history_html(
        History("h<i>.db", (entry(hostile, t0), entry(hostile, t0 + timedelta(days=1), high=4)))
    )
    assert "<script" not in page and "<i>" not in page
    (chart,) = svgs(page)
    assert chart.get("data-image") == hostile
    assert chart.find(f"{SVG_NS}title") is not None
    assert hostile in (chart.find(f"{SVG_NS}title").text or "")  # type: ignore[union-attr]
    tips = [t.text or "" for t in chart.iter(f"{SVG_NS}title")]
    assert any(hostile in t and "4 HIGH" in t for t in tips)


def test_all_or_nothing(tmp_path: Path) -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    with HistoryStore.open(tmp_path / "h.db") as store:
        with pytest.raises(ValueError):
            store.append([entry("ok", t0), entry("bad", t0, verb="deploy")])
        assert store.entries() == ()


# -------------------------------------------------------------------------------------------- concurrency

WRITER = """
import sys
from datetime import UTC, datetime
from alpinist.history.model import HistoryEntry, severity_counts
from alpinist.history.store import HistoryStore
path, who, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(runs):
    e = HistoryEntry(datetime.now(UTC), "scan", who, who, None, severity_counts({"HIGH": i}), i, i, 1, None)
    with HistoryStore.open(path) as store:
        store.append([e, e])
"""


def test_concurrent_writers_threads_and_processes_all_land(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    errors: list[BaseException] = []

    def writer(who: str) -> None:
        try:
            for i in range(20):
                with HistoryStore.open(path) as store:
                    store.append([entry(who, datetime.now(UTC), high=i)] * 2)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"t{n}",)) for n in range(6)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"p{n}", "20"],
            env={"PYTHONPATH": str(SRC)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert errors == []
    with HistoryStore.open(path, create=False) as store:
        entries = store.entries()
    assert len(entries) == (6 + 3) * 20 * 2
    assert Counter(e.name for e in entries) == {
        **{f"t{n}": 40 for n in range(6)},
        **{f"p{n}": 40 for n in range(3)},
    }
    # each writer's own runs stay in its order
    for who in ("t0", "p2"):
        highs = [e.count("HIGH") for e in entries if e.name == who]
        assert highs == sorted(highs)
