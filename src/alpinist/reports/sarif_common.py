"""What the two SARIF 2.1.0 logs (``reports/scan/sarif.py``, ``reports/lint/sarif.py``) share: the log and
run skeleton with alpinist as the tool, and artifact URIs.

Imports nothing of the scanning stack, so ``lint`` can use it without loading that.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from alpinist import __version__

SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def artifact_uri(name: str) -> str:
    """``name`` percent-encoded as a URI reference (``/``, ``:`` and ``@`` kept)."""
    return quote(name, safe="/:@+-._~")


def single_run_log(
    *,
    rules: list[dict[str, Any]],
    artifact: dict[str, Any],
    results: list[dict[str, Any]],
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A SARIF log of one run of alpinist over one artifact (``properties``: the run's, when given)."""
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "alpinist",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "artifacts": [artifact],
        "results": results,
        "columnKind": "utf16CodeUnits",
    }
    if properties is not None:
        run["properties"] = properties
    return {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}
