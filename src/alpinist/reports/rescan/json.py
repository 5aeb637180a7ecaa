"""``alpinist rescan --format json``: schema ``alpinist-rescan-report/1`` (docs/sbom-import.md, "rescan").

One object per SBOM file: ``file``, ``image``, ``format``, ``findings`` (count now), ``first`` (no earlier
rescan: every finding is gained), ``gained`` and ``lost`` (findings as ``{id, type, package, version,
severity, fixed_version, status}``), ``error`` (null, or why the file could not be read), ``warnings``.
"""

from __future__ import annotations

import json
from typing import Any

from alpinist.scan.model import FindingRef, ImageRescan, RescanResult

SCHEMA_ID = "alpinist-rescan-report/1"


def finding_ref_dict(r: FindingRef) -> dict[str, Any]:
    """A finding as the JSON formats write it (``rescan``, ``fleet``): what identifies it and what a reader wants."""
    return {
        "id": r.id,
        "type": r.type,
        "package": r.package,
        "version": r.version,
        "severity": r.severity,
        "fixed_version": r.fixed_version,
        "status": r.status,
    }


def _image(i: ImageRescan) -> dict[str, Any]:
    return {
        "file": i.file,
        "image": i.title,
        "format": i.sbom_format or None,
        "findings": i.findings,
        "first": i.first,
        "gained": [finding_ref_dict(r) for r in i.gained],
        "lost": [finding_ref_dict(r) for r in i.lost],
        "error": i.error,
        "warnings": list(i.warnings),
    }


def render_rescan_json(result: RescanResult) -> str:
    return json.dumps(
        {
            "schema": SCHEMA_ID,
            "directory": result.directory,
            "state_file": result.state_file,
            "fail_on": result.fail_on,
            "failed": result.failed,
            "summary": {
                "images": len(result.images),
                "changed": len(result.changed),
                "errors": result.errors,
                "gained": sum(len(i.gained) for i in result.images),
                "lost": sum(len(i.lost) for i in result.images),
            },
            "images": [_image(i) for i in result.images],
            "warnings": list(result.warnings),
        },
        indent=2,
    )
