"""The migration report as text (for people) and JSON (``docs/migrate.md``): pure functions of a
:class:`~.report.MigrationReport`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from alpinist.dockerfile.migrate.report import MigrationReport, Note
from alpinist.dockerfile.wheels import WheelReport, WheelStatus

__all__ = ["render_json", "render_text", "report_dict"]

_MARKS = {
    WheelStatus.WHEEL: "wheel ",
    WheelStatus.SOURCE: "BUILD ",
    WheelStatus.MISSING: "MISSING",
    WheelStatus.SKIPPED: "skip  ",
    WheelStatus.ERROR: "ERROR ",
}


def report_dict(report: MigrationReport) -> dict[str, Any]:
    """The report as the JSON document's object."""
    r = report
    return {
        "source": r.source,
        "target": r.target,
        "changed": r.changed,
        "unchanged_reason": r.unchanged_reason,
        "input_base": r.input_base,
        "builder_base": r.builder_base,
        "runtime_base": r.runtime_base,
        "python": r.python,
        "python_origin": r.python_origin,
        "changes": [n.to_dict() for n in r.changes],
        "risks": [n.to_dict() for n in r.risks],
        "unmapped_packages": [{"line": n.line, "package": n.message} for n in r.unmapped],
        "packages": {"builder": list(r.builder_packages), "runtime": list(r.runtime_packages)},
        "wheels": r.wheels.to_dict() if r.wheels else None,
        "notes": [n.to_dict() for n in r.notes],
    }


def render_json(report: MigrationReport) -> str:
    return json.dumps(report_dict(report), indent=2) + "\n"


def render_text(report: MigrationReport) -> str:
    r = report
    out = [f"alpinist migrate: {r.source} -> {r.target}"]
    if not r.changed:
        out.append(f"  unchanged: {r.unchanged_reason}")
        return "\n".join(out) + "\n"
    if r.builder_base and r.builder_base != r.runtime_base:
        out.append(f"  base: {r.input_base} -> builder {r.builder_base}, runtime {r.runtime_base}")
    elif r.builder_base:
        out.append(f"  base: {r.input_base} -> builder and runtime {r.runtime_base}")
    else:
        out.append(f"  base: {r.input_base} -> {r.runtime_base}")
    if r.python:
        out.append(f"  python: {r.python} ({r.python_origin})")
    if r.builder_packages:
        out.append(f"  builder packages: {' '.join(r.builder_packages)}")
    out.append(f"  runtime packages: {' '.join(r.runtime_packages) or '(none)'}")
    out += _section("Changed:", r.changes)
    out += _section("May break:", r.risks)
    out += _section("Unmapped apt packages (not installed; find their Alpine names by hand):", r.unmapped)
    if r.wheels is not None:
        out += _wheel_lines(r.wheels)
    out += _section("Notes:", r.notes)
    return "\n".join(out) + "\n"


def _section(title: str, notes: Sequence[Note]) -> list[str]:
    return [title, *(f"  - {n}" for n in notes)] if notes else []


def _wheel_lines(w: WheelReport) -> list[str]:
    out = [f"Wheels for {w.target.describe()} from {w.index_url}:"]
    if w.skipped_reason:
        out.append(f"  - not checked: {w.skipped_reason}")
    else:
        out.extend(f"  {_MARKS[f.status]} {f.message}" for f in w.findings)
    out.extend(f"  - {p}" for p in w.problems)
    if len(out) == 1:  # no heading over nothing
        read = f" in {', '.join(w.files)}" if w.files else ""
        out.append(f"  - nothing to check: no requirements{read}")
    return out
