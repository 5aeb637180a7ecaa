"""What runs on an engine worker (``fleet/engine.py``): one image pulled and scanned (:func:`scan_task`), one
stored SBOM matched again (:func:`match_task`), a batch of stored SBOMs matched again (:func:`rematch_task`).

Jobs are frozen, picklable values and the tasks module-level functions: they cross process borders (the
local pool) and the network (Dask). A worker opens the advisory database once per process and keeps it
open; every task first checks that the worker's database is the run's (:func:`database_version`), so a
cluster whose workers hold different databases fails loudly per image instead of mixing results.

An error alpinist knows (``AlpinistError``: an unreachable registry, a bad layer, an unreadable SBOM) becomes
an outcome with status ``error``; anything else propagates, and the engine reports it as a failed item,
which the run records as an error too: one image never stops the run.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alpinist.advisories.store import Store
from alpinist.errors import AlpinistError
from alpinist.fleet.model import ImageOutcome
from alpinist.images.open import PullOptions
from alpinist.models import OSInfo

if TYPE_CHECKING:
    from alpinist.scan.rescan import Rematcher

RUN_DB_MISMATCH = (
    "this worker's advisory database {path} is {have}, the run's is {want}: "
    "give every worker the same database file (docs/fleet.md)"
)


def database_version(store: Store) -> str:
    """What identifies the advisory data findings come from: the newest feed update time and a digest of
    every feed's name, update time and record count (``20261201T0412Z-3f2a9c1e07b5``). Two databases
    built from the same feeds at the same time have the same version."""
    statuses = sorted(store.status(), key=lambda s: s.name)
    body = "\n".join(f"{s.name}\t{s.updated_at.isoformat()}\t{s.records}" for s in statuses)
    digest = hashlib.sha256(body.encode()).hexdigest()[:12]
    newest = max((s.updated_at for s in statuses), default=None)
    stamp = newest.strftime("%Y%m%dT%H%MZ") if newest is not None else "empty"
    return f"{stamp}-{digest}"


def os_label(os_info: OSInfo | None) -> str | None:
    return f"{os_info.id} {os_info.version}" if os_info is not None else None


@dataclass(frozen=True)
class Settings:
    """What every task of a run needs: the advisory database (a path each worker can read) and its
    version, and how to pull (``progress`` must be None: it cannot cross to a worker)."""

    db_path: str
    db_version: str
    pull: PullOptions
    use_cache: bool = True


@dataclass(frozen=True)
class ScanJob:
    reference: str  # as listed
    # what is pulled: the registry reference by the digest resolved before the run, else as listed
    pinned: str
    digest: str | None  # the manifest digest resolved before the run
    settings: Settings


@dataclass(frozen=True)
class MatchJob:
    reference: str
    digest: str
    sbom: str  # alpinist-sbom/1 JSON text from the store
    settings: Settings


@dataclass(frozen=True)
class RematchJob:
    items: tuple[tuple[str, str, str], ...]  # (reference, digest, SBOM text)
    settings: Settings


_STORES: dict[str, tuple[Store, str]] = {}  # per worker process: path -> (open store, its version)


def _store(settings: Settings) -> Store:
    """The worker's open advisory store, checked to be the run's database. A worker outlives runs (a Dask
    cluster): when the file was replaced since it was opened (``db update`` renames a new one in), it is
    opened again before the versions are compared."""
    known = _STORES.get(settings.db_path)
    if known is None or known[1] != settings.db_version:
        if known is not None:
            known[0].close()
            del _STORES[settings.db_path]
        store = Store.open(Path(settings.db_path))
        known = _STORES[settings.db_path] = (store, database_version(store))
    store, version = known
    if version != settings.db_version:
        raise AlpinistError(
            RUN_DB_MISMATCH.format(path=settings.db_path, have=version, want=settings.db_version)
        )
    return store


def scan_task(job: ScanJob) -> ImageOutcome:
    """Pull, inventory and match one image, as ``alpinist scan`` does with its default policy."""
    from alpinist.inventory.build import build_inventory
    from alpinist.inventory.serialize import inventory_to_dict
    from alpinist.scan.rescan import finding_ref
    from alpinist.scan.scanning import scan_inventory

    started = time.monotonic()
    settings = job.settings
    try:
        store = _store(settings)
        inventory = build_inventory(job.pinned, settings.pull, use_cache=settings.use_cache)
        result = scan_inventory(inventory, store, max_db_age=None)
    except AlpinistError as exc:
        return ImageOutcome(
            job.reference,
            "error",
            settings.db_version,
            digest=job.digest,
            error=str(exc),
            seconds=time.monotonic() - started,
        )
    sbom = json.dumps(inventory_to_dict(inventory, include_files=False), separators=(",", ":"))
    return ImageOutcome(
        job.reference,
        "scanned",
        settings.db_version,
        digest=inventory.image.manifest_digest or job.digest,
        sbom=sbom,
        findings=tuple(finding_ref(f) for f in result.findings),
        os=os_label(inventory.os),
        packages=len(inventory.packages),
        seconds=time.monotonic() - started,
    )


def _rematch(
    rematcher: Rematcher, reference: str, digest: str, sbom: str, settings: Settings
) -> ImageOutcome:
    started = time.monotonic()
    try:
        found = rematcher.rematch(sbom, f"stored SBOM of {reference} ({digest})")
    except AlpinistError as exc:
        return ImageOutcome(
            reference,
            "error",
            settings.db_version,
            digest=digest,
            error=str(exc),
            seconds=time.monotonic() - started,
        )
    return ImageOutcome(
        reference,
        "matched",
        settings.db_version,
        digest=digest,
        findings=found.findings,
        os=None,
        packages=found.packages,
        seconds=time.monotonic() - started,
    )


def match_task(job: MatchJob) -> ImageOutcome:
    """Match one stored SBOM against the worker's database: an image whose digest is known, nothing pulled."""

    try:
        store = _store(job.settings)
    except AlpinistError as exc:
        return ImageOutcome(
            job.reference, "error", job.settings.db_version, digest=job.digest, error=str(exc)
        )
    return _rematch(_rematcher(store, job.settings), job.reference, job.digest, job.sbom, job.settings)


_REMATCHERS: dict[str, Rematcher] = {}  # per worker process and database version: the memo outlives a batch


def rematch_task(job: RematchJob) -> list[ImageOutcome]:
    """Match a batch of stored SBOMs (``fleet rescan``). The worker keeps one memo per database version
    across batches, so a package many images share is matched once per worker, not once per batch."""

    try:
        store = _store(job.settings)
    except AlpinistError as exc:
        return [
            ImageOutcome(reference, "error", job.settings.db_version, digest=digest, error=str(exc))
            for reference, digest, _ in job.items
        ]
    rematcher = _rematcher(store, job.settings)
    return [_rematch(rematcher, ref, digest, sbom, job.settings) for ref, digest, sbom in job.items]


def _rematcher(store: Store, settings: Settings) -> Rematcher:
    from alpinist.scan.rescan import Rematcher

    rematcher = _REMATCHERS.get(settings.db_version)
    if rematcher is None:
        _REMATCHERS.clear()  # the memo of an older database is of no more use
        rematcher = _REMATCHERS[settings.db_version] = Rematcher(store)
    return rematcher
