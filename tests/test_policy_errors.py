"""Policy, pinned to the letter: the exact error a bad OpenVEX document or ignore file gets (the file, the
place, the reason: the user reads nothing else), and the matching rules a coarser test lets slip (purl
subpaths and name normalisation, which names a rule's ``package`` covers, the order VEX statements are
weighed in, the reason a suppression shows, the nesting bound of an ignore file).

The documents have the real OpenVEX v0.2.0 shape (``@context``, ``timestamp``, ``statements`` with
``vulnerability``, ``products``, ``status``); the findings are written by hand, as in test_policy.py.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from alpinist.advisories.model import Severity
from alpinist.models import Package
from alpinist.scan.model import Finding, IgnoreRule, Policy, VexProduct
from alpinist.scan.policy import (
    PolicyError,
    apply_policy,
    load_ignore_file,
    load_vex,
    parse_severity_list,
    purl_matches,
    rule_matches,
)

LIBSSL = Package(
    "libssl3",
    "3.0.22-1~deb12u2",
    "deb",
    "pkg:deb/debian/libssl3@3.0.22-1~deb12u2?arch=amd64&distro=debian-12",
    origin="openssl",
    arch="amd64",
)
ZOPE = Package("zope.interface", "5.4.0", "python", "pkg:pypi/zope.interface@5.4.0")
IMAGE_PURL = (
    "pkg:oci/app@sha256%3A1111111111111111111111111111111111111111111111111111111111111111?arch=amd64&tag=1.0"
)


def finding(
    pkg: Package,
    vuln_id: str,
    severity: Severity = "HIGH",
    advisory_package: str | None = None,
    aliases: tuple[str, ...] = (),
) -> Finding:
    return Finding(
        id=vuln_id,
        aliases=aliases,
        package=pkg,
        installed_version=pkg.version,
        fixed_version=None,
        status="open",
        severity=severity,
        severity_source="nvd:cvss3.1",
        namespace="pypi" if pkg.type == "python" else "debian:bookworm",
        source="osv" if pkg.type == "python" else "debian",
        advisory_package=advisory_package or pkg.origin or pkg.name,
        matched_version=pkg.version,
    )


SSL_HIGH = finding(LIBSSL, "CVE-2024-4741")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def vex_doc(*statements: Any, timestamp: str | None = "2025-01-01T00:00:00Z") -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.invalid/vex/1",
        "author": "security team",
        "version": 1,
        "statements": list(statements),
    }
    if timestamp is not None:
        doc["timestamp"] = timestamp
    return doc


def stmt(vuln: Any, products: Any, status: str, **extra: Any) -> dict[str, Any]:
    return {"vulnerability": vuln, "products": products, "status": status, **extra}


FIXED_SSL = stmt({"name": "CVE-2024-4741"}, ["pkg:deb/debian/libssl3"], "fixed")


def vex_error(tmp_path: Path, doc: Any) -> tuple[Path, str]:
    path = write(tmp_path, "bad.vex.json", json.dumps(doc))
    with pytest.raises(PolicyError) as exc:
        load_vex(path)
    return path, str(exc.value)


def ignore_error(tmp_path: Path, text: str) -> tuple[Path, str]:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(PolicyError) as exc:
        load_ignore_file(path)
    return path, str(exc.value)


# ---------------------------------------------------------------------------------------------- VEX errors


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (vex_doc("CVE-2024-4741"), "statements[0]: must be an object"),
        (
            vex_doc(FIXED_SSL, stmt({"name": 2024}, ["pkg:deb/debian/libssl3"], "fixed")),
            "statements[1].vulnerability.name: must be a string",
        ),
        (
            vex_doc(stmt({"name": "CVE-2024-4741", "@id": 4741}, ["pkg:deb/debian/libssl3"], "fixed")),
            "statements[0].vulnerability.@id: must be a string",
        ),
        (
            vex_doc(
                stmt({"name": "CVE-2024-4741", "aliases": ["GHSA-1", 5]}, ["pkg:deb/debian/libssl3"], "fixed")
            ),
            "statements[0].vulnerability.aliases: must be a list of strings",
        ),
        (
            vex_doc(
                stmt({"name": "CVE-2024-4741", "aliases": "GHSA-1"}, ["pkg:deb/debian/libssl3"], "fixed")
            ),
            "statements[0].vulnerability.aliases: must be a list of strings",
        ),
        (
            vex_doc(stmt({"@id": "https://nvd.nist.gov/vuln/detail/CVE-1"}, ["pkg:deb/debian/x"], "fixed")),
            "statements[0].vulnerability.name: missing (required)",
        ),
        (
            vex_doc(stmt(["CVE-2024-4741"], ["pkg:deb/debian/libssl3"], "fixed")),
            "statements[0].vulnerability: missing, or neither an object nor a string",
        ),
        (
            vex_doc(stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3"], "maybe")),
            "statements[0].status: 'maybe' is not one of not_affected, affected, fixed, under_investigation",
        ),
        (
            vex_doc(stmt("CVE-2024-4741", "pkg:deb/debian/libssl3", "fixed")),
            "statements[0].products: must be a non-empty list",
        ),
        (
            vex_doc(stmt("CVE-2024-4741", [], "fixed")),
            "statements[0].products: must be a non-empty list",
        ),
        (
            vex_doc(stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3", 7], "fixed")),
            "statements[0].products[1]: must be an object with an @id",
        ),
        (
            vex_doc(stmt("CVE-2024-4741", [{"subcomponents": [{"@id": "pkg:deb/debian/libssl3"}]}], "fixed")),
            "statements[0].products[0]: has neither @id nor identifiers",
        ),
        (
            vex_doc(
                stmt("CVE-2024-4741", [{"@id": IMAGE_PURL, "subcomponents": "pkg:deb/debian/x"}], "fixed")
            ),
            "statements[0].products[0].subcomponents: must be a list",
        ),
        (
            vex_doc(
                stmt(
                    "CVE-2024-4741", [{"@id": IMAGE_PURL, "subcomponents": ["pkg:deb/debian/x", 3]}], "fixed"
                )
            ),
            "statements[0].products[0].subcomponents[1]: must be an object with an @id",
        ),
        (
            vex_doc(stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3"], "not_affected")),
            "statements[0]: status not_affected needs a justification or an impact_statement (OpenVEX spec)",
        ),
        (
            vex_doc(stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3"], "not_affected", justification=1)),
            "statements[0].justification: must be a string",
        ),
        (
            vex_doc(
                stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3"], "not_affected", impact_statement=["no"])
            ),
            "statements[0].impact_statement: must be a string",
        ),
        (
            vex_doc(stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3"], "fixed", status_notes={"a": 1})),
            "statements[0].status_notes: must be a string",
        ),
        (
            vex_doc(stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3"], "fixed", timestamp=20250101)),
            "statements[0].timestamp: must be an RFC 3339 timestamp string",
        ),
        (
            vex_doc(stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3"], "fixed", timestamp="yesterday")),
            "statements[0].timestamp: not an RFC 3339 timestamp: 'yesterday'",
        ),
        (vex_doc(FIXED_SSL, timestamp="last week"), "timestamp: not an RFC 3339 timestamp: 'last week'"),
        ({**vex_doc(FIXED_SSL), "timestamp": 1735689600}, "timestamp: must be an RFC 3339 timestamp string"),
        ({**vex_doc(), "statements": {"0": FIXED_SSL}}, "'statements' must be a list"),
        (
            {**vex_doc(), "@context": "https://example.invalid"},
            "'@context' is 'https://example.invalid', not an OpenVEX context",
        ),
        ([FIXED_SSL], "expected a JSON object (an OpenVEX document)"),
    ],
)
def test_bad_vex_document_gets_one_exact_error(tmp_path: Path, doc: Any, message: str) -> None:
    """Every kind of bad OpenVEX document: ``VEX document FILE: PLACE: REASON``, word for word."""
    path, error = vex_error(tmp_path, doc)
    assert error == f"VEX document {path}: {message}"


def test_vex_document_nested_deeper_than_the_stack(tmp_path: Path) -> None:
    deep = write(tmp_path, "deep.vex.json", "[" * 100_000)
    with pytest.raises(PolicyError) as exc:
        load_vex(deep)
    assert str(exc.value) == f"VEX document {deep}: not an OpenVEX document: JSON nested too deeply"


def test_vex_document_that_cannot_be_read_or_decoded(tmp_path: Path) -> None:
    missing = tmp_path / "none.vex.json"
    with pytest.raises(PolicyError) as exc:
        load_vex(missing)
    assert str(exc.value) == (
        f"VEX document {missing}: cannot read it: [Errno 2] No such file or directory: '{missing}'"
    )
    latin1 = tmp_path / "latin1.vex.json"
    latin1.write_bytes(b'{"author": "\xe9quipe"}')
    with pytest.raises(PolicyError) as exc:
        load_vex(latin1)
    assert str(exc.value) == (
        f"VEX document {latin1}: not valid JSON: 'utf-8' codec can't decode byte 0xe9 in position 12:"
        " invalid continuation byte"
    )
    broken = write(
        tmp_path, "broken.vex.json", '{"@context": "https://openvex.dev/ns/v0.2.0",\n "statements": [\n'
    )
    with pytest.raises(PolicyError) as exc:
        load_vex(broken)
    assert str(exc.value) == (
        f"VEX document {broken}:3: not valid JSON: Expecting value: line 3 column 1 (char 63)"
    )


# ---------------------------------------------------------------------------------------------- VEX reading


def load(tmp_path: Path, doc: dict[str, Any], name: str = "doc.vex.json", start: int = 0) -> Any:
    return load_vex(write(tmp_path, name, json.dumps(doc)), start=start)


def test_vex_vulnerability_ids_are_name_at_id_and_aliases(tmp_path: Path) -> None:
    (statement,) = load(
        tmp_path,
        vex_doc(
            stmt(
                {
                    "name": "GHSA-4jq9-2xhw-jpx7",
                    "@id": "https://nvd.nist.gov/vuln/detail/CVE-2024-4741",
                    "aliases": ["CVE-2024-4741", " ", "GHSA-4jq9-2xhw-jpx7"],
                },
                ["pkg:deb/debian/libssl3"],
                "fixed",
            )
        ),
    )
    assert statement.vulnerabilities == (
        "GHSA-4jq9-2xhw-jpx7",
        "https://nvd.nist.gov/vuln/detail/CVE-2024-4741",
        "CVE-2024-4741",
    )
    # the finding's id is only among the aliases: the statement still covers it
    (s,) = apply_policy([SSL_HIGH], Policy(vex=(statement,))).suppressed
    assert s.finding == SSL_HIGH


def test_vex_products_alpinist_cannot_identify(tmp_path: Path) -> None:
    """A product named by a non-purl string or an IRI @id is kept as an unidentified product (it covers
    nothing, it is no error); image subcomponents none of which is a purl do not widen the statement to
    the whole image."""
    (statement,) = load(
        tmp_path,
        vex_doc(
            stmt(
                "CVE-2024-4741",
                [
                    "libssl3",
                    {"@id": "https://example.invalid/products/app"},
                    {"@id": IMAGE_PURL, "subcomponents": ["libssl3", {"@id": "urn:example:libssl"}]},
                    {"@id": "urn:example:thing", "identifiers": {"purl": "pkg:deb/debian/openssl"}},
                ],
                "fixed",
            )
        ),
    )
    assert statement.products == (
        VexProduct(None),
        VexProduct(None),
        VexProduct(None),
        VexProduct("pkg:deb/debian/openssl"),
    )


def test_an_unidentified_product_does_not_hide_the_next_one(tmp_path: Path) -> None:
    statements = load(
        tmp_path,
        vex_doc(stmt("CVE-2024-4741", [{"@id": "urn:example:app"}, "pkg:deb/debian/libssl3"], "fixed")),
    )
    (s,) = apply_policy([SSL_HIGH], Policy(vex=statements)).suppressed
    assert s.finding == SSL_HIGH


def test_vex_timestamps_keep_their_offset_and_naive_ones_are_utc(tmp_path: Path) -> None:
    """A statement's timestamp keeps its UTC offset, a naive one is read as UTC; a document read alone
    numbers its statements from 0."""
    statements = load_vex(
        write(
            tmp_path,
            "doc.vex.json",
            json.dumps(
                vex_doc(
                    dict(FIXED_SSL, timestamp="2025-03-01T02:00:00+02:00"),
                    dict(FIXED_SSL, timestamp="2025-03-01T00:00:00"),
                    FIXED_SSL,
                    timestamp="2025-01-01T00:00:00Z",
                )
            ),
        )
    )
    stamps = [s.timestamp for s in statements]
    assert stamps == [
        datetime(2025, 3, 1, 2, tzinfo=timezone(timedelta(hours=2))),
        datetime(2025, 3, 1, tzinfo=UTC),
        datetime(2025, 1, 1, tzinfo=UTC),
    ]
    assert [s.utcoffset() if s else None for s in stamps] == [timedelta(hours=2), timedelta(0), timedelta(0)]
    assert [s.order for s in statements] == [0, 1, 2]
    assert [s.where for s in statements] == [f"{tmp_path / 'doc.vex.json'} statements[{i}]" for i in range(3)]


def test_rfc3339_lowercase_t_and_z_are_accepted(tmp_path: Path) -> None:
    """RFC 3339 5.6: "T" and "Z" may be lower case; such a timestamp is not "not an RFC 3339 timestamp"."""
    (statement,) = load(tmp_path, vex_doc(dict(FIXED_SSL, timestamp="2025-03-01t10:00:00z")))
    assert statement.timestamp == datetime(2025, 3, 1, 10, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- VEX precedence


NOT_AFFECTED = stmt(
    "CVE-2024-4741", ["pkg:deb/debian/libssl3"], "not_affected", justification="component_not_present"
)
AFFECTED = stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3"], "affected")


def suppressed_by(statements: Any) -> list[str | None]:
    return [s.vex_status for s in apply_policy([SSL_HIGH], Policy(vex=tuple(statements))).suppressed]


def test_same_timestamp_the_later_statement_in_the_document_decides(tmp_path: Path) -> None:
    assert suppressed_by(load(tmp_path, vex_doc(AFFECTED, NOT_AFFECTED), "a.json")) == ["not_affected"]
    assert suppressed_by(load(tmp_path, vex_doc(NOT_AFFECTED, AFFECTED), "b.json")) == []


def test_documents_given_later_come_later_when_timestamps_tie(tmp_path: Path) -> None:
    first = load(tmp_path, vex_doc(NOT_AFFECTED), "first.json")
    second = load(tmp_path, vex_doc(AFFECTED), "second.json", start=len(first))
    assert [s.order for s in (*first, *second)] == [0, 1]
    assert suppressed_by((*first, *second)) == []
    assert suppressed_by((*second, *first)) == []  # the order given, not the order in the policy tuple


def test_the_document_timestamp_dates_its_statements(tmp_path: Path) -> None:
    """A statement without a timestamp has its document's: a later document outweighs one given after it."""
    newer = load(tmp_path, vex_doc(AFFECTED, timestamp="2025-06-01T00:00:00Z"), "newer.json")
    older = load(tmp_path, vex_doc(NOT_AFFECTED, timestamp="2025-01-01T00:00:00Z"), "older.json", start=1)
    assert newer[0].timestamp == datetime(2025, 6, 1, tzinfo=UTC)
    assert suppressed_by((*newer, *older)) == []


def test_an_undated_statement_is_older_than_any_dated_one(tmp_path: Path) -> None:
    statements = load(
        tmp_path,
        vex_doc(dict(NOT_AFFECTED, timestamp="2020-01-01T00:00:00Z"), AFFECTED, timestamp=None),
    )
    assert [s.timestamp for s in statements] == [datetime(2020, 1, 1, tzinfo=UTC), None]
    assert suppressed_by(statements) == ["not_affected"]
    undated = load(tmp_path, vex_doc(NOT_AFFECTED, AFFECTED, timestamp=None), "undated.json")
    assert suppressed_by(undated) == []


# ---------------------------------------------------------------------------------------------- VEX reasons


@pytest.mark.parametrize(
    ("extra", "status", "reason"),
    [
        (
            {"impact_statement": "no TLS server runs here"},
            "not_affected",
            "VEX not_affected: no TLS server runs here",
        ),
        (
            {"justification": "component_not_present"},
            "not_affected",
            "VEX not_affected: component_not_present",
        ),
        ({"status_notes": "rebuilt with 3.0.23"}, "fixed", "VEX fixed: rebuilt with 3.0.23"),
        (
            {"impact_statement": "patched in our build", "status_notes": "rebuilt with 3.0.23"},
            "fixed",
            "VEX fixed: patched in our build",
        ),
        ({"status_notes": "rebuilt"}, "not_affected", None),  # not_affected needs more than notes
        ({}, "fixed", "VEX fixed"),
    ],
)
def test_vex_suppression_reason(
    tmp_path: Path, extra: dict[str, str], status: str, reason: str | None
) -> None:
    doc = vex_doc(stmt("CVE-2024-4741", ["pkg:deb/debian/libssl3"], status, **extra))
    if reason is None:
        _, error = vex_error(tmp_path, doc)
        assert error.endswith("needs a justification or an impact_statement (OpenVEX spec)")
        return
    (s,) = apply_policy([SSL_HIGH], Policy(vex=load(tmp_path, doc))).suppressed
    assert s.reason == reason


# ---------------------------------------------------------------------------------------------- purls


@pytest.mark.parametrize(
    ("pattern", "target", "matches"),
    [
        ("pkg:pypi/zope.interface", "pkg:pypi/zope-interface@5.4.0", True),  # PEP 503: . and - alike
        ("pkg:pypi/zope-interface@5.4.0", "pkg:pypi/zope.interface@5.4.0", True),
        ("pkg:deb/debian/libpython3.11", "pkg:deb/debian/libpython3-11@3.11.2-6", False),  # only PyPI
        ("pkg:golang/github.com/x/y#sub/dir", "pkg:golang/github.com/x/y@v1.0.0#sub/dir", True),
        ("pkg:golang/github.com/x/y#sub/dir", "pkg:golang/github.com/x/y@v1.0.0#other", False),
        ("pkg:golang/github.com/x/y", "pkg:golang/github.com/x/y@v1.0.0#sub/dir", True),
    ],
)
def test_purl_names_and_subpaths(pattern: str, target: str, matches: bool) -> None:
    assert purl_matches(pattern, target) is matches


@pytest.mark.parametrize(
    ("prefix", "purl", "matches"),
    [
        ("pkg:rpm/fedora/perl-", "pkg:rpm/fedora/perl-XML-Parser@2.46-1", False),
        ("pkg:rpm/fedora/perl-X", "pkg:rpm/fedora/perl-XML-Parser@2.46-1", False),
        ("pkg:rpm/fedora/perl-XML-Parser", "pkg:rpm/fedora/perl-XML-Parser@2.46-1", True),
        ("pkg:rpm/fedora/", "pkg:rpm/fedora/perl-XML-Parser@2.46-1", True),
    ],
)
def test_ignore_rule_purl_prefix_ends_at_a_boundary(prefix: str, purl: str, matches: bool) -> None:
    pkg = Package("perl-XML-Parser", "2.46-1", "binary", purl)
    assert rule_matches(IgnoreRule("CVE-2024-1", "r", package=prefix), finding(pkg, "CVE-2024-1")) is matches


# ---------------------------------------------------------------------------------------------- rule names


def test_rule_package_names_the_origin_even_when_the_advisory_names_another() -> None:
    """A CPE finding's advisory package is vendor:product; the rule may still name the source package."""
    cpe_finding = finding(LIBSSL, "CVE-2024-4741", advisory_package="openssl:openssl")
    assert rule_matches(IgnoreRule("CVE-2024-4741", "r", package="openssl"), cpe_finding)
    assert rule_matches(IgnoreRule("CVE-2024-4741", "r", package="openssl:openssl"), cpe_finding)
    assert not rule_matches(IgnoreRule("CVE-2024-4741", "r", package="libcrypto3"), cpe_finding)


@pytest.mark.parametrize(
    ("package", "pkg", "matches"),
    [
        ("Zope_Interface", ZOPE, True),  # Python names compare PEP 503-normalised
        ("zope-interface", ZOPE, True),
        ("zope-interfaces", ZOPE, False),
        ("LibSSL3", LIBSSL, False),  # other names compare as written
        ("OpenSSL", LIBSSL, False),
    ],
)
def test_rule_package_name_normalisation(package: str, pkg: Package, matches: bool) -> None:
    target = finding(pkg, "CVE-2024-1", advisory_package=pkg.origin or pkg.name)
    assert rule_matches(IgnoreRule("CVE-2024-1", "r", package=package), target) is matches


def test_expired_rule_warning_text() -> None:
    rules = (
        IgnoreRule("CVE-2024-4741", "later", expires=date(2025, 6, 30), where="ign.yaml:2"),
        IgnoreRule("CVE-2024-4741", "later", package="libssl3", expires=date(2025, 5, 1), where="ign.yaml:5"),
    )
    out = apply_policy([SSL_HIGH], Policy(ignore_rules=rules, today=date(2025, 7, 1)))
    assert out.warnings == (
        "ignore rule for CVE-2024-4741 (ign.yaml:2) expired on 2025-06-30; it no longer applies",
        "ignore rule for CVE-2024-4741 in libssl3 (ign.yaml:5) expired on 2025-05-01; it no longer applies",
    )


def test_no_severity_given_error_text() -> None:
    with pytest.raises(ValueError) as exc:
        parse_severity_list([" ", ","])
    assert str(exc.value) == (
        "no severity given (expected a comma-separated list of CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE, UNKNOWN)"
    )


# ---------------------------------------------------------------------------------------------- ignore files


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: CVE-1\nreason: x\n", ":1: expected a list of rules (- id: ..., reason: ...), found a mapping"),
        ("\n# rules\nCVE-1\n", ":3: expected a list of rules (- id: ..., reason: ...), found a scalar"),
        ("- id: CVE-1\n  reason: x\n- CVE-2\n", ":3: rule 2 must be a mapping with id and reason"),
        (
            "- id: CVE-1\n  reason: x\n- id: CVE-2\n  reason: y\n  expiry: 2025-01-01\n",
            ":5: unknown field 'expiry' in rule 2 (fields: id, package, reason, expires)",
        ),
        (
            "- id: CVE-1\n  ? [reason]\n  : x\n",
            ":2: unknown field None in rule 1 (fields: id, package, reason, expires)",
        ),
        ("- id: CVE-1\n  reason: x\n  reason: y\n", ":3: field 'reason' given twice"),
        ("- id: CVE-1\n  package: zlib\n", ":1: rule 1 has no 'reason' (required)"),
        ("- id: CVE-1\n  reason: x\n- reason: because\n", ":3: rule 2 has no 'id' (required)"),
        ("- id: CVE-1\n  reason: ''\n", ":2: field 'reason' is empty"),
        ("- id: CVE-1\n  reason: [a, b]\n", ":2: field 'reason' must be a string"),
        ("- id: true\n  reason: x\n", ":1: field 'id' must be a string"),
        (
            "- id: CVE-1\n  reason: x\n  expires: 2025-13-01\n",
            ":3: field 'expires' must be an ISO date (YYYY-MM-DD): month must be in 1..12",
        ),
        ("- id: CVE-1\n  reason: 2025-13-01\n", ":2: field 'reason': month must be in 1..12"),
        (
            "- id: CVE-1\n  reason: x\n  expires: next year\n",
            ":3: field 'expires' must be an ISO date (YYYY-MM-DD), got 'next year'",
        ),
        (
            "- id: CVE-1\n  reason: x\n  expires: 20250630\n",
            ":3: field 'expires' must be an ISO date (YYYY-MM-DD)",
        ),
        (
            "- id: CVE-1\n  reason: [unclosed\n",
            ":3: not valid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "- id: CVE-1\n  reason: \x07\n",
            ": not valid YAML: unacceptable character #x0007: special characters are not allowed",
        ),
        ("- " * 2000 + "x\n", ": not an ignore file: YAML nested too deeply"),
        ("[[]" + "[" * 64 + "\n", ": not an ignore file: [ { nested more than 64 deep"),
        ("[" * 65 + "]" * 65 + "\n", ": not an ignore file: [ { nested more than 64 deep"),
    ],
)
def test_bad_ignore_file_gets_one_exact_error(tmp_path: Path, text: str, message: str) -> None:
    """``ignore file FILE:LINE: REASON`` word for word (no line when the place is the whole file)."""
    path, error = ignore_error(tmp_path, text)
    assert error == f"ignore file {path}{message}"


def test_ignore_file_that_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    with pytest.raises(PolicyError) as exc:
        load_ignore_file(missing)
    assert (
        str(exc.value)
        == f"ignore file {missing}: cannot read it: [Errno 2] No such file or directory: '{missing}'"
    )


def test_ignore_file_nesting_bound_counts_depth_not_brackets(tmp_path: Path) -> None:
    """Brackets in a quoted reason count too (the count is naive), but only how deep they nest: 64 deep
    is allowed, twice in a row, and brackets that close more than they open add nothing."""
    reason = "[" * 64 + "]" * 64 + "{" * 64 + "}" * 64 + "]" * 65
    path = write(tmp_path, "ok.yaml", f"- id: CVE-1\n  reason: '{reason}'\n")
    assert load_ignore_file(path) == (IgnoreRule("CVE-1", reason, where=f"{path}:1"),)


def test_ignore_rule_expires_as_a_timestamp_is_its_day(tmp_path: Path) -> None:
    path = write(tmp_path, "ts.yaml", "- id: CVE-1\n  reason: x\n  expires: 2025-06-30T12:00:00Z\n")
    (rule,) = load_ignore_file(path)
    assert rule.expires == date(2025, 6, 30)
