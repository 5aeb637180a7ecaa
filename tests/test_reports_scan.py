# ruff: noqa: F811  (the session fixtures imported from tests.scan_fixtures are parameters here)
"""Scan reports: our JSON against our schema, SARIF against the official 2.1.0 schema, CycloneDX 1.6
with vulnerabilities against its schema, Markdown and the table; counts and order.

The scans run the real pipeline: corpus images, a database built from the corpus feeds by the real
update code (``tests/scan_fixtures.py``), matching and policy. The exact findings of three images are
asserted elsewhere (the hand-derived findings test); here the formats are checked against what the
scan result holds, plus facts read by hand from the feeds:

- secdb v3.20 ``openssl``: ``"3.3.5-r0": ["CVE-2025-9230", ...]``; alpine:3.20.3 has ``libssl3`` and
  ``libcrypto3`` 3.3.2-r0, origin ``openssl`` (expected/alpine_3.20.3/packages.tsv).
- NVD ``CVE-2025-9230``: one CVSS v3.1 score, 7.5 HIGH, vector ``CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema import validators
from rich.console import Console

from alpinist.advisories.store import Store
from alpinist.inventory.naming import image_purl
from alpinist.models import Inventory
from alpinist.reports.scan.cyclonedx import render_scan_cyclonedx
from alpinist.reports.scan.json import load_schema, render_scan_json
from alpinist.reports.scan.markdown import render_scan_markdown
from alpinist.reports.scan.sarif import FINGERPRINT_KEY, render_sarif, security_severity
from alpinist.reports.scan.table import render_scan_table
from alpinist.scan.model import Finding, IgnoreRule, Policy, ScanResult, summarize, summary_line
from alpinist.scan.policy import load_vex
from alpinist.scan.scanning import scan_inventory
from tests.scan_fixtures import inventories, scan_db  # noqa: F401  (fixtures)

SCHEMAS = Path(__file__).resolve().parent.parent / "src" / "alpinist" / "schemas"
SERIAL = uuid.UUID("12345678-1234-5678-1234-567812345678")
WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
SEVERITY_ORDER = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN"]


def scan(inv: Inventory, db: Path, policy: Policy | None = None) -> ScanResult:
    with Store.open(db) as store:
        return scan_inventory(inv, store, policy)


@pytest.fixture(scope="module")
def debian_scan(scan_db: Path, inventories: dict[str, Inventory]) -> ScanResult:
    return scan(inventories["python-app:debian"], scan_db)


@pytest.fixture(scope="module")
def alpine_scan_suppressed(
    scan_db: Path,
    inventories: dict[str, Inventory],
    tmp_path_factory: Any,
) -> ScanResult:
    """alpine:3.20.3 with CVE-2025-9230 suppressed by VEX on libssl3 and by an ignore rule on busybox."""
    inv = inventories["alpine:3.20.3"]
    purl = image_purl(inv.image)
    assert purl is not None
    vex = tmp_path_factory.mktemp("vex") / "alpine.vex.json"
    vex.write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://example.invalid/vex/alpine",
                "author": "tests",
                "timestamp": "2025-01-01T00:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": "CVE-2025-9230"},
                        "products": [{"@id": purl, "subcomponents": [{"@id": "pkg:apk/alpine/libssl3"}]}],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                    }
                ],
            }
        )
    )
    policy = Policy(
        vex=load_vex(vex),
        ignore_rules=(
            IgnoreRule("CVE-2024-58251", "busybox applets unused", package="busybox", where="i.yaml:1"),
        ),
        today=date(2025, 1, 1),
    )
    return scan(inv, scan_db, policy)


# ---------------------------------------------------------------------------------------------- summary


def test_summary_counts_what_the_findings_hold(debian_scan: ScanResult) -> None:
    s = debian_scan.summary
    assert s.vulnerabilities == len(debian_scan.findings) > 0
    assert s.packages == len(
        {(f.package.name, f.package.version, f.package.type) for f in debian_scan.findings}
    )
    assert sum(c for _, c in s.by_severity) == s.vulnerabilities
    assert [sev for sev, _ in s.by_severity] == SEVERITY_ORDER
    assert s.packages_scanned == len(debian_scan.inventory.packages)
    assert summary_line(s) == f"{s.vulnerabilities} vulnerabilities found in {s.packages} packages"


def test_summary_line_singular_and_zero() -> None:
    assert summary_line(summarize([])) == "0 vulnerabilities found in 0 packages"


def test_findings_are_sorted_worst_first(debian_scan: ScanResult) -> None:
    ranks = [SEVERITY_ORDER.index(f.severity) for f in debian_scan.findings]
    assert ranks == sorted(ranks)


# ---------------------------------------------------------------------------------------------- JSON


def validate_json(doc: dict[str, Any]) -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)


def test_json_validates_and_holds_the_documented_fields(debian_scan: ScanResult) -> None:
    doc = json.loads(render_scan_json(debian_scan))
    validate_json(doc)
    assert doc["schema"] == "alpinist-scan/1"
    assert doc["image"]["manifest_digest"] == debian_scan.inventory.image.manifest_digest
    assert doc["os"]["codename"] == "bookworm"
    assert {s["name"] for s in doc["database"]["sources"]} == {"alpine", "debian", "osv", "nvd"}
    summary = doc["summary"]
    assert summary["vulnerabilities"] == len(doc["findings"])
    assert summary["by_severity"] == {
        sev: sum(1 for f in doc["findings"] if f["severity"] == sev) for sev in SEVERITY_ORDER
    }
    deb = next(
        f for f in doc["findings"] if f["package"]["type"] == "deb" and f["package"]["name"] == "libssl3"
    )
    assert deb["package"]["source"] == "openssl" and deb["advisory_package"] == "openssl"
    assert deb["namespace"] == "debian:bookworm" and deb["feed"] == "debian"
    py = next(f for f in doc["findings"] if f["package"]["type"] == "python")
    assert py["package"]["purl"].startswith("pkg:pypi/") and "vendored" in py["package"]
    assert doc["suppressed"] == [] and doc["policy"]["failed"] is False


def test_json_suppressed_entries(alpine_scan_suppressed: ScanResult) -> None:
    doc = json.loads(render_scan_json(alpine_scan_suppressed))
    validate_json(doc)
    by_key = {(s["finding"]["id"], s["finding"]["package"]["name"]): s for s in doc["suppressed"]}
    vex = by_key[("CVE-2025-9230", "libssl3")]
    assert vex["by"] == "vex" and vex["vex_status"] == "not_affected"
    assert vex["justification"] == "vulnerable_code_not_in_execute_path"
    assert vex["reason"] == "VEX not_affected: vulnerable_code_not_in_execute_path"
    assert vex["finding"]["fixed_version"] == "3.3.5-r0" and vex["finding"]["package"]["origin"] == "openssl"
    ignored = by_key[("CVE-2024-58251", "busybox")]
    assert ignored["by"] == "ignore-file" and ignored["reason"] == "ignored: busybox applets unused"
    # "package: busybox" names the origin package too: every package built from busybox
    # (expected/alpine_3.20.3/packages.tsv: busybox, busybox-binsh, ssl_client, all 1.36.1-r29)
    assert {name for vid, name in by_key if vid == "CVE-2024-58251"} == {
        "busybox",
        "busybox-binsh",
        "ssl_client",
    }
    assert len(doc["suppressed"]) == 4 == doc["summary"]["suppressed"]
    remaining = {(f["id"], f["package"]["name"]) for f in doc["findings"]}
    assert ("CVE-2025-9230", "libcrypto3") in remaining and ("CVE-2025-9230", "libssl3") not in remaining


def test_json_schema_rejects_what_it_should(debian_scan: ScanResult) -> None:
    validator = jsonschema.Draft202012Validator(load_schema())
    good = json.loads(render_scan_json(debian_scan))
    assert validator.is_valid(good)
    for mutate in (
        lambda d: d["summary"]["by_severity"].pop("UNKNOWN"),
        lambda d: d["findings"][0].update(severity="SEVERE"),
        lambda d: d["findings"][0]["package"].pop("purl"),
        lambda d: d.update(extra=1),
        lambda d: d.update(schema="alpinist-scan/2"),
    ):
        bad = json.loads(json.dumps(good))
        mutate(bad)
        assert not validator.is_valid(bad)


def test_json_is_deterministic(debian_scan: ScanResult) -> None:
    assert render_scan_json(debian_scan) == render_scan_json(debian_scan)


# ---------------------------------------------------------------------------------------------- SARIF


def validate_sarif(doc: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / "sarif-2.1.0.schema.json").read_text())
    cls = validators.validator_for(schema)
    assert cls is jsonschema.Draft4Validator  # the OASIS errata01 schema is draft-04
    cls.check_schema(schema)
    cls(schema, format_checker=jsonschema.FormatChecker()).validate(doc)


def test_sarif_validates_against_the_official_schema(debian_scan: ScanResult) -> None:
    doc = json.loads(render_sarif(debian_scan))
    validate_sarif(doc)
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(dict.fromkeys(f.id for f in debian_scan.findings))
    results = run["results"]
    assert len(results) == len(debian_scan.findings)
    for result, finding in zip(results, debian_scan.findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.id
        assert result["level"] == {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning"}.get(
            finding.severity, "note"
        )
        location = result["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "python-app:debian"
        assert location["logicalLocations"][0]["name"] == finding.package.name
    for rule in rules:
        assert rule["help"]["text"] and rule["help"]["markdown"] and rule["shortDescription"]["text"]
        worst = min(SEVERITY_ORDER.index(f.severity) for f in debian_scan.findings if f.id == rule["id"])
        props = rule["properties"]
        assert SEVERITY_ORDER[worst] in props["tags"] and "security" in props["tags"]
        if SEVERITY_ORDER[worst] == "UNKNOWN":
            assert "security-severity" not in props
        else:
            score = float(props["security-severity"])
            assert 0.0 <= score <= 10.0
        if rule["id"].startswith("CVE-"):
            assert rule["helpUri"] == f"https://nvd.nist.gov/vuln/detail/{rule['id']}"


def test_sarif_security_severity_bands() -> None:
    assert security_severity("HIGH", 7.5) == "7.5"  # CVE-2025-9230's NVD score: inside the HIGH band
    assert security_severity("LOW", 9.8) == "2.0"  # a vendor LOW over a critical CVSS: the band wins
    assert security_severity("CRITICAL", None) == "9.5"
    assert security_severity("MEDIUM", None) == "5.5"
    assert security_severity("NEGLIGIBLE", 5.0) == "0.0"
    assert security_severity("UNKNOWN", 9.0) is None


def test_sarif_fingerprints_are_stable_and_distinct(debian_scan: ScanResult) -> None:
    first = json.loads(render_sarif(debian_scan))["runs"][0]["results"]
    again = json.loads(render_sarif(debian_scan))["runs"][0]["results"]
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in first]
    assert prints == [r["partialFingerprints"][FINGERPRINT_KEY] for r in again]
    assert len(set(prints)) == len(prints)
    # the same alert after an upgrade that does not fix it (another installed version) keeps its identity
    f = debian_scan.findings[0]
    upgraded = dataclasses.replace(
        f, package=dataclasses.replace(f.package, version=f.package.version + "+1"), installed_version="x"
    )
    moved = dataclasses.replace(debian_scan, findings=(upgraded,))
    assert (
        json.loads(render_sarif(moved))["runs"][0]["results"][0]["partialFingerprints"][FINGERPRINT_KEY]
        == prints[0]
    )


def test_sarif_hand_checked_alpine_finding(alpine_scan_suppressed: ScanResult) -> None:
    doc = json.loads(render_sarif(alpine_scan_suppressed))
    validate_sarif(doc)
    run = doc["runs"][0]
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "CVE-2025-9230")
    assert rule["properties"]["security-severity"] == "7.5"
    assert rule["defaultConfiguration"]["level"] == "error"
    results = [r for r in run["results"] if r["ruleId"] == "CVE-2025-9230"]
    assert [r["properties"]["packageName"] for r in results] == ["libcrypto3"]  # libssl3: suppressed by VEX
    assert results[0]["properties"]["fixedVersion"] == "3.3.5-r0"


# ---------------------------------------------------------------------------------------------- CycloneDX


def validate_cdx(text: str) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    assert errors is None, errors


def test_cyclonedx_with_vulnerabilities_is_valid_1_6(debian_scan: ScanResult) -> None:
    text = render_scan_cyclonedx(debian_scan, serial_number=SERIAL, timestamp=WHEN)
    validate_cdx(text)
    doc = json.loads(text)
    assert doc["specVersion"] == "1.6"
    refs = {c["bom-ref"] for c in doc["components"]}
    vulns = doc["vulnerabilities"]
    assert len(vulns) == len(debian_scan.findings)
    assert all(v["affects"][0]["ref"] in refs for v in vulns)
    assert len({v["bom-ref"] for v in vulns}) == len(vulns)
    assert {v["id"] for v in vulns} == {f.id for f in debian_scan.findings}
    # the same bytes for the same inputs
    assert text == render_scan_cyclonedx(debian_scan, serial_number=SERIAL, timestamp=WHEN)


def test_cyclonedx_hand_checked_finding_and_suppressions(alpine_scan_suppressed: ScanResult) -> None:
    text = render_scan_cyclonedx(alpine_scan_suppressed, serial_number=SERIAL, timestamp=WHEN)
    validate_cdx(text)
    doc = json.loads(text)
    components = {c["bom-ref"]: c for c in doc["components"]}
    entries = [v for v in doc["vulnerabilities"] if v["id"] == "CVE-2025-9230"]
    by_pkg = {components[v["affects"][0]["ref"]]["name"]: v for v in entries}
    assert set(by_pkg) == {"libssl3", "libcrypto3"}
    crypto = by_pkg["libcrypto3"]
    assert crypto["ratings"][0]["severity"] == "high"
    assert crypto["ratings"][0]["score"] == 7.5 and crypto["ratings"][0]["method"] == "CVSSv31"
    assert crypto["recommendation"] == "Upgrade libcrypto3 to 3.3.5-r0 or later"
    assert crypto["source"]["name"] == "Alpine secdb"
    assert "analysis" not in crypto
    ssl = by_pkg["libssl3"]
    assert ssl["analysis"]["state"] == "not_affected"
    assert ssl["analysis"]["justification"] == "code_not_reachable"
    assert ssl["affects"][0]["versions"][0]["status"] == "unaffected"
    busybox = next(
        v
        for v in doc["vulnerabilities"]
        if v["id"] == "CVE-2024-58251" and components[v["affects"][0]["ref"]]["name"] == "busybox"
    )
    assert "state" not in busybox["analysis"] and "busybox applets unused" in busybox["analysis"]["detail"]
    assert {"name": "alpinist:suppressed", "value": "true"} in busybox["properties"]


# ---------------------------------------------------------------------------------------------- Markdown


def test_markdown_summary_and_findings(debian_scan: ScanResult) -> None:
    md = render_scan_markdown(debian_scan)
    s = debian_scan.summary
    assert f"**{summary_line(s)}**" in md
    assert "| CRITICAL | HIGH | MEDIUM | LOW | NEGLIGIBLE | UNKNOWN |" in md
    assert "| " + " | ".join(str(c) for _, c in s.by_severity) + " |" in md
    lines = md.splitlines()
    start = lines.index("| Severity | ID | Package | Installed | Fixed | Status | Type |") + 2
    rows = lines[start : lines.index("", start)]
    assert len(rows) == len(debian_scan.findings)
    assert "[CVE-2023-37920](https://nvd.nist.gov/vuln/detail/CVE-2023-37920)" in md
    # Debian's temporary ids link to the tracker
    temp = next(f.id for f in debian_scan.findings if f.id.startswith("TEMP-"))
    assert f"[{temp}](https://security-tracker.debian.org/tracker/{temp})" in md
    assert len(md) < 65_536


def test_markdown_escapes_cells_and_truncates(debian_scan: ScanResult) -> None:
    f = debian_scan.findings[0]
    hostile = dataclasses.replace(
        f, package=dataclasses.replace(f.package, name="evil|<img src=x>"), installed_version="1|2"
    )
    result = dataclasses.replace(debian_scan, findings=(hostile, *debian_scan.findings[1:]))
    md = render_scan_markdown(result)
    assert "evil\\|&lt;img src=x&gt;" in md and "1\\|2" in md and "<img" not in md
    short = render_scan_markdown(debian_scan, max_chars=3000)
    assert len(short) <= 3000
    shown = sum(1 for line in short.splitlines() if line.startswith("| ") and "](" in line)
    assert f"and {len(debian_scan.findings) - shown} more findings not shown" in short


def test_markdown_lists_suppressed_and_the_gate(alpine_scan_suppressed: ScanResult) -> None:
    result = dataclasses.replace(alpine_scan_suppressed, policy=Policy(fail_on="HIGH"), failed=True)
    md = render_scan_markdown(result)
    assert "4 suppressed" in md and "`--fail-on HIGH`: **failed**" in md
    assert "VEX not\\_affected: vulnerable\\_code\\_not\\_in\\_execute\\_path" in md


# ---------------------------------------------------------------------------------------------- table


def render(result: ScanResult) -> str:
    buffer = io.StringIO()
    render_scan_table(result, Console(file=buffer, width=160))
    return buffer.getvalue()


def test_table_layout(debian_scan: ScanResult) -> None:
    lines = render(debian_scan).splitlines()
    s = debian_scan.summary
    assert lines[0].startswith("python-app:debian  sha256:")
    assert lines[1] == summary_line(s)
    assert lines[2] == "  ".join(f"{sev} {n}" for sev, n in s.by_severity)
    header = lines[3].split()
    assert header[:8] == ["Severity", "ID", "Package", "Installed", "Fixed", "Status", "Type", "Layer"]
    # at 160 columns the severity source does not fit: named under the table (issue 14)
    assert lines[-1] == "not shown at 160 columns: Severity source (--wide or -f json shows them)"
    body = [line for line in lines[5:-1] if line.strip()]
    assert len(body) == len(debian_scan.findings)
    for line, finding in zip(body, debian_scan.findings, strict=True):
        cells = line.split()
        assert cells[0] == finding.severity and cells[1] == finding.id and cells[2] == finding.package.name
        assert finding.installed_version in cells and (finding.fixed_version or "-") in cells  # never cut


def test_table_footer_counts_suppressed(alpine_scan_suppressed: ScanResult) -> None:
    text = render(alpine_scan_suppressed)
    assert "4 suppressed (3 by the ignore file, 1 by VEX):" in text
    assert "CVE-2025-9230 libssl3 3.3.2-r0: VEX not_affected: vulnerable_code_not_in_execute_path" in text
    assert "CVE-2024-58251 busybox 1.36.1-r29: ignored: busybox applets unused" in text


def test_table_does_not_interpret_markup_from_the_image(debian_scan: ScanResult) -> None:
    f: Finding = debian_scan.findings[0]
    hostile = dataclasses.replace(f, package=dataclasses.replace(f.package, name="[bold red]x\x1b[2J"))
    text = render(dataclasses.replace(debian_scan, findings=(hostile,)))
    assert "[bold red]x\\x1b[2J" in text and "\x1b" not in text
