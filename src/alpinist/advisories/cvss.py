"""CVSS qualitative severity bands: the one place that turns a base score into a rating.

Feeds use it when a score comes without the scorer's own rating (OSV v2 vectors, NVD metrics without
``baseSeverity``); ``scan.severity`` uses it when a stored score has none.
"""

from __future__ import annotations

from alpinist.advisories.model import Severity


def cvss_band(version: str, score: float) -> Severity:
    """The rating of a base ``score`` of CVSS ``version`` (``"2.0"``, ``"3.1"``, ``"4.0"``...).

    v2 (NVD's bands, v2 has none of its own): 0-3.9 LOW, 4-6.9 MEDIUM, 7-10 HIGH.
    v3 and v4 (the specifications' table): 0 NONE (NEGLIGIBLE), 0.1-3.9 LOW, 4-6.9 MEDIUM, 7-8.9 HIGH,
    9-10 CRITICAL.
    """
    if version.startswith("2"):
        return "LOW" if score < 4.0 else "MEDIUM" if score < 7.0 else "HIGH"
    if score == 0:
        return "NEGLIGIBLE"
    return "LOW" if score < 4.0 else "MEDIUM" if score < 7.0 else "HIGH" if score < 9.0 else "CRITICAL"
