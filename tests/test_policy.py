"""Policy: filters, ignore rules (matching, expiry, file errors), OpenVEX (matching, precedence, errors), gate.

Findings here are written by hand (the policy only reads their ids, packages, severities and fixed
versions); the scan tests run the same policy over real images.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from alpinist.advisories.model import Severity, Status
from alpinist.models import Package
from alpinist.scan.model import Finding, IgnoreRule, Policy
from alpinist.scan.policy import (
    PolicyError,
    apply_policy,
    gate_failed,
    load_ignore_file,
    load_vex,
    parse_severity_list,
    purl_matches,
    rule_matches,
)

IMAGE_PURL = (
    "pkg:oci/app@sha256%3A1111111111111111111111111111111111111111111111111111111111111111?arch=amd64&tag=1.0"
)

LIBSSL = Package(
    "libssl3",
    "3.0.22-1~deb12u2",
    "deb",
    "pkg:deb/debian/libssl3@3.0.22-1~deb12u2?arch=amd64&distro=debian-12",
    origin="openssl",
    arch="amd64",
    locations=("/var/lib/dpkg/status",),
)
OPENSSL = Package(
    "openssl",
    "3.0.22-1~deb12u2",
    "deb",
    "pkg:deb/debian/openssl@3.0.22-1~deb12u2?arch=amd64&distro=debian-12",
    arch="amd64",
)
JINJA = Package(
    "Jinja2",
    "2.11.2",
    "python",
    "pkg:pypi/jinja2@2.11.2",
    locations=("/app/venv/lib/python3.11/site-packages/Jinja2-2.11.2.dist-info",),
)
JINJA_TIME = Package("jinja2-time", "0.2.0", "python", "pkg:pypi/jinja2-time@0.2.0")


def finding(
    pkg: Package,
    vuln_id: str,
    severity: Severity = "HIGH",
    fixed: str | None = None,
    aliases: tuple[str, ...] = (),
    status: Status | None = None,
) -> Finding:
    return Finding(
        id=vuln_id,
        aliases=aliases,
        package=pkg,
        installed_version=pkg.version,
        fixed_version=fixed,
        status=status or ("fixed" if fixed else "open"),
        severity=severity,
        severity_source="nvd:cvss3.1",
        namespace="pypi" if pkg.type == "python" else "debian:bookworm",
        source="osv" if pkg.type == "python" else "debian",
        advisory_package=pkg.origin or pkg.name.lower(),
        matched_version=pkg.version,
    )


SSL_HIGH = finding(LIBSSL, "CVE-2024-4741", "HIGH")
OPENSSL_HIGH = finding(OPENSSL, "CVE-2024-4741", "HIGH")
SSL_CRIT = finding(LIBSSL, "CVE-2024-5535", "CRITICAL")
JINJA_MED = finding(
    JINJA, "CVE-2020-28493", "MEDIUM", "2.11.3", aliases=("GHSA-g3rq-g295-4j3m", "PYSEC-2021-66")
)
JINJA_TIME_LOW = finding(JINJA_TIME, "CVE-2020-28493", "LOW")
UNKNOWN_ONE = finding(OPENSSL, "CVE-2025-0001", "UNKNOWN")
ALL = [SSL_CRIT, SSL_HIGH, OPENSSL_HIGH, JINJA_MED, JINJA_TIME_LOW, UNKNOWN_ONE]


# ---------------------------------------------------------------------------------------------- filters, gate


def test_no_policy_keeps_everything() -> None:
    out = apply_policy(ALL, Policy())
    assert list(out.findings) == ALL
    assert (out.suppressed, out.filtered, out.warnings, out.failed) == ((), 0, (), False)


def test_only_fixed_keeps_findings_with_a_fixed_version_and_counts_the_rest() -> None:
    out = apply_policy(ALL, Policy(only_fixed=True))
    assert list(out.findings) == [JINJA_MED]
    assert out.filtered == 5


def test_severity_filter() -> None:
    out = apply_policy(ALL, Policy(severities=frozenset({"CRITICAL", "UNKNOWN"})))
    assert list(out.findings) == [SSL_CRIT, UNKNOWN_ONE]
    assert out.filtered == 4


@pytest.mark.parametrize(
    ("threshold", "failed"),
    [
        ("CRITICAL", True),
        ("HIGH", True),
        ("MEDIUM", True),
        ("LOW", True),
        ("NEGLIGIBLE", True),
        ("UNKNOWN", True),
    ],
)
def test_gate_with_a_critical_finding(threshold: Severity, failed: bool) -> None:
    assert apply_policy([SSL_CRIT], Policy(fail_on=threshold)).failed is failed


@pytest.mark.parametrize(
    ("threshold", "failed"),
    [
        ("CRITICAL", False),
        ("HIGH", False),
        ("MEDIUM", True),
        ("LOW", True),
        ("NEGLIGIBLE", True),
        ("UNKNOWN", True),
    ],
)
def test_gate_with_a_medium_finding(threshold: Severity, failed: bool) -> None:
    assert gate_failed([JINJA_MED], threshold) is failed


def test_unknown_findings_only_fail_a_gate_at_unknown() -> None:
    assert not gate_failed([UNKNOWN_ONE], "NEGLIGIBLE")
    assert gate_failed([UNKNOWN_ONE], "UNKNOWN")
    assert not gate_failed([UNKNOWN_ONE], None)


def test_gate_looks_at_what_remains_after_filters_and_suppressions() -> None:
    rule = IgnoreRule("CVE-2024-5535", "accepted", where="x:1")
    out = apply_policy(ALL, Policy(fail_on="CRITICAL", ignore_rules=(rule,)))
    assert not out.failed and [s.finding for s in out.suppressed] == [SSL_CRIT]
    out = apply_policy(ALL, Policy(fail_on="HIGH", severities=frozenset({"MEDIUM"})))
    assert not out.failed


def test_parse_severity_list() -> None:
    assert parse_severity_list(["critical,HIGH", " moderate "]) == {"CRITICAL", "HIGH", "MEDIUM"}
    with pytest.raises(ValueError, match="severe"):
        parse_severity_list(["high,severe"])
    with pytest.raises(ValueError):
        parse_severity_list([","])


# ---------------------------------------------------------------------------------------------- ignore rules


@pytest.mark.parametrize(
    ("rule", "matches"),
    [
        (IgnoreRule("CVE-2020-28493", "r"), [JINJA_MED, JINJA_TIME_LOW]),
        (IgnoreRule("cve-2020-28493", "r"), [JINJA_MED, JINJA_TIME_LOW]),  # case-insensitive
        (IgnoreRule("GHSA-g3rq-g295-4j3m", "r"), [JINJA_MED]),  # an alias
        (IgnoreRule("CVE-2020-28493", "r", package="jinja2"), [JINJA_MED]),  # PEP 503 name
        (IgnoreRule("CVE-2020-28493", "r", package="pkg:pypi/jinja2"), [JINJA_MED]),  # purl boundary
        (IgnoreRule("CVE-2020-28493", "r", package="pkg:pypi/jinja2@2.11.2"), [JINJA_MED]),
        (IgnoreRule("CVE-2020-28493", "r", package="pkg:pypi/jinja2@2.11.3"), []),
        (IgnoreRule("CVE-2020-28493", "r", package="pkg:pypi/"), [JINJA_MED, JINJA_TIME_LOW]),
        (IgnoreRule("CVE-2024-4741", "r", package="openssl"), [SSL_HIGH, OPENSSL_HIGH]),  # source package
        (IgnoreRule("CVE-2024-4741", "r", package="libssl3"), [SSL_HIGH]),
        (IgnoreRule("CVE-2024-4741", "r", package="pkg:deb/debian/libssl"), []),  # not a boundary
        (IgnoreRule("CVE-2024-4741", "r", package="pkg:deb/debian/libssl3"), [SSL_HIGH]),
        (IgnoreRule("CVE-2099-0001", "r"), []),
    ],
)
def test_ignore_rule_matching(rule: IgnoreRule, matches: list[Finding]) -> None:
    assert [f for f in ALL if rule_matches(rule, f)] == matches


def test_ignore_rule_suppresses_with_its_reason_and_place() -> None:
    rule = IgnoreRule("CVE-2024-4741", "no TLS server in this image", package="libssl3", where="ign.yaml:3")
    out = apply_policy(ALL, Policy(ignore_rules=(rule,)))
    assert SSL_HIGH not in out.findings and OPENSSL_HIGH in out.findings
    (s,) = out.suppressed
    assert (s.finding, s.by, s.reason, s.rule) == (
        SSL_HIGH,
        "ignore-file",
        "ignored: no TLS server in this image",
        "ign.yaml:3",
    )


def test_expired_rule_stops_applying_the_day_after_and_warns() -> None:
    rule = IgnoreRule("CVE-2024-4741", "later", expires=date(2025, 6, 30), where="ign.yaml:7")
    on_the_day = apply_policy([SSL_HIGH], Policy(ignore_rules=(rule,), today=date(2025, 6, 30)))
    assert on_the_day.findings == () and on_the_day.warnings == ()
    after = apply_policy([SSL_HIGH], Policy(ignore_rules=(rule,), today=date(2025, 7, 1)))
    assert after.findings == (SSL_HIGH,) and after.suppressed == ()
    (warning,) = after.warnings
    assert "CVE-2024-4741" in warning and "ign.yaml:7" in warning and "expired on 2025-06-30" in warning


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_ignore_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ignore.yaml",
        "# accepted risks\n"
        "- id: CVE-2023-45853\n"
        "  package: zlib1g\n"
        "  reason: minizip is not used\n"
        "  expires: 2025-06-30\n"
        "- id: GHSA-g3rq-g295-4j3m\n"
        "  reason: 'templates are ours'\n"
        "  expires: '2026-01-02'\n",
    )
    rules = load_ignore_file(path)
    assert rules == (
        IgnoreRule("CVE-2023-45853", "minizip is not used", "zlib1g", date(2025, 6, 30), f"{path}:2"),
        IgnoreRule("GHSA-g3rq-g295-4j3m", "templates are ours", None, date(2026, 1, 2), f"{path}:6"),
    )
    assert load_ignore_file(write(tmp_path, "empty.yaml", "# nothing yet\n")) == ()


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("- id: CVE-1\n  reason: x\n  expiry: 2025-01-01\n", ":3", "unknown field 'expiry'"),
        ("- id: CVE-1\n  package: zlib\n", ":1", "no 'reason'"),
        ("- reason: because\n", ":1", "no 'id'"),
        ("- id: CVE-1\n  reason: x\n  expires: next year\n", ":3", "'expires' must be an ISO date"),
        ("- id: CVE-1\n  reason: x\n  expires: 2025-13-01\n", ":3", "'expires'"),
        ("- id: CVE-1\n  reason: ''\n", ":2", "'reason' is empty"),
        ("- id: CVE-1\n  reason: [a, b]\n", ":2", "'reason' must be a string"),
        ("- id: CVE-1\n  reason: x\n  reason: y\n", ":3", "'reason' given twice"),
        ("id: CVE-1\nreason: x\n", ":1", "expected a list of rules"),
        ("- CVE-1\n", ":1", "must be a mapping"),
        ("- id: CVE-1\n  reason: [unclosed\n", ":", "not valid YAML"),
    ],
)
def test_malformed_ignore_file_names_file_line_and_field(
    tmp_path: Path, text: str, where: str, what: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(PolicyError) as exc:
        load_ignore_file(path)
    message = str(exc.value)
    assert f"{path}{where}" in message and what in message
    assert "\n" not in message


def test_missing_ignore_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_ignore_file(tmp_path / "nope.yaml")


# ---------------------------------------------------------------------------------------------- OpenVEX


def vex_doc(*statements: dict[str, Any], timestamp: str = "2025-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.invalid/vex/1",
        "author": "security team",
        "timestamp": timestamp,
        "version": 1,
        "statements": list(statements),
    }


def load(tmp_path: Path, doc: dict[str, Any], name: str = "doc.vex.json") -> Any:
    return load_vex(write(tmp_path, name, json.dumps(doc)))


def stmt(vuln: Any, products: list[Any], status: str, **extra: Any) -> dict[str, Any]:
    return {"vulnerability": vuln, "products": products, "status": status, **extra}


@pytest.mark.parametrize(
    ("pattern", "target", "matches"),
    [
        ("pkg:pypi/jinja2", "pkg:pypi/jinja2@2.11.2", True),
        ("pkg:pypi/Jinja2@2.11.2", "pkg:pypi/jinja2@2.11.2", True),  # PyPI names normalised
        ("pkg:pypi/jinja2@2.11.3", "pkg:pypi/jinja2@2.11.2", False),
        ("pkg:pypi/jinja2-time", "pkg:pypi/jinja2@2.11.2", False),
        ("pkg:deb/debian/libssl3", LIBSSL.purl, True),
        ("pkg:deb/debian/libssl3?arch=arm64", LIBSSL.purl, False),
        ("pkg:deb/debian/libssl3?arch=amd64&foo=bar", LIBSSL.purl, True),  # one-sided qualifier ignored
        ("pkg:deb/ubuntu/libssl3", LIBSSL.purl, False),
        ("pkg:oci/app@sha256%3A" + "1" * 64, IMAGE_PURL, True),
        ("pkg:oci/app@sha256:" + "1" * 64 + "?repository_url=registry.invalid/app", IMAGE_PURL, True),
        ("pkg:oci/app@sha256%3A" + "2" * 64, IMAGE_PURL, False),
        ("pkg:oci/app?tag=2.0", IMAGE_PURL, False),
        ("not a purl", IMAGE_PURL, False),
    ],
)
def test_purl_matching(pattern: str, target: str, matches: bool) -> None:
    assert purl_matches(pattern, target) is matches


def test_vex_not_affected_on_an_image_subcomponent(tmp_path: Path) -> None:
    statements = load(
        tmp_path,
        vex_doc(
            stmt(
                {"name": "CVE-2024-4741"},
                [
                    {
                        "@id": "pkg:oci/app@sha256%3A" + "1" * 64,
                        "subcomponents": [{"@id": "pkg:deb/debian/libssl3"}],
                    }
                ],
                "not_affected",
                justification="vulnerable_code_not_in_execute_path",
                impact_statement="no TLS server runs in this image",
            )
        ),
    )
    out = apply_policy(ALL, Policy(vex=statements), IMAGE_PURL)
    (s,) = out.suppressed
    assert s.finding == SSL_HIGH and s.by == "vex" and s.vex_status == "not_affected"
    assert s.justification == "vulnerable_code_not_in_execute_path"
    assert (
        s.reason == "VEX not_affected: vulnerable_code_not_in_execute_path: no TLS server runs in this image"
    )
    assert s.rule.endswith("doc.vex.json statements[0]")
    assert OPENSSL_HIGH in out.findings  # the other package of the same CVE is not covered


def test_vex_statement_about_the_whole_image_or_another_image(tmp_path: Path) -> None:
    whole = load(
        tmp_path,
        vex_doc(stmt({"name": "CVE-2024-4741"}, ["pkg:oci/app@sha256:" + "1" * 64], "fixed")),
        "a.json",
    )
    out = apply_policy(ALL, Policy(vex=whole), IMAGE_PURL)
    assert {s.finding for s in out.suppressed} == {SSL_HIGH, OPENSSL_HIGH}
    assert {s.reason for s in out.suppressed} == {"VEX fixed"}
    # without an image purl (an image with no digest) an image statement covers nothing
    assert apply_policy(ALL, Policy(vex=whole), None).suppressed == ()
    other = load(
        tmp_path, vex_doc(stmt("CVE-2024-4741", ["pkg:oci/other@sha256:" + "1" * 64], "fixed")), "b.json"
    )
    assert apply_policy(ALL, Policy(vex=other), IMAGE_PURL).suppressed == ()


def test_vex_package_product_and_aliases(tmp_path: Path) -> None:
    statements = load(
        tmp_path,
        vex_doc(
            stmt(
                {"name": "GHSA-g3rq-g295-4j3m", "aliases": ["CVE-2020-28493"]},
                [{"@id": "urn:example:thing", "identifiers": {"purl": "pkg:pypi/jinja2"}}],
                "not_affected",
                justification="vulnerable_code_not_present",
            )
        ),
    )
    out = apply_policy(ALL, Policy(vex=statements), IMAGE_PURL)
    assert [s.finding for s in out.suppressed] == [JINJA_MED]  # not jinja2-time


@pytest.mark.parametrize(("status", "suppressed"), [("affected", False), ("under_investigation", False)])
def test_vex_statuses_that_do_not_suppress(tmp_path: Path, status: str, suppressed: bool) -> None:
    extra = {"action_statement": "upgrade"} if status == "affected" else {}
    statements = load(tmp_path, vex_doc(stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3"], status, **extra)))
    assert bool(apply_policy([SSL_HIGH], Policy(vex=statements)).suppressed) is suppressed


def test_latest_vex_statement_decides(tmp_path: Path) -> None:
    earlier = stmt(
        "CVE-2024-4741",
        ["pkg:deb/debian/libssl3"],
        "not_affected",
        justification="component_not_present",
        timestamp="2025-01-01T00:00:00Z",
    )
    later = stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3"], "affected", timestamp="2025-03-01T00:00:00Z")
    statements = load(tmp_path, vex_doc(later, earlier))  # order in the file does not matter
    assert apply_policy([SSL_HIGH], Policy(vex=statements)).suppressed == ()
    later_not_affected = dict(earlier, timestamp="2025-04-01T00:00:00Z")
    statements = load(tmp_path, vex_doc(later, later_not_affected), "c.json")
    assert len(apply_policy([SSL_HIGH], Policy(vex=statements)).suppressed) == 1


def test_an_affected_vex_statement_does_not_undo_an_ignore_rule(tmp_path: Path) -> None:
    statements = load(tmp_path, vex_doc(stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3"], "affected")))
    rule = IgnoreRule("CVE-2024-4741", "accepted", where="i:1")
    out = apply_policy([SSL_HIGH], Policy(vex=statements, ignore_rules=(rule,)))
    assert [s.by for s in out.suppressed] == ["ignore-file"]


def test_openvex_v0_0_x_string_forms(tmp_path: Path) -> None:
    doc = vex_doc(
        stmt(
            "CVE-2024-4741", ["pkg:deb/debian/libssl3"], "not_affected", justification="component_not_present"
        )
    )
    doc["@context"] = "https://openvex.dev/ns"
    (statement,) = load(tmp_path, doc)
    assert statement.vulnerabilities == ("CVE-2024-4741",)
    assert apply_policy([SSL_HIGH], Policy(vex=(statement,))).suppressed


@pytest.mark.parametrize(
    ("doc", "what"),
    [
        ({"@context": "https://example.invalid", "statements": []}, "not an OpenVEX context"),
        (vex_doc(stmt("CVE-1", ["pkg:pypi/x"], "maybe")), "statements[0].status"),
        (
            vex_doc(stmt("CVE-1", ["pkg:pypi/x"], "not_affected")),
            "needs a justification or an impact_statement",
        ),
        (vex_doc(stmt("CVE-1", [], "fixed")), "statements[0].products"),
        (vex_doc(stmt({"aliases": ["CVE-1"]}, ["pkg:pypi/x"], "fixed")), "statements[0].vulnerability.name"),
        (vex_doc(stmt(None, ["pkg:pypi/x"], "fixed")), "statements[0].vulnerability"),
        (vex_doc(stmt("CVE-1", ["pkg:pypi/x"], "fixed", timestamp="yesterday")), "statements[0].timestamp"),
        (vex_doc(stmt("CVE-1", [{"subcomponents": []}], "fixed")), "statements[0].products[0]"),
    ],
)
def test_malformed_vex_names_file_and_field(tmp_path: Path, doc: dict[str, Any], what: str) -> None:
    path = write(tmp_path, "bad.vex.json", json.dumps(doc))
    with pytest.raises(PolicyError) as exc:
        load_vex(path)
    assert str(path) in str(exc.value) and what in str(exc.value)


def test_vex_that_is_not_json(tmp_path: Path) -> None:
    path = write(tmp_path, "x.json", '{"@context": "https://openvex.dev/ns/v0.2.0",\n "statements": [\n')
    with pytest.raises(PolicyError, match=r"x\.json:3: not valid JSON"):
        load_vex(path)
