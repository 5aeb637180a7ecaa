"""The scan stage: inventory -> advisory store -> matching -> policy -> :class:`ScanResult`.

``scan_image`` is what ``alpinist scan`` runs; ``scan_inventory`` does the same for an inventory
already built (tests, and later verbs that scan more than one image). Reports are pure functions of a
``ScanResult`` (``reports/scan_*.py``, ``reports/sarif.py``).

Counting (the summary line ``52 vulnerabilities found in 22 packages``):

- **vulnerabilities**: findings, i.e. (package, advisory) pairs after the policy. A CVE that touches
  both ``libssl3`` and ``libcrypto3`` counts twice, as docker scout, grype and trivy count it: each
  is a separately installed, separately upgradable package. ``unique_ids`` counts distinct ids.
- **packages**: distinct installed packages with at least one finding.
- **by_severity**: findings per severity, always all six (CRITICAL … UNKNOWN).

Database freshness: each source's age comes from ``Store.status()``. ``require_fresh_database`` is the
``--offline`` check (an error when the database is missing, empty, or a source is older than
``--max-db-age``); without ``--offline`` the same ages only become warnings (``stale_sources``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from alpinist.advisories.model import rank
from alpinist.errors import DatabaseError
from alpinist.models import Inventory
from alpinist.scan.matching import match
from alpinist.scan.model import Finding, Policy, ScanResult
from alpinist.scan.policy import apply_policy

if TYPE_CHECKING:
    from pathlib import Path

    from alpinist.advisories.model import SourceStatus
    from alpinist.advisories.store import Store
    from alpinist.images.open import PullOptions

DEFAULT_MAX_DB_AGE = timedelta(days=5)


# ---------------------------------------------------------------------------------------------- counting


def finding_sort_key(f: Finding) -> tuple[int, str, str, str, str, str]:
    """Worst severity first, then package name, version, location, id (a total, stable order)."""
    pkg = f.package
    return (
        -rank(f.severity),
        pkg.name.lower(),
        pkg.version,
        pkg.locations[0] if pkg.locations else "",
        f.id,
        pkg.arch or "",
    )


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=finding_sort_key)


# ---------------------------------------------------------------------------------------------- database age


def stale_sources(statuses: Iterable[SourceStatus], max_age: timedelta) -> list[SourceStatus]:
    return [s for s in statuses if s.age > max_age]


def format_duration(age: timedelta) -> str:
    """``3 d``, ``5 h``, ``17 min``, ``42 s`` (the largest whole unit)."""
    seconds = max(0, int(age.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def staleness_warnings(statuses: Iterable[SourceStatus], max_age: timedelta) -> list[str]:
    return [
        f"advisory source {s.name!r} was last updated {format_duration(s.age)} ago "
        f"({s.updated_at:%Y-%m-%d %H:%M} UTC), more than {format_duration(max_age)}: "
        "run `alpinist db update`"
        for s in stale_sources(statuses, max_age)
    ]


def require_fresh_database(path: Path, statuses: Sequence[SourceStatus], max_age: timedelta) -> None:
    """The ``--offline`` check: DatabaseError when the database holds no source, or one is too old."""
    if not statuses:
        raise DatabaseError(
            f"{path}: the advisory database holds no feed yet; --offline cannot download one: "
            "run `alpinist db update` (or `alpinist db import FILE`) first"
        )
    stale = stale_sources(statuses, max_age)
    if stale:
        detail = ", ".join(
            f"{s.name} {format_duration(s.age)} ({s.updated_at:%Y-%m-%d %H:%M} UTC)" for s in stale
        )
        raise DatabaseError(
            f"{path}: advisory data older than --max-db-age {format_duration(max_age)}: {detail}; "
            "--offline does not update it: run `alpinist db update` or `db import`, or raise --max-db-age"
        )


# ---------------------------------------------------------------------------------------------- scanning


def scan_inventory(
    inventory: Inventory,
    store: Store,
    policy: Policy | None = None,
    *,
    max_db_age: timedelta | None = DEFAULT_MAX_DB_AGE,
    now: datetime | None = None,
    extra_warnings: Sequence[str] = (),
) -> ScanResult:
    """Match ``inventory`` against ``store`` and apply ``policy``.

    ``max_db_age``: sources older than this give a warning (None: no check). ``extra_warnings`` are
    put first (the CLI's own, e.g. about the database).
    """
    from alpinist.inventory.naming import image_purl

    policy = policy or Policy()
    statuses = tuple(store.status(now or datetime.now(UTC)))
    matched = match(inventory, store)
    outcome = apply_policy(matched.findings, policy, image_purl(inventory.image))
    warnings = [*extra_warnings]
    if max_db_age is not None:
        warnings += staleness_warnings(statuses, max_db_age)
    warnings += [*matched.warnings, *outcome.warnings]
    return ScanResult(
        inventory=inventory,
        findings=tuple(sort_findings(outcome.findings)),
        suppressed=tuple(sorted(outcome.suppressed, key=lambda s: finding_sort_key(s.finding))),
        warnings=tuple(dict.fromkeys(warnings)),
        db_status=statuses,
        filtered=outcome.filtered,
        policy=policy,
        failed=outcome.failed,
    )


def scan_image(
    reference: str,
    pull_options: PullOptions | None,
    store: Store,
    policy: Policy | None = None,
    *,
    use_cache: bool = True,
    layer_progress: Callable[[int, int], None] | None = None,
    max_db_age: timedelta | None = DEFAULT_MAX_DB_AGE,
    now: datetime | None = None,
    extra_warnings: Sequence[str] = (),
) -> ScanResult:
    """Inventory the image at ``reference`` (any transport) and scan it (see ``scan_inventory``)."""
    from alpinist.inventory.build import build_inventory

    inventory = build_inventory(reference, pull_options, use_cache=use_cache, layer_progress=layer_progress)
    return scan_inventory(
        inventory, store, policy, max_db_age=max_db_age, now=now, extra_warnings=extra_warnings
    )
