"""``fleet scan`` and ``fleet rescan``: the driver. It decides what each image needs, hands the work to an
engine (``fleet/engine.py``) and records every outcome in the store (``fleet/store.py``) as it arrives, so a
killed run loses at most the images in flight.

What an image of ``fleet scan`` needs is decided from its manifest digest, resolved on the driver before
any task starts (a manifest and a config per image, fetched by a thread pool: cheap next to a pull):

- already recorded in the run being resumed (a killed run with the same database): nothing;
- the digest has a scanned or matched result at this database version: recorded ``unchanged``;
- the digest has a stored SBOM (an older database): its SBOM matched again on the engine, nothing pulled;
- else: pulled and scanned on the engine, by digest for registry images (the tag cannot move between the
  decision and the pull). References that resolve to one digest share one task.

``fleet rescan`` re-matches the latest stored SBOM of every image on the engine, in batches that share one
memo (packages many images share are matched once), and reports the images whose high or critical findings
grew since their previous result.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from alpinist.errors import AlpinistError
from alpinist.fleet.model import (
    HIGH_OR_CRITICAL,
    FleetRun,
    ImageOutcome,
    NewFindings,
    RunKind,
    Status,
    StoredScan,
)
from alpinist.fleet.tasks import MatchJob, RematchJob, ScanJob, Settings, match_task, rematch_task, scan_task

if TYPE_CHECKING:
    from alpinist.fleet.engine import Engine
    from alpinist.fleet.store import FleetStore
    from alpinist.images.open import PullOptions

RESOLVE_THREADS = 16  # manifest and config fetches in flight on the driver
RESCAN_BATCH = 100  # stored SBOMs per rescan task: the memo's reach against the engine's granularity

Progress = Callable[[int, int], None]  # (done, total)
J = TypeVar("J")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class _LazyJobs(Sequence[J]):
    """Jobs built when the engine takes them (a stored SBOM is read from the store only then): the engine
    keeps a bounded number in flight, so the driver never holds every SBOM of the fleet."""

    def __init__(self, count: int, build: Callable[[int], J]) -> None:
        self._count, self._build = count, build

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> J:  # type: ignore[override]  # slices are never asked for
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._build(index)


def _resolve(reference: str, pull: PullOptions) -> tuple[str | None, str]:
    """(manifest digest, what to pull) of one reference; ``dir:`` has no digest (always scanned)."""
    from alpinist.images.open import open_source
    from alpinist.images.reference import parse_reference

    ref = parse_reference(reference)
    if ref.transport == "dir":
        return None, reference
    source = open_source(ref, pull)
    try:
        digest = source.resolve().manifest_digest
    finally:
        source.close()
    if ref.registry is not None:
        return digest, f"{ref.registry.name}@{digest}"
    return digest, reference


def _resolve_all(references: Sequence[str], pull: PullOptions) -> dict[str, tuple[str | None, str] | str]:
    """Each reference's (digest, pinned) or the one-line error that kept it from resolving."""

    def one(reference: str) -> tuple[str | None, str] | str:
        try:
            return _resolve(reference, pull)
        except AlpinistError as exc:
            return str(exc)

    if not references:
        return {}
    with ThreadPoolExecutor(min(RESOLVE_THREADS, len(references))) as pool:
        return dict(zip(references, pool.map(one, references), strict=True))


class _Recorder:
    """Records outcomes into the store as they arrive and keeps what the invocation reports."""

    def __init__(self, store: FleetStore, run_id: int, progress: Progress | None, total: int) -> None:
        self.store, self.run_id, self.progress, self.total = store, run_id, progress, total
        self.counts: Counter[Status] = Counter()
        self.errors: list[tuple[str, str]] = []
        self.new: list[NewFindings] = []
        self.done = 0

    def record(self, outcome: ImageOutcome) -> None:
        self.record_many([outcome])

    def record_many(self, outcomes: Sequence[ImageOutcome]) -> None:
        """Record a batch in one transaction (a rescan task's), then note what the invocation reports."""
        self.store.record_many(self.run_id, outcomes, _now())
        compared = [o for o in outcomes if o.status not in ("error", "unchanged")]
        before = self.store.previous_many((o.reference for o in compared), self.run_id) if compared else {}
        for outcome in outcomes:
            self.counts[outcome.status] += 1
            if outcome.status == "error":
                self.errors.append((outcome.reference, outcome.error or "unknown error"))
            elif outcome.status != "unchanged":
                self._compare(outcome, before.get(outcome.reference))
            self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    def _compare(self, outcome: ImageOutcome, previous: StoredScan | None) -> None:
        before = (
            {f.key for f in previous.findings}
            if previous is not None and previous.status != "error"
            else set()
        )
        new = tuple(f for f in outcome.findings if f.severity in HIGH_OR_CRITICAL and f.key not in before)
        if new:
            self.new.append(NewFindings(outcome.reference, outcome.digest, new))


def _start(
    store: FleetStore, kind: RunKind, db_version: str, engine: Engine, images: int
) -> tuple[int, bool, dict[str, Status]]:
    run = store.resumable(kind, db_version)
    if run is None:
        return store.start_run(kind, db_version, engine.description, images, _now()).id, False, {}
    store.set_images(run.id, images)
    return run.id, True, store.recorded(run.id)


def _finish(
    store: FleetStore, run_id: int, resumed: bool, already: int, recorder: _Recorder, started: float
) -> FleetRun:
    store.finish_run(run_id, _now())
    run = next(r for r in store.runs() if r.id == run_id)
    return FleetRun(
        run=run,
        store=store.url,
        resumed=resumed,
        already=already,
        counts=tuple(sorted(recorder.counts.items())),
        errors=tuple(recorder.errors),
        new=tuple(recorder.new),
        seconds=time.monotonic() - started,
    )


def _drain(
    engine: Engine,
    fn: Callable[[J], object],
    jobs: Sequence[J],
    on_value: Callable[[int, object], None],
    on_failed: Callable[[int, str], None],
) -> None:
    from alpinist.fleet.engine import Failed

    for item in engine.run(fn, jobs):
        if isinstance(item, Failed):
            on_failed(item.index, item.error)
        else:
            on_value(item.index, item.value)


def fleet_scan(
    references: Sequence[str],
    store: FleetStore,
    engine: Engine,
    settings: Settings,
    *,
    progress: Progress | None = None,
) -> FleetRun:
    """Scan every reference (see the module docstring) and record each outcome; a failing image is recorded
    with its error and the run goes on."""
    started = time.monotonic()
    references = list(dict.fromkeys(references))
    run_id, resumed, recorded = _start(store, "scan", settings.db_version, engine, len(references))
    finished = {ref for ref, status in recorded.items() if status != "error"}
    todo = [ref for ref in references if ref not in finished]
    recorder = _Recorder(store, run_id, progress, len(todo))
    db = settings.db_version

    resolved = _resolve_all(todo, settings.pull)
    groups: dict[str, list[str]] = {}  # digest -> references
    pinned: dict[str, str] = {}  # digest -> what to pull
    undigested: list[str] = []  # dir: images
    for ref in todo:
        found = resolved[ref]
        if isinstance(found, str):
            recorder.record(ImageOutcome(ref, "error", db, error=found))
        elif found[0] is None:
            undigested.append(ref)
        else:
            groups.setdefault(found[0], []).append(ref)
            pinned.setdefault(found[0], found[1])

    current = store.current(groups, db)
    for digest in current:
        for ref in groups.pop(digest):
            recorder.record(ImageOutcome(ref, "unchanged", db, digest=digest))
    with_sbom = sorted(store.sbom_digests(groups))
    to_pull = [d for d in groups if d not in set(with_sbom)]

    def spread(outcome: ImageOutcome, refs: Iterable[str]) -> None:
        for ref in refs:
            recorder.record(_as(outcome, ref))

    # stored SBOMs matched again: nothing pulled
    def match_job(i: int) -> MatchJob:
        digest = with_sbom[i]
        sbom = store.sbom(digest)
        return MatchJob(groups[digest][0], digest, sbom or "", settings)

    def matched(i: int, value: object) -> None:
        assert isinstance(value, ImageOutcome)
        spread(value, groups[with_sbom[i]])

    def match_failed(i: int, error: str) -> None:
        digest = with_sbom[i]
        spread(ImageOutcome(groups[digest][0], "error", db, digest=digest, error=error), groups[digest])

    _drain(engine, match_task, _LazyJobs(len(with_sbom), match_job), matched, match_failed)

    # the rest pulled and scanned; dir: images each on their own
    scan_jobs = [ScanJob(groups[d][0], pinned[d], d, settings) for d in to_pull]
    scan_jobs += [ScanJob(ref, ref, None, settings) for ref in undigested]

    def refs_of(job: ScanJob) -> list[str]:
        return groups[job.digest] if job.digest is not None else [job.reference]

    def scanned(i: int, value: object) -> None:
        assert isinstance(value, ImageOutcome)
        spread(value, refs_of(scan_jobs[i]))

    def scan_failed(i: int, error: str) -> None:
        job = scan_jobs[i]
        spread(ImageOutcome(job.reference, "error", db, digest=job.digest, error=error), refs_of(job))

    _drain(engine, scan_task, scan_jobs, scanned, scan_failed)
    return _finish(store, run_id, resumed, len(finished), recorder, started)


def _as(outcome: ImageOutcome, reference: str) -> ImageOutcome:
    """The outcome of one digest, recorded for another reference of the same digest."""
    if outcome.reference == reference:
        return outcome
    from dataclasses import replace

    return replace(outcome, reference=reference)


def fleet_rescan(
    store: FleetStore,
    engine: Engine,
    settings: Settings,
    *,
    batch: int = RESCAN_BATCH,
    progress: Progress | None = None,
) -> FleetRun:
    """Match the latest stored SBOM of every image against the run's database; nothing is pulled."""
    started = time.monotonic()
    images = store.latest_sbom_digests()
    run_id, resumed, recorded = _start(store, "rescan", settings.db_version, engine, len(images))
    finished = {ref for ref, status in recorded.items() if status != "error"}
    todo = [(ref, digest) for ref, digest in images if ref not in finished]
    recorder = _Recorder(store, run_id, progress, len(todo))
    chunks = [todo[i : i + batch] for i in range(0, len(todo), batch)]

    def job(i: int) -> RematchJob:
        texts = store.sboms(digest for _, digest in chunks[i])
        return RematchJob(tuple((ref, digest, texts.get(digest, "")) for ref, digest in chunks[i]), settings)

    def matched(i: int, value: object) -> None:
        assert isinstance(value, list)
        recorder.record_many(value)

    def failed(i: int, error: str) -> None:
        recorder.record_many(
            [
                ImageOutcome(ref, "error", settings.db_version, digest=digest, error=error)
                for ref, digest in chunks[i]
            ]
        )

    _drain(engine, rematch_task, _LazyJobs(len(chunks), job), matched, failed)
    return _finish(store, run_id, resumed, len(finished), recorder, started)
