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

What makes 10,000 SBOMs cheap (``bench/rescan_bench.py``): the findings of one package depend on that
package and its OS only (``match`` decides, merges aliases and describes per package), so alpinist JSON is
read with a memo per (OS, package entry as parsed): a package met before costs one dict lookup, a new one
is built by ``serialize.package_from_dict`` and matched alone. An SBOM with a package whose lone match
warned (a branch missing from the database, a version its scheme rejects, a record that cannot be
evaluated), or in another format, is matched whole, as before, so its warnings are those of ``match``.
The state file is written one image per line, each line's rows sorted; an image whose line is unchanged
has neither gained nor lost findings, and only a changed line is parsed again.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple, cast

from alpinist.advisories.model import SEVERITIES, Severity, rank
from alpinist.advisories.store import Store
from alpinist.errors import SbomError
from alpinist.inventory.naming import image_title
from alpinist.inventory.sbom_import import is_alpinist_json, malformed, read_json, sbom_from_data
from alpinist.inventory.serialize import InventoryHead, package_from_dict, read_head
from alpinist.models import ImageFacts, Inventory, OSInfo
from alpinist.scan.index_cache import CachingIndex
from alpinist.scan.matching import match
from alpinist.scan.model import Finding, FindingRef, ImageRescan, RescanResult, Summary
from alpinist.scan.scanning import staleness_warnings

STATE_FILE = ".alpinist-rescan.json"
STATE_SCHEMA = "alpinist-rescan/1"
_MIN_PER_WORKER = 50  # fewer files per process than this: one process


def finding_ref(f: Finding) -> FindingRef:
    p = f.package
    return FindingRef(f.id, p.type, p.name, p.version, f.severity, f.fixed_version, f.status)


def sbom_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.json") if not p.name.startswith(".") and p.is_file())


# ---------------------------------------------------------------------------------------------- state


def _ref_row(r: FindingRef) -> tuple[object, ...]:
    return (r.id, r.type, r.package, r.version, r.severity, r.fixed_version, r.status)


def _row_text(r: FindingRef) -> str:
    return json.dumps(_ref_row(r), separators=(",", ":"))


def _refs_of(rows: object) -> list[FindingRef]:
    return [FindingRef(*cast(list[Any], row)) for row in cast(list[Any], rows)]


def _digest(body: str | bytes) -> bytes:
    return hashlib.blake2b(body.encode() if isinstance(body, str) else body, digest_size=16).digest()


class _Previous:
    """One file's entry in the state file: its rows as written (a digest and where they are), parsed only
    when they are needed (the file's findings changed), or its findings (a state file of another layout)."""

    __slots__ = ("_refs", "digest", "length", "offset", "path")

    def __init__(
        self,
        path: Path,
        *,
        offset: int = 0,
        length: int = 0,
        digest: bytes = b"",
        refs: list[FindingRef] | None = None,
    ) -> None:
        self.path, self.offset, self.length, self.digest, self._refs = path, offset, length, digest, refs

    def body(self) -> str:
        """The rows, as the text between the brackets of ``"findings": [...]``."""
        if self._refs is not None:
            return ",".join(sorted(_row_text(r) for r in self._refs))
        with self.path.open("rb") as f:
            f.seek(self.offset)
            return f.read(self.length).decode()

    def refs(self) -> list[FindingRef]:
        if self._refs is None:
            try:
                self._refs = _refs_of(json.loads(f"[{self.body()}]"))
            except (ValueError, TypeError) as exc:
                raise SbomError(
                    f"{self.path}: not a rescan state file ({exc}); move it away to start afresh"
                ) from None
        return self._refs


_HEAD = re.compile(rb'\{"schema": "alpinist-rescan/1", "rescanned_at": "[0-9T:Z-]*", "images": \{\n')
_SEPARATOR = b': {"findings": ['  # cannot occur inside a JSON-encoded name (its quotes are escaped)


def _read_state(directory: Path) -> dict[str, _Previous]:
    """The state file, each entry left unparsed when the file has the layout :func:`_write_state` writes;
    another layout (an older alpinist's) is parsed whole."""
    path = directory / STATE_FILE
    if not path.exists():
        return {}
    try:
        entries = _read_lines(path)
    except (OSError, ValueError, UnicodeDecodeError):
        entries = None
    if entries is not None:
        return entries
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != STATE_SCHEMA:
            raise ValueError(f"schema {data.get('schema')!r}, expected {STATE_SCHEMA}")
        return {
            name: _Previous(path, refs=_refs_of(entry["findings"])) for name, entry in data["images"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SbomError(f"{path}: not a rescan state file ({exc}); move it away to start afresh") from None


def _read_lines(path: Path) -> dict[str, _Previous] | None:
    entries: dict[str, _Previous] = {}
    with path.open("rb") as f:
        head = f.readline()
        if not _HEAD.fullmatch(head):
            return None
        offset = len(head)
        ended = False
        for line in f:
            if ended:
                return None
            if line == b"}}\n":
                ended = True
                continue
            where = line.find(_SEPARATOR)
            if where < 0 or not (line.endswith(b"]},\n") or line.endswith(b"]}\n")):
                return None
            end = len(line) - (4 if line.endswith(b"]},\n") else 3)
            name = json.loads(line[:where])
            if not isinstance(name, str):
                return None
            start = where + len(_SEPARATOR)
            body = line[start:end]
            entries[name] = _Previous(path, offset=offset + start, length=len(body), digest=_digest(body))
            offset += len(line)
        return entries if ended else None


def _write_state(directory: Path, state: Mapping[str, Sequence[str] | _Previous], now: datetime) -> None:
    """One image per line (``"name": {"findings": [rows]}``), each row compact JSON, rows sorted: valid
    ``alpinist-rescan/1`` JSON that :func:`_read_lines` can read back one line at a time."""
    fd, tmp = tempfile.mkstemp(prefix=".alpinist-rescan.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(
                f'{{"schema": "{STATE_SCHEMA}", "rescanned_at": "{now.strftime("%Y-%m-%dT%H:%M:%SZ")}", '
                '"images": {\n'
            )
            names = sorted(state)
            for n, name in enumerate(names):
                entry = state[name]
                body = entry.body() if isinstance(entry, _Previous) else ",".join(entry)
                out.write(
                    f'{json.dumps(name)}: {{"findings": [{body}]}}{"," if n < len(names) - 1 else ""}\n'
                )
            out.write("}}\n")
        os.replace(tmp, directory / STATE_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_state(directory: Path) -> dict[str, list[FindingRef]]:
    """The findings of each file's last rescan (empty when there is no state yet). A state file that is
    not ours is an error rather than something to overwrite."""
    return {name: entry.refs() for name, entry in _read_state(directory).items()}


def save_state(directory: Path, state: dict[str, list[FindingRef]], now: datetime) -> None:
    _write_state(directory, {name: sorted(map(_row_text, refs)) for name, refs in state.items()}, now)


# ---------------------------------------------------------------------------------------------- diff


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


# ---------------------------------------------------------------------------------------------- matching


class _Found(NamedTuple):
    """Findings as ``rescan`` needs them, in ``match``'s order, with what it computes of each once."""

    refs: tuple[FindingRef, ...]
    keys: tuple[tuple[str, str, str, str], ...]  # FindingRef.key
    orders: tuple[tuple[int, str, str, str], ...]  # _order
    sorts: tuple[tuple[int, str, str, str], ...]  # match()'s sort key of the finding
    rows: tuple[str, ...]  # _row_text


def _found(findings: Sequence[Finding]) -> _Found:
    refs = tuple(finding_ref(f) for f in findings)
    return _Found(
        refs,
        tuple(r.key for r in refs),
        tuple(_order(r) for r in refs),
        tuple((-rank(f.severity), f.package.name, f.package.version, f.id) for f in findings),
        tuple(_row_text(r) for r in refs),
    )


class _Image(NamedTuple):
    title: str
    format: str
    warnings: tuple[str, ...]
    found: Sequence[_Found]  # per package (alpinist JSON read with the memo), else one for the SBOM
    facts: ImageFacts  # the image the SBOM records (reference, digest: for the history store)
    packages: int  # packages in the SBOM


class _Memo:
    """Each package entry met (as parsed) with its findings when matched alone, or None when that match
    warned. An entry is found again by its name, version and purl, then compared whole: equal values of
    the same types (so ``true`` and ``1`` differ) read back as the same package."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[
            tuple[object, ...], list[tuple[Mapping[str, object], tuple[type, ...], _Found | None]]
        ] = {}

    def key(self, entry: Mapping[str, object]) -> tuple[object, ...]:
        locations = entry.get("locations")  # PyPI copies of one version differ by where they are
        if type(locations) is list:
            locations = tuple(cast(list[object], locations))
        return (
            entry.get("name"),
            entry.get("version"),
            entry.get("purl"),
            locations,
        )  # unhashable: TypeError

    def get(self, key: tuple[object, ...], entry: Mapping[str, object]) -> Any:  # _Found, None or _MISSING
        for known, types, found in self.entries.get(key, ()):
            if known == entry and types == tuple(map(type, entry.values())):
                return found
        return _MISSING

    def put(self, key: tuple[object, ...], entry: Mapping[str, object], found: _Found | None) -> None:
        self.entries.setdefault(key, []).append((entry, tuple(map(type, entry.values())), found))


_MISSING: Any = object()


class _Rematcher:
    def __init__(self, store: Store) -> None:
        self.index = CachingIndex(store)
        self.alone = self.index.sibling()
        # per OS, per package entry: its findings when matched alone, or None when that match warned
        self.memo: dict[OSInfo | None, _Memo] = {}

    def read(self, path: Path) -> _Image:
        """Read and match one SBOM; :class:`SbomError` as ``read_sbom``."""
        return self.read_data(read_json(path), path)

    def read_data(self, data: object, path: Path) -> _Image:
        """Match one SBOM already parsed from JSON (``path`` names it in errors)."""
        if is_alpinist_json(data):
            try:
                head = read_head(cast(Mapping[str, Any], data))
                found = self._memoized(head)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise malformed(path, exc) from None
            if found is not None:
                schema = cast(Mapping[str, str], data)["schema"]
                return _Image(image_title(head.image), schema, (), found, head.image, len(head.packages))
        try:
            imported = sbom_from_data(data, str(path))
        except SbomError as exc:
            raise SbomError(f"{path}: {exc}") from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise malformed(path, exc) from None
        matched = match(imported.inventory, self.index)
        warnings = tuple(dict.fromkeys([*imported.warnings, *matched.warnings]))
        inventory = imported.inventory
        whole = (_found(matched.findings),)
        return _Image(
            image_title(inventory.image),
            imported.format,
            warnings,
            whole,
            inventory.image,
            len(inventory.packages),
        )

    def _memoized(self, head: InventoryHead) -> list[_Found] | None:
        """Each package's findings, or None when the SBOM must be matched whole."""
        memo = self.memo.get(head.os)
        if memo is None:
            memo = self.memo[head.os] = _Memo()
        out: list[_Found] = []
        for i, raw in enumerate(head.packages):
            entry = cast(Mapping[str, object], raw)
            key = memo.key(entry)
            try:
                found = memo.get(key, entry)
            except TypeError:  # unhashable: an entry the memo does not take
                return None
            if found is _MISSING:
                package = package_from_dict(entry, f"$.packages[{i}]")
                alone = match(Inventory(image=head.image, os=head.os, packages=(package,)), self.alone)
                found = None if alone.warnings else _found(alone.findings)
                memo.put(key, entry, found)
            if found is None:
                return None
            out.append(found)
        return out


def _in_match_order(found: Sequence[_Found]) -> tuple[FindingRef, ...]:
    """The findings of per-package matches in ``match()``'s order of the whole SBOM (a stable sort)."""
    if len(found) == 1:
        return found[0].refs
    refs = tuple(chain.from_iterable(f.refs for f in found))
    sorts = tuple(chain.from_iterable(f.sorts for f in found))
    return tuple(refs[i] for i in sorted(range(len(refs)), key=sorts.__getitem__))


def _compare(
    found: Sequence[_Found], previous: _Previous | None
) -> tuple[int, list[str], tuple[FindingRef, ...], tuple[FindingRef, ...]]:
    """(findings, sorted rows, gained, lost): as ``_diff`` of ``match``'s findings against the previous
    state, without parsing the previous rows when the rows are unchanged."""
    one = found[0] if len(found) == 1 else None
    refs = one.refs if one else tuple(chain.from_iterable(f.refs for f in found))
    rows = sorted(one.rows if one else chain.from_iterable(f.rows for f in found))
    if previous is not None and previous.digest and previous.digest == _digest(",".join(rows)):
        return len(refs), rows, (), ()
    keys = one.keys if one else tuple(chain.from_iterable(f.keys for f in found))
    orders = one.orders if one else tuple(chain.from_iterable(f.orders for f in found))
    now_by = dict(zip(keys, zip(orders, refs, strict=True), strict=True))
    if previous is None and len(set(rows)) == len(now_by) == len(set(orders)):
        # findings that share a key are equal, and no two others share an order: the order the packages came
        # in cannot matter (which of equal findings is kept, where a tie goes)
        return len(refs), rows, tuple(r for _, r in sorted(now_by.values())), ()
    if len(found) > 1:
        refs = _in_match_order(found)
    gained, lost = _diff(refs, previous.refs() if previous is not None else ())
    return len(refs), rows, gained, lost


class _Part(NamedTuple):
    images: list[ImageRescan]
    rows: list[list[str] | None]  # per image: its rows for the state (None: unreadable, keep the old entry)
    failed: bool


def _rescan_part(
    store: Store, paths: Sequence[Path], state: Mapping[str, _Previous], threshold: int | None
) -> _Part:
    rematcher = _Rematcher(store)
    part = _Part([], [], False)
    failed = False
    for path in paths:
        try:
            image = rematcher.read(path)
        except SbomError as exc:
            part.images.append(ImageRescan(path.name, path.name, 0, error=str(exc)))
            part.rows.append(None)
            continue
        previous = state.get(path.name)
        count, rows, gained, lost = _compare(image.found, previous)
        if threshold is not None and any(rank(r.severity) >= threshold for r in gained):
            failed = True
        part.rows.append(rows)
        part.images.append(
            ImageRescan(
                file=path.name,
                title=image.title,
                findings=count,
                gained=gained,
                lost=lost,
                first=previous is None,
                warnings=image.warnings,
                sbom_format=image.format,
                summary=_summary(image),
                reference=image.facts.reference,
                manifest_digest=image.facts.manifest_digest,
            )
        )
    return part._replace(failed=failed)


def _summary(image: _Image) -> Summary:
    """The counts of the image's findings now (for the history store), from what the rescan keeps of them."""
    refs = [ref for found in image.found for ref in found.refs]
    counts = Counter(ref.severity for ref in refs)
    return Summary(
        vulnerabilities=len(refs),
        packages=len({(ref.type, ref.package, ref.version) for ref in refs}),
        by_severity=tuple((s, counts.get(s, 0)) for s in SEVERITIES),
        unique_ids=len({ref.id for ref in refs}),
        packages_scanned=image.packages,
    )


class Rematched(NamedTuple):
    """One stored SBOM matched again: its findings in ``match``'s order, the warnings, the image it records."""

    findings: tuple[FindingRef, ...]
    warnings: tuple[str, ...]
    facts: ImageFacts
    packages: int  # packages in the SBOM


class Rematcher:
    """Match many stored SBOMs against one store with the memo ``rescan`` uses (see the module docstring):
    what ``fleet rescan`` runs on each engine worker, one instance per batch of SBOMs."""

    def __init__(self, store: Store) -> None:
        self._inner = _Rematcher(store)

    def rematch(self, text: str | bytes, name: str) -> Rematched:
        """Match the SBOM ``text`` (any format ``read_sbom`` reads); :class:`SbomError` names ``name``."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise malformed(Path(name), exc) from None
        image = self._inner.read_data(data, Path(name))
        return Rematched(_in_match_order(image.found), image.warnings, image.facts, image.packages)


# what a forked worker reads (set before the pool forks; a worker opens its own connection to the store)
_JOB: tuple[Path, list[list[Path]], Mapping[str, _Previous], int | None] | None = None


def _worker(n: int) -> _Part:
    assert _JOB is not None
    db, chunks, state, threshold = _JOB
    with Store.open(db) as store:
        return _rescan_part(store, chunks[n], state, threshold)


def _rescan_parallel(
    store: Store, paths: list[Path], state: Mapping[str, _Previous], threshold: int | None, workers: int
) -> list[_Part]:
    global _JOB
    size = -(-len(paths) // workers)
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    _JOB = (store.path, chunks, state, threshold)
    try:
        with ProcessPoolExecutor(len(chunks), mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_worker, range(len(chunks))))
    finally:
        _JOB = None


def rescan_directory(
    directory: Path,
    store: Store,
    *,
    fail_on: Severity | None = None,
    max_db_age: timedelta | None = None,
    now: datetime | None = None,
    save: bool = True,
    workers: int = 1,
) -> RescanResult:
    """Re-match every SBOM of ``directory`` (see the module docstring) and update its state file.

    ``workers`` > 1 splits the files (in order) over that many forked processes, each opening the store
    again (read-only), where ``fork`` exists and there are enough files. The findings, gained and lost are
    the same; a record that cannot be evaluated is warned about in the first SBOM that meets it in each
    process rather than in the first of all."""
    now = now or datetime.now(UTC)
    if not directory.is_dir():
        raise SbomError(f"{directory}: not a directory")
    state = _read_state(directory)
    statuses = tuple(store.status(now))
    threshold = rank(fail_on) if fail_on is not None else None
    paths = sbom_files(directory)
    parallel = (
        workers > 1
        and len(paths) >= _MIN_PER_WORKER * 2
        and "fork" in multiprocessing.get_all_start_methods()
    )
    if parallel:
        parts = _rescan_parallel(store, paths, state, threshold, min(workers, len(paths) // _MIN_PER_WORKER))
    else:
        parts = [_rescan_part(store, paths, state, threshold)]
    images: list[ImageRescan] = []
    new_state: dict[str, Sequence[str] | _Previous] = {}
    for part in parts:
        for image, rows in zip(part.images, part.rows, strict=True):
            images.append(image)
            if rows is not None:
                new_state[image.file] = rows
            elif image.file in state:
                new_state[image.file] = state[image.file]
    if save:
        _write_state(directory, new_state, now)
    warnings = staleness_warnings(statuses, max_db_age) if max_db_age is not None else []
    return RescanResult(
        directory=str(directory),
        images=tuple(images),
        fail_on=fail_on,
        failed=any(part.failed for part in parts),
        state_file=str(directory / STATE_FILE),
        warnings=tuple(warnings),
        db_status=statuses,
    )
