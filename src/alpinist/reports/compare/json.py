"""alpinist's compare JSON (schema ``alpinist-compare/1``), documented field by field in ``docs/compare.md``.

Stable: within ``alpinist-compare/1`` fields are only ever added. A pure function of the
:class:`~alpinist.compare.Comparison`: the same images against the same database give the same bytes
(no timestamp is written). Per-image numbers are the ones ``alpinist scan --format json`` gives in its
``summary`` for that image alone.
"""

from __future__ import annotations

import json
from typing import Any

from alpinist import __version__
from alpinist.compare.model import Comparison, CveDiff, ImageColumn, Metric, PackageIds
from alpinist.inventory.serialize import os_identity_to_dict
from alpinist.models import LayerInfo

SCHEMA_ID = "alpinist-compare/1"


def render_compare_json(comparison: Comparison) -> str:
    """The comparison as ``alpinist-compare/1`` JSON text (indented, no trailing newline)."""
    return json.dumps(comparison_to_dict(comparison), indent=2, ensure_ascii=False)


def comparison_to_dict(comparison: Comparison) -> dict[str, Any]:
    labels = comparison.labels
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "alpinist", "version": __version__},
        "images": [_image(c) for c in comparison.columns],
        "metrics": [_metric(m, labels) for m in comparison.metrics],
        "tallies": [
            {
                "image": labels[t.image],
                "against": labels[t.against],
                "better": t.better,
                "worse": t.worse,
                "same": t.same,
                "equivalent": t.equivalent,
            }
            for t in comparison.tallies()
        ],
        "diff": [_diff(d, labels) for d in comparison.diffs],
        "errors": list(comparison.errors),
        "warnings": list(comparison.warnings),
    }


def _layer(layer: LayerInfo) -> dict[str, Any]:
    return {
        "index": layer.index,
        "digest": layer.digest,
        "diff_id": layer.diff_id,
        "compressed_size": layer.compressed_size,
        "uncompressed_size": layer.uncompressed_size,
        "created_by": layer.created_by,
    }


def _image(col: ImageColumn) -> dict[str, Any]:
    out: dict[str, Any] = {"label": col.label, "reference": col.reference, "error": col.error}
    if col.result is None or col.facts is None:
        return out
    facts, summary, os = col.facts, col.result.summary, col.os
    hc = col.healthcheck
    out.update(
        {
            "name": facts.name,
            "manifest_digest": facts.manifest_digest,
            "config_digest": facts.config_digest,
            "platform": str(facts.platform) if facts.platform else None,
            "os": None if os is None else os_identity_to_dict(os),
            "base": None
            if col.base is None
            else {
                "name": col.base.name,
                "digest": col.base.digest,
                "source": col.base.source,
                "shared_layers": col.base.layers,
            },
            "vulnerabilities": summary.vulnerabilities,
            "unique_ids": summary.unique_ids,
            "by_severity": dict(summary.by_severity),
            "vulnerable_packages": summary.packages,
            "packages": summary.packages_scanned,
            "suppressed": summary.suppressed,
            "filtered": summary.filtered,
            "size": {"compressed": facts.compressed_size, "uncompressed": facts.uncompressed_size},
            "layers": [_layer(layer) for layer in facts.layers],
            "user": {"name": facts.user, "root": facts.runs_as_root},
            "healthcheck": {
                "present": hc.present,
                "command": hc.command or None,
                "form": hc.form,
                "programs": list(hc.programs),
                "tool": hc.tool,
                "extra_tool": hc.extra_tool,
                "needs_shell": hc.needs_shell,
            },
            "shell": facts.shell,
            "package_managers": list(facts.package_managers),
            "warnings": list(col.result.warnings),
        }
    )
    return out


def _metric(m: Metric, labels: tuple[str, ...]) -> dict[str, Any]:
    return {
        "key": m.key,
        "label": m.label,
        "kind": m.kind,
        "values": list(m.values),
        "texts": list(m.texts),
        "verdict": m.judged,
        "best": [labels[i] for i in m.best],
        "tie": m.tie,
        "equivalent": m.equivalent,
        "rule": m.rule or None,
    }


def _group(g: PackageIds) -> dict[str, Any]:
    return {
        "package": g.package,
        "type": g.type,
        "installed": list(g.installed),
        "ids": [{"id": d.id, "severity": d.severity} for d in g.ids],
    }


def _diff(d: CveDiff, labels: tuple[str, ...]) -> dict[str, Any]:
    return {
        "image": labels[d.image],
        "against": labels[d.against],
        "removed_ids": d.removed_ids,
        "added_ids": d.added_ids,
        "unchanged_ids": d.unchanged,
        "removed": [_group(g) for g in d.removed],
        "added": [_group(g) for g in d.added],
    }
