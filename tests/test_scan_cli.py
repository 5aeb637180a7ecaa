# ruff: noqa: F811  (the session fixtures imported from tests.scan_fixtures are parameters here)
"""``alpinist scan`` as a user runs it: every option, every exit code (0, 1, 2, 64), the first scan that
builds the database through the loopback mirror, ``--offline`` with a missing or stale database.

The database is built once per session from the corpus feeds by the real update code
(``tests/scan_fixtures.py``); images are the corpus OCI layout. Facts read by hand from the feeds:

- secdb v3.20 ``openssl`` lists ``"3.3.5-r0": ["CVE-2025-9230", "CVE-2025-9231", "CVE-2025-9232"]`` and
  alpine:3.20.3 has ``libssl3`` and ``libcrypto3`` 3.3.2-r0 of origin ``openssl``
  (expected/alpine_3.20.3/packages.tsv); NVD rates CVE-2025-9230 7.5 HIGH (CVSS v3.1).
- secdb v3.20 ``busybox`` lists ``"1.36.1-r31": ["CVE-2024-58251", "CVE-2025-46394"]``; the image has
  busybox 1.36.1-r29.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest

from alpinist.cli.app import app, main
from alpinist.cli.options import duration_text, parse_duration
from alpinist.cli.scan import scan
from alpinist.inventory.naming import image_purl
from alpinist.models import Inventory
from alpinist.reports.scan.json import load_schema
from tests.conftest import oci_ref
from tests.feed_server import FeedServer
from tests.scan_fixtures import copy_db, inventories, scan_db, set_updated_at  # noqa: F401  (fixtures)

ALPINE = oci_ref("alpine:3.20.3")
DEBIAN_APP = oci_ref("python-app:debian")
SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN"]


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    if "scan" not in app.commands:  # until cli.py registers the verb itself
        app.add_command(scan)
    monkeypatch.delenv("ALPINIST_MIRROR", raising=False)
    monkeypatch.delenv("ALPINIST_DB", raising=False)
    # a table on a pipe is COLUMNS wide (a test worker may have it set): these read the default width
    monkeypatch.delenv("COLUMNS", raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    out = capsys.readouterr()
    code = stopped.value.code
    return (code if isinstance(code, int) else 1), out.out, out.err


def scan_json(
    capsys: pytest.CaptureFixture[str], db: Path, *args: str, image: str = ALPINE
) -> tuple[int, Any, str]:
    code, out, err = run(capsys, "scan", image, "--db", str(db), "-f", "json", *args)
    return code, (json.loads(out) if out else None), err


def rows(doc: Any) -> set[tuple[str, str, str | None]]:
    return {(f["id"], f["package"]["name"], f["fixed_version"]) for f in doc["findings"]}


# ---------------------------------------------------------------------------------------------- output


def test_table_summary_then_counts_then_sorted_rows(
    capsys: pytest.CaptureFixture[str], scan_db: Path
) -> None:
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(scan_db))
    assert code == 0, err
    lines = out.splitlines()
    found = re.fullmatch(r"(\d+) vulnerabilities found in (\d+) packages", lines[1])
    assert found, lines[:3]
    counts = dict(re.findall(r"([A-Z]+) (\d+)", lines[2]))
    assert list(counts) == SEVERITIES
    assert sum(int(n) for n in counts.values()) == int(found.group(1))
    body = [line.split() for line in lines[5:] if line.strip()]
    assert len(body) == int(found.group(1))
    assert [SEVERITIES.index(cells[0]) for cells in body] == sorted(SEVERITIES.index(c[0]) for c in body)
    # Package (origin) | Installed | Fixed
    openssl = {tuple(c[2:6]) for c in body if c[1] == "CVE-2025-9230"}
    assert openssl == {
        ("libssl3", "(openssl)", "3.3.2-r0", "3.3.5-r0"),
        ("libcrypto3", "(openssl)", "3.3.2-r0", "3.3.5-r0"),
    }


def test_table_to_a_file(capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    code, out, _ = run(capsys, "scan", ALPINE, "--db", str(scan_db), "-o", str(target))
    assert code == 0 and out == ""
    assert "vulnerabilities found in" in target.read_text()


@pytest.mark.parametrize("fmt", ["json", "sarif", "cyclonedx", "markdown"])
def test_every_format_from_the_cli(
    capsys: pytest.CaptureFixture[str],
    scan_db: Path,
    tmp_path: Path,
    fmt: str,
) -> None:
    target = tmp_path / f"report.{fmt}"
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(scan_db), "--format", fmt, "-o", str(target))
    assert code == 0 and out == "", err
    text = target.read_text()
    if fmt == "markdown":
        assert "vulnerabilities found in" in text and "CVE-2025-9230" in text
        return
    doc = json.loads(text)
    if fmt == "json":
        jsonschema.Draft202012Validator(load_schema()).validate(doc)
        assert ("CVE-2025-9230", "libssl3", "3.3.5-r0") in rows(doc)
    elif fmt == "sarif":
        assert doc["version"] == "2.1.0" and doc["runs"][0]["results"]
    else:
        assert doc["specVersion"] == "1.6" and doc["vulnerabilities"]


def test_json_facts_read_by_hand_from_the_feeds(capsys: pytest.CaptureFixture[str], scan_db: Path) -> None:
    code, doc, _ = scan_json(capsys, scan_db)
    assert code == 0
    found = {(f["id"], f["package"]["name"]): f for f in doc["findings"]}
    for name in ("libssl3", "libcrypto3"):
        f = found[("CVE-2025-9230", name)]
        assert (f["installed_version"], f["fixed_version"], f["status"]) == ("3.3.2-r0", "3.3.5-r0", "fixed")
        assert f["severity"] == "HIGH" and f["cvss"]["score"] == 7.5
        assert f["package"]["origin"] == "openssl" and f["namespace"] == "alpine:3.20"
    assert found[("CVE-2024-58251", "busybox")]["fixed_version"] == "1.36.1-r31"


# ---------------------------------------------------------------------------------------------- filters, gate


def test_only_fixed(capsys: pytest.CaptureFixture[str], scan_db: Path) -> None:
    _, full, _ = scan_json(capsys, scan_db, image=DEBIAN_APP)
    code, doc, _ = scan_json(capsys, scan_db, "--only-fixed", image=DEBIAN_APP)
    assert code == 0
    unfixed = [f for f in full["findings"] if f["fixed_version"] is None]
    assert unfixed and doc["findings"]  # both kinds exist in this image, so the filter is exercised
    assert all(f["fixed_version"] for f in doc["findings"])
    assert len(doc["findings"]) == len(full["findings"]) - len(unfixed)
    assert doc["summary"]["filtered"] == len(unfixed) and doc["policy"]["only_fixed"] is True


def test_severity_filter_comma_list_and_repeated(capsys: pytest.CaptureFixture[str], scan_db: Path) -> None:
    _, full, _ = scan_json(capsys, scan_db, image=DEBIAN_APP)
    wanted = {"CRITICAL", "MEDIUM"}
    expected = [f for f in full["findings"] if f["severity"] in wanted]
    assert expected and len(expected) < len(full["findings"])
    for args in (["--severity", "critical,medium"], ["--severity", "CRITICAL", "--severity", "moderate"]):
        code, doc, _ = scan_json(capsys, scan_db, *args, image=DEBIAN_APP)
        assert code == 0
        assert doc["findings"] == expected
        assert doc["policy"]["severities"] == ["CRITICAL", "MEDIUM"]
        assert doc["summary"]["filtered"] == len(full["findings"]) - len(expected)


def test_fail_on_exits_2_when_a_finding_at_or_above_remains(
    capsys: pytest.CaptureFixture[str], scan_db: Path
) -> None:
    code, doc, _ = scan_json(capsys, scan_db, "--fail-on", "high")
    assert code == 2  # CVE-2025-9230 is HIGH
    assert doc["policy"] == {**doc["policy"], "fail_on": "HIGH", "failed": True}
    worst = min(SEVERITIES.index(f["severity"]) for f in doc["findings"])
    for index, threshold in enumerate(SEVERITIES):
        code, doc2, _ = scan_json(capsys, scan_db, "--fail-on", threshold.lower())
        assert code == (2 if index >= worst else 0), threshold
        assert doc2["policy"]["failed"] is (code == 2)


def test_fail_on_passes_when_the_findings_are_suppressed(
    capsys: pytest.CaptureFixture[str],
    scan_db: Path,
    tmp_path: Path,
) -> None:
    ignore = tmp_path / "ignore.yaml"
    # the only CRITICAL of alpine:3.20.3 (tests/expected_findings): CVE-2026-31789, libssl3 and libcrypto3 of openssl
    ignore.write_text("- id: CVE-2026-31789\n  package: openssl\n  reason: no TLS in this image\n")
    code, doc, err = scan_json(capsys, scan_db, "--fail-on", "critical", "--ignore-file", str(ignore))
    assert all(f["severity"] != "CRITICAL" for f in doc["findings"])
    assert code == 0, err
    assert {(s["finding"]["package"]["name"], s["reason"]) for s in doc["suppressed"]} == {
        ("libssl3", "ignored: no TLS in this image"),
        ("libcrypto3", "ignored: no TLS in this image"),
    }


def test_fail_on_with_the_table_still_prints_the_report(
    capsys: pytest.CaptureFixture[str], scan_db: Path
) -> None:
    code, out, _ = run(capsys, "scan", ALPINE, "--db", str(scan_db), "--fail-on", "HIGH")
    assert code == 2
    assert "policy: FAIL (--fail-on HIGH)" in out and "CVE-2025-9230" in out


# ---------------------------------------------------------------------------------------------- ignore file, VEX


def test_expired_ignore_rule_warns_and_no_longer_applies(
    capsys: pytest.CaptureFixture[str],
    scan_db: Path,
    tmp_path: Path,
) -> None:
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text(
        "- id: CVE-2025-9230\n  reason: waiting for 3.3.5\n  expires: 2000-01-31\n"
        "- id: CVE-2024-58251\n  package: busybox\n  reason: applets unused\n  expires: 2999-12-31\n"
    )
    code, doc, err = scan_json(capsys, scan_db, "--ignore-file", str(ignore), "--fail-on", "high")
    assert code == 2
    assert (
        f"alpinist: WARNING: ignore rule for CVE-2025-9230 ({ignore}:1) expired on 2000-01-31; it no longer applies"
        in err.splitlines()
    )
    assert {("CVE-2025-9230", "libssl3", "3.3.5-r0"), ("CVE-2025-9230", "libcrypto3", "3.3.5-r0")} <= rows(
        doc
    )
    assert any("expired on 2000-01-31" in w for w in doc["warnings"])
    assert ("CVE-2024-58251", "busybox") in {
        (s["finding"]["id"], s["finding"]["package"]["name"]) for s in doc["suppressed"]
    }
    assert doc["policy"]["ignore_rules"] == 2


def test_malformed_ignore_file_is_error_1_naming_the_line(
    capsys: pytest.CaptureFixture[str],
    scan_db: Path,
    tmp_path: Path,
) -> None:
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text("- id: CVE-2025-9230\n  reson: typo\n")
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(scan_db), "--ignore-file", str(ignore))
    assert code == 1 and out == ""
    assert (
        err
        == f"alpinist: error: ignore file {ignore}:2: unknown field 'reson' in rule 1 (fields: id, package, reason, expires)\n"
    )


def test_vex_not_affected_suppresses_and_shows_the_justification(
    capsys: pytest.CaptureFixture[str],
    scan_db: Path,
    inventories: dict[str, Inventory],
    tmp_path: Path,
) -> None:
    purl = image_purl(inventories["alpine:3.20.3"].image)
    assert purl is not None and purl.startswith("pkg:oci/alpine@sha256")
    vex = tmp_path / "image.vex.json"
    vex.write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://example.invalid/vex/2",
                "author": "platform team",
                "timestamp": "2025-02-01T10:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": "CVE-2025-9230"},
                        "products": [{"@id": purl, "subcomponents": [{"@id": "pkg:apk/alpine/libssl3"}]}],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                    },
                    {
                        "vulnerability": {"name": "CVE-2024-58251"},
                        "products": [{"@id": purl}],
                        "status": "under_investigation",
                    },
                ],
            }
        )
    )
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(scan_db), "--vex", str(vex))
    assert code == 0, err
    assert "1 suppressed (1 by VEX):" in out
    assert "CVE-2025-9230 libssl3 3.3.2-r0: VEX not_affected: vulnerable_code_not_in_execute_path" in out
    body = [line.split() for line in out.splitlines() if line.startswith(("HIGH", "LOW", "UNKNOWN"))]
    assert ["CVE-2025-9230", "libcrypto3"] in [cells[1:3] for cells in body]
    assert ["CVE-2025-9230", "libssl3"] not in [cells[1:3] for cells in body]
    assert ["CVE-2024-58251", "busybox"] in [cells[1:3] for cells in body]  # under_investigation: kept

    code, doc, _ = scan_json(capsys, scan_db, "--vex", str(vex))
    (s,) = doc["suppressed"]
    assert (s["by"], s["vex_status"], s["justification"]) == (
        "vex",
        "not_affected",
        "vulnerable_code_not_in_execute_path",
    )
    assert doc["policy"]["vex_statements"] == 2


def test_bad_vex_document_is_error_1(
    capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path
) -> None:
    vex = tmp_path / "bad.json"
    vex.write_text(
        json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "fixed"}]})
    )
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(scan_db), "--vex", str(vex))
    assert code == 1 and out == ""
    assert (
        err.startswith(f"alpinist: error: VEX document {vex}: statements[0].vulnerability")
        and err.count("\n") == 1
    )


# ---------------------------------------------------------------------------------------------- usage, errors


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["--format", "xml"], "xml"),
        (["--severity", "high,severe"], "severe"),
        (["--fail-on", "bad"], "bad"),
        (["--max-db-age", "soon"], "soon"),
        (["--bogus-flag"], "--bogus-flag"),
    ],
)
def test_usage_errors_are_64(
    capsys: pytest.CaptureFixture[str], scan_db: Path, args: list[str], what: str
) -> None:
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(scan_db), *args)
    assert code == 64 and out == "" and what in err


def test_missing_image_argument_is_64(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "scan")
    assert code == 64 and "IMAGE" in err


def test_missing_image_is_1(capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path) -> None:
    code, out, err = run(capsys, "scan", f"oci:{tmp_path}/nowhere:x", "--db", str(scan_db))
    assert code == 1 and out == "" and err.startswith("alpinist: error: ") and err.count("\n") == 1


def test_database_that_is_not_sqlite_is_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "advisories.db"
    db.write_bytes(b"this is not a database" * 100)
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(db))
    assert code == 1 and out == ""
    assert err == f"alpinist: error: {db}: file is not a database (not an SQLite file, or damaged)\n"


def test_database_from_the_environment(
    capsys: pytest.CaptureFixture[str],
    scan_db: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALPINIST_DB", str(scan_db))
    code, out, _ = run(capsys, "scan", ALPINE, "--offline")
    assert code == 0 and "vulnerabilities found in" in out


def test_parse_duration() -> None:
    assert parse_duration("7d").days == 7
    assert parse_duration("12h").total_seconds() == 12 * 3600
    assert parse_duration("90m").total_seconds() == parse_duration("90min").total_seconds() == 5400
    assert parse_duration("3600s").total_seconds() == 3600
    assert parse_duration("2").days == 2
    with pytest.raises(ValueError):
        parse_duration("-1d")


@pytest.mark.parametrize("text", ["5d", "12h", "90m", "3601s", "0s"])
def test_duration_text_is_the_inverse_of_parse_duration(text: str) -> None:
    assert duration_text(parse_duration(text)) == text


def test_max_db_age_defaults_to_the_scan_stages_default() -> None:
    """``--max-db-age``'s default is written from ``scanning.DEFAULT_MAX_DB_AGE``, the default of
    ``scan_image``, so the two cannot drift apart."""
    from alpinist.scan.scanning import DEFAULT_MAX_DB_AGE

    (option,) = (p for p in scan.params if p.name == "max_db_age")
    assert option.default == "5d"
    assert parse_duration(option.default) == DEFAULT_MAX_DB_AGE


def test_scan_offers_the_image_options_of_sbom() -> None:
    def image_options(name: str) -> dict[str, tuple[Any, ...]]:
        command = app.get_command(click.Context(app), name)
        assert command is not None
        return {
            p.name: (tuple(p.opts), p.multiple, getattr(p, "is_flag", False), getattr(p, "help", None))
            for p in command.params
            if p.name in ("platform", "insecure", "creds", "no_cache")
        }

    assert image_options("scan") == image_options("sbom")
    assert len(image_options("scan")) == 4


# ---------------------------------------------------------------------------------------------- --offline


def test_offline_with_no_database_fails_without_touching_the_network(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALPINIST_MIRROR", feed_server.url)
    db = tmp_path / "none" / "advisories.db"
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(db), "--offline")
    assert code == 1 and out == ""
    assert err.startswith(
        f"alpinist: error: {db}: advisory database does not exist, and --offline does not download it"
    )
    assert feed_server.requests == [] and not db.exists()


def test_offline_with_a_stale_database_fails(
    capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path
) -> None:
    db = copy_db(scan_db, tmp_path)
    set_updated_at(db, "2000-01-01T00:00:00+00:00", source="nvd")
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(db), "--offline")
    assert code == 1 and out == ""
    assert "older than --max-db-age 5 d: nvd " in err and "2000-01-01 00:00 UTC" in err
    assert "debian" not in err.split("older than")[1].split(";")[0]  # only the stale feed is named
    # a threshold that admits it
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(db), "--offline", "--max-db-age", "100000d")
    assert code == 0 and "vulnerabilities found in" in out


def test_offline_with_a_fresh_database_scans(capsys: pytest.CaptureFixture[str], scan_db: Path) -> None:
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(scan_db), "--offline")
    assert code == 0 and "vulnerabilities found in" in out
    assert "WARNING: advisory source" not in err


def test_offline_with_an_empty_database_fails(
    capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path
) -> None:
    import sqlite3

    db = copy_db(scan_db, tmp_path)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM sources")
    conn.commit()
    conn.close()
    code, _, err = run(capsys, "scan", ALPINE, "--db", str(db), "--offline")
    assert code == 1 and "holds no feed yet" in err


def test_stale_database_without_offline_is_a_warning(
    capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path
) -> None:
    db = copy_db(scan_db, tmp_path)
    set_updated_at(db, "2000-01-01T00:00:00+00:00")
    code, doc, err = scan_json(capsys, db)
    assert code == 0
    stale = [line for line in err.splitlines() if line.startswith("alpinist: WARNING: advisory source")]
    assert len(stale) == 4 and all("run `alpinist db update`" in line for line in stale)
    assert sum("last updated" in w for w in doc["warnings"]) == 4
    assert {s["updated_at"] for s in doc["database"]["sources"]} == {"2000-01-01T00:00:00+00:00"}


def test_offline_refuses_a_registry_reference(capsys: pytest.CaptureFixture[str], scan_db: Path) -> None:
    code, out, err = run(capsys, "scan", "registry.invalid/app:1.0", "--db", str(scan_db), "--offline")
    assert code == 64 and out == ""
    assert "registry reference" in err and "--offline" in err


# ---------------------------------------------------------------------------------------------- first scan


def test_first_scan_builds_the_database_through_the_mirror(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALPINIST_MIRROR", feed_server.url)
    db = tmp_path / "data" / "advisories.db"
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(db), "-f", "json")
    assert code == 0, err
    assert (
        f"alpinist: no advisory database at {db} yet: downloading the feeds from {feed_server.url} first"
        in err
    )
    assert db.is_file()
    assert "\x1b" not in err and "rows loaded" not in err  # stderr is not a terminal: no progress display
    assert feed_server.requests_to("/secdb.alpinelinux.org/v3.20/main.json")
    assert feed_server.requests_to("/security-tracker.debian.org/tracker/data/json")
    doc = json.loads(out)
    assert {s["name"] for s in doc["database"]["sources"]} == {"alpine", "debian", "osv", "nvd"}
    assert ("CVE-2025-9230", "libssl3", "3.3.5-r0") in rows(doc)
    # the second scan uses it and downloads nothing
    before = len(feed_server.requests)
    code, _, err = run(capsys, "scan", ALPINE, "--db", str(db))
    assert code == 0 and "downloading" not in err
    assert len(feed_server.requests) == before


def test_first_scan_with_a_failing_mirror_is_1_and_leaves_no_database(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    feed_server: FeedServer,
) -> None:
    feed_server.garbage("/security-tracker.debian.org/tracker/data/json", b"<html>maintenance</html>")
    db = tmp_path / "advisories.db"
    code, out, err = run(capsys, "scan", ALPINE, "--db", str(db), "--mirror", feed_server.url)
    assert code == 1 and out == ""
    assert "security-tracker.debian.org" in err.splitlines()[-1]
    assert not db.exists()
