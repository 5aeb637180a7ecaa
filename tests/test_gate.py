# ruff: noqa: F811  (the session fixtures imported from tests.scan_fixtures are parameters here)
"""``alpinist baseline`` and ``alpinist gate`` on the corpus: real feeds through the loopback feed server and
the real update code, real OCI images.

The central fact, derived by hand from ``tests/expected_findings/python-app_debian.tsv``: a baseline of
python-app:debian recorded with a database of only the ``debian`` and ``nvd`` feeds holds no PyPI finding
(OSV is the only feed of the ``pypi`` namespace); gated against the full database, exactly the nine rows of
type ``python`` of that file are new, and three of them (certifi CVE-2023-37920 CRITICAL, idna CVE-2024-3651
HIGH, urllib3 CVE-2023-43804 HIGH) are at or above the default ``--fail-on high``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from alpinist.advisories.store import Store
from alpinist.cli.app import main
from alpinist.errors import BaselineError
from alpinist.models import Inventory
from alpinist.reports.gate.json import load_schema as load_gate_schema
from alpinist.reports.gate.markdown import render_gate_markdown
from alpinist.scan.baseline import (
    Baseline,
    baseline_from_scan,
    baseline_to_dict,
    baseline_to_text,
    gate,
    parse_baseline,
)
from alpinist.scan.model import ScanResult
from alpinist.scan.scanning import scan_inventory
from tests.conftest import oci_ref
from tests.feed_server import FeedServer
from tests.scan_fixtures import inventories, scan_db  # noqa: F401  (fixtures)

DEBIAN_APP = oci_ref("python-app:debian")
ALPINE = oci_ref("alpine:3.20.3")
SCHEMAS = Path(__file__).resolve().parents[1] / "src" / "alpinist" / "schemas"


def expected_rows() -> list[dict[str, str]]:
    """The hand-written expected findings of python-app:debian against the full corpus database."""
    path = Path(__file__).parent / "expected_findings" / "python-app_debian.tsv"
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def expected_python_rows() -> set[tuple[str, str, str]]:
    """(id, package, severity) of every ``python`` row of the expected findings."""
    return {(r["id"], r["package"], r["severity"]) for r in expected_rows() if r["type"] == "python"}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALPINIST_MIRROR", raising=False)
    monkeypatch.delenv("ALPINIST_DB", raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    out = capsys.readouterr()
    code = stopped.value.code
    return (code if isinstance(code, int) else 1), out.out, out.err


@pytest.fixture(scope="module")
def partial_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``alpinist db update --source debian --source nvd`` through the loopback mirror."""
    path = tmp_path_factory.mktemp("partial-db") / "advisories.db"
    server = FeedServer().start()
    try:
        with pytest.raises(SystemExit) as stopped:
            main(
                [
                    "db",
                    "update",
                    "--db",
                    str(path),
                    "--mirror",
                    server.url,
                    "--source",
                    "debian",
                    "--source",
                    "nvd",
                ]
            )
        assert stopped.value.code == 0
    finally:
        server.stop()
    yield path


def scanned(inventory: Inventory, db: Path) -> ScanResult:
    with Store.open(db) as store:
        return scan_inventory(inventory, store, max_db_age=None)


@pytest.fixture(scope="module")
def debian_scan(inventories: dict[str, Inventory], scan_db: Path) -> ScanResult:
    return scanned(inventories["python-app:debian"], scan_db)


def edited(baseline: Baseline, doc_edit: Any) -> Baseline:
    """A hand edit of the baseline's JSON, read back through the validating reader."""
    doc = baseline_to_dict(baseline)
    doc_edit(doc)
    return parse_baseline(json.dumps(doc, indent=2))


# ---------------------------------------------------------------------------------------------- corpus


def test_partial_baseline_then_full_database_lists_exactly_the_pypi_findings(
    capsys: pytest.CaptureFixture[str], partial_db: Path, scan_db: Path, tmp_path: Path
) -> None:
    target = tmp_path / ".alpinist" / "baseline.json"
    code, out, err = run(capsys, "baseline", DEBIAN_APP, "--db", str(partial_db), "-o", str(target))
    assert code == 0 and out == "", err
    recorded = json.loads(target.read_text())
    jsonschema.Draft202012Validator(json.loads((SCHEMAS / "baseline.schema.json").read_text())).validate(
        recorded
    )
    assert recorded["image"]["repository"] == "docker.io/library/python-app"
    assert [s["name"] for s in recorded["database"]["sources"]] == ["debian", "nvd"]
    assert not [f for f in recorded["findings"] if f["package"]["type"] == "python"]

    code, out, err = run(
        capsys, "gate", DEBIAN_APP, "--baseline", str(target), "--db", str(scan_db), "-f", "json"
    )
    assert code == 2, err
    doc = json.loads(out)
    jsonschema.Draft202012Validator(load_gate_schema()).validate(doc)
    new = {(f["id"], f["package"]["name"], f["severity"]) for f in doc["new"]}
    assert new == expected_python_rows()
    assert len(new) == 9
    assert doc["summary"]["new_failing"] == 3 and doc["failed"] is True and doc["fail_on"] == "HIGH"
    assert doc["gone"] == [] and doc["summary"]["unchanged"] == len(recorded["findings"])

    # a higher threshold: the CRITICAL one still fails; none of them fails with --fail-on none
    code, _, _ = run(
        capsys, "gate", DEBIAN_APP, "--baseline", str(target), "--db", str(scan_db), "--fail-on", "critical"
    )
    assert code == 2
    code, _, _ = run(
        capsys, "gate", DEBIAN_APP, "--baseline", str(target), "--db", str(scan_db), "--fail-on", "none"
    )
    assert code == 0


def test_gate_right_after_baseline_passes_and_baseline_is_deterministic(
    capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path
) -> None:
    code, first, err = run(capsys, "baseline", DEBIAN_APP, "--db", str(scan_db))
    assert code == 0, err
    code, second, _ = run(capsys, "baseline", DEBIAN_APP, "--db", str(scan_db))
    assert first == second
    doc = json.loads(first)
    entries = doc["findings"]
    # the baseline records exactly the hand-written expected findings
    assert {
        (
            e["id"],
            e["package"]["name"],
            e["package"]["type"],
            e["installed_version"],
            e["status"],
            e["severity"],
        )
        for e in entries
    } == {
        (r["id"], r["package"], r["type"], r["installed"], r["status"], r["severity"])
        for r in expected_rows()
    }
    assert len(entries) == len(expected_rows()) == 158
    keys = [(e["package"]["type"], e["package"]["name"], e["advisory_package"], e["id"]) for e in entries]
    assert keys == sorted(keys)
    target = tmp_path / "baseline.json"
    target.write_text(first)
    code, out, err = run(
        capsys, "gate", DEBIAN_APP, "--baseline", str(target), "--db", str(scan_db), "-f", "json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["new"] == [] and result["gone"] == [] and result["changed_severity"] == []
    assert result["summary"]["unchanged"] == len(entries) and result["failed"] is False


# ------------------------------------------------------------------------------------------- the rules


def test_version_moved_is_not_new(debian_scan: ScanResult) -> None:
    accepted = baseline_from_scan(debian_scan)
    moved_index = next(i for i, e in enumerate(accepted.entries) if e.package_name == "urllib3")

    def older(doc: dict[str, Any]) -> None:
        doc["findings"][moved_index]["installed_version"] = "1.26.3"

    outcome = gate(debian_scan, edited(accepted, older))
    assert outcome.new == () and outcome.gone == () and not outcome.failed
    assert len(outcome.moved) == 1
    assert outcome.moved[0].entry.installed_version == "1.26.3"
    assert outcome.moved[0].finding.installed_version == "1.26.4"
    assert outcome.unchanged == len(debian_scan.findings)


def test_version_moved_in_the_inventory(inventories: dict[str, Inventory], scan_db: Path) -> None:
    """The other direction: the image's package moved (an inventory with another installed version of
    idna, still affected by CVE-2024-3651 < 3.7): not new."""
    inventory = inventories["python-app:debian"]
    accepted = baseline_from_scan(scanned(inventory, scan_db))
    packages = tuple(
        dataclasses.replace(p, version="3.6") if p.type == "python" and p.name == "idna" else p
        for p in inventory.packages
    )
    result = scanned(dataclasses.replace(inventory, packages=packages), scan_db)
    assert any(f.package.name == "idna" and f.installed_version == "3.6" for f in result.findings)
    outcome = gate(result, accepted)
    assert [
        (m.finding.id, m.entry.installed_version, m.finding.installed_version) for m in outcome.moved
    ] == [("CVE-2024-3651", "2.10", "3.6")]
    assert all(f.package.name != "idna" for f in outcome.new)


def test_severity_changed_gone_and_alias_identity(debian_scan: ScanResult) -> None:
    accepted = baseline_from_scan(debian_scan)
    idna = next(i for i, e in enumerate(accepted.entries) if e.id == "CVE-2024-3651")
    certifi = next(i for i, e in enumerate(accepted.entries) if e.id == "CVE-2023-37920")
    extra = {
        "id": "CVE-1999-0001",
        "aliases": [],
        "package": {"name": "bash", "type": "deb"},
        "advisory_package": "bash",
        "installed_version": "5.2.15-2+b7",
        "severity": "LOW",
        "status": "open",
    }

    def edit(doc: dict[str, Any]) -> None:
        doc["findings"][idna]["severity"] = "LOW"
        # recorded under an alias only: still the same finding
        entry = doc["findings"][certifi]
        entry["aliases"] = [entry["id"]]
        entry["id"] = "GHSA-xqr8-7jwr-rhp7"
        doc["findings"].append(extra)

    outcome = gate(debian_scan, edited(accepted, edit))
    assert outcome.new == ()
    assert [(c.finding.id, c.entry.severity, c.finding.severity) for c in outcome.changed] == [
        ("CVE-2024-3651", "LOW", "HIGH")
    ]
    assert [e.id for e in outcome.gone] == ["CVE-1999-0001"]
    assert not outcome.failed  # a re-rated finding is not new


def test_same_id_in_another_package_is_new(debian_scan: ScanResult) -> None:
    accepted = baseline_from_scan(debian_scan)
    index = next(i for i, e in enumerate(accepted.entries) if e.id == "CVE-2024-3651")

    def rename(doc: dict[str, Any]) -> None:
        doc["findings"][index]["package"]["name"] = "idna-fork"
        doc["findings"][index]["advisory_package"] = "idna-fork"

    outcome = gate(debian_scan, edited(accepted, rename))
    assert [f.id for f in outcome.new] == ["CVE-2024-3651"] and outcome.failed
    assert [e.package_name for e in outcome.gone] == ["idna-fork"]


# --------------------------------------------------------------------------------------- update, force


def test_update_baseline_rewrites_it_after_reporting(
    capsys: pytest.CaptureFixture[str], partial_db: Path, scan_db: Path, tmp_path: Path
) -> None:
    target = tmp_path / "baseline.json"
    assert run(capsys, "baseline", DEBIAN_APP, "--db", str(partial_db), "-o", str(target))[0] == 0
    code, out, err = run(
        capsys,
        "gate",
        DEBIAN_APP,
        "--baseline",
        str(target),
        "--db",
        str(scan_db),
        "--update-baseline",
        "-f",
        "json",
    )
    assert code == 2 and len(json.loads(out)["new"]) == 9, err
    assert "updated" in err
    code, fresh, _ = run(capsys, "baseline", DEBIAN_APP, "--db", str(scan_db))
    assert target.read_text() == fresh
    code, out, _ = run(
        capsys, "gate", DEBIAN_APP, "--baseline", str(target), "--db", str(scan_db), "-f", "json"
    )
    assert code == 0 and json.loads(out)["new"] == []


def test_baseline_of_another_repository_is_refused_unless_forced(
    capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path
) -> None:
    target = tmp_path / "baseline.json"
    assert run(capsys, "baseline", DEBIAN_APP, "--db", str(scan_db), "-o", str(target))[0] == 0
    code, out, err = run(capsys, "gate", ALPINE, "--baseline", str(target), "--db", str(scan_db))
    assert code == 1 and out == ""
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert "docker.io/library/python-app" in err and "docker.io/library/alpine" in err and "--force" in err
    code, out, err = run(
        capsys, "gate", ALPINE, "--baseline", str(target), "--db", str(scan_db), "--force", "-f", "json"
    )
    doc = json.loads(out)
    assert doc["baseline"]["forced"] is True
    assert code == (2 if doc["summary"]["new_failing"] else 0)
    assert doc["new"] and doc["gone"]


# ------------------------------------------------------------------------------------------- bad input

BAD_BASELINES = [
    ("missing", None, "no such baseline file"),
    ("not-json", '{\n  "schema": "alpinist-baseline/1",\n  "tool": {,\n}', "line 3"),
    ("empty", "", "line 1"),
    ("wrong-schema", json.dumps({"schema": "alpinist-scan/1"}), "schema: expected 'alpinist-baseline/1'"),
    ("not-an-object", "[]", "expected an object"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_BASELINES, ids=[b[0] for b in BAD_BASELINES])
def test_bad_baseline_files(
    capsys: pytest.CaptureFixture[str],
    scan_db: Path,
    tmp_path: Path,
    name: str,
    text: str | None,
    message: str,
) -> None:
    target = tmp_path / "baseline.json"
    if text is not None:
        target.write_text(text)
    code, out, err = run(capsys, "gate", DEBIAN_APP, "--baseline", str(target), "--db", str(scan_db))
    assert code == 1 and out == ""
    assert message in err and str(target) in err
    assert err.strip().count("\n") == 0 and "Traceback" not in err


FIELD_EDITS = [
    ("missing-findings", lambda d: d.pop("findings"), "findings: missing"),
    ("missing-repository", lambda d: d["image"].pop("repository"), "image.repository: missing"),
    (
        "id-number",
        lambda d: d["findings"][0].update(id=42),
        "findings[0].id: expected a non-empty string, got a number",
    ),
    (
        "bad-severity",
        lambda d: d["findings"][1].update(severity="SEVERE"),
        "findings[1].severity: 'SEVERE' is not one of",
    ),
    (
        "bad-type",
        lambda d: d["findings"][2]["package"].update(type="npm"),
        "findings[2].package.type: 'npm' is not one of",
    ),
    (
        "aliases-string",
        lambda d: d["findings"][0].update(aliases="CVE-1"),
        "findings[0].aliases: expected a list",
    ),
    ("finding-not-object", lambda d: d["findings"].append("CVE-1"), "expected an object, got a string"),
    (
        "bad-time",
        lambda d: d["database"]["sources"][0].update(updated_at="yesterday"),
        "is not an ISO 8601 time",
    ),
    (
        "sources-null",
        lambda d: d["database"].update(sources=None),
        "database.sources: expected a list, got null",
    ),
]


@pytest.mark.parametrize(("name", "edit", "message"), FIELD_EDITS, ids=[e[0] for e in FIELD_EDITS])
def test_hand_edited_baselines_name_the_field(
    debian_scan: ScanResult, tmp_path: Path, name: str, edit: Any, message: str
) -> None:
    doc = baseline_to_dict(baseline_from_scan(debian_scan))
    edit(doc)
    with pytest.raises(BaselineError) as raised:
        parse_baseline(json.dumps(doc), "b.json")
    assert message in str(raised.value) and str(raised.value).startswith("b.json: ")
    # and the JSON Schema agrees that the document is invalid
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(
            json.loads((SCHEMAS / "baseline.schema.json").read_text()),
            format_checker=jsonschema.FormatChecker(),
        ).validate(doc)


def test_hand_edited_baseline_from_the_cli(
    capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path
) -> None:
    target = tmp_path / "baseline.json"
    assert run(capsys, "baseline", DEBIAN_APP, "--db", str(scan_db), "-o", str(target))[0] == 0
    doc = json.loads(target.read_text())
    doc["findings"][3]["installed_version"] = ""
    target.write_text(json.dumps(doc))
    code, _, err = run(capsys, "gate", DEBIAN_APP, "--baseline", str(target), "--db", str(scan_db))
    assert code == 1 and "findings[3].installed_version" in err and "Traceback" not in err


def test_usage_errors_exit_64(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, "gate", DEBIAN_APP)[0] == 64  # --baseline is required
    assert run(capsys, "gate", DEBIAN_APP, "--baseline", str(tmp_path / "b"), "--fail-on", "severe")[0] == 64
    assert run(capsys, "gate", DEBIAN_APP, "--baseline", str(tmp_path / "b"), "-f", "html")[0] == 64


# -------------------------------------------------------------------------------------------- formats


@pytest.fixture
def partial_baseline_file(capsys: pytest.CaptureFixture[str], partial_db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "baseline.json"
    assert run(capsys, "baseline", DEBIAN_APP, "--db", str(partial_db), "-o", str(target))[0] == 0
    return target


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "sarif"])
def test_each_format(
    capsys: pytest.CaptureFixture[str], scan_db: Path, partial_baseline_file: Path, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / f"gate.{fmt}"
    code, out, err = run(
        capsys,
        "gate",
        DEBIAN_APP,
        "--baseline",
        str(partial_baseline_file),
        "--db",
        str(scan_db),
        "-f",
        fmt,
        "-o",
        str(target),
    )
    assert code == 2 and out == "", err
    text = target.read_text()
    new_ids = {row[0] for row in expected_python_rows()}
    if fmt == "table":
        assert "9 new, 0 gone, 0 changed severity" in text and "FAIL: 3 new findings at or above HIGH" in text
        assert all(i in text for i in new_ids)
    elif fmt == "markdown":
        assert text.startswith("### alpinist gate: FAIL: 3 new findings at or above HIGH")
        assert all(i in text for i in new_ids) and len(text) < 65_536
    elif fmt == "json":
        jsonschema.Draft202012Validator(load_gate_schema()).validate(json.loads(text))
    else:
        doc = json.loads(text)
        schema = json.loads((SCHEMAS / "sarif-2.1.0.schema.json").read_text())
        jsonschema.validators.validator_for(schema)(schema).validate(doc)
        assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
        results = doc["runs"][0]["results"]
        assert {r["ruleId"] for r in results} == new_ids and len(results) == 9
        assert {r["baselineState"] for r in results} == {"new"}


def test_markdown_is_cut_gracefully(debian_scan: ScanResult) -> None:
    empty = dataclasses.replace(baseline_from_scan(debian_scan), entries=())
    outcome = gate(debian_scan, empty)
    assert len(outcome.new) == len(debian_scan.findings) > 100
    full = render_gate_markdown(outcome)
    assert "not shown" not in full
    short = render_gate_markdown(outcome, max_chars=3000)
    assert len(short) <= 3000
    assert short.startswith("### alpinist gate: FAIL") and "rows not shown here" in short
    assert short.count("\n| ") < full.count("\n| ")


def test_baseline_text_is_sorted_and_stable(debian_scan: ScanResult) -> None:
    accepted = baseline_from_scan(debian_scan)
    text = baseline_to_text(accepted)
    assert parse_baseline(text) == accepted
    assert baseline_to_text(parse_baseline(text)) == text
