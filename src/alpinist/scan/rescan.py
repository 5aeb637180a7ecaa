"""``rescan``: re-match every stored SBOM of a directory against today's database and say which images
gained or lost findings since their last rescan.

- **Which files**: every ``*.json`` file directly in the directory (not hidden, not in subdirectories),
  one SBOM per image, in any format ``inventory.sbom_import`` reads. Sorted by name.
- **State**: ``DIR/.alpinist-rescan.json`` (schema ``alpinist-rescan/1``), written atomically at the end
  of each run: per SBOM file name, the findings of its last successful rescan. A file that cannot be read
  keeps its previous entry (so its next good rescan compares with its last good one); an entry whose file
  is gone is dropped. With no entry (the first rescan of a file), every finding counts as gained.
- **Identity of a finding**: (id, package type, package name, package version). A new package version in
  the SBOM therefore loses the old version's findings and gains the new one's.
- **Gate**: ``failed`` when a gained finding is at or above ``fail_on``.

Matching is ``scan.matching.match`` through one :class:`~alpinist.scan.index_cache.CachingIndex` for the
whole directory: each advisory row set is read from the store once, not once per SBOM.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from alpinist.advisories.model import Severity, rank
from alpinist.advisories.store import Store
from alpinist.errors import SbomError
from alpinist.inventory.naming import image_title
from alpinist.inventory.sbom_import import read_sbom
from alpinist.scan.index_cache import CachingIndex
from alpinist.scan.matching import match
from alpinist.scan.model import Finding, FindingRef, ImageRescan, RescanResult, summarize
from alpinist.scan.scanning import staleness_warnings

STATE_FILE = ".alpinist-rescan.json"
STATE_SCHEMA = "alpinist-rescan/1"


def finding_ref(f: Finding) -> FindingRef:
    p = f.package
    return FindingRef(f.id, p.type, p.name, p.version, f.severity, f.fixed_version, f.status)


def sbom_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.json") if not p.name.startswith(".") and p.is_file())


def load_state(directory: Path) -> dict[str, list[FindingRef]]:
    """The findings of each file's last rescan (empty when there is no state yet). A state file that is
    not ours is an error rather than something to overwrite."""
    path = directory / STATE_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != STATE_SCHEMA:
            raise ValueError(f"schema {data.get('schema')!r}, expected {STATE_SCHEMA}")
        return {
            name: [FindingRef(*cast(list[Any], row)) for row in entry["findings"]]
            for name, entry in data["images"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SbomError(f"{path}: not a rescan state file ({exc}); move it away to start afresh") from None


def save_state(directory: Path, state: dict[str, list[FindingRef]], now: datetime) -> None:
    data = {
        "schema": STATE_SCHEMA,
        "rescanned_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "images": {
            name: {"findings": [list(_ref_row(r)) for r in sorted(refs)]}
            for name, refs in sorted(state.items())
        },
    }
    fd, tmp = tempfile.mkstemp(prefix=".alpinist-rescan.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1)
            out.write("\n")
        os.replace(tmp, directory / STATE_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _ref_row(r: FindingRef) -> tuple[object, ...]:
    return (r.id, r.type, r.package, r.version, r.severity, r.fixed_version, r.status)


def _diff(
    now: Iterable[FindingRef], before: Iterable[FindingRef]
) -> tuple[tuple[FindingRef, ...], tuple[FindingRef, ...]]:
    now_by = {r.key: r for r in now}
    before_by = {r.key: r for r in before}
    gained = tuple(sorted((r for k, r in now_by.items() if k not in before_by), key=_order))
    lost = tuple(sorted((r for k, r in before_by.items() if k not in now_by), key=_order))
    return gained, lost


def _order(r: FindingRef) -> tuple[int, str, str, str]:
    return (-rank(r.severity), r.package.lower(), r.version, r.id)


def rescan_directory(
    directory: Path,
    store: Store,
    *,
    fail_on: Severity | None = None,
    max_db_age: timedelta | None = None,
    now: datetime | None = None,
    save: bool = True,
) -> RescanResult:
    """Re-match every SBOM of ``directory`` (see the module docstring) and update its state file."""
    now = now or datetime.now(UTC)
    if not directory.is_dir():
        raise SbomError(f"{directory}: not a directory")
    state = load_state(directory)
    statuses = tuple(store.status(now))
    index = CachingIndex(store)
    images: list[ImageRescan] = []
    new_state: dict[str, list[FindingRef]] = {}
    failed = False
    threshold = rank(fail_on) if fail_on is not None else None
    for path in sbom_files(directory):
        try:
            imported = read_sbom(path)
        except SbomError as exc:
            images.append(ImageRescan(path.name, path.name, 0, error=str(exc)))
            if path.name in state:
                new_state[path.name] = state[path.name]
            continue
        matched = match(imported.inventory, index)
        refs = [finding_ref(f) for f in matched.findings]
        previous = state.get(path.name)
        gained, lost = _diff(refs, previous or ())
        if threshold is not None and any(rank(r.severity) >= threshold for r in gained):
            failed = True
        new_state[path.name] = refs
        images.append(
            ImageRescan(
                file=path.name,
                title=image_title(imported.inventory.image),
                findings=len(refs),
                gained=gained,
                lost=lost,
                first=previous is None,
                warnings=tuple(dict.fromkeys([*imported.warnings, *matched.warnings])),
                sbom_format=imported.format,
                summary=summarize(matched.findings, packages_scanned=len(imported.inventory.packages)),
                reference=imported.inventory.image.reference,
                manifest_digest=imported.inventory.image.manifest_digest,
            )
        )
    if save:
        save_state(directory, new_state, now)
    warnings = staleness_warnings(statuses, max_db_age) if max_db_age is not None else []
    return RescanResult(
        directory=str(directory),
        images=tuple(images),
        fail_on=fail_on,
        failed=failed,
        state_file=str(directory / STATE_FILE),
        warnings=tuple(warnings),
        db_status=statuses,
    )
