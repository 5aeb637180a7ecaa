"""The recommendation as ``alpinist-recommend/1`` JSON (schema ``alpinist/schemas/recommend.schema.json``).

A pure function of the ``Recommendation``: no timestamp, keys in a fixed order, so the same result gives
the same bytes. Candidates are in rank order; a candidate without a measurement has ``"measurement":
null``, and one that was not scanned has ``"scanned": false``, its reason, and ``null`` counts (never a 0 that is not a measurement)
(read ``status``, never the counts alone).
"""

from __future__ import annotations

import json
from typing import Any

from alpinist.advisories.model import SEVERITIES
from alpinist.recommend.model import (
    Candidate,
    CurrentBase,
    Evaluation,
    Measurement,
    NextStep,
    Recommendation,
    SkippedTag,
)
from alpinist.reports.json_schema import load_schema_named

SCHEMA_ID = "alpinist-recommend/1"


def load_schema() -> dict[str, Any]:
    """The JSON Schema of this format (``alpinist/schemas/recommend.schema.json``)."""
    return load_schema_named("recommend")


def render_recommend_json(rec: Recommendation) -> str:
    return json.dumps(recommend_to_dict(rec), indent=2, ensure_ascii=False)


def recommend_to_dict(rec: Recommendation) -> dict[str, Any]:
    return {
        "schema": SCHEMA_ID,
        "current": _current(rec.current),
        "candidates": [_evaluation(e) for e in rec.evaluations],
        "skipped": [_skipped(t) for t in rec.skipped],
        "listed": list(rec.listed),
        "next_step": None if rec.next_step is None else _next_step(rec.next_step),
        "warnings": list(rec.warnings),
        "ranking": list(rec.ranking),
    }


def _measurement(m: Measurement | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {
        "reference": m.reference,
        "digest": m.digest,
        "os": m.os,
        "libc": m.libc,
        "python": m.python,
        "scanned": m.scanned,
        "not_scanned": m.not_scanned,
        # not scanned: no count at all (null), never a 0 that reads as "no vulnerabilities"
        "by_severity": {s: m.count(s) for s in SEVERITIES} if m.scanned else None,
        "critical_high": m.critical_high if m.scanned else None,
        "vulnerabilities": m.vulnerabilities if m.scanned else None,
        "fixable": m.fixable if m.scanned else None,
        "packages": m.packages,
        "compressed": m.compressed,
        "uncompressed": m.uncompressed,
        "user": m.user,
        "runs_as_root": m.runs_as_root,
        "shell": m.shell,
        "package_managers": list(m.package_managers),
        "diff_ids": list(m.diff_ids),
    }


def _current(c: CurrentBase) -> dict[str, Any]:
    return {
        "subject": c.subject,
        "kind": c.kind,
        "reference": c.reference,
        "detected_by": c.detected_by,
        "distro": c.distro,
        "release": c.release,
        "libc": c.libc,
        "python": c.python,
        "python_from": c.python_from,
        "package_manager": c.package_manager,
        "measurement": _measurement(c.measurement),
        "error": c.error,
    }


def _candidate(c: Candidate) -> dict[str, Any]:
    return {
        "reference": c.reference,
        "family": c.family,
        "origin": c.origin,
        "title": c.title,
        "distro": c.distro,
        "release": c.release,
        "libc": c.libc,
        "tag_python": c.tag_python,
    }


def _evaluation(e: Evaluation) -> dict[str, Any]:
    return {
        "rank": e.rank,
        "candidate": _candidate(e.candidate),
        "measurement": _measurement(e.measurement),
        "status": e.status,
        "compatible": e.compatible,
        "error": e.error,
        "notes": [{"level": n.level, "topic": n.topic, "message": n.message} for n in e.notes],
    }


def _skipped(t: SkippedTag) -> dict[str, str]:
    return {"repository": t.repository, "tag": t.tag, "reason": t.reason}


def _next_step(step: NextStep) -> dict[str, Any]:
    return {"kind": step.kind, "text": step.text, "line": step.line}
