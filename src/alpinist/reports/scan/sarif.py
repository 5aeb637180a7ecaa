"""SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning and others).

Written as plain JSON rather than through an object model library: the document is small and flat,
and the tests validate it against the official OASIS schema (``schemas/sarif-2.1.0.schema.json``).

Mapping:

- one **rule** (``tool.driver.rules``) per vulnerability id, in the order of first appearance (worst
  first): ``shortDescription`` the id and the first package it was found in, ``fullDescription`` the
  advisory's summary, ``help`` (text and markdown) with a table of every affected package, ``helpUri``
  the advisory page (NVD, GitHub, OSV), ``defaultConfiguration.level`` from the worst severity among
  its results, and ``properties``: ``security-severity`` and ``tags`` (``security``,
  ``vulnerability``, the severity) as GitHub expects.
- one **result** per finding: ``ruleId``/``ruleIndex``, ``level`` (CRITICAL/HIGH ``error``, MEDIUM
  ``warning``, the others ``note``), a message naming the package, versions and status, and the
  location: there is no Dockerfile, so the artifact is the **image** (``artifactLocation.uri`` is the
  image's name or reference, percent-encoded as a URI reference), with the package as a logical
  location (``fullyQualifiedName`` = the package's evidence path inside the image).
- ``partialFingerprints["alpinistFinding/v1"]``: sha256 of (id, package type, name, arch, evidence
  path). Neither the installed version nor the severity is part of it, so the same alert keeps its
  identity across runs and upgrades that do not fix it.
- ``security-severity``: the CVSS base score behind the severity when it lies in that severity's
  band, else the band's representative score (CRITICAL 9.5, HIGH 8.0, MEDIUM 5.5, LOW 2.0,
  NEGLIGIBLE 0.0; omitted for UNKNOWN, which GitHub then ranks by ``level``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from alpinist.advisories.model import Severity, rank
from alpinist.inventory.naming import image_purl, image_title
from alpinist.reports.sarif_common import artifact_uri, single_run_log
from alpinist.scan.model import Finding, ScanResult

FINGERPRINT_KEY = "alpinistFinding/v1"

_LEVEL: dict[Severity, str] = {
    "CRITICAL": "error",
    "HIGH": "error",
    "MEDIUM": "warning",
    "LOW": "note",
    "NEGLIGIBLE": "note",
    "UNKNOWN": "note",
}
# score bands as GitHub reads security-severity: critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9
_BANDS: dict[Severity, tuple[float, float, float]] = {
    "CRITICAL": (9.0, 10.0, 9.5),
    "HIGH": (7.0, 8.9, 8.0),
    "MEDIUM": (4.0, 6.9, 5.5),
    "LOW": (0.1, 3.9, 2.0),
    "NEGLIGIBLE": (0.0, 0.0, 0.0),
}


def level(severity: Severity) -> str:
    return _LEVEL[severity]


def security_severity(severity: Severity, cvss_score: float | None) -> str | None:
    """The ``security-severity`` property: a score string, or None for UNKNOWN."""
    band = _BANDS.get(severity)
    if band is None:
        return None
    low, high, representative = band
    if cvss_score is not None and low <= cvss_score <= high:
        return f"{cvss_score:.1f}"
    return f"{representative:.1f}"


def evidence_path(f: Finding) -> str:
    """Where the package was found inside the image (its package database entry or dist-info)."""
    return f.package.locations[0] if f.package.locations else f.package.name


def fingerprint(f: Finding) -> str:
    key = "\0".join((f.id, f.package.type, f.package.name, f.package.arch or "", evidence_path(f)))
    return hashlib.sha256(key.encode()).hexdigest()


def _artifact_uri(result: ScanResult) -> str:
    return artifact_uri(image_title(result.inventory.image))


def render_sarif(result: ScanResult) -> str:
    """The scan as a SARIF 2.1.0 log (indented JSON, no trailing newline)."""
    return json.dumps(sarif_log(result), indent=2, ensure_ascii=False)


def sarif_log(result: ScanResult) -> dict[str, Any]:
    rules: dict[str, list[Finding]] = {}
    for f in result.findings:
        rules.setdefault(f.id, []).append(f)
    rule_ids = list(rules)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    uri = _artifact_uri(result)
    image = result.inventory.image
    run_properties: dict[str, Any] = {
        "imageReference": image.reference,
        "imageName": image.name,
        "manifestDigest": image.manifest_digest,
        "imagePurl": image_purl(image),
    }
    return single_run_log(
        rules=[_rule(rule_id, rules[rule_id]) for rule_id in rule_ids],
        artifact={
            "location": {"uri": uri},
            "description": {"text": f"container image {image_title(image)}"},
            "roles": ["analysisTarget"],
        },
        results=[_result(f, index[f.id], uri) for f in result.findings],
        properties={k: v for k, v in run_properties.items() if v is not None},
    )


def _rule(rule_id: str, findings: list[Finding]) -> dict[str, Any]:
    worst = max(findings, key=lambda f: (rank(f.severity), f.cvss_score or 0.0))
    first = findings[0]
    description = next((f.description for f in findings if f.description), None)
    short = f"{rule_id} in {first.package.name}"
    if len({f.package.name for f in findings}) > 1:
        short += f" and {len({f.package.name for f in findings}) - 1} more"
    text_lines = [f"Vulnerability {rule_id} ({worst.severity}, severity from {worst.severity_source})."]
    if first.aliases:
        text_lines.append(f"Aliases: {', '.join(first.aliases)}.")
    if description:
        text_lines.append(description)
    md = [f"**{rule_id}** ({worst.severity}, severity from {worst.severity_source})", ""]
    if description:
        md += [_md_escape(description), ""]
    md += ["| Package | Installed | Fixed | Status |", "| --- | --- | --- | --- |"]
    for f in findings:
        text_lines.append(
            f"{f.package.name} {f.installed_version}: {f.status}"
            + (f", fixed in {f.fixed_version}" if f.fixed_version else ", no fix available")
        )
        md.append(
            f"| {_md_escape(f.package.name)} | {_md_escape(f.installed_version)} | "
            f"{_md_escape(f.fixed_version or '-')} | {f.status} |"
        )
    url = first.url_of(rule_id)
    if url:
        md += ["", f"[{rule_id}]({url})"]
    props: dict[str, Any] = {"tags": ["security", "vulnerability", worst.severity], "precision": "very-high"}
    score = security_severity(worst.severity, worst.cvss_score)
    if score is not None:
        props["security-severity"] = score
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": "OsPackageVulnerability" if first.package.type in ("apk", "deb") else "PackageVulnerability",
        "shortDescription": {"text": short},
        "fullDescription": {"text": description or short},
        "help": {"text": "\n".join(text_lines), "markdown": "\n".join(md)},
        "defaultConfiguration": {"level": level(worst.severity)},
        "properties": props,
    }
    if url:
        rule["helpUri"] = url
    return rule


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _result(f: Finding, rule_index: int, uri: str) -> dict[str, Any]:
    fix = f"fixed in {f.fixed_version}" if f.fixed_version else "no fixed version"
    message = (
        f"{f.package.type} package {f.package.name} {f.installed_version} is affected by {f.id} "
        f"({f.severity}; {f.status}, {fix})"
    )
    props: dict[str, Any] = {
        "packageName": f.package.name,
        "packageType": f.package.type,
        "installedVersion": f.installed_version,
        "fixedVersion": f.fixed_version,
        "status": f.status,
        "severity": f.severity,
        "severitySource": f.severity_source,
        "purl": f.package.purl,
        "layer": f.package.layer,
    }
    return {
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri, "index": 0},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [
                    {"name": f.package.name, "fullyQualifiedName": evidence_path(f), "kind": "package"}
                ],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f)},
        "properties": {k: v for k, v in props.items() if v is not None},
    }
