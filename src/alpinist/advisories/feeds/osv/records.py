"""OSV bulk exports: ``https://osv-vulnerabilities.storage.googleapis.com/{ECOSYSTEM}/all.zip``.

One OSV JSON record per zip member. The members are read one at a time from the archive (never
extracted to disk), each bounded in size, their number bounded too: a zip bomb or an endless archive is
refused with ``FeedError``.

Per record (https://ossf.github.io/osv-schema/):

- ``withdrawn`` set: the record is skipped (counted in ``stats.skipped["withdrawn"]``).
- ``Vulnerability(id, aliases, summary, published, modified, references, cvss)``; ``severity[]`` CVSS
  vectors (``CVSS_V2``/``CVSS_V3``/``CVSS_V4``) become ``CvssScore``s whose base score is computed from
  the vector with the ``cvss`` package (OSV gives the vector only), source ``osv:<id prefix>``
  (``osv:PYSEC``, ``osv:GHSA``).
- ``affected[]`` of a configured ecosystem (``PyPI``: names PEP 503-normalized) -> one ``Affected`` per
  package in namespace ``pypi``; ``ranges[]`` of type ``ECOSYSTEM`` (and ``SEMVER``, alike for PyPI) ->
  ``VersionRange``s from the events (``introduced`` ``0`` = from the beginning, ``fixed`` exclusive end,
  ``last_affected`` inclusive end, an ``introduced`` left open = no end); ``GIT`` ranges are ignored
  (commit hashes say nothing about installed versions); explicit ``versions`` are kept. Status ``fixed``
  when some range has a ``fixed`` event, else ``open``; ``fixed_version`` is the lowest fix, for display
  only - matching goes by the ranges. An affected entry with neither ranges we can use nor versions says
  nothing we can match and is skipped (counted).
- ``database_specific.severity`` (GitHub's LOW/MODERATE/HIGH/CRITICAL; MODERATE = MEDIUM) becomes the
  ``Affected.severity``, with ``severity_note="ghsa"``.
"""

from __future__ import annotations

import logging
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvss import CVSS2, CVSS3, CVSS4, CVSSError
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from alpinist.advisories.cvss import cvss_band
from alpinist.advisories.feed import (
    Batcher,
    FeedBatch,
    ParseStats,
    SourceBase,
    as_list,
    check_file_size,
    json_document,
)
from alpinist.advisories.model import Affected, CvssScore, Severity, VersionRange, Vulnerability
from alpinist.errors import FeedError

if TYPE_CHECKING:
    from alpinist.advisories.download import Fetcher

log = logging.getLogger(__name__)

OSV_URL = "https://osv-vulnerabilities.storage.googleapis.com"
DEFAULT_OSV_ECOSYSTEMS: tuple[str, ...] = ("PyPI",)
MAX_ZIP_BYTES = 4 * 1024**3  # the biggest export (all ecosystems) is ~1 GB; PyPI's is ~30 MB
MAX_MEMBER_BYTES = 16 * 1024 * 1024  # the largest real record is well under 1 MB
MAX_MEMBERS = 2_000_000
MAX_TOTAL_BYTES = 16 * 1024**3  # uncompressed bytes read from one archive

# Ecosystem -> namespace of its Affected rows (and the name normalization it needs).
NAMESPACES: dict[str, str] = {"PyPI": "pypi"}
_RANGE_TYPES = ("ECOSYSTEM", "SEMVER")
_GHSA_SEVERITY: dict[str, Severity] = {
    "LOW": "LOW",
    "MODERATE": "MEDIUM",
    "MEDIUM": "MEDIUM",
    "HIGH": "HIGH",
    "CRITICAL": "CRITICAL",
}
_CVSS_SEVERITY: dict[str, Severity] = {
    "NONE": "NEGLIGIBLE",
    "LOW": "LOW",
    "MEDIUM": "MEDIUM",
    "HIGH": "HIGH",
    "CRITICAL": "CRITICAL",
}


def normalize_name(ecosystem: str, name: str) -> str:
    return canonicalize_name(name) if ecosystem == "PyPI" else name


def cvss_score(kind: str, vector: str, source: str) -> CvssScore:
    """A ``CvssScore`` from an OSV ``severity`` entry; raises ValueError on a vector we cannot score."""
    vector = vector.strip()
    try:
        if kind == "CVSS_V4" or vector.startswith("CVSS:4.0/"):
            v4 = CVSS4(vector)
            return CvssScore("4.0", vector, float(v4.base_score), _CVSS_SEVERITY[v4.severity.upper()], source)
        if kind == "CVSS_V3" or vector.startswith("CVSS:3."):
            v3 = CVSS3(vector)
            version = "3.1" if vector.startswith("CVSS:3.1/") else "3.0"
            severity = _CVSS_SEVERITY[v3.severities()[0].upper()]
            return CvssScore(version, vector, float(v3.base_score), severity, source)
        if kind == "CVSS_V2":
            score = float(CVSS2(vector).base_score)
            return CvssScore("2.0", vector, score, cvss_band("2.0", score), source)
    except (CVSSError, KeyError, ValueError, ArithmeticError) as exc:
        raise ValueError(f"bad {kind} vector {vector!r}: {exc}") from None
    raise ValueError(f"unsupported severity type {kind!r}")


def ranges_from_events(
    events: Sequence[dict[str, Any]], ecosystem: str
) -> tuple[list[VersionRange], list[str]]:
    """``(affected ranges, fixed versions)`` of one OSV range's events.

    The spec lets events come in any order and evaluates them sorted by version; PEP 440 versions are
    sorted here so, when every one parses (``0`` first). Otherwise the feed's order is kept.
    """
    pairs = [
        (kind, str(value)) for event in events if isinstance(event, dict) for kind, value in event.items()
    ]
    if ecosystem == "PyPI":
        pairs = _sorted_pep440(pairs)
    ranges: list[VersionRange] = []
    fixes: list[str] = []
    start: str | None = None
    is_open = False
    for kind, value in pairs:
        if kind == "introduced" and not is_open:
            start = None if value == "0" else value
            is_open = True
        elif kind in ("fixed", "last_affected"):
            if kind == "fixed":
                fixes.append(value)
            if is_open:
                ranges.append(VersionRange(start=start, end=value, end_inclusive=kind == "last_affected"))
                is_open = False
        # "limit" bounds GIT ranges' commit walks; it says nothing about ECOSYSTEM versions
    if is_open:
        ranges.append(VersionRange(start=start))
    return ranges, fixes


def _sorted_pep440(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    try:
        keyed = [(Version("0") if value == "0" else Version(value), kind, value) for kind, value in pairs]
    except InvalidVersion:
        return pairs
    order = {"introduced": 0, "last_affected": 1, "fixed": 1, "limit": 2}  # at one version, open before close
    keyed.sort(key=lambda item: (item[0], order.get(item[1], 3)))
    return [(kind, value) for _, kind, value in keyed]


def _lowest(versions: list[str], ecosystem: str) -> str | None:
    if not versions:
        return None
    if ecosystem == "PyPI":
        try:
            return min(versions, key=Version)
        except InvalidVersion:
            pass
    return versions[0]


class OsvSource(SourceBase):
    name = "osv"

    def __init__(
        self, ecosystems: Sequence[str] = DEFAULT_OSV_ECOSYSTEMS, *, base_url: str = OSV_URL
    ) -> None:
        unknown = [e for e in ecosystems if e not in NAMESPACES]
        if unknown:
            raise ValueError(
                f"unsupported OSV ecosystem {', '.join(unknown)} (supported: {', '.join(NAMESPACES)})"
            )
        self.ecosystems = tuple(ecosystems)
        self.base_url = base_url.rstrip("/")
        self.stats = ParseStats()
        self._fetched: list[str] = []
        self.max_member_bytes = MAX_MEMBER_BYTES
        self.max_members = MAX_MEMBERS
        self.max_total_bytes = MAX_TOTAL_BYTES

    def url(self, ecosystem: str) -> str:
        return f"{self.base_url}/{ecosystem}/all.zip"

    def feed_urls(self) -> list[str]:
        return list(self._fetched)

    def fetch(self, fetcher: Fetcher, workdir: Path, since: str | None) -> list[Path]:
        files = []
        self._fetched = []
        for ecosystem in self.ecosystems:
            url = self.url(ecosystem)
            files.append(fetcher.get_to_file(url, workdir / f"osv-{ecosystem}.zip", max_bytes=MAX_ZIP_BYTES))
            self._fetched.append(url)
        return files

    def parse(self, files: list[Path]) -> Iterator[FeedBatch]:
        self.stats = ParseStats()
        batch = Batcher(self.stats)
        for path in files:
            for where, record in self._records(path):
                self._add_record(batch, where, record)
                if batch.full:
                    yield batch.take()
        if batch:
            yield batch.take()

    # -- the archive ---------------------------------------------------------------------------------
    def _records(self, path: Path) -> Iterator[tuple[str, Any]]:
        check_file_size(path, MAX_ZIP_BYTES)
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError) as exc:
            # NotImplementedError: a "version needed to extract" zipfile does not know (found by atheris)
            raise FeedError(str(path), f"not a zip archive ({exc})") from None
        except OSError as exc:
            raise FeedError(str(path), f"cannot read: {exc.strerror or exc}") from None
        with archive:
            members = archive.infolist()
            if len(members) > self.max_members:
                raise FeedError(
                    str(path), f"{len(members)} members, more than the limit of {self.max_members}"
                )
            total = 0
            for info in members:
                if not info.filename.endswith(".json") or info.is_dir():  # is_dir() fails on a name ""
                    continue
                where = f"{path}:{info.filename}"
                if info.file_size > self.max_member_bytes:
                    raise FeedError(
                        where, f"{info.file_size} bytes, more than the limit of {self.max_member_bytes}"
                    )
                data = self._read_member(archive, info, where)
                total += len(data)
                if total > self.max_total_bytes:
                    raise FeedError(
                        str(path), f"more than {self.max_total_bytes} bytes uncompressed; refused"
                    )
                yield where, json_document(data, where)

    def _read_member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> bytes:
        # The header's size can lie: read at most one byte more than the bound and check.
        try:
            with archive.open(info) as member:
                data = member.read(self.max_member_bytes + 1)
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            NotImplementedError,
            EOFError,
            OSError,
            ValueError,
            zlib.error,
        ) as exc:
            raise FeedError(where, f"corrupt zip member: {exc}") from None
        except RuntimeError:  # zipfile raises it for an encrypted member, its text a ZipInfo repr
            raise FeedError(where, "unreadable zip member: encrypted (a password is required)") from None
        if len(data) > self.max_member_bytes:
            raise FeedError(where, f"decompresses to more than {self.max_member_bytes} bytes; refused")
        return data

    # -- one record ----------------------------------------------------------------------------------
    def _add_record(self, batch: Batcher, where: str, record: Any) -> None:
        if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
            raise FeedError(where, "not an OSV record: no 'id'")
        vuln_id: str = record["id"]
        self.stats.records += 1
        if record.get("withdrawn"):
            self.stats.skip("withdrawn")
            return
        severity, note = _vendor_severity(record)
        for ecosystem, package, affected in self._affected_entries(record):
            row = self._affected_row(vuln_id, ecosystem, package, affected, severity, note)
            if row is None:
                self.stats.skip("affected entry without usable ranges or versions")
                continue
            batch.add_affected(row)
        batch.add_vulnerability(self._vulnerability(vuln_id, record))

    def _affected_entries(self, record: dict[str, Any]) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
        """``(ecosystem, normalized package, [affected entries])``: entries of one package merged."""
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for affected in as_list(record.get("affected")):
            package = affected.get("package") if isinstance(affected, dict) else None
            if not isinstance(package, dict):
                continue
            ecosystem, name = package.get("ecosystem"), package.get("name")
            if ecosystem not in self.ecosystems or not isinstance(name, str) or not name:
                continue
            grouped.setdefault((ecosystem, normalize_name(ecosystem, name)), []).append(affected)
        for (ecosystem, package), entries in grouped.items():
            yield ecosystem, package, entries

    @staticmethod
    def _affected_row(
        vuln_id: str,
        ecosystem: str,
        package: str,
        entries: list[dict[str, Any]],
        severity: Severity | None,
        note: str | None,
    ) -> Affected | None:
        ranges: list[VersionRange] = []
        fixes: list[str] = []
        versions: list[str] = []
        for affected in entries:
            for version_range in as_list(affected.get("ranges")):
                if not isinstance(version_range, dict) or version_range.get("type") not in _RANGE_TYPES:
                    continue
                found, fixed = ranges_from_events(as_list(version_range.get("events")), ecosystem)
                ranges.extend(found)
                fixes.extend(fixed)
            versions.extend(
                str(v) for v in as_list(affected.get("versions")) if isinstance(v, str | int | float)
            )
        if not ranges and not versions:
            return None
        return Affected(
            vuln_id,
            "osv",
            NAMESPACES[ecosystem],
            package,
            "fixed" if fixes else "open",
            fixed_version=_lowest(fixes, ecosystem),
            ranges=tuple(dict.fromkeys(ranges)),
            versions=tuple(dict.fromkeys(versions)),
            severity=severity,
            severity_note=note,
        )

    def _vulnerability(self, vuln_id: str, record: dict[str, Any]) -> Vulnerability:
        prefix = vuln_id.split("-", 1)[0]
        scores = []
        for entry in as_list(record.get("severity")):
            if not isinstance(entry, dict) or not isinstance(entry.get("score"), str):
                continue
            try:
                scores.append(cvss_score(str(entry.get("type")), entry["score"], f"osv:{prefix}"))
            except ValueError as exc:
                log.warning("OSV %s: %s; score ignored", vuln_id, exc)
                self.stats.skip("unscorable severity")
        aliases = tuple(a for a in as_list(record.get("aliases")) if isinstance(a, str) and a != vuln_id)
        references = tuple(
            r["url"]
            for r in as_list(record.get("references"))
            if isinstance(r, dict) and isinstance(r.get("url"), str)
        )
        return Vulnerability(
            vuln_id,
            aliases=aliases,
            summary=_summary(record),
            published=_text(record.get("published")),
            modified=_text(record.get("modified")),
            references=references,
            cvss=tuple(scores),
        )


def _vendor_severity(record: dict[str, Any]) -> tuple[Severity | None, str | None]:
    specific = record.get("database_specific")
    raw = specific.get("severity") if isinstance(specific, dict) else None
    if isinstance(raw, str) and raw.upper() in _GHSA_SEVERITY:
        return _GHSA_SEVERITY[raw.upper()], "ghsa"
    return None, None


def _summary(record: dict[str, Any]) -> str | None:
    summary = _text(record.get("summary"))
    if summary:
        return summary
    details = _text(record.get("details"))
    if not details:
        return None
    first = details.strip().split("\n\n", 1)[0].strip()
    return first if len(first) <= 1000 else first[:997] + "..."


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None
