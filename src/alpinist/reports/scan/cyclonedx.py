"""CycloneDX 1.6 with ``vulnerabilities``: the SBOM of ``reports/cyclonedx.py`` plus the findings.

The components, their bom-refs and the dependency graph are exactly those of ``sbom --format
cyclonedx`` (the same builder), so a consumer can join the two documents. Each finding becomes one
``vulnerability`` (one per package and advisory; CycloneDX allows several entries with the same id):

- ``id``, ``source`` (the feed that matched it: Alpine secdb, Debian security tracker, OSV, NVD, with
  the advisory's page), ``references`` (its aliases), ``description``;
- ``ratings``: the severity alpinist assigned, with its source (the distro for a vendor rating, NVD or
  the OSV record for CVSS) and, when it came from CVSS, score, vector and method; a vendor rating is
  followed by the CVSS score known for the id, when there is one. NEGLIGIBLE is written ``info``;
- ``affects``: the package component's bom-ref, with the installed version ``affected`` (``unaffected``
  when a VEX statement suppressed it);
- ``recommendation``: the upgrade that fixes it, when there is one;
- ``properties`` (``alpinist:`` namespace): status (``fixed``, ``open``, ``no-dsa``...), fixed version,
  severity source, namespace, advisory package, layer.

Suppressed findings are written too, with an ``analysis``: a VEX ``not_affected`` statement becomes
state ``not_affected`` with its justification mapped to CycloneDX's (``vulnerable_code_not_in_execute_path``
-> ``code_not_reachable``...), a VEX ``fixed`` statement state ``resolved``; an ignore-file rule has no
state (it accepts a risk, it does not deny it) and its reason in ``detail``. All of them carry the
property ``alpinist:suppressed`` = ``true``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from cyclonedx.model import Property, XsUri
from cyclonedx.model.impact_analysis import (
    ImpactAnalysisAffectedStatus,
    ImpactAnalysisJustification,
    ImpactAnalysisState,
)
from cyclonedx.model.vulnerability import (
    BomTarget,
    BomTargetVersionRange,
    Vulnerability,
    VulnerabilityAnalysis,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6

from alpinist.models import Package
from alpinist.reports.sbom.cyclonedx import build_bom, package_refs
from alpinist.scan.model import Finding, ScanResult, Suppression

NS = "alpinist"

_SEVERITY = {
    "CRITICAL": VulnerabilitySeverity.CRITICAL,
    "HIGH": VulnerabilitySeverity.HIGH,
    "MEDIUM": VulnerabilitySeverity.MEDIUM,
    "LOW": VulnerabilitySeverity.LOW,
    "NEGLIGIBLE": VulnerabilitySeverity.INFO,
    "UNKNOWN": VulnerabilitySeverity.UNKNOWN,
}
_METHOD = {
    "2.0": VulnerabilityScoreSource.CVSS_V2,
    "2": VulnerabilityScoreSource.CVSS_V2,
    "3.0": VulnerabilityScoreSource.CVSS_V3,
    "3.1": VulnerabilityScoreSource.CVSS_V3_1,
    "4.0": VulnerabilityScoreSource.CVSS_V4,
}
# OpenVEX justification -> CycloneDX impact analysis justification
_JUSTIFICATION = {
    "component_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
    "vulnerable_code_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
    "vulnerable_code_not_in_execute_path": ImpactAnalysisJustification.CODE_NOT_REACHABLE,
    "vulnerable_code_cannot_be_controlled_by_adversary": ImpactAnalysisJustification.PROTECTED_AT_RUNTIME,
    "inline_mitigations_already_exist": ImpactAnalysisJustification.PROTECTED_BY_MITIGATING_CONTROL,
}


def render_scan_cyclonedx(
    result: ScanResult, *, serial_number: uuid.UUID | None = None, timestamp: datetime | None = None
) -> str:
    """The scan as a CycloneDX 1.6 JSON document (indented, no trailing newline); ``serial_number`` and
    ``timestamp`` as in ``render_cyclonedx`` (pass them for byte-identical output)."""
    inv = result.inventory
    bom = build_bom(inv, serial_number=serial_number, timestamp=timestamp)
    refs = _refs(inv.packages)
    vulns: list[Vulnerability] = []
    for n, f in enumerate(result.findings):
        vulns.append(_vulnerability(f, _ref_of(f.package, refs, inv.packages), n, None))
    for n, s in enumerate(result.suppressed):
        vulns.append(_vulnerability(s.finding, _ref_of(s.finding.package, refs, inv.packages), n, s))
    bom.vulnerabilities.update(vulns)
    return JsonV1Dot6(bom).output_as_string(indent=2)


def _refs(packages: tuple[Package, ...]) -> dict[int, str]:
    return {id(p): ref for p, ref in zip(packages, package_refs(packages), strict=True)}


def _ref_of(pkg: Package, refs: dict[int, str], packages: tuple[Package, ...]) -> str:
    ref = refs.get(id(pkg))
    if ref is not None:
        return ref
    for candidate in packages:  # a finding built from an equal copy of the package
        if candidate == pkg:
            return refs[id(candidate)]
    raise ValueError(f"package {pkg.name} {pkg.version} of a finding is not in the inventory")


def _source_for_id(f: Finding, vuln_id: str) -> VulnerabilitySource:
    upper = vuln_id.upper()
    name = "NVD" if upper.startswith("CVE-") else "GitHub" if upper.startswith("GHSA-") else "OSV"
    url = f.url_of(vuln_id)
    return VulnerabilitySource(name=name, url=XsUri(url) if url else None)


def _feed_source(f: Finding) -> VulnerabilitySource:
    # the feed's profile named it at scan time: its title and its page of the id
    url = f.feed_url
    return VulnerabilitySource(name=f.feed_title or f.source, url=XsUri(url) if url else None)


def _ratings(f: Finding) -> list[VulnerabilityRating]:
    source = f.severity_source
    method = _METHOD.get(f.cvss_version or "") if f.cvss_version else None
    score = Decimal(str(f.cvss_score)) if f.cvss_score is not None else None
    from_cvss = "cvss" in source
    rating_source = VulnerabilitySource(
        name="NVD" if source.startswith("nvd") else "GitHub" if source.startswith("ghsa") else source
    )
    first = VulnerabilityRating(
        source=rating_source,
        severity=_SEVERITY[f.severity],
        score=score if from_cvss else None,
        method=method if from_cvss else None,
        vector=f.cvss_vector if from_cvss else None,
    )
    ratings = [first]
    if not from_cvss and score is not None and method is not None:
        ratings.append(
            VulnerabilityRating(
                source=VulnerabilitySource(name="CVSS"), score=score, method=method, vector=f.cvss_vector
            )
        )
    return ratings


def _props(pairs: Iterable[tuple[str, str | None]]) -> list[Property]:
    return [Property(name=f"{NS}:{k}", value=v) for k, v in pairs if v is not None]


def _vulnerability(f: Finding, ref: str, n: int, suppression: Suppression | None) -> Vulnerability:
    kind = "suppressed" if suppression is not None else "finding"
    props = _props(
        [
            ("status", f.status),
            ("fixed_version", f.fixed_version),
            ("severity_source", f.severity_source),
            ("namespace", f.namespace),
            ("advisory_package", f.advisory_package),
            ("layer", f.package.layer),
            *(("note", note) for note in f.notes),
            ("suppressed", "true" if suppression is not None else None),
            ("suppressed_by", suppression.rule if suppression is not None else None),
        ]
    )
    analysis = None
    if suppression is not None:
        if suppression.vex_status == "not_affected":
            analysis = VulnerabilityAnalysis(
                state=ImpactAnalysisState.NOT_AFFECTED,
                justification=_JUSTIFICATION.get(suppression.justification or ""),
                detail=suppression.reason,
            )
        elif suppression.vex_status == "fixed":
            analysis = VulnerabilityAnalysis(state=ImpactAnalysisState.RESOLVED, detail=suppression.reason)
        else:
            analysis = VulnerabilityAnalysis(detail=f"{suppression.reason} ({suppression.rule})")
    affected = (
        ImpactAnalysisAffectedStatus.UNAFFECTED
        if suppression is not None and suppression.vex_status is not None
        else ImpactAnalysisAffectedStatus.AFFECTED
    )
    return Vulnerability(
        bom_ref=f"{NS}:{kind}:{n}:{f.id}",
        id=f.id,
        source=_feed_source(f),
        references=[VulnerabilityReference(id=a, source=_source_for_id(f, a)) for a in f.aliases],
        ratings=_ratings(f),
        description=f.description,
        recommendation=(
            f"Upgrade {f.package.name} to {f.fixed_version} or later" if f.fixed_version else None
        ),
        affects=[
            BomTarget(
                ref=ref,
                versions=[BomTargetVersionRange(version=f.installed_version, status=affected)],
            )
        ],
        analysis=analysis,
        properties=props,
    )
