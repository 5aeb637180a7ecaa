"""Debian security tracker: ``https://security-tracker.debian.org/tracker/data/json``.

Shape: ``data[source_package][CVE_or_TEMP_id] = {description, debianbug, scope, releases: {codename:
{status, fixed_version?, urgency, nodsa?, nodsa_reason?, repositories}}}``. About 50 MB upstream and
growing, so it is read as a **stream** (``ijson``, C backend when available): one package/id entry is
built at a time and the rows leave in ``FeedBatch`` chunks; memory does not grow with the file, nor with
the number of ids of one package (``linux`` has tens of thousands).

One ``Affected(namespace="debian:<codename>", package=<source package>)`` per release present, with
the tracker's verdict (``classify_release``):

==============================================  =============================================
tracker release entry                           status (fixed_version)
==============================================  =============================================
resolved, fixed_version ``0``                   ``not-affected``
resolved, fixed_version X                       ``fixed`` (X)
urgency or status ``end-of-life``               ``end-of-life``
open, urgency ``unimportant``                   ``unimportant``
open, nodsa_reason ``ignored``                  ``ignored``
open, nodsa_reason ``postponed``                ``postponed``
open, ``nodsa`` without a (known) reason        ``no-dsa``
open (or ``undetermined``), nothing of these    ``open``
==============================================  =============================================

The order of the rows is the precedence: a package unsupported in a release is ``end-of-life`` whatever
its urgency; an issue Debian rates ``unimportant`` is reported as such even when it also carries a
no-dsa note (its severity is NEGLIGIBLE either way). A resolved entry stays ``fixed`` whatever its
urgency: below the fix it is affected.

Severity is the urgency: ``unimportant`` NEGLIGIBLE, ``low`` LOW, ``medium`` MEDIUM, ``high`` HIGH;
``not yet assigned``, ``end-of-life`` or none give None (the scan falls back to NVD's CVSS). A trailing
``*``/``**`` marks an urgency guessed from NVD: mapped all the same, and the raw value is kept in
``severity_note`` (with the no-dsa note, if any: ``"low**; ignored: Minor issue"``).

``TEMP-…`` ids (issues without a CVE yet) are kept as ids. Each id also gives one
``Vulnerability(id, summary=description)`` (once, however many packages it touches).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from alpinist.advisories.feed import (
    Batcher,
    FeedBatch,
    JsonEvents,
    JsonShapeError,
    ParseStats,
    SourceBase,
    build_json,
    check_file_size,
    end_of_document,
    json_events,
    members,
    next_event,
    streamed_json_errors,
)
from alpinist.advisories.model import Affected, Severity, Status, Vulnerability

if TYPE_CHECKING:
    from alpinist.advisories.download import Fetcher

log = logging.getLogger(__name__)

TRACKER_URL = "https://security-tracker.debian.org/tracker/data/json"
MAX_TRACKER_BYTES = 2 * 1024**3  # ~50 MB today; a generous bound that still refuses an endless body
MAX_DEPTH = 16  # an entry is 4 levels deep; deeper nesting is not the tracker's JSON

URGENCY_SEVERITY: dict[str, Severity] = {
    "unimportant": "NEGLIGIBLE",
    "low": "LOW",
    "medium": "MEDIUM",
    "high": "HIGH",
}
_NODSA_STATUS: dict[str, Status] = {"ignored": "ignored", "postponed": "postponed"}


def classify_release(release: Mapping[str, Any]) -> tuple[Status, str | None, Severity | None, str | None]:
    """``(status, fixed_version, severity, severity_note)`` of one ``releases[codename]`` entry."""
    raw_status = release.get("status")
    raw_urgency = release.get("urgency")
    urgency = raw_urgency.rstrip("*").strip().lower() if isinstance(raw_urgency, str) else None
    severity = URGENCY_SEVERITY.get(urgency) if urgency else None
    nodsa = release.get("nodsa")
    nodsa_reason = release.get("nodsa_reason")
    notes = [raw_urgency] if isinstance(raw_urgency, str) and raw_urgency else []
    if isinstance(nodsa, str):
        label = nodsa_reason if isinstance(nodsa_reason, str) and nodsa_reason else "no-dsa"
        notes.append(f"{label}: {nodsa}" if nodsa else label)
    note = "; ".join(notes) or None

    if raw_status == "resolved":
        fixed = release.get("fixed_version")
        if not isinstance(fixed, str) or not fixed.strip():
            raise ValueError("status 'resolved' without a fixed_version")
        if fixed.strip() == "0":
            return "not-affected", None, severity, note
        return "fixed", fixed.strip(), severity, note
    if raw_status not in ("open", "undetermined", "end-of-life"):
        raise ValueError(f"unknown status {raw_status!r}")
    if raw_status == "end-of-life" or urgency == "end-of-life":
        return "end-of-life", None, severity, note
    if urgency == "unimportant":
        return "unimportant", None, severity, note
    if isinstance(nodsa_reason, str) and nodsa_reason in _NODSA_STATUS:
        return _NODSA_STATUS[nodsa_reason], None, severity, note
    if isinstance(nodsa, str):
        return "no-dsa", None, severity, note
    return "open", None, severity, note


class DebianTrackerSource(SourceBase):
    name = "debian"

    def __init__(self, *, url: str = TRACKER_URL) -> None:
        self.url = url
        self.stats = ParseStats()
        self._fetched: list[str] = []

    def feed_urls(self) -> list[str]:
        return list(self._fetched)

    def fetch(self, fetcher: Fetcher, workdir: Path, since: str | None) -> list[Path]:
        path = fetcher.get_to_file(self.url, workdir / "debian-tracker.json", max_bytes=MAX_TRACKER_BYTES)
        self._fetched = [self.url]
        return [path]

    def parse(self, files: list[Path]) -> Iterator[FeedBatch]:
        self.stats = ParseStats()
        batch = Batcher(self.stats)
        seen: set[str] = set()  # ids already given a Vulnerability row (one per id, not per package)
        for path in files:
            check_file_size(path, MAX_TRACKER_BYTES)
            with streamed_json_errors(path), path.open("rb") as fh:
                for package, vuln_id, entry in _entries(fh, self.stats):
                    self._add_entry(batch, seen, package, vuln_id, entry)
                    if batch.full:
                        yield batch.take()
        if batch:
            yield batch.take()

    def _add_entry(self, batch: Batcher, seen: set[str], package: str, vuln_id: str, entry: Any) -> None:
        if not isinstance(entry, dict) or not isinstance(entry.get("releases", {}), dict):
            self.stats.skip("malformed entry")
            return
        self.stats.records += 1
        for codename, release in entry.get("releases", {}).items():
            if not isinstance(release, dict):
                self.stats.skip("malformed release")
                continue
            try:
                status, fixed, severity, note = classify_release(release)
            except ValueError as exc:
                log.warning("Debian tracker: %s %s %s: %s; entry skipped", package, vuln_id, codename, exc)
                self.stats.skip("unknown release verdict")
                continue
            batch.add_affected(
                Affected(
                    vuln_id,
                    "debian",
                    f"debian:{codename}",
                    package,
                    status,
                    fixed_version=fixed,
                    severity=severity,
                    severity_note=note,
                )
            )
        if vuln_id not in seen:
            seen.add(vuln_id)
            description = entry.get("description")
            summary = description.strip() if isinstance(description, str) and description.strip() else None
            batch.add_vulnerability(Vulnerability(vuln_id, summary=summary))


def _entries(fh: BinaryIO, stats: ParseStats) -> Iterator[tuple[str, str, Any]]:
    """``(source package, id, entry)`` of the tracker JSON, one entry built at a time.

    Hand-walked over ijson's ``basic_parse`` events rather than ``ijson.kvitems(fh, "")`` because that
    builds a whole package (every id of ``linux``) at once; and rather than prefix-based ``items``
    because prefixes join keys with dots and package names contain dots (``python3.11``) and cost memory
    quadratic in the depth.
    """
    events: JsonEvents = json_events(fh, MAX_DEPTH)
    if next_event(events)[0] != "start_map":
        raise JsonShapeError("not the tracker's JSON: expected an object of source packages at the top level")
    for package, event, value in members(events):
        if event != "start_map":
            build_json(events, event, value)
            stats.skip("malformed package")
            continue
        for vuln_id, event, value in members(events):
            yield package, vuln_id, build_json(events, event, value)
    end_of_document(events)
