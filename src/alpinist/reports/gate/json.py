"""The gate as ``alpinist-gate/1`` JSON (schema ``alpinist/schemas/gate.schema.json``, fields in
``docs/gate.md``). A pure function of the ``GateResult``: no timestamp, so the same scan and baseline
give the same bytes."""

from __future__ import annotations

import json
from typing import Any

from alpinist import __version__
from alpinist.reports.json_schema import load_schema_named
from alpinist.scan.baseline import (
    Baseline,
    BaselineSource,
    GateResult,
    count_by_severity,
    entry_of,
    entry_to_dict,
    repository_name,
)
from alpinist.scan.model import Finding

SCHEMA_ID = "alpinist-gate/1"


def load_schema() -> dict[str, Any]:
    """The JSON Schema of this format (``alpinist/schemas/gate.schema.json``)."""
    return load_schema_named("gate")


def render_gate_json(result: GateResult) -> str:
    return json.dumps(gate_to_dict(result), indent=2, ensure_ascii=False)


def finding_dict(f: Finding) -> dict[str, Any]:
    """A finding as a baseline entry plus what a reader needs to act on it."""
    doc = entry_to_dict(entry_of(f))
    doc["package"] = {**doc["package"], "version": f.package.version, "purl": f.package.purl}
    doc.update(
        fixed_version=f.fixed_version,
        severity_source=f.severity_source,
        purl=f.package.purl,
        location=f.package.locations[0] if f.package.locations else None,
        url=f.url_of(f.id),
    )
    return doc


def _sources(baseline: Baseline) -> list[dict[str, str]]:
    return [_source(s) for s in baseline.sources]


def _source(s: BaselineSource) -> dict[str, str]:
    return {"name": s.name, "updated_at": s.updated_at}


def gate_to_dict(result: GateResult) -> dict[str, Any]:
    facts = result.scan.inventory.image
    base = result.baseline
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "alpinist", "version": __version__},
        "image": {
            "reference": facts.reference,
            "name": facts.name,
            "repository": repository_name(facts),
            "manifest_digest": facts.manifest_digest,
        },
        "baseline": {
            "reference": base.image.reference,
            "repository": base.image.repository,
            "manifest_digest": base.image.manifest_digest,
            "alpinist_version": base.alpinist_version,
            "findings": len(base.entries),
            "forced": result.forced,
            "sources": _sources(base),
        },
        "database": {
            "sources": [
                {"name": s.name, "updated_at": s.updated_at.isoformat(timespec="seconds")}
                for s in sorted(result.scan.db_status, key=lambda s: s.name)
            ]
        },
        "fail_on": result.fail_on,
        "failed": result.failed,
        "summary": {
            "new": len(result.new),
            "new_failing": len(result.failing),
            "gone": len(result.gone),
            "changed_severity": len(result.changed),
            "version_moved": len(result.moved),
            "unchanged": result.unchanged,
            "new_by_severity": dict(count_by_severity(f.severity for f in result.new)),
        },
        "new": [finding_dict(f) for f in result.new],
        "gone": [entry_to_dict(e) for e in result.gone],
        "changed_severity": [
            {**finding_dict(c.finding), "previous_severity": c.entry.severity} for c in result.changed
        ],
        "version_moved": [
            {**finding_dict(m.finding), "previous_installed_version": m.entry.installed_version}
            for m in result.moved
        ],
        "warnings": list(result.scan.warnings),
    }
