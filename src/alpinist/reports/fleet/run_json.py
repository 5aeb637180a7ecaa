"""``alpinist fleet scan|rescan --format json``: schema ``alpinist-fleet-run/1`` (``docs/fleet-report-fields.md``).

What one invocation did: the run as the store has it at the end, whether it resumed a killed run (and how
many images that run had already recorded), this invocation's outcomes by status, its errors and the images
with new high or critical findings (both by reference: an engine returns outcomes in no fixed order; the
findings worst first), and its time in seconds.
"""

from __future__ import annotations

import json
from typing import Any

from alpinist.fleet.model import FleetRun
from alpinist.reports.fleet.common import status_counts, worst_first
from alpinist.reports.fleet.dashboard_json import run_dict
from alpinist.reports.rescan.json import finding_ref_dict

SCHEMA_ID = "alpinist-fleet-run/1"


def fleet_run_dict(run: FleetRun) -> dict[str, Any]:
    return {
        "schema": SCHEMA_ID,
        "store": run.store,
        "run": run_dict(run.run),
        "resumed": run.resumed,
        "already": run.already,
        "by_status": dict(status_counts(run.counts)),
        "errors": [{"reference": ref, "error": error} for ref, error in sorted(run.errors)],
        "new_high_or_critical": [
            {
                "reference": n.reference,
                "digest": n.digest,
                "findings": [finding_ref_dict(f) for f in worst_first(n.findings)],
            }
            for n in sorted(run.new, key=lambda n: (n.reference, n.digest or ""))
        ],
        "seconds": round(run.seconds, 3),
    }


def render_fleet_run_json(run: FleetRun) -> str:
    """The invocation as ``alpinist-fleet-run/1`` JSON text (indented, no trailing newline)."""
    return json.dumps(fleet_run_dict(run), indent=2, ensure_ascii=False)
