"""The store → :class:`FleetView`: what ``fleet report`` shows (``reports/fleet/`` renders it).

"New since the last run" is per image: the findings of its latest result that its result as of the run
before the newest did not have (all of them for an image that run did not know; nothing for an image the
newest run did not record, one whose result or previous result is an error, or on a store's first run). Images are
ordered worst first: critical, then high, medium, low, unknown, then the total; errors last.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from alpinist.advisories.model import SEVERITIES
from alpinist.fleet.model import FleetView, ImageReport, StoredScan
from alpinist.scan.model import FindingRef

if TYPE_CHECKING:
    from alpinist.fleet.store import FleetStore


def _worst_scan_first(scan: StoredScan) -> tuple[int, tuple[int, ...], int, str]:
    counts = dict(scan.by_severity)
    return (
        scan.status == "error",
        tuple(-counts.get(s, 0) for s in SEVERITIES),
        -len(scan.findings),
        scan.reference,
    )


def build_view(store: FleetStore, advice: Mapping[str, str] | None = None) -> FleetView:
    """The view of ``store``; ``advice``: per reference, why ``recommend`` would move its base
    (``fleet/advice.py``)."""
    runs = store.runs(limit=2)
    run = runs[0] if runs else None
    previous = runs[1] if len(runs) > 1 else None
    latest = store.latest()
    before = {s.reference: s for s in store.latest(previous.id)} if previous is not None else {}
    trends = store.trend()  # every reference with a result has its latest in `latest`
    images = []
    for scan in sorted(latest, key=_worst_scan_first):
        new: tuple[FindingRef, ...] = ()
        if previous is not None and run is not None and scan.run_id == run.id and scan.status != "error":
            old = before.get(scan.reference)  # none: the image is new to the fleet, all its findings are new
            if old is None or old.status != "error":
                known = {f.key for f in old.findings} if old is not None else set()
                new = tuple(f for f in scan.findings if f.key not in known)  # the formatters order them
        images.append(
            ImageReport(
                scan.reference,
                scan,
                new,
                tuple(trends.get(scan.reference, ())),
                base_advice=(advice or {}).get(scan.reference),
            )
        )
    return FleetView(store=store.url, run=run, previous=previous, images=tuple(images))
