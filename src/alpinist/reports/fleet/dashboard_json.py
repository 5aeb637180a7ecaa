"""``alpinist fleet report --format json``: schema ``alpinist-fleet/1`` (``docs/fleet-report-fields.md``).

The dashboard as data: the store, its last run and the one before, a summary, and per image (worst first,
as the view orders them) its latest result as counts, the findings new since its previous result, its trend
and the base advice. Every finding of every image is not repeated here: the store has them. A pure function
of the :class:`~alpinist.fleet.model.FleetView` (no current time is written).
"""

from __future__ import annotations

import json
from typing import Any

from alpinist.advisories.model import Severity
from alpinist.fleet.model import FleetView, ImageReport, RunInfo, TrendPoint
from alpinist.reports.fleet.common import (
    high_or_critical,
    latest_statuses,
    status_counts,
    total,
    with_advice,
    with_new,
    worst_first,
)
from alpinist.reports.history.json import iso
from alpinist.reports.rescan.json import finding_ref_dict

SCHEMA_ID = "alpinist-fleet/1"


def severities_dict(by_severity: tuple[tuple[Severity, int], ...]) -> dict[str, int]:
    return dict(by_severity)


def run_dict(run: RunInfo) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "database_version": run.db_version,
        "engine": run.engine,
        "images": run.images,
        "by_status": dict(status_counts(run.counts)),
    }


def _point(p: TrendPoint) -> dict[str, Any]:
    return {
        "run_id": p.run_id,
        "recorded_at": iso(p.recorded_at),
        "findings": total(p.by_severity),
        "high_or_critical": high_or_critical(p.by_severity),
        "by_severity": severities_dict(p.by_severity),
    }


def _image(i: ImageReport) -> dict[str, Any]:
    latest = i.latest
    return {
        "reference": i.reference,
        "status": latest.status,
        "error": latest.error,
        "digest": latest.digest,
        "os": latest.os,
        "packages": latest.packages,
        "run_id": latest.run_id,
        "recorded_at": iso(latest.recorded_at),
        "database_version": latest.db_version,
        "findings": total(latest.by_severity),
        "high_or_critical": high_or_critical(latest.by_severity),
        "by_severity": severities_dict(latest.by_severity),
        "new": [finding_ref_dict(f) for f in worst_first(i.new)],
        "trend": [_point(p) for p in i.trend],
        "base_advice": i.base_advice,
    }


def fleet_dict(view: FleetView) -> dict[str, Any]:
    return {
        "schema": SCHEMA_ID,
        "store": view.store,
        "run": None if view.run is None else run_dict(view.run),
        "previous": None if view.previous is None else run_dict(view.previous),
        "summary": {
            "images": len(view.images),
            "by_status": dict(latest_statuses(view.images)),
            "with_new_findings": len(with_new(view.images)),
            "with_new_high_or_critical": len(view.new_high_or_critical),
            "with_base_advice": len(with_advice(view.images)),
        },
        "images": [_image(i) for i in view.images],
    }


def render_fleet_json(view: FleetView) -> str:
    """The view as ``alpinist-fleet/1`` JSON text (indented, no trailing newline)."""
    return json.dumps(fleet_dict(view), indent=2, ensure_ascii=False)
