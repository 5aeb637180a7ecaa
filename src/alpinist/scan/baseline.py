"""Baselines and the gate: the findings a team has accepted for an image, and what a new scan adds to them.

``alpinist baseline IMAGE`` records the findings of a scan (after the policy: ignore file and VEX apply)
as an ``alpinist-baseline/1`` document (``baseline_from_scan``, ``baseline_to_text``);
``alpinist gate IMAGE --baseline FILE`` reads it back (``read_baseline``, validated field by field) and
compares a new scan with it (``gate(result, baseline) -> GateResult``). Plain data and pure functions:
no file is read here except by ``read_baseline``, and nothing here prints.

Identity of a finding (``FindingKey``): the package type, the package name and the advisory package
(origin / source package / PEP 503 name / ``vendor:product``), and the vulnerability id *or any of its
aliases*. The installed version is not part of it: a finding whose package only moved to another
installed version that is still affected is the same finding ("version moved"), not a new one. A CVE
the feed now reports under its GHSA id (or the reverse) stays the same finding as long as one of the
ids is shared.

Pairing is one-to-one: a package found twice (a vendored copy beside the installed one) with the same
id needs two baseline entries. Within a package, a finding pairs first with an entry of the same id
and installed version, then with one of the same id, then with one sharing an alias.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast, get_args

from alpinist import __version__
from alpinist.advisories.model import SEVERITIES, Severity, Status, rank
from alpinist.errors import BadReference, BaselineError
from alpinist.images.reference import parse_registry_name
from alpinist.models import ImageFacts, PackageType
from alpinist.scan.model import Finding, ScanResult

SCHEMA_ID = "alpinist-baseline/1"
DEFAULT_FAIL_ON: Severity = "HIGH"

_PACKAGE_TYPES: tuple[str, ...] = get_args(PackageType)
_STATUSES: tuple[str, ...] = get_args(Status)


# ------------------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class BaselineEntry:
    """One accepted finding."""

    id: str
    aliases: tuple[str, ...]
    package_name: str
    package_type: str
    advisory_package: str
    installed_version: str
    severity: Severity
    status: str

    @property
    def package_key(self) -> tuple[str, str, str]:
        return (self.package_type, self.package_name, self.advisory_package)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset((self.id, *self.aliases))

    def sort_key(self) -> tuple[str, str, str, str, str, int, str]:
        return (
            self.package_type,
            self.package_name,
            self.advisory_package,
            self.id,
            self.installed_version,
            -rank(self.severity),
            self.status,
        )


@dataclass(frozen=True)
class BaselineImage:
    reference: str
    repository: str  # the image's repository name without tag or digest: what --force overrides
    manifest_digest: str | None


@dataclass(frozen=True)
class BaselineSource:
    name: str
    updated_at: str  # ISO 8601, UTC, as the database said


@dataclass(frozen=True)
class Baseline:
    image: BaselineImage
    sources: tuple[BaselineSource, ...]
    alpinist_version: str
    entries: tuple[BaselineEntry, ...]  # sorted (BaselineEntry.sort_key)


@dataclass(frozen=True)
class SeverityChange:
    entry: BaselineEntry
    finding: Finding  # today's, with today's severity


@dataclass(frozen=True)
class VersionMove:
    entry: BaselineEntry
    finding: Finding  # today's, with today's installed version


@dataclass(frozen=True)
class GateResult:
    scan: ScanResult
    baseline: Baseline
    new: tuple[Finding, ...]  # not in the baseline, worst first
    gone: tuple[BaselineEntry, ...]  # in the baseline, not found now
    changed: tuple[SeverityChange, ...]  # in both, another severity now
    moved: tuple[VersionMove, ...]  # in both, another installed version now (counted as unchanged)
    unchanged: int  # in both (moved and re-rated findings included)
    fail_on: Severity | None
    forced: bool = False  # --force: the baseline was recorded for another repository

    @property
    def failing(self) -> tuple[Finding, ...]:
        """The new findings at or above ``fail_on``."""
        if self.fail_on is None:
            return ()
        return tuple(f for f in self.new if rank(f.severity) >= rank(self.fail_on))

    @property
    def failed(self) -> bool:
        return bool(self.failing)


# ----------------------------------------------------------------------------------------------- building


def repository_name(facts: ImageFacts) -> str:
    """The repository an image belongs to, without tag or digest: ``docker.io/library/python-app`` for
    ``python-app:debian``; for an image without a name (``dir:``, an unnamed layout) the reference as
    written."""
    if facts.name:
        try:
            return parse_registry_name(facts.name).name
        except BadReference:
            return facts.name
    return facts.reference


def entry_of(f: Finding) -> BaselineEntry:
    return BaselineEntry(
        id=f.id,
        aliases=tuple(sorted(set(f.aliases) - {f.id})),
        package_name=f.package.name,
        package_type=f.package.type,
        advisory_package=f.advisory_package,
        installed_version=f.installed_version,
        severity=f.severity,
        status=f.status,
    )


def baseline_from_scan(result: ScanResult) -> Baseline:
    """The baseline of ``result``: its findings after the policy (suppressed ones are not recorded: the
    ignore file or VEX keeps suppressing them), sorted."""
    facts = result.inventory.image
    return Baseline(
        image=BaselineImage(facts.reference, repository_name(facts), facts.manifest_digest),
        sources=tuple(
            sorted(
                (
                    BaselineSource(s.name, s.updated_at.isoformat(timespec="seconds"))
                    for s in result.db_status
                ),
                key=lambda s: s.name,
            )
        ),
        alpinist_version=__version__,
        entries=tuple(sorted((entry_of(f) for f in result.findings), key=BaselineEntry.sort_key)),
    )


def baseline_to_dict(baseline: Baseline) -> dict[str, Any]:
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "alpinist", "version": baseline.alpinist_version},
        "image": {
            "reference": baseline.image.reference,
            "repository": baseline.image.repository,
            "manifest_digest": baseline.image.manifest_digest,
        },
        "database": {"sources": [{"name": s.name, "updated_at": s.updated_at} for s in baseline.sources]},
        "findings": [entry_to_dict(e) for e in baseline.entries],
    }


def entry_to_dict(e: BaselineEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "aliases": list(e.aliases),
        "package": {"name": e.package_name, "type": e.package_type},
        "advisory_package": e.advisory_package,
        "installed_version": e.installed_version,
        "severity": e.severity,
        "status": e.status,
    }


def baseline_to_text(baseline: Baseline) -> str:
    """The baseline as indented JSON with a final newline: the same findings give the same bytes."""
    return json.dumps(baseline_to_dict(baseline), indent=2, ensure_ascii=False) + "\n"


def write_baseline(baseline: Baseline, path: Path) -> None:
    """Write ``baseline`` to ``path`` (its directory created), replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(baseline_to_text(baseline), encoding="utf-8")
    tmp.replace(path)


# ------------------------------------------------------------------------------------------------ reading


class _Fields:
    """Reads one JSON object of the document, naming the field that fails."""

    def __init__(self, where: str, value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise BaselineError(f"{where}: {path or 'the document'}: expected an object, got {_kind(value)}")
        self.where, self.value, self.path = where, cast(dict[str, Any], value), path

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str) -> object:
        if key not in self.value:
            raise BaselineError(f"{self.where}: {self._name(key)}: missing")
        return self.value[key]

    def text(self, key: str, *, nullable: bool = False, choices: Sequence[str] = ()) -> Any:
        value = self.get(key)
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value:
            raise BaselineError(
                f"{self.where}: {self._name(key)}: expected a non-empty string, got {_kind(value)}"
            )
        if choices and value not in choices:
            raise BaselineError(
                f"{self.where}: {self._name(key)}: {value!r} is not one of {', '.join(choices)}"
            )
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise BaselineError(
                f"{self.where}: {self._name(key)}: expected a list of non-empty strings, got {_kind(value)}"
            )
        return tuple(value)

    def items(self, key: str) -> list[object]:
        value = self.get(key)
        if not isinstance(value, list):
            raise BaselineError(f"{self.where}: {self._name(key)}: expected a list, got {_kind(value)}")
        return value

    def child(self, key: str) -> _Fields:
        return _Fields(self.where, self.get(key), self._name(key))


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def parse_baseline(text: str, where: str = "baseline") -> Baseline:
    """A baseline from its JSON text; ``BaselineError`` naming ``where`` and the line (invalid JSON) or
    the field (anything else) that fails."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"{where}: line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})"
        ) from None
    top = _Fields(where, doc, "")
    schema = top.get("schema")
    if schema != SCHEMA_ID:
        raise BaselineError(
            f"{where}: schema: expected {SCHEMA_ID!r}, got {schema!r} (not an alpinist baseline, or a newer one)"
        )
    tool = top.child("tool")
    image = top.child("image")
    database = top.child("database")
    sources = []
    for i, item in enumerate(database.items("sources")):
        s = _Fields(where, item, f"database.sources[{i}]")
        updated = s.text("updated_at")
        try:
            datetime.fromisoformat(updated)
        except ValueError:
            raise BaselineError(
                f"{where}: database.sources[{i}].updated_at: {updated!r} is not an ISO 8601 time"
            ) from None
        sources.append(BaselineSource(s.text("name"), updated))
    entries = []
    for i, item in enumerate(top.items("findings")):
        e = _Fields(where, item, f"findings[{i}]")
        package = e.child("package")
        entries.append(
            BaselineEntry(
                id=e.text("id"),
                aliases=e.texts("aliases"),
                package_name=package.text("name"),
                package_type=package.text("type", choices=_PACKAGE_TYPES),
                advisory_package=e.text("advisory_package"),
                installed_version=e.text("installed_version"),
                severity=e.text("severity", choices=SEVERITIES),
                status=e.text("status", choices=_STATUSES),
            )
        )
    return Baseline(
        image=BaselineImage(
            reference=image.text("reference"),
            repository=image.text("repository"),
            manifest_digest=image.text("manifest_digest", nullable=True),
        ),
        sources=tuple(sources),
        alpinist_version=tool.text("version"),
        entries=tuple(sorted(entries, key=BaselineEntry.sort_key)),
    )


def read_baseline(path: Path) -> Baseline:
    """Read and validate the baseline file at ``path`` (``BaselineError`` when missing or invalid)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BaselineError(
            f"{path}: no such baseline file; record one with `alpinist baseline IMAGE -o {path}`"
        ) from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BaselineError(f"{path}: line {line}: not UTF-8 text") from None
    return parse_baseline(text, str(path))


def check_image(baseline: Baseline, facts: ImageFacts, where: str = "baseline") -> None:
    """``BaselineError`` when the baseline was recorded for another repository than ``facts``'s."""
    repository = repository_name(facts)
    if repository != baseline.image.repository:
        raise BaselineError(
            f"{where} was recorded for {baseline.image.repository}, not {repository}; "
            "use --force to compare anyway"
        )


# --------------------------------------------------------------------------------------------------- gate


def _finding_ids(f: Finding) -> frozenset[str]:
    return frozenset((f.id, *f.aliases))


def _package_key(f: Finding) -> tuple[str, str, str]:
    return (f.package.type, f.package.name, f.advisory_package)


def gate(
    result: ScanResult,
    baseline: Baseline,
    fail_on: Severity | None = DEFAULT_FAIL_ON,
    *,
    forced: bool = False,
) -> GateResult:
    """Compare today's findings (``result``, after the policy) with the accepted ones (see the module
    docstring for the identity rule and the pairing)."""
    by_package: dict[tuple[str, str, str], list[BaselineEntry]] = {}
    for accepted in baseline.entries:
        by_package.setdefault(accepted.package_key, []).append(accepted)
    used: set[int] = set()  # ids of paired entries (by position in baseline.entries)
    position = {id(e): i for i, e in enumerate(baseline.entries)}

    def pair(f: Finding) -> BaselineEntry | None:
        candidates = [e for e in by_package.get(_package_key(f), ()) if position[id(e)] not in used]
        ids = _finding_ids(f)
        for accept in (
            lambda e: e.id == f.id and e.installed_version == f.installed_version,
            lambda e: e.id == f.id,
            lambda e: bool(e.ids & ids),
        ):
            for e in candidates:
                if accept(e):
                    used.add(position[id(e)])
                    return e
        return None

    new: list[Finding] = []
    changed: list[SeverityChange] = []
    moved: list[VersionMove] = []
    unchanged = 0
    # exact pairs first, so that a moved copy never takes the entry of an unmoved one
    findings = sorted(
        result.findings,
        key=lambda f: (
            not any(
                e.id == f.id and e.installed_version == f.installed_version
                for e in by_package.get(_package_key(f), ())
            )
        ),
    )
    for f in findings:
        entry = pair(f)
        if entry is None:
            new.append(f)
            continue
        unchanged += 1
        if entry.severity != f.severity:
            changed.append(SeverityChange(entry, f))
        if entry.installed_version != f.installed_version:
            moved.append(VersionMove(entry, f))
    order = {id(f): i for i, f in enumerate(result.findings)}  # the scan's order: worst first
    gone = tuple(e for i, e in enumerate(baseline.entries) if i not in used)
    return GateResult(
        scan=result,
        baseline=baseline,
        new=tuple(sorted(new, key=lambda f: order[id(f)])),
        gone=gone,
        changed=tuple(sorted(changed, key=lambda c: order[id(c.finding)])),
        moved=tuple(sorted(moved, key=lambda m: order[id(m.finding)])),
        unchanged=unchanged,
        fail_on=fail_on,
        forced=forced,
    )


def count_by_severity(severities: Iterable[Severity]) -> Mapping[Severity, int]:
    """All six severities, worst first, with their counts."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for s in severities:
        counts[s] += 1
    return counts


def gate_summary_line(result: GateResult) -> str:
    """``3 new, 1 gone, 2 changed severity, 40 unchanged (1 version moved)``."""
    line = (
        f"{len(result.new)} new, {len(result.gone)} gone, {len(result.changed)} changed severity, "
        f"{result.unchanged} unchanged"
    )
    if result.moved:
        line += f" ({len(result.moved)} version moved)"
    return line


def gate_verdict(result: GateResult) -> str:
    """``FAIL: 2 new findings at or above HIGH`` / ``PASS: no new finding at or above HIGH``."""
    if result.fail_on is None:
        return "PASS: no --fail-on threshold"
    n = len(result.failing)
    if n:
        return f"FAIL: {n} new finding{'s' if n != 1 else ''} at or above {result.fail_on}"
    return f"PASS: no new finding at or above {result.fail_on}"
