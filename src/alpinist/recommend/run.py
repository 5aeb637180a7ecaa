"""``recommend``'s pipeline: the current base → candidates (tags listed through the registry client) →
each pulled and scanned → compatibility notes → ranking → the winner's next step.

Images are read in parallel (``workers`` threads: the pulls are network-bound); matching runs on the
calling thread (the advisory store's SQLite connection belongs to it). Any candidate that cannot be listed,
pulled or scanned is recorded with its one-line error and the rest go on; when not one candidate could
be measured, :class:`NoCandidate` says which registries and tags were tried.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from alpinist.advisories.store import Store
from alpinist.compare.base import BaseCandidate, detect_base
from alpinist.compare.build import one_line
from alpinist.dockerfile.knowledge import image_distro
from alpinist.dockerfile.migrate import MigrationOptions, migrate_dockerfile
from alpinist.dockerfile.migrate.options import AlpineTarget
from alpinist.dockerfile.migrate.report import MigrationReport
from alpinist.dockerfile.model import Dockerfile, ImageName
from alpinist.dockerfile.parse import parse_image_name
from alpinist.dockerfile.wheels import DEFAULT_INDEX_URL, Target, WheelReport, check_wheels
from alpinist.errors import AlpinistError, DatabaseError
from alpinist.images.open import PullOptions
from alpinist.models import Inventory
from alpinist.recommend import compat
from alpinist.recommend.current import (
    AppNeeds,
    dockerfile_base,
    dockerfile_needs,
    image_base_label,
    image_needs,
    libc_for,
)
from alpinist.recommend.families import FAMILIES, python_minor, refresh, select
from alpinist.recommend.measure import libc_of, measure
from alpinist.recommend.model import (
    Candidate,
    CurrentBase,
    Evaluation,
    Measurement,
    NextStep,
    Note,
    Recommendation,
    SkippedTag,
)
from alpinist.recommend.rank import RULES, ranked
from alpinist.scan.model import Policy

TagLister = Callable[[str, PullOptions], Sequence[str]]
InventoryReader = Callable[[str, PullOptions, bool], Inventory]


class NoCandidate(AlpinistError):
    """Not one candidate could be listed or measured."""


@dataclass(frozen=True)
class RecommendOptions:
    pull: PullOptions = field(default_factory=PullOptions)
    candidates: tuple[str, ...] = ()  # --candidate: added to the discovered ones
    families: tuple[str, ...] = ()  # --family: groups to discover (empty: all; ("none",): only --candidate)
    python: str | None = None  # --python X.Y
    libc: Literal["glibc", "musl", "any"] = "any"
    releases: int = 2  # newest distro releases tried per family
    context: Path | None = None  # --context (the Dockerfile's directory by default)
    index_url: str = DEFAULT_INDEX_URL
    check_index: bool = True  # False: the musllinux wheel check does not ask the package index
    use_cache: bool = True
    workers: int = 4


def _default_lister(name: str, options: PullOptions) -> Sequence[str]:
    from alpinist.images.tags import list_tags

    return list_tags(name, options)


def read_image(reference: str, options: PullOptions, use_cache: bool) -> Inventory:
    """The default ``InventoryReader``: the image pulled and inventoried (``build_inventory``)."""
    from alpinist.inventory.build import build_inventory

    return build_inventory(reference, options, use_cache=use_cache)


@dataclass
class _Discovery:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[SkippedTag] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _wanted(group: str, options: RecommendOptions) -> bool:
    """Whether ``--family`` asks for this group (all when none is given; ``none``: only --candidate)."""
    return not options.families or group in options.families


def _list_all(
    repositories: Sequence[str], lister: TagLister, options: RecommendOptions
) -> dict[str, Sequence[str] | str]:
    """Every repository's tags, listed in parallel (an unreachable registry waits out its retries once,
    not once per repository in turn); a failure is its one-line error."""

    def one(repository: str) -> Sequence[str] | str:
        try:
            return lister(repository, options.pull)
        except (AlpinistError, OSError) as exc:
            return one_line(exc)

    if not repositories:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(options.workers * 2, len(repositories)))) as pool:
        return dict(zip(repositories, pool.map(one, repositories), strict=True))


def discover(
    base: ImageName | None,
    base_distro: str | None,
    base_release: str | None,
    needs: AppNeeds,
    options: RecommendOptions,
    lister: TagLister,
) -> _Discovery:
    """Candidates: the refresh of ``base``, the families of ``FAMILIES``, and ``--candidate``."""
    found = _Discovery()
    libc_ok = (lambda libc: True) if options.libc == "any" else (lambda libc: libc == options.libc)
    refresh_repo: str | None = None
    if base is not None and base.tag and not base.digest and _wanted("refresh", options):
        libc = libc_for(base_distro)
        if libc is None or libc_ok(libc):
            refresh_repo = f"{base.registry}/{base.repository}" if base.registry else base.repository
    families = [f for f in FAMILIES if _wanted(f.group, options) and libc_ok(f.libc)]
    repositories = list(
        dict.fromkeys([*([refresh_repo] if refresh_repo else []), *(f.repository for f in families)])
    )
    tags_of = _list_all(repositories, lister, options)
    for repository in repositories:
        outcome = tags_of[repository]
        if isinstance(outcome, str):
            found.failures.append(f"{repository}: {outcome}")
        else:
            found.listed.append(repository)

    def tags(repository: str) -> Sequence[str] | None:
        outcome = tags_of[repository]
        return None if isinstance(outcome, str) else outcome

    if refresh_repo is not None and base is not None and base.tag:
        listed = tags(refresh_repo)
        if listed is not None:
            cands, skipped = refresh(
                refresh_repo,
                base.tag,
                listed,
                needs.python,
                title=base_distro or base.name,
                distro=base_distro,
                release=base_release,
                libc=libc_for(base_distro),
                python_repository=base.name == "python",
            )
            found.candidates += cands
            found.skipped += skipped
    for family in families:
        listed = tags(family.repository)
        if listed is None:
            continue
        cands, skipped = select(family, listed, needs.python, options.releases)
        found.candidates += cands
        found.skipped += skipped
    for ref in options.candidates:
        name = parse_image_name(ref)
        distro = image_distro(name)
        found.candidates.append(
            Candidate(
                reference=ref,
                family="explicit",
                origin="explicit",
                title="--candidate",
                distro=distro[0] if distro else None,
                release=distro[1] if distro else None,
                libc=libc_for(distro[0] if distro else None),
                tag_python=None,
            )
        )
    # one evaluation per reference: a refresh that is also a family's pick stays a refresh
    unique: dict[str, Candidate] = {}
    for cand in found.candidates:
        unique.setdefault(cand.reference, cand)
    found.candidates = list(unique.values())
    seen: set[tuple[str, str]] = set()
    kept: list[SkippedTag] = []
    for skip in found.skipped:
        key = (skip.repository, skip.tag)
        if key not in seen and f"{skip.repository}:{skip.tag}" not in unique:
            seen.add(key)
            kept.append(skip)
    found.skipped = kept
    return found


class _Evaluator:
    """Reads, scans and judges candidates; caches the per-release migration and wheel checks."""

    def __init__(
        self,
        store: Store,
        needs: AppNeeds,
        current_libc: str | None,
        current_manager: str | None,
        options: RecommendOptions,
        reader: InventoryReader,
        migrate: Callable[[AlpineTarget], MigrationReport] | None,
    ) -> None:
        self.store = store
        self.namespaces = set(store.namespaces())
        self.needs = needs
        self.current_libc = current_libc
        self.current_manager = current_manager
        self.options = options
        self.reader = reader
        self.migrate = migrate
        self._migrations: dict[str, MigrationReport] = {}
        self._wheels: dict[tuple[str, tuple[int, int]], WheelReport] = {}

    def read_all(self, references: Sequence[str]) -> list[Inventory | str]:
        def one(ref: str) -> Inventory | str:
            try:
                return self.reader(ref, self.options.pull, self.options.use_cache)
            except (AlpinistError, OSError) as exc:
                return one_line(exc)

        if not references:
            return []
        with ThreadPoolExecutor(max_workers=max(1, min(self.options.workers, len(references)))) as pool:
            return list(pool.map(one, references))

    def measure(self, inventory: Inventory) -> Measurement:
        from alpinist.scan.scanning import scan_inventory

        return measure(scan_inventory(inventory, self.store, Policy(), max_db_age=None), self.namespaces)

    def evaluate(self, candidate: Candidate, outcome: Inventory | str) -> Evaluation:
        if isinstance(outcome, str):
            return Evaluation(candidate, None, error=outcome)
        try:
            measured = self.measure(outcome)
        except DatabaseError:
            raise
        except (AlpinistError, OSError) as exc:
            return Evaluation(candidate, None, error=one_line(exc))
        if candidate.distro is None and measured.os:
            os_id = measured.os.split(" ", 1)[0]
            candidate = replace(candidate, distro=os_id, libc=libc_of(os_id))
        notes = [
            *compat.python_notes(self.needs, candidate, measured),
            *compat.release_note(candidate, measured),
            *compat.shell_notes(self.needs, measured),
            *compat.package_manager_notes(self.needs, measured),
            *compat.healthcheck_notes(self.needs, candidate, measured),
            *self._libc_notes(candidate, measured),
        ]
        return Evaluation(candidate, measured, notes=tuple(dict.fromkeys(notes)))

    def _libc_notes(self, candidate: Candidate, measured: Measurement) -> list[Note]:
        libc = measured.libc or candidate.libc
        if not (self.current_libc == "glibc" and libc == "musl"):
            if (
                self.current_manager == "apk"
                and "apk" not in measured.package_managers
                and self.needs.os_packages
            ):
                return [
                    Note(
                        "warning",
                        "packages",
                        "the Dockerfile installs with apk: rewrite those lines for this base",
                    )
                ]
            return []
        python = self.needs.python or python_minor(measured.python)
        release = candidate.release if candidate.distro == "alpine" and candidate.release else None
        if release is None and measured.os.startswith("alpine "):
            release = ".".join(measured.os.split(" ", 1)[1].split(".")[:2])
        if self.migrate is not None and release:
            if release not in self._migrations:
                self._migrations[release] = self.migrate(AlpineTarget(release, release))
            return compat.migration_notes(self._migrations[release])
        if not self.needs.pins or python is None:
            return []
        target = Target.from_platform(
            python, "linux/amd64", AlpineTarget(release or "3.22", release or "3.22").musl
        )
        key = (python, target.musl)
        if key not in self._wheels:
            self._wheels[key] = check_wheels(
                (),
                target,
                root=Path("."),
                index_url=self.options.index_url,
                offline=not self.options.check_index,
                requirements=self.needs.pins,
            )
        return compat.wheel_notes(self._wheels[key])


def _no_candidate(found: _Discovery, evaluations: Sequence[Evaluation]) -> NoCandidate:
    tried = [f"{ev.candidate.reference} ({ev.error})" for ev in evaluations if ev.error]
    parts = []
    if found.listed:
        parts.append(f"tags listed from {', '.join(found.listed)}")
    if found.failures:
        parts.append(f"could not list {'; '.join(found.failures)}")
    if tried:
        parts.append(f"could not pull {'; '.join(tried)}")
    if not parts:
        parts.append("no tag of any family matched (see --family, --python, --libc)")
    return NoCandidate(f"no candidate reachable: {'; '.join(parts)}")


def _finish(
    current: CurrentBase,
    evaluations: list[Evaluation],
    found: _Discovery,
    next_step: Callable[[Evaluation], NextStep | None],
    warnings: list[str],
) -> Recommendation:
    if not any(ev.measurement is not None for ev in evaluations):
        raise _no_candidate(found, evaluations)
    order = ranked(evaluations, current.distro)
    warnings += [f"could not list tags of {f}" for f in found.failures]
    winner = order[0] if order and order[0].status == "ok" else None
    now = current.measurement
    best = winner.measurement if winner is not None else None
    if best is not None and now is not None and now.scanned and best.critical_high > now.critical_high:
        # ranked first among the candidates, yet worse than today's base on what the ranking puts first
        warnings.append(
            f"the recommended {winner.candidate.reference} has more critical + high findings than the "  # type: ignore[union-attr]
            f"current base ({best.critical_high} against {now.critical_high}): the other candidates are "
            "incompatible or worse; weigh the move before making it"
        )
    return Recommendation(
        current=current,
        evaluations=order,
        skipped=tuple(found.skipped),
        listed=tuple(found.listed),
        next_step=next_step(winner) if winner is not None else None,
        warnings=tuple(dict.fromkeys(warnings)),
        ranking=RULES,
    )


def _migrate_command(dockerfile: str, release: str, options: RecommendOptions) -> str:
    words = ["alpinist", "migrate", dockerfile, "--to", f"alpine:{release}"]
    if options.context is not None:
        words += ["--context", str(options.context)]
    if options.index_url != DEFAULT_INDEX_URL:
        words += ["--index-url", options.index_url]
    if not options.check_index:
        words.append("--offline")
    return shlex.join(words)


def recommend_dockerfile(
    df: Dockerfile,
    text: str,
    store: Store,
    options: RecommendOptions,
    *,
    lister: TagLister = _default_lister,
    reader: InventoryReader = read_image,
) -> Recommendation:
    """Recommend a base for the final stage of ``df`` (``text``: its source, for migrate)."""
    found_base = dockerfile_base(df)
    needs = dockerfile_needs(df, found_base, options.python)
    source = df.path or "Dockerfile"
    base = found_base.base
    current_libc = libc_for(found_base.distro)
    warnings: list[str] = []
    if needs.python is None:
        warnings.append(
            "the application's Python is unknown: candidates of every Python minor are tried (give --python X.Y)"
        )

    def migrate(target: AlpineTarget) -> MigrationReport:
        migration_options = MigrationOptions(
            to=target, context=options.context, index_url=options.index_url, offline=not options.check_index
        )
        return migrate_dockerfile(df, text, replace(migration_options, force=True)).report

    evaluator = _Evaluator(store, needs, current_libc, needs.package_manager, options, reader, migrate)
    found = discover(base, found_base.distro, found_base.release, needs, options, lister)
    refs = [base.raw, *(c.reference for c in found.candidates)]
    outcomes = evaluator.read_all(refs)
    current_measured: Measurement | None = None
    current_error: str | None = None
    if isinstance(outcomes[0], str):
        current_error = outcomes[0]
    else:
        try:
            current_measured = evaluator.measure(outcomes[0])
        except (AlpinistError, OSError) as exc:
            if isinstance(exc, DatabaseError):
                raise
            current_error = one_line(exc)
    current = CurrentBase(
        subject=source,
        kind="dockerfile",
        reference=base.raw,
        detected_by=f"{Path(source).name} line {found_base.line}",
        distro=found_base.distro,
        release=found_base.release,
        libc=current_libc,
        python=needs.python,
        python_from=needs.python_from,
        package_manager=needs.package_manager,
        measurement=current_measured,
        error=current_error,
    )
    evaluations = [evaluator.evaluate(c, o) for c, o in zip(found.candidates, outcomes[1:], strict=True)]

    def next_step(winner: Evaluation) -> NextStep:
        cand = winner.candidate
        if cand.distro == "alpine" and found_base.distro != "alpine" and cand.release:
            return NextStep("migrate", _migrate_command(source, cand.release, options))
        stage = found_base.stage
        root = df.lineage(stage)[-1]
        alias = f" AS {root.name}" if root.name else ""
        return NextStep("from", f"FROM {cand.reference}{alias}", line=found_base.line)

    return _finish(current, evaluations, found, next_step, warnings)


def recommend_image(
    reference: str,
    store: Store,
    options: RecommendOptions,
    *,
    lister: TagLister = _default_lister,
    reader: InventoryReader = read_image,
) -> Recommendation:
    """Recommend a base for the application in the image at ``reference`` (any transport)."""
    inventory = reader(reference, options.pull, options.use_cache)
    needs = image_needs(inventory, options.python)
    os_id = inventory.os.id if inventory.os else None
    label = image_base_label(inventory.image)
    base = parse_image_name(label) if label else None
    base_distro_rel = image_distro(base) if base is not None else None
    distro = os_id or (base_distro_rel[0] if base_distro_rel else None)
    release = inventory.os.release if inventory.os else None
    current_libc = libc_of(os_id)
    evaluator = _Evaluator(store, needs, current_libc, needs.package_manager, options, reader, None)
    warnings: list[str] = []
    found = discover(base, distro, release, needs, options, lister)
    refs = [*([base.raw] if base is not None else []), *(c.reference for c in found.candidates)]
    outcomes = evaluator.read_all(refs)
    base_outcome = outcomes.pop(0) if base is not None else None
    evaluations = [evaluator.evaluate(c, o) for c, o in zip(found.candidates, outcomes, strict=True)]
    image_measured = evaluator.measure(inventory)
    measured: Measurement | None
    error: str | None = None
    if base is not None:
        detected_by = "label"
        measured = None
        if isinstance(base_outcome, str):
            error = base_outcome
        elif base_outcome is not None:
            measured = evaluator.measure(base_outcome)
        base_ref: str | None = base.raw
    else:
        # compare's base detection (the longest candidate whose layers are a strict prefix of the
        # image's); labels are already handled above
        by_ref = {ev.candidate.reference: ev for ev in evaluations if ev.measurement is not None}
        found_base = detect_base(
            replace(inventory.image, labels=()),
            [BaseCandidate(ref, ev.measurement.diff_ids) for ref, ev in by_ref.items() if ev.measurement],
        )
        if found_base is not None and found_base.name in by_ref:
            base_ref, measured = found_base.name, by_ref[found_base.name].measurement
            shared = found_base.layers or 0
            detected_by = f"{shared} shared layer{'s' if shared != 1 else ''}"
        else:
            base_ref, measured = None, image_measured
            detected_by = "not detected"
            warnings.append(
                "the image's base was not detected (no org.opencontainers.image.base.name label, no candidate "
                "shares its layers): deltas are against the image itself, application layers included"
            )
    current = CurrentBase(
        subject=reference,
        kind="image",
        reference=base_ref,
        detected_by=detected_by,
        distro=distro,
        release=release,
        libc=current_libc,
        python=needs.python,
        python_from=needs.python_from,
        package_manager=needs.package_manager,
        measurement=measured,
        error=error,
    )

    def next_step(winner: Evaluation) -> NextStep:
        return NextStep("from", f"FROM {winner.candidate.reference}")

    return _finish(current, evaluations, found, next_step, warnings)
