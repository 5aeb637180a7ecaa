"""alpinist's own scan JSON (schema ``alpinist-scan/1``).

Documented field by field in ``docs/scan-json.md`` and described by the JSON Schema
``alpinist/schemas/scan.schema.json`` (draft 2020-12). Stable: within ``alpinist-scan/1`` fields are
only ever added. The output is a pure function of the :class:`~alpinist.scan.scanning.ScanResult`: the
same image scanned against the same database gives the same bytes (no scan timestamp is written).
"""

from __future__ import annotations

import json
from typing import Any

from alpinist import __version__
from alpinist.inventory.naming import image_purl
from alpinist.inventory.serialize import os_identity_to_dict
from alpinist.models import ImageFacts, Package
from alpinist.reports.json_schema import load_schema_named
from alpinist.scan.model import Finding, ScanResult, Summary, Suppression

SCHEMA_ID = "alpinist-scan/1"


def load_schema() -> dict[str, Any]:
    """The JSON Schema of this format (``alpinist/schemas/scan.schema.json``)."""
    return load_schema_named("scan")


def render_scan_json(result: ScanResult) -> str:
    """The scan as ``alpinist-scan/1`` JSON text (indented, no trailing newline)."""
    return json.dumps(scan_to_dict(result), indent=2, ensure_ascii=False)


def scan_to_dict(result: ScanResult) -> dict[str, Any]:
    inv = result.inventory
    policy = result.policy
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "alpinist", "version": __version__},
        "image": _image(inv.image),
        "os": os_identity_to_dict(inv.os) if inv.os is not None else None,
        "database": {
            "sources": [
                {
                    "name": s.name,
                    "updated_at": s.updated_at.isoformat(timespec="seconds"),
                    "records": s.records,
                }
                for s in result.db_status
            ]
        },
        "policy": {
            "only_fixed": policy.only_fixed,
            "severities": [s for s in _severity_order() if s in policy.severities]
            if policy.severities is not None
            else None,
            "fail_on": policy.fail_on,
            "failed": result.failed,
            "ignore_rules": len(policy.ignore_rules),
            "vex_statements": len(policy.vex),
        },
        "summary": _summary(result.summary),
        "findings": [finding_to_dict(f) for f in result.findings],
        "suppressed": [_suppressed(s) for s in result.suppressed],
        "warnings": list(result.warnings),
    }


def _severity_order() -> tuple[str, ...]:
    from alpinist.advisories.model import SEVERITIES

    return SEVERITIES


def _image(img: ImageFacts) -> dict[str, Any]:
    return {
        "reference": img.reference,
        "transport": img.transport,
        "name": img.name,
        "manifest_digest": img.manifest_digest,
        "config_digest": img.config_digest,
        "platform": str(img.platform) if img.platform is not None else None,
        "purl": image_purl(img),
    }


def _summary(s: Summary) -> dict[str, Any]:
    return {
        "vulnerabilities": s.vulnerabilities,
        "packages": s.packages,
        "by_severity": dict(s.by_severity),
        "unique_ids": s.unique_ids,
        "suppressed": s.suppressed,
        "filtered": s.filtered,
        "packages_scanned": s.packages_scanned,
    }


def package_to_dict(p: Package) -> dict[str, Any]:
    # Not the SBOM's package object (``inventory.serialize``): this one names the source/origin package
    # even when it is the package itself, gives one location, and orders its fields differently.
    d: dict[str, Any] = {"name": p.name, "version": p.version, "type": p.type, "purl": p.purl}
    # Where the distro has one: Debian's source package (and its version), Alpine's origin package.
    if p.type == "deb":
        d["source"] = p.origin or p.name
        d["source_version"] = p.source_version or p.version
    elif p.type == "apk":
        d["origin"] = p.origin or p.name
    d["arch"] = p.arch
    d["layer"] = p.layer
    d["layer_index"] = p.layer_index
    d["location"] = p.locations[0] if p.locations else None
    if p.type == "python":
        d["vendored"] = p.vendored
    return d


def finding_to_dict(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "aliases": list(f.aliases),
        "package": package_to_dict(f.package),
        "installed_version": f.installed_version,
        "fixed_version": f.fixed_version,
        "status": f.status,
        "severity": f.severity,
        "severity_source": f.severity_source,
        "cvss": (
            {"version": f.cvss_version, "score": f.cvss_score, "vector": f.cvss_vector}
            if f.cvss_score is not None and f.cvss_version is not None and f.cvss_vector is not None
            else None
        ),
        "namespace": f.namespace,
        "feed": f.source,
        "advisory_package": f.advisory_package,
        "matched_version": f.matched_version,
        "description": f.description,
        "notes": list(f.notes),
        "match_rule": f.rule,
    }


def _suppressed(s: Suppression) -> dict[str, Any]:
    return {
        "finding": finding_to_dict(s.finding),
        "by": s.by,
        "reason": s.reason,
        "rule": s.rule,
        "vex_status": s.vex_status,
        "justification": s.justification,
    }
