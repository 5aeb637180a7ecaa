"""Building the comparison: several images, each scanned as ``alpinist scan`` would, side by side.

``compare_images`` builds each image's inventory and scans it against one advisory store with one policy,
so every number in a column is the number ``alpinist scan`` prints for that image alone;
``build_comparison`` turns the per-image results into the :class:`~.model.Comparison`. An image that cannot
be read becomes a column holding its one-line error; errors of the advisory database propagate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from alpinist.compare.base import BaseCandidate, base_candidate, detect_base
from alpinist.compare.diff import cve_diff
from alpinist.compare.healthcheck import healthcheck_info, image_programs
from alpinist.compare.metrics import build_metrics
from alpinist.compare.model import Comparison, CveDiff, ImageColumn
from alpinist.errors import AlpinistError, DatabaseError
from alpinist.scan.model import ScanResult
from alpinist.scan.scanning import DEFAULT_MAX_DB_AGE

if TYPE_CHECKING:
    from alpinist.advisories.store import Store
    from alpinist.images.open import PullOptions
    from alpinist.scan.model import Policy


def default_labels(references: Sequence[str], results: Sequence[ScanResult | None]) -> list[str]:
    """The image's name (``python-app:alpine``) or the reference as written; repeats get ``#2``, ``#3``."""
    from alpinist.inventory.naming import image_title

    labels: list[str] = []
    for ref, res in zip(references, results, strict=True):
        base = image_title(res.inventory.image) if res is not None else ref
        label, n = base, 2
        while label in labels:
            label, n = f"{base} #{n}", n + 1
        labels.append(label)
    return labels


def build_comparison(
    references: Sequence[str],
    outcomes: Sequence[ScanResult | str],
    *,
    labels: Sequence[str] | None = None,
    bases: Sequence[BaseCandidate] = (),
    warnings: Sequence[str] = (),
    errors: Sequence[str] = (),
) -> Comparison:
    """The comparison of images already scanned: ``outcomes[i]`` is image i's ScanResult, or its error
    (one line). Base candidates are ``bases`` plus every compared image (a compared image can be the
    base of another: ``alpine:3.20.3`` of ``python-app:alpine``).
    """
    if len(outcomes) != len(references):
        raise ValueError("one outcome per reference")
    results = [o if isinstance(o, ScanResult) else None for o in outcomes]
    names = list(labels) if labels is not None else default_labels(references, results)
    if len(names) != len(references):
        raise ValueError(f"{len(names)} labels for {len(references)} images")
    candidates = list(bases)
    for res in results:
        facts = res.inventory.image if res is not None else None
        if facts is not None and all(layer.diff_id for layer in facts.layers):
            ids = tuple(layer.diff_id or "" for layer in facts.layers)
            candidates.append(BaseCandidate(facts.name or facts.reference, ids, facts.manifest_digest))
    columns = []
    for ref, name, outcome in zip(references, names, outcomes, strict=True):
        if isinstance(outcome, ScanResult):
            facts = outcome.inventory.image
            columns.append(
                ImageColumn(
                    label=name,
                    reference=ref,
                    result=outcome,
                    base=detect_base(facts, candidates),
                    healthcheck=healthcheck_info(facts.healthcheck, image_programs(facts)),
                )
            )
        else:
            columns.append(ImageColumn(label=name, reference=ref, error=outcome))
    diffs: list[CveDiff] = []
    first = columns[0].result if columns else None
    if first is not None:
        for i, col in enumerate(columns[1:], start=1):
            if col.result is not None:
                diffs.append(cve_diff(first, col.result, image=i, against=0))
    all_errors = [f"{c.label}: {c.error}" for c in columns if c.error is not None] + list(errors)
    all_warnings = list(warnings)
    for col in columns:
        if col.result is not None:
            all_warnings += [f"{col.label}: {w}" for w in col.result.warnings]
    return Comparison(
        columns=tuple(columns),
        metrics=build_metrics(columns),
        diffs=tuple(diffs),
        warnings=tuple(dict.fromkeys(all_warnings)),
        errors=tuple(all_errors),
    )


def one_line(exc: BaseException) -> str:
    """An exception as one line (the message of alpinist's errors already names what and why)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, AlpinistError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def compare_images(
    references: Sequence[str],
    store: Store,
    policy: Policy | None = None,
    *,
    labels: Sequence[str] | None = None,
    bases: Sequence[str] = (),
    pull_options: PullOptions | None = None,
    use_cache: bool = True,
    layer_progress: Callable[[int, int], None] | None = None,
    max_db_age: timedelta | None = DEFAULT_MAX_DB_AGE,
    now: datetime | None = None,
) -> Comparison:
    """Scan every image in ``references`` (as ``scan_image`` does) and compare them.

    An image that cannot be read, or a ``bases`` image that cannot be resolved, is recorded as an
    error (``Comparison.errors``) and the rest go on; a ``DatabaseError`` propagates.
    """
    from datetime import UTC

    from alpinist.inventory.build import build_inventory
    from alpinist.scan.scanning import scan_inventory, staleness_warnings

    # the database's age is one warning for the whole comparison, not one per column
    db_warnings = staleness_warnings(store.status(now or datetime.now(UTC)), max_db_age) if max_db_age else []
    outcomes: list[ScanResult | str] = []
    for ref in references:
        try:
            inventory = build_inventory(ref, pull_options, use_cache=use_cache, layer_progress=layer_progress)
            outcomes.append(scan_inventory(inventory, store, policy, max_db_age=None, now=now))
        except DatabaseError:
            raise
        except (AlpinistError, OSError) as exc:
            outcomes.append(one_line(exc))
    candidates: list[BaseCandidate] = []
    errors: list[str] = []
    for ref in bases:
        try:
            candidates.append(base_candidate(ref, pull_options))
        except (AlpinistError, OSError) as exc:
            errors.append(f"--base {ref}: {one_line(exc)}")
    return build_comparison(
        references, outcomes, labels=labels, bases=candidates, warnings=db_warnings, errors=errors
    )
