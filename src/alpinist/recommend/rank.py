"""The ranking, documented once (``RULES`` is what the reports print under the table).

1. Compatible and scanned candidates first; then compatible ones that could not be scanned (no advisory
   feed for their OS: no count to rank on), then those that could not be pulled, then incompatible ones.
2. Fewer critical + high vulnerabilities.
3. Fewer vulnerabilities in total.
4. Smaller uncompressed size.
5. Ties prefer the current base's family (same distribution), then the newer release, then the
   reference in alphabetical order (so the order is total and stable).
"""

from __future__ import annotations

from collections.abc import Iterable

from alpinist.recommend.families import numbers
from alpinist.recommend.model import Evaluation

RULES: tuple[str, ...] = (
    "compatible and scanned first; then not scanned (no advisory feed), not pulled, incompatible",
    "fewer critical + high vulnerabilities",
    "fewer vulnerabilities in total",
    "smaller uncompressed size",
    "ties: the current base's distribution, then the newer release, then the name",
)

_STATUS_ORDER = {"ok": 0, "not-scanned": 1, "error": 2, "incompatible": 3}


def rank_key(ev: Evaluation, current_distro: str | None) -> tuple[object, ...]:
    m = ev.measurement
    scanned = m is not None and m.scanned
    size = m.uncompressed if m is not None and m.uncompressed is not None else float("inf")
    distro = ev.candidate.distro
    same_family = distro is not None and distro == current_distro
    return (
        _STATUS_ORDER[ev.status],
        m.critical_high if scanned and m is not None else float("inf"),
        m.vulnerabilities if scanned and m is not None else float("inf"),
        size,
        0 if same_family else 1,
        tuple(-n for n in numbers(ev.candidate.release or "")),
        ev.candidate.reference,
    )


def ranked(evaluations: Iterable[Evaluation], current_distro: str | None) -> tuple[Evaluation, ...]:
    from dataclasses import replace

    ordered = sorted(evaluations, key=lambda ev: rank_key(ev, current_distro))
    return tuple(replace(ev, rank=i) for i, ev in enumerate(ordered, 1))
