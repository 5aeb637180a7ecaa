"""Which images of the fleet ``recommend`` would move to another base (``fleet report --recommend``).

Images are grouped by what ``recommend`` decides on: the base label, the OS and its release, the Python
minor the application runs, whether it needs a shell, its healthcheck tool and its package manager (``recommend.current.
image_needs``). ``recommend_image`` runs once per group, on the group's first image read from its stored
SBOM (nothing of the fleet's images is pulled; the candidate bases are: their tags are listed and each is
pulled and scanned, as ``alpinist recommend`` does). A group's members share the advice; an image whose base
was detected by its layers rather than a label is grouped by those other traits, so two images on different
bases with the same OS, Python and needs share one recommendation (said in docs/fleet.md).

The advice is given only when the recommended candidate is another image than the current base and has fewer
critical + high findings than it (``recommend``'s first ranking rule after compatibility); a recommendation
that is not an improvement, or that could not be made, gives none, and the reason is kept as a warning.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alpinist.errors import AlpinistError
from alpinist.fleet.model import StoredScan
from alpinist.recommend.current import image_base_label, image_needs
from alpinist.recommend.model import Recommendation

if TYPE_CHECKING:
    from alpinist.advisories.store import Store
    from alpinist.images.open import PullOptions
    from alpinist.models import Inventory
    from alpinist.recommend.run import RecommendOptions


@dataclass(frozen=True)
class FleetAdvice:
    advice: Mapping[str, str]  # reference -> the advice line
    warnings: tuple[str, ...]  # groups without advice, and why


def advice_line(rec: Recommendation) -> str | None:
    """The advice of one recommendation, or None when it would not move the image (see the module)."""
    winner = rec.evaluations[0] if rec.evaluations and rec.evaluations[0].rank == 1 else None
    now = rec.current.measurement
    if winner is None or winner.measurement is None or now is None or not now.scanned:
        return None
    if winner.candidate.reference == rec.current.reference:
        return None
    best = winner.measurement
    if best.critical_high >= now.critical_high:
        return None
    current = rec.current.reference or "its current base"
    return (
        f"{current} → {winner.candidate.reference}: critical + high {now.critical_high} → {best.critical_high}, "
        f"all findings {now.vulnerabilities} → {best.vulnerabilities}"
    )


def group_key(inventory: Inventory) -> tuple[object, ...]:
    needs = image_needs(inventory, None)
    os_info = inventory.os
    return (
        image_base_label(inventory.image),
        os_info.id if os_info else None,
        os_info.release if os_info else None,
        needs.python,
        bool(needs.shell_needed_by),
        needs.healthcheck_tool,
        needs.brings_python,
        needs.package_manager,
    )


def fleet_advice(
    scans: Iterable[StoredScan],
    sbom_of: Callable[[str], str | None],
    advisories: Store,
    options: RecommendOptions,
    *,
    recommend: Callable[..., Recommendation] | None = None,
) -> FleetAdvice:
    """The advice for every image of ``scans`` with a stored SBOM (``sbom_of(digest)``)."""
    from alpinist.inventory.serialize import inventory_from_dict
    from alpinist.recommend.run import read_image, recommend_image

    run = recommend or recommend_image
    groups: dict[tuple[object, ...], list[tuple[str, Inventory]]] = {}
    warnings: list[str] = []
    for scan in scans:
        if scan.status == "error" or scan.digest is None:
            continue
        text = sbom_of(scan.digest)
        if text is None:
            continue
        inventory = inventory_from_dict(json.loads(text))
        groups.setdefault(group_key(inventory), []).append((scan.reference, inventory))
    advice: dict[str, str] = {}
    for members in groups.values():
        first, inventory = members[0]

        def reader(
            reference: str,
            pull: PullOptions,
            use_cache: bool,
            _first: str = first,
            _inv: Inventory = inventory,
        ) -> Inventory:
            return _inv if reference == _first else read_image(reference, pull, use_cache)

        try:
            rec = run(first, advisories, options, reader=reader)
        except AlpinistError as exc:
            warnings.append(f"{first} (and {len(members) - 1} more like it): no recommendation: {exc}")
            continue
        line = advice_line(rec)
        if line is None:
            continue
        for reference, _ in members:
            advice[reference] = line
    return FleetAdvice(advice, tuple(warnings))
