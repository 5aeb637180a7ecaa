"""The gate as SARIF 2.1.0: the scan's SARIF (``reports/scan/sarif.py``) restricted to the **new**
findings, so that a code-scanning dashboard shows only what the change brought. The fingerprints are
the scan's, so an alert keeps its identity between ``scan`` and ``gate`` uploads."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from alpinist.reports.scan.sarif import sarif_log
from alpinist.scan.baseline import GateResult


def gate_sarif_log(result: GateResult) -> dict[str, Any]:
    log = sarif_log(dataclasses.replace(result.scan, findings=result.new))
    run = log["runs"][0]
    for item in run["results"]:
        item["baselineState"] = "new"  # SARIF's own word for a result absent from the baseline
    run["properties"] = {
        **run.get("properties", {}),
        "baselineReference": result.baseline.image.reference,
        "baselineFindings": len(result.baseline.entries),
        "goneFindings": len(result.gone),
        "unchangedFindings": result.unchanged,
    }
    return log


def render_gate_sarif(result: GateResult) -> str:
    return json.dumps(gate_sarif_log(result), indent=2, ensure_ascii=False)
